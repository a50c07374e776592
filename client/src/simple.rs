//! The convenience API: create a key, sign, verify, encrypt, decrypt, export a PEM, make a
//! CSR, each in one call with sensible defaults.
//!
//! Operations on an existing key look the key up with ListKeys (cached per client, refreshed
//! when a key is unknown or a call fails) to learn its algorithm and the provider that holds
//! it, so callers never repeat what the key's policy already says.

use keyward_protocol::ops::KeyInfo;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes,
    KeyType, SignHash,
};
use keyward_protocol::{Opcode, Operation, OperationResult, ProviderId, ResponseStatus, Secret};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::client::{lock, unexpected, BasicClient};
use crate::csr::{self, CsrSignatureScheme, CsrSigner, SubjectAltName, SubjectFields};
use crate::error::{ClientError, ProtocolError, Result};
use crate::keys::{self, EccCurve};

/// Nonce length used for an AEAD algorithm (PSA defaults: CCM 13, others 12).
fn nonce_len(alg: Aead) -> usize {
    let base = match alg {
        Aead::AeadWithDefaultLengthTag(base)
        | Aead::AeadWithShortenedTag { aead_alg: base, .. } => base,
    };
    match base {
        AeadWithDefaultLengthTag::Ccm => 13,
        AeadWithDefaultLengthTag::Gcm | AeadWithDefaultLengthTag::Chacha20Poly1305 => 12,
    }
}

/// The concrete signature algorithm for a key: its policy's, with a wildcard hash replaced by
/// the curve's matching hash (RSA and smaller curves: SHA-256).
pub fn signature_algorithm(attributes: &KeyAttributes) -> Option<AsymmetricSignature> {
    let Algorithm::AsymmetricSignature(alg) = attributes.policy.permitted_algorithms else {
        return None;
    };
    let default = match attributes.key_type {
        KeyType::EccKeyPair { .. } | KeyType::EccPublicKey { .. } if attributes.bits >= 521 => {
            Hash::Sha512
        }
        KeyType::EccKeyPair { .. } | KeyType::EccPublicKey { .. } if attributes.bits >= 384 => {
            Hash::Sha384
        }
        _ => Hash::Sha256,
    };
    let fix = |hash: SignHash| match hash {
        SignHash::Any => SignHash::Specific(default),
        specific => specific,
    };
    Some(match alg {
        AsymmetricSignature::RsaPkcs1v15Sign { hash_alg } => AsymmetricSignature::RsaPkcs1v15Sign {
            hash_alg: fix(hash_alg),
        },
        AsymmetricSignature::RsaPss { hash_alg } => AsymmetricSignature::RsaPss {
            hash_alg: fix(hash_alg),
        },
        AsymmetricSignature::Ecdsa { hash_alg } => AsymmetricSignature::Ecdsa {
            hash_alg: fix(hash_alg),
        },
        AsymmetricSignature::DeterministicEcdsa { hash_alg } => {
            AsymmetricSignature::DeterministicEcdsa {
                hash_alg: fix(hash_alg),
            }
        }
        raw => raw,
    })
}

/// Field length of an ECDSA key's signature halves, when the key is an ECC key.
pub fn ecdsa_field_len(attributes: &KeyAttributes) -> Option<usize> {
    match attributes.key_type {
        KeyType::EccKeyPair { curve_family } | KeyType::EccPublicKey { curve_family }
            if curve_family != EccFamily::Montgomery =>
        {
            Some(attributes.bits.div_ceil(8) as usize)
        }
        _ => None,
    }
}

fn random_bytes(len: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    getrandom::getrandom(&mut buf).map_err(|err| ClientError::Random(err.to_string()))?;
    Ok(buf)
}

impl BasicClient {
    /// An ECC P-256 key for ECDSA-SHA256, allowed to sign and verify hashes and messages.
    pub fn create_signing_key(&self, key_name: &str) -> Result<()> {
        self.generate_key(key_name, keys::ecc_signing_key(EccCurve::P256))
    }

    /// An ECDSA key on `curve` with the matching hash.
    pub fn create_ecc_signing_key(&self, key_name: &str, curve: EccCurve) -> Result<()> {
        self.generate_key(key_name, keys::ecc_signing_key(curve))
    }

    /// An ECDH key on `curve` for raw key agreement.
    pub fn create_ecdh_key(&self, key_name: &str, curve: EccCurve) -> Result<()> {
        self.generate_key(key_name, keys::ecc_agreement_key(curve))
    }

    /// An RSA PKCS#1 v1.5 SHA-256 signing key of `bits` bits.
    pub fn create_rsa_signing_key(&self, key_name: &str, bits: u32) -> Result<()> {
        self.generate_key(key_name, keys::rsa_signing_key(bits))
    }

    /// An RSA encryption key: OAEP-SHA256 if `oaep`, else PKCS#1 v1.5.
    pub fn create_rsa_encryption_key(&self, key_name: &str, bits: u32, oaep: bool) -> Result<()> {
        self.generate_key(key_name, keys::rsa_encryption_key(bits, oaep))
    }

    /// An AES-GCM key of `bits` bits (128, 192 or 256).
    pub fn create_aes_key(&self, key_name: &str, bits: u32) -> Result<()> {
        self.generate_key(key_name, keys::aes_gcm_key(bits))
    }

    /// The key's description (provider and attributes), from ListKeys.
    pub fn key_info(&self, key_name: &str) -> Result<KeyInfo> {
        if let Some(info) = lock(&self.keys).get(key_name) {
            return Ok(info.clone());
        }
        self.list_keys()?
            .into_iter()
            .find(|key| key.name == key_name)
            .ok_or_else(|| ClientError::KeyNotFound(key_name.to_owned()))
    }

    /// Runs `operation` on the provider holding `key`. A refusal that a stale description
    /// could explain (the key was destroyed or replaced by another process) drops it from
    /// the cache, so the next call looks the key up again.
    fn call_on_key(&self, key: &KeyInfo, operation: Operation) -> Result<OperationResult> {
        let provider = ProviderId::from_u8(key.provider_id).ok_or_else(|| {
            ClientError::Protocol(ProtocolError::ProviderMismatch {
                expected: 0,
                got: key.provider_id,
            })
        })?;
        let result = self.call(provider, operation);
        if let Err(ClientError::Service { status, .. }) = &result {
            if matches!(
                status,
                ResponseStatus::PsaErrorDoesNotExist
                    | ResponseStatus::PsaErrorNotPermitted
                    | ResponseStatus::PsaErrorNotSupported
                    | ResponseStatus::PsaErrorInvalidArgument
                    | ResponseStatus::PsaErrorInvalidHandle
            ) {
                self.forget_key(&key.name);
            }
        }
        result
    }

    fn unsuitable(key_name: &str, reason: &str) -> ClientError {
        ClientError::UnsuitableKey {
            key: key_name.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// Signs `message` with the key's own algorithm. The digest is computed locally and
    /// signed with sign_hash; keys only allowed to sign messages use sign_message. The
    /// signature is in PSA format (ECDSA: `r || s`; see [`keys::ecdsa_raw_to_der`]).
    pub fn sign(&self, key_name: &str, message: &[u8]) -> Result<Vec<u8>> {
        let key = self.key_info(key_name)?;
        let alg = signature_algorithm(&key.attributes).ok_or_else(|| {
            Self::unsuitable(key_name, "its policy permits no signature algorithm")
        })?;
        let usage = key.attributes.policy.usage_flags;
        let operation = if usage.sign_message && !usage.sign_hash {
            Operation::SignMessage {
                key_name: key_name.to_owned(),
                alg,
                message: message.to_vec(),
            }
        } else {
            Operation::SignHash {
                key_name: key_name.to_owned(),
                alg,
                hash: keys::digest(alg.hash().unwrap_or(Hash::Sha256), message)?,
            }
        };
        let opcode = operation.opcode();
        match self.call_on_key(&key, operation)? {
            OperationResult::SignHash { signature }
            | OperationResult::SignMessage { signature } => Ok(signature),
            _ => Err(unexpected(opcode)),
        }
    }

    /// Verifies a PSA-format signature of `message`: `Ok(false)` for an invalid signature,
    /// an error for anything else.
    pub fn verify(&self, key_name: &str, message: &[u8], signature: &[u8]) -> Result<bool> {
        let key = self.key_info(key_name)?;
        let alg = signature_algorithm(&key.attributes).ok_or_else(|| {
            Self::unsuitable(key_name, "its policy permits no signature algorithm")
        })?;
        let usage = key.attributes.policy.usage_flags;
        let operation = if usage.verify_message && !usage.verify_hash {
            Operation::VerifyMessage {
                key_name: key_name.to_owned(),
                alg,
                message: message.to_vec(),
                signature: signature.to_vec(),
            }
        } else {
            Operation::VerifyHash {
                key_name: key_name.to_owned(),
                alg,
                hash: keys::digest(alg.hash().unwrap_or(Hash::Sha256), message)?,
                signature: signature.to_vec(),
            }
        };
        match self.call_on_key(&key, operation) {
            Ok(OperationResult::VerifyHash | OperationResult::VerifyMessage) => Ok(true),
            Ok(_) => Err(unexpected(Opcode::PsaVerifyHash)),
            Err(ClientError::Service {
                status: ResponseStatus::PsaErrorInvalidSignature,
                ..
            }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Encrypts with the key's own algorithm. AEAD keys: a fresh random nonce, output
    /// `nonce || ciphertext || tag` (no associated data). RSA keys: the RSA ciphertext.
    pub fn encrypt(&self, key_name: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = self.key_info(key_name)?;
        match key.attributes.policy.permitted_algorithms {
            Algorithm::Aead(alg) => {
                let nonce = random_bytes(nonce_len(alg))?;
                let operation = Operation::AeadEncrypt {
                    key_name: key_name.to_owned(),
                    alg,
                    nonce: nonce.clone(),
                    additional_data: Vec::new(),
                    plaintext: Zeroizing::new(plaintext.to_vec()),
                };
                match self.call_on_key(&key, operation)? {
                    OperationResult::AeadEncrypt { ciphertext } => {
                        let mut out = nonce;
                        out.extend_from_slice(&ciphertext);
                        Ok(out)
                    }
                    _ => Err(unexpected(Opcode::PsaAeadEncrypt)),
                }
            }
            Algorithm::AsymmetricEncryption(alg) => {
                let operation = Operation::AsymmetricEncrypt {
                    key_name: key_name.to_owned(),
                    alg,
                    plaintext: Zeroizing::new(plaintext.to_vec()),
                    salt: None,
                };
                match self.call_on_key(&key, operation)? {
                    OperationResult::AsymmetricEncrypt { ciphertext } => Ok(ciphertext),
                    _ => Err(unexpected(Opcode::PsaAsymmetricEncrypt)),
                }
            }
            _ => Err(Self::unsuitable(
                key_name,
                "its policy permits no AEAD or asymmetric encryption",
            )),
        }
    }

    /// Decrypts what [`BasicClient::encrypt`] produced.
    pub fn decrypt(&self, key_name: &str, ciphertext: &[u8]) -> Result<Secret> {
        let key = self.key_info(key_name)?;
        match key.attributes.policy.permitted_algorithms {
            Algorithm::Aead(alg) => {
                let len = nonce_len(alg);
                if ciphertext.len() < len {
                    return Err(ClientError::InvalidArgument(format!(
                        "ciphertext shorter than its {len}-byte nonce"
                    )));
                }
                let (nonce, body) = ciphertext.split_at(len);
                let operation = Operation::AeadDecrypt {
                    key_name: key_name.to_owned(),
                    alg,
                    nonce: nonce.to_vec(),
                    additional_data: Vec::new(),
                    ciphertext: body.to_vec(),
                };
                match self.call_on_key(&key, operation)? {
                    OperationResult::AeadDecrypt { plaintext } => Ok(plaintext),
                    _ => Err(unexpected(Opcode::PsaAeadDecrypt)),
                }
            }
            Algorithm::AsymmetricEncryption(alg) => {
                let operation = Operation::AsymmetricDecrypt {
                    key_name: key_name.to_owned(),
                    alg,
                    ciphertext: ciphertext.to_vec(),
                    salt: None,
                };
                match self.call_on_key(&key, operation)? {
                    OperationResult::AsymmetricDecrypt { plaintext } => Ok(plaintext),
                    _ => Err(unexpected(Opcode::PsaAsymmetricDecrypt)),
                }
            }
            _ => Err(Self::unsuitable(
                key_name,
                "its policy permits no AEAD or asymmetric encryption",
            )),
        }
    }

    /// The key's public key as SubjectPublicKeyInfo.
    pub fn public_key_info(&self, key_name: &str) -> Result<SubjectPublicKeyInfoOwned> {
        let key = self.key_info(key_name)?;
        let operation = Operation::ExportPublicKey {
            key_name: key_name.to_owned(),
        };
        match self.call_on_key(&key, operation)? {
            OperationResult::ExportPublicKey { data } => {
                keys::public_key_info(&key.attributes, &data)
            }
            _ => Err(unexpected(Opcode::PsaExportPublicKey)),
        }
    }

    /// The key's public key as a `-----BEGIN PUBLIC KEY-----` PEM (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self, key_name: &str) -> Result<String> {
        use der::EncodePem;
        self.public_key_info(key_name)?
            .to_pem(der::pem::LineEnding::LF)
            .map_err(ClientError::encoding)
    }

    /// A PEM PKCS#10 request for the key, signed in the service with the key's own
    /// algorithm (ECDSA with SHA-256/384, or RSA PKCS#1 v1.5).
    pub fn create_csr(
        &self,
        key_name: &str,
        subject: &SubjectFields,
        sans: &[SubjectAltName],
    ) -> Result<String> {
        let signer = ServiceSigner::new(self, key_name)?;
        csr::to_pem(&csr::build_csr(&signer, subject, sans)?)
    }
}

/// A [`CsrSigner`] whose key is held by the service.
#[derive(Debug)]
pub struct ServiceSigner<'a> {
    client: &'a BasicClient,
    key: KeyInfo,
    scheme: CsrSignatureScheme,
}

impl<'a> ServiceSigner<'a> {
    /// Looks the key up and picks its CSR signature scheme.
    pub fn new(client: &'a BasicClient, key_name: &str) -> Result<Self> {
        let key = client.key_info(key_name)?;
        let scheme = CsrSignatureScheme::for_key(&key.attributes).map_err(|err| {
            ClientError::UnsuitableKey {
                key: key_name.to_owned(),
                reason: err.to_string(),
            }
        })?;
        Ok(ServiceSigner {
            client,
            key,
            scheme,
        })
    }
}

impl CsrSigner for ServiceSigner<'_> {
    fn public_key(&self) -> Result<SubjectPublicKeyInfoOwned> {
        self.client.public_key_info(&self.key.name)
    }

    fn scheme(&self) -> CsrSignatureScheme {
        self.scheme
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>> {
        let operation = Operation::SignHash {
            key_name: self.key.name.clone(),
            alg: self.scheme.psa_algorithm(),
            hash: digest.to_vec(),
        };
        match self.client.call_on_key(&self.key, operation)? {
            OperationResult::SignHash { signature } => Ok(signature),
            _ => Err(unexpected(Opcode::PsaSignHash)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Cipher, KeyPolicy, UsageFlags};

    #[test]
    fn wildcard_hashes_become_the_curve_hash() {
        let mut attrs = keys::ecc_signing_key(EccCurve::P384);
        attrs.policy.permitted_algorithms =
            Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
                hash_alg: SignHash::Any,
            });
        assert_eq!(
            signature_algorithm(&attrs),
            Some(AsymmetricSignature::Ecdsa {
                hash_alg: SignHash::Specific(Hash::Sha384)
            })
        );
        let rsa = keys::rsa_signing_key(2048);
        assert_eq!(
            signature_algorithm(&rsa),
            Some(AsymmetricSignature::RsaPkcs1v15Sign {
                hash_alg: SignHash::Specific(Hash::Sha256)
            })
        );
        assert_eq!(signature_algorithm(&keys::aes_gcm_key(128)), None);
    }

    #[test]
    fn nonce_lengths_follow_psa_defaults() {
        assert_eq!(
            nonce_len(Aead::AeadWithDefaultLengthTag(
                AeadWithDefaultLengthTag::Gcm
            )),
            12
        );
        assert_eq!(
            nonce_len(Aead::AeadWithShortenedTag {
                aead_alg: AeadWithDefaultLengthTag::Ccm,
                tag_length: 8
            }),
            13
        );
    }

    #[test]
    fn ecdsa_field_lengths() {
        assert_eq!(
            ecdsa_field_len(&keys::ecc_signing_key(EccCurve::P256)),
            Some(32)
        );
        let p521 = KeyAttributes {
            bits: 521,
            ..keys::ecc_signing_key(EccCurve::P384)
        };
        assert_eq!(ecdsa_field_len(&p521), Some(66));
        assert_eq!(ecdsa_field_len(&keys::rsa_signing_key(2048)), None);
        let cipher = KeyAttributes {
            key_type: KeyType::Aes,
            bits: 128,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: Algorithm::Cipher(Cipher::CbcPkcs7),
            },
        };
        assert_eq!(ecdsa_field_len(&cipher), None);
    }

    #[test]
    fn random_nonces_differ() {
        let a = random_bytes(12).expect("random");
        let b = random_bytes(12).expect("random");
        assert_eq!(a.len(), 12);
        assert_ne!(a, b);
    }
}
