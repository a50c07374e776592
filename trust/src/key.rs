//! Signing keys: the [`CertSigner`] seam through which certificates get signed (the root key
//! lives inside keywardd and signs through SignHash), the [`InMemoryKey`] every intermediate
//! is (a fresh aws-lc-rs P-256 key pair that never leaves process memory), and the [`Kid`]
//! derived from a public key.

use std::fmt;

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Length of a [`Kid`] in characters.
pub const KID_LEN: usize = 22;

/// Signs certificates with an ECDSA P-256 key the caller may not hold itself.
///
/// The certificate code computes the SHA-256 digest of the to-be-signed bytes and asks for a
/// signature over it, which is exactly keywardd's SignHash with `ECDSA(SHA-256)`. The
/// signature comes back **raw**: the 64-byte `r || s` PSA produces (each half big-endian,
/// zero-padded to 32 bytes); the certificate code converts it to the DER `ECDSA-Sig-Value`
/// X.509 carries and checks it against [`CertSigner::public_key_spki`] before using it.
///
/// Callers in async code can use the two-step form instead
/// ([`crate::cert::UnsignedCertificate`]): take the digest, sign it however, then assemble.
pub trait CertSigner {
    /// The signer's own error, kept as the source of [`crate::cert::BuildError::Signer`].
    type Error: std::error::Error + Send + Sync + 'static;

    /// The signing key's public key as DER `SubjectPublicKeyInfo` (ECDSA P-256). keywardd's
    /// ExportPublicKey gives the uncompressed point; [`crate::cert::p256_spki_from_point`]
    /// turns it into this.
    fn public_key_spki(&self) -> Vec<u8>;

    /// Signs a SHA-256 digest with ECDSA P-256, returning raw `r || s` (64 bytes).
    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, Self::Error>;
}

/// Key identifier: `base64url-nopad(SHA-256(SubjectPublicKeyInfo DER))[..22]` (132 bits), the
/// same in JWS and JWT headers and in the SPIFFE JWKS.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(String);

impl Kid {
    /// The kid of a public key given as DER `SubjectPublicKeyInfo`. Hash the canonical
    /// encoding (aws-lc's, which [`InMemoryKey`] and certificate verification both use) so
    /// signer and verifier agree.
    pub fn of_spki(spki_der: &[u8]) -> Kid {
        let hash = digest::digest(&digest::SHA256, spki_der);
        let mut text = URL_SAFE_NO_PAD.encode(hash.as_ref());
        text.truncate(KID_LEN);
        Kid(text)
    }

    /// The kid as it appears in headers.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({})", self.0)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Kid {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// Why a key operation failed (aws-lc reports no detail).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("generating an ECDSA P-256 key pair failed")]
    Generate(#[source] aws_lc_rs::error::Unspecified),
    #[error("encoding the public key failed")]
    PublicKey(#[source] aws_lc_rs::error::Unspecified),
    #[error("ECDSA signing failed")]
    Sign(#[source] aws_lc_rs::error::Unspecified),
}

/// An ECDSA P-256 key pair generated in process memory: an intermediate's key.
///
/// There is no way to export the private key, and no `Clone`: the key exists once, and aws-lc
/// wipes its memory when the value is dropped. Signatures are raw `r || s`, which is both JWS
/// ES256's format and [`CertSigner`]'s.
pub struct InMemoryKey {
    pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
    kid: Kid,
}

impl InMemoryKey {
    /// Generates a fresh key pair.
    pub fn generate() -> Result<Self, KeyError> {
        let pair =
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(KeyError::Generate)?;
        let spki_der = pair
            .public_key()
            .as_der()
            .map_err(KeyError::PublicKey)?
            .as_ref()
            .to_vec();
        let kid = Kid::of_spki(&spki_der);
        Ok(InMemoryKey {
            pair,
            spki_der,
            kid,
        })
    }

    /// The public key, DER `SubjectPublicKeyInfo`.
    pub fn public_key_spki(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key's [`Kid`].
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// Signs `message` (ECDSA P-256 over SHA-256 of it), returning raw `r || s`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(KeyError::Sign)?;
        raw_signature(signature.as_ref())
    }

    /// Signs a SHA-256 digest computed elsewhere, returning raw `r || s`.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 64], KeyError> {
        let digest = Digest::import_less_safe(digest, &digest::SHA256).map_err(KeyError::Sign)?;
        let signature = self.pair.sign_digest(&digest).map_err(KeyError::Sign)?;
        raw_signature(signature.as_ref())
    }
}

/// The fixed-format signature aws-lc returns is always 64 bytes for P-256.
fn raw_signature(bytes: &[u8]) -> Result<[u8; 64], KeyError> {
    bytes
        .try_into()
        .map_err(|_| KeyError::Sign(aws_lc_rs::error::Unspecified))
}

impl fmt::Debug for InMemoryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl CertSigner for InMemoryKey {
    type Error = KeyError;

    fn public_key_spki(&self) -> Vec<u8> {
        self.spki_der.clone()
    }

    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        Ok(self.sign_digest(digest)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    #[test]
    fn kid_is_truncated_base64url_of_the_spki_hash() {
        // Known answer: SHA-256("") = e3b0c442…, base64url "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU".
        assert_eq!(Kid::of_spki(b"").as_str(), "47DEQpj8HBSa-_TImW-5JC");
        // SHA-256("abc") = ba7816bf…, base64url "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0".
        assert_eq!(Kid::of_spki(b"abc").as_str(), "ungWv48Bz-pBQUDeXa4iI7");
        assert_eq!(Kid::of_spki(b"abc").as_str().len(), KID_LEN);
    }

    #[test]
    fn generated_keys_are_distinct_and_sign_verifiably() {
        let a = InMemoryKey::generate().expect("key");
        let b = InMemoryKey::generate().expect("key");
        assert_ne!(a.kid(), b.kid());
        assert_eq!(a.kid(), &Kid::of_spki(a.public_key_spki()));
        let message = b"signed bytes";
        let signature = a.sign(message).expect("sign");
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, a.public_key_spki());
        public.verify(message, &signature).expect("verifies");
        assert!(public.verify(b"other bytes", &signature).is_err());
        let by_b = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, b.public_key_spki());
        assert!(by_b.verify(message, &signature).is_err());
    }

    #[test]
    fn digest_signing_matches_message_signing() {
        let key = InMemoryKey::generate().expect("key");
        let message = b"to be signed";
        let hash: [u8; 32] = digest::digest(&digest::SHA256, message)
            .as_ref()
            .try_into()
            .expect("32 bytes");
        let signature = key.sign_sha256_digest(&hash).expect("sign");
        assert_eq!(signature.len(), 64);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key_spki())
            .verify(message, &signature)
            .expect("a signature over the digest verifies over the message");
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = InMemoryKey::generate().expect("key");
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid().as_str()), "{shown}");
        assert!(!shown.contains("pair"), "{shown}");
    }
}
