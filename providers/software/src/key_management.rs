//! Software key management: generation, import (validating PSA formats), export, destruction.
//!
//! The sealed material is the key in its PSA export format (RSA: PKCS#1 DER; ECC key pair: raw
//! private scalar; ECC public key: uncompressed point; symmetric: raw bytes), so export is a
//! decryption and import a validation. RustCrypto's `pkcs8` is used only to convert aws-lc-rs's
//! PKCS#8 output to PKCS#1 when an RSA key is created; RSA keys below 2048 bits and Brainpool
//! keys are created and checked with RustCrypto (`rc_rsa.rs`, `rc_ecc.rs`).
//!
//! Import checks in Parsec's order: the attributes and key type first, then the key data (its
//! size is read from the data and compared with the declared `bits`: a mismatch is
//! `InvalidArgument`), and only then whether that size is supported (`NotSupported`).

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::signature::{KeyPair, ParsedPublicKey, RsaKeyPair};
use aws_lc_rs::{agreement, rsa};
use keyward_protocol::ops::{CheckType, Secret};
use keyward_protocol::psa::{KeyAttributes, KeyType};
use pkcs8::der::asn1::ObjectIdentifier;
use zeroize::Zeroizing;

use crate::{internal, rc_ecc, rc_rsa, Curve, SoftwareProvider};
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
        self.table.check_key(CheckType::Generate, attributes)?;
        let material = generate_material(attributes)?;
        self.sealer.seal(attributes, &material)
    }

    fn import_key(
        &self,
        attributes: &KeyAttributes,
        data: &[u8],
    ) -> Result<ImportedKey, ProviderError> {
        self.table.check_key_type(attributes)?;
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
        self.table.check_key(CheckType::Import, &resolved)?;
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
            if !curve.on_aws_lc() {
                return rc_ecc::generate_scalar(curve);
            }
            let private = agreement::PrivateKey::generate(curve.ecdh()?)
                .map_err(internal("EC key generation failed"))?;
            let scalar = if curve == Curve::X25519 {
                let seed =
                    AsBigEndian::<aws_lc_rs::encoding::Curve25519SeedBin>::as_be_bytes(&private)
                        .map_err(internal("X25519 private key serialisation failed"))?;
                Zeroizing::new(seed.as_ref().to_vec())
            } else {
                let bin =
                    AsBigEndian::<aws_lc_rs::encoding::EcPrivateKeyBin>::as_be_bytes(&private)
                        .map_err(internal("EC private key serialisation failed"))?;
                Zeroizing::new(bin.as_ref().to_vec())
            };
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
                // Below 2048 bits (allowed by the table only when min_rsa_bits is lowered).
                bits => return rc_rsa::generate(bits),
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
            let curve = curve_by_len(curve_family, attributes.bits, data.len(), |c| {
                c.scalar_len()
            })?;
            if curve.on_aws_lc() {
                agreement::PrivateKey::from_private_key(curve.ecdh()?, data)
                    .map_err(|_| bad("the scalar is not a valid private key for the curve"))?;
            } else {
                rc_ecc::validate_scalar(curve, data)?;
            }
            Ok((Zeroizing::new(data.to_vec()), curve.bits()))
        }
        KeyType::EccPublicKey { curve_family } => {
            let curve = curve_by_len(curve_family, attributes.bits, data.len(), |c| c.point_len())?;
            match curve {
                Curve::X25519 => {
                    // Any 32 bytes are an X25519 public key (RFC 7748 §5).
                }
                Curve::P256 | Curve::P384 => {
                    if data.first() != Some(&0x04) {
                        return Err(bad(
                            "an EC public key is an uncompressed point 04 || X || Y",
                        ));
                    }
                    ParsedPublicKey::new(curve.verification()?, data)
                        .map_err(|_| bad("the point is not on the curve"))?;
                }
                Curve::Bp256 | Curve::Bp384 => rc_ecc::validate_point(curve, data)?,
            }
            Ok((Zeroizing::new(data.to_vec()), curve.bits()))
        }
        KeyType::RsaKeyPair => {
            let (small, bits) = rc_rsa::parse_private(data)?;
            if bits < 2048 {
                return Ok((rc_rsa::private_der(&small)?, bits));
            }
            let pair = RsaKeyPair::from_der(data)
                .map_err(|_| bad("expected a PKCS#1 RSAPrivateKey (DER) of a valid RSA key"))?;
            let bits = modulus_bits(pair.public_key().as_ref())?;
            Ok((rsa_private_pkcs1(&pair)?, bits))
        }
        KeyType::RsaPublicKey => {
            let (small, bits) = rc_rsa::parse_public(data)?;
            if bits < 2048 {
                if rc_rsa::public_der(&small)? != data {
                    return Err(bad("expected a PKCS#1 RSAPublicKey (DER)"));
                }
                return Ok((Zeroizing::new(data.to_vec()), bits));
            }
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

/// The curve of `family` whose keys have `len` bytes (the size comes from the data). A
/// declared size that disagrees is `InvalidArgument`; a size no supported curve of the family
/// has is `NotSupported` when the data has that size, `InvalidArgument` otherwise.
fn curve_by_len(
    family: keyward_protocol::psa::EccFamily,
    declared_bits: u32,
    len: usize,
    len_of: impl Fn(Curve) -> usize,
) -> Result<Curve, ProviderError> {
    let found = Curve::ALL
        .into_iter()
        .find(|c| c.family() == family && len_of(*c) == len);
    match found {
        Some(curve) if declared_bits == 0 || declared_bits == curve.bits() => Ok(curve),
        Some(curve) => Err(ProviderError::invalid(format!(
            "the key data holds a {} bit key, the attributes say {declared_bits}",
            curve.bits()
        ))),
        None => {
            let declared_len = usize::try_from(declared_bits.div_ceil(8)).unwrap_or(usize::MAX);
            let fits = declared_bits != 0 && (len == declared_len || len == 1 + 2 * declared_len);
            if fits {
                Err(ProviderError::not_supported(format!(
                    "{family:?} curves of {declared_bits} bits"
                )))
            } else {
                Err(ProviderError::invalid(format!(
                    "no supported {family:?} curve has keys of {len} bytes"
                )))
            }
        }
    }
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
            if !curve.on_aws_lc() {
                return rc_ecc::public_point(curve, material);
            }
            let private = agreement::PrivateKey::from_private_key(curve.ecdh()?, material)
                .map_err(|_| ProviderError::CorruptionDetected)?;
            let public = private
                .compute_public_key()
                .map_err(internal("EC public key computation failed"))?;
            Ok(public.as_ref().to_vec())
        }
        KeyType::RsaKeyPair if attributes.bits < 2048 => {
            let (small, _) =
                rc_rsa::parse_private(material).map_err(|_| ProviderError::CorruptionDetected)?;
            rc_rsa::public_der(&small.to_public_key())
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
