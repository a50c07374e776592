//! The PSA key policy check, done once for every provider: does a stored key's policy (usage
//! flags and permitted algorithm) allow this use? Plus a sanity check of attributes for new
//! keys. Providers may assume a request reaching them passed [`authorize`].
//!
//! The check takes a narrow [`KeyUse`] (usage and algorithm), not the wire request, so the
//! policy knows nothing of key names or payloads; [`KeyUse::of`] derives it from an
//! [`Operation`] for callers that hold one.
//!
//! PSA rules applied here (PSA Crypto API 1.1, §9.5 "Key policies"):
//! * `sign_hash` implies `sign_message`, and `verify_hash` implies `verify_message`.
//! * A public key (or the public half of a key pair) can always be exported; `export` is needed
//!   to export private or secret material.
//! * A policy naming a hash-and-sign scheme with the wildcard hash permits that scheme with any
//!   specific hash ([`AsymmetricSignature::permits`]); a request must name a specific hash.
//! * A MAC or AEAD request whose truncated length equals the algorithm's full length is the
//!   full-length algorithm (in PSA they are the same algorithm identifier).
//! * A key-agreement policy combined with a KDF permits the raw agreement it is built on
//!   (as Mbed TLS does); everything else must be permitted exactly.

use keyward_protocol::ops::Operation;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    EccFamily, FullLengthMac, KeyAgreement, KeyAttributes, KeyType, Mac, RawKeyAgreement, SignHash,
    UsageFlags,
};

use crate::ProviderError;

/// What a request wants to do with a stored key: exactly what the policy check needs (the usage
/// and the requested algorithm), nothing of the wire request (no key name, no data).
///
/// Uses of a key that no policy restricts are deliberately absent: exporting the public part,
/// destroying the key, and the key-less operations (hash, random, key creation, CanDoCrypto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUse {
    /// Sign a precomputed hash (`sign_hash` flag).
    SignHash(AsymmetricSignature),
    /// Verify a signature of a precomputed hash (`verify_hash` flag).
    VerifyHash(AsymmetricSignature),
    /// Sign a message (`sign_message` flag, implied by `sign_hash`).
    SignMessage(AsymmetricSignature),
    /// Verify a signature of a message (`verify_message` flag, implied by `verify_hash`).
    VerifyMessage(AsymmetricSignature),
    /// Asymmetric encryption (`encrypt` flag).
    AsymmetricEncrypt(AsymmetricEncryption),
    /// Asymmetric decryption (`decrypt` flag).
    AsymmetricDecrypt(AsymmetricEncryption),
    /// AEAD encryption (`encrypt` flag).
    AeadEncrypt(Aead),
    /// AEAD decryption (`decrypt` flag).
    AeadDecrypt(Aead),
    /// Unauthenticated cipher encryption (`encrypt` flag).
    CipherEncrypt(Cipher),
    /// Unauthenticated cipher decryption (`decrypt` flag).
    CipherDecrypt(Cipher),
    /// Compute a MAC (`sign_message` flag, implied by `sign_hash`).
    MacCompute(Mac),
    /// Verify a MAC (`verify_message` flag, implied by `verify_hash`).
    MacVerify(Mac),
    /// Raw key agreement with this private key (`derive` flag).
    RawKeyAgreement(RawKeyAgreement),
    /// Export the key material itself (`export` flag, unless the key is a public key).
    Export,
}

impl KeyUse {
    /// The key use a wire operation asks for, or `None` when no key policy applies to it
    /// (public-key export, destruction, key-less and core operations).
    pub fn of(op: &Operation) -> Option<KeyUse> {
        Some(match op {
            Operation::ExportKey { .. } => KeyUse::Export,
            Operation::SignHash { alg, .. } => KeyUse::SignHash(*alg),
            Operation::VerifyHash { alg, .. } => KeyUse::VerifyHash(*alg),
            Operation::SignMessage { alg, .. } => KeyUse::SignMessage(*alg),
            Operation::VerifyMessage { alg, .. } => KeyUse::VerifyMessage(*alg),
            Operation::AsymmetricEncrypt { alg, .. } => KeyUse::AsymmetricEncrypt(*alg),
            Operation::AsymmetricDecrypt { alg, .. } => KeyUse::AsymmetricDecrypt(*alg),
            Operation::AeadEncrypt { alg, .. } => KeyUse::AeadEncrypt(*alg),
            Operation::AeadDecrypt { alg, .. } => KeyUse::AeadDecrypt(*alg),
            Operation::CipherEncrypt { alg, .. } => KeyUse::CipherEncrypt(*alg),
            Operation::CipherDecrypt { alg, .. } => KeyUse::CipherDecrypt(*alg),
            Operation::MacCompute { alg, .. } => KeyUse::MacCompute(*alg),
            Operation::MacVerify { alg, .. } => KeyUse::MacVerify(*alg),
            Operation::RawKeyAgreement { alg, .. } => KeyUse::RawKeyAgreement(*alg),
            // No stored key's policy is involved: key creation and destruction, public export
            // (always allowed), keyless operations and core operations.
            Operation::GenerateKey { .. }
            | Operation::ImportKey { .. }
            | Operation::DestroyKey { .. }
            | Operation::ExportPublicKey { .. }
            | Operation::HashCompute { .. }
            | Operation::HashCompare { .. }
            | Operation::GenerateRandom { .. }
            | Operation::CanDoCrypto { .. }
            | Operation::Ping
            | Operation::ListProviders
            | Operation::ListOpcodes { .. }
            | Operation::ListAuthenticators
            | Operation::ListKeys
            | Operation::ListClients
            | Operation::DeleteClient { .. }
            | Operation::ShareTrustBundle { .. }
            | Operation::AddClient { .. }
            | Operation::ProveClient { .. }
            | Operation::RemoveClient { .. }
            | Operation::FetchToken { .. }
            | Operation::ReplaceTrustRoot { .. } => return None,
        })
    }
}

/// Checks that the key with `attributes` may serve `use_`.
///
/// Errors: `NotPermitted` when a usage flag is missing or the algorithm is not permitted;
/// `InvalidArgument` when the request itself names no concrete algorithm (a wildcard hash) or an
/// algorithm unusable for this operation (e.g. ECDSA-any for sign-message).
pub fn authorize(use_: KeyUse, attributes: &KeyAttributes) -> Result<(), ProviderError> {
    let flags = effective_flags(attributes.policy.usage_flags);
    let permitted = attributes.policy.permitted_algorithms;
    match use_ {
        KeyUse::Export => {
            if attributes.key_type.is_public_key() || flags.export {
                Ok(())
            } else {
                Err(ProviderError::not_permitted(
                    "key lacks the export usage flag",
                ))
            }
        }
        KeyUse::SignHash(alg) => {
            check_sign_request(alg, false)?;
            require(flags.sign_hash, "sign_hash")?;
            permit_signature(permitted, alg)
        }
        KeyUse::VerifyHash(alg) => {
            check_sign_request(alg, false)?;
            require(flags.verify_hash, "verify_hash")?;
            permit_signature(permitted, alg)
        }
        KeyUse::SignMessage(alg) => {
            check_sign_request(alg, true)?;
            require(flags.sign_message, "sign_message")?;
            permit_signature(permitted, alg)
        }
        KeyUse::VerifyMessage(alg) => {
            check_sign_request(alg, true)?;
            require(flags.verify_message, "verify_message")?;
            permit_signature(permitted, alg)
        }
        KeyUse::AsymmetricEncrypt(alg) => {
            require(flags.encrypt, "encrypt")?;
            permit_exact(permitted, Algorithm::AsymmetricEncryption(alg))
        }
        KeyUse::AsymmetricDecrypt(alg) => {
            require(flags.decrypt, "decrypt")?;
            permit_exact(permitted, Algorithm::AsymmetricEncryption(alg))
        }
        KeyUse::AeadEncrypt(alg) => {
            require(flags.encrypt, "encrypt")?;
            permit_aead(permitted, alg)
        }
        KeyUse::AeadDecrypt(alg) => {
            require(flags.decrypt, "decrypt")?;
            permit_aead(permitted, alg)
        }
        KeyUse::CipherEncrypt(alg) => {
            require(flags.encrypt, "encrypt")?;
            permit_exact(permitted, Algorithm::Cipher(alg))
        }
        KeyUse::CipherDecrypt(alg) => {
            require(flags.decrypt, "decrypt")?;
            permit_exact(permitted, Algorithm::Cipher(alg))
        }
        KeyUse::MacCompute(alg) => {
            require(flags.sign_message, "sign_message (or sign_hash)")?;
            permit_mac(permitted, alg, attributes.key_type)
        }
        KeyUse::MacVerify(alg) => {
            require(flags.verify_message, "verify_message (or verify_hash)")?;
            permit_mac(permitted, alg, attributes.key_type)
        }
        KeyUse::RawKeyAgreement(alg) => {
            require(flags.derive, "derive")?;
            permit_raw_agreement(permitted, alg)
        }
    }
}

/// Sanity of the attributes of a key about to be generated or imported, independent of any
/// provider: the permitted algorithm must suit the key type (`InvalidArgument` otherwise, e.g.
/// ECDSA on an AES key) and sizes must be valid for fixed-size types (e.g. AES 100 bits).
/// `bits == 0` passes (import takes the size from the data).
///
/// Usage flags are deliberately not cross-checked with the key type: PSA allows superfluous
/// flags and stock Parsec clients set them (e.g. `sign_hash` on imported public keys); sign and
/// verify flags on AES keys are legitimate (CMAC).
pub fn validate_attributes(attributes: &KeyAttributes) -> Result<(), ProviderError> {
    validate_bits(attributes.key_type, attributes.bits)?;
    let alg = attributes.policy.permitted_algorithms;
    if let Algorithm::Aead(Aead::AeadWithShortenedTag {
        aead_alg,
        tag_length,
    }) = alg
    {
        if !valid_tag_length(aead_alg, tag_length) {
            return Err(ProviderError::invalid(format!(
                "{aead_alg:?} has no {tag_length}-byte tag"
            )));
        }
    }
    if algorithm_suits_key_type(alg, attributes.key_type) {
        Ok(())
    } else {
        Err(ProviderError::invalid(format!(
            "permitted algorithm {alg:?} cannot be used with a {:?} key",
            attributes.key_type
        )))
    }
}

/// The usage flags a key effectively has: `sign_hash` implies `sign_message`, `verify_hash`
/// implies `verify_message` (PSA 1.1 §9.5.4).
pub fn effective_flags(flags: UsageFlags) -> UsageFlags {
    UsageFlags {
        sign_message: flags.sign_message || flags.sign_hash,
        verify_message: flags.verify_message || flags.verify_hash,
        ..flags
    }
}

/// True when `alg` is usable with keys of `key_type` at all.
pub fn algorithm_suits_key_type(alg: Algorithm, key_type: KeyType) -> bool {
    use KeyType as K;
    let block_cipher = matches!(key_type, K::Aes | K::Des | K::Camellia);
    let rsa = matches!(key_type, K::RsaKeyPair | K::RsaPublicKey);
    let weierstrass = match key_type {
        K::EccKeyPair { curve_family } | K::EccPublicKey { curve_family } => {
            curve_family != EccFamily::Montgomery
        }
        _ => false,
    };
    let ecc = matches!(key_type, K::EccKeyPair { .. } | K::EccPublicKey { .. });
    let dh = matches!(key_type, K::DhKeyPair { .. } | K::DhPublicKey { .. });
    match alg {
        Algorithm::None => true,
        // A hash is not a key algorithm.
        Algorithm::Hash(_) => false,
        Algorithm::Mac(mac) => match base_mac(mac) {
            FullLengthMac::Hmac { .. } => key_type == K::Hmac,
            FullLengthMac::CbcMac | FullLengthMac::Cmac => block_cipher,
        },
        Algorithm::Cipher(cipher) => match cipher {
            Cipher::StreamCipher => matches!(key_type, K::Chacha20 | K::Arc4),
            Cipher::Xts => matches!(key_type, K::Aes | K::Camellia),
            Cipher::Ctr
            | Cipher::Cfb
            | Cipher::Ofb
            | Cipher::EcbNoPadding
            | Cipher::CbcNoPadding
            | Cipher::CbcPkcs7 => block_cipher,
        },
        Algorithm::Aead(aead) => match base_aead(aead) {
            AeadWithDefaultLengthTag::Ccm | AeadWithDefaultLengthTag::Gcm => {
                matches!(key_type, K::Aes | K::Camellia)
            }
            AeadWithDefaultLengthTag::Chacha20Poly1305 => key_type == K::Chacha20,
        },
        Algorithm::AsymmetricSignature(sig) => match sig {
            AsymmetricSignature::RsaPkcs1v15Sign { .. }
            | AsymmetricSignature::RsaPkcs1v15SignRaw
            | AsymmetricSignature::RsaPss { .. } => rsa,
            AsymmetricSignature::Ecdsa { .. }
            | AsymmetricSignature::EcdsaAny
            | AsymmetricSignature::DeterministicEcdsa { .. } => weierstrass,
        },
        Algorithm::AsymmetricEncryption(_) => rsa,
        Algorithm::KeyAgreement(ka) => match raw_agreement_of(ka) {
            RawKeyAgreement::Ecdh => ecc,
            RawKeyAgreement::Ffdh => dh,
        },
        Algorithm::KeyDerivation(_) => matches!(key_type, K::Derive | K::RawData | K::Hmac),
    }
}

/// The full-length MAC size for `mac` with a key of `key_type`, when it is known.
pub fn full_mac_length(mac: FullLengthMac, key_type: KeyType) -> Option<u32> {
    match mac {
        FullLengthMac::Hmac { hash_alg } => u32::try_from(hash_alg.output_len()).ok(),
        FullLengthMac::CbcMac | FullLengthMac::Cmac => match key_type {
            KeyType::Aes | KeyType::Camellia => Some(16),
            KeyType::Des => Some(8),
            _ => None,
        },
    }
}

/// The default (full) tag length of an AEAD algorithm.
pub fn default_tag_length(aead: AeadWithDefaultLengthTag) -> u32 {
    match aead {
        AeadWithDefaultLengthTag::Ccm
        | AeadWithDefaultLengthTag::Gcm
        | AeadWithDefaultLengthTag::Chacha20Poly1305 => 16,
    }
}

/// Tag lengths each AEAD defines: GCM 4, 8 and 12–16 bytes (NIST SP 800-38D §5.2.1.2), CCM
/// 4–16 even (SP 800-38C §A.1), ChaCha20-Poly1305 16 only (RFC 8439). Any other length names
/// no algorithm: `InvalidArgument` at key creation, not `NotSupported`.
pub fn valid_tag_length(aead: AeadWithDefaultLengthTag, tag_length: u32) -> bool {
    match aead {
        AeadWithDefaultLengthTag::Gcm => matches!(tag_length, 4 | 8 | 12..=16),
        AeadWithDefaultLengthTag::Ccm => (4..=16).contains(&tag_length) && tag_length % 2 == 0,
        AeadWithDefaultLengthTag::Chacha20Poly1305 => tag_length == 16,
    }
}

/// `mac` with a truncation to the full length rewritten as the full-length algorithm.
pub fn normalize_mac(mac: Mac, key_type: KeyType) -> Mac {
    match mac {
        Mac::Truncated {
            mac_alg,
            mac_length,
        } if full_mac_length(mac_alg, key_type) == Some(mac_length) => Mac::FullLength(mac_alg),
        other => other,
    }
}

/// `aead` with a "shortened" tag of the default length rewritten as the default algorithm.
pub fn normalize_aead(aead: Aead) -> Aead {
    match aead {
        Aead::AeadWithShortenedTag {
            aead_alg,
            tag_length,
        } if tag_length == default_tag_length(aead_alg) => Aead::AeadWithDefaultLengthTag(aead_alg),
        other => other,
    }
}

fn base_mac(mac: Mac) -> FullLengthMac {
    match mac {
        Mac::FullLength(m) | Mac::Truncated { mac_alg: m, .. } => m,
    }
}

fn base_aead(aead: Aead) -> AeadWithDefaultLengthTag {
    match aead {
        Aead::AeadWithDefaultLengthTag(a) | Aead::AeadWithShortenedTag { aead_alg: a, .. } => a,
    }
}

fn raw_agreement_of(ka: KeyAgreement) -> RawKeyAgreement {
    match ka {
        KeyAgreement::Raw(raw) | KeyAgreement::WithKeyDerivation { ka_alg: raw, .. } => raw,
    }
}

fn require(flag: bool, name: &str) -> Result<(), ProviderError> {
    if flag {
        Ok(())
    } else {
        Err(ProviderError::not_permitted(format!(
            "key lacks the {name} usage flag"
        )))
    }
}

fn refuse(permitted: Algorithm, requested: Algorithm) -> ProviderError {
    ProviderError::not_permitted(format!(
        "key policy permits {permitted:?}, request uses {requested:?}"
    ))
}

fn permit_exact(permitted: Algorithm, requested: Algorithm) -> Result<(), ProviderError> {
    if permitted == requested {
        Ok(())
    } else {
        Err(refuse(permitted, requested))
    }
}

fn permit_signature(
    permitted: Algorithm,
    requested: AsymmetricSignature,
) -> Result<(), ProviderError> {
    match permitted {
        Algorithm::AsymmetricSignature(policy) if policy.permits(requested) => Ok(()),
        _ => Err(refuse(permitted, Algorithm::AsymmetricSignature(requested))),
    }
}

fn permit_aead(permitted: Algorithm, requested: Aead) -> Result<(), ProviderError> {
    match permitted {
        Algorithm::Aead(policy) if normalize_aead(policy) == normalize_aead(requested) => Ok(()),
        _ => Err(refuse(permitted, Algorithm::Aead(requested))),
    }
}

fn permit_mac(
    permitted: Algorithm,
    requested: Mac,
    key_type: KeyType,
) -> Result<(), ProviderError> {
    match permitted {
        Algorithm::Mac(policy)
            if normalize_mac(policy, key_type) == normalize_mac(requested, key_type) =>
        {
            Ok(())
        }
        _ => Err(refuse(permitted, Algorithm::Mac(requested))),
    }
}

fn permit_raw_agreement(
    permitted: Algorithm,
    requested: RawKeyAgreement,
) -> Result<(), ProviderError> {
    match permitted {
        Algorithm::KeyAgreement(policy) if raw_agreement_of(policy) == requested => Ok(()),
        _ => Err(refuse(
            permitted,
            Algorithm::KeyAgreement(KeyAgreement::Raw(requested)),
        )),
    }
}

/// A signature request must name a concrete algorithm; sign/verify-message additionally needs a
/// scheme that hashes (not ECDSA-any or raw PKCS#1 v1.5).
fn check_sign_request(alg: AsymmetricSignature, message: bool) -> Result<(), ProviderError> {
    use AsymmetricSignature as S;
    match alg {
        S::RsaPkcs1v15Sign {
            hash_alg: SignHash::Any,
        }
        | S::RsaPss {
            hash_alg: SignHash::Any,
        }
        | S::Ecdsa {
            hash_alg: SignHash::Any,
        }
        | S::DeterministicEcdsa {
            hash_alg: SignHash::Any,
        } => Err(ProviderError::invalid(
            "a signature request must name a specific hash, not the wildcard",
        )),
        S::EcdsaAny | S::RsaPkcs1v15SignRaw if message => Err(ProviderError::invalid(
            "sign/verify-message needs a hash-and-sign algorithm",
        )),
        _ => Ok(()),
    }
}

fn validate_bits(key_type: KeyType, bits: u32) -> Result<(), ProviderError> {
    if bits == 0 {
        return Ok(());
    }
    let valid = match key_type {
        KeyType::Aes | KeyType::Camellia => matches!(bits, 128 | 192 | 256),
        KeyType::Chacha20 => bits == 256,
        KeyType::Des => matches!(bits, 64 | 128 | 192),
        KeyType::Hmac | KeyType::RawData | KeyType::Derive | KeyType::Arc4 => bits % 8 == 0,
        KeyType::EccKeyPair { curve_family } | KeyType::EccPublicKey { curve_family } => {
            match curve_family {
                EccFamily::SecpR1 => matches!(bits, 192 | 224 | 256 | 384 | 521),
                EccFamily::SecpK1 => matches!(bits, 192 | 224 | 256),
                EccFamily::Montgomery => matches!(bits, 255 | 448),
                EccFamily::BrainpoolPR1 => {
                    matches!(bits, 160 | 192 | 224 | 256 | 320 | 384 | 512)
                }
                _ => true,
            }
        }
        KeyType::RsaKeyPair
        | KeyType::RsaPublicKey
        | KeyType::DhKeyPair { .. }
        | KeyType::DhPublicKey { .. } => true,
    };
    if valid {
        Ok(())
    } else {
        Err(ProviderError::invalid(format!(
            "{bits} bits is not a valid size for a {key_type:?} key"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::ops::Secret;
    use keyward_protocol::psa::{AsymmetricEncryption, Hash, KeyDerivation, KeyPolicy};

    const SHA256: SignHash = SignHash::Specific(Hash::Sha256);
    const SHA384: SignHash = SignHash::Specific(Hash::Sha384);
    const P256_PAIR: KeyType = KeyType::EccKeyPair {
        curve_family: EccFamily::SecpR1,
    };
    const P256_PUB: KeyType = KeyType::EccPublicKey {
        curve_family: EccFamily::SecpR1,
    };

    fn attrs(key_type: KeyType, bits: u32, flags: UsageFlags, alg: Algorithm) -> KeyAttributes {
        KeyAttributes {
            key_type,
            bits,
            policy: KeyPolicy {
                usage_flags: flags,
                permitted_algorithms: alg,
            },
        }
    }

    fn flags(set: &str) -> UsageFlags {
        let mut f = UsageFlags::default();
        for name in set.split_whitespace() {
            match name {
                "export" => f.export = true,
                "encrypt" => f.encrypt = true,
                "decrypt" => f.decrypt = true,
                "sign_hash" => f.sign_hash = true,
                "verify_hash" => f.verify_hash = true,
                "sign_message" => f.sign_message = true,
                "verify_message" => f.verify_message = true,
                "derive" => f.derive = true,
                other => panic!("unknown flag {other}"),
            }
        }
        f
    }

    fn ecdsa(hash: SignHash) -> AsymmetricSignature {
        AsymmetricSignature::Ecdsa { hash_alg: hash }
    }

    fn sign_hash(alg: AsymmetricSignature) -> KeyUse {
        KeyUse::SignHash(alg)
    }
    fn verify_hash(alg: AsymmetricSignature) -> KeyUse {
        KeyUse::VerifyHash(alg)
    }
    fn sign_message(alg: AsymmetricSignature) -> KeyUse {
        KeyUse::SignMessage(alg)
    }
    fn verify_message(alg: AsymmetricSignature) -> KeyUse {
        KeyUse::VerifyMessage(alg)
    }
    fn export() -> KeyUse {
        KeyUse::Export
    }
    fn mac_compute(alg: Mac) -> KeyUse {
        KeyUse::MacCompute(alg)
    }
    fn aead_encrypt(alg: Aead) -> KeyUse {
        KeyUse::AeadEncrypt(alg)
    }
    fn raw_ka(alg: RawKeyAgreement) -> KeyUse {
        KeyUse::RawKeyAgreement(alg)
    }

    #[derive(Debug, PartialEq)]
    enum Expect {
        Ok,
        NotPermitted,
        Invalid,
    }

    fn outcome(result: Result<(), ProviderError>) -> Expect {
        match result {
            Ok(()) => Expect::Ok,
            Err(ProviderError::NotPermitted(_)) => Expect::NotPermitted,
            Err(ProviderError::InvalidArgument(_)) => Expect::Invalid,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn authorize_table() {
        let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(SHA256));
        let ecdsa_any_hash = Algorithm::AsymmetricSignature(ecdsa(SignHash::Any));
        let hmac256 = FullLengthMac::Hmac {
            hash_alg: Hash::Sha256,
        };
        let gcm = AeadWithDefaultLengthTag::Gcm;
        let oaep = AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        };
        let cases: Vec<(&str, KeyUse, KeyAttributes, Expect)> = vec![
            (
                "sign with flag and alg",
                sign_hash(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa256),
                Expect::Ok,
            ),
            (
                "sign without flag",
                sign_hash(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("verify_hash sign_message"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "sign with other hash",
                sign_hash(ecdsa(SHA384)),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "sign with other scheme",
                sign_hash(AsymmetricSignature::DeterministicEcdsa { hash_alg: SHA256 }),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "wildcard policy permits any hash",
                sign_hash(ecdsa(SHA384)),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa_any_hash),
                Expect::Ok,
            ),
            (
                "wildcard request is invalid",
                sign_hash(ecdsa(SignHash::Any)),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa_any_hash),
                Expect::Invalid,
            ),
            (
                "sign_hash implies sign_message",
                sign_message(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa256),
                Expect::Ok,
            ),
            (
                "sign_message does not imply sign_hash",
                sign_hash(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("sign_message"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "sign_message alone",
                sign_message(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("sign_message"), ecdsa256),
                Expect::Ok,
            ),
            (
                "verify needs verify flag",
                verify_hash(ecdsa(SHA256)),
                attrs(P256_PUB, 256, flags("sign_hash"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "verify ok",
                verify_hash(ecdsa(SHA256)),
                attrs(P256_PUB, 256, flags("verify_hash"), ecdsa256),
                Expect::Ok,
            ),
            (
                "verify_hash implies verify_message",
                verify_message(ecdsa(SHA256)),
                attrs(P256_PUB, 256, flags("verify_hash"), ecdsa256),
                Expect::Ok,
            ),
            (
                "ecdsa-any cannot sign messages",
                sign_message(AsymmetricSignature::EcdsaAny),
                attrs(
                    P256_PAIR,
                    256,
                    flags("sign_message"),
                    Algorithm::AsymmetricSignature(AsymmetricSignature::EcdsaAny),
                ),
                Expect::Invalid,
            ),
            (
                "ecdsa-any signs hashes",
                sign_hash(AsymmetricSignature::EcdsaAny),
                attrs(
                    P256_PAIR,
                    256,
                    flags("sign_hash"),
                    Algorithm::AsymmetricSignature(AsymmetricSignature::EcdsaAny),
                ),
                Expect::Ok,
            ),
            (
                "sign with a key whose policy is none",
                sign_hash(ecdsa(SHA256)),
                attrs(P256_PAIR, 256, flags("sign_hash"), Algorithm::None),
                Expect::NotPermitted,
            ),
            (
                "export private without flag",
                export(),
                attrs(P256_PAIR, 256, flags("sign_hash"), ecdsa256),
                Expect::NotPermitted,
            ),
            (
                "export private with flag",
                export(),
                attrs(P256_PAIR, 256, flags("export"), ecdsa256),
                Expect::Ok,
            ),
            (
                "export public always",
                export(),
                attrs(P256_PUB, 256, flags(""), ecdsa256),
                Expect::Ok,
            ),
            (
                "encrypt ok",
                KeyUse::AsymmetricEncrypt(oaep),
                attrs(
                    KeyType::RsaPublicKey,
                    2048,
                    flags("encrypt"),
                    Algorithm::AsymmetricEncryption(oaep),
                ),
                Expect::Ok,
            ),
            (
                "decrypt without flag",
                KeyUse::AsymmetricDecrypt(oaep),
                attrs(
                    KeyType::RsaKeyPair,
                    2048,
                    flags("encrypt"),
                    Algorithm::AsymmetricEncryption(oaep),
                ),
                Expect::NotPermitted,
            ),
            (
                "decrypt other padding",
                KeyUse::AsymmetricDecrypt(AsymmetricEncryption::RsaPkcs1v15Crypt),
                attrs(
                    KeyType::RsaKeyPair,
                    2048,
                    flags("decrypt"),
                    Algorithm::AsymmetricEncryption(oaep),
                ),
                Expect::NotPermitted,
            ),
            (
                "mac needs sign_message or sign_hash",
                mac_compute(Mac::FullLength(hmac256)),
                attrs(
                    KeyType::Hmac,
                    256,
                    flags("verify_message"),
                    Algorithm::Mac(Mac::FullLength(hmac256)),
                ),
                Expect::NotPermitted,
            ),
            (
                "mac with sign_hash",
                mac_compute(Mac::FullLength(hmac256)),
                attrs(
                    KeyType::Hmac,
                    256,
                    flags("sign_hash"),
                    Algorithm::Mac(Mac::FullLength(hmac256)),
                ),
                Expect::Ok,
            ),
            (
                "truncated to full length is the full mac",
                mac_compute(Mac::Truncated {
                    mac_alg: hmac256,
                    mac_length: 32,
                }),
                attrs(
                    KeyType::Hmac,
                    256,
                    flags("sign_message"),
                    Algorithm::Mac(Mac::FullLength(hmac256)),
                ),
                Expect::Ok,
            ),
            (
                "really truncated mac is another algorithm",
                mac_compute(Mac::Truncated {
                    mac_alg: hmac256,
                    mac_length: 16,
                }),
                attrs(
                    KeyType::Hmac,
                    256,
                    flags("sign_message"),
                    Algorithm::Mac(Mac::FullLength(hmac256)),
                ),
                Expect::NotPermitted,
            ),
            (
                "aead ok",
                aead_encrypt(Aead::AeadWithDefaultLengthTag(gcm)),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("encrypt"),
                    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(gcm)),
                ),
                Expect::Ok,
            ),
            (
                "aead without flag",
                aead_encrypt(Aead::AeadWithDefaultLengthTag(gcm)),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("decrypt"),
                    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(gcm)),
                ),
                Expect::NotPermitted,
            ),
            (
                "aead 16-byte shortened tag is default",
                aead_encrypt(Aead::AeadWithShortenedTag {
                    aead_alg: gcm,
                    tag_length: 16,
                }),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("encrypt"),
                    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(gcm)),
                ),
                Expect::Ok,
            ),
            (
                "aead shorter tag not permitted",
                aead_encrypt(Aead::AeadWithShortenedTag {
                    aead_alg: gcm,
                    tag_length: 8,
                }),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("encrypt"),
                    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(gcm)),
                ),
                Expect::NotPermitted,
            ),
            (
                "aead other algorithm",
                aead_encrypt(Aead::AeadWithDefaultLengthTag(
                    AeadWithDefaultLengthTag::Ccm,
                )),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("encrypt"),
                    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(gcm)),
                ),
                Expect::NotPermitted,
            ),
            (
                "cipher ok",
                KeyUse::CipherEncrypt(Cipher::Ctr),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("encrypt"),
                    Algorithm::Cipher(Cipher::Ctr),
                ),
                Expect::Ok,
            ),
            (
                "cipher other mode",
                KeyUse::CipherDecrypt(Cipher::CbcPkcs7),
                attrs(
                    KeyType::Aes,
                    128,
                    flags("decrypt"),
                    Algorithm::Cipher(Cipher::Ctr),
                ),
                Expect::NotPermitted,
            ),
            (
                "ecdh ok",
                raw_ka(RawKeyAgreement::Ecdh),
                attrs(
                    P256_PAIR,
                    256,
                    flags("derive"),
                    Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh)),
                ),
                Expect::Ok,
            ),
            (
                "ecdh needs derive",
                raw_ka(RawKeyAgreement::Ecdh),
                attrs(
                    P256_PAIR,
                    256,
                    flags("sign_hash"),
                    Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh)),
                ),
                Expect::NotPermitted,
            ),
            (
                "ecdh with kdf policy permits raw",
                raw_ka(RawKeyAgreement::Ecdh),
                attrs(
                    P256_PAIR,
                    256,
                    flags("derive"),
                    Algorithm::KeyAgreement(KeyAgreement::WithKeyDerivation {
                        ka_alg: RawKeyAgreement::Ecdh,
                        kdf_alg: KeyDerivation::Hkdf {
                            hash_alg: Hash::Sha256,
                        },
                    }),
                ),
                Expect::Ok,
            ),
            (
                "ecdh on a signing key",
                raw_ka(RawKeyAgreement::Ecdh),
                attrs(P256_PAIR, 256, flags("derive"), ecdsa256),
                Expect::NotPermitted,
            ),
        ];
        for (name, use_, attributes, expected) in cases {
            assert_eq!(outcome(authorize(use_, &attributes)), expected, "{name}");
        }
    }

    #[test]
    fn key_use_of_names_usage_and_algorithm() {
        let alg = ecdsa(SHA256);
        let oaep = AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        };
        let gcm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
        let hmac = Mac::FullLength(FullLengthMac::Hmac {
            hash_alg: Hash::Sha256,
        });
        let k = || "k".to_string();
        let cases: Vec<(Operation, KeyUse)> = vec![
            (Operation::ExportKey { key_name: k() }, KeyUse::Export),
            (
                Operation::SignHash {
                    key_name: k(),
                    alg,
                    hash: vec![0; 32],
                },
                KeyUse::SignHash(alg),
            ),
            (
                Operation::VerifyHash {
                    key_name: k(),
                    alg,
                    hash: vec![0; 32],
                    signature: vec![],
                },
                KeyUse::VerifyHash(alg),
            ),
            (
                Operation::SignMessage {
                    key_name: k(),
                    alg,
                    message: vec![],
                },
                KeyUse::SignMessage(alg),
            ),
            (
                Operation::VerifyMessage {
                    key_name: k(),
                    alg,
                    message: vec![],
                    signature: vec![],
                },
                KeyUse::VerifyMessage(alg),
            ),
            (
                Operation::AsymmetricEncrypt {
                    key_name: k(),
                    alg: oaep,
                    plaintext: Secret::new(vec![]),
                    salt: None,
                },
                KeyUse::AsymmetricEncrypt(oaep),
            ),
            (
                Operation::AsymmetricDecrypt {
                    key_name: k(),
                    alg: oaep,
                    ciphertext: vec![],
                    salt: None,
                },
                KeyUse::AsymmetricDecrypt(oaep),
            ),
            (
                Operation::AeadEncrypt {
                    key_name: k(),
                    alg: gcm,
                    nonce: vec![],
                    additional_data: vec![],
                    plaintext: Secret::new(vec![]),
                },
                KeyUse::AeadEncrypt(gcm),
            ),
            (
                Operation::AeadDecrypt {
                    key_name: k(),
                    alg: gcm,
                    nonce: vec![],
                    additional_data: vec![],
                    ciphertext: vec![],
                },
                KeyUse::AeadDecrypt(gcm),
            ),
            (
                Operation::CipherEncrypt {
                    key_name: k(),
                    alg: Cipher::Ctr,
                    plaintext: Secret::new(vec![]),
                },
                KeyUse::CipherEncrypt(Cipher::Ctr),
            ),
            (
                Operation::CipherDecrypt {
                    key_name: k(),
                    alg: Cipher::Ctr,
                    ciphertext: vec![],
                },
                KeyUse::CipherDecrypt(Cipher::Ctr),
            ),
            (
                Operation::MacCompute {
                    key_name: k(),
                    alg: hmac,
                    input: vec![],
                },
                KeyUse::MacCompute(hmac),
            ),
            (
                Operation::MacVerify {
                    key_name: k(),
                    alg: hmac,
                    input: vec![],
                    mac: vec![],
                },
                KeyUse::MacVerify(hmac),
            ),
            (
                Operation::RawKeyAgreement {
                    alg: RawKeyAgreement::Ecdh,
                    private_key_name: k(),
                    peer_key: vec![],
                },
                KeyUse::RawKeyAgreement(RawKeyAgreement::Ecdh),
            ),
        ];
        for (op, expected) in cases {
            assert_eq!(KeyUse::of(&op), Some(expected), "{:?}", op.opcode());
        }
    }

    #[test]
    fn operations_without_a_key_policy_are_not_checked() {
        // Public export is always allowed and hashing needs no key: no KeyUse, so no check
        // (formerly "export public key op always" and "hash needs no key").
        let cases = [
            Operation::ExportPublicKey {
                key_name: "k".into(),
            },
            Operation::HashCompute {
                alg: Hash::Sha256,
                input: vec![],
            },
            Operation::DestroyKey {
                key_name: "k".into(),
            },
            Operation::GenerateRandom { size: 1 },
            Operation::Ping,
        ];
        for op in cases {
            assert_eq!(KeyUse::of(&op), None, "{:?}", op.opcode());
        }
    }

    #[test]
    fn validate_attributes_table() {
        let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(SHA256));
        let gcm = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
            AeadWithDefaultLengthTag::Gcm,
        ));
        let chacha = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
            AeadWithDefaultLengthTag::Chacha20Poly1305,
        ));
        let hmac = Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac {
            hash_alg: Hash::Sha256,
        }));
        let cmac = Algorithm::Mac(Mac::FullLength(FullLengthMac::Cmac));
        let cases: Vec<(KeyType, u32, Algorithm, bool)> = vec![
            (P256_PAIR, 256, ecdsa256, true),
            (P256_PUB, 256, ecdsa256, true),
            (P256_PAIR, 0, ecdsa256, true),
            (P256_PAIR, 255, ecdsa256, false),
            (KeyType::Aes, 128, ecdsa256, false),
            (KeyType::RsaKeyPair, 2048, ecdsa256, false),
            (KeyType::Aes, 128, gcm, true),
            (KeyType::Aes, 100, gcm, false),
            (KeyType::Chacha20, 256, gcm, false),
            (KeyType::Chacha20, 256, chacha, true),
            (KeyType::Chacha20, 128, chacha, false),
            (KeyType::Hmac, 256, hmac, true),
            (KeyType::Aes, 256, hmac, false),
            (KeyType::Aes, 256, cmac, true),
            (KeyType::Hmac, 256, cmac, false),
            (KeyType::Hmac, 0, Algorithm::Hash(Hash::Sha256), false),
            (KeyType::RawData, 128, Algorithm::None, true),
            (KeyType::RawData, 12, Algorithm::None, false),
            (
                KeyType::EccKeyPair {
                    curve_family: EccFamily::Montgomery,
                },
                255,
                ecdsa256,
                false,
            ),
            (
                KeyType::RsaPublicKey,
                2048,
                Algorithm::AsymmetricEncryption(AsymmetricEncryption::RsaPkcs1v15Crypt),
                true,
            ),
        ];
        for (key_type, bits, alg, valid) in cases {
            let result = validate_attributes(&attrs(key_type, bits, flags("sign_hash"), alg));
            assert_eq!(
                result.is_ok(),
                valid,
                "{key_type:?} {bits} {alg:?}: {result:?}"
            );
            if let Err(e) = result {
                assert!(matches!(e, ProviderError::InvalidArgument(_)), "{e:?}");
            }
        }
    }

    #[test]
    fn usage_flags_are_not_cross_checked() {
        // Stock Parsec clients import public keys with sign flags; PSA allows it.
        let a = attrs(
            P256_PUB,
            256,
            flags("sign_hash verify_hash"),
            Algorithm::AsymmetricSignature(ecdsa(SHA256)),
        );
        assert!(validate_attributes(&a).is_ok());
    }
}
