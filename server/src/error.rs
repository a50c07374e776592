//! Errors the framework itself produces while preparing a request (before or around a
//! daemon's handler), and the trait through which every daemon error becomes a wire status.
//!
//! Each daemon has one error type; it implements [`WireError`] (its single table from error to
//! status) and converts [`DispatchError`] into itself, so statuses are decided in one place per
//! daemon and causes are kept for the log.

use keyward_protocol::codec::CodecError;
use keyward_protocol::ResponseStatus;

use crate::auth::AuthError;
use crate::exec::ExecError;
use crate::tenants::ShareError;

/// What a client may learn about an error: its wire status.
pub trait WireError: std::error::Error + Send + 'static {
    /// The status sent to the client (stock clients get the nearest Parsec status).
    fn status(&self) -> ResponseStatus;
}

/// Failures of the framework's own steps.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    #[error("this operation needs an authenticated caller")]
    NotAuthenticated,
    #[error("this operation is for admins only")]
    NotAdmin,
    #[error("this operation is only accepted from the configured trusted peer (uid {uid})")]
    NotTrustedPeer { uid: u32 },
    #[error("this operation needs the connection's peer credentials")]
    NoPeerCredentials,
    #[error("operation {0:?} is not served by this daemon")]
    NotServed(keyward_protocol::Opcode),
    #[error("request body: {0}")]
    Codec(#[from] CodecError),
    #[error("the response would exceed the configured limit of {0} bytes")]
    ResponseTooLarge(u32),
    #[error("memory for this request: {0}")]
    Memory(#[from] ShareError),
    #[error("execution: {0}")]
    Exec(#[from] ExecError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl WireError for DispatchError {
    fn status(&self) -> ResponseStatus {
        use ResponseStatus as S;
        match self {
            DispatchError::Auth(AuthError::NotEnabled(_)) => S::AuthenticatorNotRegistered,
            DispatchError::Auth(_) => S::AuthenticationError,
            DispatchError::NotAuthenticated | DispatchError::NoPeerCredentials => {
                S::NotAuthenticated
            }
            DispatchError::NotAdmin => S::AdminOperation,
            DispatchError::NotTrustedPeer { .. } => S::NotTrustedSharer,
            DispatchError::NotServed(_) => S::PsaErrorNotSupported,
            DispatchError::Codec(err) => err.status(),
            DispatchError::ResponseTooLarge(_) => S::ResponseTooLarge,
            DispatchError::Memory(_) => S::PsaErrorInsufficientMemory,
            DispatchError::Exec(ExecError::Busy { .. } | ExecError::Deadline { .. }) => S::Busy,
            DispatchError::Exec(ExecError::Cancelled) => S::ConnectionError,
            DispatchError::Exec(_) | DispatchError::Internal(_) => S::PsaErrorGenericError,
        }
    }
}

/// Displays an error with its whole `source()` chain ("a: b: c"), so a backend's own code (a
/// PKCS#11 `CKR_*`, a TPM return code) reaches the log line.
#[derive(Debug)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("CKR_DEVICE_REMOVED")]
    struct Inner;

    #[test]
    fn the_chain_shows_every_cause() {
        assert_eq!(
            ErrorChain(&Outer(Inner)).to_string(),
            "outer: CKR_DEVICE_REMOVED"
        );
    }
}
