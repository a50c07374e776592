//! Software random bytes from aws-lc's DRBG.

use keyward_protocol::ops::Secret;
use zeroize::Zeroizing;

use crate::SoftwareProvider;
use keyward_providers::{ProviderError, RandomSource};

/// A backstop against absurd sizes should a caller forget to bound them (the service bounds
/// requests by its response size limit, which is far smaller).
pub const MAX_RANDOM_LEN: usize = 16 * 1024 * 1024;

impl RandomSource for SoftwareProvider {
    fn generate_random(&self, size: usize) -> Result<Secret, ProviderError> {
        if size > MAX_RANDOM_LEN {
            return Err(ProviderError::invalid(format!(
                "at most {MAX_RANDOM_LEN} random bytes per request"
            )));
        }
        let mut bytes = Zeroizing::new(vec![0u8; size]);
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ProviderError::InsufficientEntropy)?;
        Ok(bytes)
    }
}
