//! Message authentication code family (HMAC, CMAC).

use keyward_protocol::psa::Mac;

use crate::{KeyRef, ProviderError};

/// One-shot MAC compute and verify.
pub trait MacOps: Send + Sync {
    fn mac_compute(
        &self,
        key: KeyRef<'_>,
        alg: Mac,
        input: &[u8],
    ) -> Result<Vec<u8>, ProviderError>;

    /// Verifies in constant time: a wrong MAC is `Err(InvalidSignature)`.
    fn mac_verify(
        &self,
        key: KeyRef<'_>,
        alg: Mac,
        input: &[u8],
        mac: &[u8],
    ) -> Result<(), ProviderError>;
}
