//! Start-up: building the service from configuration (key store, authenticators, access
//! policy, providers) and cleaning up what interrupted key creations left behind. Paths and
//! the socket are prepared by the shared framework (`keyward_server::paths`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use keyward_provider_software::{MasterKey, SoftwareConfig, SoftwareProvider};
use keyward_providers::Provider;
use keyward_server::{AccessPolicy, Authenticators};

use crate::config::{Config, ProviderConfig};
use crate::key_store::KeyStore;
use crate::service::Service;

fn master_key_path(configured: &Path, state_dir: &Path) -> (PathBuf, bool) {
    if !configured.as_os_str().is_empty() {
        return (configured.to_owned(), false);
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let credential = PathBuf::from(dir).join("keyward-master-key");
        if credential.exists() {
            return (credential, false);
        }
    }
    (state_dir.join("master.key"), true)
}

fn build_provider(config: &ProviderConfig, state_dir: &Path) -> anyhow::Result<Arc<dyn Provider>> {
    match config {
        ProviderConfig::Software {
            master_key_path: configured,
            key_cache_entries,
            min_rsa_bits,
        } => {
            let (path, create) = master_key_path(configured, state_dir);
            let master = if create {
                MasterKey::load_or_create(&path)
            } else {
                MasterKey::from_file(&path)
            }
            .with_context(|| format!("master key {}", path.display()))?;
            let provider = SoftwareProvider::new(
                &master,
                SoftwareConfig {
                    cache_capacity: *key_cache_entries,
                    min_rsa_bits: *min_rsa_bits,
                },
            )?;
            Ok(Arc::new(provider))
        }
    }
}

/// Builds the service (key store, authenticators, providers) for `state_dir`.
pub fn build_service(config: &Config, state_dir: &Path) -> anyhow::Result<Service> {
    let store = KeyStore::open(&state_dir.join("keys.sqlite3")).context("opening the key store")?;
    let authenticators = Authenticators::from_config(&config.authenticators)?;
    let access = AccessPolicy::new(&config.access.admins, &authenticators, Vec::new())?;
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for provider_config in &config.providers {
        let provider = build_provider(provider_config, state_dir)?;
        if providers.iter().any(|p| p.id() == provider.id()) {
            bail!("provider {:?} is configured twice", provider.id());
        }
        providers.push(provider);
    }
    let service = Service::new(
        config.limits.clone(),
        config.keys.clone(),
        authenticators,
        access,
        store,
        providers,
    );
    clean_orphans(&service);
    Ok(service)
}

/// Destroys provider objects that no key record points to: a crash between "provider created
/// the key" and "row committed" leaves such an orphan. Providers whose handles are
/// self-contained (software) hold none.
pub fn clean_orphans(service: &Service) -> usize {
    let mut destroyed = 0;
    for provider in &service.providers {
        let Some(keys) = provider.families().key_management else {
            continue;
        };
        let held = match keys.persistent_handles() {
            Ok(held) => held,
            Err(err) => {
                tracing::warn!(provider = ?provider.id(), error = %err, "cannot list provider keys for orphan clean-up");
                continue;
            }
        };
        if held.is_empty() {
            continue;
        }
        let recorded: std::collections::HashSet<Vec<u8>> = match service
            .store
            .handles_of(provider.id())
        {
            Ok(handles) => handles.into_iter().collect(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read key store for orphan clean-up; keeping every provider key");
                continue;
            }
        };
        for orphan in held.iter().filter(|h| !recorded.contains(&h.0)) {
            match keys.destroy_orphan(orphan) {
                Ok(()) => destroyed += 1,
                Err(err) => {
                    tracing::warn!(provider = ?provider.id(), error = %err, "cannot destroy an orphan key")
                }
            }
        }
    }
    if destroyed > 0 {
        tracing::info!(
            destroyed,
            "destroyed orphan keys left by interrupted key creations"
        );
    }
    destroyed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use keyward_protocol::ops::{CheckType, ProviderInfo, Secret};
    use keyward_protocol::psa::{Algorithm, KeyAttributes, KeyPolicy, KeyType, UsageFlags};
    use keyward_protocol::{AuthType, Opcode, ProviderId};
    use keyward_providers::{
        Execution, Families, ImportedKey, KeyHandle, KeyManagement, KeyRef, ProviderError,
    };

    use crate::key_store::KeyRecord;
    use keyward_server::VerifiedIdentity;

    /// A token-like provider that keeps keys outside the key store (as PKCS#11 will).
    #[derive(Default)]
    struct TokenLike {
        objects: Mutex<Vec<Vec<u8>>>,
    }

    impl KeyManagement for TokenLike {
        fn generate_key(&self, _: &KeyAttributes) -> Result<KeyHandle, ProviderError> {
            Err(ProviderError::not_supported("test"))
        }
        fn import_key(&self, _: &KeyAttributes, _: &[u8]) -> Result<ImportedKey, ProviderError> {
            Err(ProviderError::not_supported("test"))
        }
        fn export_public_key(&self, _: KeyRef<'_>) -> Result<Vec<u8>, ProviderError> {
            Err(ProviderError::not_supported("test"))
        }
        fn export_key(&self, _: KeyRef<'_>) -> Result<Secret, ProviderError> {
            Err(ProviderError::not_supported("test"))
        }
        fn destroy_key(&self, key: KeyRef<'_>) -> Result<(), ProviderError> {
            self.objects
                .lock()
                .expect("lock")
                .retain(|h| h != key.handle);
            Ok(())
        }
        fn persistent_handles(&self) -> Result<Vec<KeyHandle>, ProviderError> {
            Ok(self
                .objects
                .lock()
                .expect("lock")
                .iter()
                .cloned()
                .map(KeyHandle)
                .collect())
        }
        fn destroy_orphan(&self, handle: &KeyHandle) -> Result<(), ProviderError> {
            self.objects
                .lock()
                .expect("lock")
                .retain(|h| *h != handle.0);
            Ok(())
        }
    }

    impl Provider for TokenLike {
        fn id(&self) -> ProviderId {
            ProviderId::Pkcs11
        }
        fn info(&self) -> ProviderInfo {
            ProviderInfo {
                uuid: "00000000-0000-4000-8000-000000000000".into(),
                description: "test".into(),
                vendor: "test".into(),
                version_maj: 0,
                version_min: 0,
                version_rev: 0,
                id: ProviderId::Pkcs11 as u8,
            }
        }
        fn families(&self) -> Families<'_> {
            Families {
                key_management: Some(self),
                ..Families::default()
            }
        }
        fn can_do(&self, _: CheckType, _: &KeyAttributes) -> bool {
            false
        }
        fn execution(&self, _: Opcode, _: Option<&KeyAttributes>) -> Execution {
            Execution::Blocking
        }
        fn max_blocking_in_flight(&self) -> usize {
            1
        }
    }

    #[test]
    fn orphans_are_destroyed_and_recorded_keys_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::embedded().expect("defaults");
        let mut service = build_service(&config, dir.path()).expect("service");
        let token = Arc::new(TokenLike::default());
        token
            .objects
            .lock()
            .expect("lock")
            .extend([b"recorded".to_vec(), b"orphan".to_vec()]);
        service.providers.push(token.clone());
        let owner = VerifiedIdentity::for_tests(AuthType::UnixPeerCredentials, "1000");
        let attributes = KeyAttributes {
            key_type: KeyType::Aes,
            bits: 128,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: Algorithm::None,
            },
        };
        let record = KeyRecord {
            provider: ProviderId::Pkcs11,
            handle: b"recorded".to_vec(),
            attributes,
        };
        service
            .store
            .insert(&owner, "k", &record, 10)
            .expect("record");

        assert_eq!(clean_orphans(&service), 1);
        assert_eq!(
            *token.objects.lock().expect("lock"),
            vec![b"recorded".to_vec()]
        );
        assert_eq!(clean_orphans(&service), 0, "nothing left to clean");
    }
}
