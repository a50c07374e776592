//! Typed requests ([`Operation`]) and results ([`OperationResult`]) for every operation.
//! The protobuf encoding of each lives in [`crate::codec`]; nothing else sees protobuf.

use zeroize::Zeroizing;

use crate::opcode::Opcode;
use crate::psa::{
    Aead, AsymmetricEncryption, AsymmetricSignature, Cipher, Hash, KeyAttributes, Mac,
    RawKeyAgreement,
};

/// Bytes that may be secret (plaintexts, private keys, shared secrets): zeroized on drop.
pub type Secret = Zeroizing<Vec<u8>>;

/// What CanDoCrypto is asked to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckType {
    Use,
    Generate,
    Import,
    Derive,
}

/// A provider as described by ListProviders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    pub uuid: String,
    pub description: String,
    pub vendor: String,
    pub version_maj: u32,
    pub version_min: u32,
    pub version_rev: u32,
    pub id: u8,
}

/// An authenticator as described by ListAuthenticators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorInfo {
    pub description: String,
    pub version_maj: u32,
    pub version_min: u32,
    pub version_rev: u32,
    pub id: u8,
}

/// A key as described by ListKeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub provider_id: u8,
    pub name: String,
    pub attributes: KeyAttributes,
}

/// A decoded request body. Its `Debug` shows only the opcode: bodies may hold secrets.
pub enum Operation {
    Ping,
    ListProviders,
    ListOpcodes {
        provider_id: u8,
    },
    ListAuthenticators,
    ListKeys,
    ListClients,
    DeleteClient {
        client: String,
    },
    GenerateKey {
        key_name: String,
        attributes: KeyAttributes,
    },
    ImportKey {
        key_name: String,
        attributes: KeyAttributes,
        data: Secret,
    },
    DestroyKey {
        key_name: String,
    },
    ExportPublicKey {
        key_name: String,
    },
    ExportKey {
        key_name: String,
    },
    SignHash {
        key_name: String,
        alg: AsymmetricSignature,
        hash: Vec<u8>,
    },
    VerifyHash {
        key_name: String,
        alg: AsymmetricSignature,
        hash: Vec<u8>,
        signature: Vec<u8>,
    },
    SignMessage {
        key_name: String,
        alg: AsymmetricSignature,
        message: Vec<u8>,
    },
    VerifyMessage {
        key_name: String,
        alg: AsymmetricSignature,
        message: Vec<u8>,
        signature: Vec<u8>,
    },
    AsymmetricEncrypt {
        key_name: String,
        alg: AsymmetricEncryption,
        plaintext: Secret,
        salt: Option<Vec<u8>>,
    },
    AsymmetricDecrypt {
        key_name: String,
        alg: AsymmetricEncryption,
        ciphertext: Vec<u8>,
        salt: Option<Vec<u8>>,
    },
    AeadEncrypt {
        key_name: String,
        alg: Aead,
        nonce: Vec<u8>,
        additional_data: Vec<u8>,
        plaintext: Secret,
    },
    AeadDecrypt {
        key_name: String,
        alg: Aead,
        nonce: Vec<u8>,
        additional_data: Vec<u8>,
        ciphertext: Vec<u8>,
    },
    CipherEncrypt {
        key_name: String,
        alg: Cipher,
        plaintext: Secret,
    },
    CipherDecrypt {
        key_name: String,
        alg: Cipher,
        ciphertext: Vec<u8>,
    },
    MacCompute {
        key_name: String,
        alg: Mac,
        input: Vec<u8>,
    },
    MacVerify {
        key_name: String,
        alg: Mac,
        input: Vec<u8>,
        mac: Vec<u8>,
    },
    HashCompute {
        alg: Hash,
        input: Vec<u8>,
    },
    HashCompare {
        alg: Hash,
        input: Vec<u8>,
        hash: Vec<u8>,
    },
    GenerateRandom {
        size: u64,
    },
    RawKeyAgreement {
        alg: RawKeyAgreement,
        private_key_name: String,
        peer_key: Vec<u8>,
    },
    CanDoCrypto {
        check_type: CheckType,
        attributes: KeyAttributes,
    },
}

/// A result to encode into a response body. Its `Debug` shows only the variant: results may
/// hold secrets (exported keys, plaintexts, shared secrets).
pub enum OperationResult {
    Ping {
        wire_protocol_version_maj: u8,
        wire_protocol_version_min: u8,
    },
    ListProviders {
        providers: Vec<ProviderInfo>,
    },
    ListOpcodes {
        opcodes: Vec<u32>,
    },
    ListAuthenticators {
        authenticators: Vec<AuthenticatorInfo>,
    },
    ListKeys {
        keys: Vec<KeyInfo>,
    },
    ListClients {
        clients: Vec<String>,
    },
    DeleteClient,
    GenerateKey,
    ImportKey,
    DestroyKey,
    ExportPublicKey {
        data: Vec<u8>,
    },
    ExportKey {
        data: Secret,
    },
    SignHash {
        signature: Vec<u8>,
    },
    VerifyHash,
    SignMessage {
        signature: Vec<u8>,
    },
    VerifyMessage,
    AsymmetricEncrypt {
        ciphertext: Vec<u8>,
    },
    AsymmetricDecrypt {
        plaintext: Secret,
    },
    AeadEncrypt {
        ciphertext: Vec<u8>,
    },
    AeadDecrypt {
        plaintext: Secret,
    },
    CipherEncrypt {
        ciphertext: Vec<u8>,
    },
    CipherDecrypt {
        plaintext: Secret,
    },
    MacCompute {
        mac: Vec<u8>,
    },
    MacVerify,
    HashCompute {
        hash: Vec<u8>,
    },
    HashCompare,
    GenerateRandom {
        random_bytes: Secret,
    },
    RawKeyAgreement {
        shared_secret: Secret,
    },
    CanDoCrypto,
}

impl Operation {
    /// The opcode this request is sent under.
    pub fn opcode(&self) -> Opcode {
        match self {
            Operation::Ping => Opcode::Ping,
            Operation::ListProviders => Opcode::ListProviders,
            Operation::ListOpcodes { .. } => Opcode::ListOpcodes,
            Operation::ListAuthenticators => Opcode::ListAuthenticators,
            Operation::ListKeys => Opcode::ListKeys,
            Operation::ListClients => Opcode::ListClients,
            Operation::DeleteClient { .. } => Opcode::DeleteClient,
            Operation::GenerateKey { .. } => Opcode::PsaGenerateKey,
            Operation::ImportKey { .. } => Opcode::PsaImportKey,
            Operation::DestroyKey { .. } => Opcode::PsaDestroyKey,
            Operation::ExportPublicKey { .. } => Opcode::PsaExportPublicKey,
            Operation::ExportKey { .. } => Opcode::PsaExportKey,
            Operation::SignHash { .. } => Opcode::PsaSignHash,
            Operation::VerifyHash { .. } => Opcode::PsaVerifyHash,
            Operation::SignMessage { .. } => Opcode::PsaSignMessage,
            Operation::VerifyMessage { .. } => Opcode::PsaVerifyMessage,
            Operation::AsymmetricEncrypt { .. } => Opcode::PsaAsymmetricEncrypt,
            Operation::AsymmetricDecrypt { .. } => Opcode::PsaAsymmetricDecrypt,
            Operation::AeadEncrypt { .. } => Opcode::PsaAeadEncrypt,
            Operation::AeadDecrypt { .. } => Opcode::PsaAeadDecrypt,
            Operation::CipherEncrypt { .. } => Opcode::PsaCipherEncrypt,
            Operation::CipherDecrypt { .. } => Opcode::PsaCipherDecrypt,
            Operation::MacCompute { .. } => Opcode::PsaMacCompute,
            Operation::MacVerify { .. } => Opcode::PsaMacVerify,
            Operation::HashCompute { .. } => Opcode::PsaHashCompute,
            Operation::HashCompare { .. } => Opcode::PsaHashCompare,
            Operation::GenerateRandom { .. } => Opcode::PsaGenerateRandom,
            Operation::RawKeyAgreement { .. } => Opcode::PsaRawKeyAgreement,
            Operation::CanDoCrypto { .. } => Opcode::CanDoCrypto,
        }
    }

    /// The caller-chosen key name this request acts on, if any (for audit logs).
    pub fn key_name(&self) -> Option<&str> {
        match self {
            Operation::GenerateKey { key_name, .. }
            | Operation::ImportKey { key_name, .. }
            | Operation::DestroyKey { key_name }
            | Operation::ExportPublicKey { key_name }
            | Operation::ExportKey { key_name }
            | Operation::SignHash { key_name, .. }
            | Operation::VerifyHash { key_name, .. }
            | Operation::SignMessage { key_name, .. }
            | Operation::VerifyMessage { key_name, .. }
            | Operation::AsymmetricEncrypt { key_name, .. }
            | Operation::AsymmetricDecrypt { key_name, .. }
            | Operation::AeadEncrypt { key_name, .. }
            | Operation::AeadDecrypt { key_name, .. }
            | Operation::CipherEncrypt { key_name, .. }
            | Operation::CipherDecrypt { key_name, .. }
            | Operation::MacCompute { key_name, .. }
            | Operation::MacVerify { key_name, .. } => Some(key_name),
            Operation::RawKeyAgreement {
                private_key_name, ..
            } => Some(private_key_name),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Operation::{:?} {{ .. }}", self.opcode())
    }
}

impl OperationResult {
    /// The variant's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            OperationResult::Ping { .. } => "Ping",
            OperationResult::ListProviders { .. } => "ListProviders",
            OperationResult::ListOpcodes { .. } => "ListOpcodes",
            OperationResult::ListAuthenticators { .. } => "ListAuthenticators",
            OperationResult::ListKeys { .. } => "ListKeys",
            OperationResult::ListClients { .. } => "ListClients",
            OperationResult::DeleteClient => "DeleteClient",
            OperationResult::GenerateKey => "GenerateKey",
            OperationResult::ImportKey => "ImportKey",
            OperationResult::DestroyKey => "DestroyKey",
            OperationResult::ExportPublicKey { .. } => "ExportPublicKey",
            OperationResult::ExportKey { .. } => "ExportKey",
            OperationResult::SignHash { .. } => "SignHash",
            OperationResult::VerifyHash => "VerifyHash",
            OperationResult::SignMessage { .. } => "SignMessage",
            OperationResult::VerifyMessage => "VerifyMessage",
            OperationResult::AsymmetricEncrypt { .. } => "AsymmetricEncrypt",
            OperationResult::AsymmetricDecrypt { .. } => "AsymmetricDecrypt",
            OperationResult::AeadEncrypt { .. } => "AeadEncrypt",
            OperationResult::AeadDecrypt { .. } => "AeadDecrypt",
            OperationResult::CipherEncrypt { .. } => "CipherEncrypt",
            OperationResult::CipherDecrypt { .. } => "CipherDecrypt",
            OperationResult::MacCompute { .. } => "MacCompute",
            OperationResult::MacVerify => "MacVerify",
            OperationResult::HashCompute { .. } => "HashCompute",
            OperationResult::HashCompare => "HashCompare",
            OperationResult::GenerateRandom { .. } => "GenerateRandom",
            OperationResult::RawKeyAgreement { .. } => "RawKeyAgreement",
            OperationResult::CanDoCrypto => "CanDoCrypto",
        }
    }
}

impl std::fmt::Debug for OperationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperationResult::{} {{ .. }}", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret_bytes() {
        let op = Operation::ImportKey {
            key_name: "k".into(),
            attributes: crate::psa::KeyAttributes {
                key_type: crate::psa::KeyType::Aes,
                bits: 128,
                policy: crate::psa::KeyPolicy {
                    usage_flags: crate::psa::UsageFlags::default(),
                    permitted_algorithms: crate::psa::Algorithm::None,
                },
            },
            data: Zeroizing::new(vec![0xAB; 16]),
        };
        let shown = format!("{op:?}");
        assert_eq!(shown, "Operation::PsaImportKey { .. }");
        let result = OperationResult::ExportKey {
            data: Zeroizing::new(vec![0xAB; 16]),
        };
        assert_eq!(format!("{result:?}"), "OperationResult::ExportKey { .. }");
        assert!(!format!("{result:?}").contains("171"));
    }
}
