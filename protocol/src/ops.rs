//! Typed requests ([`Operation`]) and results ([`OperationResult`]) for every operation.
//! The protobuf encoding of each lives in [`crate::codec`]; nothing else sees protobuf.

use zeroize::Zeroizing;

use crate::opcode::Opcode;
use crate::psa::{
    Aead, AsymmetricEncryption, AsymmetricSignature, Cipher, Hash, KeyAttributes, Mac,
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

/// Generates, from one table, the request enum [`Operation`] and the result enum
/// [`OperationResult`] (what clients build and read), one struct per request in [`request`] and per
/// result in [`reply`] (what servers' handlers receive and return), the conversions between them,
/// and the [`Request`] trait tying a request to its opcode and reply. Each row reads
/// `Variant(Opcode) { request fields } => { result fields };`; an operation without fields in
/// either direction leaves the braces out.
macro_rules! operations {
    ($(
        $(#[$doc:meta])*
        $variant:ident($opcode:ident)
            $({ $($req:ident : $req_ty:ty),* $(,)? })?
            => $({ $($res:ident : $res_ty:ty),* $(,)? })?;
    )+) => {
        /// A decoded request body. Its `Debug` shows only the opcode: bodies may hold secrets.
        pub enum Operation {
            $( $(#[$doc])* $variant $({ $($req: $req_ty),* })?, )+
        }

        /// A result to encode into a response body. Its `Debug` shows only the variant: results
        /// may hold secrets (exported keys, plaintexts, shared secrets).
        pub enum OperationResult {
            $( $variant $({ $($res: $res_ty),* })?, )+
        }

        /// One struct per request, with the fields of its [`Operation`] variant: what a
        /// server's handler for that operation receives.
        pub mod request {
            use super::*;
            $(
                $(#[$doc])*
                #[allow(missing_docs, reason = "the fields are those of the Operation variant")]
                pub struct $variant { $($(pub $req: $req_ty),*)? }

                impl std::fmt::Debug for $variant {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("request::", stringify!($variant), " { .. }"))
                    }
                }

                impl From<$variant> for Operation {
                    fn from(request: $variant) -> Operation {
                        let $variant { $($($req),*)? } = request;
                        Operation::$variant $({ $($req),* })?
                    }
                }

                impl TryFrom<Operation> for $variant {
                    type Error = Operation;
                    fn try_from(operation: Operation) -> Result<$variant, Operation> {
                        match operation {
                            Operation::$variant $({ $($req),* })? => Ok($variant { $($($req),*)? }),
                            other => Err(other),
                        }
                    }
                }

                impl Request for $variant {
                    const OPCODE: Opcode = Opcode::$opcode;
                    type Reply = super::reply::$variant;
                }
            )+
        }

        /// One struct per result, with the fields of its [`OperationResult`] variant: what a
        /// server's handler for that operation returns.
        pub mod reply {
            use super::*;
            $(
                #[allow(missing_docs, reason = "the fields are those of the OperationResult variant")]
                pub struct $variant { $($(pub $res: $res_ty),*)? }

                impl std::fmt::Debug for $variant {
                    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("reply::", stringify!($variant), " { .. }"))
                    }
                }

                impl From<$variant> for OperationResult {
                    fn from(reply: $variant) -> OperationResult {
                        let $variant { $($($res),*)? } = reply;
                        OperationResult::$variant $({ $($res),* })?
                    }
                }
            )+
        }

        impl Operation {
            /// The opcode this request is sent under.
            pub fn opcode(&self) -> Opcode {
                match self {
                    $( Operation::$variant { .. } => Opcode::$opcode, )+
                }
            }
        }

        impl OperationResult {
            /// The variant's name, for logs and errors.
            pub fn name(&self) -> &'static str {
                match self {
                    $( OperationResult::$variant { .. } => stringify!($variant), )+
                }
            }
        }
    };
}

/// A typed request: its opcode and the reply its handler produces.
pub trait Request:
    Into<Operation> + TryFrom<Operation, Error = Operation> + Send + 'static
{
    /// The opcode it is sent under.
    const OPCODE: Opcode;
    /// What a successful handler returns.
    type Reply: Into<OperationResult> + Send + 'static;
}

operations! {
    Ping(Ping) => {
        wire_protocol_version_maj: u8,
        wire_protocol_version_min: u8,
    };
    ListProviders(ListProviders) => { providers: Vec<ProviderInfo> };
    ListOpcodes(ListOpcodes) { provider_id: u8 } => { opcodes: Vec<u32> };
    ListAuthenticators(ListAuthenticators) => { authenticators: Vec<AuthenticatorInfo> };
    ListKeys(ListKeys) => { keys: Vec<KeyInfo> };
    ListClients(ListClients) => { clients: Vec<String> };
    DeleteClient(DeleteClient) { client: String } =>;
    GenerateKey(PsaGenerateKey) { key_name: String, attributes: KeyAttributes } =>;
    ImportKey(PsaImportKey) { key_name: String, attributes: KeyAttributes, data: Secret } =>;
    DestroyKey(PsaDestroyKey) { key_name: String } =>;
    ExportPublicKey(PsaExportPublicKey) { key_name: String } => { data: Vec<u8> };
    ExportKey(PsaExportKey) { key_name: String } => { data: Secret };
    SignHash(PsaSignHash) { key_name: String, alg: AsymmetricSignature, hash: Vec<u8> }
        => { signature: Vec<u8> };
    VerifyHash(PsaVerifyHash) {
        key_name: String,
        alg: AsymmetricSignature,
        hash: Vec<u8>,
        signature: Vec<u8>,
    } =>;
    SignMessage(PsaSignMessage) {
        key_name: String,
        alg: AsymmetricSignature,
        message: Vec<u8>,
    } => { signature: Vec<u8> };
    VerifyMessage(PsaVerifyMessage) {
        key_name: String,
        alg: AsymmetricSignature,
        message: Vec<u8>,
        signature: Vec<u8>,
    } =>;
    AsymmetricEncrypt(PsaAsymmetricEncrypt) {
        key_name: String,
        alg: AsymmetricEncryption,
        plaintext: Secret,
        salt: Option<Vec<u8>>,
    } => { ciphertext: Vec<u8> };
    AsymmetricDecrypt(PsaAsymmetricDecrypt) {
        key_name: String,
        alg: AsymmetricEncryption,
        ciphertext: Vec<u8>,
        salt: Option<Vec<u8>>,
    } => { plaintext: Secret };
    AeadEncrypt(PsaAeadEncrypt) {
        key_name: String,
        alg: Aead,
        nonce: Vec<u8>,
        additional_data: Vec<u8>,
        plaintext: Secret,
    } => { ciphertext: Vec<u8> };
    AeadDecrypt(PsaAeadDecrypt) {
        key_name: String,
        alg: Aead,
        nonce: Vec<u8>,
        additional_data: Vec<u8>,
        ciphertext: Vec<u8>,
    } => { plaintext: Secret };
    CipherEncrypt(PsaCipherEncrypt) { key_name: String, alg: Cipher, plaintext: Secret }
        => { ciphertext: Vec<u8> };
    CipherDecrypt(PsaCipherDecrypt) { key_name: String, alg: Cipher, ciphertext: Vec<u8> }
        => { plaintext: Secret };
    MacCompute(PsaMacCompute) { key_name: String, alg: Mac, input: Vec<u8> } => { mac: Vec<u8> };
    MacVerify(PsaMacVerify) { key_name: String, alg: Mac, input: Vec<u8>, mac: Vec<u8> } =>;
    HashCompute(PsaHashCompute) { alg: Hash, input: Vec<u8> } => { hash: Vec<u8> };
    HashCompare(PsaHashCompare) { alg: Hash, input: Vec<u8>, hash: Vec<u8> } =>;
    GenerateRandom(PsaGenerateRandom) { size: u64 } => { random_bytes: Secret };
    RawKeyAgreement(PsaRawKeyAgreement) {
        alg: crate::psa::RawKeyAgreement,
        private_key_name: String,
        peer_key: Vec<u8>,
    } => { shared_secret: Secret };
    CanDoCrypto(CanDoCrypto) { check_type: CheckType, attributes: KeyAttributes } =>;
    ShareTrustBundle(ShareTrustBundle) { certificate: Vec<u8>, is_root: bool }
        => { instance_id: String };
    AddClient(AddClient) { payload: String } => { instance_id: String };
    ProveClient(ProveClient) { payload: String } => { instance_id: String };
    RemoveClient(RemoveClient) { payload: String } => { instance_id: String };
    FetchToken(FetchToken) { audience: String, spiffe_id: String }
        => { token: Secret, spiffe_id: String, expires_at: u64 };
    ReplaceTrustRoot(ReplaceTrustRoot) { certificate: Vec<u8> } =>;
}

impl Operation {
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

    /// An upper bound of the size of a successful reply's body for this request, known before
    /// the work is done, so a server can reserve memory for it first. `max_response_len` bounds
    /// replies whose size depends on stored data (key and client lists).
    pub fn reply_bound(&self, max_response_len: usize) -> usize {
        // Room for protobuf framing and a large RSA modulus (8192 bits).
        const SMALL: usize = 2048;
        match self {
            Operation::GenerateRandom { size } => {
                usize::try_from(*size).map_or(max_response_len, |size| size.saturating_add(16))
            }
            Operation::AeadEncrypt { plaintext, .. }
            | Operation::CipherEncrypt { plaintext, .. } => plaintext.len() + 64,
            Operation::AeadDecrypt { ciphertext, .. }
            | Operation::CipherDecrypt { ciphertext, .. } => ciphertext.len() + 64,
            Operation::HashCompute { .. } => 128,
            Operation::ListKeys | Operation::ListClients => max_response_len,
            Operation::ListProviders
            | Operation::ListOpcodes { .. }
            | Operation::ListAuthenticators => 16 * 1024,
            _ => SMALL,
        }
        .min(max_response_len)
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Operation::{:?} {{ .. }}", self.opcode())
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
