//! A fixed world for the fuzz targets: one trusted component whose root and current
//! intermediate a trust store has accepted, at a fixed time.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keyward_trust::persist::MemoryPersistence;
use keyward_trust::{
    build_root, issue_intermediate, CertPolicy, ComponentName, InMemoryKey, PinnedTrustStore,
    RootCertificate, SigningIntermediate, TrustStore,
};

// Each target uses part of the world.
#[allow(dead_code)]
pub struct World {
    pub root: RootCertificate,
    pub intermediate: SigningIntermediate,
    pub store: PinnedTrustStore,
    pub now: SystemTime,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let name = ComponentName::new("keyward-orchestrator").expect("name");
        let key = InMemoryKey::generate().expect("key");
        let root_der = build_root(&name, &key, now).expect("root");
        let root = RootCertificate::from_der(&root_der, &CertPolicy::default()).expect("root");
        let intermediate =
            issue_intermediate(&name, &root, &key, Duration::from_secs(900), now).expect("int");
        let (store, _) = PinnedTrustStore::open_with_clock(
            Box::new(MemoryPersistence::default()),
            CertPolicy::default(),
            Arc::new(move || now),
        )
        .expect("store");
        store.share(&root_der, true).expect("root shared");
        store
            .share(intermediate.certificate_der(), false)
            .expect("intermediate shared");
        World {
            root,
            intermediate,
            store,
            now,
        }
    })
}
