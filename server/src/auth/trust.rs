//! The trust-store seam: where a daemon keeps the certificates a trusted component shared with
//! it (`ShareTrustBundle`: a root once, then rotating intermediates), and where whatever
//! verifies that component's signatures (the JWT authenticator, the identity provider's payload
//! checks) looks up the key to verify with. One value is held by both sides, so an intermediate
//! that is replaced stops verifying anything at once.
//!
//! This crate defines the contract only; certificate parsing and verification live with the
//! daemons that implement it.

use std::time::SystemTime;

/// A verification key the trust store currently accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key's identifier as signatures name it (JWS `kid`).
    pub kid: String,
    /// The public key, DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// Signatures by this key are not valid after this instant (the certificate's notAfter).
    pub not_after: SystemTime,
}

/// Why a shared certificate was refused.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("a different root has already been shared")]
    RootAlreadyShared,
    #[error("no root has been shared yet")]
    NoRoot,
    #[error("certificate refused: {0}")]
    Invalid(String),
}

/// Trust anchors shared by one trusted component.
pub trait TrustStore: Send + Sync {
    /// Accepts a root certificate (once; the same root again is an idempotent success) or an
    /// intermediate verified against the root, which replaces the previous intermediate.
    fn share(&self, certificate_der: &[u8], is_root: bool) -> Result<(), TrustError>;

    /// The key currently trusted under `kid`, if any.
    fn verifying_key(&self, kid: &str) -> Option<TrustedKey>;

    /// Changes every time the set of trusted keys changes, so caches of verified signatures
    /// can be dropped at once.
    fn epoch(&self) -> u64;
}
