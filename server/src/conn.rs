//! One client connection: reading whole request frames into memory the budget has granted,
//! noticing when the client goes away while its request is served, and writing responses.
//!
//! Every byte a client sent may be a secret (an imported key, a plaintext), so every buffer
//! here is wiped when it is freed, including the copies left behind when a body grows.

use std::sync::Arc;
use std::time::Duration;

use keyward_protocol::header::{WireHeader, HEADER_LEN, PREFIX_LEN};
use keyward_protocol::{FrameLimits, ResponseStatus};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::UnixStream;
use zeroize::Zeroizing;

use crate::tenants::{Reservation, ShareError, Tenant, Tenants};

/// Per-connection read buffer: a typical request (header, small body, auth) arrives in one
/// read, and 4,096 idle connections cost 8 MiB. Frames that fit need no budget reservation:
/// the connection caps already bound them.
pub(crate) const READ_BUFFER_LEN: usize = 2048;

/// A body grows by doubling from this size (each step reserved from the budget first), so a
/// client that announces a large body but sends it slowly holds only what it sent.
const FIRST_BODY_CHUNK: usize = 4096;

/// A request frame as read.
pub(crate) struct Frame {
    pub header: WireHeader,
    pub body: Zeroizing<Vec<u8>>,
    pub auth: Zeroizing<Vec<u8>>,
    /// Budget held for body and auth (none for small frames).
    pub reservation: Option<Reservation>,
}

/// Why no frame was read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection between requests, or the socket failed.
    Closed,
    /// The frame was refused (bad header, lengths over the limits): answer, then close, since
    /// the stream is out of step.
    Rejected(ResponseStatus),
    /// The memory budget could not hold the body in time: answer, then close.
    Memory(ShareError),
}

pub(crate) struct Connection {
    stream: UnixStream,
    buf: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
    /// The peer shut down its sending side (or closed): no more requests will come.
    eof: bool,
}

impl Connection {
    pub(crate) fn new(stream: UnixStream) -> Self {
        Connection {
            stream,
            buf: Zeroizing::new(vec![0; READ_BUFFER_LEN]),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// True when bytes of a next request are already buffered.
    pub(crate) fn has_buffered(&self) -> bool {
        self.end > self.start
    }

    /// True when the peer will send nothing more.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// Reads more bytes into the buffer; false at end of stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Waits for the first byte of the next request (false: the peer closed or failed).
    pub(crate) async fn wait_for_request(&mut self) -> bool {
        if self.has_buffered() {
            return true;
        }
        if self.eof {
            return false;
        }
        matches!(self.fill().await, Ok(true))
    }

    /// Fills `out` completely, from the buffer first.
    async fn read_exact(&mut self, out: &mut [u8]) -> Result<(), ReadError> {
        let mut done = 0;
        while done < out.len() {
            if !self.has_buffered() && !matches!(self.fill().await, Ok(true)) {
                return Err(ReadError::Closed);
            }
            let n = (self.end - self.start).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            done += n;
        }
        Ok(())
    }

    /// Reads `len` bytes into a buffer that grows with what arrives, each growth reserved from
    /// the tenant's budget first (waiting at most `wait`).
    async fn read_body(
        &mut self,
        len: usize,
        reservation: &mut Option<Reservation>,
        tenants: &Arc<Tenants>,
        tenant: &Arc<Tenant>,
        wait: Duration,
    ) -> Result<Zeroizing<Vec<u8>>, ReadError> {
        let mut body = Zeroizing::new(Vec::new());
        while body.len() < len {
            if body.len() == body.capacity() {
                let capacity = (body.capacity() * 2).max(FIRST_BODY_CHUNK).min(len);
                let more = capacity - body.capacity();
                match reservation {
                    Some(held) => held.grow(more, wait).await,
                    None => tenants
                        .reserve(tenant, capacity, wait)
                        .await
                        .map(|held| *reservation = Some(held)),
                }
                .map_err(ReadError::Memory)?;
                // A new buffer, and the old one wiped as it drops: growing a Vec in place
                // would free the old copy unwiped.
                let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
                grown.extend_from_slice(&body);
                body = grown;
            }
            if !self.has_buffered() && !matches!(self.fill().await, Ok(true)) {
                return Err(ReadError::Closed);
            }
            let n = (self.end - self.start)
                .min(len - body.len())
                .min(body.capacity() - body.len());
            body.extend_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
        }
        Ok(body)
    }

    /// Reads one request frame; the caller bounds the whole read with the read time-out.
    pub(crate) async fn read_frame(
        &mut self,
        limits: &FrameLimits,
        tenants: &Arc<Tenants>,
        tenant: &Arc<Tenant>,
        wait: Duration,
    ) -> Result<Frame, ReadError> {
        let mut whole = [0u8; HEADER_LEN];
        // Magic and header size first: a stream that is not ours is refused after six bytes.
        self.read_exact(&mut whole[..PREFIX_LEN]).await?;
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&whole[..PREFIX_LEN]);
        WireHeader::check_prefix(&prefix).map_err(ReadError::Rejected)?;
        self.read_exact(&mut whole[PREFIX_LEN..]).await?;
        let header = WireHeader::decode(&whole).map_err(ReadError::Rejected)?;
        if header.body_len > limits.max_body_len || header.auth_len > limits.max_auth_len {
            return Err(ReadError::Rejected(ResponseStatus::BodySizeExceedsLimit));
        }
        let body_len = header.body_len as usize;
        let auth_len = usize::from(header.auth_len);
        let mut reservation = None;
        let (body, auth) = if body_len + auth_len <= READ_BUFFER_LEN {
            let mut body = Zeroizing::new(vec![0; body_len]);
            self.read_exact(&mut body).await?;
            let mut auth = Zeroizing::new(vec![0; auth_len]);
            self.read_exact(&mut auth).await?;
            (body, auth)
        } else {
            let body = self
                .read_body(body_len, &mut reservation, tenants, tenant, wait)
                .await?;
            let auth = self
                .read_body(auth_len, &mut reservation, tenants, tenant, wait)
                .await?;
            (body, auth)
        };
        Ok(Frame {
            header,
            body,
            auth,
            reservation,
        })
    }

    /// Completes only when the peer has closed the connection completely while a request is
    /// being served. Bytes of a pipelined next request are kept; a peer that only shut down its
    /// sending side still gets its answer.
    pub(crate) async fn peer_gone(&mut self) {
        while !self.eof {
            if self.end == self.buf.len() && self.start == 0 {
                // The buffer is full of the next request: the peer is alive.
                return std::future::pending().await;
            }
            if self.fill().await.is_err() {
                return;
            }
        }
        // End of stream: a full close also hangs up our sending side.
        match self.stream.ready(Interest::WRITABLE).await {
            Ok(ready) if !ready.is_write_closed() => std::future::pending().await,
            _ => {}
        }
    }

    /// Writes a response in one write; the buffer holding it is wiped afterwards.
    pub(crate) async fn write_response(
        &mut self,
        header: &WireHeader,
        body: &[u8],
    ) -> std::io::Result<()> {
        let mut frame = Zeroizing::new(Vec::with_capacity(HEADER_LEN + body.len()));
        frame.extend_from_slice(&header.encode());
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).await?;
        self.stream.flush().await
    }
}
