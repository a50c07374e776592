//! keyward-trust: the trust relationships of the identity system (`docs/identity.md`), as a
//! library without I/O of its own (persistence is a trait; the one file implementation is
//! opt-in) that keywardd, keyward-idp and keyward-orchestrator share.
//!
//! - [`cert`]: root and intermediate certificates (ECDSA P-256), built through a
//!   [`CertSigner`] (the root key lives in keywardd) and verified against a pinned root.
//! - [`key`]: [`InMemoryKey`] (an intermediate's key, never exported), [`Kid`].
//! - [`store`]: the [`TrustStore`] seam and [`PinnedTrustStore`], its implementation (pinned
//!   root, current intermediate, epoch, persistence through [`TrustPersistence`]).
//! - [`jws`], [`payload`]: ES256 compact JWS and the signed definition / proof / removal
//!   payloads (orchestrator → IdP).
//! - [`token`]: JWT-SVID-shaped tokens (IdP → client → keywardd).
//! - [`spiffe`]: SPIFFE IDs.
//!
//! Every refusal is a typed error keeping its cause; each error type has a `refusal()` giving
//! the [`Refusal`] a daemon turns into a wire status, so the three daemons map alike.
//!
//! # The whole flow, in one process
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use keyward_trust::*;
//! use keyward_trust::persist::MemoryPersistence;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = SystemTime::now();
//! // Trusted side (the IdP): the root key would live in keywardd; any CertSigner will do.
//! let idp = ComponentName::new("keyward-idp")?;
//! let root_key = InMemoryKey::generate()?;
//! let root_der = build_root(&idp, &root_key, now)?;
//! let root = RootCertificate::from_der(&root_der, &CertPolicy::default())?;
//! let intermediate = issue_intermediate(&idp, &root, &root_key, Duration::from_secs(900), now)?;
//!
//! // Trusting side (keywardd): ShareTrustBundle twice.
//! let (store, _report) =
//!     PinnedTrustStore::open(Box::new(MemoryPersistence::default()), CertPolicy::default())?;
//! assert_eq!(store.share(&root_der, true)?, Shared::RootPinned);
//! assert_eq!(store.share(intermediate.certificate_der(), false)?, Shared::IntermediateReplaced);
//!
//! // FetchToken, then the JWT authenticator.
//! let app = SpiffeId::parse("spiffe://example.org/app")?;
//! let token = issue_token(&intermediate, &app, "keyward", Duration::from_secs(300), now)?;
//! let verified = verify_token(&store, token.token().as_bytes(), &TokenPolicy::default(), now)?;
//! assert_eq!(verified.spiffe_id(), &app);
//! assert_eq!(verified.epoch(), store.epoch());
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod cert;
mod json;
pub mod jws;
pub mod key;
pub mod payload;
pub mod persist;
pub mod spiffe;
pub mod store;
#[cfg(test)]
mod testing;
pub mod token;

pub use cert::{
    build_root, issue_intermediate, verify_intermediate, BuildError, CertError, CertPolicy,
    ComponentName, PendingIntermediate, RootCertificate, SigningIntermediate, UnsignedCertificate,
    VerifiedIntermediate,
};
pub use key::{CertSigner, InMemoryKey, KeyError, Kid};
pub use payload::{
    sign_payload, verify_definition, verify_proof, verify_removal, Definition, IdentityPolicy,
    PayloadError, PayloadPolicy, Proof, Removal, Selectors, Verified,
};
pub use spiffe::{SpiffeId, SpiffeIdError, TrustDomain};
pub use store::{
    PersistedTrust, PinnedTrustStore, Shared, TrustError, TrustPersistence, TrustStore, TrustedKey,
};
pub use token::{
    issue_token, verify_token, IssuedToken, TokenClaims, TokenError, TokenPolicy, VerifiedToken,
};

/// The wire outcome of a refusal, one per Keyward status this crate's checks can produce.
/// Daemons map it to `keyward_protocol::ResponseStatus` (the variant of the same name;
/// `Internal` is the daemon's choice of an internal-error status).
///
/// | Refusal | Status | Raised by |
/// |---|---|---|
/// | `RootAlreadyShared` | RootAlreadyShared (0x4B01) | a second root with another key |
/// | `TrustVerificationFailed` | TrustVerificationFailed (0x4B02) | a certificate or signature that does not verify; a JWS header other than exactly ES256/kid/typ; a refused token |
/// | `NoRootYet` | NoRootYet (0x4B06) | an intermediate before any root |
/// | `StaleIntermediate` | StaleIntermediate (0x4B07) | an expired intermediate; a kid that is unknown or superseded |
/// | `InvalidPayload` | InvalidPayload (0x4B0B) | a payload over 16 KiB or nested deeper than 8; schema, value, freshness or identity rules |
/// | `Internal` | the daemon's internal error | persistence failed; signing failed |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    RootAlreadyShared,
    TrustVerificationFailed,
    NoRootYet,
    StaleIntermediate,
    InvalidPayload,
    Internal,
}
