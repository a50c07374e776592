//! The framework driven in-process over real Unix sockets by a small test daemon, with tokio's
//! paused time for every time-out: no wall-clock tolerances.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_protocol::codec::{decode_result, encode_operation};
use keyward_protocol::frame::encode_frame;
use keyward_protocol::header::{WireHeader, HEADER_LEN};
use keyward_protocol::ops::{reply, request, Operation, OperationResult};
use keyward_protocol::{AuthType, Opcode, ProviderId, RequestHeader, ResponseStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;

use crate::config::{AuthenticatorConfig, Limits};
use crate::error::DispatchError;
use crate::exec::{Executor, QueueId};
use crate::router::{Crypto, Daemon, Placement, Placing, Public, Router};
use crate::tenants::Tenants;
use crate::{AccessPolicy, Authenticators};

const SLOW: QueueId = QueueId(1);

struct TestDaemon {
    router: Router<TestDaemon>,
    authenticators: Authenticators,
    access: AccessPolicy,
    limits: Limits,
    executor: Executor,
    /// How many slow jobs started.
    started: AtomicUsize,
    /// Slow jobs wait for a message here before finishing.
    release: Mutex<std::sync::mpsc::Receiver<()>>,
}

fn ping(_: &TestDaemon, _: Public<'_>, _: request::Ping) -> Result<reply::Ping, DispatchError> {
    Ok(reply::Ping {
        wire_protocol_version_maj: 1,
        wire_protocol_version_min: 0,
    })
}

/// A slow crypto operation (placed on the one-slot queue).
fn slow_random(
    daemon: &TestDaemon,
    _: Crypto<'_, ()>,
    request: request::GenerateRandom,
) -> Result<reply::GenerateRandom, DispatchError> {
    daemon.started.fetch_add(1, Ordering::SeqCst);
    let _ = daemon.release.lock().expect("lock").recv();
    let size = usize::try_from(request.size).map_err(|_| DispatchError::Internal("size"))?;
    Ok(reply::GenerateRandom {
        random_bytes: zeroize::Zeroizing::new(vec![7; size]),
    })
}

/// An inline operation with a body as large as the client likes.
fn hash(
    _: &TestDaemon,
    _: Crypto<'_, ()>,
    request: request::HashCompute,
) -> Result<reply::HashCompute, DispatchError> {
    Ok(reply::HashCompute {
        hash: vec![request.input.len() as u8],
    })
}

impl Daemon for TestDaemon {
    type Error = DispatchError;
    type Target = ();

    fn router(&self) -> &Router<Self> {
        &self.router
    }
    fn authenticators(&self) -> &Authenticators {
        &self.authenticators
    }
    fn access(&self) -> &AccessPolicy {
        &self.access
    }
    fn limits(&self) -> &Limits {
        &self.limits
    }
    fn executor(&self) -> &Executor {
        &self.executor
    }
    fn target(&self, header: &RequestHeader) -> Result<Option<Arc<()>>, DispatchError> {
        Ok((header.provider != ProviderId::Core).then(|| Arc::new(())))
    }
    fn placement(&self, request: &Placing<'_, Self>) -> Placement {
        match request.header.opcode {
            Opcode::PsaGenerateRandom => Placement::Queue(SLOW),
            _ => Placement::Inline,
        }
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    daemon: Arc<TestDaemon>,
    tenants: Arc<Tenants>,
    release: std::sync::mpsc::Sender<()>,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

fn limits() -> Limits {
    Limits {
        idle_timeout_ms: 60_000,
        read_timeout_ms: 5_000,
        write_timeout_ms: 5_000,
        max_connections: 8,
        max_connections_per_uid: 4,
        max_body_len: 256 * 1024,
        max_response_len: 256 * 1024,
        memory_budget_mib: 2,
        memory_budget_per_uid_mib: 1,
        ..Limits::default()
    }
}

async fn start(limits: Limits) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("test.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let authenticators =
        Authenticators::from_config(&[AuthenticatorConfig::Direct {}]).expect("authenticators");
    let access = AccessPolicy::new(&[], &authenticators, vec![]).expect("access");
    let mut executor = Executor::new(limits.queue_timeout());
    executor.add_queue(SLOW, "slow", 1, 4);
    let (release, receiver) = std::sync::mpsc::channel();
    let daemon = Arc::new(TestDaemon {
        router: Router::new().public(ping).crypto(slow_random).crypto(hash),
        authenticators,
        access,
        limits: limits.clone(),
        executor,
        started: AtomicUsize::new(0),
        release: Mutex::new(receiver),
    });
    let tenants = crate::tenants_for(&limits);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(crate::serve(
        listener,
        daemon.clone(),
        tenants.clone(),
        shutdown.clone(),
        Duration::from_secs(1),
    ));
    Harness {
        _dir: dir,
        path,
        daemon,
        tenants,
        release,
        shutdown,
        server,
    }
}

impl Harness {
    async fn connect(&self) -> UnixStream {
        UnixStream::connect(&self.path).await.expect("connect")
    }

    async fn stop(self) {
        self.shutdown.cancel();
        // Let any slow job still waiting finish, then the server ends.
        drop(self.release);
        self.server.await.expect("server task");
    }
}

fn frame(provider: ProviderId, op: &Operation) -> Vec<u8> {
    let body = encode_operation(op);
    let header = WireHeader {
        provider: provider as u8,
        opcode: op.opcode() as u32,
        auth_type: AuthType::Direct as u8,
        body_len: body.len() as u32,
        auth_len: 5,
        ..WireHeader::default()
    };
    encode_frame(&header, &body, b"alice")
}

/// Reads one response: its header and body, or `None` when the server closed instead.
async fn read_response(stream: &mut UnixStream) -> Option<(WireHeader, Vec<u8>)> {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).await.ok()?;
    let header = WireHeader::decode(&head).expect("valid response header");
    let mut body = vec![0; header.body_len as usize];
    stream.read_exact(&mut body).await.expect("body");
    Some((header, body))
}

async fn closed(stream: &mut UnixStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte).await, Ok(0) | Err(_))
}

#[tokio::test(start_paused = true)]
async fn many_requests_per_connection() {
    let h = start(limits()).await;
    let mut client = h.connect().await;
    for _ in 0..3 {
        client
            .write_all(&frame(ProviderId::Core, &Operation::Ping))
            .await
            .expect("write");
        let (header, body) = read_response(&mut client).await.expect("response");
        assert_eq!(header.status, 0);
        match decode_result(Opcode::Ping, &body).expect("decode") {
            OperationResult::Ping {
                wire_protocol_version_maj,
                ..
            } => assert_eq!(wire_protocol_version_maj, 1),
            other => panic!("unexpected {other:?}"),
        }
    }
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed_after_the_idle_time_out() {
    let h = start(limits()).await;
    let mut client = h.connect().await;
    let waited = tokio::time::Instant::now();
    assert!(
        closed(&mut client).await,
        "the server closes an idle connection"
    );
    assert!(waited.elapsed() >= Duration::from_millis(60_000));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stalled_request_is_answered_connection_error_then_closed() {
    let h = start(limits()).await;
    let mut client = h.connect().await;
    let whole = frame(ProviderId::Core, &Operation::Ping);
    client
        .write_all(&whole[..10])
        .await
        .expect("partial header");
    let waited = tokio::time::Instant::now();
    let (header, _) = read_response(&mut client)
        .await
        .expect("an answer before the close");
    assert_eq!(header.status, ResponseStatus::ConnectionError as u16);
    assert!(waited.elapsed() >= Duration::from_millis(5_000));
    assert!(closed(&mut client).await);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_half_closed_client_still_gets_its_answer() {
    let h = start(limits()).await;
    let mut client = h.connect().await;
    client
        .write_all(&frame(ProviderId::Core, &Operation::Ping))
        .await
        .expect("write");
    client.shutdown().await.expect("shut down our sending side");
    let (header, _) = read_response(&mut client).await.expect("response");
    assert_eq!(header.status, 0);
    assert!(closed(&mut client).await);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn one_uid_cannot_take_more_than_its_connections() {
    let h = start(limits()).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(h.connect().await);
    }
    // The fifth connection of this UID is closed at once; the others keep working.
    let mut fifth = h.connect().await;
    assert!(closed(&mut fifth).await);
    let first = &mut held[0];
    first
        .write_all(&frame(ProviderId::Core, &Operation::Ping))
        .await
        .expect("write");
    assert_eq!(read_response(first).await.expect("response").0.status, 0);
    drop(held);
    // Slots come back when connections close.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut again = h.connect().await;
    again
        .write_all(&frame(ProviderId::Core, &Operation::Ping))
        .await
        .expect("write");
    assert_eq!(
        read_response(&mut again).await.expect("response").0.status,
        0
    );
    h.stop().await;
}

#[tokio::test]
async fn queued_work_of_a_client_that_left_never_runs() {
    let h = start(limits()).await;
    let random = |size| frame(ProviderId::Software, &Operation::GenerateRandom { size });
    // The first request occupies the single slot of the slow queue.
    let mut first = h.connect().await;
    first.write_all(&random(4)).await.expect("write");
    while h.daemon.started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The second waits in the queue, and its client leaves.
    let mut second = h.connect().await;
    second.write_all(&random(4)).await.expect("write");
    while h.daemon.executor.stats()[0].waiting == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(second);
    while h.daemon.executor.stats()[0].waiting != 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    h.release.send(()).expect("finish the first job");
    let (header, _) = read_response(&mut first).await.expect("first answered");
    assert_eq!(header.status, 0);
    // A third request runs: the slot is free, and the abandoned job never took it.
    first.write_all(&random(4)).await.expect("write");
    h.release.send(()).expect("finish the third job");
    assert_eq!(read_response(&mut first).await.expect("third").0.status, 0);
    assert_eq!(
        h.daemon.started.load(Ordering::SeqCst),
        2,
        "the abandoned job ran"
    );
    h.stop().await;
}

#[tokio::test]
async fn large_bodies_are_accounted_and_released() {
    let h = start(limits()).await;
    let mut client = h.connect().await;
    let op = Operation::HashCompute {
        alg: keyward_protocol::psa::Hash::Sha256,
        input: vec![1; 200 * 1024],
    };
    client
        .write_all(&frame(ProviderId::Software, &op))
        .await
        .expect("write");
    let (header, body) = read_response(&mut client).await.expect("response");
    assert_eq!(header.status, 0);
    match decode_result(Opcode::PsaHashCompute, &body).expect("decode") {
        OperationResult::HashCompute { hash } => assert_eq!(hash, vec![0]),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(h.tenants.memory_in_use(), 0, "everything was given back");
    // A body announced but never sent holds only what arrived, and times out.
    let mut slow = h.connect().await;
    let whole = frame(ProviderId::Software, &op);
    slow.write_all(&whole[..HEADER_LEN + 100])
        .await
        .expect("partial");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        h.tenants.memory_in_use() <= 8 * 1024,
        "{} bytes held for 100 sent",
        h.tenants.memory_in_use()
    );
    h.stop().await;
}

#[tokio::test]
async fn a_request_over_the_share_waits_then_is_refused_without_allocating() {
    let limits = Limits {
        max_connections_per_uid: 8,
        queue_timeout_ms: 100,
        read_timeout_ms: 300,
        ..limits()
    };
    let h = start(limits).await;
    // Four clients each announce 200 KiB and send 150 KiB: they hold most of the 1 MiB share.
    let op = Operation::HashCompute {
        alg: keyward_protocol::psa::Hash::Sha256,
        input: vec![1; 200 * 1024],
    };
    let whole = frame(ProviderId::Software, &op);
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let mut hog = h.connect().await;
        hog.write_all(&whole[..150 * 1024]).await.expect("partial");
        hogs.push(hog);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let held = h.tenants.memory_in_use();
    assert!(held >= 4 * 128 * 1024, "{held}");
    assert!(held <= 1 << 20, "{held} over the share");
    // Each hog answers PsaErrorInsufficientMemory or ConnectionError and is closed; none panics,
    // and the memory comes back.
    for hog in &mut hogs {
        if let Some((header, _)) = read_response(hog).await {
            assert!(
                [
                    ResponseStatus::PsaErrorInsufficientMemory as u16,
                    ResponseStatus::ConnectionError as u16
                ]
                .contains(&header.status),
                "{}",
                header.status
            );
        }
        assert!(closed(hog).await);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(h.tenants.memory_in_use(), 0);
    h.stop().await;
}
