//! Moving frames over the service's Unix socket, and checking the response header.
//!
//! Blocking `std` sockets with read/write time-outs. Two modes: persistent (keywardd keeps a
//! connection open for many requests; idle connections are pooled so a client shared between
//! threads does not serialise on one socket) and one connection per request, as Parsec does.
//! A pooled connection may have been closed by the service while idle: the first request on
//! it then fails with EPIPE/EOF, and is sent again once on a fresh connection.
//!
//! A client never has more than [`TransportConfig::max_connections`] connections open: a
//! caller beyond that waits (up to the time-out) for one to come free, so a burst of threads
//! shares a few connections instead of opening one each.

use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keyward_protocol::frame::{encode_frame, read_response};
use keyward_protocol::header::CONTENT_TYPE_PROTOBUF;
use keyward_protocol::{FrameError, Opcode, ProviderId, RawResponse, ResponseStatus, WireHeader};
use zeroize::Zeroizing;

use crate::error::{ClientError, ProtocolError, Result};

/// Default socket time-out, as in Parsec's client.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on a response body.
pub const DEFAULT_MAX_BODY_LEN: u32 = 16 << 20;
/// Default cap on the connections one client keeps open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// Whether connections are reused between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// Keep connections open and reuse them (keywardd supports this).
    #[default]
    Persistent,
    /// One connection per request, exactly like a Parsec client.
    PerRequest,
}

/// How to reach the service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportConfig {
    /// The service's socket path.
    pub endpoint: PathBuf,
    /// Socket read and write time-out, also the longest wait for a free connection; `None`
    /// (or zero) waits forever.
    pub timeout: Option<Duration>,
    /// Whether connections are reused.
    pub mode: ConnectionMode,
    /// Largest response body accepted.
    pub max_body_len: u32,
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
}

impl TransportConfig {
    /// Defaults for `endpoint`: persistent, 60 s time-out, 16 MiB bodies, 16 connections.
    pub fn new(endpoint: impl Into<PathBuf>) -> Self {
        TransportConfig {
            endpoint: endpoint.into(),
            timeout: Some(DEFAULT_TIMEOUT),
            mode: ConnectionMode::Persistent,
            max_body_len: DEFAULT_MAX_BODY_LEN,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    /// The time-out as the socket API wants it: zero means none.
    pub(crate) fn effective_timeout(&self) -> Option<Duration> {
        self.timeout.filter(|t| !t.is_zero())
    }
}

/// A connection (or pool of connections) to the service.
#[derive(Debug)]
pub struct Connection {
    config: TransportConfig,
    pool: Mutex<Pool>,
    /// Signalled whenever a connection slot comes free.
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Pool {
    /// Open connections waiting for the next request (persistent mode).
    idle: Vec<UnixStream>,
    /// Connection slots taken by requests in flight.
    in_use: usize,
}

/// A connection slot held by one request; gives the slot back on drop, with the stream for
/// reuse when [`Slot::keep`] was called.
struct Slot<'a> {
    connection: &'a Connection,
    keep: Option<UnixStream>,
}

impl Slot<'_> {
    fn keep(&mut self, stream: UnixStream) {
        self.keep = Some(stream);
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut pool = self.connection.pool();
        pool.in_use -= 1;
        if let Some(stream) = self.keep.take() {
            pool.idle.push(stream);
        }
        drop(pool);
        self.connection.freed.notify_one();
    }
}

/// Why one request/response exchange on a stream failed.
pub(crate) enum ExchangeError {
    Write(std::io::Error),
    Read(FrameError),
}

impl ExchangeError {
    /// True when the peer had closed the stream, so nothing was processed and a resend on a
    /// new connection is safe.
    pub(crate) fn peer_closed(&self) -> bool {
        let closed_kind = |kind: ErrorKind| {
            matches!(
                kind,
                ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::NotConnected
            )
        };
        match self {
            ExchangeError::Write(err) => closed_kind(err.kind()),
            ExchangeError::Read(FrameError::Closed) => true,
            ExchangeError::Read(FrameError::Io(err)) => closed_kind(err.kind()),
            ExchangeError::Read(FrameError::Rejected(_)) => false,
        }
    }

    pub(crate) fn into_client_error(self, config: &TransportConfig) -> ClientError {
        let timeout = |what| ClientError::Timeout(config.timeout.unwrap_or_default(), what);
        let is_timeout = |err: &std::io::Error| {
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
        };
        match self {
            ExchangeError::Write(err) if is_timeout(&err) => timeout("sending the request"),
            ExchangeError::Write(err) => ClientError::io(
                format!("sending a request to {}", config.endpoint.display()),
                err,
            ),
            ExchangeError::Read(FrameError::Closed) => ProtocolError::Closed.into(),
            ExchangeError::Read(FrameError::Io(err)) if is_timeout(&err) => {
                timeout("reading the response")
            }
            ExchangeError::Read(FrameError::Io(err)) if err.kind() == ErrorKind::UnexpectedEof => {
                ProtocolError::Closed.into()
            }
            ExchangeError::Read(FrameError::Io(err)) => ClientError::io(
                format!("reading a response from {}", config.endpoint.display()),
                err,
            ),
            ExchangeError::Read(FrameError::Rejected(ResponseStatus::ResponseTooLarge)) => {
                ClientError::ResponseTooLarge {
                    limit: config.max_body_len,
                }
            }
            ExchangeError::Read(FrameError::Rejected(status)) => {
                ProtocolError::BadHeader(status).into()
            }
        }
    }
}

/// True when a pooled stream has not been closed by the service meanwhile (e.g. by its idle
/// time-out). Checked before reuse, so a request is resent only in the rare race where the
/// service closes the stream between this check and the request's arrival.
pub(crate) fn still_open(stream: &UnixStream) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    use std::os::fd::AsRawFd;
    let mut probe = [0u8; 1];
    // Nothing to read is the healthy state; EOF (0) means closed, and stray bytes mean the
    // stream is out of step: neither may be reused.
    matches!(
        recv(
            stream.as_raw_fd(),
            &mut probe,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT
        ),
        Err(nix::errno::Errno::EAGAIN)
    )
}

impl Connection {
    /// A connection to `config.endpoint`; nothing is opened until the first request.
    pub fn new(config: TransportConfig) -> Self {
        Connection {
            config,
            pool: Mutex::new(Pool::default()),
            freed: Condvar::new(),
        }
    }

    /// The configuration this connection uses.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The socket path.
    pub fn endpoint(&self) -> &Path {
        &self.config.endpoint
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        // Every update under the lock is a single push, pop or count change, so a panic
        // elsewhere cannot leave the pool inconsistent: keep using it.
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a connection slot, waiting (up to the time-out) while all are in use; returns a
    /// pooled stream when one is idle and still open.
    fn acquire(&self) -> Result<(Slot<'_>, Option<UnixStream>)> {
        let max = self.config.max_connections.max(1);
        let deadline = self.config.effective_timeout().map(|t| Instant::now() + t);
        let mut pool = self.pool();
        loop {
            while let Some(stream) = pool.idle.pop() {
                if still_open(&stream) {
                    pool.in_use += 1;
                    return Ok((self.slot(), Some(stream)));
                }
            }
            if pool.in_use < max {
                pool.in_use += 1;
                return Ok((self.slot(), None));
            }
            pool = match deadline {
                None => self
                    .freed
                    .wait(pool)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ClientError::Timeout(
                            self.config.timeout.unwrap_or_default(),
                            "waiting for a free connection",
                        ));
                    }
                    self.freed
                        .wait_timeout(pool, left)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }

    fn slot(&self) -> Slot<'_> {
        Slot {
            connection: self,
            keep: None,
        }
    }

    /// Connections currently open (idle or in use).
    pub fn open_connections(&self) -> usize {
        let pool = self.pool();
        pool.idle.len() + pool.in_use
    }

    fn connect(&self) -> Result<UnixStream> {
        let path = &self.config.endpoint;
        let stream = UnixStream::connect(path)
            .map_err(|err| ClientError::io(format!("connecting to {}", path.display()), err))?;
        // A zero duration is refused by the socket API; treat it as "no time-out".
        let timeout = self.config.effective_timeout();
        stream
            .set_read_timeout(timeout)
            .and_then(|()| stream.set_write_timeout(timeout))
            .map_err(|err| ClientError::io("setting socket time-outs", err))?;
        Ok(stream)
    }

    fn exchange(
        &self,
        stream: &mut UnixStream,
        frame: &[u8],
    ) -> std::result::Result<RawResponse, ExchangeError> {
        stream.write_all(frame).map_err(ExchangeError::Write)?;
        read_response(stream, self.config.max_body_len).map_err(ExchangeError::Read)
    }

    /// Sends one request frame and reads its response frame. Only the frame format is
    /// checked here; see [`check_response`] for the header's meaning.
    pub fn round_trip(&self, header: &WireHeader, body: &[u8], auth: &[u8]) -> Result<RawResponse> {
        // The frame may hold a token or a plaintext.
        let frame = Zeroizing::new(encode_frame(header, body, auth));
        let (mut slot, pooled) = self.acquire()?;
        if self.config.mode == ConnectionMode::PerRequest {
            let mut stream = self.connect()?;
            return self
                .exchange(&mut stream, &frame)
                .map_err(|err| err.into_client_error(&self.config));
        }
        let reused = pooled.is_some();
        let mut stream = match pooled {
            Some(stream) => stream,
            None => self.connect()?,
        };
        let response = match self.exchange(&mut stream, &frame) {
            Ok(response) => response,
            Err(err) if reused && err.peer_closed() => {
                stream = self.connect()?;
                self.exchange(&mut stream, &frame)
                    .map_err(|err| err.into_client_error(&self.config))?
            }
            // Any other failure may leave the stream out of step: it is dropped.
            Err(err) => return Err(err.into_client_error(&self.config)),
        };
        // A response under another opcode answers an unreadable request: the service closes
        // that connection, so it is not worth keeping.
        if response.header.opcode == header.opcode {
            slot.keep(stream);
        }
        Ok(response)
    }
}

/// Checks a response header against its request, strictly, as Parsec's client does: the
/// status must be known (in stock mode: a Parsec status), the content type protobuf, and a
/// success must echo the request's opcode and provider. An error may instead come under
/// opcode Ping from provider 0, the answer to a request the service could not read.
pub fn check_response(
    request: &WireHeader,
    response: &WireHeader,
    stock_mode: bool,
) -> Result<ResponseStatus, ProtocolError> {
    if response.content_type != CONTENT_TYPE_PROTOBUF {
        return Err(ProtocolError::ContentType(response.content_type));
    }
    let status = ResponseStatus::from_u16(response.status)
        .filter(|status| !stock_mode || status.is_parsec_standard())
        .ok_or(ProtocolError::UnknownStatus(response.status))?;
    let expected = Opcode::from_u32(request.opcode).ok_or(ProtocolError::OpcodeMismatch {
        expected: Opcode::Ping,
        got: request.opcode,
    })?;
    let unreadable_answer = status != ResponseStatus::Success
        && response.opcode == Opcode::Ping as u32
        && response.provider == 0;
    if unreadable_answer {
        return Ok(status);
    }
    if response.opcode != request.opcode {
        return Err(ProtocolError::OpcodeMismatch {
            expected,
            got: response.opcode,
        });
    }
    if response.provider != request.provider {
        return Err(ProtocolError::ProviderMismatch {
            // Requests only ever name known providers.
            expected: ProviderId::from_u8(request.provider).unwrap_or(ProviderId::Core),
            got: response.provider,
        });
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::thread;

    use keyward_protocol::frame::{read_request, FrameLimits};
    use keyward_protocol::header::FLAG_KEYWARD_EXTENSIONS;

    fn request(opcode: Opcode, provider: u8) -> WireHeader {
        WireHeader {
            flags: FLAG_KEYWARD_EXTENSIONS,
            provider,
            opcode: opcode as u32,
            ..WireHeader::default()
        }
    }

    fn answer(req: &WireHeader, status: u16, body_len: u32) -> WireHeader {
        WireHeader {
            flags: req.flags,
            provider: req.provider,
            opcode: req.opcode,
            status,
            body_len,
            ..WireHeader::default()
        }
    }

    #[test]
    fn matching_success_is_accepted() {
        let req = request(Opcode::PsaSignHash, 1);
        let resp = answer(&req, 0, 10);
        assert_eq!(
            check_response(&req, &resp, false).expect("ok"),
            ResponseStatus::Success
        );
    }

    #[test]
    fn opcode_mismatch_is_refused() {
        let req = request(Opcode::PsaSignHash, 1);
        let mut resp = answer(&req, 0, 0);
        resp.opcode = Opcode::PsaVerifyHash as u32;
        assert!(matches!(
            check_response(&req, &resp, false),
            Err(ProtocolError::OpcodeMismatch {
                expected: Opcode::PsaSignHash,
                got: 5
            })
        ));
        // A success under opcode Ping is never an answer to another request.
        resp.opcode = Opcode::Ping as u32;
        resp.provider = 0;
        assert!(check_response(&req, &resp, false).is_err());
    }

    #[test]
    fn errors_for_unreadable_requests_come_as_ping() {
        let req = request(Opcode::PsaSignHash, 1);
        let resp = WireHeader::response_from_status(ResponseStatus::InvalidHeader);
        assert_eq!(
            check_response(&req, &resp, false).expect("accepted"),
            ResponseStatus::InvalidHeader
        );
    }

    #[test]
    fn provider_mismatch_is_refused() {
        let req = request(Opcode::PsaSignHash, 1);
        let mut resp = answer(&req, 0, 0);
        resp.provider = 3;
        assert!(matches!(
            check_response(&req, &resp, false),
            Err(ProtocolError::ProviderMismatch {
                expected: ProviderId::Software,
                got: 3
            })
        ));
    }

    #[test]
    fn unknown_status_is_refused_and_stock_mode_refuses_extensions() {
        let req = request(Opcode::Ping, 0);
        let resp = answer(&req, 1144, 0);
        assert!(matches!(
            check_response(&req, &resp, false),
            Err(ProtocolError::UnknownStatus(1144))
        ));
        let resp = answer(&req, ResponseStatus::LimitExceeded as u16, 0);
        assert_eq!(
            check_response(&req, &resp, false).expect("extension-aware"),
            ResponseStatus::LimitExceeded
        );
        assert!(matches!(
            check_response(&req, &resp, true),
            Err(ProtocolError::UnknownStatus(0x4B04))
        ));
    }

    #[test]
    fn non_protobuf_content_is_refused() {
        let req = request(Opcode::Ping, 0);
        let mut resp = answer(&req, 0, 0);
        resp.content_type = 1;
        assert!(matches!(
            check_response(&req, &resp, false),
            Err(ProtocolError::ContentType(1))
        ));
    }

    /// A fake service: answers each request with `reply(request) -> (header, body)` and
    /// closes after `per_connection` requests. Counts connections.
    struct FakeServer {
        _dir: tempfile::TempDir,
        path: PathBuf,
        connections: Arc<AtomicUsize>,
    }

    impl FakeServer {
        fn start(
            per_connection: usize,
            reply: impl Fn(&WireHeader) -> (WireHeader, Vec<u8>) + Send + Sync + 'static,
        ) -> FakeServer {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("fake.sock");
            let listener = UnixListener::bind(&path).expect("bind");
            let connections = Arc::new(AtomicUsize::new(0));
            let counter = connections.clone();
            let reply = Arc::new(reply);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let reply = reply.clone();
                    thread::spawn(move || {
                        for _ in 0..per_connection {
                            let Ok(req) = read_request(&mut stream, &FrameLimits::default()) else {
                                return;
                            };
                            let (header, body) = reply(&req.header);
                            if stream
                                .write_all(&encode_frame(&header, &body, &[]))
                                .is_err()
                            {
                                return;
                            }
                        }
                    });
                }
            });
            FakeServer {
                _dir: dir,
                path,
                connections,
            }
        }

        fn connection(&self, mode: ConnectionMode) -> Connection {
            let mut config = TransportConfig::new(&self.path);
            config.mode = mode;
            config.timeout = Some(Duration::from_secs(5));
            Connection::new(config)
        }
    }

    fn echo(req: &WireHeader) -> (WireHeader, Vec<u8>) {
        (answer(req, 0, 2), vec![0x08, 0x01])
    }

    #[test]
    fn persistent_mode_reuses_one_connection() {
        let server = FakeServer::start(usize::MAX, echo);
        let conn = server.connection(ConnectionMode::Persistent);
        let req = request(Opcode::Ping, 0);
        for _ in 0..5 {
            let resp = conn.round_trip(&req, &[], &[]).expect("round trip");
            assert_eq!(resp.body, vec![0x08, 0x01]);
        }
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn per_request_mode_opens_a_connection_each_time() {
        let server = FakeServer::start(1, echo);
        let conn = server.connection(ConnectionMode::PerRequest);
        let req = request(Opcode::Ping, 0);
        for _ in 0..3 {
            conn.round_trip(&req, &[], &[]).expect("round trip");
        }
        assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn closed_persistent_connection_is_reopened_transparently() {
        // A Parsec-style server: one request per connection, then close.
        let server = FakeServer::start(1, echo);
        let conn = server.connection(ConnectionMode::Persistent);
        let req = request(Opcode::Ping, 0);
        for _ in 0..3 {
            // Give the server time to close the pooled stream, so the reuse really fails.
            thread::sleep(Duration::from_millis(20));
            conn.round_trip(&req, &[], &[]).expect("round trip");
        }
        assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn oversize_body_is_refused_without_reading_it() {
        let server = FakeServer::start(usize::MAX, |req| {
            (answer(req, 0, 1 << 20), vec![0; 1 << 20])
        });
        let mut config = TransportConfig::new(&server.path);
        config.max_body_len = 1024;
        let conn = Connection::new(config);
        let err = conn
            .round_trip(&request(Opcode::Ping, 0), &[], &[])
            .expect_err("too large");
        assert!(
            matches!(err, ClientError::ResponseTooLarge { limit: 1024 }),
            "{err:?}"
        );
    }

    #[test]
    fn bad_magic_is_a_protocol_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                let mut buf = [0u8; 36];
                let _ = stream.read_exact(&mut buf);
                let _ = stream.write_all(&[0xAB; 36]);
            }
        });
        let conn = Connection::new(TransportConfig::new(&path));
        let err = conn
            .round_trip(&request(Opcode::Ping, 0), &[], &[])
            .expect_err("bad magic");
        assert!(
            matches!(
                err,
                ClientError::Protocol(ProtocolError::BadHeader(ResponseStatus::InvalidHeader))
            ),
            "{err:?}"
        );
    }

    #[test]
    fn silent_server_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("silent.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let holder = thread::spawn(move || listener.accept().map(|(s, _)| s));
        let mut config = TransportConfig::new(&path);
        config.timeout = Some(Duration::from_millis(100));
        let conn = Connection::new(config);
        let err = conn
            .round_trip(&request(Opcode::Ping, 0), &[], &[])
            .expect_err("timeout");
        assert!(
            matches!(err, ClientError::Timeout(_, "reading the response")),
            "{err:?}"
        );
        drop(holder.join());
    }

    #[test]
    fn missing_socket_names_the_path() {
        let conn = Connection::new(TransportConfig::new("/nonexistent/keyward.sock"));
        let err = conn
            .round_trip(&request(Opcode::Ping, 0), &[], &[])
            .expect_err("no socket");
        assert!(
            err.to_string().contains("/nonexistent/keyward.sock"),
            "{err}"
        );
    }

    #[test]
    fn concurrent_callers_share_at_most_max_connections() {
        // A server that takes its time, so callers really overlap.
        let server = FakeServer::start(usize::MAX, |req| {
            thread::sleep(Duration::from_millis(2));
            echo(req)
        });
        let mut config = TransportConfig::new(&server.path);
        config.max_connections = 3;
        config.timeout = Some(Duration::from_secs(10));
        let conn = Arc::new(Connection::new(config));
        let threads: Vec<_> = (0..24)
            .map(|_| {
                let conn = conn.clone();
                thread::spawn(move || {
                    for _ in 0..5 {
                        conn.round_trip(&request(Opcode::Ping, 0), &[], &[])
                            .expect("round trip");
                        assert!(conn.open_connections() <= 3);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        let opened = server.connections.load(Ordering::SeqCst);
        assert!((2..=3).contains(&opened), "{opened} connections opened");
    }

    #[test]
    fn waiting_for_a_connection_times_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("slow.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        // Answers the one request a byte every 30 ms: the connection stays busy for a second
        // while every single read is well within the 200 ms time-out.
        thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let Ok(req) = read_request(&mut stream, &FrameLimits::default()) else {
                return;
            };
            for byte in encode_frame(&answer(&req.header, 0, 0), &[], &[]) {
                thread::sleep(Duration::from_millis(30));
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
            }
        });
        let mut config = TransportConfig::new(&path);
        config.max_connections = 1;
        config.timeout = Some(Duration::from_millis(200));
        let conn = Arc::new(Connection::new(config));
        let busy = {
            let conn = conn.clone();
            thread::spawn(move || conn.round_trip(&request(Opcode::Ping, 0), &[], &[]))
        };
        thread::sleep(Duration::from_millis(50));
        let err = conn
            .round_trip(&request(Opcode::Ping, 0), &[], &[])
            .expect_err("no free connection");
        assert!(
            matches!(
                err,
                ClientError::Timeout(_, "waiting for a free connection")
            ),
            "{err:?}"
        );
        busy.join()
            .expect("thread")
            .expect("the slow request itself completes");
    }

    #[test]
    fn pooled_streams_are_checked_before_reuse() {
        use std::io::Write as _;
        let (ours, theirs) = UnixStream::pair().expect("pair");
        assert!(still_open(&ours), "an idle, open stream is reusable");
        let mut theirs = theirs;
        theirs.write_all(b"x").expect("write");
        assert!(!still_open(&ours), "unread bytes: out of step");
        let (ours, theirs) = UnixStream::pair().expect("pair");
        drop(theirs);
        assert!(!still_open(&ours), "closed by the peer");
    }
}
