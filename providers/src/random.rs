//! Random family: bytes from the provider's random generator.

use keyward_protocol::ops::Secret;

use crate::ProviderError;

/// A source of cryptographically secure random bytes. The service bounds `size` by its response
/// size limit before calling.
pub trait RandomSource: Send + Sync {
    fn generate_random(&self, size: usize) -> Result<Secret, ProviderError>;
}
