//! Provider IDs (reference §1.8). Keyward reuses Parsec's numbers so stock clients accept them.

/// A provider ID as carried in header byte 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ProviderId {
    /// The core provider: informational and administrative operations.
    Core = 0,
    /// Parsec's "MbedCrypto" slot; Keyward's software provider (aws-lc-rs) answers here.
    Software = 1,
    Pkcs11 = 2,
    Tpm = 3,
    TrustedService = 4,
    CryptoAuthLib = 5,
}

impl ProviderId {
    /// The provider ID for a wire value; values above 5 do not exist for stock clients.
    pub fn from_u8(value: u8) -> Option<ProviderId> {
        Some(match value {
            0 => ProviderId::Core,
            1 => ProviderId::Software,
            2 => ProviderId::Pkcs11,
            3 => ProviderId::Tpm,
            4 => ProviderId::TrustedService,
            5 => ProviderId::CryptoAuthLib,
            _ => return None,
        })
    }
}
