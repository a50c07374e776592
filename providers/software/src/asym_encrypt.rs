//! Software RSA encryption: PKCS#1 v1.5 and OAEP (SHA-1/256/384/512, MGF1 with the same hash).
//! Encryption works with a key pair or a public key; decryption needs the key pair. Keys below
//! 2048 bits (only with `min_rsa_bits` lowered) go to RustCrypto `rsa` (`rc_rsa.rs`).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    self, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::RsaKeyPair;
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{AsymmetricEncryption, Hash, KeyType};
use zeroize::Zeroizing;

use crate::cache::{Parsed, Purpose};
use crate::{internal, rc_rsa, SoftwareProvider};
use keyward_providers::{AsymmetricCrypt, KeyRef, ProviderError};

impl AsymmetricCrypt for SoftwareProvider {
    fn asymmetric_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricEncryption,
        plaintext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Vec<u8>, ProviderError> {
        let key_type = key.attributes.key_type;
        if !matches!(key_type, KeyType::RsaKeyPair | KeyType::RsaPublicKey) {
            return Err(ProviderError::invalid(
                "asymmetric encryption needs an RSA key",
            ));
        }
        self.check_rsa_size(key.attributes)?;
        let oaep = oaep_algorithm(alg, salt)?;
        if key.attributes.bits < 2048 {
            let parsed = self.rc_rsa_public(key)?;
            let Parsed::RcRsaPublic(public) = &*parsed else {
                return Err(ProviderError::generic("cache entry of the wrong kind"));
            };
            return rc_rsa::encrypt(public, oaep_hash(alg), plaintext, salt);
        }
        let public = self.public_key(key)?;
        let Parsed::Public(public_pkcs1) = &*public else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        let parsed = self.cached(key, Purpose::RsaEncrypt, || {
            encrypting_key(public_pkcs1).map(Parsed::RsaEncrypt)
        })?;
        let Parsed::RsaEncrypt(public) = &*parsed else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        let too_long = || ProviderError::invalid("plaintext too long for this key and padding");
        match oaep {
            Some(algorithm) => {
                let key = OaepPublicEncryptingKey::new(public.clone())
                    .map_err(internal("OAEP key setup failed"))?;
                if plaintext.len() > key.max_plaintext_size(algorithm) {
                    return Err(too_long());
                }
                let mut out = vec![0u8; key.ciphertext_size()];
                let len = key
                    .encrypt(algorithm, plaintext, &mut out, salt)
                    .map_err(internal("OAEP encryption failed"))?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            None => {
                let key = Pkcs1PublicEncryptingKey::new(public.clone())
                    .map_err(internal("PKCS#1 key setup failed"))?;
                if plaintext.len() > key.max_plaintext_size() {
                    return Err(too_long());
                }
                let mut out = vec![0u8; key.ciphertext_size()];
                let len = key
                    .encrypt(plaintext, &mut out)
                    .map_err(internal("PKCS#1 v1.5 encryption failed"))?
                    .len();
                out.truncate(len);
                Ok(out)
            }
        }
    }

    fn asymmetric_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricEncryption,
        ciphertext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Secret, ProviderError> {
        match key.attributes.key_type {
            KeyType::RsaKeyPair => {}
            KeyType::RsaPublicKey => {
                return Err(ProviderError::invalid(
                    "decryption needs the key pair, not a public key",
                ))
            }
            _ => {
                return Err(ProviderError::invalid(
                    "asymmetric decryption needs an RSA key",
                ))
            }
        }
        self.check_rsa_size(key.attributes)?;
        let oaep = oaep_algorithm(alg, salt)?;
        if key.attributes.bits < 2048 {
            let parsed = self.rc_rsa_private(key)?;
            let Parsed::RcRsaPrivate(private) = &*parsed else {
                return Err(ProviderError::generic("cache entry of the wrong kind"));
            };
            return rc_rsa::decrypt(private, oaep_hash(alg), ciphertext, salt);
        }
        let parsed = self.parsed(key, Purpose::RsaDecrypt, |der| {
            decrypting_key(der).map(Parsed::RsaDecrypt)
        })?;
        let Parsed::RsaDecrypt(private) = &*parsed else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        if ciphertext.len() != private.key_size_bytes() {
            return Err(ProviderError::invalid(
                "ciphertext length is not the modulus length",
            ));
        }
        let mut out = Zeroizing::new(vec![0u8; private.key_size_bytes()]);
        let len = match oaep {
            Some(algorithm) => {
                let key = OaepPrivateDecryptingKey::new(private.clone())
                    .map_err(internal("OAEP key setup failed"))?;
                key.decrypt(algorithm, ciphertext, &mut out, salt)
                    .map_err(|_| ProviderError::InvalidPadding)?
                    .len()
            }
            None => {
                let key = Pkcs1PrivateDecryptingKey::new(private.clone())
                    .map_err(internal("PKCS#1 key setup failed"))?;
                key.decrypt(ciphertext, &mut out)
                    .map_err(|_| ProviderError::InvalidPadding)?
                    .len()
            }
        };
        out.truncate(len);
        Ok(out)
    }
}

fn oaep_hash(alg: AsymmetricEncryption) -> Option<Hash> {
    match alg {
        AsymmetricEncryption::RsaPkcs1v15Crypt => None,
        AsymmetricEncryption::RsaOaep { hash_alg } => Some(hash_alg),
    }
}

/// `Some(OAEP algorithm)`, or `None` for PKCS#1 v1.5 (which takes no salt/label).
fn oaep_algorithm(
    alg: AsymmetricEncryption,
    salt: Option<&[u8]>,
) -> Result<Option<&'static OaepAlgorithm>, ProviderError> {
    match alg {
        AsymmetricEncryption::RsaPkcs1v15Crypt => {
            if salt.is_some_and(|s| !s.is_empty()) {
                return Err(ProviderError::invalid(
                    "PKCS#1 v1.5 encryption takes no salt",
                ));
            }
            Ok(None)
        }
        AsymmetricEncryption::RsaOaep { hash_alg } => Ok(Some(match hash_alg {
            Hash::Sha1 => &rsa::OAEP_SHA1_MGF1SHA1,
            Hash::Sha256 => &rsa::OAEP_SHA256_MGF1SHA256,
            Hash::Sha384 => &rsa::OAEP_SHA384_MGF1SHA384,
            Hash::Sha512 => &rsa::OAEP_SHA512_MGF1SHA512,
            other => return Err(ProviderError::not_supported(format!("OAEP with {other:?}"))),
        })),
    }
}

/// An encryption key from a PKCS#1 public key (aws-lc-rs wants SubjectPublicKeyInfo here).
fn encrypting_key(public_pkcs1: &[u8]) -> Result<PublicEncryptingKey, ProviderError> {
    let public =
        rsa::PublicKey::from_der(public_pkcs1).map_err(|_| ProviderError::CorruptionDetected)?;
    let spki = public
        .as_der()
        .map_err(internal("RSA public key serialisation failed"))?;
    PublicEncryptingKey::from_der(spki.as_ref()).map_err(|_| ProviderError::CorruptionDetected)
}

/// A decryption key from PKCS#1 private key DER (aws-lc-rs wants PKCS#8 here).
fn decrypting_key(private_pkcs1: &[u8]) -> Result<PrivateDecryptingKey, ProviderError> {
    let pair =
        RsaKeyPair::from_der(private_pkcs1).map_err(|_| ProviderError::CorruptionDetected)?;
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .map_err(internal("RSA private key serialisation failed"))?;
    PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).map_err(|_| ProviderError::CorruptionDetected)
}
