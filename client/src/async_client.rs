//! [`AsyncClient`]: the client for tokio applications (feature `tokio`). It frames, checks and
//! decodes exactly like [`BasicClient`] (the sans-I/O code in `request.rs` and the
//! convenience plans in `simple.rs` are shared); only the waiting is async, so a call never
//! blocks a runtime thread.

use std::future::Future;
use std::sync::Arc;

use keyward_protocol::ops::{AuthenticatorInfo, KeyInfo};
use keyward_protocol::psa::{AsymmetricSignature, KeyAttributes};
use keyward_protocol::{Opcode, Operation, OperationResult, ProviderId, Secret};
use spki::SubjectPublicKeyInfoOwned;

use crate::async_transport::AsyncConnection;
use crate::auth::Authentication;
use crate::client::{lock, Caches, ClientBuilder, Settings};
use crate::error::{ClientError, Result};
use crate::keys::{self, EccCurve};
use crate::request::{self, expect_result};
use crate::simple::{
    finish_decrypt, finish_encrypt, finish_export_public, finish_sign, finish_verify, maybe_stale,
    plan_decrypt, plan_encrypt, plan_export_public, plan_sign, plan_verify, provider_of,
};
#[cfg(doc)]
use crate::BasicClient;

/// An async client of the Keyward (or Parsec) service, for tokio.
///
/// Built with [`ClientBuilder::build_async`] (or [`AsyncClient::new`]); the same defaults and
/// options as [`BasicClient`]. Cheap to clone; clones share at most
/// [`ClientBuilder::max_connections`] connections, and tasks beyond that wait for one.
/// Needs a tokio runtime with I/O and time enabled.
#[derive(Debug, Clone)]
pub struct AsyncClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connection: AsyncConnection,
    settings: Settings,
    caches: Caches,
}

impl ClientBuilder {
    /// Builds an [`AsyncClient`]: connects (lazily) and, unless naked, discovers the
    /// providers and the authenticator.
    pub async fn build_async(self) -> Result<AsyncClient> {
        let (config, settings) = self.settings()?;
        let mut client = AsyncClient {
            inner: Arc::new(Inner {
                connection: AsyncConnection::new(config),
                settings,
                caches: Caches::default(),
            }),
        };
        if self.needs_provider_discovery() {
            client.providers().await?;
        }
        if self.needs_auth_discovery() {
            let offered: Vec<u8> = client
                .list_authenticators()
                .await?
                .iter()
                .map(|info| info.id)
                .collect();
            let auth = self.auth_options().choose(&offered)?;
            // Nothing else holds the new client yet, so this always succeeds.
            if let Some(inner) = Arc::get_mut(&mut client.inner) {
                inner.settings.auth = auth;
            }
        }
        Ok(client)
    }
}

impl AsyncClient {
    /// A client with all defaults: discovered endpoint, implicit providers, best authenticator.
    pub async fn new() -> Result<Self> {
        ClientBuilder::default().build_async().await
    }

    /// A builder to override the defaults (finish with [`ClientBuilder::build_async`]).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The authentication this client sends.
    pub fn auth(&self) -> &Authentication {
        &self.inner.settings.auth
    }

    /// The socket this client talks to.
    pub fn endpoint(&self) -> &std::path::Path {
        self.inner.connection.endpoint()
    }

    /// Connections this client (with its clones) has open right now, idle or in use.
    pub fn open_connections(&self) -> usize {
        self.inner.connection.open_connections()
    }

    /// Sends `operation` to `provider` and returns the decoded result; a missing key named by
    /// the operation is [`ClientError::KeyNotFound`]. See [`BasicClient::call`].
    pub async fn call(
        &self,
        provider: ProviderId,
        operation: Operation,
    ) -> Result<OperationResult> {
        self.call_as(provider, &self.inner.settings.auth, &operation)
            .await
            .map_err(|err| match request::key_name(&operation) {
                Some(name) => request::key_not_found(name, err),
                None => err,
            })
    }

    /// [`AsyncClient::call`] with explicit authentication, and the service's status as is.
    pub async fn call_as(
        &self,
        provider: ProviderId,
        auth: &Authentication,
        operation: &Operation,
    ) -> Result<OperationResult> {
        let stock_mode = self.inner.settings.stock_mode;
        let request = request::encode(provider, auth, operation, stock_mode)?;
        let response = self
            .inner
            .connection
            .round_trip(&request.header, &request.body, &request.auth)
            .await?;
        request::decode(&request.header, response, stock_mode)
    }

    /// Sends `operation` to the provider chosen for its opcode.
    pub async fn run(&self, operation: Operation) -> Result<OperationResult> {
        let provider = self.provider_for(operation.opcode()).await?;
        self.call(provider, operation).await
    }

    /// The non-core providers the service offers, in its order (listed once, without auth).
    pub async fn providers(&self) -> Result<Arc<[ProviderId]>> {
        let cached = lock(&self.inner.caches.providers).clone();
        if let Some(list) = cached {
            return Ok(list);
        }
        let result = self
            .call_as(
                ProviderId::Core,
                &Authentication::None,
                &Operation::ListProviders,
            )
            .await?;
        let infos = expect_result!(result, Opcode::ListProviders,
            OperationResult::ListProviders { providers } => providers)?;
        let list = Caches::crypto_providers(&infos);
        *lock(&self.inner.caches.providers) = Some(list.clone());
        Ok(list)
    }

    /// The opcodes `provider` supports (listed once per provider, without auth).
    pub async fn supported_opcodes(&self, provider: ProviderId) -> Result<Arc<[Opcode]>> {
        let cached = lock(&self.inner.caches.opcodes).get(&provider).cloned();
        if let Some(list) = cached {
            return Ok(list);
        }
        let operation = Operation::ListOpcodes {
            provider_id: provider as u8,
        };
        let result = self
            .call_as(ProviderId::Core, &Authentication::None, &operation)
            .await?;
        let opcodes = expect_result!(result, Opcode::ListOpcodes,
            OperationResult::ListOpcodes { opcodes } => opcodes)?;
        let list: Arc<[Opcode]> = Caches::known_opcodes(opcodes).into();
        lock(&self.inner.caches.opcodes).insert(provider, list.clone());
        Ok(list)
    }

    /// The provider an operation goes to (see [`BasicClient::provider_for`]).
    pub async fn provider_for(&self, opcode: Opcode) -> Result<ProviderId> {
        if opcode.is_core() {
            return Ok(ProviderId::Core);
        }
        if let Some(provider) = self.inner.settings.provider {
            return Ok(provider);
        }
        for provider in self.providers().await?.iter() {
            if self.supported_opcodes(*provider).await?.contains(&opcode) {
                return Ok(*provider);
            }
        }
        Err(ClientError::NoProvider { opcode })
    }

    /// The wire protocol version the service speaks (major, minor).
    pub async fn ping(&self) -> Result<(u8, u8)> {
        expect_result!(self.run(Operation::Ping).await?, Opcode::Ping,
            OperationResult::Ping { wire_protocol_version_maj: maj, wire_protocol_version_min: min } => (maj, min))
    }

    /// The authenticators the service enables, in its order of preference.
    pub async fn list_authenticators(&self) -> Result<Vec<AuthenticatorInfo>> {
        expect_result!(self.run(Operation::ListAuthenticators).await?, Opcode::ListAuthenticators,
            OperationResult::ListAuthenticators { authenticators } => authenticators)
    }

    /// The caller's keys, in all providers (also refreshes the key cache).
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let keys = expect_result!(self.run(Operation::ListKeys).await?, Opcode::ListKeys,
            OperationResult::ListKeys { keys } => keys)?;
        self.inner.caches.set_keys(&keys);
        Ok(keys)
    }

    /// The key's description, from the cache or ListKeys.
    pub async fn key_info(&self, key_name: &str) -> Result<KeyInfo> {
        let cached = lock(&self.inner.caches.keys).get(key_name).cloned();
        if let Some(info) = cached {
            return Ok(info);
        }
        self.list_keys()
            .await?
            .into_iter()
            .find(|key| key.name == key_name)
            .ok_or_else(|| ClientError::KeyNotFound(key_name.to_owned()))
    }

    fn forget_key(&self, key_name: &str) {
        lock(&self.inner.caches.keys).remove(key_name);
    }

    /// Creates a key (see [`crate::keys`] for templates).
    pub async fn generate_key(&self, key_name: &str, attributes: KeyAttributes) -> Result<()> {
        self.forget_key(key_name);
        let op = Operation::GenerateKey {
            key_name: key_name.to_owned(),
            attributes,
        };
        expect_result!(self.run(op).await?, Opcode::PsaGenerateKey, OperationResult::GenerateKey => ())
    }

    /// Destroys a key; [`ClientError::KeyNotFound`] if there is none of that name.
    pub async fn destroy_key(&self, key_name: &str) -> Result<()> {
        self.forget_key(key_name);
        let op = Operation::DestroyKey {
            key_name: key_name.to_owned(),
        };
        expect_result!(self.run(op).await?, Opcode::PsaDestroyKey, OperationResult::DestroyKey => ())
    }

    /// An ECC P-256 key for ECDSA-SHA256 (see [`BasicClient::create_signing_key`]).
    pub async fn create_signing_key(&self, key_name: &str) -> Result<()> {
        self.generate_key(key_name, keys::ecc_signing_key(EccCurve::P256))
            .await
    }

    /// An AES-GCM key of `bits` bits.
    pub async fn create_aes_key(&self, key_name: &str, bits: u32) -> Result<()> {
        self.generate_key(key_name, keys::aes_gcm_key(bits)).await
    }

    /// Signs a digest the caller computed (PSA format).
    pub async fn sign_hash(
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
        expect_result!(self.run(op).await?, Opcode::PsaSignHash,
            OperationResult::SignHash { signature } => signature)
    }

    /// `size` random bytes from the service.
    pub async fn generate_random(&self, size: usize) -> Result<Secret> {
        let op = Operation::GenerateRandom { size: size as u64 };
        expect_result!(self.run(op).await?, Opcode::PsaGenerateRandom,
            OperationResult::GenerateRandom { random_bytes } => random_bytes)
    }

    /// Runs `attempt` with the key's description, retrying once after a fresh look-up when
    /// a stale description could explain the failure (as [`BasicClient`] does).
    async fn with_key<T, F, Fut>(&self, key_name: &str, attempt: F) -> Result<T>
    where
        F: Fn(KeyInfo) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let key = self.key_info(key_name).await?;
        match attempt(key.clone()).await {
            Err(err) if maybe_stale(&err) => {
                self.forget_key(key_name);
                let fresh = self.key_info(key_name).await?;
                if fresh == key {
                    return Err(err);
                }
                attempt(fresh).await
            }
            other => other,
        }
    }

    async fn call_on_key(&self, key: &KeyInfo, operation: Operation) -> Result<OperationResult> {
        self.call(provider_of(key)?, operation).await
    }

    /// Signs `message` with the key's own algorithm (see [`BasicClient::sign`]).
    pub async fn sign(&self, key_name: &str, message: &[u8]) -> Result<Vec<u8>> {
        self.with_key(key_name, |key| async move {
            let operation = plan_sign(&key, message)?;
            finish_sign(self.call_on_key(&key, operation).await?)
        })
        .await
    }

    /// Verifies a PSA-format signature: `Ok(false)` for an invalid one.
    pub async fn verify(&self, key_name: &str, message: &[u8], signature: &[u8]) -> Result<bool> {
        self.with_key(key_name, |key| async move {
            let operation = plan_verify(&key, message, signature)?;
            finish_verify(self.call_on_key(&key, operation).await)
        })
        .await
    }

    /// Encrypts with the key's own algorithm, binding `associated_data` (see
    /// [`BasicClient::encrypt_with_aad`], including the random-nonce limit).
    pub async fn encrypt_with_aad(
        &self,
        key_name: &str,
        plaintext: &[u8],
        associated_data: &[u8],
    ) -> Result<Vec<u8>> {
        self.with_key(key_name, |key| async move {
            let (operation, nonce) = plan_encrypt(&key, plaintext, associated_data)?;
            finish_encrypt(self.call_on_key(&key, operation).await?, nonce)
        })
        .await
    }

    /// Decrypts what [`AsyncClient::encrypt_with_aad`] produced.
    pub async fn decrypt_with_aad(
        &self,
        key_name: &str,
        ciphertext: &[u8],
        associated_data: &[u8],
    ) -> Result<Secret> {
        self.with_key(key_name, |key| async move {
            let operation = plan_decrypt(&key, ciphertext, associated_data)?;
            finish_decrypt(self.call_on_key(&key, operation).await?)
        })
        .await
    }

    /// The key's public key as SubjectPublicKeyInfo.
    pub async fn public_key_info(&self, key_name: &str) -> Result<SubjectPublicKeyInfoOwned> {
        self.with_key(key_name, |key| async move {
            let operation = plan_export_public(&key)?;
            finish_export_public(&key, self.call_on_key(&key, operation).await?)
        })
        .await
    }

    /// The key's public key as a `-----BEGIN PUBLIC KEY-----` PEM.
    pub async fn public_key_pem(&self, key_name: &str) -> Result<String> {
        use der::EncodePem;
        self.public_key_info(key_name)
            .await?
            .to_pem(der::pem::LineEnding::LF)
            .map_err(ClientError::encoding("a public key PEM"))
    }
}
