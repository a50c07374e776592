//! The [`Provider`] trait and its capability data: which operation families a provider has (the
//! dispatch mechanism: one trait per family), the exact opcodes it serves natively (ListOpcodes),
//! and how it runs each operation ([`Execution`]), so the service can keep slow backends off its
//! async workers and bound their concurrent work.

use keyward_protocol::ops::{CheckType, ProviderInfo};
use keyward_protocol::psa::{Algorithm, AsymmetricSignature, KeyAttributes, KeyType};
use keyward_protocol::{Opcode, ProviderId};

use crate::{
    AeadCrypt, AsymmetricCrypt, AsymmetricSign, CipherCrypt, HashOps, KeyAgreementOps,
    KeyManagement, MacOps, RandomSource,
};

/// A PSA operation family: one trait, one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    KeyManagement,
    AsymmetricSign,
    AsymmetricCrypt,
    Aead,
    Cipher,
    Mac,
    Hash,
    Random,
    KeyAgreement,
}

impl Family {
    /// The family serving `opcode`, if any family does (none for core opcodes and CanDoCrypto).
    pub fn of(opcode: Opcode) -> Option<Family> {
        FAMILY_OPCODES
            .iter()
            .find(|(_, opcodes)| opcodes.contains(&opcode))
            .map(|(family, _)| *family)
    }

    /// The opcodes this family serves.
    pub fn opcodes(self) -> &'static [Opcode] {
        FAMILY_OPCODES
            .iter()
            .find(|(family, _)| *family == self)
            .map_or(&[], |(_, opcodes)| *opcodes)
    }
}

/// Which opcodes each family serves. Adding an opcode to a family is one line here.
pub const FAMILY_OPCODES: &[(Family, &[Opcode])] = &[
    (
        Family::KeyManagement,
        &[
            Opcode::PsaGenerateKey,
            Opcode::PsaImportKey,
            Opcode::PsaExportPublicKey,
            Opcode::PsaExportKey,
            Opcode::PsaDestroyKey,
        ],
    ),
    (
        Family::AsymmetricSign,
        &[
            Opcode::PsaSignHash,
            Opcode::PsaVerifyHash,
            Opcode::PsaSignMessage,
            Opcode::PsaVerifyMessage,
        ],
    ),
    (
        Family::AsymmetricCrypt,
        &[Opcode::PsaAsymmetricEncrypt, Opcode::PsaAsymmetricDecrypt],
    ),
    (
        Family::Aead,
        &[Opcode::PsaAeadEncrypt, Opcode::PsaAeadDecrypt],
    ),
    (
        Family::Cipher,
        &[Opcode::PsaCipherEncrypt, Opcode::PsaCipherDecrypt],
    ),
    (Family::Mac, &[Opcode::PsaMacCompute, Opcode::PsaMacVerify]),
    (
        Family::Hash,
        &[Opcode::PsaHashCompute, Opcode::PsaHashCompare],
    ),
    (Family::Random, &[Opcode::PsaGenerateRandom]),
    (Family::KeyAgreement, &[Opcode::PsaRawKeyAgreement]),
];

/// Opcodes every provider serves, whatever its families: CanDoCrypto is answered by
/// [`Provider::can_do`].
pub const ALWAYS_OPCODES: &[Opcode] = &[Opcode::CanDoCrypto];

/// The operation families a provider implements: `None` means "not supported" for the whole
/// family (the service answers NotSupported without calling the provider).
#[derive(Clone, Copy, Default)]
pub struct Families<'a> {
    pub key_management: Option<&'a dyn KeyManagement>,
    pub sign: Option<&'a dyn AsymmetricSign>,
    pub asymmetric_crypt: Option<&'a dyn AsymmetricCrypt>,
    pub aead: Option<&'a dyn AeadCrypt>,
    pub cipher: Option<&'a dyn CipherCrypt>,
    pub mac: Option<&'a dyn MacOps>,
    pub hash: Option<&'a dyn HashOps>,
    pub random: Option<&'a dyn RandomSource>,
    pub key_agreement: Option<&'a dyn KeyAgreementOps>,
}

impl std::fmt::Debug for Families<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present: Vec<Family> = FAMILY_OPCODES
            .iter()
            .map(|(family, _)| *family)
            .filter(|family| self.has(*family))
            .collect();
        f.debug_tuple("Families").field(&present).finish()
    }
}

impl Families<'_> {
    /// True when the provider implements `family`.
    pub fn has(&self, family: Family) -> bool {
        match family {
            Family::KeyManagement => self.key_management.is_some(),
            Family::AsymmetricSign => self.sign.is_some(),
            Family::AsymmetricCrypt => self.asymmetric_crypt.is_some(),
            Family::Aead => self.aead.is_some(),
            Family::Cipher => self.cipher.is_some(),
            Family::Mac => self.mac.is_some(),
            Family::Hash => self.hash.is_some(),
            Family::Random => self.random.is_some(),
            Family::KeyAgreement => self.key_agreement.is_some(),
        }
    }

    /// The opcodes these families serve, sorted by wire value, for ListOpcodes. The service still
    /// filters out extension opcodes (e.g. MAC) for stock clients.
    pub fn opcodes(&self) -> Vec<Opcode> {
        let mut opcodes: Vec<Opcode> = FAMILY_OPCODES
            .iter()
            .filter(|(family, _)| self.has(*family))
            .flat_map(|(_, opcodes)| opcodes.iter().copied())
            .chain(ALWAYS_OPCODES.iter().copied())
            .collect();
        opcodes.sort_unstable();
        opcodes.dedup();
        opcodes
    }
}

/// How a provider runs one operation, so the service can decide where the work goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Execution {
    /// Takes microseconds (software ECDSA, AES, HMAC, hashes, small random outputs): the service
    /// runs it on the async worker that read the request, since handing it to another thread
    /// would cost more than the work.
    Inline,
    /// May take milliseconds or seconds (RSA private-key operations, RSA/DH key generation,
    /// every call into a PKCS#11 token or a TPM): the service runs it on its bounded blocking
    /// pool, at most [`Provider::max_blocking_in_flight`] at a time for this provider.
    Blocking,
}

/// A crypto backend. Implementations are shared between worker threads.
///
/// What a provider can do is data: [`Provider::families`] gives the trait objects the service
/// dispatches to, [`Provider::opcodes`] the exact opcodes it serves natively (ListOpcodes and
/// the service's "supported by this provider" check come from it), [`Provider::can_do`] the
/// key types and algorithms.
///
/// **Sign/verify-message for hash-only providers.** A provider whose device only signs hashes
/// (typical of PKCS#11 tokens and TPMs) leaves `PsaSignMessage` / `PsaVerifyMessage` out of
/// [`Provider::opcodes`] and answers `NotSupported` from
/// [`AsymmetricSign::sign_message`](crate::AsymmetricSign::sign_message) and `verify_message`.
/// The service (never the provider) then serves those opcodes itself: it computes the hash named
/// by the algorithm and calls `sign_hash` / `verify_hash`, after the same policy check
/// (`sign_hash` implies `sign_message`). So every provider with SignHash offers SignMessage on
/// the wire, and no backend re-implements the derivation.
pub trait Provider: Send + Sync {
    /// The wire provider ID this provider answers to.
    fn id(&self) -> ProviderId;

    /// The ListProviders entry.
    fn info(&self) -> ProviderInfo;

    /// The operation families this provider implements.
    fn families(&self) -> Families<'_>;

    /// The opcodes this provider serves natively, sorted by wire value, CanDoCrypto included.
    /// Each must belong to a family in [`Provider::families`] (the service dispatches through
    /// the family trait). The default is every opcode of those families, right for providers
    /// that implement each family completely; a provider that does not (e.g. signs only
    /// hashes) must override it.
    fn opcodes(&self) -> Vec<Opcode> {
        self.families().opcodes()
    }

    /// CanDoCrypto: whether the provider could use, generate, import or derive a key with these
    /// attributes. Answered from data, without touching keys.
    fn can_do(&self, check: CheckType, attributes: &KeyAttributes) -> bool;

    /// How `opcode` runs on this provider. `key` is the key involved: the stored key's attributes
    /// for an operation on a key, the requested attributes for GenerateKey and ImportKey, `None`
    /// for key-less operations (hash, random, CanDoCrypto). Answered from data, cheaply, before
    /// the work starts. Concerns of the service (request size, key-store writes) are not the
    /// provider's: a provider answers for its own part of the work only.
    fn execution(&self, opcode: Opcode, key: Option<&KeyAttributes>) -> Execution;

    /// How many [`Execution::Blocking`] operations of this provider may run at once (at least
    /// 1): the number of CPUs for software, 1 for a TPM (one device), the token's session limit
    /// for PKCS#11. Work beyond it waits in the service's queue for this provider.
    fn max_blocking_in_flight(&self) -> usize;
}

/// The opcodes a key of `key_type` whose policy permits `alg` can serve (not the key-management
/// ones, which every key has): e.g. an ECC key pair with ECDSA signs and verifies hashes and
/// messages, an ECC public key only verifies. For providers that build [`Provider::opcodes`]
/// from a table of supported key types and algorithms.
pub fn key_opcodes(key_type: KeyType, alg: Algorithm) -> &'static [Opcode] {
    use Opcode as O;
    let public = key_type.is_public_key();
    match alg {
        Algorithm::AsymmetricSignature(sig) => {
            // ECDSA-any and raw PKCS#1 v1.5 sign hashes only; the others hash messages too.
            let hashes = !matches!(
                sig,
                AsymmetricSignature::EcdsaAny | AsymmetricSignature::RsaPkcs1v15SignRaw
            );
            match (public, hashes) {
                (false, true) => &[
                    O::PsaSignHash,
                    O::PsaVerifyHash,
                    O::PsaSignMessage,
                    O::PsaVerifyMessage,
                ],
                (false, false) => &[O::PsaSignHash, O::PsaVerifyHash],
                (true, true) => &[O::PsaVerifyHash, O::PsaVerifyMessage],
                (true, false) => &[O::PsaVerifyHash],
            }
        }
        Algorithm::AsymmetricEncryption(_) if public => &[O::PsaAsymmetricEncrypt],
        Algorithm::AsymmetricEncryption(_) => &[O::PsaAsymmetricEncrypt, O::PsaAsymmetricDecrypt],
        Algorithm::Aead(_) => &[O::PsaAeadEncrypt, O::PsaAeadDecrypt],
        Algorithm::Cipher(_) => &[O::PsaCipherEncrypt, O::PsaCipherDecrypt],
        Algorithm::Mac(_) => &[O::PsaMacCompute, O::PsaMacVerify],
        Algorithm::KeyAgreement(_) if public => &[],
        Algorithm::KeyAgreement(_) => &[O::PsaRawKeyAgreement],
        Algorithm::None | Algorithm::Hash(_) | Algorithm::KeyDerivation(_) => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::opcode::ALL_OPCODES;

    #[test]
    fn no_opcode_belongs_to_two_families() {
        for op in ALL_OPCODES {
            let owners = FAMILY_OPCODES
                .iter()
                .filter(|(_, ops)| ops.contains(op))
                .count();
            assert!(owners <= 1, "{op:?} listed under {owners} families");
        }
    }

    #[test]
    fn no_core_opcode_in_the_table() {
        for (_, ops) in FAMILY_OPCODES {
            for op in *ops {
                assert!(!op.is_core(), "{op:?} is a core opcode");
            }
        }
    }

    #[test]
    fn empty_families_list_only_can_do_crypto() {
        assert_eq!(Families::default().opcodes(), vec![Opcode::CanDoCrypto]);
    }

    #[test]
    fn family_of_finds_the_owner() {
        assert_eq!(
            Family::of(Opcode::PsaSignHash),
            Some(Family::AsymmetricSign)
        );
        assert_eq!(Family::of(Opcode::PsaMacVerify), Some(Family::Mac));
        assert_eq!(Family::of(Opcode::Ping), None);
        assert_eq!(Family::of(Opcode::CanDoCrypto), None);
        for (family, opcodes) in FAMILY_OPCODES {
            assert_eq!(family.opcodes(), *opcodes);
            for op in *opcodes {
                assert_eq!(Family::of(*op), Some(*family));
            }
        }
    }

    #[test]
    fn key_opcodes_table() {
        use keyward_protocol::psa::{
            Aead, AeadWithDefaultLengthTag, AsymmetricEncryption, Cipher, EccFamily, FullLengthMac,
            Hash, KeyAgreement, Mac, RawKeyAgreement, SignHash,
        };
        use Opcode as O;
        let pair = KeyType::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        };
        let public = KeyType::EccPublicKey {
            curve_family: EccFamily::SecpR1,
        };
        let ecdsa = Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
            hash_alg: SignHash::Specific(Hash::Sha256),
        });
        let ecdsa_any = Algorithm::AsymmetricSignature(AsymmetricSignature::EcdsaAny);
        let raw_pkcs1 = Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPkcs1v15SignRaw);
        let oaep = Algorithm::AsymmetricEncryption(AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        });
        let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
        let cases: Vec<(KeyType, Algorithm, &[Opcode])> = vec![
            (
                pair,
                ecdsa,
                &[
                    O::PsaSignHash,
                    O::PsaVerifyHash,
                    O::PsaSignMessage,
                    O::PsaVerifyMessage,
                ],
            ),
            (public, ecdsa, &[O::PsaVerifyHash, O::PsaVerifyMessage]),
            (pair, ecdsa_any, &[O::PsaSignHash, O::PsaVerifyHash]),
            (public, ecdsa_any, &[O::PsaVerifyHash]),
            (
                KeyType::RsaKeyPair,
                raw_pkcs1,
                &[O::PsaSignHash, O::PsaVerifyHash],
            ),
            (
                KeyType::RsaKeyPair,
                oaep,
                &[O::PsaAsymmetricEncrypt, O::PsaAsymmetricDecrypt],
            ),
            (KeyType::RsaPublicKey, oaep, &[O::PsaAsymmetricEncrypt]),
            (
                KeyType::Aes,
                Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
                    AeadWithDefaultLengthTag::Gcm,
                )),
                &[O::PsaAeadEncrypt, O::PsaAeadDecrypt],
            ),
            (
                KeyType::Aes,
                Algorithm::Cipher(Cipher::Ctr),
                &[O::PsaCipherEncrypt, O::PsaCipherDecrypt],
            ),
            (
                KeyType::Hmac,
                Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac {
                    hash_alg: Hash::Sha256,
                })),
                &[O::PsaMacCompute, O::PsaMacVerify],
            ),
            (pair, ecdh, &[O::PsaRawKeyAgreement]),
            (public, ecdh, &[]),
            (KeyType::RawData, Algorithm::None, &[]),
            (KeyType::Hmac, Algorithm::Hash(Hash::Sha256), &[]),
        ];
        for (key_type, alg, expected) in cases {
            assert_eq!(key_opcodes(key_type, alg), expected, "{key_type:?} {alg:?}");
            for op in expected {
                assert!(Family::of(*op).is_some(), "{op:?} has a family");
            }
        }
    }

    /// A provider with only the hash family, relying on the trait's defaults.
    struct HashOnly;

    impl HashOps for HashOnly {
        fn hash_compute(
            &self,
            _: keyward_protocol::psa::Hash,
            _: &[u8],
        ) -> Result<Vec<u8>, crate::ProviderError> {
            Err(crate::ProviderError::not_supported("test"))
        }
        fn hash_compare(
            &self,
            _: keyward_protocol::psa::Hash,
            _: &[u8],
            _: &[u8],
        ) -> Result<(), crate::ProviderError> {
            Err(crate::ProviderError::not_supported("test"))
        }
    }

    impl Provider for HashOnly {
        fn id(&self) -> ProviderId {
            ProviderId::Software
        }
        fn info(&self) -> ProviderInfo {
            ProviderInfo {
                uuid: String::new(),
                description: String::new(),
                vendor: String::new(),
                version_maj: 0,
                version_min: 0,
                version_rev: 0,
                id: 1,
            }
        }
        fn families(&self) -> Families<'_> {
            Families {
                hash: Some(self),
                ..Families::default()
            }
        }
        fn can_do(&self, _: CheckType, _: &KeyAttributes) -> bool {
            false
        }
        fn execution(&self, _: Opcode, _: Option<&KeyAttributes>) -> Execution {
            Execution::Inline
        }
        fn max_blocking_in_flight(&self) -> usize {
            1
        }
    }

    #[test]
    fn default_opcodes_are_the_families_opcodes() {
        let mut expected = vec![
            Opcode::PsaHashCompute,
            Opcode::PsaHashCompare,
            Opcode::CanDoCrypto,
        ];
        expected.sort_unstable();
        assert_eq!(HashOnly.opcodes(), expected);
    }
}
