//! Start-up: choosing usable paths (production paths, or the per-user fallback), preparing
//! the socket and state directories safely, and building the service from configuration.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use keyward_protocol::paths;
use keyward_provider_software::{MasterKey, SoftwareConfig, SoftwareProvider};
use keyward_providers::Provider;
use tokio::net::UnixListener;

use crate::authenticators::Authenticators;
use crate::config::{Config, ProviderConfig};
use crate::dispatch::Service;
use crate::key_store::KeyStore;

/// The paths the service will really use.
#[derive(Debug, Clone)]
pub struct ResolvedPaths {
    pub socket_path: PathBuf,
    pub state_dir: PathBuf,
}

fn make_private_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)?;
    // Probe that we can really write there (a read-only mount passes create_dir_all).
    let probe = dir.join(".keyward-write-probe");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Uses the configured paths, or the per-user ones when those cannot be created and the
/// configuration allows the fallback. Says which and why.
pub fn resolve_paths(config: &Config) -> anyhow::Result<ResolvedPaths> {
    let configured = ResolvedPaths {
        socket_path: config.service.socket_path.clone(),
        state_dir: config.service.state_dir.clone(),
    };
    let socket_dir = configured.socket_path.parent().unwrap_or(Path::new("/"));
    let attempt = make_private_dir(socket_dir, 0o755)
        .with_context(|| format!("socket directory {}", socket_dir.display()))
        .and_then(|()| {
            make_private_dir(&configured.state_dir, 0o700)
                .with_context(|| format!("state directory {}", configured.state_dir.display()))
        });
    match attempt {
        Ok(()) => Ok(configured),
        Err(err) if config.service.fallback_to_user_dirs => {
            let uid = nix::unistd::getuid().as_raw();
            let env = |name: &str| std::env::var(name).ok();
            let fallback = ResolvedPaths {
                socket_path: paths::user_socket_path(env("XDG_RUNTIME_DIR").as_deref(), uid),
                state_dir: paths::user_state_dir(
                    env("XDG_STATE_HOME").as_deref(),
                    env("HOME").as_deref(),
                    uid,
                ),
            };
            tracing::warn!(
                "cannot use the configured paths ({err:#}); falling back to socket {} and state {}",
                fallback.socket_path.display(),
                fallback.state_dir.display()
            );
            let socket_dir = fallback.socket_path.parent().unwrap_or(Path::new("/"));
            make_private_dir(socket_dir, 0o700)
                .with_context(|| format!("fallback socket directory {}", socket_dir.display()))?;
            let mut fallback = fallback;
            if let Err(err) = make_private_dir(&fallback.state_dir, 0o700) {
                // $HOME may not exist (system users): the per-uid temporary directory remains.
                let last_resort = paths::user_state_dir(None, None, uid);
                tracing::warn!(
                    "cannot use fallback state directory {} ({err}); using {}",
                    fallback.state_dir.display(),
                    last_resort.display()
                );
                make_private_dir(&last_resort, 0o700).with_context(|| {
                    format!("fallback state directory {}", last_resort.display())
                })?;
                fallback.state_dir = last_resort;
            }
            Ok(fallback)
        }
        Err(err) => {
            Err(err.context("cannot prepare the configured paths (fallback_to_user_dirs = false)"))
        }
    }
}

/// Refuses a socket directory that others could write to: they could replace our socket with
/// theirs and impersonate the service (Parsec threat model O-2/O-9).
fn check_socket_dir(dir: &Path) -> anyhow::Result<()> {
    let meta =
        std::fs::metadata(dir).with_context(|| format!("socket directory {}", dir.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        bail!(
            "socket directory {} is owned by uid {}, not by us ({me}) or root",
            dir.display(),
            meta.uid()
        );
    }
    if meta.permissions().mode() & 0o022 != 0 {
        bail!(
            "socket directory {} is writable by group or others (mode {:o}); use a directory only keywardd can write",
            dir.display(),
            meta.permissions().mode() & 0o7777
        );
    }
    Ok(())
}

/// Binds the socket: refuses to steal a live socket, removes a stale one, applies the mode.
pub fn bind_socket(path: &Path, mode: u32) -> anyhow::Result<UnixListener> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    check_socket_dir(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("another service is already listening on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting mode {mode:o} on {}", path.display()))?;
    Ok(listener)
}

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
                },
            )?;
            Ok(Arc::new(provider))
        }
    }
}

/// Builds the service (key store, authenticators, providers) for `state_dir`.
pub fn build_service(config: &Config, state_dir: &Path) -> anyhow::Result<Service> {
    let store = KeyStore::open(&state_dir.join("keys.sqlite3")).context("opening the key store")?;
    let authenticators =
        Authenticators::from_config(&config.authenticators).map_err(anyhow::Error::msg)?;
    let mut providers: Vec<Arc<dyn Provider>> = Vec::new();
    for provider_config in &config.providers {
        let provider = build_provider(provider_config, state_dir)?;
        if providers.iter().any(|p| p.id() == provider.id()) {
            bail!("provider {:?} is configured twice", provider.id());
        }
        providers.push(provider);
    }
    let service = Service {
        limits: config.limits.clone(),
        authenticators,
        store,
        providers,
    };
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

    use crate::authenticators::VerifiedIdentity;
    use crate::key_store::KeyRecord;

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
