//! The client's error type: what went wrong, kept apart from how it travelled.
//!
//! A status the service answered with is [`ClientError::Service`]; everything the client
//! itself detected (no socket, a malformed or unexpected frame, a local encoding failure)
//! has its own variant, so callers can tell "the service said no" from "we could not ask".
//! A missing key is always [`ClientError::KeyNotFound`], whether the client's own key lookup
//! or the service noticed it.
//!
//! Each message describes its own layer only; the underlying error is the `source()`, so a
//! report that walks the chain (anyhow's `{:#}`, for example) shows every cause once.

use std::path::PathBuf;
use std::time::Duration;

use keyward_protocol::codec::CodecError;
use keyward_protocol::{Opcode, ProviderId, ResponseStatus};

/// A boxed cause from another crate's error type (DER, token sources, …).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors a [`crate::auth::TokenSource`] may return.
pub type TokenError = BoxError;

/// Anything a Keyward client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The service processed the request and answered with a non-success status.
    #[error("service answered {status} (operation {opcode:?})")]
    Service {
        /// The status the service answered with.
        status: ResponseStatus,
        /// The operation that was refused.
        opcode: Opcode,
    },
    /// The named key does not exist among the caller's keys (found by the client's key
    /// lookup, or answered by the service as `PsaErrorDoesNotExist`).
    #[error("key {0:?} does not exist")]
    KeyNotFound(String),
    /// The key exists but its type or policy does not allow this use; refused locally,
    /// without asking the service.
    #[error("key {key:?} cannot be used here: {reason}")]
    UnsuitableKey {
        /// The key's name.
        key: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A socket operation failed.
    #[error("{context}")]
    Io {
        /// What the client was doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The service did not answer (or no connection was free) within the configured time-out.
    #[error("no answer from the service within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    /// The service's bytes did not form a valid, expected response.
    #[error("invalid response from the service")]
    Protocol(#[source] ProtocolError),
    /// A response body was larger than the configured cap.
    #[error("response body exceeds the client's limit of {limit} bytes")]
    ResponseTooLarge {
        /// The configured cap, in bytes.
        limit: u32,
    },
    /// A request could not be framed (body or auth field too long for the wire format).
    #[error("request too large to send: {0}")]
    RequestTooLarge(&'static str),
    /// No socket was configured and none of the default paths exists.
    #[error("no Keyward service socket found (set KEYWARD_ENDPOINT); tried: {}", display_paths(.tried))]
    NoEndpoint {
        /// The default paths tried, in order.
        tried: Vec<PathBuf>,
    },
    /// An endpoint variable or option could not be parsed.
    #[error("invalid endpoint {value:?} from {source_name}: expected unix:/absolute/path or an absolute path")]
    InvalidEndpoint {
        /// Where the value came from (a variable name, or "the command line").
        source_name: &'static str,
        /// The value as given.
        value: String,
    },
    /// No provider offered by the service supports the operation.
    #[error("no provider of the service supports {opcode:?}")]
    NoProvider {
        /// The operation.
        opcode: Opcode,
    },
    /// A key is held by a provider this client does not know.
    #[error("key {key:?} is held by provider {provider}, which this client does not know")]
    UnknownProvider {
        /// The key's name.
        key: String,
        /// The provider ID the service reported.
        provider: u8,
    },
    /// No authenticator enabled in the service can be used with this client's configuration.
    #[error("no usable authenticator: the service offers {offered:?}, and this client is configured for none of them")]
    NoAuthenticator {
        /// The authenticator IDs the service offers, in its order.
        offered: Vec<u8>,
    },
    /// The token source for JWT authentication failed.
    #[error("could not obtain an authentication token")]
    Token(#[source] TokenError),
    /// A caller-supplied argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A DER/PEM encoding or decoding step failed (public keys, signatures, CSRs).
    #[error("encoding error: {context}")]
    Encoding {
        /// What was being encoded or decoded.
        context: &'static str,
        /// The encoder's error.
        #[source]
        source: BoxError,
    },
    /// A signer (a RustCrypto `Signer` given to this crate) failed.
    #[error("the signer failed")]
    Signer(#[source] signature::Error),
    /// The operating system's random source failed.
    #[error("local random source failed")]
    Random(#[source] getrandom::Error),
}

/// What exactly was wrong with a response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    OpcodeMismatch {
        /// The request's opcode.
        expected: Opcode,
        /// The response's opcode value.
        got: u32,
    },
    /// The response names another provider than the request.
    #[error("response provider {got} does not match request provider {expected:?}")]
    ProviderMismatch {
        /// The request's provider.
        expected: ProviderId,
        /// The response's provider value.
        got: u8,
    },
    /// The response's content type is not protobuf.
    #[error("response content type {0} is not protobuf")]
    ContentType(u8),
    /// The body did not decode as the expected result.
    #[error("response body does not decode")]
    Body(#[source] CodecError),
    /// The body decoded to another result than the operation asked for.
    #[error("response body holds a result for another operation than {0:?}")]
    UnexpectedResult(Opcode),
}

impl ClientError {
    /// The wire status of this failure: the service's answer, or for
    /// [`ClientError::KeyNotFound`] the status the service gives a missing key
    /// (`PsaErrorDoesNotExist`), whichever side noticed it.
    pub fn status(&self) -> Option<ResponseStatus> {
        match self {
            ClientError::Service { status, .. } => Some(*status),
            ClientError::KeyNotFound(_) => Some(ResponseStatus::PsaErrorDoesNotExist),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ClientError::Io {
            context: context.into(),
            source,
        }
    }

    /// A `map_err` adapter: `.map_err(ClientError::encoding("a signature"))`.
    pub(crate) fn encoding<E>(context: &'static str) -> impl FnOnce(E) -> ClientError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |err| ClientError::Encoding {
            context,
            source: Box::new(err),
        }
    }

    /// A copy of errors that carry only plain data (statuses, names, messages); `None` for
    /// those holding another error.
    pub(crate) fn plain_copy(&self) -> Option<ClientError> {
        Some(match self {
            ClientError::Service { status, opcode } => ClientError::Service {
                status: *status,
                opcode: *opcode,
            },
            ClientError::KeyNotFound(key) => ClientError::KeyNotFound(key.clone()),
            ClientError::UnsuitableKey { key, reason } => ClientError::UnsuitableKey {
                key: key.clone(),
                reason: reason.clone(),
            },
            ClientError::Timeout(after, what) => ClientError::Timeout(*after, what),
            ClientError::NoProvider { opcode } => ClientError::NoProvider { opcode: *opcode },
            ClientError::UnknownProvider { key, provider } => ClientError::UnknownProvider {
                key: key.clone(),
                provider: *provider,
            },
            ClientError::InvalidArgument(text) => ClientError::InvalidArgument(text.clone()),
            _ => return None,
        })
    }

    /// An encoding failure found by this crate's own checks.
    pub(crate) fn malformed(context: &'static str, message: String) -> Self {
        ClientError::Encoding {
            context,
            source: message.into(),
        }
    }

    pub(crate) fn unsuitable(key: &str, reason: impl Into<String>) -> Self {
        ClientError::UnsuitableKey {
            key: key.to_owned(),
            reason: reason.into(),
        }
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
    use std::error::Error;

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
    fn a_missing_key_has_one_shape_and_status() {
        let err = ClientError::KeyNotFound("k".to_owned());
        assert_eq!(err.status(), Some(ResponseStatus::PsaErrorDoesNotExist));
        assert_eq!(err.to_string(), "key \"k\" does not exist");
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
    fn causes_are_sources_and_not_repeated_in_messages() {
        let err = ClientError::io(
            "connecting to /x.sock",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(err.to_string(), "connecting to /x.sock");
        let source = err.source().expect("the i/o error is the source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());

        let err = ClientError::from(ProtocolError::UnknownStatus(7777));
        assert_eq!(err.to_string(), "invalid response from the service");
        assert_eq!(
            err.source().expect("source").to_string(),
            "unknown response status 7777"
        );

        let der_err = der::Error::from(der::ErrorKind::Failed);
        let err = ClientError::encoding("a signature")(der_err);
        assert_eq!(err.to_string(), "encoding error: a signature");
        assert!(err.source().is_some());
    }
}
