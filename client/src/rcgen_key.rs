//! rcgen integration (feature `rcgen`): [`RcgenKey`] is an `rcgen::SigningKey` whose private
//! key stays in the service, so certificates (a CA's included) are issued by a keywardd key;
//! [`PublicKey`] is an `rcgen::PublicKeyData`, the subject of a certificate.

use rcgen::SignatureAlgorithm;

use crate::error::{ClientError, Result};
use crate::signing::{PublicKey, SignatureScheme, SigningKey};

/// A [`SigningKey`] for rcgen: issues certificates (and self-signed CA certificates).
///
/// rcgen signs ECDSA P-256 with SHA-256, P-384 with SHA-384, and RSA PKCS#1 v1.5 with SHA-256,
/// SHA-384 or SHA-512; it has no RSA-PSS. Such keys can still be the *subject* of a
/// certificate (through their [`PublicKey`]).
#[derive(Debug, Clone)]
pub struct RcgenKey {
    key: SigningKey,
    algorithm: &'static SignatureAlgorithm,
}

impl RcgenKey {
    /// Wraps `key`; refused when rcgen cannot sign with its scheme.
    pub fn new(key: SigningKey) -> Result<Self> {
        use SignatureScheme as S;
        let algorithm = match (key.scheme(), key.info().attributes.bits) {
            (S::EcdsaSha256, 256) => &rcgen::PKCS_ECDSA_P256_SHA256,
            (S::EcdsaSha384, 384) => &rcgen::PKCS_ECDSA_P384_SHA384,
            (S::RsaPkcs1v15Sha256, _) => &rcgen::PKCS_RSA_SHA256,
            (S::RsaPkcs1v15Sha384, _) => &rcgen::PKCS_RSA_SHA384,
            (S::RsaPkcs1v15Sha512, _) => &rcgen::PKCS_RSA_SHA512,
            (scheme, bits) => {
                return Err(ClientError::unsuitable(
                    key.name(),
                    format!("rcgen cannot sign with {scheme:?} on a {bits}-bit key"),
                ))
            }
        };
        Ok(RcgenKey { key, algorithm })
    }

    /// The key this wraps.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl rcgen::PublicKeyData for RcgenKey {
    fn der_bytes(&self) -> &[u8] {
        self.key.public_key().raw_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }

    fn subject_public_key_info(&self) -> Vec<u8> {
        self.key.public_key().to_der().to_vec()
    }
}

impl rcgen::SigningKey for RcgenKey {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        // rcgen's error has no room for a cause; the service logs the refusal.
        self.key
            .sign_message(message)
            .map(|signature| signature.as_bytes().to_vec())
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// The certificate subject's key. rcgen takes the SubjectPublicKeyInfo from
/// `subject_public_key_info`, which is given exactly; `algorithm` only labels the key type.
impl rcgen::PublicKeyData for PublicKey {
    fn der_bytes(&self) -> &[u8] {
        self.raw_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        use const_oid::db::rfc5912;
        match self.curve() {
            Some(curve) if curve == rfc5912::SECP_384_R_1 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Some(_) => &rcgen::PKCS_ECDSA_P256_SHA256,
            None if self.is_rsa() => &rcgen::PKCS_RSA_SHA256,
            None => &rcgen::PKCS_ED25519,
        }
    }

    fn subject_public_key_info(&self) -> Vec<u8> {
        self.to_der().to_vec()
    }
}
