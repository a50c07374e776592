//! Software key management: generation, import (validating PSA formats), export, destruction.
//!
//! The sealed material is the key in its PSA export format (RSA: PKCS#1 DER; ECC key pair: raw
//! private scalar; ECC public key: uncompressed point; symmetric: raw bytes), so export is a
//! decryption and import a validation. RustCrypto's `pkcs8` is used only to convert aws-lc-rs's
//! PKCS#8 output to PKCS#1 when an RSA key is created.

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::signature::{KeyPair, ParsedPublicKey, RsaKeyPair};
use aws_lc_rs::{agreement, rsa};
use keyward_protocol::ops::{CheckType, Secret};
use keyward_protocol::psa::{KeyAttributes, KeyType};
use pkcs8::der::asn1::ObjectIdentifier;
use zeroize::Zeroizing;

use crate::capabilities::check_key;
use crate::{internal, Curve, SoftwareProvider};
use keyward_providers::{ImportedKey, KeyHandle, KeyManagement, KeyRef, ProviderError};

/// rsaEncryption (PKCS#1).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl KeyManagement for SoftwareProvider {
    fn generate_key(&self, attributes: &KeyAttributes) -> Result<KeyHandle, ProviderError> {
        if attributes.key_type.is_public_key() {
            return Err(ProviderError::invalid(
                "a public key cannot be generated; generate a key pair",
            ));
        }
        check_key(CheckType::Generate, attributes)?;
        let material = generate_material(attributes)?;
        self.sealer.seal(attributes, &material)
    }

    fn import_key(
        &self,
        attributes: &KeyAttributes,
        data: &[u8],
    ) -> Result<ImportedKey, ProviderError> {
        check_key(CheckType::Import, attributes)?;
        let (material, bits) = parse_import(attributes, data)?;
        if attributes.bits != 0 && attributes.bits != bits {
            return Err(ProviderError::invalid(format!(
                "the key data holds a {bits} bit key, the attributes say {}",
                attributes.bits
            )));
        }
        let resolved = KeyAttributes {
            bits,
            ..*attributes
        };
        // The size is known now: refuse sizes the provider could not use.
        check_key(CheckType::Import, &resolved)?;
        let handle = self.sealer.seal(&resolved, &material)?;
        Ok(ImportedKey {
            handle,
            attributes: resolved,
        })
    }

    fn export_public_key(&self, key: KeyRef<'_>) -> Result<Vec<u8>, ProviderError> {
        if !is_asymmetric(key.attributes.key_type) {
            return Err(ProviderError::invalid(
                "only asymmetric keys have a public part",
            ));
        }
        match &*self.public_key(key)? {
            crate::Parsed::Public(bytes) => Ok(bytes.clone()),
            _ => Err(ProviderError::generic("cache entry of the wrong kind")),
        }
    }

    fn export_key(&self, key: KeyRef<'_>) -> Result<Secret, ProviderError> {
        // The sealed material is already in the PSA export format.
        self.open(key)
    }

    fn destroy_key(&self, key: KeyRef<'_>) -> Result<(), ProviderError> {
        // The handle is self-contained: once the service forgets it, the key is gone.
        self.cache.evict(key.handle);
        Ok(())
    }

    fn persistent_handles(&self) -> Result<Vec<KeyHandle>, ProviderError> {
        Ok(Vec::new())
    }

    fn destroy_orphan(&self, handle: &KeyHandle) -> Result<(), ProviderError> {
        // Never reached (no persistent handles), but harmless: forget any cached copy.
        self.cache.evict(&handle.0);
        Ok(())
    }
}

fn is_asymmetric(key_type: KeyType) -> bool {
    key_type.is_key_pair() || key_type.is_public_key()
}

fn generate_material(attributes: &KeyAttributes) -> Result<Secret, ProviderError> {
    match attributes.key_type {
        KeyType::EccKeyPair { .. } => {
            let curve = Curve::of(attributes)?;
            let private = agreement::PrivateKey::generate(curve.ecdh())
                .map_err(internal("EC key generation failed"))?;
            let scalar = AsBigEndian::<aws_lc_rs::encoding::EcPrivateKeyBin>::as_be_bytes(&private)
                .map_err(internal("EC private key serialisation failed"))?;
            let scalar = Zeroizing::new(scalar.as_ref().to_vec());
            if scalar.len() != curve.scalar_len() {
                return Err(ProviderError::generic(
                    "EC private scalar of unexpected length",
                ));
            }
            Ok(scalar)
        }
        KeyType::RsaKeyPair => {
            let size = match attributes.bits {
                2048 => rsa::KeySize::Rsa2048,
                3072 => rsa::KeySize::Rsa3072,
                4096 => rsa::KeySize::Rsa4096,
                bits => return Err(ProviderError::not_supported(format!("{bits} bit RSA keys"))),
            };
            let pair = RsaKeyPair::generate(size).map_err(internal("RSA key generation failed"))?;
            rsa_private_pkcs1(&pair)
        }
        KeyType::Aes | KeyType::Chacha20 | KeyType::Hmac | KeyType::RawData => {
            let len = usize::try_from(attributes.bits / 8)
                .map_err(|_| ProviderError::invalid("key size"))?;
            let mut bytes = Zeroizing::new(vec![0u8; len]);
            aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ProviderError::InsufficientEntropy)?;
            Ok(bytes)
        }
        other => Err(ProviderError::not_supported(format!(
            "generating {other:?} keys"
        ))),
    }
}

/// Validates `data` as a key of `attributes.key_type` in the PSA import format and returns the
/// material to seal (canonical form) and the key size in bits.
fn parse_import(attributes: &KeyAttributes, data: &[u8]) -> Result<(Secret, u32), ProviderError> {
    let bad = |what: &str| ProviderError::invalid(format!("invalid key data: {what}"));
    match attributes.key_type {
        KeyType::EccKeyPair { curve_family } => {
            let curve = match attributes.bits {
                0 => curve_by_len(curve_family, data.len(), |c| c.scalar_len())?,
                bits => Curve::from_family_bits(curve_family, bits)?,
            };
            if data.len() != curve.scalar_len() {
                return Err(bad(
                    "an EC private key is the raw big-endian scalar of the curve's size",
                ));
            }
            agreement::PrivateKey::from_private_key(curve.ecdh(), data)
                .map_err(|_| bad("the scalar is not a valid private key for the curve"))?;
            Ok((Zeroizing::new(data.to_vec()), curve.bits()))
        }
        KeyType::EccPublicKey { curve_family } => {
            let curve = match attributes.bits {
                0 => curve_by_len(curve_family, data.len(), |c| c.point_len())?,
                bits => Curve::from_family_bits(curve_family, bits)?,
            };
            if data.len() != curve.point_len() || data.first() != Some(&0x04) {
                return Err(bad(
                    "an EC public key is an uncompressed point 04 || X || Y",
                ));
            }
            ParsedPublicKey::new(curve.verification(), data)
                .map_err(|_| bad("the point is not on the curve"))?;
            Ok((Zeroizing::new(data.to_vec()), curve.bits()))
        }
        KeyType::RsaKeyPair => {
            let pair = RsaKeyPair::from_der(data)
                .map_err(|_| bad("expected a PKCS#1 RSAPrivateKey (DER) of a valid RSA key"))?;
            let bits = modulus_bits(pair.public_key().as_ref())?;
            Ok((rsa_private_pkcs1(&pair)?, bits))
        }
        KeyType::RsaPublicKey => {
            let public = rsa::PublicKey::from_der(data)
                .map_err(|_| bad("expected a PKCS#1 RSAPublicKey (DER)"))?;
            // aws-lc also accepts SubjectPublicKeyInfo; PSA's format is PKCS#1 only.
            if public.as_ref() != data {
                return Err(bad(
                    "expected a PKCS#1 RSAPublicKey (DER), not SubjectPublicKeyInfo",
                ));
            }
            Ok((Zeroizing::new(data.to_vec()), modulus_bits(data)?))
        }
        KeyType::Aes | KeyType::Chacha20 | KeyType::Hmac | KeyType::RawData => {
            let bits = u32::try_from(data.len())
                .ok()
                .and_then(|len| len.checked_mul(8))
                .ok_or_else(|| bad("too long"))?;
            Ok((Zeroizing::new(data.to_vec()), bits))
        }
        other => Err(ProviderError::not_supported(format!(
            "importing {other:?} keys"
        ))),
    }
}

fn curve_by_len(
    family: keyward_protocol::psa::EccFamily,
    len: usize,
    len_of: impl Fn(Curve) -> usize,
) -> Result<Curve, ProviderError> {
    [Curve::P256, Curve::P384]
        .into_iter()
        .find(|c| len_of(*c) == len)
        .map_or_else(
            || {
                Err(ProviderError::invalid(format!(
                    "no supported curve has keys of {len} bytes"
                )))
            },
            |c| Curve::from_family_bits(family, c.bits()),
        )
}

fn modulus_bits(public_pkcs1: &[u8]) -> Result<u32, ProviderError> {
    aws_lc_rs::signature::RsaParameters::public_modulus_len(public_pkcs1)
        .map_err(|_| ProviderError::invalid("invalid RSA public key"))
}

/// PKCS#1 `RSAPrivateKey` DER of a key pair (aws-lc-rs only writes PKCS#8, which wraps it).
fn rsa_private_pkcs1(pair: &RsaKeyPair) -> Result<Secret, ProviderError> {
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(pair)
        .map_err(internal("RSA private key serialisation failed"))?;
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_ref())
        .map_err(|_| ProviderError::generic("aws-lc-rs wrote an unparsable PKCS#8 document"))?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Err(ProviderError::generic("PKCS#8 document is not an RSA key"));
    }
    Ok(Zeroizing::new(info.private_key.to_vec()))
}

/// The public key, in PSA format, of stored material.
pub(crate) fn public_from_material(
    attributes: &KeyAttributes,
    material: &[u8],
) -> Result<Vec<u8>, ProviderError> {
    match attributes.key_type {
        KeyType::EccKeyPair { .. } => {
            let curve = Curve::of(attributes)?;
            let private = agreement::PrivateKey::from_private_key(curve.ecdh(), material)
                .map_err(|_| ProviderError::CorruptionDetected)?;
            let public = private
                .compute_public_key()
                .map_err(internal("EC public key computation failed"))?;
            Ok(public.as_ref().to_vec())
        }
        KeyType::RsaKeyPair => {
            let pair =
                RsaKeyPair::from_der(material).map_err(|_| ProviderError::CorruptionDetected)?;
            Ok(pair.public_key().as_ref().to_vec())
        }
        KeyType::EccPublicKey { .. } | KeyType::RsaPublicKey => Ok(material.to_vec()),
        other => Err(ProviderError::invalid(format!(
            "{other:?} keys have no public part"
        ))),
    }
}
