//! The benchmarked operations, twice: as requests to a service (raw frames over a socket) and
//! as direct calls into the software provider (the in-process baseline, same provider code,
//! same key types, same inputs).

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes,
    KeyPolicy, KeyType, SignHash, UsageFlags,
};
use keyward_protocol::ProviderId;
use keyward_provider_software::SoftwareProvider;
use keyward_providers::{KeyHandle, KeyRef, Provider};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::load::Worker;
use crate::wire::{self, check_status, Auth, Conn};

/// One benchmarked operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// Ping (core provider, no authentication): the service's floor.
    Ping,
    /// ECDSA P-256 SHA-256 SignHash.
    Sign,
    /// ECDSA P-256 SHA-256 VerifyHash.
    Verify,
    /// GenerateKey (ECDSA P-256) then DestroyKey: one operation here.
    GenDestroy,
    /// GenerateRandom, 32 bytes.
    Random,
    /// AES-256-GCM AeadEncrypt of 1 KiB.
    Aead,
    /// RSA-2048 PKCS#1 v1.5 SHA-256 SignHash.
    RsaSign,
}

impl Op {
    pub const ALL: [Op; 7] = [
        Op::Ping,
        Op::Sign,
        Op::Verify,
        Op::GenDestroy,
        Op::Random,
        Op::Aead,
        Op::RsaSign,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::Sign => "ecdsa-p256-sign",
            Op::Verify => "ecdsa-p256-verify",
            Op::GenDestroy => "p256-gen+destroy",
            Op::Random => "random-32B",
            Op::Aead => "aes256gcm-enc-1KiB",
            Op::RsaSign => "rsa2048-sign",
        }
    }

    /// Operations that address a crypto provider (ping goes to the core).
    pub fn is_crypto(self) -> bool {
        self != Op::Ping
    }
}

const AEAD_PLAINTEXT_LEN: usize = 1024;

/// A SHA-256-sized digest to sign (its value does not matter to ECDSA or RSA speed).
pub fn digest() -> Vec<u8> {
    (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect()
}

fn sign_usage() -> UsageFlags {
    UsageFlags {
        sign_hash: true,
        verify_hash: true,
        ..UsageFlags::default()
    }
}

pub fn ecdsa_alg() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

pub fn rsa_alg() -> AsymmetricSignature {
    AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

pub fn gcm() -> Aead {
    Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm)
}

pub fn p256_attributes() -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        },
        bits: 256,
        policy: KeyPolicy {
            usage_flags: sign_usage(),
            permitted_algorithms: Algorithm::AsymmetricSignature(ecdsa_alg()),
        },
    }
}

pub fn rsa_attributes() -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::RsaKeyPair,
        bits: 2048,
        policy: KeyPolicy {
            usage_flags: sign_usage(),
            permitted_algorithms: Algorithm::AsymmetricSignature(rsa_alg()),
        },
    }
}

pub fn aes_attributes() -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::Aes,
        bits: 256,
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                encrypt: true,
                decrypt: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: Algorithm::Aead(gcm()),
        },
    }
}

/// A distinct 12-byte nonce per (thread, counter): the benchmark never reuses a GCM nonce.
fn nonce(thread: usize, counter: u64) -> Vec<u8> {
    let mut nonce = Vec::with_capacity(12);
    nonce.extend_from_slice(&(thread as u32).to_le_bytes());
    nonce.extend_from_slice(&counter.to_le_bytes());
    nonce
}

/// The keys the benchmark created on a service, named per run so runs never collide.
#[derive(Debug, Clone)]
pub struct RemoteKeys {
    pub provider: ProviderId,
    pub auth: Auth,
    pub prefix: String,
    pub signature: Vec<u8>,
}

impl RemoteKeys {
    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// Creates the P-256, RSA-2048 and AES-256 keys `ops` need on `provider`, and one
    /// signature for the verify runs. Checks each result once, so a run never measures errors.
    pub fn create(
        socket: &Path,
        provider: ProviderId,
        auth: Auth,
        ops: &[Op],
    ) -> anyhow::Result<RemoteKeys> {
        let prefix = format!("kwb{}-{}", std::process::id(), provider as u8);
        let mut keys = RemoteKeys {
            provider,
            auth,
            prefix,
            signature: Vec::new(),
        };
        let mut conn = Conn::new(socket, false);
        let wanted = |op: Op| ops.contains(&op);
        if wanted(Op::Sign) || wanted(Op::Verify) {
            keys.generate(&mut conn, "p256", p256_attributes())?;
            let result = conn.call_op(
                &Operation::SignHash {
                    key_name: keys.name("p256"),
                    alg: ecdsa_alg(),
                    hash: digest(),
                },
                provider,
                &keys.auth,
            )?;
            let OperationResult::SignHash { signature } = result else {
                bail!("SignHash returned {result:?}");
            };
            if signature.len() != 64 {
                bail!("P-256 signature of {} bytes", signature.len());
            }
            keys.signature = signature;
            conn.call_op(
                &Operation::VerifyHash {
                    key_name: keys.name("p256"),
                    alg: ecdsa_alg(),
                    hash: digest(),
                    signature: keys.signature.clone(),
                },
                provider,
                &keys.auth,
            )
            .context("the service's own signature does not verify")?;
        }
        if wanted(Op::RsaSign) {
            keys.generate(&mut conn, "rsa2048", rsa_attributes())?;
        }
        if wanted(Op::Aead) {
            keys.generate(&mut conn, "aes256", aes_attributes())?;
            let result = conn.call_op(
                &Operation::AeadEncrypt {
                    key_name: keys.name("aes256"),
                    alg: gcm(),
                    nonce: nonce(usize::MAX, 0),
                    additional_data: Vec::new(),
                    plaintext: Zeroizing::new(vec![7u8; AEAD_PLAINTEXT_LEN]),
                },
                provider,
                &keys.auth,
            )?;
            match result {
                OperationResult::AeadEncrypt { ciphertext }
                    if ciphertext.len() == AEAD_PLAINTEXT_LEN + 16 => {}
                other => bail!("AeadEncrypt returned {other:?}"),
            }
        }
        Ok(keys)
    }

    fn generate(
        &self,
        conn: &mut Conn,
        what: &str,
        attributes: KeyAttributes,
    ) -> anyhow::Result<()> {
        let key_name = self.name(what);
        // A key left by an interrupted run of the same pid would make generation fail.
        let _ = conn.call(&wire::frame(
            &Operation::DestroyKey {
                key_name: key_name.clone(),
            },
            self.provider,
            &self.auth,
        ));
        conn.call_op(
            &Operation::GenerateKey {
                key_name,
                attributes,
            },
            self.provider,
            &self.auth,
        )
        .with_context(|| format!("creating the {what} key"))?;
        Ok(())
    }

    /// Destroys the keys again (best effort: a run must not leave keys behind).
    pub fn destroy(&self, socket: &Path) {
        let mut conn = Conn::new(socket, false);
        for what in ["p256", "rsa2048", "aes256"] {
            let _ = conn.call(&wire::frame(
                &Operation::DestroyKey {
                    key_name: self.name(what),
                },
                self.provider,
                &self.auth,
            ));
        }
    }
}

/// A load thread sending one kind of request to a service.
#[derive(Debug)]
pub struct ServiceWorker {
    conn: Conn,
    thread: usize,
    counter: u64,
    keys: RemoteKeys,
    op: Op,
    /// The request, when it is the same every time.
    fixed: Option<Vec<u8>>,
}

impl ServiceWorker {
    pub fn new(socket: &Path, persistent: bool, op: Op, keys: &RemoteKeys, thread: usize) -> Self {
        let p = keys.provider;
        let auth = &keys.auth;
        let fixed = match op {
            Op::Ping => Some(wire::frame(&Operation::Ping, ProviderId::Core, &Auth::None)),
            Op::Sign => Some(wire::frame(
                &Operation::SignHash {
                    key_name: keys.name("p256"),
                    alg: ecdsa_alg(),
                    hash: digest(),
                },
                p,
                auth,
            )),
            Op::Verify => Some(wire::frame(
                &Operation::VerifyHash {
                    key_name: keys.name("p256"),
                    alg: ecdsa_alg(),
                    hash: digest(),
                    signature: keys.signature.clone(),
                },
                p,
                auth,
            )),
            Op::Random => Some(wire::frame(
                &Operation::GenerateRandom { size: 32 },
                p,
                auth,
            )),
            Op::RsaSign => Some(wire::frame(
                &Operation::SignHash {
                    key_name: keys.name("rsa2048"),
                    alg: rsa_alg(),
                    hash: digest(),
                },
                p,
                auth,
            )),
            Op::GenDestroy | Op::Aead => None,
        };
        ServiceWorker {
            conn: Conn::new(socket, persistent),
            thread,
            counter: 0,
            keys: keys.clone(),
            op,
            fixed,
        }
    }

    fn send(&mut self, frame: &[u8], what: &'static str) -> Result<(), String> {
        match self.conn.call(frame) {
            Ok(reply) if reply.status == 0 => Ok(()),
            Ok(reply) => Err(format!("{what}: status {}", reply.status)),
            Err(err) => Err(format!("{what}: {err}")),
        }
    }
}

impl Worker for ServiceWorker {
    fn run_once(&mut self) -> Result<(), String> {
        self.counter += 1;
        if let Some(frame) = self.fixed.take() {
            let result = self.send(&frame, self.op.label());
            self.fixed = Some(frame);
            return result;
        }
        let (p, auth) = (self.keys.provider, self.keys.auth.clone());
        match self.op {
            Op::GenDestroy => {
                let key_name = format!("{}-gd-{}-{}", self.keys.prefix, self.thread, self.counter);
                let generate = wire::frame(
                    &Operation::GenerateKey {
                        key_name: key_name.clone(),
                        attributes: p256_attributes(),
                    },
                    p,
                    &auth,
                );
                self.send(&generate, "generate")?;
                let destroy = wire::frame(&Operation::DestroyKey { key_name }, p, &auth);
                self.send(&destroy, "destroy")
            }
            Op::Aead => {
                let request = wire::frame(
                    &Operation::AeadEncrypt {
                        key_name: self.keys.name("aes256"),
                        alg: gcm(),
                        nonce: nonce(self.thread, self.counter),
                        additional_data: Vec::new(),
                        plaintext: Zeroizing::new(vec![7u8; AEAD_PLAINTEXT_LEN]),
                    },
                    p,
                    &auth,
                );
                self.send(&request, "aead-encrypt")
            }
            _ => Err("no request for this operation".into()),
        }
    }

    fn reconnects(&self) -> u64 {
        self.conn.reconnects
    }
}

/// The software provider with the benchmark's keys, for the in-process baseline.
pub struct LocalKeys {
    pub provider: Arc<SoftwareProvider>,
    p256: (KeyHandle, KeyAttributes),
    rsa: (KeyHandle, KeyAttributes),
    aes: (KeyHandle, KeyAttributes),
    signature: Vec<u8>,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeys").finish_non_exhaustive()
    }
}

fn key_ref(key: &(KeyHandle, KeyAttributes)) -> KeyRef<'_> {
    KeyRef {
        handle: &key.0 .0,
        attributes: &key.1,
    }
}

impl LocalKeys {
    /// A software provider with the service's default configuration and the same keys.
    pub fn create() -> anyhow::Result<LocalKeys> {
        let master = keyward_provider_software::MasterKey::generate()?;
        let provider = Arc::new(SoftwareProvider::new(
            &master,
            keyward_provider_software::SoftwareConfig::default(),
        )?);
        let families = provider.families();
        let km = families
            .key_management
            .context("software provider without key management")?;
        let make = |attributes: KeyAttributes| -> anyhow::Result<(KeyHandle, KeyAttributes)> {
            Ok((km.generate_key(&attributes)?, attributes))
        };
        let p256 = make(p256_attributes())?;
        let rsa = make(rsa_attributes())?;
        let aes = make(aes_attributes())?;
        let signature = families.sign.context("no signing")?.sign_hash(
            key_ref(&p256),
            ecdsa_alg(),
            &digest(),
        )?;
        Ok(LocalKeys {
            provider,
            p256,
            rsa,
            aes,
            signature,
        })
    }
}

/// A load thread calling the provider directly.
pub struct LocalWorker<'a> {
    keys: &'a LocalKeys,
    op: Op,
    thread: usize,
    counter: u64,
    hash: Vec<u8>,
    plaintext: Vec<u8>,
}

impl std::fmt::Debug for LocalWorker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalWorker")
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

impl<'a> LocalWorker<'a> {
    pub fn new(keys: &'a LocalKeys, op: Op, thread: usize) -> Self {
        LocalWorker {
            keys,
            op,
            thread,
            counter: 0,
            hash: digest(),
            plaintext: vec![7u8; AEAD_PLAINTEXT_LEN],
        }
    }
}

impl Worker for LocalWorker<'_> {
    fn run_once(&mut self) -> Result<(), String> {
        self.counter += 1;
        let families = self.keys.provider.families();
        let missing = || "family missing".to_string();
        let result = match self.op {
            Op::Ping => Ok(()),
            Op::Sign => families
                .sign
                .ok_or_else(missing)?
                .sign_hash(key_ref(&self.keys.p256), ecdsa_alg(), &self.hash)
                .map(drop),
            Op::Verify => families.sign.ok_or_else(missing)?.verify_hash(
                key_ref(&self.keys.p256),
                ecdsa_alg(),
                &self.hash,
                &self.keys.signature,
            ),
            Op::RsaSign => families
                .sign
                .ok_or_else(missing)?
                .sign_hash(key_ref(&self.keys.rsa), rsa_alg(), &self.hash)
                .map(drop),
            Op::Random => families
                .random
                .ok_or_else(missing)?
                .generate_random(32)
                .map(drop),
            Op::Aead => families
                .aead
                .ok_or_else(missing)?
                .aead_encrypt(
                    key_ref(&self.keys.aes),
                    gcm(),
                    &nonce(self.thread, self.counter),
                    &[],
                    &self.plaintext,
                )
                .map(drop),
            Op::GenDestroy => {
                let km = families.key_management.ok_or_else(missing)?;
                let attributes = p256_attributes();
                let handle = km.generate_key(&attributes).map_err(|e| e.to_string())?;
                km.destroy_key(KeyRef {
                    handle: &handle.0,
                    attributes: &attributes,
                })
            }
        };
        result.map_err(|err| err.to_string())
    }
}

/// The crypto providers a service lists (ListProviders, core excluded), with their names.
pub fn crypto_providers(socket: &Path) -> anyhow::Result<Vec<(ProviderId, String)>> {
    let mut conn = Conn::new(socket, false);
    let result = conn.call_op(&Operation::ListProviders, ProviderId::Core, &Auth::None)?;
    let OperationResult::ListProviders { providers } = result else {
        bail!("ListProviders returned {result:?}");
    };
    Ok(providers
        .into_iter()
        .filter_map(|info| {
            let id = ProviderId::from_u8(info.id).filter(|id| *id != ProviderId::Core)?;
            Some((id, provider_name(id).to_owned()))
        })
        .collect())
}

pub fn provider_name(id: ProviderId) -> &'static str {
    match id {
        ProviderId::Core => "core",
        ProviderId::Software => "software",
        ProviderId::Pkcs11 => "pkcs11",
        ProviderId::Tpm => "tpm",
        ProviderId::TrustedService => "trusted-service",
        ProviderId::CryptoAuthLib => "cryptoauthlib",
    }
}

/// Checks a ping answer once (the load loop only checks statuses).
pub fn check_ping(socket: &Path) -> anyhow::Result<()> {
    let mut conn = Conn::new(socket, false);
    let reply = conn.call(&wire::frame(
        &Operation::Ping,
        ProviderId::Core,
        &Auth::None,
    ))?;
    check_status(keyward_protocol::Opcode::Ping, reply.status)
}
