//! Hash family: compute and compare digests (no key involved).

use keyward_protocol::psa::Hash;

use crate::ProviderError;

/// One-shot hashing.
pub trait HashOps: Send + Sync {
    fn hash_compute(&self, alg: Hash, input: &[u8]) -> Result<Vec<u8>, ProviderError>;

    /// Compares `hash` with the digest of `input` in constant time: a mismatch is
    /// `Err(InvalidSignature)` (PSA's status for `psa_hash_compare`).
    fn hash_compare(&self, alg: Hash, input: &[u8], hash: &[u8]) -> Result<(), ProviderError>;
}
