//! keywardd's error type and the one place where its errors become wire statuses.
//!
//! Everything below the framework returns [`ServiceError`] with its cause; only
//! [`WireError::status`] decides what a client may learn. Details, with their whole cause chain,
//! stay in the logs.

use keyward_protocol::ResponseStatus;
use keyward_providers::ProviderError;
use keyward_server::{DispatchError, WireError};

use crate::key_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("provider {0} is not configured")]
    ProviderNotRegistered(u8),
    #[error("{0}")]
    WrongProvider(&'static str),
    #[error("key store")]
    Store(#[from] StoreError),
    #[error("no key with this name for this caller")]
    KeyDoesNotExist,
    #[error("provider")]
    Provider(#[from] ProviderError),
    #[error("invalid request: {0}")]
    InvalidArgument(String),
}

impl WireError for ServiceError {
    fn status(&self) -> ResponseStatus {
        use ResponseStatus as S;
        match self {
            ServiceError::Dispatch(err) => err.status(),
            ServiceError::ProviderNotRegistered(_) => S::ProviderNotRegistered,
            ServiceError::WrongProvider(_) => S::PsaErrorNotSupported,
            ServiceError::Store(StoreError::AlreadyExists) => S::PsaErrorAlreadyExists,
            ServiceError::Store(StoreError::TooManyKeys(_)) => S::PsaErrorInsufficientStorage,
            ServiceError::Store(StoreError::Corrupt(_)) => S::PsaErrorDataCorrupt,
            ServiceError::Store(_) => S::KeyInfoManagerError,
            ServiceError::KeyDoesNotExist => S::PsaErrorDoesNotExist,
            ServiceError::Provider(err) => provider_status(err),
            ServiceError::InvalidArgument(_) => S::PsaErrorInvalidArgument,
        }
    }
}

fn provider_status(err: &ProviderError) -> ResponseStatus {
    use ResponseStatus as S;
    match err {
        ProviderError::NotSupported(_) => S::PsaErrorNotSupported,
        ProviderError::NotPermitted(_) => S::PsaErrorNotPermitted,
        ProviderError::InvalidArgument(_) => S::PsaErrorInvalidArgument,
        ProviderError::InvalidSignature => S::PsaErrorInvalidSignature,
        ProviderError::InvalidPadding => S::PsaErrorInvalidPadding,
        ProviderError::BufferTooSmall => S::PsaErrorBufferTooSmall,
        ProviderError::DoesNotExist => S::PsaErrorDoesNotExist,
        ProviderError::CorruptionDetected => S::PsaErrorCorruptionDetected,
        ProviderError::InsufficientEntropy => S::PsaErrorInsufficientEntropy,
        ProviderError::HardwareFailure { .. } => S::PsaErrorHardwareFailure,
        ProviderError::CommunicationFailure { .. } => S::PsaErrorCommunicationFailure,
        ProviderError::StorageFailure { .. } => S::PsaErrorStorageFailure,
        ProviderError::GenericError { .. } => S::PsaErrorGenericError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_server::ErrorChain;

    #[derive(Debug, thiserror::Error)]
    #[error("CKR_DEVICE_ERROR (0x30)")]
    struct TokenError;

    #[test]
    fn a_backend_cause_reaches_the_log_but_not_the_client() {
        let err = ServiceError::from(ProviderError::hardware_from("signing", TokenError));
        assert_eq!(err.status(), ResponseStatus::PsaErrorHardwareFailure);
        let logged = ErrorChain(&err).to_string();
        assert!(logged.contains("CKR_DEVICE_ERROR (0x30)"), "{logged}");
    }
}
