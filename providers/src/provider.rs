//! The [`Provider`] trait and its capability data: which operation families a provider has, and
//! the one table that turns families into the opcodes it serves (ListOpcodes).

use keyward_protocol::ops::{CheckType, ProviderInfo};
use keyward_protocol::psa::KeyAttributes;
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

/// A crypto backend. Implementations are shared between worker threads.
pub trait Provider: Send + Sync {
    /// The wire provider ID this provider answers to.
    fn id(&self) -> ProviderId;

    /// The ListProviders entry.
    fn info(&self) -> ProviderInfo;

    /// The operation families this provider implements.
    fn families(&self) -> Families<'_>;

    /// CanDoCrypto: whether the provider could use, generate, import or derive a key with these
    /// attributes. Answered from data, without touching keys.
    fn can_do(&self, check: CheckType, attributes: &KeyAttributes) -> bool;
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
}
