//! Elliptic-curve operations aws-lc-rs does not offer, with the RustCrypto curve crates:
//! everything on the Brainpool curves (brainpoolP256r1, brainpoolP384r1: ECDSA and ECDH, with
//! `bp256`/`bp384`), and deterministic ECDSA (RFC 6979) on every Weierstrass curve (P-256 and
//! P-384 too, with `p256`/`p384`), whose HMAC-DRBG uses the request's hash as PSA's
//! `PSA_ALG_DETERMINISTIC_ECDSA(hash)` specifies (`ecdsa::hazmat::sign_prehashed_rfc6979`).
//!
//! Randomized ECDSA on Brainpool curves uses the same generator with 32 fresh random bytes as
//! its additional input (RFC 6979 §3.6): the nonce is then unpredictable and still safe if the
//! random source fails. Keys are in the PSA formats: the private scalar big-endian, the public
//! key an uncompressed SEC1 point, signatures `r || s`.

use ecdsa::signature::hazmat::PrehashVerifier;
use elliptic_curve::sec1::ToSec1Point;
use elliptic_curve::{PublicKey, SecretKey};
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::Hash;
use zeroize::Zeroizing;

use crate::Curve;
use keyward_providers::ProviderError;

/// Runs `$body` with `$C` bound to the RustCrypto curve type of a Weierstrass `Curve`.
macro_rules! with_curve {
    ($curve:expr, $C:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                type $C = p256::NistP256;
                $body
            }
            Curve::P384 => {
                type $C = p384::NistP384;
                $body
            }
            Curve::Bp256 => {
                type $C = bp256::BrainpoolP256r1;
                $body
            }
            Curve::Bp384 => {
                type $C = bp384::BrainpoolP384r1;
                $body
            }
            Curve::X25519 => Err(ProviderError::generic(
                "X25519 is not a Weierstrass curve (no RustCrypto path)",
            )),
        }
    };
}

/// Checks that `scalar` is a valid private key of `curve` (in `1..n`, of the curve's size).
pub(crate) fn validate_scalar(curve: Curve, scalar: &[u8]) -> Result<(), ProviderError> {
    with_curve!(curve, C => SecretKey::<C>::from_slice(scalar).map(drop).map_err(|_| {
        ProviderError::invalid("the scalar is not a valid private key for the curve")
    }))
}

/// A new private scalar: random bytes of the curve's size, drawn again in the (negligible)
/// case that they are not in `1..n`.
pub(crate) fn generate_scalar(curve: Curve) -> Result<Secret, ProviderError> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(vec![0u8; curve.scalar_len()]);
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ProviderError::InsufficientEntropy)?;
        if validate_scalar(curve, &bytes).is_ok() {
            return Ok(bytes);
        }
    }
    Err(ProviderError::InsufficientEntropy)
}

/// The uncompressed public point `04 || X || Y` of a private scalar.
pub(crate) fn public_point(curve: Curve, scalar: &[u8]) -> Result<Vec<u8>, ProviderError> {
    with_curve!(curve, C => {
        let secret =
            SecretKey::<C>::from_slice(scalar).map_err(|_| ProviderError::CorruptionDetected)?;
        Ok(secret.public_key().to_sec1_point(false).as_bytes().to_vec())
    })
}

/// Checks that `point` is an uncompressed point on `curve` (not the identity).
pub(crate) fn validate_point(curve: Curve, point: &[u8]) -> Result<(), ProviderError> {
    if point.len() != curve.point_len() || point.first() != Some(&0x04) {
        return Err(ProviderError::invalid(
            "an EC public key is an uncompressed point 04 || X || Y",
        ));
    }
    with_curve!(curve, C => PublicKey::<C>::from_sec1_bytes(point)
        .map(drop)
        .map_err(|_| ProviderError::invalid("the point is not on the curve")))
}

/// ECDSA signature `r || s` over a hash. `deterministic` names the hash of RFC 6979's
/// HMAC-DRBG; `None` signs with a hedged random nonce.
pub(crate) fn sign(
    curve: Curve,
    scalar: &[u8],
    hash: &[u8],
    deterministic: Option<Hash>,
) -> Result<Vec<u8>, ProviderError> {
    let mut extra = Zeroizing::new([0u8; 32]);
    if deterministic.is_none() {
        aws_lc_rs::rand::fill(&mut *extra).map_err(|_| ProviderError::InsufficientEntropy)?;
    }
    let ad: &[u8] = if deterministic.is_some() {
        &[]
    } else {
        &*extra
    };
    with_curve!(curve, C => {
        let secret =
            SecretKey::<C>::from_slice(scalar).map_err(|_| ProviderError::CorruptionDetected)?;
        let d = secret.to_nonzero_scalar();
        let (signature, _) = match deterministic.unwrap_or(Hash::Sha256) {
            Hash::Sha256 => ecdsa::hazmat::sign_prehashed_rfc6979::<C, sha2::Sha256>(&d, hash, ad),
            Hash::Sha384 => ecdsa::hazmat::sign_prehashed_rfc6979::<C, sha2::Sha384>(&d, hash, ad),
            Hash::Sha512 => ecdsa::hazmat::sign_prehashed_rfc6979::<C, sha2::Sha512>(&d, hash, ad),
            other => {
                return Err(ProviderError::not_supported(format!(
                    "deterministic ECDSA with {other:?}"
                )))
            }
        };
        Ok(signature.to_bytes().to_vec())
    })
}

/// Verifies an ECDSA signature `r || s` over a hash: `Err(InvalidSignature)` when it does not.
pub(crate) fn verify(
    curve: Curve,
    point: &[u8],
    hash: &[u8],
    signature: &[u8],
) -> Result<(), ProviderError> {
    if signature.len() != 2 * curve.scalar_len() {
        return Err(ProviderError::InvalidSignature);
    }
    with_curve!(curve, C => {
        let key = ecdsa::VerifyingKey::<C>::from_sec1_bytes(point)
            .map_err(|_| ProviderError::CorruptionDetected)?;
        let signature = ecdsa::Signature::<C>::from_slice(signature)
            .map_err(|_| ProviderError::InvalidSignature)?;
        key.verify_prehash(hash, &signature)
            .map_err(|_| ProviderError::InvalidSignature)
    })
}

/// Raw ECDH: the x-coordinate of `scalar × peer`.
pub(crate) fn ecdh(curve: Curve, scalar: &[u8], peer: &[u8]) -> Result<Secret, ProviderError> {
    validate_point(curve, peer).map_err(|_| {
        ProviderError::invalid("the peer key must be an uncompressed point on the key's curve")
    })?;
    with_curve!(curve, C => {
        let secret =
            SecretKey::<C>::from_slice(scalar).map_err(|_| ProviderError::CorruptionDetected)?;
        let public = PublicKey::<C>::from_sec1_bytes(peer)
            .map_err(|_| ProviderError::invalid("the peer key is not a valid point"))?;
        let shared =
            elliptic_curve::ecdh::diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
        Ok(Zeroizing::new(shared.raw_secret_bytes().to_vec()))
    })
}
