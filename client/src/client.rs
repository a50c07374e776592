//! [`BasicClient`]: the blocking client, one method per operation, all built on one generic
//! [`BasicClient::call`]; and [`ClientBuilder`], which builds it (and the async client).
//!
//! Smart defaults as in Parsec's `BasicClient`, adjusted for Keyward: the implicit provider is
//! chosen per operation (the first non-core provider whose ListOpcodes has it), and the
//! authenticator is the best one the service enables that this client can use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keyward_protocol::ops::{AuthenticatorInfo, CheckType, KeyInfo, ProviderInfo};
use keyward_protocol::psa::{
    Aead, AsymmetricEncryption, AsymmetricSignature, Cipher, Hash, KeyAttributes, Mac,
    RawKeyAgreement,
};
use keyward_protocol::{Opcode, Operation, OperationResult, ProviderId, ResponseStatus, Secret};
use zeroize::Zeroizing;

use crate::auth::{AuthOptions, Authentication, TokenSource};
use crate::endpoint;
use crate::error::{ClientError, Result};
use crate::request::{self, expect_result, unexpected};
use crate::transport::{Connection, ConnectionMode, TransportConfig};

/// Builds a [`BasicClient`] (or, with the `tokio` feature, an `AsyncClient`),
/// overriding any of its defaults.
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
    max_connections: Option<usize>,
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

    /// Socket read/write time-out, also the longest wait for a free connection (default
    /// 60 s); `None` or zero waits forever.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Persistent connections (default) or one connection per request.
    pub fn connection_mode(mut self, mode: ConnectionMode) -> Self {
        self.mode = mode;
        self
    }

    /// The most connections this client (and its clones) keeps open at once (default 16,
    /// at least 1). Callers beyond it wait for a connection to come free.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max.max(1));
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

    /// The transport configuration and the settings both clients share.
    pub(crate) fn settings(&self) -> Result<(TransportConfig, Settings)> {
        let endpoint = match &self.endpoint {
            Some(path) => path.clone(),
            None => endpoint::discover()?,
        };
        let mut config = TransportConfig::new(endpoint);
        if let Some(timeout) = self.timeout {
            config.timeout = timeout;
        }
        if let Some(len) = self.max_body_len {
            config.max_body_len = len;
        }
        if let Some(max) = self.max_connections {
            config.max_connections = max;
        }
        config.mode = self.mode;
        let settings = Settings {
            auth: self.auth.clone().unwrap_or(Authentication::None),
            stock_mode: self.stock_mode,
            provider: self.provider,
        };
        Ok((config, settings))
    }

    /// Whether `build` must ask the service for its authenticators.
    pub(crate) fn needs_auth_discovery(&self) -> bool {
        !self.naked && self.auth.is_none()
    }

    /// Whether `build` must list the providers.
    pub(crate) fn needs_provider_discovery(&self) -> bool {
        !self.naked && self.provider.is_none()
    }

    #[cfg_attr(not(feature = "tokio"), allow(dead_code))] // the async builder uses it
    pub(crate) fn auth_options(&self) -> &AuthOptions {
        &self.auth_options
    }

    /// Connects (lazily) and, unless naked, discovers the providers and the authenticator.
    pub fn build(self) -> Result<BasicClient> {
        let (config, settings) = self.settings()?;
        let mut client = BasicClient::from_parts(Connection::new(config), settings);
        if self.needs_provider_discovery() {
            client.providers()?;
        }
        if self.needs_auth_discovery() {
            // Discovery itself is unauthenticated (the client has no auth yet).
            let offered: Vec<u8> = client
                .list_authenticators()?
                .iter()
                .map(|info| info.id)
                .collect();
            let auth = self.auth_options.choose(&offered)?;
            // Nothing else holds the new client yet, so this always succeeds.
            if let Some(inner) = Arc::get_mut(&mut client.inner) {
                inner.settings.auth = auth;
            }
        }
        Ok(client)
    }
}

/// What a built client sends with every request.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub auth: Authentication,
    pub stock_mode: bool,
    pub provider: Option<ProviderId>,
}

/// What a client has learnt from the service, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// Non-core providers in the service's order, listed once.
    pub providers: Mutex<Option<Arc<[ProviderId]>>>,
    /// ListOpcodes per provider, listed once each.
    pub opcodes: Mutex<HashMap<ProviderId, Arc<[Opcode]>>>,
    /// ListKeys results, for the convenience API (see `simple.rs`).
    pub keys: Mutex<HashMap<String, KeyInfo>>,
}

impl Caches {
    /// Replaces the key cache with a fresh listing.
    pub fn set_keys(&self, keys: &[KeyInfo]) {
        let mut cache = lock(&self.keys);
        cache.clear();
        cache.extend(keys.iter().map(|key| (key.name.clone(), key.clone())));
    }

    /// The opcodes a ListOpcodes answer names that this client knows, sorted.
    pub fn known_opcodes(opcodes: Vec<u32>) -> Vec<Opcode> {
        let mut known: Vec<Opcode> = opcodes.into_iter().filter_map(Opcode::from_u32).collect();
        known.sort();
        known
    }

    /// The non-core providers of a ListProviders answer, in order.
    pub fn crypto_providers(infos: &[ProviderInfo]) -> Arc<[ProviderId]> {
        infos
            .iter()
            .filter_map(|info| ProviderId::from_u8(info.id))
            .filter(|id| *id != ProviderId::Core)
            .collect()
    }
}

/// A blocking client of the Keyward (or Parsec) service.
///
/// Cheap to clone (the clones share connections and caches) and `Send + Sync`: share it
/// between threads; in persistent mode each concurrent caller gets its own pooled
/// connection, up to [`ClientBuilder::max_connections`].
#[derive(Debug, Clone)]
pub struct BasicClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connection: Connection,
    settings: Settings,
    caches: Caches,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Caches stay valid if a holder panicked: keep using them.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    fn from_parts(connection: Connection, settings: Settings) -> Self {
        BasicClient {
            inner: Arc::new(Inner {
                connection,
                settings,
                caches: Caches::default(),
            }),
        }
    }

    pub(crate) fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    /// The authentication this client sends.
    pub fn auth(&self) -> &Authentication {
        &self.inner.settings.auth
    }

    /// The socket this client talks to.
    pub fn endpoint(&self) -> &std::path::Path {
        self.inner.connection.endpoint()
    }

    /// True when the client behaves like a stock Parsec client.
    pub fn is_stock_mode(&self) -> bool {
        self.inner.settings.stock_mode
    }

    /// Connections this client (with its clones) has open right now, idle or in use.
    pub fn open_connections(&self) -> usize {
        self.inner.connection.open_connections()
    }

    /// Sends `operation` to `provider` with this client's authentication (Ping always without,
    /// as in Parsec) and returns the decoded result. Every typed method goes through here; a
    /// missing key named by the operation is reported as [`ClientError::KeyNotFound`].
    pub fn call(&self, provider: ProviderId, operation: Operation) -> Result<OperationResult> {
        self.call_as(provider, &self.inner.settings.auth, &operation)
            .map_err(|err| match request::key_name(&operation) {
                Some(name) => request::key_not_found(name, err),
                None => err,
            })
    }

    /// [`BasicClient::call`] with explicit authentication, and the service's status as is.
    pub fn call_as(
        &self,
        provider: ProviderId,
        auth: &Authentication,
        operation: &Operation,
    ) -> Result<OperationResult> {
        let stock_mode = self.inner.settings.stock_mode;
        let request = request::encode(provider, auth, operation, stock_mode)?;
        let response =
            self.inner
                .connection
                .round_trip(&request.header, &request.body, &request.auth)?;
        request::decode(&request.header, response, stock_mode)
    }

    /// Sends `operation` to the provider chosen for its opcode.
    pub fn run(&self, operation: Operation) -> Result<OperationResult> {
        let provider = self.provider_for(operation.opcode())?;
        self.call(provider, operation)
    }

    /// The non-core providers the service offers, in its order (listed once, without auth).
    pub fn providers(&self) -> Result<Arc<[ProviderId]>> {
        if let Some(list) = lock(&self.caches().providers).as_ref() {
            return Ok(list.clone());
        }
        let result = self.call_as(
            ProviderId::Core,
            &Authentication::None,
            &Operation::ListProviders,
        )?;
        let infos = expect_result!(result, Opcode::ListProviders,
            OperationResult::ListProviders { providers } => providers)?;
        let list = Caches::crypto_providers(&infos);
        *lock(&self.caches().providers) = Some(list.clone());
        Ok(list)
    }

    /// The opcodes `provider` supports (listed once per provider, without auth).
    pub fn supported_opcodes(&self, provider: ProviderId) -> Result<Arc<[Opcode]>> {
        if let Some(list) = lock(&self.caches().opcodes).get(&provider) {
            return Ok(list.clone());
        }
        let list: Arc<[Opcode]> = self
            .list_opcodes_as(provider, &Authentication::None)?
            .into();
        lock(&self.caches().opcodes).insert(provider, list.clone());
        Ok(list)
    }

    /// The provider an operation goes to: core for core opcodes, else the configured
    /// provider, else the first provider listing the opcode.
    pub fn provider_for(&self, opcode: Opcode) -> Result<ProviderId> {
        if opcode.is_core() {
            return Ok(ProviderId::Core);
        }
        if let Some(provider) = self.inner.settings.provider {
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

    /// The service's providers, core last (as the service lists them).
    pub fn list_providers(&self) -> Result<Vec<ProviderInfo>> {
        expect_result!(self.run(Operation::ListProviders)?, Opcode::ListProviders,
            OperationResult::ListProviders { providers } => providers)
    }

    /// The opcodes `provider` supports. Values this client does not know are left out.
    pub fn list_opcodes(&self, provider: ProviderId) -> Result<Vec<Opcode>> {
        self.list_opcodes_as(provider, self.auth())
    }

    fn list_opcodes_as(&self, provider: ProviderId, auth: &Authentication) -> Result<Vec<Opcode>> {
        let operation = Operation::ListOpcodes {
            provider_id: provider as u8,
        };
        let opcodes = expect_result!(self.call_as(ProviderId::Core, auth, &operation)?, Opcode::ListOpcodes,
            OperationResult::ListOpcodes { opcodes } => opcodes)?;
        Ok(Caches::known_opcodes(opcodes))
    }

    /// The authenticators the service enables, in its order of preference.
    pub fn list_authenticators(&self) -> Result<Vec<AuthenticatorInfo>> {
        expect_result!(self.run(Operation::ListAuthenticators)?, Opcode::ListAuthenticators,
            OperationResult::ListAuthenticators { authenticators } => authenticators)
    }

    /// The caller's keys, in all providers (also refreshes the key cache).
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let keys = expect_result!(self.run(Operation::ListKeys)?, Opcode::ListKeys,
            OperationResult::ListKeys { keys } => keys)?;
        self.caches().set_keys(&keys);
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

    /// Creates a key named `key_name` in the service (see [`crate::keys`] for templates).
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

    /// Destroys a key; [`ClientError::KeyNotFound`] if there is none of that name.
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

    /// Signs a digest the caller computed; ECDSA signatures come as PSA's raw `r || s`.
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

    /// Checks a signature of a digest: `Ok(false)` for an invalid signature (as every
    /// verify method of this crate reports it), an error for anything else.
    #[must_use = "a false result means the signature is invalid"]
    pub fn verify_hash(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        hash: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let op = Operation::VerifyHash {
            key_name: key_name.to_owned(),
            alg,
            hash: hash.to_vec(),
            signature: signature.to_vec(),
        };
        request::verified(self.run(op).and_then(|result| {
            expect_result!(result, Opcode::PsaVerifyHash, OperationResult::VerifyHash => ())
        }))
    }

    /// Signs a message, hashed in the service.
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

    /// Checks a signature of a message: `Ok(false)` for an invalid signature.
    #[must_use = "a false result means the signature is invalid"]
    pub fn verify_message(
        &self,
        key_name: &str,
        alg: AsymmetricSignature,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool> {
        let op = Operation::VerifyMessage {
            key_name: key_name.to_owned(),
            alg,
            message: message.to_vec(),
            signature: signature.to_vec(),
        };
        request::verified(self.run(op).and_then(|result| {
            expect_result!(result, Opcode::PsaVerifyMessage, OperationResult::VerifyMessage => ())
        }))
    }

    // ---- Encryption ----

    /// Encrypts with an RSA key (the service's public half); `salt` is OAEP's label.
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

    /// Decrypts with an RSA private key held by the service.
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

    /// AEAD decryption of ciphertext || tag; fails if either or the associated data changed.
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

    /// Decrypts what [`BasicClient::cipher_encrypt`] produced (IV first).
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

    /// Keyward extension; `Ok(false)` when the MAC does not match.
    #[must_use = "a false result means the MAC does not match"]
    pub fn mac_verify(&self, key_name: &str, alg: Mac, input: &[u8], mac: &[u8]) -> Result<bool> {
        let op = Operation::MacVerify {
            key_name: key_name.to_owned(),
            alg,
            input: input.to_vec(),
            mac: mac.to_vec(),
        };
        request::verified(self.run(op).and_then(
            |result| expect_result!(result, Opcode::PsaMacVerify, OperationResult::MacVerify => ()),
        ))
    }

    /// A digest computed by the service.
    pub fn hash_compute(&self, alg: Hash, input: &[u8]) -> Result<Vec<u8>> {
        let op = Operation::HashCompute {
            alg,
            input: input.to_vec(),
        };
        expect_result!(self.run(op)?, Opcode::PsaHashCompute, OperationResult::HashCompute { hash } => hash)
    }

    /// Whether `hash` is the digest of `input` (`Ok(false)` when it is not).
    #[must_use = "a false result means the hash does not match"]
    pub fn hash_compare(&self, alg: Hash, input: &[u8], hash: &[u8]) -> Result<bool> {
        let op = Operation::HashCompare {
            alg,
            input: input.to_vec(),
            hash: hash.to_vec(),
        };
        request::verified(self.run(op).and_then(|result| {
            expect_result!(result, Opcode::PsaHashCompare, OperationResult::HashCompare => ())
        }))
    }

    /// `size` random bytes from the service's generator.
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
        lock(&self.caches().keys).remove(key_name);
    }
}

#[cfg(test)]
mod tests;
