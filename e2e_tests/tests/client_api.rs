//! The client library as an application uses it, against the real keywardd: owned key
//! handles and the RustCrypto traits (signatures checked by OpenSSL), one shape for every
//! error, local refusal of wrong key types, the stale key cache, AES-GCM with associated
//! data, and the per-client connection cap with 64 threads.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use keyward_client::protocol::ResponseStatus;
use keyward_client::signature::hazmat::PrehashSigner;
use keyward_client::signature::{Keypair, Signer};
use keyward_client::spki::DynSignatureAlgorithmIdentifier;
use keyward_client::{
    AeadKey, BasicClient, ClientError, DecryptionKey, EccCurve, SignatureScheme, SigningKey,
};
use keyward_e2e_tests::{socket_inodes, Daemon, DaemonOptions, Limits};

fn openssl() -> Command {
    let version = Command::new("openssl").arg("version").output();
    assert!(
        version.as_ref().is_ok_and(|out| out.status.success()),
        "openssl is required (.ci/run installs it): {version:?}"
    );
    Command::new("openssl")
}

/// Verifies `signature` of `message` with OpenSSL and the public key PEM.
fn openssl_verifies(
    dir: &Path,
    pem: &str,
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let (key, msg, sig) = (dir.join("pub.pem"), dir.join("msg"), dir.join("sig"));
    std::fs::write(&key, pem).unwrap();
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let digest = match scheme.hash() {
        keyward_client::protocol::psa::Hash::Sha384 => "-sha384",
        keyward_client::protocol::psa::Hash::Sha512 => "-sha512",
        _ => "-sha256",
    };
    let mut command = openssl();
    command
        .args(["dgst", digest, "-verify"])
        .arg(&key)
        .arg("-signature")
        .arg(&sig);
    if scheme.is_pss() {
        command.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:-1",
        ]);
    }
    command.arg(&msg).output().unwrap().status.success()
}

#[test]
fn signing_key_handles_implement_the_rustcrypto_traits() {
    let daemon = Daemon::start();
    let client = daemon.client();
    client
        .create_ecc_signing_key("p256", EccCurve::P256)
        .unwrap();
    client
        .create_ecc_signing_key("p384", EccCurve::P384)
        .unwrap();
    client.create_rsa_signing_key("rsa", 2048).unwrap();
    client.create_rsa_pss_signing_key("pss", 2048).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, scheme, oid) in [
        ("p256", SignatureScheme::EcdsaSha256, "1.2.840.10045.4.3.2"),
        ("p384", SignatureScheme::EcdsaSha384, "1.2.840.10045.4.3.3"),
        (
            "rsa",
            SignatureScheme::RsaPkcs1v15Sha256,
            "1.2.840.113549.1.1.11",
        ),
        (
            "pss",
            SignatureScheme::RsaPssSha256,
            "1.2.840.113549.1.1.10",
        ),
    ] {
        let key: SigningKey = client.signing_key(name).unwrap();
        assert_eq!(key.scheme(), scheme);
        assert_eq!(
            key.signature_algorithm_identifier()
                .unwrap()
                .oid
                .to_string(),
            oid
        );
        let pem = key.verifying_key().to_pem().unwrap();
        assert_eq!(pem, client.public_key_pem(name).unwrap());

        let message = format!("signed by {name}");
        let signature = key.try_sign(message.as_bytes()).unwrap();
        assert!(
            openssl_verifies(
                dir.path(),
                &pem,
                scheme,
                message.as_bytes(),
                signature.as_bytes()
            ),
            "{name}: OpenSSL rejects the Signer's signature"
        );
        assert!(!openssl_verifies(
            dir.path(),
            &pem,
            scheme,
            b"other",
            signature.as_bytes()
        ));
        // PrehashSigner signs a digest computed by the caller: the same message's signature.
        let digest = keyward_client::keys::digest(scheme.hash(), message.as_bytes()).unwrap();
        let prehashed = key.sign_prehash(&digest).unwrap();
        assert!(openssl_verifies(
            dir.path(),
            &pem,
            scheme,
            message.as_bytes(),
            prehashed.as_bytes()
        ));
        assert!(key.verify_message(message.as_bytes(), &prehashed).unwrap());
        assert!(!key.verify_message(b"other", &prehashed).unwrap());
        // A digest of the wrong length is refused locally; the cause is the client's error.
        let err = key.sign_prehash(&digest[1..]).unwrap_err();
        let cause = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<ClientError>());
        assert!(
            matches!(cause, Some(ClientError::InvalidArgument(_))),
            "{err:?}"
        );
    }

    // p256 itself accepts the handle's signature and public key.
    let key = client.signing_key("p256").unwrap();
    let verifying =
        <p256::ecdsa::VerifyingKey as p256::pkcs8::DecodePublicKey>::from_public_key_der(
            key.verifying_key().to_der(),
        )
        .unwrap();
    let signature = key.try_sign(b"for p256").unwrap();
    let der = p256::ecdsa::DerSignature::try_from(signature.as_bytes()).unwrap();
    p256::ecdsa::signature::Verifier::verify(&verifying, b"for p256", &der).unwrap();
}

#[test]
fn handles_are_owned_and_outlive_the_client_they_came_from() {
    fn owned<T: Clone + Send + Sync + 'static>(_: &T) {}
    let daemon = Daemon::start();
    let (signer, aead, rsa) = {
        let client = daemon.client();
        client.create_signing_key("sig").unwrap();
        client.create_aes_key("aes", 256).unwrap();
        client
            .create_rsa_encryption_key("oaep", 2048, true)
            .unwrap();
        let handles: (SigningKey, AeadKey, DecryptionKey) = (
            client.signing_key("sig").unwrap(),
            client.aead_key("aes").unwrap(),
            client.decryption_key("oaep").unwrap(),
        );
        owned(&client);
        owned(&handles.0);
        owned(&handles.1);
        owned(&handles.2);
        handles
        // `client` is dropped here: the handles keep its connection alive.
    };
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (signer, aead, rsa) = (signer.clone(), aead.clone(), rsa.clone());
            std::thread::spawn(move || {
                let message = format!("thread {i}");
                let signature = signer.try_sign(message.as_bytes()).unwrap();
                assert!(signer
                    .verify_message(message.as_bytes(), &signature)
                    .unwrap());
                let sealed = aead.encrypt(message.as_bytes(), b"ad").unwrap();
                assert_eq!(
                    &aead.decrypt(&sealed, b"ad").unwrap()[..],
                    message.as_bytes()
                );
                let secret = rsa.encrypt(message.as_bytes(), b"label").unwrap();
                assert_eq!(
                    &rsa.decrypt(&secret, b"label").unwrap()[..],
                    message.as_bytes()
                );
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // An OAEP label is bound like associated data.
    let secret = rsa.encrypt(b"x", b"label").unwrap();
    assert!(rsa.decrypt(&secret, b"other label").is_err());
}

#[test]
fn a_missing_key_has_one_shape_wherever_it_is_found() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let ecdsa =
        keyward_client::signature_algorithm(&keyward_client::keys::ecc_signing_key(EccCurve::P256))
            .unwrap();
    let missing = |result: Result<(), ClientError>, how: &str| match result {
        Err(ClientError::KeyNotFound(name)) => assert_eq!(name, "ghost", "{how}"),
        other => panic!("{how}: {other:?}"),
    };
    // Found by the client's own look-up…
    missing(client.sign("ghost", b"m").map(drop), "sign");
    missing(client.public_key_pem("ghost").map(drop), "public_key_pem");
    missing(client.signing_key("ghost").map(drop), "signing_key");
    // …and answered by the service.
    missing(client.destroy_key("ghost"), "destroy_key");
    missing(
        client.sign_hash("ghost", ecdsa, &[0; 32]).map(drop),
        "sign_hash",
    );
    missing(
        client.export_public_key("ghost").map(drop),
        "export_public_key",
    );
    let err = client.destroy_key("ghost").unwrap_err();
    assert_eq!(err.status(), Some(ResponseStatus::PsaErrorDoesNotExist));

    // Other failures keep their cause as the source.
    let err = BasicClient::builder()
        .endpoint(daemon.dir.path().join("no-such.sock"))
        .build()
        .unwrap_err();
    let source = std::error::Error::source(&err).expect("the i/o error is the source");
    assert!(
        source.downcast_ref::<std::io::Error>().is_some(),
        "{source:?}"
    );
}

#[test]
fn wrong_key_types_are_refused_locally() {
    let daemon = Daemon::start();
    let client = daemon.client();
    client.create_aes_key("aes", 128).unwrap();
    client.create_signing_key("ecc").unwrap();
    client
        .create_rsa_encryption_key("pkcs1", 2048, false)
        .unwrap();
    let unsuitable = |result: Result<(), ClientError>, how: &str| {
        assert!(
            matches!(result, Err(ClientError::UnsuitableKey { .. })),
            "{how}: {result:?}"
        )
    };
    unsuitable(client.public_key_pem("aes").map(drop), "public key of AES");
    unsuitable(client.signing_key("aes").map(drop), "signing_key(AES)");
    unsuitable(client.sign("aes", b"m").map(drop), "sign with AES");
    unsuitable(client.aead_key("ecc").map(drop), "aead_key(ECC)");
    unsuitable(
        client.decryption_key("ecc").map(drop),
        "decryption_key(ECC)",
    );
    unsuitable(client.encrypt("ecc", b"m").map(drop), "encrypt with ECC");
    unsuitable(
        client.encrypt_with_aad("pkcs1", b"m", b"ad").map(drop),
        "PKCS#1 v1.5 with associated data",
    );
    // None of these reached the service as a key operation on those keys.
    let log = daemon.log();
    for line in log.lines().filter(|l| l.contains("keyward::audit")) {
        assert!(
            !(line.contains("PsaExportPublicKey")
                || line.contains("PsaSignHash")
                || line.contains("PsaAeadEncrypt")
                || line.contains("PsaAsymmetricEncrypt")),
            "a refused call reached the service: {line}"
        );
    }
}

#[test]
fn a_stale_key_cache_is_looked_up_again_once() {
    let daemon = Daemon::start();
    let app = daemon.client();
    let other = daemon.client();
    app.create_signing_key("rotating").unwrap();
    let first = app.sign("rotating", b"before").unwrap();
    assert_eq!(first.len(), 64, "P-256, cached as such");

    // Another process replaces the key by an RSA-PSS key of the same name.
    other.destroy_key("rotating").unwrap();
    other.create_rsa_pss_signing_key("rotating", 2048).unwrap();
    let second = app.sign("rotating", b"after").unwrap();
    assert_eq!(
        second.len(),
        256,
        "signed with the new RSA key after one fresh look-up"
    );
    assert!(other.verify("rotating", b"after", &second).unwrap());
    assert_eq!(
        app.key_info("rotating").unwrap().attributes,
        keyward_client::keys::rsa_pss_signing_key(2048)
    );

    // Destroyed elsewhere: the cached description does not hide it.
    other.destroy_key("rotating").unwrap();
    assert!(matches!(
        app.sign("rotating", b"gone"),
        Err(ClientError::KeyNotFound(_))
    ));
}

#[test]
fn aes_gcm_binds_associated_data() {
    let daemon = Daemon::start();
    let client = daemon.client();
    client.create_aes_key("aes", 256).unwrap();
    let sealed = client
        .encrypt_with_aad("aes", b"secret", b"header v1")
        .unwrap();
    assert_eq!(sealed.len(), 12 + 6 + 16, "nonce || ciphertext || tag");
    assert_eq!(
        &client
            .decrypt_with_aad("aes", &sealed, b"header v1")
            .unwrap()[..],
        b"secret"
    );
    for (ad, ciphertext) in [(&b"header v2"[..], sealed.clone()), (b"", sealed.clone())] {
        let err = client.decrypt_with_aad("aes", &ciphertext, ad).unwrap_err();
        assert_eq!(err.status(), Some(ResponseStatus::PsaErrorInvalidSignature));
    }
    // Fresh nonces: the same plaintext never encrypts the same way twice.
    let again = client
        .encrypt_with_aad("aes", b"secret", b"header v1")
        .unwrap();
    assert_ne!(again[..12], sealed[..12]);
    // encrypt() is the empty associated data.
    let plain = client.encrypt("aes", b"x").unwrap();
    assert_eq!(
        &client.decrypt_with_aad("aes", &plain, b"").unwrap()[..],
        b"x"
    );
}

/// Counts, until `done`, the daemon's sockets that were not open at the start (its
/// listener and internal sockets): the most connections it had at once.
pub fn peak_new_sockets(pid: u32, done: &std::sync::atomic::AtomicBool) -> usize {
    let before = socket_inodes(pid);
    let mut peak = 0;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        peak = peak.max(socket_inodes(pid).difference(&before).count());
        std::thread::sleep(Duration::from_micros(200));
    }
    peak
}

#[test]
fn sixty_four_threads_share_at_most_the_configured_connections() {
    const CAP: usize = 4;
    // The daemon refuses a fifth connection, so exceeding the cap would fail requests too.
    let daemon = Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            max_connections: CAP,
            max_connections_per_uid: CAP,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    });
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (done, pid) = (done.clone(), daemon.pid().unwrap());
        std::thread::spawn(move || peak_new_sockets(pid, &done))
    };
    // Let the sampler note the daemon's own sockets first.
    std::thread::sleep(Duration::from_millis(50));
    let client = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(keyward_client::Authentication::UnixPeerCredentials)
        .max_connections(CAP)
        .build()
        .unwrap();
    client.create_signing_key("busy").unwrap();
    let start = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let (client, start) = (client.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for round in 0..10 {
                    let message = format!("{i}/{round}");
                    let signature = client.sign("busy", message.as_bytes()).unwrap();
                    assert!(client
                        .verify("busy", message.as_bytes(), &signature)
                        .unwrap());
                }
                client.open_connections()
            })
        })
        .collect();
    let client_side = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .max()
        .unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let daemon_side = sampler.join().unwrap();
    assert!(
        client_side <= CAP,
        "client counted {client_side} connections"
    );
    assert!(daemon_side <= CAP, "daemon had {daemon_side} connections");
    assert!(
        daemon_side >= 2,
        "the threads ran concurrently ({daemon_side} connection)"
    );
    assert!(
        !daemon.log().contains("connection limit reached"),
        "{}",
        daemon.log()
    );
    let signed = daemon
        .log()
        .lines()
        .filter(|l| {
            l.contains("keyward::audit") && l.contains("PsaSignHash") && l.contains("Success")
        })
        .count();
    assert_eq!(signed, 640);
}
