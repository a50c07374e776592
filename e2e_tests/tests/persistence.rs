//! Durability: keys survive a clean restart with the same material, and a SIGKILL in the middle
//! of key creation leaves a store in which every listed key works and every key the client was
//! told about exists.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyward_client::protocol::psa::{AsymmetricSignature, Hash, SignHash};
use keyward_client::protocol::ResponseStatus;
use keyward_client::{Authentication, BasicClient, EccCurve};
use keyward_e2e_tests::{assert_status, Daemon, DaemonOptions};
use sha2::Digest;

#[test]
fn keys_survive_a_restart_with_the_same_material() {
    let mut daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        ..DaemonOptions::default()
    });
    let client = daemon.client();
    client.create_signing_key("ecc").unwrap();
    client
        .create_ecc_signing_key("ecc-384", EccCurve::P384)
        .unwrap();
    client.create_aes_key("aes", 256).unwrap();
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    alice.create_signing_key("ecc").unwrap();
    let public = client.export_public_key("ecc").unwrap();
    let public_384 = client.export_public_key("ecc-384").unwrap();
    let alice_public = alice.export_public_key("ecc").unwrap();
    let signature = client.sign("ecc", b"before").unwrap();
    let sealed = client.encrypt("aes", b"sealed before the restart").unwrap();
    let keys_before = client.list_keys().unwrap();

    assert!(daemon.stop(), "clean exit");
    assert!(!daemon.socket.exists());
    daemon.spawn();

    let client = daemon.client();
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    let mut keys_after = client.list_keys().unwrap();
    let mut keys_before = keys_before;
    keys_before.sort_by(|a, b| a.name.cmp(&b.name));
    keys_after.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(keys_after, keys_before, "same keys, same attributes");
    assert_eq!(client.export_public_key("ecc").unwrap(), public);
    assert_eq!(client.export_public_key("ecc-384").unwrap(), public_384);
    assert_eq!(alice.export_public_key("ecc").unwrap(), alice_public);
    assert!(client.verify("ecc", b"before", &signature).unwrap());
    let after = client.sign("ecc", b"after").unwrap();
    assert!(client.verify("ecc", b"after", &after).unwrap());
    assert_eq!(
        &client.decrypt("aes", &sealed).unwrap()[..],
        b"sealed before the restart",
        "the AES key is the same key"
    );
    // The master key that seals them is private to the daemon.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(daemon.state_dir.join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "master.key mode {mode:o}");
}

fn ecdsa256() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

#[test]
fn sigkill_during_key_creation_leaves_a_consistent_store() {
    const PER_THREAD: usize = 300;
    let mut daemon = Daemon::start();
    let created = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|prefix| {
            let client: BasicClient = daemon.client();
            let created = created.clone();
            std::thread::spawn(move || {
                let mut told = Vec::new();
                let mut failure = None;
                for i in 0..PER_THREAD {
                    let name = format!("{prefix}{i}");
                    match client.create_signing_key(&name) {
                        Ok(()) => {
                            told.push(name);
                            created.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(err) => {
                            failure = Some((name, err.to_string()));
                            break;
                        }
                    }
                }
                (told, failure)
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(60);
    while created.load(Ordering::SeqCst) < PER_THREAD {
        assert!(Instant::now() < deadline, "key creation too slow");
        std::thread::sleep(Duration::from_millis(1));
    }
    daemon.kill9();
    let mut told = BTreeSet::new();
    let mut in_flight = Vec::new();
    for worker in workers {
        let (names, failure) = worker.join().unwrap();
        let (name, error) = failure.expect("the kill interrupted the creation loop");
        eprintln!("creation stopped at {name}: {error}");
        in_flight.push(name);
        told.extend(names);
    }
    eprintln!("{} keys reported created before SIGKILL", told.len());

    daemon.spawn();
    let client = daemon.client();
    let listed: BTreeSet<String> = client
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|key| key.name)
        .collect();
    let missing: Vec<&String> = told.difference(&listed).collect();
    assert!(missing.is_empty(), "reported created but lost: {missing:?}");
    let extra: Vec<&String> = listed.difference(&told).collect();
    assert!(
        extra.iter().all(|name| in_flight.contains(name)),
        "listed keys nobody created: {extra:?} (in flight: {in_flight:?})"
    );
    // Every listed key is whole: it signs, and the signature verifies.
    let hash = sha2::Sha256::digest(b"after the crash").to_vec();
    for name in &listed {
        let signature = client
            .sign_hash(name, ecdsa256(), &hash)
            .unwrap_or_else(|err| panic!("listed key {name} unusable: {err}"));
        assert!(client
            .verify_hash(name, ecdsa256(), &hash, &signature)
            .unwrap_or_else(|err| panic!("listed key {name} does not verify: {err}")));
    }
    // The in-flight names are either whole keys or free: no half-created record blocks them.
    for name in &in_flight {
        if listed.contains(name) {
            assert_status(
                client.create_signing_key(name),
                ResponseStatus::PsaErrorAlreadyExists,
            );
        } else {
            client.create_signing_key(name).unwrap();
            client.sign(name, b"fresh").unwrap();
        }
    }
}
