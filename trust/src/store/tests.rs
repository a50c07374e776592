//! Trust store tests: ShareTrustBundle's rules one by one, epochs, persistence and restarts,
//! failure atomicity, ReplaceTrustRoot, and concurrent readers during rotation.

use super::*;
use crate::cert::{build_root, issue_intermediate, ComponentName, MAX_CERTIFICATE_LEN};
use crate::key::InMemoryKey;
use crate::persist::{FilePersistence, MemoryPersistence};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, UNIX_EPOCH};

const ROTATION: Duration = Duration::from_secs(900);

/// A clock tests can move.
#[derive(Clone)]
struct TestClock(Arc<Mutex<SystemTime>>);

impl TestClock {
    fn new() -> Self {
        TestClock(Arc::new(Mutex::new(
            UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        )))
    }
    fn now(&self) -> SystemTime {
        *self.0.lock().expect("clock")
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
    fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

/// A trusted component: its root key and certificate.
struct Component {
    key: InMemoryKey,
    root_der: Vec<u8>,
    root: RootCertificate,
}

impl Component {
    fn new(now: SystemTime) -> Self {
        let key = InMemoryKey::generate().expect("key");
        let root_der = build_root(&name(), &key, now).expect("root");
        let root = RootCertificate::from_der(&root_der, &CertPolicy::default()).expect("root");
        Component {
            key,
            root_der,
            root,
        }
    }
    fn intermediate(&self, now: SystemTime) -> crate::cert::SigningIntermediate {
        issue_intermediate(&name(), &self.root, &self.key, ROTATION, now).expect("intermediate")
    }
}

fn name() -> ComponentName {
    ComponentName::new("keyward-idp").expect("name")
}

/// Shares go through a persistence that counts saves and can be told to fail.
#[derive(Default)]
struct Flaky {
    inner: MemoryPersistence,
    fail: AtomicBool,
    saves: AtomicU64,
}

impl TrustPersistence for Arc<Flaky> {
    fn load(&self) -> Result<PersistedTrust, PersistError> {
        self.inner.load()
    }
    fn save(&self, state: &PersistedTrust) -> Result<(), PersistError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("disk full".into());
        }
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(state)
    }
}

fn open(clock: &TestClock) -> (PinnedTrustStore, Arc<Flaky>) {
    let persistence = Arc::new(Flaky::default());
    let (store, report) = PinnedTrustStore::open_with_clock(
        Box::new(persistence.clone()),
        CertPolicy::default(),
        clock.clock(),
    )
    .expect("open");
    assert!(!report.root);
    assert!(matches!(report.intermediate, IntermediateLoad::None));
    (store, persistence)
}

#[test]
fn roots_are_pinned_once_and_compared_by_public_key() {
    let clock = TestClock::new();
    let (store, persistence) = open(&clock);
    let idp = Component::new(clock.now());
    let start = store.epoch();

    assert_eq!(
        store.share(&idp.root_der, true).expect("pin"),
        Shared::RootPinned
    );
    assert_eq!(store.epoch(), start + 1);
    assert_eq!(
        persistence.inner.snapshot().root.as_deref(),
        Some(&idp.root_der[..])
    );

    // The component restarts and regenerates its root certificate with the same key.
    clock.advance(Duration::from_secs(3600));
    let regenerated = build_root(&name(), &idp.key, clock.now()).expect("root");
    assert_ne!(regenerated, idp.root_der);
    assert_eq!(
        store.share(&regenerated, true).expect("same key"),
        Shared::RootUnchanged
    );
    assert_eq!(
        store.share(&idp.root_der, true).expect("same"),
        Shared::RootUnchanged
    );
    assert_eq!(store.epoch(), start + 1, "idempotent shares change nothing");
    assert_eq!(persistence.saves.load(Ordering::SeqCst), 1);

    let intruder = Component::new(clock.now());
    let err = store
        .share(&intruder.root_der, true)
        .expect_err("another root");
    assert!(matches!(err, TrustError::RootAlreadyShared));
    assert_eq!(err.refusal(), Refusal::RootAlreadyShared);
    assert_eq!(store.epoch(), start + 1);
    assert!(store.root().expect("root").same_key(&idp.root));
}

#[test]
fn intermediates_need_a_root_verify_and_replace_at_once() {
    let clock = TestClock::new();
    let (store, persistence) = open(&clock);
    let idp = Component::new(clock.now());
    let first = idp.intermediate(clock.now());

    let err = store
        .share(first.certificate_der(), false)
        .expect_err("no root yet");
    assert!(matches!(err, TrustError::NoRootYet));
    assert_eq!(err.refusal(), Refusal::NoRootYet);
    assert!(store.verifying_key(first.kid().as_str()).is_none());

    store.share(&idp.root_der, true).expect("root");
    let epoch = store.epoch();
    assert_eq!(
        store.share(first.certificate_der(), false).expect("accept"),
        Shared::IntermediateReplaced
    );
    assert_eq!(store.epoch(), epoch + 1);
    let key = store.verifying_key(first.kid().as_str()).expect("trusted");
    assert_eq!(key.kid, *first.kid());
    assert_eq!(key.spki_der, first.key().public_key_spki());
    assert_eq!(key.not_after, first.not_after());
    assert_eq!(key.epoch, store.epoch());
    assert_eq!(
        persistence.inner.snapshot().intermediate.as_deref(),
        Some(first.certificate_der())
    );

    // The healing probe: the current one again.
    assert_eq!(
        store.share(first.certificate_der(), false).expect("probe"),
        Shared::IntermediateUnchanged
    );
    assert_eq!(store.epoch(), epoch + 1);

    // Rotation: the old kid verifies nothing from this moment.
    clock.advance(Duration::from_secs(900));
    let second = idp.intermediate(clock.now());
    assert_eq!(
        store
            .share(second.certificate_der(), false)
            .expect("rotate"),
        Shared::IntermediateReplaced
    );
    assert_eq!(store.epoch(), epoch + 2);
    assert!(
        store.verifying_key(first.kid().as_str()).is_none(),
        "superseded"
    );
    assert!(store.verifying_key(second.kid().as_str()).is_some());
    assert!(store.verifying_key("").is_none());
    assert!(store.verifying_key("not-a-kid").is_none());
}

#[test]
fn refused_intermediates_change_nothing() {
    let clock = TestClock::new();
    let (store, _) = open(&clock);
    let idp = Component::new(clock.now());
    store.share(&idp.root_der, true).expect("root");
    let current = idp.intermediate(clock.now());
    store
        .share(current.certificate_der(), false)
        .expect("current");
    let epoch = store.epoch();

    let impostor = Component::new(clock.now());
    let forged = impostor.intermediate(clock.now());
    let err = store
        .share(forged.certificate_der(), false)
        .expect_err("forged");
    assert!(
        matches!(err, TrustError::Refused(CertError::BadSignature)),
        "{err:?}"
    );
    assert_eq!(err.refusal(), Refusal::TrustVerificationFailed);

    let expired = idp.intermediate(clock.now() - 3 * ROTATION);
    let err = store
        .share(expired.certificate_der(), false)
        .expect_err("expired");
    assert!(
        matches!(err, TrustError::Stale(CertError::Expired { .. })),
        "{err:?}"
    );
    assert_eq!(err.refusal(), Refusal::StaleIntermediate);

    let err = store
        .share(&vec![0x30; MAX_CERTIFICATE_LEN + 1], false)
        .expect_err("oversized");
    assert!(matches!(
        err,
        TrustError::Refused(CertError::TooLarge { .. })
    ));
    let err = store.share(b"junk", false).expect_err("junk");
    assert!(matches!(err, TrustError::Refused(CertError::Malformed(_))));
    // A root shared as an intermediate is no intermediate (keyUsage lacks digitalSignature).
    let err = store
        .share(&idp.root_der, false)
        .expect_err("root as intermediate");
    assert!(
        matches!(err, TrustError::Refused(CertError::KeyUsage)),
        "{err:?}"
    );
    // An intermediate shared as a root is not a CA root (keyUsage lacks keyCertSign).
    let err = store
        .share(current.certificate_der(), true)
        .expect_err("intermediate as root");
    assert!(
        matches!(err, TrustError::Refused(CertError::RootKeyUsage)),
        "{err:?}"
    );

    assert_eq!(store.epoch(), epoch);
    assert!(store.verifying_key(current.kid().as_str()).is_some());
}

#[test]
fn the_current_intermediate_goes_stale_with_time() {
    let clock = TestClock::new();
    let (store, _) = open(&clock);
    let idp = Component::new(clock.now());
    store.share(&idp.root_der, true).expect("root");
    let current = idp.intermediate(clock.now());
    store
        .share(current.certificate_der(), false)
        .expect("current");
    // Past notAfter + leeway, the probe tells the sharer its intermediate is stale.
    clock.advance(2 * ROTATION + Duration::from_secs(6));
    let err = store
        .share(current.certificate_der(), false)
        .expect_err("stale probe");
    assert_eq!(err.refusal(), Refusal::StaleIntermediate);
    // The key is still returned (verifiers check not_after themselves) …
    let key = store.verifying_key(current.kid().as_str()).expect("key");
    assert!(key.not_after < clock.now());
    // … and a fresh one replaces it.
    let fresh = idp.intermediate(clock.now());
    store.share(fresh.certificate_der(), false).expect("fresh");
}

#[test]
fn failed_persistence_leaves_the_store_unchanged() {
    let clock = TestClock::new();
    let (store, persistence) = open(&clock);
    let idp = Component::new(clock.now());
    persistence.fail.store(true, Ordering::SeqCst);
    let epoch = store.epoch();
    let err = store.share(&idp.root_der, true).expect_err("disk full");
    assert!(matches!(err, TrustError::Persistence(_)));
    assert_eq!(err.refusal(), Refusal::Internal);
    assert!(std::error::Error::source(&err).is_some());
    assert!(store.root().is_none(), "not pinned unless persisted");
    assert_eq!(store.epoch(), epoch);
    // So another root can still be the first once the disk recovers; here the same one.
    persistence.fail.store(false, Ordering::SeqCst);
    store.share(&idp.root_der, true).expect("pinned");

    let intermediate = idp.intermediate(clock.now());
    persistence.fail.store(true, Ordering::SeqCst);
    assert!(store.share(intermediate.certificate_der(), false).is_err());
    assert!(store.verifying_key(intermediate.kid().as_str()).is_none());
    persistence.fail.store(false, Ordering::SeqCst);
    store
        .share(intermediate.certificate_der(), false)
        .expect("accepted");
    assert!(store.verifying_key(intermediate.kid().as_str()).is_some());
}

#[test]
fn restarts_load_the_pin_and_recheck_the_intermediate() {
    let clock = TestClock::new();
    let idp = Component::new(clock.now());
    let intermediate = idp.intermediate(clock.now());
    let saved = {
        let memory = Arc::new(MemoryPersistence::default());
        struct Handle(Arc<MemoryPersistence>);
        impl TrustPersistence for Handle {
            fn load(&self) -> Result<PersistedTrust, PersistError> {
                self.0.load()
            }
            fn save(&self, state: &PersistedTrust) -> Result<(), PersistError> {
                self.0.save(state)
            }
        }
        let (store, _) = PinnedTrustStore::open_with_clock(
            Box::new(Handle(memory.clone())),
            CertPolicy::default(),
            clock.clock(),
        )
        .expect("open");
        store.share(&idp.root_der, true).expect("root");
        store
            .share(intermediate.certificate_der(), false)
            .expect("intermediate");
        memory.snapshot()
    };

    // A restart within the intermediate's validity heals at once.
    let (store, report) = PinnedTrustStore::open_with_clock(
        Box::new(MemoryPersistence::with_state(saved.clone())),
        CertPolicy::default(),
        clock.clock(),
    )
    .expect("reopen");
    assert!(report.root);
    assert!(
        matches!(&report.intermediate, IntermediateLoad::Loaded(kid) if kid == intermediate.kid())
    );
    assert!(store.verifying_key(intermediate.kid().as_str()).is_some());
    let other = Component::new(clock.now());
    assert!(
        matches!(
            store.share(&other.root_der, true),
            Err(TrustError::RootAlreadyShared)
        ),
        "the pin survives the restart, so no other root can race in"
    );

    // A restart after it expired keeps the pin and drops the intermediate.
    clock.advance(3 * ROTATION);
    let (store, report) = PinnedTrustStore::open_with_clock(
        Box::new(MemoryPersistence::with_state(saved.clone())),
        CertPolicy::default(),
        clock.clock(),
    )
    .expect("reopen");
    assert!(report.root);
    assert!(matches!(
        report.intermediate,
        IntermediateLoad::Dropped(CertError::Expired { .. })
    ));
    assert!(store.intermediate().is_none());
    assert!(store.verifying_key(intermediate.kid().as_str()).is_none());

    // A damaged pin is an error, never a silently empty store.
    let damaged = PersistedTrust {
        root: Some(b"not a certificate".to_vec()),
        intermediate: None,
    };
    let err = PinnedTrustStore::open(
        Box::new(MemoryPersistence::with_state(damaged)),
        CertPolicy::default(),
    )
    .expect_err("damaged");
    assert!(matches!(err, TrustError::Refused(CertError::Malformed(_))));

    struct Unreadable;
    impl TrustPersistence for Unreadable {
        fn load(&self) -> Result<PersistedTrust, PersistError> {
            Err("permission denied".into())
        }
        fn save(&self, _: &PersistedTrust) -> Result<(), PersistError> {
            Ok(())
        }
    }
    assert!(matches!(
        PinnedTrustStore::open(Box::new(Unreadable), CertPolicy::default()),
        Err(TrustError::Persistence(_))
    ));
}

#[test]
fn file_persistence_carries_the_pin_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("trust.json");
    let clock = TestClock::new();
    let idp = Component::new(clock.now());
    let intermediate = idp.intermediate(clock.now());
    {
        let (store, _) = PinnedTrustStore::open_with_clock(
            Box::new(FilePersistence::new(&path)),
            CertPolicy::default(),
            clock.clock(),
        )
        .expect("open");
        store.share(&idp.root_der, true).expect("root");
        store
            .share(intermediate.certificate_der(), false)
            .expect("intermediate");
    }
    let (store, report) = PinnedTrustStore::open_with_clock(
        Box::new(FilePersistence::new(&path)),
        CertPolicy::default(),
        clock.clock(),
    )
    .expect("reopen");
    assert!(report.root);
    assert!(matches!(report.intermediate, IntermediateLoad::Loaded(_)));
    assert!(store.verifying_key(intermediate.kid().as_str()).is_some());
}

#[test]
fn replacing_the_root_drops_the_intermediate() {
    let clock = TestClock::new();
    let (store, persistence) = open(&clock);
    let old = Component::new(clock.now());
    store.share(&old.root_der, true).expect("root");
    let old_intermediate = old.intermediate(clock.now());
    store
        .share(old_intermediate.certificate_der(), false)
        .expect("intermediate");
    let epoch = store.epoch();

    let new = Component::new(clock.now());
    assert!(store.replace_root(b"junk").is_err());
    assert_eq!(store.epoch(), epoch);
    store.replace_root(&new.root_der).expect("replace");
    assert_eq!(store.epoch(), epoch + 1);
    assert!(store.root().expect("root").same_key(&new.root));
    assert!(store.intermediate().is_none());
    assert!(store
        .verifying_key(old_intermediate.kid().as_str())
        .is_none());
    assert_eq!(
        persistence.inner.snapshot(),
        PersistedTrust {
            root: Some(new.root_der.clone()),
            intermediate: None
        }
    );
    // Intermediates of the old root no longer verify; the new root's do.
    let err = store
        .share(old_intermediate.certificate_der(), false)
        .expect_err("old root's");
    assert!(matches!(
        err,
        TrustError::Refused(CertError::IssuerMismatch | CertError::BadSignature)
    ));
    store
        .share(new.intermediate(clock.now()).certificate_der(), false)
        .expect("new root's");
    // The old root is now "another root".
    assert!(matches!(
        store.share(&old.root_der, true),
        Err(TrustError::RootAlreadyShared)
    ));
}

#[test]
fn readers_never_see_a_superseded_key_with_a_newer_epoch() {
    let clock = TestClock::new();
    let (store, _) = open(&clock);
    let idp = Component::new(clock.now());
    store.share(&idp.root_der, true).expect("root");
    let intermediates: Vec<_> = (0..40).map(|_| idp.intermediate(clock.now())).collect();
    store
        .share(intermediates[0].certificate_der(), false)
        .expect("first");
    let store = Arc::new(store);
    let kids: Arc<Vec<String>> = Arc::new(
        intermediates
            .iter()
            .map(|i| i.kid().as_str().to_owned())
            .collect(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, kids, done) = (store.clone(), kids.clone(), done.clone());
            std::thread::spawn(move || {
                let mut found = 0u64;
                let mut last_epoch = 0;
                while !done.load(Ordering::SeqCst) {
                    for (index, kid) in kids.iter().enumerate() {
                        if let Some(key) = store.verifying_key(kid) {
                            found += 1;
                            assert!(key.epoch >= last_epoch, "epochs never go back");
                            last_epoch = key.epoch;
                            assert_eq!(key.kid.as_str(), kid);
                            // Root pinned at epoch 2, intermediate i current exactly at 3 + i:
                            // a key is never paired with another key's epoch.
                            assert_eq!(key.epoch, 3 + index as u64, "intermediate {index}");
                        }
                    }
                }
                found
            })
        })
        .collect();
    for intermediate in &intermediates[1..] {
        store
            .share(intermediate.certificate_der(), false)
            .expect("rotate");
    }
    done.store(true, Ordering::SeqCst);
    let found: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    assert!(found > 0, "the readers saw keys, or this tested nothing");
    let last = intermediates.last().expect("last");
    for intermediate in &intermediates[..intermediates.len() - 1] {
        assert!(store.verifying_key(intermediate.kid().as_str()).is_none());
    }
    assert!(store.verifying_key(last.kid().as_str()).is_some());
}
