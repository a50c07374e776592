//! A minimal Parsec-wire client for load generation: requests are encoded once with
//! keyward-protocol and sent as raw frames over std Unix sockets, so the client's own cost per
//! request stays far below the service's. Frames are stock (flags 0), as parsec-client sends.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use keyward_protocol::codec::{decode_result, encode_operation};
use keyward_protocol::frame::encode_frame;
use keyward_protocol::header::{WireHeader, HEADER_LEN};
use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::{AuthType, Opcode, ProviderId, ResponseStatus};

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No authentication (ping and other informational requests).
    None,
    /// Unix peer credentials: the caller's UID, checked by the service against SO_PEERCRED.
    PeerUid(u32),
    /// Direct authentication: the claimed application name.
    Direct(String),
}

impl Auth {
    /// Peer credentials of this process.
    pub fn current_uid() -> Auth {
        Auth::PeerUid(nix::unistd::getuid().as_raw())
    }

    fn auth_type(&self) -> AuthType {
        match self {
            Auth::None => AuthType::NoAuth,
            Auth::PeerUid(_) => AuthType::UnixPeerCredentials,
            Auth::Direct(_) => AuthType::Direct,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Auth::None => Vec::new(),
            Auth::PeerUid(uid) => uid.to_le_bytes().to_vec(),
            Auth::Direct(name) => name.as_bytes().to_vec(),
        }
    }
}

/// Encodes `op` as a complete stock request frame for `provider`.
pub fn frame(op: &Operation, provider: ProviderId, auth: &Auth) -> Vec<u8> {
    let body = encode_operation(op);
    let auth_bytes = auth.bytes();
    let header = WireHeader {
        flags: 0,
        provider: provider as u8,
        auth_type: auth.auth_type() as u8,
        body_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
        auth_len: u16::try_from(auth_bytes.len()).unwrap_or(u16::MAX),
        opcode: op.opcode() as u32,
        ..WireHeader::default()
    };
    encode_frame(&header, &body, &auth_bytes)
}

/// Parses `unix:PATH` (or a bare absolute path).
pub fn parse_endpoint(text: &str) -> anyhow::Result<PathBuf> {
    let path = text.strip_prefix("unix://").unwrap_or(text);
    let path = path.strip_prefix("unix:").unwrap_or(path);
    if !path.starts_with('/') {
        bail!("endpoint {text:?} is not unix:/absolute/path");
    }
    Ok(PathBuf::from(path))
}

/// One client's connection: a new connection per request (stock Parsec clients) or one kept
/// open (our client). A persistent connection the server closed is reopened and counted, so a
/// service that closes after every response (Parsec) still works, visibly.
#[derive(Debug)]
pub struct Conn {
    socket: PathBuf,
    persistent: bool,
    stream: Option<UnixStream>,
    body: Vec<u8>,
    /// Persistent connections the server closed that had to be reopened.
    pub reconnects: u64,
}

/// Status and body of a response (the body borrows the connection's buffer).
#[derive(Debug)]
pub struct Reply<'a> {
    pub status: u16,
    pub body: &'a [u8],
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl Conn {
    pub fn new(socket: &Path, persistent: bool) -> Conn {
        Conn {
            socket: socket.to_owned(),
            persistent,
            stream: None,
            body: Vec::with_capacity(4096),
            reconnects: 0,
        }
    }

    fn connect(&self) -> std::io::Result<UnixStream> {
        let stream = UnixStream::connect(&self.socket)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(stream)
    }

    /// Sends one request frame and reads its response.
    pub fn call(&mut self, frame: &[u8]) -> std::io::Result<Reply<'_>> {
        let reused = self.stream.is_some();
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => self.connect()?,
        };
        let status = match exchange(&mut stream, frame, &mut self.body) {
            Ok(status) => status,
            Err(err) if reused && is_closed(&err) => {
                // The server closed the kept connection: reopen once and retry.
                self.reconnects += 1;
                stream = self.connect()?;
                exchange(&mut stream, frame, &mut self.body)?
            }
            Err(err) => return Err(err),
        };
        if self.persistent {
            self.stream = Some(stream);
        }
        Ok(Reply {
            status,
            body: &self.body,
        })
    }

    /// Sends `op` and decodes the result, failing on any status but success.
    pub fn call_op(
        &mut self,
        op: &Operation,
        provider: ProviderId,
        auth: &Auth,
    ) -> anyhow::Result<OperationResult> {
        let opcode = op.opcode();
        let socket = self.socket.display().to_string();
        let reply = self
            .call(&frame(op, provider, auth))
            .with_context(|| format!("{opcode:?} to {socket}"))?;
        check_status(opcode, reply.status)?;
        decode_result(opcode, reply.body).with_context(|| format!("decoding {opcode:?} result"))
    }
}

/// Turns a non-success status into an error naming it.
pub fn check_status(opcode: Opcode, status: u16) -> anyhow::Result<()> {
    if status == ResponseStatus::Success as u16 {
        return Ok(());
    }
    let name = ResponseStatus::from_u16(status)
        .map(|s| format!("{s:?}"))
        .unwrap_or_else(|| format!("status {status}"));
    bail!("{opcode:?} failed: {name}")
}

fn is_closed(err: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        err.kind(),
        UnexpectedEof | BrokenPipe | ConnectionReset | ConnectionAborted
    )
}

/// Writes the frame in one call and reads one response into `body`; returns the status.
fn exchange(stream: &mut UnixStream, frame: &[u8], body: &mut Vec<u8>) -> std::io::Result<u16> {
    stream.write_all(frame)?;
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header)?;
    let header = WireHeader::decode(&header).map_err(|status| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad response header: {status:?}"),
        )
    })?;
    body.resize(header.body_len as usize, 0);
    stream.read_exact(body)?;
    Ok(header.status)
}
