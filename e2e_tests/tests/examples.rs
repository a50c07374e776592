//! The `keyward-client` examples, run as an application developer would run them, against a
//! real keywardd (KEYWARD_ENDPOINT points them at the test's daemon): signing verified by
//! `p256`, AES-GCM with associated data, a tokio service, mTLS with rustls and rcgen (TLS 1.3
//! and 1.2, every key in keywardd), and a CSR from x509-cert's builder that OpenSSL accepts.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use keyward_e2e_tests::{run_ok, target_dir, Daemon};

/// An example binary, built by `cargo test` (or scripts/test.sh's example build step).
fn example(name: &str) -> PathBuf {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let path = target_dir().join(profile).join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p keyward-client --all-features --examples` \
         (scripts/test.sh does)",
        path.display()
    );
    path
}

fn run_example(daemon: &Daemon, name: &str, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(example(name))
            .args(args)
            .env("KEYWARD_ENDPOINT", daemon.endpoint())
            .env_remove("PARSEC_SERVICE_ENDPOINT")
            .stdin(Stdio::null()),
    );
    // Every example cleans up after itself.
    assert!(
        daemon.client().list_keys().unwrap().is_empty(),
        "{name} left keys behind"
    );
    out
}

/// Lines of the daemon's audit log for `opcode` on `key` that succeeded.
fn audited(daemon: &Daemon, opcode: &str, key: &str) -> usize {
    daemon
        .log()
        .lines()
        .filter(|line| {
            line.contains("keyward::audit")
                && line.contains(opcode)
                && line.contains(key)
                && line.contains("Success")
        })
        .count()
}

#[test]
fn sign_verify_example_is_verified_by_p256() {
    let daemon = Daemon::start();
    let out = run_example(&daemon, "sign_verify", &[]);
    assert!(
        out.contains("p256 verified the keywardd signature"),
        "{out}"
    );
    assert!(audited(&daemon, "PsaSignHash", "example-sign-verify") >= 2);
}

#[test]
fn aead_example_binds_associated_data() {
    let daemon = Daemon::start();
    let out = run_example(&daemon, "aead", &[]);
    assert!(
        out.contains("wrong associated data refused; name-based round trip ok"),
        "{out}"
    );
    assert!(out.contains("nonce 12"), "{out}");
}

#[test]
fn tokio_service_example_shares_four_connections() {
    let daemon = Daemon::start();
    let out = run_example(&daemon, "tokio_service", &[]);
    assert!(out.contains("64 tasks signed and verified"), "{out}");
    assert_eq!(audited(&daemon, "PsaSignHash", "example-tokio"), 64);
}

#[test]
fn mtls_example_completes_tls13_and_tls12_handshakes_with_keys_in_keywardd() {
    let daemon = Daemon::start();
    let out = run_example(&daemon, "mtls", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("TLSv1_3 mTLS handshake ok"), "{out}");
    assert!(lines[1].starts_with("TLSv1_2 mTLS handshake ok"), "{out}");
    for line in &lines {
        assert!(
            line.contains("client saw server certificate CN=localhost"),
            "{line}"
        );
        assert!(
            line.contains("server saw client certificate CN=example-client"),
            "{line}"
        );
    }
    // Both handshakes were signed in keywardd by both sides' keys (two each), and the three
    // certificates by the CA key there.
    assert_eq!(audited(&daemon, "PsaSignHash", "example-mtls-server"), 2);
    assert_eq!(audited(&daemon, "PsaSignHash", "example-mtls-client"), 2);
    assert_eq!(audited(&daemon, "PsaSignHash", "example-mtls-ca"), 3);
}

/// OpenSSL, which .ci/run installs: its absence is a broken environment, not a skip.
fn openssl_req_verify(pem: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["req", "-verify", "-noout", "-text"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is required by the CSR tests (.ci/run installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "openssl refused the CSR:\n{text}\n{pem}"
    );
    text
}

#[test]
fn csr_example_builds_requests_openssl_verifies() {
    let daemon = Daemon::start();
    for (kind, algorithm) in [("ecdsa", "ecdsa-with-SHA256"), ("rsa-pss", "rsassaPss")] {
        let pem = run_example(&daemon, "csr", &[kind]);
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
            "{pem}"
        );
        let text = openssl_req_verify(&pem);
        assert!(
            text.contains("verify OK")
                || text.contains("Certificate request self-signature verify OK"),
            "{text}"
        );
        assert!(text.contains(algorithm), "{kind}: {text}");
        assert!(text.contains("DNS:service.example.com"), "{text}");
        assert!(
            text.contains("CN=service.example.com") || text.contains("CN = service.example.com"),
            "{text}"
        );
    }
}
