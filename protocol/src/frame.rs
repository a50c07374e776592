//! Reading and writing whole frames, blocking or with tokio.
//!
//! The reader checks magic and header size on the first 6 bytes, and the body and auth lengths
//! against [`FrameLimits`] before it allocates anything, so a frame that lies about its length
//! costs at most the configured limit. Time limits belong to the caller (the service wraps
//! these reads in time-outs).

use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::header::{WireHeader, HEADER_LEN, PREFIX_LEN};
use crate::status::ResponseStatus;

/// Size limits applied while reading a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Largest accepted body, in bytes (Parsec's default: 1 MiB).
    pub max_body_len: u32,
    /// Largest accepted auth field, in bytes.
    pub max_auth_len: u16,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_body_len: 1 << 20,
            max_auth_len: u16::MAX,
        }
    }
}

/// A request frame as read from the wire. The auth field may hold a token: it is zeroized.
#[derive(Debug)]
pub struct RawRequest {
    pub header: WireHeader,
    pub body: Vec<u8>,
    pub auth: Zeroizing<Vec<u8>>,
}

/// A response frame as read from the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub header: WireHeader,
    pub body: Vec<u8>,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the connection cleanly between frames.
    #[error("connection closed by peer")]
    Closed,
    #[error("i/o error while reading a frame: {0}")]
    Io(#[from] std::io::Error),
    /// The frame was refused; the stream is no longer in step, so the connection must close
    /// after the status is sent.
    #[error("frame rejected: {0}")]
    Rejected(ResponseStatus),
}

impl FrameError {
    /// The status to answer with, when an answer is possible.
    pub fn status(&self) -> Option<ResponseStatus> {
        match self {
            FrameError::Rejected(status) => Some(*status),
            _ => None,
        }
    }
}

fn header_from_parts(
    prefix: &[u8; PREFIX_LEN],
    rest: &[u8; HEADER_LEN - PREFIX_LEN],
) -> Result<WireHeader, FrameError> {
    let mut whole = [0u8; HEADER_LEN];
    whole[..PREFIX_LEN].copy_from_slice(prefix);
    whole[PREFIX_LEN..].copy_from_slice(rest);
    WireHeader::decode(&whole).map_err(FrameError::Rejected)
}

fn check_request_lengths(header: &WireHeader, limits: &FrameLimits) -> Result<(), FrameError> {
    if header.body_len > limits.max_body_len || header.auth_len > limits.max_auth_len {
        return Err(FrameError::Rejected(ResponseStatus::BodySizeExceedsLimit));
    }
    Ok(())
}

fn eof_means_closed(err: std::io::Error) -> FrameError {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        FrameError::Closed
    } else {
        FrameError::Io(err)
    }
}

/// Encodes a complete frame: header, body, then (requests only) auth.
pub fn encode_frame(header: &WireHeader, body: &[u8], auth: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + auth.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(body);
    out.extend_from_slice(auth);
    out
}

/// Reads one request, blocking.
pub fn read_request<R: Read>(
    reader: &mut R,
    limits: &FrameLimits,
) -> Result<RawRequest, FrameError> {
    let mut prefix = [0u8; PREFIX_LEN];
    reader.read_exact(&mut prefix).map_err(eof_means_closed)?;
    WireHeader::check_prefix(&prefix).map_err(FrameError::Rejected)?;
    let mut rest = [0u8; HEADER_LEN - PREFIX_LEN];
    reader.read_exact(&mut rest)?;
    let header = header_from_parts(&prefix, &rest)?;
    check_request_lengths(&header, limits)?;
    let mut body = vec![0u8; header.body_len as usize];
    reader.read_exact(&mut body)?;
    let mut auth = Zeroizing::new(vec![0u8; header.auth_len as usize]);
    reader.read_exact(&mut auth)?;
    Ok(RawRequest { header, body, auth })
}

/// Reads one response, blocking; `max_body_len` bounds what the client will allocate.
pub fn read_response<R: Read>(
    reader: &mut R,
    max_body_len: u32,
) -> Result<RawResponse, FrameError> {
    let mut whole = [0u8; HEADER_LEN];
    reader.read_exact(&mut whole).map_err(eof_means_closed)?;
    let header = WireHeader::decode(&whole).map_err(FrameError::Rejected)?;
    if header.body_len > max_body_len {
        return Err(FrameError::Rejected(ResponseStatus::ResponseTooLarge));
    }
    let mut body = vec![0u8; header.body_len as usize];
    reader.read_exact(&mut body)?;
    Ok(RawResponse { header, body })
}

/// Writes a request frame, blocking, in one write.
pub fn write_request<W: Write>(
    writer: &mut W,
    header: &WireHeader,
    body: &[u8],
    auth: &[u8],
) -> std::io::Result<()> {
    writer.write_all(&encode_frame(header, body, auth))?;
    writer.flush()
}

#[cfg(feature = "tokio")]
mod async_io {
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    use super::*;

    /// Reads one request with tokio.
    pub async fn read_request_async<R: AsyncRead + Unpin>(
        reader: &mut R,
        limits: &FrameLimits,
    ) -> Result<RawRequest, FrameError> {
        let mut prefix = [0u8; PREFIX_LEN];
        reader
            .read_exact(&mut prefix)
            .await
            .map_err(eof_means_closed)?;
        WireHeader::check_prefix(&prefix).map_err(FrameError::Rejected)?;
        let mut rest = [0u8; HEADER_LEN - PREFIX_LEN];
        reader.read_exact(&mut rest).await?;
        let header = header_from_parts(&prefix, &rest)?;
        check_request_lengths(&header, limits)?;
        let mut body = vec![0u8; header.body_len as usize];
        reader.read_exact(&mut body).await?;
        let mut auth = Zeroizing::new(vec![0u8; header.auth_len as usize]);
        reader.read_exact(&mut auth).await?;
        Ok(RawRequest { header, body, auth })
    }

    /// Reads one response with tokio.
    pub async fn read_response_async<R: AsyncRead + Unpin>(
        reader: &mut R,
        max_body_len: u32,
    ) -> Result<RawResponse, FrameError> {
        let mut whole = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut whole)
            .await
            .map_err(eof_means_closed)?;
        let header = WireHeader::decode(&whole).map_err(FrameError::Rejected)?;
        if header.body_len > max_body_len {
            return Err(FrameError::Rejected(ResponseStatus::ResponseTooLarge));
        }
        let mut body = vec![0u8; header.body_len as usize];
        reader.read_exact(&mut body).await?;
        Ok(RawResponse { header, body })
    }

    /// Writes a response frame with tokio, in one write.
    pub async fn write_response_async<W: AsyncWrite + Unpin>(
        writer: &mut W,
        header: &WireHeader,
        body: &[u8],
    ) -> std::io::Result<()> {
        writer.write_all(&encode_frame(header, body, &[])).await?;
        writer.flush().await
    }
}

#[cfg(feature = "tokio")]
pub use async_io::{read_request_async, read_response_async, write_response_async};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::Opcode;

    fn ping_request(body: &[u8], auth: &[u8]) -> Vec<u8> {
        let header = WireHeader {
            body_len: body.len() as u32,
            auth_len: auth.len() as u16,
            opcode: Opcode::Ping as u32,
            ..WireHeader::default()
        };
        encode_frame(&header, body, auth)
    }

    #[test]
    fn reads_back_what_was_written_and_keeps_the_stream_in_step() {
        let mut bytes = ping_request(b"body", b"\x00\x00\x00\x00");
        bytes.extend(ping_request(b"", b""));
        let mut cursor = std::io::Cursor::new(bytes);
        let limits = FrameLimits::default();
        let first = read_request(&mut cursor, &limits).expect("first");
        assert_eq!(first.body, b"body");
        assert_eq!(&first.auth[..], b"\x00\x00\x00\x00");
        let second = read_request(&mut cursor, &limits).expect("second");
        assert!(second.body.is_empty());
        assert!(matches!(
            read_request(&mut cursor, &limits),
            Err(FrameError::Closed)
        ));
    }

    #[test]
    fn lying_lengths_are_refused_before_allocation() {
        let mut bytes = ping_request(b"", b"");
        bytes[22..26].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = read_request(&mut std::io::Cursor::new(bytes), &FrameLimits::default())
            .expect_err("too large");
        assert_eq!(err.status(), Some(ResponseStatus::BodySizeExceedsLimit));

        let mut bytes = ping_request(b"", b"");
        bytes[26..28].copy_from_slice(&100u16.to_le_bytes());
        let limits = FrameLimits {
            max_body_len: 10,
            max_auth_len: 99,
        };
        let err = read_request(&mut std::io::Cursor::new(bytes), &limits).expect_err("auth");
        assert_eq!(err.status(), Some(ResponseStatus::BodySizeExceedsLimit));
    }

    #[test]
    fn bad_magic_is_refused_after_six_bytes() {
        // Only the prefix is available: a reader must not wait for more before refusing.
        let bytes = vec![0xde, 0xad, 0xbe, 0xef, 0x1e, 0x00];
        let err = read_request(&mut std::io::Cursor::new(bytes), &FrameLimits::default())
            .expect_err("bad magic");
        assert_eq!(err.status(), Some(ResponseStatus::InvalidHeader));
    }

    #[test]
    fn truncated_body_is_an_io_error() {
        let mut bytes = ping_request(b"0123456789", b"");
        bytes.truncate(bytes.len() - 3);
        let err = read_request(&mut std::io::Cursor::new(bytes), &FrameLimits::default())
            .expect_err("truncated");
        assert!(matches!(err, FrameError::Io(_)));
    }

    #[test]
    fn response_body_cap_is_enforced() {
        let header = WireHeader {
            body_len: 1000,
            ..WireHeader::default()
        };
        let bytes = encode_frame(&header, &[0u8; 1000], &[]);
        let err = read_response(&mut std::io::Cursor::new(bytes), 999).expect_err("cap");
        assert_eq!(err.status(), Some(ResponseStatus::ResponseTooLarge));
    }
}
