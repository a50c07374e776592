//! The listener: accepts connections on the Unix socket, one task each, with a connection
//! cap, idle and read time-outs, and graceful shutdown.
//!
//! A connection may carry many requests one after another (our client reuses connections)
//! or just one (Parsec's clients). Idle waiting happens on a buffered read that does not
//! count against the read time-out, so 1,000 idle connections cost a little memory each and
//! no CPU, and a client stalled mid-request is cut off after `read_timeout_ms`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use keyward_protocol::frame::{read_request_async, write_response_async};
use keyward_protocol::header::WireHeader;
use keyward_protocol::{FrameError, FrameLimits};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::authenticators::PeerCredentials;
use crate::dispatch::Service;

/// Serves `listener` until `shutdown` is cancelled, then waits for in-flight requests.
pub async fn serve(
    listener: UnixListener,
    service: Arc<Service>,
    shutdown: CancellationToken,
    grace: std::time::Duration,
) {
    let permits = Arc::new(Semaphore::new(service.limits.max_connections));
    let tracker = TaskTracker::new();
    let cap_reported = AtomicBool::new(false);
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
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if !cap_reported.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max_connections = service.limits.max_connections,
                    "connection limit reached: closing new connections until some end (limits.max_connections)"
                );
            }
            drop(stream);
            continue;
        };
        cap_reported.store(false, Ordering::Relaxed);
        let service = service.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            serve_connection(stream, service, shutdown).await;
            drop(permit);
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

/// Per-connection read buffer: typical requests (header + small body + auth) fit in one read,
/// and 1,000 idle connections cost 2 MiB.
const READ_BUFFER_LEN: usize = 2048;

async fn serve_connection(stream: UnixStream, service: Arc<Service>, shutdown: CancellationToken) {
    let peer = stream.peer_cred().ok().map(|cred| PeerCredentials {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
    });
    let limits = &service.limits;
    let frame_limits = FrameLimits {
        max_body_len: limits.max_body_len,
        max_auth_len: limits.max_auth_len,
    };
    let mut stream = BufReader::with_capacity(READ_BUFFER_LEN, stream);
    loop {
        // Wait for the next request to start; only then does the read time-out run.
        // During shutdown, finish what was already received, then stop reading.
        if shutdown.is_cancelled() && stream.buffer().is_empty() {
            return;
        }
        // Biased towards the read: a request that already arrived is served even when the
        // shutdown signal lands at the same moment.
        let waiting = tokio::select! {
            biased;
            waiting = timeout(limits.idle_timeout(), stream.fill_buf()) => waiting,
            _ = shutdown.cancelled() => return,
        };
        match waiting {
            Ok(Ok(buffered)) if !buffered.is_empty() => {}
            Ok(_) => return, // closed by the peer, or an i/o error
            Err(_) => {
                tracing::debug!("closing idle connection");
                return;
            }
        }
        let raw = match timeout(
            limits.read_timeout(),
            read_request_async(&mut stream, &frame_limits),
        )
        .await
        {
            Ok(Ok(raw)) => raw,
            Ok(Err(FrameError::Rejected(status))) => {
                // The stream is out of step: answer as Parsec does, then close.
                tracing::debug!(?status, "unreadable request");
                let header = WireHeader::response_from_status(status);
                let _ = timeout(
                    limits.read_timeout(),
                    write_response_async(stream.get_mut(), &header, &[]),
                )
                .await;
                return;
            }
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!(
                    ?peer,
                    "closing connection: request not received within limits.read_timeout_ms"
                );
                return;
            }
        };
        let response = if Service::is_heavy(&raw) {
            run_off_async_workers(|| service.handle(raw, peer))
        } else {
            service.handle(raw, peer)
        };
        let written = timeout(
            limits.read_timeout(),
            write_response_async(stream.get_mut(), &response.header, &response.body),
        )
        .await;
        if !matches!(written, Ok(Ok(()))) {
            return;
        }
    }
}

/// Runs CPU-bound provider work so it does not stall the other tasks of this worker (the
/// accept loop included): the runtime moves them to another thread meanwhile.
pub(crate) fn run_off_async_workers<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
