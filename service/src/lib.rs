//! keywardd: the Keyward security service.
//!
//! Request path: [`server`] (socket, connection, time-outs) → [`dispatch`] (header checks,
//! [`authenticators`], access, route table) → [`core_ops`] / [`crypto_ops`] → providers and
//! [`key_store`]. Errors become wire statuses in one place, [`error`].
#![forbid(unsafe_code)]

pub mod authenticators;
pub mod config;
pub mod core_ops;
pub mod crypto_ops;
pub mod dispatch;
pub mod error;
pub mod key_store;
pub mod server;
pub mod setup;

use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

/// Starts the service from `config` and serves until SIGTERM/SIGINT or `shutdown`.
pub async fn run(config: config::Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let paths = setup::resolve_paths(&config)?;
    let service = Arc::new(setup::build_service(&config, &paths.state_dir)?);
    let listener = setup::bind_socket(&paths.socket_path, config.socket_mode()?)?;
    tracing::info!(
        socket = %paths.socket_path.display(),
        state_dir = %paths.state_dir.display(),
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
    // The accept loop runs as a task on a worker thread, not on the thread that called
    // `block_on`: an accepted connection's task then starts on that worker instead of waking
    // another thread first (a cross-CPU wake-up costs tens of microseconds on a VM).
    tokio::spawn(server::serve(listener, service, shutdown, grace))
        .await
        .context("the accept loop panicked")?;
    std::fs::remove_file(&paths.socket_path)
        .with_context(|| format!("removing {}", paths.socket_path.display()))?;
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
