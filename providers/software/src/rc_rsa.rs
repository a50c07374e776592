//! RSA where aws-lc-rs has no API, with the RustCrypto `rsa` crate: keys below 2048 bits (only
//! when `min_rsa_bits` is lowered; every operation that works at 2048 bits), raw PKCS#1 v1.5
//! signatures (no DigestInfo, PSA's `PSA_ALG_RSA_PKCS1V15_SIGN_RAW`) and RIPEMD-160 signatures
//! at any size. Keys of 2048 bits and more stay on aws-lc-rs for everything else.
//!
//! Private-key operations use the crate's blinding (fresh randomness per operation). The crate
//! is not constant time (RUSTSEC-2023-0071, "Marvin"): SECURITY.md says what that means for
//! PKCS#1 v1.5 decryption, which is why these paths exist only behind `min_rsa_bits` or an
//! explicit policy.

use rand_core::OsRng;
use rsa::pkcs1::{
    DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey,
};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::Hash;
use keyward_providers::ProviderError;

/// A signature scheme on this path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigScheme {
    Pkcs1(Hash),
    Pss(Hash),
    Pkcs1Raw,
}

/// A new key pair of `bits` bits, as PKCS#1 `RSAPrivateKey` DER.
pub(crate) fn generate(bits: u32) -> Result<Secret, ProviderError> {
    let size = usize::try_from(bits).map_err(|_| ProviderError::invalid("key size"))?;
    let key = RsaPrivateKey::new(&mut OsRng, size)
        .map_err(|err| ProviderError::generic_from("RSA key generation failed", err))?;
    private_der(&key)
}

/// Parses PKCS#1 `RSAPrivateKey` DER (checking the key's consistency) and its size in bits.
pub(crate) fn parse_private(der: &[u8]) -> Result<(RsaPrivateKey, u32), ProviderError> {
    let key = RsaPrivateKey::from_pkcs1_der(der)
        .map_err(|_| ProviderError::invalid("expected a PKCS#1 RSAPrivateKey (DER)"))?;
    key.validate()
        .map_err(|_| ProviderError::invalid("the RSA private key is inconsistent"))?;
    let bits = modulus_bits(key.n())?;
    Ok((key, bits))
}

/// Parses PKCS#1 `RSAPublicKey` DER and its size in bits.
pub(crate) fn parse_public(der: &[u8]) -> Result<(RsaPublicKey, u32), ProviderError> {
    let key = RsaPublicKey::from_pkcs1_der(der)
        .map_err(|_| ProviderError::invalid("expected a PKCS#1 RSAPublicKey (DER)"))?;
    let bits = modulus_bits(key.n())?;
    Ok((key, bits))
}

fn modulus_bits(n: &rsa::BigUint) -> Result<u32, ProviderError> {
    u32::try_from(n.bits()).map_err(|_| ProviderError::invalid("RSA modulus too large"))
}

/// The canonical PKCS#1 DER of a private key.
pub(crate) fn private_der(key: &RsaPrivateKey) -> Result<Secret, ProviderError> {
    let der = key
        .to_pkcs1_der()
        .map_err(|err| ProviderError::generic_from("RSA private key serialisation failed", err))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// PKCS#1 `RSAPublicKey` DER.
pub(crate) fn public_der(key: &RsaPublicKey) -> Result<Vec<u8>, ProviderError> {
    key.to_pkcs1_der()
        .map(|der| der.as_bytes().to_vec())
        .map_err(|err| ProviderError::generic_from("RSA public key serialisation failed", err))
}

fn pkcs1_padding(hash: Hash) -> Result<Pkcs1v15Sign, ProviderError> {
    Ok(match hash {
        Hash::Sha256 => Pkcs1v15Sign::new::<sha2_10::Sha256>(),
        Hash::Sha384 => Pkcs1v15Sign::new::<sha2_10::Sha384>(),
        Hash::Sha512 => Pkcs1v15Sign::new::<sha2_10::Sha512>(),
        Hash::Ripemd160 => Pkcs1v15Sign::new::<ripemd::Ripemd160>(),
        other => {
            return Err(ProviderError::not_supported(format!(
                "RSA signatures with {other:?}"
            )))
        }
    })
}

/// PSS with a salt as long as the hash (PSA's `PSA_ALG_RSA_PSS`), strict on verification.
fn pss_padding(hash: Hash) -> Result<Pss, ProviderError> {
    Ok(match hash {
        Hash::Sha256 => Pss::new::<sha2_10::Sha256>(),
        Hash::Sha384 => Pss::new::<sha2_10::Sha384>(),
        Hash::Sha512 => Pss::new::<sha2_10::Sha512>(),
        Hash::Ripemd160 => Pss::new::<ripemd::Ripemd160>(),
        other => {
            return Err(ProviderError::not_supported(format!(
                "RSA-PSS with {other:?}"
            )))
        }
    })
}

/// Signs a hash (or, for raw PKCS#1 v1.5, any input up to the modulus size less 11 bytes).
pub(crate) fn sign(
    key: &RsaPrivateKey,
    scheme: SigScheme,
    hash: &[u8],
) -> Result<Vec<u8>, ProviderError> {
    let result = match scheme {
        SigScheme::Pkcs1(h) => key.sign_with_rng(&mut OsRng, pkcs1_padding(h)?, hash),
        SigScheme::Pkcs1Raw => {
            if hash.len() + 11 > key.size() {
                return Err(ProviderError::invalid(
                    "input too long for a raw PKCS#1 v1.5 signature with this key",
                ));
            }
            key.sign_with_rng(&mut OsRng, Pkcs1v15Sign::new_unprefixed(), hash)
        }
        SigScheme::Pss(h) => key.sign_with_rng(&mut OsRng, pss_padding(h)?, hash),
    };
    result.map_err(|err| ProviderError::generic_from("RSA signing failed", err))
}

/// Verifies a signature: `Err(InvalidSignature)` when it does not verify.
pub(crate) fn verify(
    key: &RsaPublicKey,
    scheme: SigScheme,
    hash: &[u8],
    signature: &[u8],
) -> Result<(), ProviderError> {
    let result = match scheme {
        SigScheme::Pkcs1(h) => key.verify(pkcs1_padding(h)?, hash, signature),
        SigScheme::Pkcs1Raw => key.verify(Pkcs1v15Sign::new_unprefixed(), hash, signature),
        SigScheme::Pss(h) => key.verify(pss_padding(h)?, hash, signature),
    };
    result.map_err(|_| ProviderError::InvalidSignature)
}

fn oaep_padding(hash: Hash, label: Option<&[u8]>) -> Result<Oaep, ProviderError> {
    let mut padding = match hash {
        Hash::Sha1 => Oaep::new::<sha1::Sha1>(),
        Hash::Sha256 => Oaep::new::<sha2_10::Sha256>(),
        Hash::Sha384 => Oaep::new::<sha2_10::Sha384>(),
        Hash::Sha512 => Oaep::new::<sha2_10::Sha512>(),
        other => return Err(ProviderError::not_supported(format!("OAEP with {other:?}"))),
    };
    if let Some(label) = label.filter(|l| !l.is_empty()) {
        // The crate takes the label as a string; PSA's is bytes.
        padding.label =
            Some(String::from_utf8(label.to_vec()).map_err(|_| {
                ProviderError::not_supported("a non-UTF-8 OAEP label below 2048 bits")
            })?);
    }
    Ok(padding)
}

/// Encrypts with PKCS#1 v1.5 (`oaep: None`) or OAEP with `oaep`'s hash (MGF1 with the same).
pub(crate) fn encrypt(
    key: &RsaPublicKey,
    oaep: Option<Hash>,
    plaintext: &[u8],
    label: Option<&[u8]>,
) -> Result<Vec<u8>, ProviderError> {
    let max = match oaep {
        None => key.size().saturating_sub(11),
        Some(h) => key.size().saturating_sub(2 * h.output_len() + 2),
    };
    if plaintext.len() > max {
        return Err(ProviderError::invalid(
            "plaintext too long for this key and padding",
        ));
    }
    let result = match oaep {
        None => key.encrypt(&mut OsRng, Pkcs1v15Encrypt, plaintext),
        Some(h) => key.encrypt(&mut OsRng, oaep_padding(h, label)?, plaintext),
    };
    result.map_err(|err| ProviderError::generic_from("RSA encryption failed", err))
}

/// Decrypts (blinded): a ciphertext that does not decrypt is `Err(InvalidPadding)`.
pub(crate) fn decrypt(
    key: &RsaPrivateKey,
    oaep: Option<Hash>,
    ciphertext: &[u8],
    label: Option<&[u8]>,
) -> Result<Secret, ProviderError> {
    if ciphertext.len() != key.size() {
        return Err(ProviderError::invalid(
            "ciphertext length is not the modulus length",
        ));
    }
    let result = match oaep {
        None => key.decrypt_blinded(&mut OsRng, Pkcs1v15Encrypt, ciphertext),
        Some(h) => key.decrypt_blinded(&mut OsRng, oaep_padding(h, label)?, ciphertext),
    };
    result
        .map(Zeroizing::new)
        .map_err(|_| ProviderError::InvalidPadding)
}
