//! The listener: accepts connections on the Unix socket, one task each, within each user's
//! fair share; enforces the idle, read and write time-outs; and shuts down gracefully.
//!
//! A connection may carry many requests one after another (our client reuses connections) or
//! just one (Parsec's clients). Idle waiting costs no CPU and no budget; a request that has
//! started to arrive must arrive within the read time-out, or it is answered `ConnectionError`
//! (as Parsec does) and the connection closes. While a request is served the connection is
//! watched: when the client goes away, its queued work is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_protocol::{FrameLimits, ResponseStatus};
use tokio::net::{UnixListener, UnixStream};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::conn::{Connection, ReadError};
use crate::dispatch::{self, Response};
use crate::identity::PeerCredentials;
use crate::router::Daemon;
use crate::tenants::{ConnectionSlot, ShareError, Tenants};

/// Logs a refusal at most once a second per kind, so a flood does not flood the log.
#[derive(Debug, Default)]
struct RateLimitedLog {
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    fn warn(&self, started: Instant, message: impl FnOnce(u64)) {
        // Seconds since start, plus one so that 0 means "never logged".
        let second = started.elapsed().as_secs() + 1;
        let last = self.last.load(Ordering::Relaxed);
        if second > last
            && self
                .last
                .compare_exchange(last, second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            message(self.suppressed.swap(0, Ordering::Relaxed));
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The users' shares for a daemon's limits.
pub fn tenants_for(limits: &crate::config::Limits) -> Arc<Tenants> {
    Tenants::new(
        limits.max_connections,
        limits.max_connections_per_uid,
        limits.memory_budget(),
        limits.memory_budget_per_uid(),
    )
}

/// Serves `listener` until `shutdown` is cancelled, then waits up to `grace` for the requests
/// in flight. `tenants` holds the users' shares (see [`tenants_for`]); the caller keeps a
/// handle to observe them.
pub async fn serve<D: Daemon>(
    listener: UnixListener,
    daemon: Arc<D>,
    tenants: Arc<Tenants>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let tracker = TaskTracker::new();
    let started = Instant::now();
    let (cap_log, uid_log) = (RateLimitedLog::default(), RateLimitedLog::default());
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Typically EMFILE: back off briefly instead of spinning.
                tracing::error!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let peer = stream.peer_cred().ok().map(|cred| PeerCredentials {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
        });
        // A connection without credentials cannot happen on a Unix socket; if it did, it
        // shares one bucket with every other such connection.
        let uid = peer.map_or(u32::MAX, |p| p.uid);
        let slot = match tenants.connect(uid) {
            Ok(slot) => slot,
            Err(ShareError::TooManyConnectionsForUid(max)) => {
                uid_log.warn(started, |suppressed| {
                    tracing::warn!(
                        uid,
                        max_connections_per_uid = max,
                        suppressed,
                        "per-user connection limit reached: closing this user's new connections (limits.max_connections_per_uid)"
                    )
                });
                continue;
            }
            Err(err) => {
                cap_log.warn(started, |suppressed| {
                    tracing::warn!(
                        uid,
                        suppressed,
                        "connection limit reached ({err}): closing new connections until some end (limits.max_connections)"
                    )
                });
                continue;
            }
        };
        let daemon = daemon.clone();
        let shutdown = shutdown.clone();
        let tenants = tenants.clone();
        tracker.spawn(async move {
            serve_connection(stream, peer, slot, daemon, tenants, shutdown).await;
        });
    }
    tracker.close();
    if timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            "shutdown grace period over; {} connections abandoned",
            tracker.len()
        );
    }
}

async fn serve_connection<D: Daemon>(
    stream: UnixStream,
    peer: Option<PeerCredentials>,
    slot: ConnectionSlot,
    daemon: Arc<D>,
    tenants: Arc<Tenants>,
    shutdown: CancellationToken,
) {
    let limits = daemon.limits();
    let frame_limits = FrameLimits {
        max_body_len: limits.max_body_len,
        max_auth_len: limits.max_auth_len,
    };
    let tenant = slot.tenant().clone();
    let mut conn = Connection::new(stream);
    loop {
        // During shutdown, finish what was already received, then stop reading.
        if shutdown.is_cancelled() && !conn.has_buffered() {
            return;
        }
        // Biased towards the read: a request that already arrived is served even when the
        // shutdown signal lands at the same moment.
        let waiting = tokio::select! {
            biased;
            waiting = timeout(limits.idle_timeout(), conn.wait_for_request()) => waiting,
            _ = shutdown.cancelled() => return,
        };
        match waiting {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => {
                tracing::debug!(?peer, "closing idle connection");
                return;
            }
        }
        let read = timeout(
            limits.read_timeout(),
            conn.read_frame(&frame_limits, &tenants, &tenant, limits.read_timeout()),
        )
        .await;
        let frame = match read {
            Ok(Ok(frame)) => frame,
            Ok(Err(ReadError::Closed)) => return,
            Ok(Err(ReadError::Rejected(status))) => {
                // The stream is out of step: answer as Parsec does, then close.
                tracing::debug!(?status, ?peer, "unreadable request");
                answer_and_close(&mut conn, status, limits.write_timeout()).await;
                return;
            }
            Ok(Err(ReadError::Memory(err))) => {
                tracing::info!(
                    ?peer,
                    "closing connection: {err} (limits.memory_budget_mib)"
                );
                answer_and_close(
                    &mut conn,
                    ResponseStatus::PsaErrorInsufficientMemory,
                    limits.write_timeout(),
                )
                .await;
                return;
            }
            Err(_) => {
                tracing::info!(
                    ?peer,
                    "closing connection: request not received within limits.read_timeout_ms"
                );
                answer_and_close(
                    &mut conn,
                    ResponseStatus::ConnectionError,
                    limits.write_timeout(),
                )
                .await;
                return;
            }
        };
        let cancel = CancellationToken::new();
        let response = tokio::select! {
            biased;
            response = dispatch::handle(&daemon, frame, peer, &tenants, &tenant, &cancel) => response,
            () = conn.peer_gone() => {
                // Nobody will read the answer: drop queued work; running work sees `cancel`.
                cancel.cancel();
                tracing::debug!(?peer, "client went away while its request was served");
                return;
            }
        };
        let written = timeout(
            limits.write_timeout(),
            conn.write_response(&response.header, &response.body),
        )
        .await;
        drop(response);
        if !matches!(written, Ok(Ok(()))) {
            tracing::debug!(?peer, "closing connection: response not taken in time");
            return;
        }
        if conn.at_eof() && !conn.has_buffered() {
            return;
        }
    }
}

async fn answer_and_close(conn: &mut Connection, status: ResponseStatus, within: Duration) {
    let response = Response::from_status(status);
    let _ = timeout(
        within,
        conn.write_response(&response.header, &response.body),
    )
    .await;
}
