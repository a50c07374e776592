//! Software hashing: SHA-224/256/384/512, SHA-512/256 and SHA3-256/384/512 on aws-lc-rs, and
//! RIPEMD-160 on RustCrypto `ripemd` (aws-lc-rs has no RIPEMD). Comparison is constant time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use keyward_protocol::psa::Hash;
use ripemd::Digest as _;

use crate::{digest_algorithm, SoftwareProvider};
use keyward_providers::{HashOps, ProviderError};

/// The digest of `input` with `alg`, for every hash the provider supports (capabilities'
/// `HASHES`): also what signing a message hashes with.
pub(crate) fn hash_bytes(alg: Hash, input: &[u8]) -> Result<Vec<u8>, ProviderError> {
    match alg {
        Hash::Ripemd160 => Ok(ripemd::Ripemd160::digest(input).to_vec()),
        other => Ok(digest::digest(digest_algorithm(other)?, input)
            .as_ref()
            .to_vec()),
    }
}

impl HashOps for SoftwareProvider {
    fn hash_compute(&self, alg: Hash, input: &[u8]) -> Result<Vec<u8>, ProviderError> {
        hash_bytes(alg, input)
    }

    fn hash_compare(&self, alg: Hash, input: &[u8], hash: &[u8]) -> Result<(), ProviderError> {
        let computed = hash_bytes(alg, input)?;
        // A wrong length is a mismatch too (PSA: INVALID_SIGNATURE).
        verify_slices_are_equal(&computed, hash).map_err(|_| ProviderError::InvalidSignature)
    }
}
