//! keywardd: the Keyward security service, built on the shared daemon framework
//! (`keyward-server`): providers, the key store and the crypto routes.
//!
//! Request path: `keyward_server` (socket, fair shares, time-outs, authentication, access,
//! route table, queues) → [`service`] (what a request addresses and where it runs) →
//! [`core_ops`] / [`crypto_ops`] → providers and [`key_store`]. Errors become wire statuses in
//! one place, [`error`].
#![forbid(unsafe_code)]

pub mod config;
pub mod core_ops;
pub mod crypto_ops;
pub mod error;
pub mod key_store;
pub mod service;
pub mod setup;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use anyhow::Context as _;
use keyward_protocol::paths::SOCKET_FILE_NAME;
use keyward_server::paths::{self, PathRequest};
use tokio_util::sync::CancellationToken;

/// Starts the service from `config` and serves until SIGTERM/SIGINT or `shutdown`.
pub async fn run(config: config::Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let resolved = paths::resolve(&PathRequest {
        socket_path: &config.service.socket_path,
        state_dir: &config.service.state_dir,
        fallback_to_user_dirs: config.service.fallback_to_user_dirs,
        user_socket_name: SOCKET_FILE_NAME,
        user_state_name: "keyward",
    })?;
    // The socket directory is checked before anything is created in the state directory.
    paths::check_socket_dir(
        resolved
            .socket_path
            .parent()
            .unwrap_or(std::path::Path::new("/")),
    )?;
    let service = Arc::new(setup::build_service(&config, &resolved.state_dir)?);
    let listener = paths::bind_socket(&resolved.socket_path, config.service.socket_mode.0)?;
    tracing::info!(
        socket = %resolved.socket_path.display(),
        state_dir = %resolved.state_dir.display(),
        keys = service.store.count().unwrap_or(0),
        startup_ms = started.elapsed().as_secs_f64() * 1000.0,
        "keywardd ready"
    );
    // Providers' random generators seed themselves on first use (~20 ms for aws-lc): do it now,
    // off the request path, instead of in the first client's request.
    let warm = service.clone();
    tokio::task::spawn_blocking(move || {
        for provider in &warm.providers {
            if let Some(random) = provider.families().random {
                let _ = random.generate_random(1);
            }
        }
    });
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signals.cancel();
    });
    let grace = std::time::Duration::from_secs(config.service.shutdown_grace_secs);
    let tenants = keyward_server::tenants_for(&config.limits);
    // The accept loop runs as a task on a worker thread, not on the thread that called
    // `block_on`: an accepted connection's task then starts on that worker instead of waking
    // another thread first (a cross-CPU wake-up costs tens of microseconds on a VM).
    tokio::spawn(keyward_server::serve(
        listener, service, tenants, shutdown, grace,
    ))
    .await
    .context("the accept loop panicked")?;
    std::fs::remove_file(&resolved.socket_path)
        .with_context(|| format!("removing {}", resolved.socket_path.display()))?;
    tracing::info!("keywardd stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight requests"),
        _ = int.recv() => tracing::info!("SIGINT: finishing in-flight requests"),
    }
}
