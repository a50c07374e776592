//! Fuzz target: certificate parsing and verification, as ShareTrustBundle runs them on
//! whatever a peer sends: as a root anchor, as an intermediate against the pinned root, and
//! through a trust store (which must never accept what verification refuses).
#![no_main]

mod common;

use keyward_trust::persist::MemoryPersistence;
use keyward_trust::{verify_intermediate, CertPolicy, PinnedTrustStore, TrustStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let world = common::world();
    let policy = CertPolicy::default();
    let _ = keyward_trust::RootCertificate::from_der(data, &policy);
    let verified = verify_intermediate(data, &world.root, world.now, &policy);

    // A fresh store with our root: sharing the input as an intermediate succeeds exactly when
    // verification does.
    let (store, _) = PinnedTrustStore::open_with_clock(
        Box::new(MemoryPersistence::default()),
        policy,
        std::sync::Arc::new(|| common::world().now),
    )
    .expect("store");
    store.share(world.root.der(), true).expect("root");
    assert_eq!(store.share(data, false).is_ok(), verified.is_ok());
    let _ = store.share(data, true);
});
