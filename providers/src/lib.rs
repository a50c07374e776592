//! Keyward's provider layer: what a crypto backend must implement (the backends are crates of
//! their own under `providers/`, e.g. `keyward-provider-software`).
//!
//! A provider is a small set of traits, one per PSA operation family (key management, signing,
//! asymmetric encryption, AEAD, cipher, MAC, hash, random, key agreement), gathered by
//! [`Provider::families`]. Which families a provider has is data ([`Families`]), and the opcodes it
//! serves are derived from one table ([`provider::FAMILY_OPCODES`]), so nothing here is a wall
//! of "not supported" default methods.
//!
//! Providers never see sockets, credentials or key names: the service resolves a key name to the
//! opaque [`KeyHandle`] it stored when the key was created and hands it back in a [`KeyRef`],
//! together with the key's attributes. The PSA policy check ([`policy::authorize`]) happens once,
//! in the service, before any provider is called. Errors are semantic ([`ProviderError`]); the
//! service maps them to wire statuses.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")
)]

pub mod aead;
pub mod asym_encrypt;
pub mod asym_sign;
pub mod cipher;
pub mod hash;
pub mod key_agreement;
pub mod key_management;
pub mod mac;
pub mod policy;
pub mod provider;
pub mod random;

use keyward_protocol::psa::KeyAttributes;

pub use aead::AeadCrypt;
pub use asym_encrypt::AsymmetricCrypt;
pub use asym_sign::AsymmetricSign;
pub use cipher::CipherCrypt;
pub use hash::HashOps;
pub use key_agreement::KeyAgreementOps;
pub use key_management::{ImportedKey, KeyManagement};
pub use keyward_protocol::ops::{CheckType, ProviderInfo, Secret};
pub use mac::MacOps;
pub use provider::{Families, Family, Provider, FAMILY_OPCODES};
pub use random::RandomSource;

/// Opaque bytes a provider returns for a key it created. The service persists them (SQLite key
/// store) and passes them back unchanged in a [`KeyRef`]. What they mean is the provider's
/// business: a wrapped key blob, a PKCS#11 object id, a TPM key context.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHandle(pub Vec<u8>);

impl std::fmt::Debug for KeyHandle {
    // A handle may be wrapped key material: show only its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyHandle({} bytes)", self.0.len())
    }
}

impl AsRef<[u8]> for KeyHandle {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A stored key as the service hands it to a provider: its handle and the attributes recorded
/// with it. Providers that bind attributes to the handle must refuse a mismatch.
#[derive(Clone, Copy)]
pub struct KeyRef<'a> {
    pub handle: &'a [u8],
    pub attributes: &'a KeyAttributes,
}

impl std::fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRef")
            .field("handle_len", &self.handle.len())
            .field("attributes", self.attributes)
            .finish()
    }
}

/// Why a provider operation failed, in PSA terms. The service maps each variant to a wire
/// status exactly once; the strings carry context for logs, never secret material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
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
    /// The device behind the provider failed.
    #[error("hardware failure: {0}")]
    HardwareFailure(String),
    /// Provider-side storage failed.
    #[error("storage failure: {0}")]
    StorageFailure(String),
    /// Anything else (an internal error that should not happen).
    #[error("generic error: {0}")]
    GenericError(String),
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

    /// Shorthand for [`ProviderError::GenericError`].
    pub fn generic(what: impl Into<String>) -> Self {
        ProviderError::GenericError(what.into())
    }
}
