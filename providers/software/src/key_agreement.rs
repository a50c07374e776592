//! Software raw key agreement: ECDH on P-256 and P-384 and X25519 on aws-lc-rs, ECDH on the
//! Brainpool curves on RustCrypto (`rc_ecc.rs`). PSA formats: the shared secret is the
//! x-coordinate (X25519: the u-coordinate, RFC 7748), the peer key an uncompressed point
//! (X25519: 32 bytes).

use aws_lc_rs::agreement::{self, UnparsedPublicKey};
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{KeyType, RawKeyAgreement};
use zeroize::Zeroizing;

use crate::cache::{Parsed, Purpose};
use crate::{rc_ecc, Curve, SoftwareProvider};
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
        if !curve.on_aws_lc() {
            let scalar = self.open(key)?;
            return rc_ecc::ecdh(curve, &scalar, peer_key);
        }
        let peer_ok = match curve {
            // X25519 public keys are 32 bytes (RFC 7748).
            Curve::X25519 => peer_key.len() == curve.point_len(),
            _ => peer_key.len() == curve.point_len() && peer_key.first() == Some(&0x04),
        };
        if !peer_ok {
            return Err(ProviderError::invalid(
                "the peer key must be a public key on the key's curve (an uncompressed point \
                 04 || X || Y, or 32 bytes for X25519)",
            ));
        }
        let algorithm = curve.ecdh()?;
        let parsed = self.parsed(key, Purpose::Ecdh, |scalar| {
            agreement::PrivateKey::from_private_key(algorithm, scalar)
                .map(Parsed::Ecdh)
                .map_err(|_| ProviderError::CorruptionDetected)
        })?;
        let Parsed::Ecdh(private) = &*parsed else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        agreement::agree(
            private,
            UnparsedPublicKey::new(algorithm, peer_key),
            ProviderError::invalid("the peer key is not a valid point on the curve"),
            |secret| Ok(Zeroizing::new(secret.to_vec())),
        )
    }
}
