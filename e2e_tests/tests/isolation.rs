//! Multi-tenancy: every identity has its own key namespace. Two direct-auth applications,
//! the peer-credential vs direct namespaces, and a real second Unix user (uid 65534, the
//! `keyward` CLI run through `setpriv`) against the same socket.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use keyward_client::protocol::psa::{AsymmetricSignature, Hash, SignHash};
use keyward_client::protocol::ResponseStatus;
use keyward_client::Authentication;
use keyward_e2e_tests::{assert_status, binary, run_ok, Daemon, DaemonOptions, KeysSection};
use sha2::Digest;

fn ecdsa256() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

fn with_direct() -> Daemon {
    Daemon::start_with(DaemonOptions {
        direct: true,
        ..DaemonOptions::default()
    })
}

#[test]
fn direct_identities_have_separate_namespaces() {
    let daemon = with_direct();
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    let bob = daemon.client_with(Authentication::Direct("bob".into()));
    let hash = sha2::Sha256::digest(b"mine").to_vec();

    alice.create_signing_key("shared-name").unwrap();
    alice.create_signing_key("alice-only").unwrap();
    bob.create_signing_key("shared-name").unwrap();
    let alice_public = alice.export_public_key("shared-name").unwrap();
    let bob_public = bob.export_public_key("shared-name").unwrap();
    assert_ne!(alice_public, bob_public, "same name, two different keys");

    // A signature by alice's key does not verify under bob's key of the same name.
    let alice_sig = alice.sign_hash("shared-name", ecdsa256(), &hash).unwrap();
    assert!(alice
        .verify_hash("shared-name", ecdsa256(), &hash, &alice_sig)
        .unwrap());
    assert!(!bob
        .verify_hash("shared-name", ecdsa256(), &hash, &alice_sig)
        .unwrap());

    // Bob cannot reach alice's other key in any way.
    assert_status(
        bob.sign_hash("alice-only", ecdsa256(), &hash),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_status(
        bob.export_public_key("alice-only"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_status(
        bob.export_key("alice-only"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_status(
        bob.destroy_key("alice-only"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    let bobs: Vec<String> = bob
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(bobs, vec!["shared-name".to_owned()]);

    // Bob destroying "his" shared-name leaves alice's key intact.
    bob.destroy_key("shared-name").unwrap();
    assert!(bob.list_keys().unwrap().is_empty());
    assert_eq!(
        alice.export_public_key("shared-name").unwrap(),
        alice_public
    );
    let again = alice.sign_hash("shared-name", ecdsa256(), &hash).unwrap();
    assert!(alice
        .verify_hash("shared-name", ecdsa256(), &hash, &again)
        .unwrap());
    assert_eq!(alice.list_keys().unwrap().len(), 2);

    // Names are compared exactly: "Alice" is someone else.
    let other = daemon.client_with(Authentication::Direct("Alice".into()));
    assert!(other.list_keys().unwrap().is_empty());
}

#[test]
fn peer_credential_and_direct_namespaces_differ_for_the_same_name() {
    let uid = nix::unistd::getuid().as_raw().to_string();
    let daemon = with_direct();
    let by_peer = daemon.client();
    // Direct auth claiming the same string as our UID ("0" as root).
    let by_direct = daemon.client_with(Authentication::Direct(uid.clone()));
    let hash = sha2::Sha256::digest(b"ns").to_vec();

    by_peer.create_signing_key("k").unwrap();
    assert!(
        by_direct.list_keys().unwrap().is_empty(),
        "direct {uid:?} sees no peer keys"
    );
    assert_status(
        by_direct.sign_hash("k", ecdsa256(), &hash),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    by_direct.create_signing_key("k").unwrap();
    assert_ne!(
        by_peer.export_public_key("k").unwrap(),
        by_direct.export_public_key("k").unwrap()
    );
    by_direct.destroy_key("k").unwrap();
    by_peer.sign_hash("k", ecdsa256(), &hash).unwrap();
    assert_eq!(by_peer.list_keys().unwrap().len(), 1);
}

/// The `keyward` CLI as uid/gid 65534 (nobody), with no supplementary groups.
fn as_nobody(daemon: &Daemon) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(binary("keyward"))
        .env("KEYWARD_ENDPOINT", daemon.endpoint())
        .env_remove("PARSEC_SERVICE_ENDPOINT");
    command
}

#[test]
fn a_second_unix_user_gets_its_own_namespace() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test switches to uid 65534 with setpriv and must run as root (as in CI)"
    );
    let daemon = Daemon::start();
    daemon.make_traversable();
    let root = daemon.client();
    root.create_signing_key("root-key").unwrap();

    // The other user sees no keys, and cannot use or delete root's.
    let listed = run_ok(as_nobody(&daemon).args(["list-keys", "--json"]));
    let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        keys,
        serde_json::json!([]),
        "uid 65534 sees none of root's keys"
    );
    for args in [
        &["sign", "-k", "root-key", "hello"][..],
        &["export-public-key", "-k", "root-key"][..],
        &["delete-key", "-k", "root-key"][..],
    ] {
        let output = as_nobody(&daemon).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded as uid 65534");
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The convenience commands look the key up in the caller's list first; delete-key
        // asks the service directly. Either way the key does not exist for this caller.
        assert!(
            stderr.contains("does not exist") || stderr.contains("PsaErrorDoesNotExist"),
            "{args:?}: {stderr}"
        );
    }

    // Its own key works, under the same name as root's.
    run_ok(as_nobody(&daemon).args(["create-ecc-key", "-k", "root-key"]));
    let signature = run_ok(as_nobody(&daemon).args(["sign", "-k", "root-key", "hello"]));
    run_ok(as_nobody(&daemon).args(["verify", "-k", "root-key", "-s", signature.trim(), "hello"]));
    let listed = run_ok(as_nobody(&daemon).args(["list-keys", "--json"]));
    let keys: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["name"], "root-key");

    // The daemon really saw a second identity (the audit log names the peer's UID).
    assert!(
        daemon.wait_for_log("identity=\"65534\"", std::time::Duration::from_secs(2)),
        "no audit line for uid 65534:\n{}",
        daemon.log()
    );
    // The two keys are different, and root's is untouched.
    let nobody_pem = run_ok(as_nobody(&daemon).args(["export-public-key", "-k", "root-key"]));
    assert_ne!(nobody_pem, root.public_key_pem("root-key").unwrap());
    let root_keys = root.list_keys().unwrap();
    assert_eq!(root_keys.len(), 1);
    let sig = root.sign("root-key", b"root").unwrap();
    assert!(root.verify("root-key", b"root", &sig).unwrap());
}

#[test]
fn per_identity_limits_apply_to_each_identity_separately() {
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        keys: Some(KeysSection {
            max_keys_per_identity: 3,
            max_key_name_len: 16,
        }),
        ..DaemonOptions::default()
    });
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    let bob = daemon.client_with(Authentication::Direct("bob".into()));
    for name in ["k1", "k2", "clé-ü"] {
        alice.create_signing_key(name).unwrap();
    }
    assert_status(
        alice.create_signing_key("k4"),
        ResponseStatus::PsaErrorInsufficientStorage,
    );
    // Alice's full quota does not limit bob.
    for name in ["k1", "k2", "k3"] {
        bob.create_aes_key(name, 128).unwrap();
    }
    // Freeing a slot lets alice create again; the refused key never existed.
    alice.destroy_key("k2").unwrap();
    alice.create_signing_key("k4").unwrap();
    let mut names: Vec<String> = alice
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    names.sort();
    assert_eq!(names, ["clé-ü", "k1", "k4"]);
    // Key names: 1 to max_key_name_len bytes, no control characters.
    bob.destroy_key("k3").unwrap();
    for bad in ["", "seventeen-bytes!!", "tab\there"] {
        assert_status(
            bob.create_signing_key(bad),
            ResponseStatus::PsaErrorInvalidArgument,
        );
    }
    bob.create_signing_key("sixteen-bytes-ok").unwrap();
}
