//! The `keyward` command-line client against the real daemon (KEYWARD_ENDPOINT selects the
//! socket): every command, JSON output, PEM output checked with the `p256` crate and OpenSSL,
//! signatures verified by OpenSSL, CSRs checked with `openssl req -verify`, and failures that
//! exit non-zero naming the service's status.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use keyward_e2e_tests::{binary, run_ok, Daemon, DaemonOptions};
use p256::pkcs8::DecodePublicKey;

fn json(daemon: &Daemon, args: &[&str]) -> serde_json::Value {
    let out = run_ok(daemon.cli().args(args).arg("--json"));
    serde_json::from_str(&out).unwrap_or_else(|err| panic!("{args:?}: not JSON ({err}): {out}"))
}

/// Runs a command that must fail; returns its stderr.
#[track_caller]
fn run_err(command: &mut Command) -> String {
    let output: Output = command.output().unwrap();
    assert!(
        !output.status.success(),
        "{command:?} succeeded:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// OpenSSL, which .ci/run installs: its absence is a broken environment, not a skip.
fn openssl() -> Command {
    let version = Command::new("openssl").arg("version").output();
    assert!(
        version.as_ref().is_ok_and(|out| out.status.success()),
        "openssl is required by the CLI tests (.ci/run installs it): {version:?}"
    );
    Command::new("openssl")
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn discovery_commands() {
    let daemon = Daemon::start();
    let text = run_ok(daemon.cli().arg("ping"));
    assert!(text.contains("1.0"), "{text}");
    assert_eq!(json(&daemon, &["ping"])["wire_protocol_version"], "1.0");

    let providers = json(&daemon, &["list-providers"]);
    let providers = providers.as_array().unwrap();
    assert_eq!(providers[0]["id"], 1);
    assert_eq!(providers.last().unwrap()["id"], 0);
    assert!(providers
        .iter()
        .all(|p| p["uuid"].as_str().unwrap().len() == 36));

    let opcodes = json(&daemon, &["list-opcodes", "-p", "software"]);
    let names: Vec<&str> = opcodes[0]["opcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"PsaSignHash") && names.contains(&"PsaMacCompute"),
        "{names:?}"
    );
    let stock = json(&daemon, &["list-opcodes", "-p", "1", "--stock"]);
    let stock_names: Vec<&str> = stock[0]["opcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["name"].as_str().unwrap())
        .collect();
    assert!(stock_names.contains(&"PsaSignHash") && !stock_names.contains(&"PsaMacCompute"));
    let all = json(&daemon, &["list-opcodes"]);
    let provider_ids: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider_id"].as_u64().unwrap())
        .collect();
    assert_eq!(provider_ids, vec![0, 1]);
    assert!(run_ok(daemon.cli().arg("list-opcodes")).contains("PsaGenerateKey"));

    let authenticators = json(&daemon, &["list-authenticators"]);
    assert_eq!(authenticators.as_array().unwrap().len(), 1);
    assert_eq!(authenticators[0]["id"], 3);

    assert_eq!(json(&daemon, &["list-keys"]), serde_json::json!([]));
    assert!(run_ok(daemon.cli().arg("list-keys")).contains("No keys."));

    let random = run_ok(daemon.cli().args(["generate-random", "--nbytes", "48"]));
    let bytes = BASE64.decode(random.trim()).unwrap();
    assert_eq!(bytes.len(), 48);
    let again = run_ok(daemon.cli().args(["generate-random", "--nbytes", "48"]));
    assert_ne!(random, again);
    // The --endpoint option works as well as the variable.
    let text = run_ok(
        Command::new(binary("keyward"))
            .args(["ping", "--endpoint"])
            .arg(daemon.endpoint())
            .env_remove("KEYWARD_ENDPOINT"),
    );
    assert!(text.contains("1.0"));
}

#[test]
fn key_commands_sign_verify_encrypt_decrypt_delete() {
    let daemon = Daemon::start();
    let dir = daemon.dir.path();
    for args in [
        &["create-ecc-key", "-k", "ecc"][..],
        &["create-ecc-key", "-k", "ecc384", "--curve", "p384"][..],
        &["create-ecc-key", "-k", "ecdh", "--purpose", "derive"][..],
        &["create-rsa-key", "-k", "rsa-sign", "--for-signing"][..],
        &["create-rsa-key", "-k", "rsa-pkcs1"][..],
        &["create-rsa-key", "-k", "rsa-oaep", "--oaep"][..],
        &["create-aes-key", "-k", "aes", "-b", "128"][..],
    ] {
        run_ok(daemon.cli().args(args));
    }
    let keys = json(&daemon, &["list-keys"]);
    let mut names: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aes",
            "ecc",
            "ecc384",
            "ecdh",
            "rsa-oaep",
            "rsa-pkcs1",
            "rsa-sign"
        ]
    );
    let ecc = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ecc")
        .unwrap();
    assert_eq!(ecc["bits"], 256);
    assert_eq!(ecc["provider_id"], 1);
    assert!(ecc["usage"]
        .as_array()
        .unwrap()
        .contains(&"sign_hash".into()));

    // Public keys as PEM: parsed by p256, and by OpenSSL for RSA.
    let ecc_pem = run_ok(daemon.cli().args(["export-public-key", "-k", "ecc"]));
    p256::PublicKey::from_public_key_pem(&ecc_pem).expect("a P-256 SubjectPublicKeyInfo");
    let rsa_pem = run_ok(daemon.cli().args(["export-public-key", "-k", "rsa-sign"]));
    assert!(rsa_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let rsa_pem_path = write(dir, "rsa.pem", rsa_pem.as_bytes());
    let described =
        run_ok(openssl().args(["pkey", "-pubin", "-noout", "-text", "-in", &rsa_pem_path]));
    assert!(described.contains("2048 bit"), "{described}");

    // Signatures: verified by keyward and independently by OpenSSL.
    let message_path = write(dir, "message.txt", b"signed by the CLI");
    for (key, pem) in [("ecc", ecc_pem.clone()), ("rsa-sign", rsa_pem.clone())] {
        let signature = run_ok(daemon.cli().args(["sign", "-k", key, "-f", &message_path]));
        let signature = signature.trim();
        let verified =
            run_ok(
                daemon
                    .cli()
                    .args(["verify", "-k", key, "-s", signature, "-f", &message_path]),
            );
        assert!(verified.contains("Signature verified"), "{verified}");
        let wrong = daemon
            .cli()
            .args(["verify", "-k", key, "-s", signature, "not the message"])
            .output()
            .unwrap();
        assert_eq!(
            wrong.status.code(),
            Some(1),
            "{key}: invalid signature exits 1"
        );
        let sig_path = write(
            dir,
            &format!("{key}.sig"),
            &BASE64.decode(signature).unwrap(),
        );
        let pem_path = write(dir, &format!("{key}.pem"), pem.as_bytes());
        let checked = run_ok(openssl().args([
            "dgst",
            "-sha256",
            "-verify",
            &pem_path,
            "-signature",
            &sig_path,
            &message_path,
        ]));
        assert!(checked.contains("Verified OK"), "{key}: {checked}");
    }
    // A P-384 key signs with SHA-384.
    let signature = run_ok(daemon.cli().args(["sign", "-k", "ecc384", "hello"]));
    run_ok(
        daemon
            .cli()
            .args(["verify", "-k", "ecc384", "-s", signature.trim(), "hello"]),
    );

    // Encryption: RSA (both paddings) and AES-GCM, text and binary.
    let binary_path = write(dir, "binary.bin", &[0u8, 159, 146, 150, 255, 10, 0]);
    for key in ["rsa-pkcs1", "rsa-oaep", "aes"] {
        let ciphertext = run_ok(daemon.cli().args(["encrypt", "-k", key, "secret text"]));
        let plaintext = run_ok(daemon.cli().args(["decrypt", "-k", key, ciphertext.trim()]));
        assert_eq!(plaintext, "secret text\n", "{key}");
        let ciphertext = run_ok(
            daemon
                .cli()
                .args(["encrypt", "-k", key, "-f", &binary_path]),
        );
        let output = daemon
            .cli()
            .args(["decrypt", "-k", key, ciphertext.trim()])
            .output()
            .unwrap();
        assert!(output.status.success());
        assert_eq!(output.stdout, [0u8, 159, 146, 150, 255, 10, 0], "{key}");
    }
    let stderr = run_err(
        daemon
            .cli()
            .args(["decrypt", "-k", "aes", &BASE64.encode([7u8; 40])]),
    );
    assert!(stderr.contains("PsaErrorInvalidSignature"), "{stderr}");

    // Deletion, and errors that name the service's status.
    run_ok(daemon.cli().args(["delete-key", "-k", "ecc"]));
    let stderr = run_err(daemon.cli().args(["delete-key", "-k", "ecc"]));
    assert!(
        stderr.contains("PsaErrorDoesNotExist") && stderr.contains("1140"),
        "{stderr}"
    );
    let stderr = run_err(daemon.cli().args(["sign", "-k", "ecc", "gone"]));
    assert!(stderr.contains("does not exist"), "{stderr}");
    let stderr = run_err(daemon.cli().args(["create-aes-key", "-k", "aes"]));
    assert!(stderr.contains("PsaErrorAlreadyExists"), "{stderr}");
    let stderr = run_err(daemon.cli().args(["--auth", "none", "list-keys"]));
    assert!(stderr.contains("NotAuthenticated"), "{stderr}");
    let stderr = run_err(daemon.cli().args(["--auth", "direct:x", "list-keys"]));
    assert!(stderr.contains("AuthenticatorNotRegistered"), "{stderr}");
    let stderr = run_err(daemon.cli().args(["sign", "-k", "aes", "x"]));
    assert!(stderr.contains("cannot be used"), "{stderr}");
    assert!(!json(&daemon, &["list-keys"])
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["name"] == "ecc"));
}

#[test]
fn admin_commands_list_and_delete_clients() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs the CLI as uid 65534 and configures root as admin: run as root (as in CI)"
    );
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        admins: vec!["unix-peer-credentials:0".into()],
        ..DaemonOptions::default()
    });
    daemon.make_traversable();
    let as_nobody = || {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(binary("keyward"))
            .env("KEYWARD_ENDPOINT", daemon.endpoint());
        command
    };
    run_ok(daemon.cli().args(["create-ecc-key", "-k", "root-key"]));
    run_ok(as_nobody().args(["create-ecc-key", "-k", "k1"]));
    run_ok(as_nobody().args(["create-aes-key", "-k", "k2"]));

    let clients = json(&daemon, &["list-clients"]);
    let mut clients: Vec<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    clients.sort_unstable();
    assert_eq!(clients, ["0", "65534"]);

    // Non-admins are refused with the status named.
    let stderr = run_err(as_nobody().arg("list-clients"));
    assert!(stderr.contains("AdminOperation"), "{stderr}");
    let stderr = run_err(
        daemon
            .cli()
            .args(["--auth", "direct:bob", "delete-client", "0"]),
    );
    assert!(stderr.contains("AdminOperation"), "{stderr}");

    run_ok(daemon.cli().args(["delete-client", "65534"]));
    let theirs: serde_json::Value =
        serde_json::from_str(&run_ok(as_nobody().args(["list-keys", "--json"]))).unwrap();
    assert_eq!(
        theirs,
        serde_json::json!([]),
        "all of uid 65534's keys are gone"
    );
    assert_eq!(json(&daemon, &["list-clients"]), serde_json::json!(["0"]));
    let mine = json(&daemon, &["list-keys"]);
    assert_eq!(mine.as_array().unwrap().len(), 1);
}

#[test]
fn create_csr_is_verified_by_openssl() {
    let daemon = Daemon::start();
    let dir = daemon.dir.path();
    run_ok(daemon.cli().args(["create-ecc-key", "-k", "csr-ecc"]));
    run_ok(
        daemon
            .cli()
            .args(["create-rsa-key", "-k", "csr-rsa", "--for-signing"]),
    );
    for key in ["csr-ecc", "csr-rsa"] {
        let pem = run_ok(daemon.cli().args([
            "create-csr",
            "-k",
            key,
            "--cn",
            "host.example.com",
            "--o",
            "Keyward Test",
            "--c",
            "GB",
            "--san",
            "DNS:host.example.com",
            "--san",
            "10.0.0.7",
        ]));
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
            "{pem}"
        );
        let path = write(dir, &format!("{key}.csr"), pem.as_bytes());
        let output = openssl()
            .args([
                "req", "-in", &path, "-noout", "-verify", "-subject", "-text",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{key}: openssl req -verify failed:\n{stdout}\n{stderr}"
        );
        assert!(
            format!("{stdout}{stderr}").contains("verify OK"),
            "{key}: {stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("CN = host.example.com") || stdout.contains("CN=host.example.com"),
            "{stdout}"
        );
        assert!(stdout.contains("DNS:host.example.com"), "{stdout}");
        assert!(stdout.contains("IP Address:10.0.0.7"), "{stdout}");
        // The request carries the key's own public key.
        let public = run_ok(daemon.cli().args(["export-public-key", "-k", key]));
        let from_csr = run_ok(openssl().args(["req", "-in", &path, "-noout", "-pubkey"]));
        assert_eq!(from_csr.trim(), public.trim(), "{key}");
    }
    // A CSR for a key that cannot sign is refused.
    run_ok(daemon.cli().args(["create-aes-key", "-k", "csr-aes"]));
    run_err(
        daemon
            .cli()
            .args(["create-csr", "-k", "csr-aes", "--cn", "x"]),
    );
}
