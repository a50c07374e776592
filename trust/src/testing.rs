//! Shared fixtures for the JWS, token and payload tests: a trusted component (root key,
//! root certificate, current intermediate) and a trusting side's store that has accepted both.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cert::{
    build_root, issue_intermediate, CertPolicy, ComponentName, RootCertificate, SigningIntermediate,
};
use crate::key::InMemoryKey;
use crate::persist::MemoryPersistence;
use crate::store::{PinnedTrustStore, TrustStore};

/// 2026-01-01T00:00:00Z.
pub(crate) const NOW_SECS: u64 = 1_767_225_600;
pub(crate) const ROTATION: Duration = Duration::from_secs(900);

pub(crate) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

pub(crate) struct Fixture {
    pub(crate) root_key: InMemoryKey,
    pub(crate) root: RootCertificate,
    pub(crate) store: PinnedTrustStore,
    pub(crate) intermediate: SigningIntermediate,
}

fn name() -> ComponentName {
    ComponentName::new("keyward-orchestrator").expect("name")
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let root_key = InMemoryKey::generate().expect("root key");
        let root_der = build_root(&name(), &root_key, now()).expect("root");
        let root = RootCertificate::from_der(&root_der, &CertPolicy::default()).expect("root");
        let (store, _) = PinnedTrustStore::open_with_clock(
            Box::new(MemoryPersistence::default()),
            CertPolicy::default(),
            std::sync::Arc::new(now),
        )
        .expect("store");
        store.share(&root_der, true).expect("root shared");
        let intermediate =
            issue_intermediate(&name(), &root, &root_key, ROTATION, now()).expect("intermediate");
        store
            .share(intermediate.certificate_der(), false)
            .expect("intermediate shared");
        Fixture {
            root_key,
            root,
            store,
            intermediate,
        }
    }

    /// Issues and shares a new intermediate; returns the superseded one.
    pub(crate) fn rotate(&mut self) -> SigningIntermediate {
        let next = issue_intermediate(&name(), &self.root, &self.root_key, ROTATION, now())
            .expect("intermediate");
        self.store
            .share(next.certificate_der(), false)
            .expect("shared");
        std::mem::replace(&mut self.intermediate, next)
    }
}
