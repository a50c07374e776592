//! A bounded cache of parsed aws-lc-rs key objects, so repeated operations on a key neither
//! decrypt its handle nor re-parse it (an ECDSA P-256 signature costs ~12 µs; re-parsing the key
//! would cost more than that).
//!
//! Entries are keyed by the exact handle bytes and remember the attributes the handle was
//! opened with: a lookup with other attributes misses, so the attribute binding of the sealed
//! handle is checked again (and fails) instead of being bypassed by the cache. Each handle has
//! one parsed object per purpose (signing, agreement, ...). When full, the least recently used
//! handle is evicted. Parsed objects live in aws-lc memory, which aws-lc frees (and, for key
//! material, cleanses) when the last `Arc` is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::signature::{EcdsaKeyPair, ParsedPublicKey, RsaKeyPair};
use aws_lc_rs::{aead, agreement, cmac, hmac, rsa};
use keyward_protocol::psa::{Hash, KeyAttributes};

/// What a parsed object is for (one handle may have several).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Purpose {
    EcdsaSign,
    EcdsaVerify,
    Ecdh,
    RsaSign,
    RsaVerify(RsaScheme),
    RsaDecrypt,
    RsaEncrypt,
    /// The public key in PSA export format.
    Public,
    Aead,
    Hmac(Hash),
    Cmac,
    /// RustCrypto `rsa` private / public key (RSA below 2048 bits, raw PKCS#1, RIPEMD-160).
    RcRsaPrivate,
    RcRsaPublic,
}

/// RSA signature schemes, as the verification algorithm is fixed per scheme and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RsaScheme {
    Pkcs1(Hash),
    Pss(Hash),
}

/// A parsed key object.
pub(crate) enum Parsed {
    EcdsaSign(EcdsaKeyPair),
    Verify(ParsedPublicKey),
    Ecdh(agreement::PrivateKey),
    RsaSign(RsaKeyPair),
    RsaDecrypt(rsa::PrivateDecryptingKey),
    RsaEncrypt(rsa::PublicEncryptingKey),
    Public(Vec<u8>),
    Aead(aead::LessSafeKey),
    // Boxed: an HMAC key holds precomputed inner and outer states (over 1 KiB).
    Hmac(Box<hmac::Key>),
    Cmac(cmac::Key),
    // Boxed: big integers and precomputed CRT values. The crate zeroizes the private key on drop.
    RcRsaPrivate(Box<::rsa::RsaPrivateKey>),
    RcRsaPublic(Box<::rsa::RsaPublicKey>),
}

/// Counters exposed for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Handles currently cached.
    pub entries: usize,
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that had to open and parse the handle.
    pub misses: u64,
    /// Handles decrypted (cache misses plus operations that never cache, e.g. export).
    pub handle_opens: u64,
}

struct Slot {
    attributes: KeyAttributes,
    last_used: AtomicU64,
    parsed: Vec<(Purpose, Arc<Parsed>)>,
}

pub(crate) struct KeyCache {
    capacity: usize,
    slots: RwLock<HashMap<Vec<u8>, Slot>>,
    clock: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl KeyCache {
    /// A cache holding at most `capacity` handles; 0 disables caching.
    pub(crate) fn new(capacity: usize) -> KeyCache {
        KeyCache {
            capacity,
            slots: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn get(
        &self,
        handle: &[u8],
        attributes: &KeyAttributes,
        purpose: Purpose,
    ) -> Option<Arc<Parsed>> {
        let found = {
            let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
            slots
                .get(handle)
                .filter(|slot| slot.attributes == *attributes)
                .and_then(|slot| {
                    let parsed = slot.parsed.iter().find(|(p, _)| *p == purpose)?;
                    slot.last_used.store(self.tick(), Ordering::Relaxed);
                    Some(Arc::clone(&parsed.1))
                })
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(
        &self,
        handle: &[u8],
        attributes: &KeyAttributes,
        purpose: Purpose,
        parsed: Arc<Parsed>,
    ) {
        if self.capacity == 0 {
            return;
        }
        let now = self.tick();
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get_mut(handle) {
            if slot.attributes != *attributes {
                // Cannot happen for a handle that opened (the attributes are authenticated),
                // but never let one attribute set serve another.
                slot.attributes = *attributes;
                slot.parsed.clear();
            }
            slot.parsed.retain(|(p, _)| *p != purpose);
            slot.parsed.push((purpose, parsed));
            slot.last_used.store(now, Ordering::Relaxed);
            return;
        }
        if slots.len() >= self.capacity {
            let oldest = slots
                .iter()
                .min_by_key(|(_, slot)| slot.last_used.load(Ordering::Relaxed))
                .map(|(handle, _)| handle.clone());
            if let Some(oldest) = oldest {
                slots.remove(&oldest);
                tracing::trace!("key cache full: evicted the least recently used key");
            }
        }
        slots.insert(
            handle.to_vec(),
            Slot {
                attributes: *attributes,
                last_used: AtomicU64::new(now),
                parsed: vec![(purpose, parsed)],
            },
        );
    }

    /// Forgets everything parsed from `handle` (key destroyed).
    pub(crate) fn evict(&self, handle: &[u8]) {
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(handle);
    }

    pub(crate) fn stats(&self, handle_opens: u64) -> CacheStats {
        CacheStats {
            entries: self
                .slots
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            handle_opens,
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Algorithm, KeyPolicy, KeyType, UsageFlags};

    fn attrs(bits: u32) -> KeyAttributes {
        KeyAttributes {
            key_type: KeyType::RawData,
            bits,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: Algorithm::None,
            },
        }
    }

    fn value(tag: u8) -> Arc<Parsed> {
        Arc::new(Parsed::Public(vec![tag]))
    }

    fn public_of(parsed: &Parsed) -> u8 {
        match parsed {
            Parsed::Public(v) => v[0],
            _ => panic!("not a public value"),
        }
    }

    #[test]
    fn hits_only_with_the_same_attributes_and_purpose() {
        let cache = KeyCache::new(4);
        cache.insert(b"h1", &attrs(8), Purpose::Public, value(1));
        assert_eq!(
            public_of(&cache.get(b"h1", &attrs(8), Purpose::Public).unwrap()),
            1
        );
        assert!(cache.get(b"h1", &attrs(16), Purpose::Public).is_none());
        assert!(cache.get(b"h1", &attrs(8), Purpose::Aead).is_none());
        assert!(cache.get(b"h2", &attrs(8), Purpose::Public).is_none());
        let stats = cache.stats(0);
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 3, 1));
    }

    #[test]
    fn evicts_the_least_recently_used_handle() {
        let cache = KeyCache::new(2);
        cache.insert(b"a", &attrs(8), Purpose::Public, value(1));
        cache.insert(b"b", &attrs(8), Purpose::Public, value(2));
        assert!(cache.get(b"a", &attrs(8), Purpose::Public).is_some());
        cache.insert(b"c", &attrs(8), Purpose::Public, value(3));
        assert!(cache.get(b"a", &attrs(8), Purpose::Public).is_some());
        assert!(
            cache.get(b"b", &attrs(8), Purpose::Public).is_none(),
            "b was least recent"
        );
        assert!(cache.get(b"c", &attrs(8), Purpose::Public).is_some());
        assert_eq!(cache.stats(0).entries, 2);
    }

    #[test]
    fn evict_and_zero_capacity() {
        let cache = KeyCache::new(2);
        cache.insert(b"a", &attrs(8), Purpose::Public, value(1));
        cache.insert(b"a", &attrs(8), Purpose::Cmac, value(2));
        cache.evict(b"a");
        assert!(cache.get(b"a", &attrs(8), Purpose::Public).is_none());
        assert!(cache.get(b"a", &attrs(8), Purpose::Cmac).is_none());
        let off = KeyCache::new(0);
        off.insert(b"a", &attrs(8), Purpose::Public, value(1));
        assert!(off.get(b"a", &attrs(8), Purpose::Public).is_none());
    }
}
