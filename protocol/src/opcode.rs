//! Operation codes: Parsec's table (reference §1.6) plus Keyward's own range.
//!
//! Keyward's own opcodes live at 0x4B00..=0x4BFF ("K"), far from Parsec's 0x0001..=0x0020, so a
//! future Parsec opcode cannot collide with them. Stock clients never see them: they are only
//! listed or answered for extension-aware requests (see [`crate::header::FLAG_KEYWARD_EXTENSIONS`]).

/// Every opcode Keyward knows, with its wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Opcode {
    Ping = 0x0001,
    PsaGenerateKey = 0x0002,
    PsaDestroyKey = 0x0003,
    PsaSignHash = 0x0004,
    PsaVerifyHash = 0x0005,
    PsaImportKey = 0x0006,
    PsaExportPublicKey = 0x0007,
    ListProviders = 0x0008,
    ListOpcodes = 0x0009,
    PsaAsymmetricEncrypt = 0x000A,
    PsaAsymmetricDecrypt = 0x000B,
    PsaExportKey = 0x000C,
    PsaGenerateRandom = 0x000D,
    ListAuthenticators = 0x000E,
    PsaHashCompute = 0x000F,
    PsaHashCompare = 0x0010,
    PsaAeadEncrypt = 0x0011,
    PsaAeadDecrypt = 0x0012,
    PsaRawKeyAgreement = 0x0013,
    PsaCipherEncrypt = 0x0014,
    PsaCipherDecrypt = 0x0015,
    /// In Parsec's book and .proto files but not in its interface crate: an extension for us.
    PsaMacCompute = 0x0016,
    /// See [`Opcode::PsaMacCompute`].
    PsaMacVerify = 0x0017,
    PsaSignMessage = 0x0018,
    PsaVerifyMessage = 0x0019,
    ListKeys = 0x001A,
    ListClients = 0x001B,
    DeleteClient = 0x001C,
    AttestKey = 0x001E,
    PrepareKeyAttestation = 0x001F,
    CanDoCrypto = 0x0020,
    /// Keyward: a trusted component shares its root or a new intermediate certificate.
    ShareTrustBundle = 0x4B01,
    /// Keyward: the orchestrator registers a client application with the identity provider.
    AddClient = 0x4B02,
    /// Keyward: the orchestrator proves a running client's identity to the identity provider.
    ProveClient = 0x4B03,
    /// Keyward: the orchestrator removes a client application from the identity provider.
    RemoveClient = 0x4B04,
    /// Keyward: a client application fetches a short-lived identity token.
    FetchToken = 0x4B05,
}

/// All opcodes, in wire order.
pub const ALL_OPCODES: &[Opcode] = &[
    Opcode::Ping,
    Opcode::PsaGenerateKey,
    Opcode::PsaDestroyKey,
    Opcode::PsaSignHash,
    Opcode::PsaVerifyHash,
    Opcode::PsaImportKey,
    Opcode::PsaExportPublicKey,
    Opcode::ListProviders,
    Opcode::ListOpcodes,
    Opcode::PsaAsymmetricEncrypt,
    Opcode::PsaAsymmetricDecrypt,
    Opcode::PsaExportKey,
    Opcode::PsaGenerateRandom,
    Opcode::ListAuthenticators,
    Opcode::PsaHashCompute,
    Opcode::PsaHashCompare,
    Opcode::PsaAeadEncrypt,
    Opcode::PsaAeadDecrypt,
    Opcode::PsaRawKeyAgreement,
    Opcode::PsaCipherEncrypt,
    Opcode::PsaCipherDecrypt,
    Opcode::PsaMacCompute,
    Opcode::PsaMacVerify,
    Opcode::PsaSignMessage,
    Opcode::PsaVerifyMessage,
    Opcode::ListKeys,
    Opcode::ListClients,
    Opcode::DeleteClient,
    Opcode::AttestKey,
    Opcode::PrepareKeyAttestation,
    Opcode::CanDoCrypto,
    Opcode::ShareTrustBundle,
    Opcode::AddClient,
    Opcode::ProveClient,
    Opcode::RemoveClient,
    Opcode::FetchToken,
];

impl Opcode {
    /// The opcode for a wire value, if Keyward knows it.
    pub fn from_u32(value: u32) -> Option<Opcode> {
        ALL_OPCODES.iter().copied().find(|op| *op as u32 == value)
    }

    /// True for opcodes a stock Parsec client knows (its interface crate's enum).
    /// Everything else may only reach extension-aware clients.
    pub fn is_parsec_standard(self) -> bool {
        !matches!(
            self,
            Opcode::PsaMacCompute
                | Opcode::PsaMacVerify
                | Opcode::ShareTrustBundle
                | Opcode::AddClient
                | Opcode::ProveClient
                | Opcode::RemoveClient
                | Opcode::FetchToken
        )
    }

    /// Operations served by the core provider (provider 0), as in Parsec.
    pub fn is_core(self) -> bool {
        matches!(
            self,
            Opcode::Ping
                | Opcode::ListProviders
                | Opcode::ListOpcodes
                | Opcode::ListAuthenticators
                | Opcode::ListKeys
                | Opcode::ListClients
                | Opcode::DeleteClient
                | Opcode::ShareTrustBundle
                | Opcode::AddClient
                | Opcode::ProveClient
                | Opcode::RemoveClient
                | Opcode::FetchToken
        )
    }

    /// Operations only configured admins may call.
    pub fn is_admin(self) -> bool {
        matches!(self, Opcode::ListClients | Opcode::DeleteClient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_are_unique() {
        for op in ALL_OPCODES {
            assert_eq!(Opcode::from_u32(*op as u32), Some(*op));
        }
        let mut values: Vec<u32> = ALL_OPCODES.iter().map(|op| *op as u32).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), ALL_OPCODES.len());
    }

    #[test]
    fn unknown_values_are_rejected() {
        for value in [0u32, 0x1D, 0x21, 0x4B00, 0x4B06, u32::MAX] {
            assert_eq!(Opcode::from_u32(value), None, "{value:#x}");
        }
    }

    #[test]
    fn extensions_do_not_collide_with_parsec_range() {
        for op in ALL_OPCODES.iter().filter(|op| !op.is_parsec_standard()) {
            let value = *op as u32;
            assert!(value == 0x16 || value == 0x17 || (0x4B00..=0x4BFF).contains(&value));
        }
    }
}
