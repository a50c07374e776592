//! The persistent key store: (authenticator, identity, key name) → (provider, provider's key
//! handle, attributes), in SQLite under the state directory.
//!
//! A key becomes visible only when its row commits, so a crash between "provider created the
//! key" and "row recorded" leaves no visible half-key; providers that keep keys outside this
//! store report their handles so orphans can be destroyed at start. The namespace always comes
//! from a [`VerifiedIdentity`], never from request fields.

use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Mutex, PoisonError, RwLock};

use keyward_protocol::codec::{decode_key_attributes, encode_key_attributes};
use keyward_protocol::psa::KeyAttributes;
use keyward_protocol::{AuthType, ProviderId};
use rusqlite::{params, Connection, OptionalExtension};

use keyward_server::VerifiedIdentity;

const SCHEMA_VERSION: i64 = 1;

/// A stored key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub provider: ProviderId,
    pub handle: Vec<u8>,
    pub attributes: KeyAttributes,
}

/// Key store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a key with this name already exists")]
    AlreadyExists,
    #[error("this identity already holds the configured maximum of {0} keys")]
    TooManyKeys(u64),
    #[error("key store database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("key store file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

/// The SQLite-backed key store.
#[derive(Debug)]
pub struct KeyStore {
    db: Mutex<Connection>,
    cache: RwLock<RecordCache>,
}

/// How many key records [`RecordCache`] keeps.
const RECORD_CACHE_ENTRIES: usize = 4096;

/// Records of keys in use, so that repeated operations on a key touch neither SQLite (a
/// query and two file-lock system calls) nor the database lock. Only rows that exist are
/// cached. Entries are added and invalidated only while the database lock is held, and
/// invalidated before a row is deleted, so a lookup racing a removal cannot bring a removed
/// key back.
#[derive(Debug, Default)]
struct RecordCache {
    /// authenticator → identity → key name → record.
    namespaces: HashMap<AuthType, HashMap<String, HashMap<String, KeyRecord>>>,
    len: usize,
}

impl RecordCache {
    fn get(&self, auth: AuthType, identity: &str, name: &str) -> Option<&KeyRecord> {
        self.namespaces.get(&auth)?.get(identity)?.get(name)
    }

    fn insert(&mut self, auth: AuthType, identity: &str, name: &str, record: KeyRecord) {
        if self.len >= RECORD_CACHE_ENTRIES {
            // Bounded the simple way: start over; the keys in use come back on next use.
            self.namespaces.clear();
            self.len = 0;
        }
        let names = self
            .namespaces
            .entry(auth)
            .or_default()
            .entry(identity.to_owned())
            .or_default();
        if names.insert(name.to_owned(), record).is_none() {
            self.len += 1;
        }
    }

    fn remove(&mut self, auth: AuthType, identity: &str, name: &str) {
        let Some(identities) = self.namespaces.get_mut(&auth) else {
            return;
        };
        let Some(names) = identities.get_mut(identity) else {
            return;
        };
        if names.remove(name).is_some() {
            self.len -= 1;
        }
        if names.is_empty() {
            identities.remove(identity);
        }
    }

    fn remove_namespace(&mut self, auth: AuthType, identity: &str) {
        if let Some(names) = self
            .namespaces
            .get_mut(&auth)
            .and_then(|identities| identities.remove(identity))
        {
            self.len -= names.len();
        }
    }
}

fn auth_id(identity: &VerifiedIdentity) -> i64 {
    identity.namespace() as u8 as i64
}

fn record_from_row(
    provider: i64,
    handle: Vec<u8>,
    attributes: Vec<u8>,
) -> Result<KeyRecord, StoreError> {
    let provider = u8::try_from(provider)
        .ok()
        .and_then(ProviderId::from_u8)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown provider id {provider}")))?;
    let attributes = decode_key_attributes(&attributes)
        .map_err(|err| StoreError::Corrupt(format!("attributes: {err}")))?;
    Ok(KeyRecord {
        provider,
        handle,
        attributes,
    })
}

fn select_namespace(
    db: &Connection,
    auth: AuthType,
    identity: &str,
) -> Result<Vec<(String, KeyRecord)>, StoreError> {
    let mut stmt = db.prepare_cached(
        "SELECT key_name, provider, handle, attributes FROM keys
         WHERE authenticator = ?1 AND identity = ?2 ORDER BY key_name",
    )?;
    let rows = stmt.query_map(params![auth as u8 as i64, identity], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Vec<u8>>(2)?,
            row.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        let (name, p, h, a) = row?;
        keys.push((name, record_from_row(p, h, a)?));
    }
    Ok(keys)
}

impl KeyStore {
    /// Opens (creating if needed) the store at `path`, file mode 0600.
    pub fn open(path: &Path) -> Result<KeyStore, StoreError> {
        // Create the file ourselves so it never exists with looser permissions.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let db = Connection::open(path)?;
        // WAL: readers do not block the writer; FULL: a key reported created survives power loss.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS keys (
                 authenticator INTEGER NOT NULL,
                 identity TEXT NOT NULL,
                 key_name TEXT NOT NULL,
                 provider INTEGER NOT NULL,
                 handle BLOB NOT NULL,
                 attributes BLOB NOT NULL,
                 PRIMARY KEY (authenticator, identity, key_name)
             ) WITHOUT ROWID;",
        )?;
        let version: Option<i64> = db
            .query_row(
                "SELECT value FROM meta WHERE name = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        match version {
            None => {
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "schema version {other} is not supported (expected {SCHEMA_VERSION})"
                )))
            }
        }
        Ok(KeyStore {
            db: Mutex::new(db),
            cache: RwLock::new(RecordCache::default()),
        })
    }

    /// The cache, to change it; callers hold the database lock (see [`RecordCache`]).
    fn cache_mut(&self) -> std::sync::RwLockWriteGuard<'_, RecordCache> {
        // Each cache operation completes or leaves the map as it was: safe after a panic.
        self.cache.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (it has its own
        // transactions), so a poisoned lock is still safe to use.
        self.db
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks a key up in the caller's namespace.
    pub fn get(
        &self,
        owner: &VerifiedIdentity,
        name: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let auth = owner.namespace();
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(auth, owner.name(), name)
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT provider, handle, attributes FROM keys
             WHERE authenticator = ?1 AND identity = ?2 AND key_name = ?3",
        )?;
        let row = stmt
            .query_row(params![auth_id(owner), owner.name(), name], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Vec<u8>>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                ))
            })
            .optional()?;
        let record = row.map(|(p, h, a)| record_from_row(p, h, a)).transpose()?;
        if let Some(record) = &record {
            // Still under the database lock: no removal can have happened since the read.
            self.cache_mut()
                .insert(auth, owner.name(), name, record.clone());
        }
        Ok(record)
    }

    /// Records a new key; fails if the name is taken or the identity is at its key limit.
    pub fn insert(
        &self,
        owner: &VerifiedIdentity,
        name: &str,
        record: &KeyRecord,
        max_keys: u64,
    ) -> Result<(), StoreError> {
        let mut db = self.db();
        // Only existing rows are cached, so there is nothing to find; stay safe regardless.
        self.cache_mut()
            .remove(owner.namespace(), owner.name(), name);
        let tx = db.transaction()?;
        let count: u64 = tx.query_row(
            "SELECT COUNT(*) FROM keys WHERE authenticator = ?1 AND identity = ?2",
            params![auth_id(owner), owner.name()],
            |row| row.get(0),
        )?;
        if count >= max_keys {
            return Err(StoreError::TooManyKeys(max_keys));
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO keys (authenticator, identity, key_name, provider, handle, attributes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                auth_id(owner),
                owner.name(),
                name,
                record.provider as u8 as i64,
                record.handle,
                encode_key_attributes(&record.attributes),
            ],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists);
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes a key from the caller's namespace, returning what was stored.
    pub fn remove(
        &self,
        owner: &VerifiedIdentity,
        name: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        let mut db = self.db();
        // Invalidate first: from now on lookups miss and wait for the database lock.
        self.cache_mut()
            .remove(owner.namespace(), owner.name(), name);
        let tx = db.transaction()?;
        let row = tx
            .query_row(
                "SELECT provider, handle, attributes FROM keys
                 WHERE authenticator = ?1 AND identity = ?2 AND key_name = ?3",
                params![auth_id(owner), owner.name(), name],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()?;
        if row.is_some() {
            tx.execute(
                "DELETE FROM keys WHERE authenticator = ?1 AND identity = ?2 AND key_name = ?3",
                params![auth_id(owner), owner.name(), name],
            )?;
        }
        tx.commit()?;
        row.map(|(p, h, a)| record_from_row(p, h, a)).transpose()
    }

    /// Every key of one namespace, sorted by name.
    pub fn list(&self, owner: &VerifiedIdentity) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        self.list_namespace(owner.namespace(), owner.name())
    }

    fn list_namespace(
        &self,
        auth: AuthType,
        identity: &str,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        select_namespace(&self.db(), auth, identity)
    }

    /// Identities holding keys under one authenticator, sorted.
    pub fn clients(&self, auth: AuthType) -> Result<Vec<String>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT DISTINCT identity FROM keys WHERE authenticator = ?1 ORDER BY identity",
        )?;
        let rows = stmt.query_map([auth as u8 as i64], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Removes every key of a client (one namespace) in one transaction, returning them so
    /// their provider objects can be destroyed.
    pub fn remove_client(
        &self,
        auth: AuthType,
        identity: &str,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        let mut db = self.db();
        self.cache_mut().remove_namespace(auth, identity);
        let tx = db.transaction()?;
        let keys = select_namespace(&tx, auth, identity)?;
        tx.execute(
            "DELETE FROM keys WHERE authenticator = ?1 AND identity = ?2",
            params![auth as u8 as i64, identity],
        )?;
        tx.commit()?;
        Ok(keys)
    }

    /// Every handle recorded for one provider (for orphan clean-up at start).
    pub fn handles_of(&self, provider: ProviderId) -> Result<Vec<Vec<u8>>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare_cached("SELECT handle FROM keys WHERE provider = ?1")?;
        let rows = stmt.query_map([provider as u8 as i64], |row| row.get::<_, Vec<u8>>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Total number of keys (for logs and benchmarks).
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT COUNT(*) FROM keys", [], |row| row.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Algorithm, KeyPolicy, KeyType, UsageFlags};
    use std::os::unix::fs::PermissionsExt;

    fn attrs() -> KeyAttributes {
        KeyAttributes {
            key_type: KeyType::Aes,
            bits: 256,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: Algorithm::None,
            },
        }
    }

    fn record(handle: &[u8]) -> KeyRecord {
        KeyRecord {
            provider: ProviderId::Software,
            handle: handle.to_vec(),
            attributes: attrs(),
        }
    }

    #[test]
    fn namespaces_are_isolated_and_persist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys.sqlite3");
        let alice = VerifiedIdentity::for_tests(AuthType::UnixPeerCredentials, "1000");
        let bob = VerifiedIdentity::for_tests(AuthType::UnixPeerCredentials, "1001");
        let alice_direct = VerifiedIdentity::for_tests(AuthType::Direct, "1000");
        {
            let store = KeyStore::open(&path).expect("open");
            store
                .insert(&alice, "k", &record(b"a"), 10)
                .expect("alice k");
            store.insert(&bob, "k", &record(b"b"), 10).expect("bob k");
            assert!(matches!(
                store.insert(&alice, "k", &record(b"x"), 10),
                Err(StoreError::AlreadyExists)
            ));
            assert!(store.get(&alice_direct, "k").expect("get").is_none());
        }
        let store = KeyStore::open(&path).expect("reopen");
        assert_eq!(
            store.get(&alice, "k").expect("get").expect("some").handle,
            b"a"
        );
        assert_eq!(
            store.get(&bob, "k").expect("get").expect("some").handle,
            b"b"
        );
        assert_eq!(store.list(&alice).expect("list").len(), 1);
        assert_eq!(
            store
                .clients(AuthType::UnixPeerCredentials)
                .expect("clients"),
            vec!["1000", "1001"]
        );
        assert!(store.remove(&alice_direct, "k").expect("remove").is_none());
        assert_eq!(
            store
                .remove(&alice, "k")
                .expect("remove")
                .expect("some")
                .handle,
            b"a"
        );
        assert!(store.get(&alice, "k").expect("get").is_none());
        assert!(store.get(&bob, "k").expect("get").is_some());
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn key_limit_per_identity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::open(&dir.path().join("k.db")).expect("open");
        let alice = VerifiedIdentity::for_tests(AuthType::Direct, "alice");
        store.insert(&alice, "a", &record(b"1"), 2).expect("1");
        store.insert(&alice, "b", &record(b"2"), 2).expect("2");
        assert!(matches!(
            store.insert(&alice, "c", &record(b"3"), 2),
            Err(StoreError::TooManyKeys(2))
        ));
        let bob = VerifiedIdentity::for_tests(AuthType::Direct, "bob");
        store
            .insert(&bob, "c", &record(b"3"), 2)
            .expect("bob has his own quota");
    }

    #[test]
    fn remove_client_removes_only_that_namespace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::open(&dir.path().join("k.db")).expect("open");
        let alice = VerifiedIdentity::for_tests(AuthType::Direct, "alice");
        let bob = VerifiedIdentity::for_tests(AuthType::Direct, "bob");
        store.insert(&alice, "a", &record(b"1"), 9).expect("a");
        store.insert(&alice, "b", &record(b"2"), 9).expect("b");
        store.insert(&bob, "a", &record(b"3"), 9).expect("bob a");
        let removed = store
            .remove_client(AuthType::Direct, "alice")
            .expect("remove");
        assert_eq!(removed.len(), 2);
        assert!(store.list(&alice).expect("list").is_empty());
        assert_eq!(store.list(&bob).expect("list").len(), 1);
        assert_eq!(
            store.handles_of(ProviderId::Software).expect("handles"),
            vec![b"3".to_vec()]
        );
    }

    #[test]
    fn cached_records_go_with_their_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::open(&dir.path().join("k.db")).expect("open");
        let alice = VerifiedIdentity::for_tests(AuthType::Direct, "alice");
        let alice_peer = VerifiedIdentity::for_tests(AuthType::UnixPeerCredentials, "alice");
        store.insert(&alice, "a", &record(b"1"), 9).expect("a");
        store.insert(&alice, "b", &record(b"2"), 9).expect("b");
        // Lookups fill the cache and answer from it afterwards, per namespace.
        for _ in 0..2 {
            assert_eq!(
                store.get(&alice, "a").expect("get").expect("a").handle,
                b"1"
            );
            assert!(store.get(&alice_peer, "a").expect("get").is_none());
        }
        assert_eq!(
            store.get(&alice, "b").expect("get").expect("b").handle,
            b"2"
        );
        assert_eq!(store.cache.read().expect("cache").len, 2);
        // A removed key is gone at once, and a new key of the same name is the new one.
        store
            .remove(&alice, "a")
            .expect("remove")
            .expect("was there");
        assert!(store.get(&alice, "a").expect("get").is_none());
        store.insert(&alice, "a", &record(b"3"), 9).expect("again");
        assert_eq!(
            store.get(&alice, "a").expect("get").expect("a").handle,
            b"3"
        );
        // Deleting the client empties its cached namespace too.
        store
            .remove_client(AuthType::Direct, "alice")
            .expect("client");
        assert!(store.get(&alice, "a").expect("get").is_none());
        assert!(store.get(&alice, "b").expect("get").is_none());
        assert_eq!(store.cache.read().expect("cache").len, 0);
    }

    #[test]
    fn record_cache_is_bounded() {
        let mut cache = RecordCache::default();
        for i in 0..RECORD_CACHE_ENTRIES + 10 {
            cache.insert(AuthType::Direct, "id", &format!("k{i}"), record(b"h"));
            assert!(cache.len <= RECORD_CACHE_ENTRIES);
        }
        let last = format!("k{}", RECORD_CACHE_ENTRIES + 9);
        assert!(cache.get(AuthType::Direct, "id", &last).is_some());
        cache.remove(AuthType::Direct, "id", &last);
        cache.remove(AuthType::Direct, "id", &last);
        cache.remove(AuthType::Jwt, "id", "k0");
        assert_eq!(cache.len, 9);
        cache.remove_namespace(AuthType::Direct, "id");
        assert_eq!(cache.len, 0);
        assert!(cache.namespaces[&AuthType::Direct].is_empty());
    }

    #[test]
    fn corrupt_attributes_are_reported_not_panicked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.db");
        let store = KeyStore::open(&path).expect("open");
        let alice = VerifiedIdentity::for_tests(AuthType::Direct, "alice");
        store.insert(&alice, "a", &record(b"1"), 9).expect("a");
        store
            .db()
            .execute("UPDATE keys SET attributes = x'ffff'", [])
            .expect("corrupt it");
        assert!(matches!(
            store.get(&alice, "a"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
