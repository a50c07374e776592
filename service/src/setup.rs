//! Start-up: choosing usable paths (production paths, or the per-user fallback), preparing
//! the socket and state directories safely, and building the service from configuration.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use keyward_protocol::paths;
use keyward_providers::Provider;
use keyward_providers::{MasterKey, SoftwareConfig, SoftwareProvider};
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

/// Reports provider objects that no key record points to (left by a crash between creating a
/// key and recording it). Providers with self-contained handles (software) hold none.
fn clean_orphans(service: &Service) {
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
        let recorded: std::collections::HashSet<Vec<u8>> =
            match service.store.handles_of(provider.id()) {
                Ok(handles) => handles.into_iter().collect(),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read key store for orphan clean-up");
                    continue;
                }
            };
        let orphans = held.iter().filter(|h| !recorded.contains(&h.0)).count();
        if orphans > 0 {
            tracing::warn!(provider = ?provider.id(), orphans, "provider holds keys no record points to");
        }
    }
}
