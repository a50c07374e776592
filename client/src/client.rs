//! [`BasicClient`]: one method per operation, all built on one generic [`BasicClient::call`].
//!
//! Smart defaults as in Parsec's `BasicClient`, adjusted for Keyward: the implicit provider is
//! chosen per operation (the first non-core provider whose ListOpcodes has it), and the
//! authenticator is the best one the service enables that this client can use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keyward_protocol::codec;
use keyward_protocol::header::{CONTENT_TYPE_PROTOBUF, FLAG_KEYWARD_EXTENSIONS};
use keyward_protocol::ops::{AuthenticatorInfo, CheckType, KeyInfo, ProviderInfo};
use keyward_protocol::psa::{
    Aead, AsymmetricEncryption, AsymmetricSignature, Cipher, Hash, KeyAttributes, Mac,
    RawKeyAgreement,
};
use keyward_protocol::{
    Opcode, Operation, OperationResult, ProviderId, ResponseStatus, Secret, WireHeader,
};
use zeroize::Zeroizing;

use crate::auth::{AuthOptions, Authentication, TokenSource};
use crate::endpoint;
use crate::error::{ClientError, ProtocolError, Result};
use crate::transport::{check_response, Connection, ConnectionMode, TransportConfig};

/// Builds a [`BasicClient`], overriding any of its defaults.
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    endpoint: Option<PathBuf>,
    provider: Option<ProviderId>,
    auth: Option<Authentication>,
    auth_options: AuthOptions,
    timeout: Option<Option<Duration>>,
    mode: ConnectionMode,
    stock_mode: bool,
    max_body_len: Option<u32>,
    naked: bool,
}

impl ClientBuilder {
    /// The socket path (default: discovered, see [`endpoint::discover`]).
    pub fn endpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.endpoint = Some(path.into());
        self
    }

    /// Sends every crypto operation to this provider instead of choosing per operation.
    pub fn provider(mut self, provider: ProviderId) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Uses this authentication instead of asking the service which to use.
    pub fn auth(mut self, auth: Authentication) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The application name, allowing Direct authentication when the service offers it.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.auth_options.app_name = Some(name.into());
        self
    }

    /// A token source, allowing JWT authentication when the service offers it.
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.auth_options.token_source = Some(source);
        self
    }

    /// A JWT-SVID, allowing JwtSvid authentication when the service offers it.
    pub fn jwt_svid(mut self, token: impl Into<String>) -> Self {
        self.auth_options.jwt_svid = Some(Zeroizing::new(token.into()));
        self
    }

    /// Socket read/write time-out (default 60 s); `None` or zero waits forever.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Persistent connections (default) or one connection per request.
    pub fn connection_mode(mut self, mode: ConnectionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Behave exactly like a stock Parsec client: no extensions flag, and Keyward-only
    /// statuses are refused as unknown.
    pub fn stock_mode(mut self, stock: bool) -> Self {
        self.stock_mode = stock;
        self
    }

    /// Largest response body accepted (default 16 MiB).
    pub fn max_body_len(mut self, len: u32) -> Self {
        self.max_body_len = Some(len);
        self
    }

    /// Skip discovery: no request is sent while building, authentication is None unless
    /// set, and providers are only listed if a crypto operation needs one. Enough for ping
    /// and the informational operations (parsec-tool's `new_naked`).
    pub fn naked(mut self) -> Self {
        self.naked = true;
        self
    }

    /// Connects (lazily) and, unless naked, discovers the providers and the authenticator.
    pub fn build(self) -> Result<BasicClient> {
        let endpoint = match self.endpoint {
            Some(path) => path,
            None => endpoint::discover()?,
        };
        let mut config = TransportConfig::new(endpoint);
        if let Some(timeout) = self.timeout {
            config.timeout = timeout;
        }
        if let Some(len) = self.max_body_len {
            config.max_body_len = len;
        }
        config.mode = self.mode;
        let mut client = BasicClient {
            connection: Connection::new(config),
            auth: self.auth.clone().unwrap_or(Authentication::None),
            stock_mode: self.stock_mode,
            provider: self.provider,
            providers: Mutex::new(None),
            opcodes: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        };
        if self.naked {
            return Ok(client);
        }
        if self.provider.is_none() {
            client.providers()?;
        }
        if self.auth.is_none() {
            let offered: Vec<u8> = client
                .list_authenticators()?
                .iter()
                .map(|info| info.id)
                .collect();
            client.auth = self.auth_options.choose(&offered)?;
        }
        Ok(client)
    }
}

/// A blocking client of the Keyward (or Parsec) service. `Send + Sync`: share it between
/// threads; in persistent mode each concurrent caller gets its own pooled connection.
#[derive(Debug)]
pub struct BasicClient {
    connection: Connection,
    auth: Authentication,
    stock_mode: bool,
    provider: Option<ProviderId>,
    /// Non-core providers in the service's order, listed once.
    providers: Mutex<Option<Arc<[ProviderId]>>>,
    /// ListOpcodes per provider, listed once each.
    opcodes: Mutex<HashMap<ProviderId, Arc<[Opcode]>>>,
    /// ListKeys results, for the convenience API (see `simple.rs`).
    pub(crate) keys: Mutex<HashMap<String, KeyInfo>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Caches stay valid if a holder panicked: keep using them.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The error for a result of the wrong kind (the codec decodes by opcode, so this means a
/// codec bug, but it must not panic).
pub(crate) fn unexpected(opcode: Opcode) -> ClientError {
    ProtocolError::UnexpectedResult(opcode).into()
}

/// Unwraps the one result variant an operation may produce.
macro_rules! expect_result {
    ($result:expr, $opcode:expr, $pattern:pat => $value:expr) => {
        match $result {
            $pattern => Ok($value),
            _ => Err(unexpected($opcode)),
        }
    };
}

impl BasicClient {
    /// A client with all defaults: discovered endpoint, implicit providers, best authenticator.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder to override the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The authentication this client sends.
    pub fn auth(&self) -> &Authentication {
        &self.auth
    }

    /// The socket this client talks to.
    pub fn endpoint(&self) -> &std::path::Path {
        self.connection.endpoint()
    }

    /// True when the client behaves like a stock Parsec client.
    pub fn is_stock_mode(&self) -> bool {
        self.stock_mode
    }

    /// Sends `operation` to `provider` with this client's authentication (Ping always without,
    /// as in Parsec) and returns the decoded result. Every typed method goes through here.
    pub fn call(&self, provider: ProviderId, operation: Operation) -> Result<OperationResult> {
        let auth = if operation.opcode() == Opcode::Ping {
            &Authentication::None
        } else {
            &self.auth
        };
        self.call_as(provider, auth, &operation)
    }

    /// [`BasicClient::call`] with explicit authentication.
    pub fn call_as(
        &self,
        provider: ProviderId,
        auth: &Authentication,
        operation: &Operation,
    ) -> Result<OperationResult> {
        let opcode = operation.opcode();
        // The body may carry a plaintext or key material.
        let body = Zeroizing::new(codec::encode_operation(operation));
        let auth_field = auth.auth_field()?;
        let header = WireHeader {
            flags: if self.stock_mode {
                0
            } else {
                FLAG_KEYWARD_EXTENSIONS
            },
            provider: provider as u8,
            session: 0,
            content_type: CONTENT_TYPE_PROTOBUF,
            accept_type: CONTENT_TYPE_PROTOBUF,
            auth_type: auth.auth_type() as u8,
            body_len: u32::try_from(body.len())
                .map_err(|_| ClientError::RequestTooLarge("body over 4 GiB"))?,
            auth_len: u16::try_from(auth_field.len())
                .map_err(|_| ClientError::RequestTooLarge("auth field over 64 KiB"))?,
            opcode: opcode as u32,
            status: 0,
        };
        let response = self.connection.round_trip(&header, &body, &auth_field)?;
        let response_body = Zeroizing::new(response.body);
        let status = check_response(&header, &response.header, self.stock_mode)?;
        if status != ResponseStatus::Success {
            return Err(ClientError::Service { status, opcode });
        }
        Ok(codec::decode_result(opcode, &response_body).map_err(ProtocolError::Body)?)
    }

    /// Sends `operation` to the provider chosen for its opcode.
    pub fn run(&self, operation: Operation) -> Result<OperationResult> {
        let provider = self.provider_for(operation.opcode())?;
        self.call(provider, operation)
    }

    /// The non-core providers the service offers, in its order (listed once, without auth).
    pub fn providers(&self) -> Result<Arc<[ProviderId]>> {
        if let Some(list) = lock(&self.providers).as_ref() {
            return Ok(list.clone());
        }
        let result = self.call_as(
            ProviderId::Core,
            &Authentication::None,
            &Operation::ListProviders,
        )?;
        let infos = expect_result!(result, Opcode::ListProviders,
            OperationResult::ListProviders { providers } => providers)?;
        let list: Arc<[ProviderId]> = infos
            .iter()
            .filter_map(|info| ProviderId::from_u8(info.id))
            .filter(|id| *id != ProviderId::Core)
            .collect();
        *lock(&self.providers) = Some(list.clone());
        Ok(list)
    }

    /// The opcodes `provider` supports (listed once per provider, without auth).
    pub fn supported_opcodes(&self, provider: ProviderId) -> Result<Arc<[Opcode]>> {
        if let Some(list) = lock(&self.opcodes).get(&provider) {
            return Ok(list.clone());
        }
        let list: Arc<[Opcode]> = self
            .list_opcodes_as(provider, &Authentication::None)?
            .into();
        lock(&self.opcodes).insert(provider, list.clone());
        Ok(list)
    }

    /// The provider an operation goes to: core for core opcodes, else the configured
    /// provider, else the first provider listing the opcode.
    pub fn provider_for(&self, opcode: Opcode) -> Result<ProviderId> {
        if opcode.is_core() {
            return Ok(ProviderId::Core);
        }
        if let Some(provider) = self.provider {
            return Ok(provider);
        }
        for provider in self.providers()?.iter() {
            if self.supported_opcodes(*provider)?.contains(&opcode) {
                return Ok(*provider);
            }
        }
        Err(ClientError::NoProvider { opcode })
    }

    // ---- Core operations ----

    /// The wire protocol version the service speaks (major, minor).
    pub fn ping(&self) -> Result<(u8, u8)> {
        expect_result!(self.run(Operation::Ping)?, Opcode::Ping,
            OperationResult::Ping { wire_protocol_version_maj: maj, wire_protocol_version_min: min } => (maj, min))
    }

    pub fn list_providers(&self) -> Result<Vec<ProviderInfo>> {
        expect_result!(self.run(Operation::ListProviders)?, Opcode::ListProviders,
            OperationResult::ListProviders { providers } => providers)
    }

    /// The opcodes `provider` supports. Values this client does not know are left out.
    pub fn list_opcodes(&self, provider: ProviderId) -> Result<Vec<Opcode>> {
        self.list_opcodes_as(provider, &self.auth)
    }

    fn list_opcodes_as(&self, provider: ProviderId, auth: &Authentication) -> Result<Vec<Opcode>> {
        let operation = Operation::ListOpcodes {
            provider_id: provider as u8,
        };
        let opcodes = expect_result!(self.call_as(ProviderId::Core, auth, &operation)?, Opcode::ListOpcodes,
            OperationResult::ListOpcodes { opcodes } => opcodes)?;
        let mut known: Vec<Opcode> = opcodes.into_iter().filter_map(Opcode::from_u32).collect();
        known.sort();
        Ok(known)
    }

    pub fn list_authenticators(&self) -> Result<Vec<AuthenticatorInfo>> {
        expect_result!(self.run(Operation::ListAuthenticators)?, Opcode::ListAuthenticators,
            OperationResult::ListAuthenticators { authenticators } => authenticators)
    }

    /// The caller's keys, in all providers.
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let keys = expect_result!(self.run(Operation::ListKeys)?, Opcode::ListKeys,
            OperationResult::ListKeys { keys } => keys)?;
        let mut cache = lock(&self.keys);
        cache.clear();
        cache.extend(keys.iter().map(|key| (key.name.clone(), key.clone())));
        Ok(keys)
    }

    /// Admin: the applications that own keys.
    pub fn list_clients(&self) -> Result<Vec<String>> {
        expect_result!(self.run(Operation::ListClients)?, Opcode::ListClients,
            OperationResult::ListClients { clients } => clients)
    }

    /// Admin: deletes an application and all its keys.
    pub fn delete_client(&self, client: &str) -> Result<()> {
        let op = Operation::DeleteClient {
            client: client.to_owned(),
        };
        expect_result!(self.run(op)?, Opcode::DeleteClient, OperationResult::DeleteClient => ())
    }

    // ---- Key management ----

    pub fn generate_key(&self, key_name: &str, attributes: KeyAttributes) -> Result<()> {
        self.forget_key(key_name);
        let op = Operation::GenerateKey {
            key_name: key_name.to_owned(),
            attributes,
        };
        expect_result!(self.run(op)?, Opcode::PsaGenerateKey, OperationResult::GenerateKey => ())
    }

    /// Imports key material (PSA import format); `data` is copied into a zeroizing buffer.
    pub fn import_key(&self, key_name: &str, attributes: KeyAttributes, data: &[u8]) -> Result<()> {
        self.forget_key(key_name);
        let op = Operation::ImportKey {
            key_name: key_name.to_owned(),
            attributes,
            data: Zeroizing::new(data.to_vec()),
        };
        expect_result!(self.run(op)?, Opcode::PsaImportKey, OperationResult::ImportKey => ())
    }

    pub fn destroy_key(&self, key_name: &str) -> Result<()> {
        self.forget_key(key_name);
        let op = Operation::DestroyKey {
            key_name: key_name.to_owned(),
        };
        expect_result!(self.run(op)?, Opcode::PsaDestroyKey, OperationResult::DestroyKey => ())
    }

    /// The public key in PSA export format (PKCS#1 RSAPublicKey, or an uncompressed point).
    pub fn export_public_key(&self, key_name: &str) -> Result<Vec<u8>> {
        let op = Operation::ExportPublicKey {
            key_name: key_name.to_owned(),
        };
        expect_result!(self.run(op)?, Opcode::PsaExportPublicKey,
            OperationResult::ExportPublicKey { data } => data)
    }

    /// The key material, if the key's policy allows export.
    pub fn export_key(&self, key_name: &str) -> Result<Secret> {
        let op = Operation::ExportKey {
            key_name: key_name.to_owned(),
        };
        expect_result!(self.run(op)?, Opcode::PsaExportKey, OperationResult::ExportKey { data } => data)
    }

    // ---- Signatures ----

    pub fn sign_hash(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        hash: &[u8],
    ) -> Result<Vec<u8>> {
        let op = Operation::SignHash {
            key_name: key_name.to_owned(),
            alg,
            hash: hash.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaSignHash,
            OperationResult::SignHash { signature } => signature)
    }

    /// Succeeds only if the signature is valid (else `PsaErrorInvalidSignature`).
    pub fn verify_hash(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        hash: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let op = Operation::VerifyHash {
            key_name: key_name.to_owned(),
            alg,
            hash: hash.to_vec(),
            signature: signature.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaVerifyHash, OperationResult::VerifyHash => ())
    }

    pub fn sign_message(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        message: &[u8],
    ) -> Result<Vec<u8>> {
        let op = Operation::SignMessage {
            key_name: key_name.to_owned(),
            alg,
            message: message.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaSignMessage,
            OperationResult::SignMessage { signature } => signature)
    }

    /// Succeeds only if the signature is valid (else `PsaErrorInvalidSignature`).
    pub fn verify_message(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let op = Operation::VerifyMessage {
            key_name: key_name.to_owned(),
            alg,
            message: message.to_vec(),
            signature: signature.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaVerifyMessage, OperationResult::VerifyMessage => ())
    }

    // ---- Encryption ----

    pub fn asymmetric_encrypt(
        &self,
        key_name: &str,
        alg: AsymmetricEncryption,
        plaintext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        let op = Operation::AsymmetricEncrypt {
            key_name: key_name.to_owned(),
            alg,
            plaintext: Zeroizing::new(plaintext.to_vec()),
            salt: salt.map(<[u8]>::to_vec),
        };
        expect_result!(self.run(op)?, Opcode::PsaAsymmetricEncrypt,
            OperationResult::AsymmetricEncrypt { ciphertext } => ciphertext)
    }

    pub fn asymmetric_decrypt(
        &self,
        key_name: &str,
        alg: AsymmetricEncryption,
        ciphertext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Secret> {
        let op = Operation::AsymmetricDecrypt {
            key_name: key_name.to_owned(),
            alg,
            ciphertext: ciphertext.to_vec(),
            salt: salt.map(<[u8]>::to_vec),
        };
        expect_result!(self.run(op)?, Opcode::PsaAsymmetricDecrypt,
            OperationResult::AsymmetricDecrypt { plaintext } => plaintext)
    }

    /// AEAD encryption; the result is ciphertext || tag.
    pub fn aead_encrypt(
        &self,
        key_name: &str,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let op = Operation::AeadEncrypt {
            key_name: key_name.to_owned(),
            alg,
            nonce: nonce.to_vec(),
            additional_data: additional_data.to_vec(),
            plaintext: Zeroizing::new(plaintext.to_vec()),
        };
        expect_result!(self.run(op)?, Opcode::PsaAeadEncrypt,
            OperationResult::AeadEncrypt { ciphertext } => ciphertext)
    }

    pub fn aead_decrypt(
        &self,
        key_name: &str,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret> {
        let op = Operation::AeadDecrypt {
            key_name: key_name.to_owned(),
            alg,
            nonce: nonce.to_vec(),
            additional_data: additional_data.to_vec(),
            ciphertext: ciphertext.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaAeadDecrypt,
            OperationResult::AeadDecrypt { plaintext } => plaintext)
    }

    /// Unauthenticated cipher; the service picks the IV and prepends it to the output.
    pub fn cipher_encrypt(&self, key_name: &str, alg: Cipher, plaintext: &[u8]) -> Result<Vec<u8>> {
        let op = Operation::CipherEncrypt {
            key_name: key_name.to_owned(),
            alg,
            plaintext: Zeroizing::new(plaintext.to_vec()),
        };
        expect_result!(self.run(op)?, Opcode::PsaCipherEncrypt,
            OperationResult::CipherEncrypt { ciphertext } => ciphertext)
    }

    pub fn cipher_decrypt(&self, key_name: &str, alg: Cipher, ciphertext: &[u8]) -> Result<Secret> {
        let op = Operation::CipherDecrypt {
            key_name: key_name.to_owned(),
            alg,
            ciphertext: ciphertext.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaCipherDecrypt,
            OperationResult::CipherDecrypt { plaintext } => plaintext)
    }

    // ---- MAC, hash, random, key agreement ----

    /// Keyward extension (not in stock Parsec's client).
    pub fn mac_compute(&self, key_name: &str, alg: Mac, input: &[u8]) -> Result<Vec<u8>> {
        let op = Operation::MacCompute {
            key_name: key_name.to_owned(),
            alg,
            input: input.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaMacCompute, OperationResult::MacCompute { mac } => mac)
    }

    /// Keyward extension; succeeds only if the MAC is valid.
    pub fn mac_verify(&self, key_name: &str, alg: Mac, input: &[u8], mac: &[u8]) -> Result<()> {
        let op = Operation::MacVerify {
            key_name: key_name.to_owned(),
            alg,
            input: input.to_vec(),
            mac: mac.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaMacVerify, OperationResult::MacVerify => ())
    }

    pub fn hash_compute(&self, alg: Hash, input: &[u8]) -> Result<Vec<u8>> {
        let op = Operation::HashCompute {
            alg,
            input: input.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaHashCompute, OperationResult::HashCompute { hash } => hash)
    }

    /// Succeeds only if `hash` is the digest of `input`.
    pub fn hash_compare(&self, alg: Hash, input: &[u8], hash: &[u8]) -> Result<()> {
        let op = Operation::HashCompare {
            alg,
            input: input.to_vec(),
            hash: hash.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaHashCompare, OperationResult::HashCompare => ())
    }

    pub fn generate_random(&self, size: usize) -> Result<Secret> {
        let op = Operation::GenerateRandom { size: size as u64 };
        expect_result!(self.run(op)?, Opcode::PsaGenerateRandom,
            OperationResult::GenerateRandom { random_bytes } => random_bytes)
    }

    /// The raw shared secret of `private_key_name` with `peer_key` (PSA public-key format).
    pub fn raw_key_agreement(
        &self,
        alg: RawKeyAgreement,
        private_key_name: &str,
        peer_key: &[u8],
    ) -> Result<Secret> {
        let op = Operation::RawKeyAgreement {
            alg,
            private_key_name: private_key_name.to_owned(),
            peer_key: peer_key.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaRawKeyAgreement,
            OperationResult::RawKeyAgreement { shared_secret } => shared_secret)
    }

    /// Whether the provider can handle keys with `attributes` for `check_type`: `Ok(false)`
    /// when the service answers `PsaErrorNotSupported`, any other failure is an error.
    pub fn can_do_crypto(&self, check_type: CheckType, attributes: KeyAttributes) -> Result<bool> {
        let op = Operation::CanDoCrypto {
            check_type,
            attributes,
        };
        match self.run(op) {
            Ok(OperationResult::CanDoCrypto) => Ok(true),
            Ok(_) => Err(unexpected(Opcode::CanDoCrypto)),
            Err(ClientError::Service {
                status: ResponseStatus::PsaErrorNotSupported,
                ..
            }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Drops a key's cached description (it was created, replaced or destroyed).
    pub(crate) fn forget_key(&self, key_name: &str) {
        lock(&self.keys).remove(key_name);
    }
}

#[cfg(test)]
mod tests;
