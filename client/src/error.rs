//! The client's error type: what went wrong, kept apart from how it travelled.
//!
//! A status the service answered with is [`ClientError::Service`]; everything the client
//! itself detected (no socket, a malformed or unexpected frame, a local encoding failure)
//! has its own variant, so callers can tell "the service said no" from "we could not ask".
//!
//! Each message is complete on its own (it includes the underlying error's text), so no
//! variant also reports that error as its `source()`: printing a chain shows it once.

use std::path::PathBuf;
use std::time::Duration;

use keyward_protocol::codec::CodecError;
use keyward_protocol::{Opcode, ResponseStatus};

/// Anything a Keyward client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service processed the request and answered with a non-success status.
    #[error("service answered {status} (operation {opcode:?})")]
    Service {
        status: ResponseStatus,
        opcode: Opcode,
    },
    /// A socket operation failed.
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
    /// The service did not answer within the configured time-out.
    #[error("no answer from the service within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    /// The service's bytes did not form a valid, expected response.
    #[error("invalid response from the service: {0}")]
    Protocol(ProtocolError),
    /// A response body was larger than the configured cap.
    #[error("response body exceeds the client's limit of {limit} bytes")]
    ResponseTooLarge { limit: u32 },
    /// A request could not be framed (body or auth field too long for the wire format).
    #[error("request too large to send: {0}")]
    RequestTooLarge(&'static str),
    /// No socket was configured and none of the default paths exists.
    #[error("no Keyward service socket found (set KEYWARD_ENDPOINT); tried: {}", display_paths(.tried))]
    NoEndpoint { tried: Vec<PathBuf> },
    /// An endpoint variable or option could not be parsed.
    #[error("invalid endpoint {value:?} from {source_name}: expected unix:/absolute/path or an absolute path")]
    InvalidEndpoint {
        source_name: &'static str,
        value: String,
    },
    /// No provider offered by the service supports the operation.
    #[error("no provider of the service supports {opcode:?}")]
    NoProvider { opcode: Opcode },
    /// No authenticator enabled in the service can be used with this client's configuration.
    #[error("no usable authenticator: the service offers {offered:?}, and this client is configured for none of them")]
    NoAuthenticator { offered: Vec<u8> },
    /// The token source for JWT authentication failed.
    #[error("could not obtain an authentication token: {0}")]
    Token(TokenError),
    /// The named key is not among the caller's keys.
    #[error("key {0:?} does not exist")]
    KeyNotFound(String),
    /// The key exists but cannot be used this way by the convenience API.
    #[error("key {key:?} cannot be used here: {reason}")]
    UnsuitableKey { key: String, reason: String },
    /// A caller-supplied argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A DER/PEM encoding or decoding step failed (public keys, signatures, CSRs).
    #[error("encoding error: {0}")]
    Encoding(String),
    /// The operating system's random source failed.
    #[error("local random source failed: {0}")]
    Random(String),
}

/// Errors a [`crate::auth::TokenSource`] may return.
pub type TokenError = Box<dyn std::error::Error + Send + Sync>;

/// What exactly was wrong with a response.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// Magic, header size, version or reserved bytes were wrong.
    #[error("bad response header: {0}")]
    BadHeader(ResponseStatus),
    /// The connection closed before a complete response arrived.
    #[error("connection closed before a complete response arrived")]
    Closed,
    /// The status is not one this client knows (or, in stock mode, not a Parsec status).
    #[error("unknown response status {0}")]
    UnknownStatus(u16),
    /// The response names another operation than the request.
    #[error("response opcode {got:#x} does not match request opcode {expected:?}")]
    OpcodeMismatch { expected: Opcode, got: u32 },
    /// The response names another provider than the request.
    #[error("response provider {got} does not match request provider {expected}")]
    ProviderMismatch { expected: u8, got: u8 },
    /// The response's content type is not protobuf.
    #[error("response content type {0} is not protobuf")]
    ContentType(u8),
    /// The body did not decode as the expected result.
    #[error("response body does not decode: {0}")]
    Body(CodecError),
    /// The body decoded to another result than the operation asked for.
    #[error("response body holds a result for another operation than {0:?}")]
    UnexpectedResult(Opcode),
}

impl ClientError {
    /// The service's status, when the service answered with an error.
    pub fn status(&self) -> Option<ResponseStatus> {
        match self {
            ClientError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> Self {
        ClientError::Io {
            context: context.into(),
            error,
        }
    }

    pub(crate) fn encoding(err: impl std::fmt::Display) -> Self {
        ClientError::Encoding(err.to_string())
    }
}

impl From<ProtocolError> for ClientError {
    fn from(err: ProtocolError) -> Self {
        ClientError::Protocol(err)
    }
}

impl From<CodecError> for ProtocolError {
    fn from(err: CodecError) -> Self {
        ProtocolError::Body(err)
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Results of client calls.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_names_the_status() {
        let err = ClientError::Service {
            status: ResponseStatus::PsaErrorNotPermitted,
            opcode: Opcode::PsaSignHash,
        };
        let text = err.to_string();
        assert!(
            text.starts_with("service answered PsaErrorNotPermitted (1133): "),
            "{text}"
        );
        assert!(text.contains("PsaSignHash"), "{text}");
        assert_eq!(err.status(), Some(ResponseStatus::PsaErrorNotPermitted));
    }

    #[test]
    fn no_endpoint_lists_every_path_tried() {
        let err = ClientError::NoEndpoint {
            tried: vec![PathBuf::from("/a.sock"), PathBuf::from("/b.sock")],
        };
        let text = err.to_string();
        assert!(text.contains("/a.sock, /b.sock"), "{text}");
        assert_eq!(err.status(), None);
    }

    #[test]
    fn messages_are_not_repeated_down_the_chain() {
        use std::error::Error;
        let err = ClientError::io(
            "connecting to /x.sock",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert!(err.to_string().starts_with("connecting to /x.sock: "));
        assert!(err.source().is_none());
        let err = ClientError::from(ProtocolError::UnknownStatus(7777));
        assert_eq!(
            err.to_string(),
            "invalid response from the service: unknown response status 7777"
        );
        assert!(err.source().is_none());
    }
}
