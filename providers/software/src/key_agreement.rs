//! Software raw ECDH on P-256 and P-384: the shared secret is the x-coordinate, the peer key
//! an uncompressed point (PSA formats).

use aws_lc_rs::agreement::{self, UnparsedPublicKey};
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{KeyType, RawKeyAgreement};
use zeroize::Zeroizing;

use crate::cache::{Parsed, Purpose};
use crate::{Curve, SoftwareProvider};
use keyward_providers::{KeyAgreementOps, KeyRef, ProviderError};

impl KeyAgreementOps for SoftwareProvider {
    fn raw_key_agreement(
        &self,
        key: KeyRef<'_>,
        alg: RawKeyAgreement,
        peer_key: &[u8],
    ) -> Result<Secret, ProviderError> {
        if alg == RawKeyAgreement::Ffdh {
            return Err(ProviderError::not_supported("finite-field Diffie-Hellman"));
        }
        if !matches!(key.attributes.key_type, KeyType::EccKeyPair { .. }) {
            return Err(ProviderError::invalid(
                "ECDH needs an elliptic-curve key pair",
            ));
        }
        let curve = Curve::of(key.attributes)?;
        if peer_key.len() != curve.point_len() || peer_key.first() != Some(&0x04) {
            return Err(ProviderError::invalid(
                "the peer key must be an uncompressed point 04 || X || Y on the key's curve",
            ));
        }
        let parsed = self.parsed(key, Purpose::Ecdh, |scalar| {
            agreement::PrivateKey::from_private_key(curve.ecdh(), scalar)
                .map(Parsed::Ecdh)
                .map_err(|_| ProviderError::CorruptionDetected)
        })?;
        let Parsed::Ecdh(private) = &*parsed else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        agreement::agree(
            private,
            UnparsedPublicKey::new(curve.ecdh(), peer_key),
            ProviderError::invalid("the peer key is not a valid point on the curve"),
            |secret| Ok(Zeroizing::new(secret.to_vec())),
        )
    }
}
