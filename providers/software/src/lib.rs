//! Keyward's software provider: every operation family implemented with aws-lc-rs, keys stored as
//! handles sealed under a master key (`sealed.rs`), parsed keys kept in a bounded cache. The
//! opcodes it advertises come from its capability table; how each operation runs (inline, or
//! blocking for RSA/DH private keys, at most one per CPU at a time) is in `execution.rs`.
//!
//! What it supports is one table, `capabilities.rs` (also generating `docs/algorithms.md`):
//! SECP-R1 P-256/P-384, brainpoolP256r1/P384r1 and X25519 keys (ECDSA, deterministic ECDSA,
//! ECDH), RSA 2048/3072/4096 (and 1024/1536 when `min_rsa_bits` is lowered; PKCS#1 v1.5, raw
//! PKCS#1 v1.5, PSS, OAEP), AES (GCM, CCM, CTR, CFB, OFB, CBC, ECB, CMAC), ChaCha20-Poly1305,
//! HMAC, raw data; hashes (SHA-2, SHA-3, RIPEMD-160) and random bytes. aws-lc-rs serves every
//! algorithm it has; RustCrypto crates (`rc_ecc.rs`, `rc_rsa.rs`, `aead.rs`, `hash.rs`) only what
//! it lacks. The table also lists what is refused and why (e.g. brainpoolP512r1, Ed25519).

#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")
)]

mod aead;
mod asym_encrypt;
mod asym_sign;
mod cache;
pub(crate) mod capabilities;
mod cipher;
mod execution;
mod hash;
mod key_agreement;
mod key_management;
mod mac;
mod master_key;
mod random;
mod rc_ecc;
mod rc_rsa;
mod sealed;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_lc_rs::{agreement, digest, signature};
use keyward_protocol::ops::{CheckType, ProviderInfo, Secret};
use keyward_protocol::psa::{EccFamily, Hash, KeyAttributes, KeyType};
use keyward_protocol::{Opcode, ProviderId};

pub use cache::CacheStats;
pub use capabilities::{markdown as algorithms_markdown, DEFAULT_MIN_RSA_BITS, DOC_BEGIN, DOC_END};
pub use master_key::{MasterKey, MasterKeyError};
pub use random::MAX_RANDOM_LEN;

use cache::{KeyCache, Parsed, Purpose};
use keyward_providers::{Execution, Families, KeyRef, Provider, ProviderError};
use sealed::Sealer;

/// Our own UUID for the software provider in ListProviders. It answers on Parsec's provider
/// ID 1 (so stock clients accept it) but is not Parsec's Mbed Crypto provider, so it does not
/// borrow that provider's UUID.
pub const SOFTWARE_PROVIDER_UUID: &str = "8f1e2a6c-5b7d-4c3e-9a0f-6b6579776172";

/// Tunables of the software provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftwareConfig {
    /// How many keys' parsed objects to keep (0 disables the cache).
    pub cache_capacity: usize,
    /// Smallest RSA key accepted, in bits: [`DEFAULT_MIN_RSA_BITS`] (2048) unless an
    /// administrator lowers it for compatibility with Parsec clients (1024 at the lowest).
    pub min_rsa_bits: u32,
}

impl Default for SoftwareConfig {
    fn default() -> Self {
        SoftwareConfig {
            cache_capacity: 1024,
            min_rsa_bits: DEFAULT_MIN_RSA_BITS,
        }
    }
}

/// The lowest `min_rsa_bits` the provider accepts.
pub const LOWEST_MIN_RSA_BITS: u32 = 1024;

/// The aws-lc-rs software provider.
pub struct SoftwareProvider {
    sealer: Sealer,
    cache: KeyCache,
    handle_opens: AtomicU64,
    max_blocking_in_flight: usize,
    table: capabilities::Table,
}

impl std::fmt::Debug for SoftwareProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareProvider")
            .field("cache", &self.cache_stats())
            .finish_non_exhaustive()
    }
}

impl SoftwareProvider {
    /// A provider sealing keys under (a key derived from) `master_key`.
    pub fn new(
        master_key: &MasterKey,
        config: SoftwareConfig,
    ) -> Result<SoftwareProvider, ProviderError> {
        if config.min_rsa_bits < LOWEST_MIN_RSA_BITS {
            return Err(ProviderError::invalid(format!(
                "min_rsa_bits = {} is below the lowest supported value, {LOWEST_MIN_RSA_BITS}",
                config.min_rsa_bits
            )));
        }
        if config.min_rsa_bits < DEFAULT_MIN_RSA_BITS {
            tracing::warn!(
                min_rsa_bits = config.min_rsa_bits,
                "RSA keys below 2048 bits are enabled (min_rsa_bits): they are weak, and are served \
                 by the RustCrypto rsa crate, whose PKCS#1 v1.5 decryption is not constant time"
            );
        }
        Ok(SoftwareProvider {
            table: capabilities::Table {
                min_rsa_bits: config.min_rsa_bits,
            },
            sealer: Sealer::new(master_key)?,
            cache: KeyCache::new(config.cache_capacity),
            handle_opens: AtomicU64::new(0),
            // Read once: it may consult cgroup files.
            max_blocking_in_flight: execution::default_max_blocking_in_flight(),
        })
    }

    /// Cache counters (hits, misses, handles decrypted).
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats(self.handle_opens.load(Ordering::Relaxed))
    }

    /// Decrypts a handle (no cache).
    fn open(&self, key: KeyRef<'_>) -> Result<Secret, ProviderError> {
        self.handle_opens.fetch_add(1, Ordering::Relaxed);
        self.sealer.open(key.handle, key.attributes)
    }

    /// The parsed object for `purpose`, from the cache or by opening and parsing the handle.
    fn parsed(
        &self,
        key: KeyRef<'_>,
        purpose: Purpose,
        parse: impl FnOnce(&[u8]) -> Result<Parsed, ProviderError>,
    ) -> Result<Arc<Parsed>, ProviderError> {
        self.cached(key, purpose, || {
            let material = self.open(key)?;
            parse(&material)
        })
    }

    /// The cached object for `purpose`, built by `build` on a miss. `build` must derive from
    /// authenticated material (the opened handle, or another entry of the same key).
    fn cached(
        &self,
        key: KeyRef<'_>,
        purpose: Purpose,
        build: impl FnOnce() -> Result<Parsed, ProviderError>,
    ) -> Result<Arc<Parsed>, ProviderError> {
        if let Some(hit) = self.cache.get(key.handle, key.attributes, purpose) {
            return Ok(hit);
        }
        let parsed = Arc::new(build()?);
        self.cache
            .insert(key.handle, key.attributes, purpose, Arc::clone(&parsed));
        Ok(parsed)
    }

    /// Refuses operations with RSA keys below `min_rsa_bits` (created while it was lower):
    /// raising it retires them, except for export and destruction.
    fn check_rsa_size(&self, attributes: &KeyAttributes) -> Result<(), ProviderError> {
        let rsa = matches!(
            attributes.key_type,
            KeyType::RsaKeyPair | KeyType::RsaPublicKey
        );
        if rsa && attributes.bits < self.table.min_rsa_bits {
            return Err(ProviderError::not_supported(format!(
                "{} bit RSA keys (min_rsa_bits is {})",
                attributes.bits, self.table.min_rsa_bits
            )));
        }
        Ok(())
    }

    /// The public key in PSA format (cached).
    fn public_key(&self, key: KeyRef<'_>) -> Result<Arc<Parsed>, ProviderError> {
        let attributes = *key.attributes;
        self.parsed(key, Purpose::Public, |material| {
            key_management::public_from_material(&attributes, material).map(Parsed::Public)
        })
    }
}

impl Provider for SoftwareProvider {
    fn id(&self) -> ProviderId {
        ProviderId::Software
    }

    fn info(&self) -> ProviderInfo {
        let version = |i: usize| {
            env!("CARGO_PKG_VERSION")
                .split('.')
                .nth(i)
                .and_then(|p| p.parse().ok())
                .unwrap_or(0)
        };
        ProviderInfo {
            uuid: SOFTWARE_PROVIDER_UUID.to_string(),
            description: "Keyward software provider (aws-lc-rs)".to_string(),
            vendor: "Keyward".to_string(),
            version_maj: version(0),
            version_min: version(1),
            version_rev: version(2),
            id: ProviderId::Software as u8,
        }
    }

    fn families(&self) -> Families<'_> {
        Families {
            key_management: Some(self),
            sign: Some(self),
            asymmetric_crypt: Some(self),
            aead: Some(self),
            cipher: Some(self),
            mac: Some(self),
            hash: Some(self),
            random: Some(self),
            key_agreement: Some(self),
        }
    }

    fn opcodes(&self) -> Vec<Opcode> {
        self.table.opcodes()
    }

    fn can_do(&self, check: CheckType, attributes: &KeyAttributes) -> bool {
        self.table.can_do(check, attributes)
    }

    fn execution(&self, opcode: Opcode, key: Option<&KeyAttributes>) -> Execution {
        execution::execution(opcode, key)
    }

    fn max_blocking_in_flight(&self) -> usize {
        self.max_blocking_in_flight
    }
}

/// The elliptic curves the software provider supports. P-256, P-384 and X25519 run on
/// aws-lc-rs; the Brainpool curves (and deterministic ECDSA on every curve) on RustCrypto
/// (`rc_ecc.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    Bp256,
    Bp384,
    X25519,
}

impl Curve {
    pub(crate) const ALL: [Curve; 5] = [
        Curve::P256,
        Curve::P384,
        Curve::Bp256,
        Curve::Bp384,
        Curve::X25519,
    ];

    /// The curve of an ECC key, or why there is none.
    fn of(attributes: &KeyAttributes) -> Result<Curve, ProviderError> {
        match attributes.key_type {
            KeyType::EccKeyPair { curve_family } | KeyType::EccPublicKey { curve_family } => {
                Curve::from_family_bits(curve_family, attributes.bits)
            }
            other => Err(ProviderError::invalid(format!(
                "{other:?} is not an elliptic-curve key"
            ))),
        }
    }

    fn from_family_bits(family: EccFamily, bits: u32) -> Result<Curve, ProviderError> {
        Curve::ALL
            .into_iter()
            .find(|c| c.family() == family && c.bits() == bits)
            .ok_or_else(|| {
                ProviderError::not_supported(format!("{family:?} curves of {bits} bits"))
            })
    }

    fn family(self) -> EccFamily {
        match self {
            Curve::P256 | Curve::P384 => EccFamily::SecpR1,
            Curve::Bp256 | Curve::Bp384 => EccFamily::BrainpoolPR1,
            Curve::X25519 => EccFamily::Montgomery,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Curve::P256 | Curve::Bp256 => 256,
            Curve::P384 | Curve::Bp384 => 384,
            Curve::X25519 => 255,
        }
    }

    /// Private scalar length (also the length of each of `r`, `s` and the coordinates).
    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Bp256 | Curve::X25519 => 32,
            Curve::P384 | Curve::Bp384 => 48,
        }
    }

    /// Length of a public key: an uncompressed point `04 || X || Y`, or X25519's 32 bytes.
    fn point_len(self) -> usize {
        match self {
            Curve::X25519 => 32,
            _ => 1 + 2 * self.scalar_len(),
        }
    }

    /// True for the curves aws-lc-rs implements (everything but deterministic signing on them
    /// goes there).
    fn on_aws_lc(self) -> bool {
        matches!(self, Curve::P256 | Curve::P384 | Curve::X25519)
    }

    /// The fixed-format (`r || s`) signing algorithm aws-lc-rs pairs with this curve.
    fn signing(self) -> Result<&'static signature::EcdsaSigningAlgorithm, ProviderError> {
        match self {
            Curve::P256 => Ok(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            Curve::P384 => Ok(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            other => Err(not_on_aws_lc(other)),
        }
    }

    fn verification(self) -> Result<&'static signature::EcdsaVerificationAlgorithm, ProviderError> {
        match self {
            Curve::P256 => Ok(&signature::ECDSA_P256_SHA256_FIXED),
            Curve::P384 => Ok(&signature::ECDSA_P384_SHA384_FIXED),
            other => Err(not_on_aws_lc(other)),
        }
    }

    /// The digest aws-lc-rs expects with [`Curve::signing`]; its length is the scalar length.
    fn native_digest(self) -> &'static digest::Algorithm {
        match self {
            Curve::P384 | Curve::Bp384 => &digest::SHA384,
            _ => &digest::SHA256,
        }
    }

    fn ecdh(self) -> Result<&'static agreement::Algorithm, ProviderError> {
        match self {
            Curve::P256 => Ok(&agreement::ECDH_P256),
            Curve::P384 => Ok(&agreement::ECDH_P384),
            Curve::X25519 => Ok(&agreement::X25519),
            other => Err(not_on_aws_lc(other)),
        }
    }
}

fn not_on_aws_lc(curve: Curve) -> ProviderError {
    ProviderError::generic(format!("{curve:?} has no aws-lc-rs path"))
}

/// The aws-lc-rs digest for a PSA hash, if supported.
pub(crate) fn digest_algorithm(hash: Hash) -> Result<&'static digest::Algorithm, ProviderError> {
    Ok(match hash {
        Hash::Sha224 => &digest::SHA224,
        Hash::Sha256 => &digest::SHA256,
        Hash::Sha384 => &digest::SHA384,
        Hash::Sha512 => &digest::SHA512,
        Hash::Sha512_256 => &digest::SHA512_256,
        Hash::Sha3_256 => &digest::SHA3_256,
        Hash::Sha3_384 => &digest::SHA3_384,
        Hash::Sha3_512 => &digest::SHA3_512,
        other => return Err(ProviderError::not_supported(format!("hash {other:?}"))),
    })
}

/// Maps an aws-lc-rs failure that should not happen to a generic error with context, keeping
/// aws-lc-rs's error as the source.
fn internal(context: &'static str) -> impl FnOnce(aws_lc_rs::error::Unspecified) -> ProviderError {
    move |err| ProviderError::generic_from(context, err)
}
