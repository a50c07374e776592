//! The service's error type and the one place where errors become wire statuses.
//!
//! Everything below the connection handler returns [`ServiceError`] with its cause; only
//! [`ServiceError::status`] decides what a client may learn. Details stay in the logs.

use keyward_protocol::codec::CodecError;
use keyward_protocol::ResponseStatus;
use keyward_providers::ProviderError;

use crate::authenticators::AuthError;
use crate::key_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    #[error("this operation needs an authenticated caller")]
    NotAuthenticated,
    #[error("this operation is for admins only")]
    NotAdmin,
    #[error("request body: {0}")]
    Codec(#[from] CodecError),
    #[error("provider {0} is not configured")]
    ProviderNotRegistered(u8),
    #[error("{0}")]
    WrongProvider(&'static str),
    #[error("key store: {0}")]
    Store(#[from] StoreError),
    #[error("no key with this name for this caller")]
    KeyDoesNotExist,
    #[error("provider: {0}")]
    Provider(#[from] ProviderError),
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    #[error("the response would exceed the configured limit of {0} bytes")]
    ResponseTooLarge(u32),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The wire status a client receives for this error.
    pub fn status(&self) -> ResponseStatus {
        use ResponseStatus as S;
        match self {
            ServiceError::Auth(AuthError::NotEnabled(_)) => S::AuthenticatorNotRegistered,
            ServiceError::Auth(_) => S::AuthenticationError,
            ServiceError::NotAuthenticated => S::NotAuthenticated,
            ServiceError::NotAdmin => S::AdminOperation,
            ServiceError::Codec(err) => err.status(),
            ServiceError::ProviderNotRegistered(_) => S::ProviderNotRegistered,
            ServiceError::WrongProvider(_) => S::PsaErrorNotSupported,
            ServiceError::Store(StoreError::AlreadyExists) => S::PsaErrorAlreadyExists,
            ServiceError::Store(StoreError::TooManyKeys(_)) => S::PsaErrorInsufficientStorage,
            ServiceError::Store(StoreError::Corrupt(_)) => S::PsaErrorDataCorrupt,
            ServiceError::Store(_) => S::KeyInfoManagerError,
            ServiceError::KeyDoesNotExist => S::PsaErrorDoesNotExist,
            ServiceError::Provider(err) => provider_status(err),
            ServiceError::InvalidArgument(_) => S::PsaErrorInvalidArgument,
            ServiceError::ResponseTooLarge(_) => S::ResponseTooLarge,
            ServiceError::Internal(_) => S::PsaErrorGenericError,
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
