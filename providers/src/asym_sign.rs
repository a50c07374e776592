//! Asymmetric signature family: sign and verify hashes and messages.

use keyward_protocol::psa::AsymmetricSignature;

use crate::{KeyRef, ProviderError};

/// Signing and verification with asymmetric keys. Signatures use the PSA formats (ECDSA: raw
/// `r || s`, each left-padded to the curve size; RSA: modulus-sized big-endian).
///
/// A provider that can only sign hashes answers `NotSupported` from the `*_message` methods and
/// leaves their opcodes out of [`Provider::opcodes`](crate::Provider::opcodes); the service then
/// derives them from a hash and `sign_hash` / `verify_hash` (see [`crate::Provider`]).
pub trait AsymmetricSign: Send + Sync {
    /// Signs a precomputed hash; `hash` must be the output length of `alg`'s hash.
    fn sign_hash(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        hash: &[u8],
    ) -> Result<Vec<u8>, ProviderError>;

    /// Verifies a signature of a precomputed hash: `Err(InvalidSignature)` when it does not verify.
    fn verify_hash(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        hash: &[u8],
        signature: &[u8],
    ) -> Result<(), ProviderError>;

    /// Hashes `message` with `alg`'s hash and signs it.
    fn sign_message(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        message: &[u8],
    ) -> Result<Vec<u8>, ProviderError>;

    /// Verifies a signature of `message`: `Err(InvalidSignature)` when it does not verify.
    fn verify_message(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), ProviderError>;
}
