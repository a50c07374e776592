//! Key templates with sensible defaults, public-key encoding (SubjectPublicKeyInfo PEM) and
//! signature format conversion. Pure functions: no service involved, so all unit-testable.

use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, UintRef};
use der::{Decode, Encode, EncodePem, Sequence};
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature,
    EccFamily, Hash, KeyAgreement, KeyAttributes, KeyPolicy, KeyType, RawKeyAgreement, SignHash,
    UsageFlags,
};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{ClientError, Result};

/// secp256k1 (SEC 2), absent from const-oid's RFC 5912 table.
const SECP_256_K_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

/// NIST prime curves offered by the convenience API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EccCurve {
    /// NIST P-256 (secp256r1), with SHA-256.
    P256,
    /// NIST P-384 (secp384r1), with SHA-384.
    P384,
}

impl EccCurve {
    /// The curve's size in bits.
    pub fn bits(self) -> u32 {
        match self {
            EccCurve::P256 => 256,
            EccCurve::P384 => 384,
        }
    }

    /// The hash matched to the curve's strength.
    pub fn hash(self) -> Hash {
        match self {
            EccCurve::P256 => Hash::Sha256,
            EccCurve::P384 => Hash::Sha384,
        }
    }
}

fn sign_usage() -> UsageFlags {
    UsageFlags {
        sign_hash: true,
        verify_hash: true,
        sign_message: true,
        verify_message: true,
        ..UsageFlags::default()
    }
}

fn crypt_usage() -> UsageFlags {
    UsageFlags {
        encrypt: true,
        decrypt: true,
        ..UsageFlags::default()
    }
}

/// An ECDSA signing key pair on `curve`, hash matched to the curve (P-256: ECDSA-SHA256),
/// allowed to sign and verify both hashes and messages (what parsec-tool creates).
pub fn ecc_signing_key(curve: EccCurve) -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        },
        bits: curve.bits(),
        policy: KeyPolicy {
            usage_flags: sign_usage(),
            permitted_algorithms: Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
                hash_alg: SignHash::Specific(curve.hash()),
            }),
        },
    }
}

/// An ECDH key pair on `curve` for raw key agreement.
pub fn ecc_agreement_key(curve: EccCurve) -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        },
        bits: curve.bits(),
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                derive: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh)),
        },
    }
}

/// An RSA PKCS#1 v1.5 SHA-256 signing key pair.
pub fn rsa_signing_key(bits: u32) -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::RsaKeyPair,
        bits,
        policy: KeyPolicy {
            usage_flags: sign_usage(),
            permitted_algorithms: Algorithm::AsymmetricSignature(
                AsymmetricSignature::RsaPkcs1v15Sign {
                    hash_alg: SignHash::Specific(Hash::Sha256),
                },
            ),
        },
    }
}

/// An RSA-PSS SHA-256 signing key pair (salt as long as the hash, as TLS 1.3 requires).
pub fn rsa_pss_signing_key(bits: u32) -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::RsaKeyPair,
        bits,
        policy: KeyPolicy {
            usage_flags: sign_usage(),
            permitted_algorithms: Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPss {
                hash_alg: SignHash::Specific(Hash::Sha256),
            }),
        },
    }
}

/// An RSA encryption key pair: OAEP-SHA256, or PKCS#1 v1.5 (parsec-tool's default).
pub fn rsa_encryption_key(bits: u32, oaep: bool) -> KeyAttributes {
    let alg = if oaep {
        AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        }
    } else {
        AsymmetricEncryption::RsaPkcs1v15Crypt
    };
    KeyAttributes {
        key_type: KeyType::RsaKeyPair,
        bits,
        policy: KeyPolicy {
            usage_flags: crypt_usage(),
            permitted_algorithms: Algorithm::AsymmetricEncryption(alg),
        },
    }
}

/// An AES-GCM key (default 16-byte tag).
pub fn aes_gcm_key(bits: u32) -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::Aes,
        bits,
        policy: KeyPolicy {
            usage_flags: crypt_usage(),
            permitted_algorithms: Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
                AeadWithDefaultLengthTag::Gcm,
            )),
        },
    }
}

/// Hashes `message` locally. Messages are not secret here (they are about to be signed),
/// and a local digest saves a round trip.
pub fn digest(hash: Hash, message: &[u8]) -> Result<Vec<u8>> {
    Ok(match hash {
        Hash::Sha224 => sha2::Sha224::digest(message).to_vec(),
        Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        Hash::Sha512_224 => sha2::Sha512_224::digest(message).to_vec(),
        Hash::Sha512_256 => sha2::Sha512_256::digest(message).to_vec(),
        other => {
            return Err(ClientError::InvalidArgument(format!(
                "hash {other:?} is not computed locally; use hash_compute"
            )))
        }
    })
}

/// The output length of a hash (0 for hashes this crate does not compute locally).
pub fn hash_len(hash: Hash) -> usize {
    match hash {
        Hash::Sha224 | Hash::Sha512_224 => 28,
        Hash::Sha256 | Hash::Sha512_256 => 32,
        Hash::Sha384 => 48,
        Hash::Sha512 => 64,
        _ => 0,
    }
}

/// The `namedCurve` OID of an elliptic-curve key, and the key's coordinate length.
fn curve_oid(family: EccFamily, bits: u32) -> Result<ObjectIdentifier> {
    match (family, bits) {
        (EccFamily::SecpR1, 224) => Ok(rfc5912::SECP_224_R_1),
        (EccFamily::SecpR1, 256) => Ok(rfc5912::SECP_256_R_1),
        (EccFamily::SecpR1, 384) => Ok(rfc5912::SECP_384_R_1),
        (EccFamily::SecpR1, 521) => Ok(rfc5912::SECP_521_R_1),
        (EccFamily::SecpK1, 256) => Ok(SECP_256_K_1),
        _ => Err(ClientError::InvalidArgument(format!(
            "no SubjectPublicKeyInfo encoding for {family:?} {bits}-bit keys"
        ))),
    }
}

/// PKCS#1 `RSAPublicKey`, only to check the exported bytes really are one.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// The SubjectPublicKeyInfo of a key from its PSA export format: PKCS#1 `RSAPublicKey` for
/// RSA (algorithm rsaEncryption, NULL parameters), an uncompressed SEC1 point for Weierstrass
/// curves (id-ecPublicKey with the named curve) and the raw key for X25519/X448.
pub fn public_key_info(
    attributes: &KeyAttributes,
    exported: &[u8],
) -> Result<SubjectPublicKeyInfoOwned> {
    let (oid, parameters) = match attributes.key_type {
        KeyType::RsaKeyPair | KeyType::RsaPublicKey => {
            RsaPublicKey::from_der(exported).map_err(ClientError::encoding(
                "the exported RSA key as a PKCS#1 RSAPublicKey",
            ))?;
            (rfc5912::RSA_ENCRYPTION, Some(Any::null()))
        }
        KeyType::EccKeyPair {
            curve_family: EccFamily::Montgomery,
        }
        | KeyType::EccPublicKey {
            curve_family: EccFamily::Montgomery,
        } => {
            let (oid, len) = match attributes.bits {
                255 => (rfc8410::ID_X_25519, 32),
                448 => (rfc8410::ID_X_448, 56),
                bits => {
                    return Err(ClientError::InvalidArgument(format!(
                        "no Montgomery curve of {bits} bits"
                    )))
                }
            };
            if exported.len() != len {
                return Err(ClientError::malformed(
                    "the exported Montgomery public key",
                    format!("{} bytes, expected {len}", exported.len()),
                ));
            }
            (oid, None)
        }
        KeyType::EccKeyPair { curve_family } | KeyType::EccPublicKey { curve_family } => {
            let curve = curve_oid(curve_family, attributes.bits)?;
            let coordinate = attributes.bits.div_ceil(8) as usize;
            if exported.len() != 1 + 2 * coordinate || exported.first() != Some(&0x04) {
                return Err(ClientError::malformed(
                    "the exported EC public key",
                    format!(
                        "not an uncompressed {}-bit point ({} bytes)",
                        attributes.bits,
                        exported.len()
                    ),
                ));
            }
            (rfc5912::ID_EC_PUBLIC_KEY, Some(Any::from(curve)))
        }
        other => {
            return Err(ClientError::InvalidArgument(format!(
                "{other:?} keys have no public key"
            )))
        }
    };
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned { oid, parameters },
        subject_public_key: BitString::from_bytes(exported)
            .map_err(ClientError::encoding("a public key"))?,
    })
}

/// The `-----BEGIN PUBLIC KEY-----` PEM of a key from its PSA export format.
pub fn public_key_pem(attributes: &KeyAttributes, exported: &[u8]) -> Result<String> {
    public_key_info(attributes, exported)?
        .to_pem(der::pem::LineEnding::LF)
        .map_err(ClientError::encoding("a public key PEM"))
}

/// ASN.1 `Ecdsa-Sig-Value` (RFC 3279).
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Converts a PSA ECDSA signature (`r || s`, each the curve's length) to DER `Ecdsa-Sig-Value`,
/// the form X.509, CSRs and parsec-tool use.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>> {
    let (r, s) = raw.split_at(raw.len() / 2);
    if r.is_empty() || r.len() != s.len() {
        return Err(ClientError::malformed(
            "a raw ECDSA signature",
            format!("{} bytes are not r || s", raw.len()),
        ));
    }
    let encoding = ClientError::encoding("an ECDSA signature");
    let value = match (UintRef::new(r), UintRef::new(s)) {
        (Ok(r), Ok(s)) => EcdsaSigValue { r, s },
        (Err(err), _) | (_, Err(err)) => return Err(encoding(err)),
    };
    value.to_der().map_err(encoding)
}

/// Converts DER `Ecdsa-Sig-Value` to PSA's `r || s`, each left-padded to `field_len` bytes.
pub fn ecdsa_der_to_raw(der: &[u8], field_len: usize) -> Result<Vec<u8>> {
    let value =
        EcdsaSigValue::from_der(der).map_err(ClientError::encoding("a DER ECDSA signature"))?;
    let mut raw = vec![0u8; 2 * field_len];
    for (half, int) in raw.chunks_mut(field_len).zip([value.r, value.s]) {
        let bytes = int.as_bytes();
        if bytes.len() > field_len {
            return Err(ClientError::malformed(
                "a DER ECDSA signature",
                "a component is longer than the curve".to_owned(),
            ));
        }
        half[field_len - bytes.len()..].copy_from_slice(bytes);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::DecodePublicKey;

    fn unhex(text: &str) -> Vec<u8> {
        let text = text.trim();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    // Vectors made with openssl: the raw export and openssl's own SPKI PEM of the same key.
    const P256_POINT: &str = include_str!("testdata/ec-p256-point.hex");
    const P256_PEM: &str = include_str!("testdata/ec-p256-spki.pem");
    const P384_POINT: &str = include_str!("testdata/ec-p384-point.hex");
    const P384_PEM: &str = include_str!("testdata/ec-p384-spki.pem");
    const RSA_PKCS1: &str = include_str!("testdata/rsa2048-pkcs1.hex");
    const RSA_PEM: &str = include_str!("testdata/rsa2048-spki.pem");

    #[test]
    fn p256_pem_matches_openssl_and_decodes() {
        let point = unhex(P256_POINT);
        let pem = public_key_pem(&ecc_signing_key(EccCurve::P256), &point).expect("pem");
        assert_eq!(pem, P256_PEM);
        let key = p256::PublicKey::from_public_key_pem(&pem).expect("p256 decodes");
        assert_eq!(
            p256::EncodedPoint::from(key).as_bytes(),
            &point[..],
            "same point after the round trip"
        );
    }

    #[test]
    fn p384_pem_matches_openssl() {
        let pem =
            public_key_pem(&ecc_signing_key(EccCurve::P384), &unhex(P384_POINT)).expect("pem");
        assert_eq!(pem, P384_PEM);
    }

    #[test]
    fn rsa_pem_matches_openssl_with_null_parameters() {
        let pem = public_key_pem(&rsa_signing_key(2048), &unhex(RSA_PKCS1)).expect("pem");
        assert_eq!(pem, RSA_PEM);
        let info =
            public_key_info(&rsa_encryption_key(2048, true), &unhex(RSA_PKCS1)).expect("info");
        assert_eq!(info.algorithm.oid, rfc5912::RSA_ENCRYPTION);
        assert_eq!(info.algorithm.parameters, Some(Any::null()));
    }

    #[test]
    fn malformed_exports_are_refused() {
        let point = unhex(P256_POINT);
        // Compressed-point marker, wrong length, and P-256 bytes claimed as P-384.
        let mut compressed = point.clone();
        compressed[0] = 0x02;
        let p256 = ecc_signing_key(EccCurve::P256);
        assert!(public_key_info(&p256, &compressed).is_err());
        assert!(public_key_info(&p256, &point[..64]).is_err());
        assert!(public_key_info(&ecc_signing_key(EccCurve::P384), &point).is_err());
        assert!(public_key_info(&rsa_signing_key(2048), &point).is_err());
        assert!(public_key_info(&aes_gcm_key(256), &[0u8; 32]).is_err());
    }

    #[test]
    fn ecdsa_conversion_matches_p256_and_round_trips() {
        use p256::ecdsa::signature::Signer;
        let key = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).expect("key");
        for message in [&b"hello"[..], b"another", b""] {
            let sig: p256::ecdsa::Signature = key.sign(message);
            let raw = sig.to_bytes().to_vec();
            let der = ecdsa_raw_to_der(&raw).expect("to der");
            assert_eq!(der, sig.to_der().as_bytes(), "same DER as p256");
            assert_eq!(ecdsa_der_to_raw(&der, 32).expect("back"), raw);
        }
    }

    #[test]
    fn ecdsa_conversion_handles_high_bits_and_leading_zeros() {
        // r has its top bit set (needs a 0x00 pad); s starts with zero bytes (must be stripped).
        let mut raw = vec![0xFFu8; 32];
        raw.extend([0u8, 0, 0x01].iter().chain([0x55u8; 29].iter()));
        let der = ecdsa_raw_to_der(&raw).expect("to der");
        assert_eq!(&der[..5], &[0x30, 0x43, 0x02, 0x21, 0x00]);
        assert_eq!(&der[37..40], &[0x02, 0x1E, 0x01], "s stripped to 30 bytes");
        assert_eq!(ecdsa_der_to_raw(&der, 32).expect("back"), raw);
        assert!(ecdsa_raw_to_der(&raw[..63]).is_err());
        assert!(
            ecdsa_der_to_raw(&der, 16).is_err(),
            "component longer than field"
        );
        assert!(ecdsa_der_to_raw(b"\x30\x00garbage", 32).is_err());
    }

    #[test]
    fn templates_are_what_parsec_tool_creates() {
        let ecc = ecc_signing_key(EccCurve::P256);
        assert_eq!(ecc.bits, 256);
        assert!(ecc.policy.usage_flags.sign_hash && ecc.policy.usage_flags.verify_message);
        assert!(!ecc.policy.usage_flags.export);
        let rsa = rsa_encryption_key(2048, false);
        assert_eq!(
            rsa.policy.permitted_algorithms,
            Algorithm::AsymmetricEncryption(AsymmetricEncryption::RsaPkcs1v15Crypt)
        );
        assert!(rsa.policy.usage_flags.encrypt && !rsa.policy.usage_flags.sign_hash);
    }

    #[test]
    fn local_digests() {
        let d = digest(Hash::Sha256, b"abc").expect("sha256");
        assert_eq!(
            d,
            unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(digest(Hash::Sha384, b"").expect("sha384").len(), 48);
        assert!(digest(Hash::Md5, b"").is_err());
    }
}
