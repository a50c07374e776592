//! Key agreement family: raw (EC)DH shared secrets.

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::RawKeyAgreement;

use crate::{KeyRef, ProviderError};

/// Raw key agreement with a stored private key and a peer's public key (PSA format: an
/// uncompressed SEC1 point for Weierstrass curves). The output is the raw shared secret (for
/// ECDH, the x-coordinate).
pub trait KeyAgreementOps: Send + Sync {
    fn raw_key_agreement(
        &self,
        key: KeyRef<'_>,
        alg: RawKeyAgreement,
        peer_key: &[u8],
    ) -> Result<Secret, ProviderError>;
}
