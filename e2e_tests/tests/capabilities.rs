//! `keyward capabilities` against the real daemon: the table it prints comes from the live
//! service (ListOpcodes, CanDoCrypto), and agrees with the software provider's capability table
//! (docs/algorithms.md) on the cases issue 8 added or kept refused.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use keyward_e2e_tests::{run_ok, Daemon};

/// The `keys` entry of `provider` for this key type, size and algorithm (Debug spellings).
fn entry<'a>(
    provider: &'a serde_json::Value,
    key_type: &str,
    bits: u64,
    algorithm: &str,
) -> &'a serde_json::Value {
    provider["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_type"] == key_type && k["bits"] == bits && k["algorithm"] == algorithm)
        .unwrap_or_else(|| panic!("no probe for {key_type} {bits} {algorithm}"))
}

#[test]
fn capabilities_json_reflects_the_live_table() {
    let daemon = Daemon::start();
    let out = run_ok(daemon.cli().args(["capabilities", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let software = report
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider_id"] == 1)
        .expect("the software provider");
    let opcodes: Vec<&str> = software["opcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    for op in [
        "PsaAeadEncrypt",
        "PsaRawKeyAgreement",
        "PsaHashCompute",
        "CanDoCrypto",
    ] {
        assert!(opcodes.contains(&op), "{op} missing from {opcodes:?}");
    }
    let bp = "EccKeyPair { curve_family: BrainpoolPR1 }";
    let ecdh = "KeyAgreement(Raw(Ecdh))";
    let yes =
        |v: &serde_json::Value| v["generate"] == true && v["import"] == true && v["use"] == true;
    let no =
        |v: &serde_json::Value| v["generate"] == false && v["import"] == false && v["use"] == false;
    assert!(yes(entry(software, bp, 256, ecdh)));
    assert!(yes(entry(software, bp, 384, ecdh)));
    assert!(
        no(entry(software, bp, 512, ecdh)),
        "brainpoolP512r1 is refused"
    );
    assert!(yes(entry(
        software,
        "EccKeyPair { curve_family: Montgomery }",
        255,
        ecdh
    )));
    assert!(yes(entry(
        software,
        "Aes",
        128,
        "Aead(AeadWithDefaultLengthTag(Ccm))"
    )));
    assert!(yes(entry(
        software,
        "Aes",
        256,
        "Aead(AeadWithShortenedTag { aead_alg: Gcm, tag_length: 12 })"
    )));
    assert!(no(entry(
        software,
        "Aes",
        256,
        "Aead(AeadWithShortenedTag { aead_alg: Gcm, tag_length: 8 })"
    )));
    assert!(yes(entry(
        software,
        "RsaKeyPair",
        2048,
        "AsymmetricSignature(RsaPkcs1v15SignRaw)"
    )));
    assert!(
        no(entry(
            software,
            "RsaKeyPair",
            1024,
            "AsymmetricSignature(RsaPkcs1v15SignRaw)"
        )),
        "RSA-1024 is refused at the default min_rsa_bits"
    );
    assert!(yes(entry(
        software,
        "EccKeyPair { curve_family: SecpR1 }",
        256,
        "AsymmetricSignature(DeterministicEcdsa { hash_alg: Specific(Sha256) })"
    )));
    let hashes = software["hashes"].as_array().unwrap();
    let supported = |name: &str| {
        hashes
            .iter()
            .find(|h| h["hash"] == name)
            .map(|h| h["supported"] == true)
            .unwrap()
    };
    assert!(supported("Ripemd160") && supported("Sha256"));
    assert!(!supported("Md5"));

    // The text form shows the same rows.
    let text = run_ok(daemon.cli().arg("capabilities"));
    assert!(text.contains("BrainpoolPR1"), "{text}");
    assert!(text.contains("Ccm"), "{text}");
    assert!(
        text.contains("Hashes:") && text.contains("Ripemd160"),
        "{text}"
    );
}
