//! [`ProviderError`]: why a provider operation failed, in PSA terms, keeping the backend's own
//! error (a PKCS#11 `CKR_*`, a TPM response code, an aws-lc-rs failure) as its source so the
//! service can log the whole chain while it decides the wire status from the variant alone.

use std::sync::Arc;

/// The cause of a backend failure as it came from the backend (an aws-lc-rs error, a PKCS#11
/// `CKR_*` code, a TPM response code), kept so the service can log the whole chain through
/// [`std::error::Error::source`]. Shared (`Arc`) so that [`ProviderError`] stays `Clone`.
pub type BackendError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Why a provider operation failed, in PSA terms. The service maps each variant to a wire
/// status exactly once; the strings carry context for logs, never secret material.
///
/// Variants for failures inside the backend (`HardwareFailure`, `CommunicationFailure`,
/// `StorageFailure`, `GenericError`) carry a context string and, when there is one, the
/// backend's own error as [`std::error::Error::source`]. Equality compares the variant and its
/// context, never the source (backend errors are rarely comparable).
#[derive(Debug, thiserror::Error, Clone)]
pub enum ProviderError {
    /// The algorithm, key type, size or operation is valid but this provider cannot do it.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The key's policy (usage flags or permitted algorithm) forbids the request.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The request or key data is malformed or inconsistent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A signature, MAC, hash or AEAD tag did not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A decryption found invalid padding.
    #[error("invalid padding")]
    InvalidPadding,
    /// An output would not fit the caller's limit.
    #[error("buffer too small")]
    BufferTooSmall,
    /// The key does not exist in the provider.
    #[error("key does not exist")]
    DoesNotExist,
    /// Stored key material failed an integrity check (e.g. a handle that does not authenticate
    /// under the master key with these attributes).
    #[error("corruption detected")]
    CorruptionDetected,
    /// The random generator could not produce output.
    #[error("insufficient entropy")]
    InsufficientEntropy,
    /// The device behind the provider failed (e.g. `CKR_DEVICE_ERROR`, a TPM `TPM_RC_FAILURE`).
    #[error("hardware failure: {context}")]
    HardwareFailure {
        context: String,
        #[source]
        source: Option<BackendError>,
    },
    /// The provider could not reach its device (e.g. `CKR_DEVICE_REMOVED`, a TCTI error).
    #[error("communication failure: {context}")]
    CommunicationFailure {
        context: String,
        #[source]
        source: Option<BackendError>,
    },
    /// Provider-side storage failed.
    #[error("storage failure: {context}")]
    StorageFailure {
        context: String,
        #[source]
        source: Option<BackendError>,
    },
    /// Anything else (an internal error that should not happen).
    #[error("generic error: {context}")]
    GenericError {
        context: String,
        #[source]
        source: Option<BackendError>,
    },
}

impl PartialEq for ProviderError {
    fn eq(&self, other: &Self) -> bool {
        use ProviderError as E;
        match (self, other) {
            (E::NotSupported(a), E::NotSupported(b))
            | (E::NotPermitted(a), E::NotPermitted(b))
            | (E::InvalidArgument(a), E::InvalidArgument(b))
            | (E::HardwareFailure { context: a, .. }, E::HardwareFailure { context: b, .. })
            | (
                E::CommunicationFailure { context: a, .. },
                E::CommunicationFailure { context: b, .. },
            )
            | (E::StorageFailure { context: a, .. }, E::StorageFailure { context: b, .. })
            | (E::GenericError { context: a, .. }, E::GenericError { context: b, .. }) => a == b,
            (E::InvalidSignature, E::InvalidSignature)
            | (E::InvalidPadding, E::InvalidPadding)
            | (E::BufferTooSmall, E::BufferTooSmall)
            | (E::DoesNotExist, E::DoesNotExist)
            | (E::CorruptionDetected, E::CorruptionDetected)
            | (E::InsufficientEntropy, E::InsufficientEntropy) => true,
            _ => false,
        }
    }
}

// The relation above is an equivalence (the source is ignored consistently).
impl Eq for ProviderError {}

fn backend(source: impl std::error::Error + Send + Sync + 'static) -> Option<BackendError> {
    Some(Arc::new(source))
}

impl ProviderError {
    /// Shorthand for [`ProviderError::NotSupported`].
    pub fn not_supported(what: impl Into<String>) -> Self {
        ProviderError::NotSupported(what.into())
    }

    /// Shorthand for [`ProviderError::InvalidArgument`].
    pub fn invalid(what: impl Into<String>) -> Self {
        ProviderError::InvalidArgument(what.into())
    }

    /// Shorthand for [`ProviderError::NotPermitted`].
    pub fn not_permitted(what: impl Into<String>) -> Self {
        ProviderError::NotPermitted(what.into())
    }

    /// [`ProviderError::GenericError`] without a source.
    pub fn generic(context: impl Into<String>) -> Self {
        ProviderError::GenericError {
            context: context.into(),
            source: None,
        }
    }

    /// [`ProviderError::GenericError`] keeping the backend's error as its source.
    pub fn generic_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ProviderError::GenericError {
            context: context.into(),
            source: backend(source),
        }
    }

    /// [`ProviderError::HardwareFailure`] without a source.
    pub fn hardware(context: impl Into<String>) -> Self {
        ProviderError::HardwareFailure {
            context: context.into(),
            source: None,
        }
    }

    /// [`ProviderError::HardwareFailure`] keeping the backend's error (e.g. a `CKR_*` or TPM
    /// return code) as its source.
    pub fn hardware_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ProviderError::HardwareFailure {
            context: context.into(),
            source: backend(source),
        }
    }

    /// [`ProviderError::CommunicationFailure`] without a source.
    pub fn communication(context: impl Into<String>) -> Self {
        ProviderError::CommunicationFailure {
            context: context.into(),
            source: None,
        }
    }

    /// [`ProviderError::CommunicationFailure`] keeping the backend's error as its source.
    pub fn communication_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ProviderError::CommunicationFailure {
            context: context.into(),
            source: backend(source),
        }
    }

    /// [`ProviderError::StorageFailure`] without a source.
    pub fn storage(context: impl Into<String>) -> Self {
        ProviderError::StorageFailure {
            context: context.into(),
            source: None,
        }
    }

    /// [`ProviderError::StorageFailure`] keeping the backend's error as its source.
    pub fn storage_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ProviderError::StorageFailure {
            context: context.into(),
            source: backend(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// Stands in for a backend's error type (e.g. a PKCS#11 return value).
    #[derive(Debug, thiserror::Error)]
    #[error("CKR_DEVICE_ERROR (0x30)")]
    struct FakeCkr;

    /// Every variant that wraps a backend failure, built by its `_from` constructor.
    fn with_sources() -> Vec<(&'static str, ProviderError)> {
        vec![
            (
                "hardware failure",
                ProviderError::hardware_from("C_Sign", FakeCkr),
            ),
            (
                "communication failure",
                ProviderError::communication_from("C_Sign", FakeCkr),
            ),
            (
                "storage failure",
                ProviderError::storage_from("C_Sign", FakeCkr),
            ),
            (
                "generic error",
                ProviderError::generic_from("C_Sign", FakeCkr),
            ),
        ]
    }

    #[test]
    fn the_backend_error_travels_through_source() {
        for (prefix, err) in with_sources() {
            assert_eq!(err.to_string(), format!("{prefix}: C_Sign"));
            let source = err.source().expect("the backend error is kept");
            assert_eq!(source.to_string(), "CKR_DEVICE_ERROR (0x30)", "{prefix}");
            // A clone shares the same cause.
            let cloned = err.clone();
            assert_eq!(
                cloned.source().map(ToString::to_string),
                Some("CKR_DEVICE_ERROR (0x30)".to_string())
            );
        }
    }

    #[test]
    fn shorthands_have_no_source() {
        let cases = [
            ProviderError::hardware("x"),
            ProviderError::communication("x"),
            ProviderError::storage("x"),
            ProviderError::generic("x"),
            ProviderError::not_supported("x"),
            ProviderError::invalid("x"),
            ProviderError::not_permitted("x"),
            ProviderError::InvalidSignature,
        ];
        for err in cases {
            assert!(err.source().is_none(), "{err:?}");
        }
    }

    #[test]
    fn equality_ignores_the_source_but_not_variant_or_context() {
        let cases: Vec<(ProviderError, ProviderError, bool)> = vec![
            (
                ProviderError::hardware_from("C_Sign", FakeCkr),
                ProviderError::hardware("C_Sign"),
                true,
            ),
            (
                ProviderError::hardware("C_Sign"),
                ProviderError::hardware("C_Verify"),
                false,
            ),
            (
                ProviderError::hardware("C_Sign"),
                ProviderError::storage("C_Sign"),
                false,
            ),
            (
                ProviderError::storage_from("write", FakeCkr),
                ProviderError::storage_from("write", FakeCkr),
                true,
            ),
            (
                ProviderError::communication("tcti"),
                ProviderError::generic("tcti"),
                false,
            ),
            (
                ProviderError::generic("a"),
                ProviderError::generic("a"),
                true,
            ),
            (
                ProviderError::not_supported("a"),
                ProviderError::invalid("a"),
                false,
            ),
            (
                ProviderError::not_permitted("a"),
                ProviderError::not_permitted("b"),
                false,
            ),
            (
                ProviderError::InvalidSignature,
                ProviderError::InvalidSignature,
                true,
            ),
            (
                ProviderError::InvalidSignature,
                ProviderError::InvalidPadding,
                false,
            ),
        ];
        for (a, b, equal) in cases {
            assert_eq!(a == b, equal, "{a:?} == {b:?}");
            assert_eq!(b == a, equal, "{b:?} == {a:?}");
        }
    }
}
