//! Keyward's provider layer: what a crypto backend must implement (the backends are crates of
//! their own under `providers/`, e.g. `keyward-provider-software`).
//!
//! A provider is a small set of traits, one per PSA operation family (key management, signing,
//! asymmetric encryption, AEAD, cipher, MAC, hash, random, key agreement), gathered by
//! [`Provider::families`], which is how the service dispatches. What it serves is data: the exact
//! opcodes ([`Provider::opcodes`], defaulting to its families' opcodes from
//! [`provider::FAMILY_OPCODES`]) and the key types and algorithms ([`Provider::can_do`]), so
//! nothing here is a wall of "not supported" default methods. A provider also says how each
//! operation runs ([`Provider::execution`]: inline or blocking) and how much blocking work it
//! takes at once ([`Provider::max_blocking_in_flight`]); the service places the work.
//!
//! Providers never see sockets, credentials or key names: the service resolves a key name to the
//! opaque [`KeyHandle`] it stored when the key was created and hands it back in a [`KeyRef`],
//! together with the key's attributes. The PSA policy check ([`policy::authorize`], on a narrow
//! [`KeyUse`]) happens once, in the service, before any provider is called. Errors are semantic
//! ([`ProviderError`]) and keep the backend's cause as their source; the service maps them to
//! wire statuses.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")
)]

pub mod aead;
pub mod asym_encrypt;
pub mod asym_sign;
pub mod cipher;
pub mod error;
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
pub use error::{BackendError, ProviderError};
pub use hash::HashOps;
pub use key_agreement::KeyAgreementOps;
pub use key_management::{ImportedKey, KeyManagement};
pub use keyward_protocol::ops::{CheckType, ProviderInfo, Secret};
pub use mac::MacOps;
pub use policy::KeyUse;
pub use provider::{key_opcodes, Execution, Families, Family, Provider, FAMILY_OPCODES};
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
