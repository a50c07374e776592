//! keywardd as a daemon of the shared framework: its state (authenticators, key store,
//! providers, queues), its route table, what its crypto requests address (a provider), where
//! each request runs, and its audit log.

use std::sync::Arc;

use keyward_protocol::opcode::{Cost, Kind};
use keyward_protocol::{Opcode, ProviderId, RequestHeader, ResponseStatus};
use keyward_providers::{Execution, Provider};
use keyward_server::config::Limits;
use keyward_server::{
    config_name, AccessPolicy, Authenticators, Daemon, Executor, Finished, Placement, Placing,
    QueueId, Router,
};

use crate::config::KeysSection;
use crate::error::ServiceError;
use crate::key_store::KeyStore;
use crate::{core_ops, crypto_ops};

/// The key store's queue: commits and scans.
pub const STORE_QUEUE: QueueId = QueueId(0);

/// The queue of a provider's blocking work.
pub fn provider_queue(id: ProviderId) -> QueueId {
    QueueId(0x100 + id as u32)
}

/// Largest body processed on an async worker: about 30 µs of hashing or AES at this machine
/// class's speeds.
pub const INLINE_BODY_LIMIT: usize = 32 * 1024;

/// The service: configuration, authenticators, key store, providers and queues.
pub struct Service {
    pub limits: Limits,
    pub keys: KeysSection,
    pub authenticators: Authenticators,
    pub access: AccessPolicy,
    pub store: KeyStore,
    /// In priority order: the first is the clients' default.
    pub providers: Vec<Arc<dyn Provider>>,
    pub executor: Executor,
    /// Per provider: every opcode served through it (native or derived), and the native ones.
    served: Vec<(ProviderId, Vec<Opcode>, Vec<Opcode>)>,
    router: Router<Service>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<ProviderId> = self.providers.iter().map(|p| p.id()).collect();
        f.debug_struct("Service")
            .field("authenticators", &self.authenticators)
            .field("providers", &ids)
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

/// keywardd's whole route table: one line per operation.
fn routes() -> Router<Service> {
    Router::new()
        .public(core_ops::ping)
        .public(core_ops::list_providers)
        .public(core_ops::list_opcodes)
        .public(core_ops::list_authenticators)
        .caller(core_ops::list_keys)
        .admin(core_ops::list_clients)
        .admin(core_ops::delete_client)
        .crypto(crypto_ops::generate_key)
        .crypto(crypto_ops::import_key)
        .crypto(crypto_ops::destroy_key)
        .crypto(crypto_ops::export_public_key)
        .crypto(crypto_ops::export_key)
        .crypto(crypto_ops::sign_hash)
        .crypto(crypto_ops::verify_hash)
        .crypto(crypto_ops::sign_message)
        .crypto(crypto_ops::verify_message)
        .crypto(crypto_ops::asymmetric_encrypt)
        .crypto(crypto_ops::asymmetric_decrypt)
        .crypto(crypto_ops::aead_encrypt)
        .crypto(crypto_ops::aead_decrypt)
        .crypto(crypto_ops::cipher_encrypt)
        .crypto(crypto_ops::cipher_decrypt)
        .crypto(crypto_ops::mac_compute)
        .crypto(crypto_ops::mac_verify)
        .crypto(crypto_ops::hash_compute)
        .crypto(crypto_ops::hash_compare)
        .crypto(crypto_ops::generate_random)
        .crypto(crypto_ops::raw_key_agreement)
        .crypto(crypto_ops::can_do_crypto)
}

impl Service {
    /// Assembles the service and its queues: one for the key store, one per provider bounded by
    /// what the provider says it can run at once.
    pub fn new(
        limits: Limits,
        keys: KeysSection,
        authenticators: Authenticators,
        access: AccessPolicy,
        store: KeyStore,
        providers: Vec<Arc<dyn Provider>>,
    ) -> Service {
        let mut executor = Executor::new(limits.queue_timeout());
        // SQLite has one writer; two in flight let a scan overlap a commit.
        executor.add_queue(STORE_QUEUE, "key-store", 2, limits.max_queued_per_queue);
        for provider in &providers {
            executor.add_queue(
                provider_queue(provider.id()),
                provider_queue_name(provider.id()),
                provider.max_blocking_in_flight(),
                limits.max_queued_per_queue,
            );
        }
        let served = providers
            .iter()
            .map(|p| (p.id(), Service::provider_opcodes(p.as_ref()), p.opcodes()))
            .collect();
        Service {
            limits,
            keys,
            authenticators,
            access,
            store,
            providers,
            executor,
            served,
            router: routes(),
        }
    }

    /// The opcodes served through `provider` (native or derived by the service).
    pub fn served_opcodes(&self, provider: &dyn Provider) -> &[Opcode] {
        self.served
            .iter()
            .find(|(id, _, _)| *id == provider.id())
            .map_or(&[], |(_, all, _)| all.as_slice())
    }

    /// True when `provider` itself implements `opcode` (false when the service derives it).
    pub fn serves_natively(&self, provider: &dyn Provider, opcode: Opcode) -> bool {
        self.served
            .iter()
            .find(|(id, _, _)| *id == provider.id())
            .is_some_and(|(_, _, native)| native.contains(&opcode))
    }

    /// The provider configured under `id`.
    pub fn provider(&self, id: ProviderId) -> Option<&Arc<dyn Provider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    /// The opcodes served through a provider: what it serves natively, plus SignMessage and
    /// VerifyMessage derived by the service (hash, then SignHash/VerifyHash) for providers that
    /// only sign hashes.
    pub fn provider_opcodes(provider: &dyn Provider) -> Vec<Opcode> {
        let mut opcodes = provider.opcodes();
        for (hashed, message) in [
            (Opcode::PsaSignHash, Opcode::PsaSignMessage),
            (Opcode::PsaVerifyHash, Opcode::PsaVerifyMessage),
        ] {
            if opcodes.contains(&hashed) && !opcodes.contains(&message) {
                opcodes.push(message);
            }
        }
        opcodes.sort_unstable();
        opcodes.dedup();
        opcodes
    }
}

fn provider_queue_name(id: ProviderId) -> &'static str {
    match id {
        ProviderId::Core => "core",
        ProviderId::Software => "provider-software",
        ProviderId::Pkcs11 => "provider-pkcs11",
        ProviderId::Tpm => "provider-tpm",
        _ => "provider-other",
    }
}

impl Daemon for Service {
    type Error = ServiceError;
    type Target = dyn Provider;

    fn router(&self) -> &Router<Self> {
        &self.router
    }

    fn authenticators(&self) -> &Authenticators {
        &self.authenticators
    }

    fn access(&self) -> &AccessPolicy {
        &self.access
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn executor(&self) -> &Executor {
        &self.executor
    }

    fn target(&self, header: &RequestHeader) -> Result<Option<Arc<dyn Provider>>, ServiceError> {
        let provider = match header.provider {
            ProviderId::Core => None,
            id => Some(
                self.provider(id)
                    .ok_or(ServiceError::ProviderNotRegistered(id as u8))?
                    .clone(),
            ),
        };
        match (header.opcode.kind(), &provider) {
            (Kind::Core, Some(_)) => Err(ServiceError::WrongProvider(
                "core operation sent to a crypto provider",
            )),
            (Kind::Crypto, None) => Err(ServiceError::WrongProvider(
                "crypto operation sent to the core provider",
            )),
            (Kind::Crypto, Some(p))
                if !self.served_opcodes(p.as_ref()).contains(&header.opcode) =>
            {
                Err(ServiceError::WrongProvider(
                    "operation not supported by this provider",
                ))
            }
            _ => Ok(provider),
        }
    }

    fn placement(&self, request: &Placing<'_, Self>) -> Placement {
        let opcode = request.header.opcode;
        let provider = request.target;
        let queue = |provider: &dyn Provider| Placement::Queue(provider_queue(provider.id()));
        match (opcode.cost(), provider) {
            (Cost::Inline, _) => Placement::Inline,
            (Cost::Store, _) => Placement::Queue(STORE_QUEUE),
            (Cost::Lifecycle, Some(provider)) => queue(provider),
            (Cost::Provider, Some(provider)) => {
                // Hashing and ciphers cost per byte: large inputs never run inline.
                if request.body_len > INLINE_BODY_LIMIT {
                    return queue(provider);
                }
                let key = request.operation.key_name().and_then(|name| {
                    let caller = request.identity?;
                    // A cache hit in the normal case: the handler looks the same key up next.
                    self.store.get(caller, name).ok().flatten()
                });
                match provider.execution(opcode, key.as_ref().map(|record| &record.attributes)) {
                    Execution::Inline => Placement::Inline,
                    Execution::Blocking => queue(provider),
                }
            }
            // Crypto operations always address a provider (checked in `target`).
            (Cost::Lifecycle | Cost::Provider, None) => Placement::Inline,
        }
    }

    /// One audit event per key operation: who, what, which key, where, and the outcome. Never
    /// any key material or request data.
    fn finished(&self, outcome: &Finished<'_>) {
        if outcome.header.opcode.is_core() {
            return;
        }
        let (authenticator, identity) = outcome
            .identity
            .map(|id| (config_name(id.namespace()), id.name()))
            .unwrap_or(("none", ""));
        tracing::info!(
            target: "keyward::audit",
            authenticator,
            identity,
            opcode = ?outcome.header.opcode,
            key = outcome.key_name.unwrap_or(""),
            provider = ?outcome.header.provider,
            outcome = ?outcome.status,
            "key operation"
        );
        if outcome.status == ResponseStatus::PsaErrorInsufficientStorage {
            tracing::warn!(identity, "a key could not be stored (quota or disk full)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_covers_every_served_opcode_once() {
        let router = routes();
        // Every core operation of Parsec and every crypto operation the software provider has
        // is routed; identity operations belong to the identity provider.
        for op in keyward_protocol::opcode::ALL_OPCODES {
            let expected = !matches!(
                op,
                Opcode::AttestKey
                    | Opcode::PrepareKeyAttestation
                    | Opcode::ShareTrustBundle
                    | Opcode::AddClient
                    | Opcode::ProveClient
                    | Opcode::RemoveClient
                    | Opcode::FetchToken
                    | Opcode::ReplaceTrustRoot
            );
            assert_eq!(router.serves(*op), expected, "{op:?}");
        }
    }
}
