//! Software hashing: SHA-224/256/384/512, SHA-512/256 and SHA3-256/384/512. Comparison is
//! constant time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use keyward_protocol::psa::Hash;

use crate::{digest_algorithm, SoftwareProvider};
use keyward_providers::{HashOps, ProviderError};

impl HashOps for SoftwareProvider {
    fn hash_compute(&self, alg: Hash, input: &[u8]) -> Result<Vec<u8>, ProviderError> {
        Ok(digest::digest(digest_algorithm(alg)?, input)
            .as_ref()
            .to_vec())
    }

    fn hash_compare(&self, alg: Hash, input: &[u8], hash: &[u8]) -> Result<(), ProviderError> {
        let computed = digest::digest(digest_algorithm(alg)?, input);
        // A wrong length is a mismatch too (PSA: INVALID_SIGNATURE).
        verify_slices_are_equal(computed.as_ref(), hash)
            .map_err(|_| ProviderError::InvalidSignature)
    }
}
