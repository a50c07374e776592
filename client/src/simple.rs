//! The convenience API: create a key, sign, verify, encrypt, decrypt, export a PEM, make a
//! CSR, each in one call with sensible defaults.
//!
//! Operations on an existing key look the key up with ListKeys (cached per client) to learn
//! its algorithm and the provider that holds it, so callers never repeat what the key's policy
//! already says, and so a key of the wrong type is refused locally, without a round trip.
//! When the service refuses in a way a stale description explains (another process
//! destroyed the key, or replaced it with a different one), the key is looked up again once
//! and the call retried if the description changed.
//!
//! What to send for a key and how to read the answer are plain functions (`plan_*`,
//! `finish_*`), shared with the async client.

use keyward_protocol::ops::KeyInfo;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes,
    KeyType, SignHash,
};
use keyward_protocol::{Opcode, Operation, OperationResult, ProviderId, ResponseStatus, Secret};
use spki::SubjectPublicKeyInfoOwned;
use zeroize::Zeroizing;

use crate::client::{lock, BasicClient};
use crate::csr::{self, SubjectAltName, SubjectFields};
use crate::error::{ClientError, Result};
use crate::keys::{self, EccCurve};
use crate::request::{self, unexpected};

/// Nonce length used for an AEAD algorithm (PSA defaults: CCM 13, others 12).
pub(crate) fn nonce_len(alg: Aead) -> usize {
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
    getrandom::getrandom(&mut buf).map_err(ClientError::Random)?;
    Ok(buf)
}

/// The provider holding `key`.
pub(crate) fn provider_of(key: &KeyInfo) -> Result<ProviderId> {
    ProviderId::from_u8(key.provider_id).ok_or_else(|| ClientError::UnknownProvider {
        key: key.name.clone(),
        provider: key.provider_id,
    })
}

/// True for a service refusal that a stale key description could explain, worth one fresh
/// look-up: the key is gone, or it is now of another type or policy than the cache says.
/// Local refusals ([`ClientError::UnsuitableKey`]) are not retried: they cost no round trip,
/// and a fresh look-up would.
pub(crate) fn maybe_stale(err: &ClientError) -> bool {
    match err {
        ClientError::KeyNotFound(_) => true,
        ClientError::Service { status, .. } => matches!(
            status,
            ResponseStatus::PsaErrorNotPermitted
                | ResponseStatus::PsaErrorNotSupported
                | ResponseStatus::PsaErrorInvalidArgument
                | ResponseStatus::PsaErrorInvalidHandle
        ),
        _ => false,
    }
}

const NO_SIGNATURE: &str = "its policy permits no signature algorithm";

/// What `sign` sends: the key's own algorithm, on a local digest unless the key may only
/// sign messages.
pub(crate) fn plan_sign(key: &KeyInfo, message: &[u8]) -> Result<Operation> {
    let alg = signature_algorithm(&key.attributes)
        .ok_or_else(|| ClientError::unsuitable(&key.name, NO_SIGNATURE))?;
    let usage = key.attributes.policy.usage_flags;
    if usage.sign_message && !usage.sign_hash {
        return Ok(Operation::SignMessage {
            key_name: key.name.clone(),
            alg,
            message: message.to_vec(),
        });
    }
    if !usage.sign_hash {
        return Err(ClientError::unsuitable(
            &key.name,
            "its policy does not allow signing",
        ));
    }
    Ok(Operation::SignHash {
        key_name: key.name.clone(),
        alg,
        hash: keys::digest(alg.hash().unwrap_or(Hash::Sha256), message)?,
    })
}

pub(crate) fn finish_sign(result: OperationResult) -> Result<Vec<u8>> {
    match result {
        OperationResult::SignHash { signature } | OperationResult::SignMessage { signature } => {
            Ok(signature)
        }
        _ => Err(unexpected(Opcode::PsaSignHash)),
    }
}

/// What `verify` sends.
pub(crate) fn plan_verify(key: &KeyInfo, message: &[u8], signature: &[u8]) -> Result<Operation> {
    let alg = signature_algorithm(&key.attributes)
        .ok_or_else(|| ClientError::unsuitable(&key.name, NO_SIGNATURE))?;
    let usage = key.attributes.policy.usage_flags;
    if usage.verify_message && !usage.verify_hash {
        return Ok(Operation::VerifyMessage {
            key_name: key.name.clone(),
            alg,
            message: message.to_vec(),
            signature: signature.to_vec(),
        });
    }
    if !usage.verify_hash {
        return Err(ClientError::unsuitable(
            &key.name,
            "its policy does not allow verifying",
        ));
    }
    Ok(Operation::VerifyHash {
        key_name: key.name.clone(),
        alg,
        hash: keys::digest(alg.hash().unwrap_or(Hash::Sha256), message)?,
        signature: signature.to_vec(),
    })
}

pub(crate) fn finish_verify(result: Result<OperationResult>) -> Result<bool> {
    request::verified(result.and_then(|result| match result {
        OperationResult::VerifyHash | OperationResult::VerifyMessage => Ok(()),
        _ => Err(unexpected(Opcode::PsaVerifyHash)),
    }))
}

const NO_ENCRYPTION: &str = "its policy permits no AEAD or asymmetric encryption";

/// What `encrypt` sends, and the nonce to put in front of an AEAD ciphertext. Associated
/// data goes with AEAD keys, and becomes the label of RSA-OAEP; PKCS#1 v1.5 has no place
/// for it.
pub(crate) fn plan_encrypt(
    key: &KeyInfo,
    plaintext: &[u8],
    associated_data: &[u8],
) -> Result<(Operation, Option<Vec<u8>>)> {
    if !key.attributes.policy.usage_flags.encrypt {
        return Err(ClientError::unsuitable(
            &key.name,
            "its policy does not allow encryption",
        ));
    }
    match key.attributes.policy.permitted_algorithms {
        Algorithm::Aead(alg) => {
            let nonce = random_bytes(nonce_len(alg))?;
            let operation = Operation::AeadEncrypt {
                key_name: key.name.clone(),
                alg,
                nonce: nonce.clone(),
                additional_data: associated_data.to_vec(),
                plaintext: Zeroizing::new(plaintext.to_vec()),
            };
            Ok((operation, Some(nonce)))
        }
        Algorithm::AsymmetricEncryption(alg) => Ok((
            Operation::AsymmetricEncrypt {
                key_name: key.name.clone(),
                alg,
                plaintext: Zeroizing::new(plaintext.to_vec()),
                salt: rsa_label(key, alg, associated_data)?,
            },
            None,
        )),
        _ => Err(ClientError::unsuitable(&key.name, NO_ENCRYPTION)),
    }
}

fn rsa_label(
    key: &KeyInfo,
    alg: keyward_protocol::psa::AsymmetricEncryption,
    associated_data: &[u8],
) -> Result<Option<Vec<u8>>> {
    use keyward_protocol::psa::AsymmetricEncryption;
    match alg {
        _ if associated_data.is_empty() => Ok(None),
        AsymmetricEncryption::RsaOaep { .. } => Ok(Some(associated_data.to_vec())),
        _ => Err(ClientError::unsuitable(
            &key.name,
            "RSA PKCS#1 v1.5 encryption cannot bind associated data (use OAEP or AEAD)",
        )),
    }
}

pub(crate) fn finish_encrypt(result: OperationResult, nonce: Option<Vec<u8>>) -> Result<Vec<u8>> {
    match (result, nonce) {
        (OperationResult::AeadEncrypt { ciphertext }, Some(nonce)) => {
            let mut out = nonce;
            out.extend_from_slice(&ciphertext);
            Ok(out)
        }
        (OperationResult::AsymmetricEncrypt { ciphertext }, None) => Ok(ciphertext),
        _ => Err(unexpected(Opcode::PsaAeadEncrypt)),
    }
}

/// What `decrypt` sends for what `encrypt` produced.
pub(crate) fn plan_decrypt(
    key: &KeyInfo,
    ciphertext: &[u8],
    associated_data: &[u8],
) -> Result<Operation> {
    if !key.attributes.policy.usage_flags.decrypt {
        return Err(ClientError::unsuitable(
            &key.name,
            "its policy does not allow decryption",
        ));
    }
    match key.attributes.policy.permitted_algorithms {
        Algorithm::Aead(alg) => {
            let len = nonce_len(alg);
            if ciphertext.len() < len {
                return Err(ClientError::InvalidArgument(format!(
                    "ciphertext shorter than its {len}-byte nonce"
                )));
            }
            let (nonce, body) = ciphertext.split_at(len);
            Ok(Operation::AeadDecrypt {
                key_name: key.name.clone(),
                alg,
                nonce: nonce.to_vec(),
                additional_data: associated_data.to_vec(),
                ciphertext: body.to_vec(),
            })
        }
        Algorithm::AsymmetricEncryption(alg) => Ok(Operation::AsymmetricDecrypt {
            key_name: key.name.clone(),
            alg,
            ciphertext: ciphertext.to_vec(),
            salt: rsa_label(key, alg, associated_data)?,
        }),
        _ => Err(ClientError::unsuitable(&key.name, NO_ENCRYPTION)),
    }
}

pub(crate) fn finish_decrypt(result: OperationResult) -> Result<Secret> {
    match result {
        OperationResult::AeadDecrypt { plaintext }
        | OperationResult::AsymmetricDecrypt { plaintext } => Ok(plaintext),
        _ => Err(unexpected(Opcode::PsaAeadDecrypt)),
    }
}

/// What `public_key_info` sends: only keys that have a public half get a round trip.
pub(crate) fn plan_export_public(key: &KeyInfo) -> Result<Operation> {
    match key.attributes.key_type {
        KeyType::RsaKeyPair
        | KeyType::RsaPublicKey
        | KeyType::EccKeyPair { .. }
        | KeyType::EccPublicKey { .. } => Ok(Operation::ExportPublicKey {
            key_name: key.name.clone(),
        }),
        other => Err(ClientError::unsuitable(
            &key.name,
            format!("{other:?} keys have no public key"),
        )),
    }
}

pub(crate) fn finish_export_public(
    key: &KeyInfo,
    result: OperationResult,
) -> Result<SubjectPublicKeyInfoOwned> {
    match result {
        OperationResult::ExportPublicKey { data } => keys::public_key_info(&key.attributes, &data),
        _ => Err(unexpected(Opcode::PsaExportPublicKey)),
    }
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

    /// An RSA-PSS SHA-256 signing key of `bits` bits: the RSA key for TLS 1.3, which refuses
    /// PKCS#1 v1.5 signatures.
    pub fn create_rsa_pss_signing_key(&self, key_name: &str, bits: u32) -> Result<()> {
        self.generate_key(key_name, keys::rsa_pss_signing_key(bits))
    }

    /// An RSA encryption key: OAEP-SHA256 if `oaep`, else PKCS#1 v1.5.
    pub fn create_rsa_encryption_key(&self, key_name: &str, bits: u32, oaep: bool) -> Result<()> {
        self.generate_key(key_name, keys::rsa_encryption_key(bits, oaep))
    }

    /// An AES-GCM key of `bits` bits (128, 192 or 256).
    pub fn create_aes_key(&self, key_name: &str, bits: u32) -> Result<()> {
        self.generate_key(key_name, keys::aes_gcm_key(bits))
    }

    /// The key's description (provider and attributes), from the cache or ListKeys;
    /// [`ClientError::KeyNotFound`] if the caller has no key of that name.
    pub fn key_info(&self, key_name: &str) -> Result<KeyInfo> {
        if let Some(info) = lock(&self.caches().keys).get(key_name) {
            return Ok(info.clone());
        }
        self.list_keys()?
            .into_iter()
            .find(|key| key.name == key_name)
            .ok_or_else(|| ClientError::KeyNotFound(key_name.to_owned()))
    }

    /// Runs `attempt` with the key's description; when it fails in a way a stale
    /// description explains, looks the key up again and, if it changed, retries once.
    fn with_key<T>(&self, key_name: &str, attempt: impl Fn(&KeyInfo) -> Result<T>) -> Result<T> {
        let key = self.key_info(key_name)?;
        match attempt(&key) {
            Err(err) if maybe_stale(&err) => {
                self.forget_key(key_name);
                let fresh = self.key_info(key_name)?;
                if fresh == key {
                    return Err(err);
                }
                attempt(&fresh)
            }
            other => other,
        }
    }

    /// Runs a planned operation on the provider holding `key`.
    fn call_on_key(&self, key: &KeyInfo, operation: Operation) -> Result<OperationResult> {
        self.call(provider_of(key)?, operation)
    }

    /// Signs `message` with the key's own algorithm. The digest is computed locally and
    /// signed with sign_hash; keys only allowed to sign messages use sign_message. The
    /// signature is in PSA format (ECDSA: `r || s`; see [`keys::ecdsa_raw_to_der`], or use
    /// [`BasicClient::signing_key`] for X.509 encodings).
    pub fn sign(&self, key_name: &str, message: &[u8]) -> Result<Vec<u8>> {
        self.with_key(key_name, |key| {
            finish_sign(self.call_on_key(key, plan_sign(key, message)?)?)
        })
    }

    /// Verifies a PSA-format signature of `message`: `Ok(false)` for an invalid signature,
    /// an error for anything else.
    #[must_use = "a false result means the signature is invalid"]
    pub fn verify(&self, key_name: &str, message: &[u8], signature: &[u8]) -> Result<bool> {
        self.with_key(key_name, |key| {
            finish_verify(self.call_on_key(key, plan_verify(key, message, signature)?))
        })
    }

    /// Encrypts with the key's own algorithm, without associated data: see
    /// [`BasicClient::encrypt_with_aad`].
    pub fn encrypt(&self, key_name: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.encrypt_with_aad(key_name, plaintext, &[])
    }

    /// Encrypts with the key's own algorithm, binding `associated_data` (authenticated, not
    /// encrypted; the same bytes must be given to decrypt).
    ///
    /// AEAD keys (AES-GCM): a fresh random 96-bit nonce per call, output
    /// `nonce || ciphertext || tag`. Random nonces are safe for up to 2^32 encryptions per
    /// key (NIST SP 800-38D §8.3): rotate the key well before that. RSA-OAEP keys: the
    /// associated data is the OAEP label; RSA PKCS#1 v1.5 keys refuse associated data.
    pub fn encrypt_with_aad(
        &self,
        key_name: &str,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<Vec<u8>> {
        self.with_key(key_name, |key| {
            let (operation, nonce) = plan_encrypt(key, plaintext, associated_data)?;
            finish_encrypt(self.call_on_key(key, operation)?, nonce)
        })
    }

    /// Decrypts what [`BasicClient::encrypt`] produced.
    pub fn decrypt(&self, key_name: &str, ciphertext: &[u8]) -> Result<Secret> {
        self.decrypt_with_aad(key_name, ciphertext, &[])
    }

    /// Decrypts what [`BasicClient::encrypt_with_aad`] produced with the same associated
    /// data; a changed ciphertext, tag or associated data fails (`PsaErrorInvalidSignature`).
    pub fn decrypt_with_aad(
        &self,
        key_name: &str,
        ciphertext: &[u8],
        associated_data: &[u8],
    ) -> Result<Secret> {
        self.with_key(key_name, |key| {
            finish_decrypt(self.call_on_key(key, plan_decrypt(key, ciphertext, associated_data)?)?)
        })
    }

    /// The key's public key as SubjectPublicKeyInfo (refused locally for keys without one).
    pub fn public_key_info(&self, key_name: &str) -> Result<SubjectPublicKeyInfoOwned> {
        self.with_key(key_name, |key| {
            finish_export_public(key, self.call_on_key(key, plan_export_public(key)?)?)
        })
    }

    /// The key's public key as a `-----BEGIN PUBLIC KEY-----` PEM (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self, key_name: &str) -> Result<String> {
        use der::EncodePem;
        self.public_key_info(key_name)?
            .to_pem(der::pem::LineEnding::LF)
            .map_err(ClientError::encoding("a public key PEM"))
    }

    /// A PEM PKCS#10 request for the key, signed in the service with the key's own
    /// algorithm (ECDSA, RSA PKCS#1 v1.5 or RSA-PSS), through [`BasicClient::signing_key`].
    pub fn create_csr(
        &self,
        key_name: &str,
        subject: &SubjectFields,
        sans: &[SubjectAltName],
    ) -> Result<String> {
        let signer = self.signing_key(key_name)?;
        csr::to_pem(&csr::build_csr::<_, crate::Signature>(
            &signer, subject, sans,
        )?)
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
