//! Algorithm parity with Parsec's software provider (issue 8), through the real daemon with the
//! stock `parsec-client` crate: RSA-1024 with `min_rsa_bits` lowered, AES-CCM, AES-GCM with
//! other nonce lengths and shortened tags, RIPEMD-160, Brainpool ECDSA and ECDH, X25519,
//! deterministic ECDSA, raw PKCS#1 v1.5 signatures, CanDoCrypto without usage flags, and the
//! import check order. Each new algorithm is checked against known answers (RFC / NIST / Parsec
//! vectors) and against an independent implementation: OpenSSL (the `openssl` CLI, and Python's
//! `cryptography`, which wraps OpenSSL; `.ci/run` installs both).
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use keyward_e2e_tests::{Daemon, DaemonOptions, ProviderConfig};
use parsec_client::core::interface::operations::can_do_crypto::CheckType;
use parsec_client::core::interface::operations::psa_algorithm::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Hash,
    KeyAgreement, RawKeyAgreement, SignHash,
};
use parsec_client::core::interface::operations::psa_key_attributes::{
    Attributes, EccFamily, Lifetime, Policy, Type, UsageFlags,
};
use parsec_client::core::interface::requests::ResponseStatus;
use parsec_client::error::Error;
use parsec_client::BasicClient;
use sha2::Digest;

static ENDPOINT_ENV: Mutex<()> = Mutex::new(());

/// A stock parsec-client for `daemon` (it reads the endpoint from the environment only while
/// it is built, hence the lock).
fn parsec_client(daemon: &Daemon) -> BasicClient {
    let _guard = ENDPOINT_ENV
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::env::set_var("PARSEC_SERVICE_ENDPOINT", daemon.endpoint());
    let client = BasicClient::new(Some("parsec-app".into()));
    std::env::remove_var("PARSEC_SERVICE_ENDPOINT");
    client.unwrap_or_else(|err| panic!("parsec-client against keywardd: {err}"))
}

fn daemon_with_min_rsa_bits(bits: u32) -> Daemon {
    let ProviderConfig::Software {
        master_key_path,
        key_cache_entries,
        ..
    } = ProviderConfig::default();
    Daemon::start_with(DaemonOptions {
        providers: vec![ProviderConfig::Software {
            master_key_path,
            key_cache_entries,
            min_rsa_bits: bits,
        }],
        ..DaemonOptions::default()
    })
}

fn all_flags() -> UsageFlags {
    let mut flags = UsageFlags::default();
    let _ = flags
        .set_sign_hash()
        .set_verify_hash()
        .set_sign_message()
        .set_verify_message()
        .set_encrypt()
        .set_decrypt()
        .set_derive()
        .set_export();
    flags
}

fn attrs(key_type: Type, bits: usize, alg: Algorithm) -> Attributes {
    Attributes {
        lifetime: Lifetime::Persistent,
        key_type,
        bits,
        policy: Policy {
            usage_flags: all_flags(),
            permitted_algorithms: alg,
        },
    }
}

#[track_caller]
fn assert_service_error<T: std::fmt::Debug>(result: Result<T, Error>, expected: ResponseStatus) {
    match result {
        Err(Error::Service(status)) if status == expected => {}
        other => panic!("expected Service({expected:?}), got {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs a Python snippet (with `cryptography`) and returns its stdout; `argv` are hex strings
/// the snippet reads as `a(i)` (bytes).
fn python(script: &str, argv: &[&[u8]]) -> String {
    let prelude = "import sys\ndef a(i): return bytes.fromhex(sys.argv[i])\n";
    // Debian's python3 with python3-cryptography (what .ci/run installs), else the PATH's.
    let interpreter = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let output = Command::new(interpreter)
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .args(argv.iter().map(|b| hex(b)))
        .output()
        .expect("python3 (with the cryptography package) is needed: .ci/run installs it");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Runs the openssl CLI with `stdin`, returning stdout.
fn openssl(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl CLI");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn sha256(data: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(data).to_vec()
}

// ------------------------------------------------------------------------------ RSA-1024

#[test]
fn rsa_1024_is_refused_by_default_and_works_when_min_rsa_bits_is_lowered() {
    let pkcs1 = AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    let sign_alg = Algorithm::AsymmetricSignature(pkcs1);
    {
        let daemon = Daemon::start();
        let client = parsec_client(&daemon);
        assert_service_error(
            client.psa_generate_key("small", attrs(Type::RsaKeyPair, 1024, sign_alg)),
            ResponseStatus::PsaErrorNotSupported,
        );
    }
    let daemon = daemon_with_min_rsa_bits(1024);
    assert!(
        daemon.log().contains("WARN") && daemon.log().contains("min_rsa_bits"),
        "a lowered min_rsa_bits must be logged at warn level:\n{}",
        daemon.log()
    );
    let client = parsec_client(&daemon);

    // Known answer: PKCS#1 v1.5 signatures are deterministic, so a key made by OpenSSL signs
    // exactly what `openssl pkeyutl` signs.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("rsa1024.pem");
    let pem_path = pem.to_str().unwrap();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            pem_path,
        ],
        b"",
    );
    let der = openssl(
        &["rsa", "-in", pem_path, "-outform", "DER", "-traditional"],
        b"",
    );
    client
        .psa_import_key("imported", &der, attrs(Type::RsaKeyPair, 1024, sign_alg))
        .unwrap();
    let digest = sha256(b"rsa-1024 known answer");
    let ours = client.psa_sign_hash("imported", &digest, pkcs1).unwrap();
    let theirs = openssl(
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            pem_path,
            "-pkeyopt",
            "digest:sha256",
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
        ],
        &digest,
    );
    assert_eq!(hex(&ours), hex(&theirs), "signature differs from OpenSSL's");

    // Generated keys: every operation that works at 2048 works at 1024, checked by OpenSSL.
    let pss = AsymmetricSignature::RsaPss {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    for (name, alg, pad) in [
        ("pkcs1", pkcs1, "padding.PKCS1v15()"),
        (
            "pss",
            pss,
            "padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)",
        ),
    ] {
        client
            .psa_generate_key(
                name,
                attrs(Type::RsaKeyPair, 1024, Algorithm::AsymmetricSignature(alg)),
            )
            .unwrap();
        let signature = client.psa_sign_hash(name, &digest, alg).unwrap();
        assert_eq!(signature.len(), 128);
        client
            .psa_verify_hash(name, &digest, alg, &signature)
            .unwrap();
        let public = client.psa_export_public_key(name).unwrap();
        let out = python(
            &format!(
                "from cryptography.hazmat.primitives import serialization, hashes\n\
                 from cryptography.hazmat.primitives.asymmetric import padding, utils\n\
                 k = serialization.load_pem_public_key(a(1))\n\
                 k.verify(a(2), a(3), {pad}, utils.Prehashed(hashes.SHA256()))\n\
                 print('ok', k.key_size)"
            ),
            &[&pkcs1_public_to_pem(&public), &signature, &digest],
        );
        assert_eq!(out, "ok 1024", "{name}");
        client.psa_destroy_key(name).unwrap();
    }
    for (name, alg) in [
        (
            "oaep",
            AsymmetricEncryption::RsaOaep {
                hash_alg: Hash::Sha256,
            },
        ),
        ("pkcs1-crypt", AsymmetricEncryption::RsaPkcs1v15Crypt),
    ] {
        client
            .psa_generate_key(
                name,
                attrs(Type::RsaKeyPair, 1024, Algorithm::AsymmetricEncryption(alg)),
            )
            .unwrap();
        let public = client.psa_export_public_key(name).unwrap();
        let pad = if name == "oaep" {
            "padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)"
        } else {
            "padding.PKCS1v15()"
        };
        let ciphertext = unhex(&python(
            &format!(
                "from cryptography.hazmat.primitives import serialization, hashes\n\
                 from cryptography.hazmat.primitives.asymmetric import padding\n\
                 k = serialization.load_pem_public_key(a(1))\n\
                 print(k.encrypt(a(2), {pad}).hex())"
            ),
            &[&pkcs1_public_to_pem(&public), b"wrapped secret"],
        ));
        let plain = client
            .psa_asymmetric_decrypt(name, alg, &ciphertext, None)
            .unwrap();
        assert_eq!(plain, b"wrapped secret", "{name}");
        let ours = client
            .psa_asymmetric_encrypt(name, alg, b"round trip", None)
            .unwrap();
        assert_eq!(
            client
                .psa_asymmetric_decrypt(name, alg, &ours, None)
                .unwrap(),
            b"round trip"
        );
        client.psa_destroy_key(name).unwrap();
    }
    client.psa_destroy_key("imported").unwrap();
}

/// PKCS#1 `RSAPublicKey` DER as a SubjectPublicKeyInfo PEM, via the openssl CLI.
fn pkcs1_public_to_pem(der: &[u8]) -> Vec<u8> {
    openssl(
        &["rsa", "-RSAPublicKey_in", "-inform", "DER", "-pubout"],
        der,
    )
}

// ----------------------------------------------------------------------- AES-CCM and GCM

/// Parsec's own AEAD vectors (parsec e2e_tests `per_provider/normal_tests/aead.rs`): a 13-byte
/// nonce, 32 bytes of additional data, 24 bytes of plaintext.
const PARSEC_KEY: &str = "4189351b5caea375a0299e81c621bf43";
const PARSEC_NONCE: &str = "48c0906930561e0ab0ef4cd972";
const PARSEC_AAD: &str = "40a27c1d1e23ea3dbe8056b2774861a4a201cce49f19997d19206d8c8a343951";
const PARSEC_PLAINTEXT: &str = "4535d12b4377928a7c0a61c9f825a48671ea05910748c8ef";
const PARSEC_CCM: &str =
    "26c56961c035a7e452cce61bc6ee220d77b3f94d18fd10b6d80e8bf80f4a46cab06d4313f0db9be9";
const PARSEC_GCM: &str =
    "7e3c18e5cafbd55c15da0184ff9966c6c61a217cae400d94a943fa0f405dd1e186394ebc01f203ef";

fn aes_key(client: &BasicClient, name: &str, alg: Aead) {
    client
        .psa_import_key(
            name,
            &unhex(PARSEC_KEY),
            attrs(Type::Aes, 128, Algorithm::Aead(alg)),
        )
        .unwrap();
}

#[test]
fn aes_ccm_default_and_shortened_tags() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let (nonce, aad, plaintext) = (
        unhex(PARSEC_NONCE),
        unhex(PARSEC_AAD),
        unhex(PARSEC_PLAINTEXT),
    );
    let ccm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Ccm);
    aes_key(&client, "ccm", ccm);
    let ct = client
        .psa_aead_encrypt("ccm", ccm, &nonce, &aad, &plaintext)
        .unwrap();
    assert_eq!(hex(&ct), PARSEC_CCM, "Parsec's CCM vector");
    assert_eq!(
        client
            .psa_aead_decrypt("ccm", ccm, &nonce, &aad, &ct)
            .unwrap(),
        plaintext
    );
    let mut bad = ct.clone();
    bad[0] ^= 1;
    assert_service_error(
        client.psa_aead_decrypt("ccm", ccm, &nonce, &aad, &bad),
        ResponseStatus::PsaErrorInvalidSignature,
    );
    // Nonces CCM does not allow (7..=13 bytes) are invalid.
    assert_service_error(
        client.psa_aead_encrypt("ccm", ccm, &nonce[..4], &aad, &plaintext),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    // Shortened tags and other nonce lengths, against OpenSSL.
    for (tag, nonce_len) in [(8usize, 7usize), (4, 13), (12, 11)] {
        let alg = Aead::AeadWithShortenedTag {
            aead_alg: AeadWithDefaultLengthTag::Ccm,
            tag_length: tag,
        };
        let name = format!("ccm-{tag}-{nonce_len}");
        aes_key(&client, &name, alg);
        let nonce = &unhex("0102030405060708090a0b0c0d")[..nonce_len];
        let ours = client
            .psa_aead_encrypt(&name, alg, nonce, &aad, &plaintext)
            .unwrap();
        let theirs = python(
            &format!(
                "from cryptography.hazmat.primitives.ciphers.aead import AESCCM\n\
                 print(AESCCM(a(1), {tag}).encrypt(a(2), a(3), a(4)).hex())"
            ),
            &[&unhex(PARSEC_KEY), nonce, &plaintext, &aad],
        );
        assert_eq!(hex(&ours), theirs, "CCM tag {tag} nonce {nonce_len}");
        assert_eq!(
            client
                .psa_aead_decrypt(&name, alg, nonce, &aad, &ours)
                .unwrap(),
            plaintext
        );
    }
}

#[test]
fn aes_gcm_other_nonce_lengths_and_shortened_tags() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let (nonce, aad, plaintext) = (
        unhex(PARSEC_NONCE),
        unhex(PARSEC_AAD),
        unhex(PARSEC_PLAINTEXT),
    );
    let gcm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
    aes_key(&client, "gcm", gcm);
    let ct = client
        .psa_aead_encrypt("gcm", gcm, &nonce, &aad, &plaintext)
        .unwrap();
    assert_eq!(hex(&ct), PARSEC_GCM, "Parsec's GCM vector (13-byte nonce)");
    assert_eq!(
        client
            .psa_aead_decrypt("gcm", gcm, &nonce, &aad, &ct)
            .unwrap(),
        plaintext
    );
    for (tag, nonce_len) in [(12usize, 12usize), (13, 8), (15, 16), (16, 10)] {
        let alg = Aead::AeadWithShortenedTag {
            aead_alg: AeadWithDefaultLengthTag::Gcm,
            tag_length: tag,
        };
        let name = format!("gcm-{tag}-{nonce_len}");
        aes_key(&client, &name, alg);
        let nonce = &unhex("0102030405060708090a0b0c0d0e0f10")[..nonce_len];
        let ours = client
            .psa_aead_encrypt(&name, alg, nonce, &aad, &plaintext)
            .unwrap();
        // OpenSSL: full GCM, then the tag's leftmost bytes (SP 800-38D: T = MSB_t).
        let theirs = python(
            "from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes\n\
             e = Cipher(algorithms.AES(a(1)), modes.GCM(a(2))).encryptor()\n\
             e.authenticate_additional_data(a(4))\n\
             c = e.update(a(3)) + e.finalize()\n\
             print((c + e.tag).hex())",
            &[&unhex(PARSEC_KEY), nonce, &plaintext, &aad],
        );
        let theirs = &theirs[..2 * (plaintext.len() + tag)];
        assert_eq!(hex(&ours), theirs, "GCM tag {tag} nonce {nonce_len}");
        assert_eq!(
            client
                .psa_aead_decrypt(&name, alg, nonce, &aad, &ours)
                .unwrap(),
            plaintext
        );
        let mut bad = ours.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_service_error(
            client.psa_aead_decrypt(&name, alg, nonce, &aad, &bad),
            ResponseStatus::PsaErrorInvalidSignature,
        );
    }
    // A tag length GCM does not define is invalid at import, not unsupported.
    let invalid = Aead::AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag::Gcm,
        tag_length: 17,
    };
    assert_service_error(
        client.psa_import_key(
            "tag17",
            &unhex(PARSEC_KEY),
            attrs(Type::Aes, 128, Algorithm::Aead(invalid)),
        ),
        ResponseStatus::PsaErrorInvalidArgument,
    );
}

// ---------------------------------------------------------------------------- RIPEMD-160

#[test]
fn ripemd160_hashes_and_signatures() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    // Known answer (the RIPEMD-160 authors' vector for "abc") and OpenSSL agree.
    let digest = client.psa_hash_compute(Hash::Ripemd160, b"abc").unwrap();
    assert_eq!(hex(&digest), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
    let theirs = openssl(&["dgst", "-ripemd160", "-binary"], b"abc");
    assert_eq!(digest, theirs);
    client
        .psa_hash_compare(Hash::Ripemd160, b"abc", &digest)
        .unwrap();
    assert_service_error(
        client.psa_hash_compare(Hash::Ripemd160, b"abd", &digest),
        ResponseStatus::PsaErrorInvalidSignature,
    );
    // As a signature hash: ECDSA P-256 and RSA PKCS#1 v1.5, verified by OpenSSL. ECDSA signs
    // the digest bytes whatever hash made them, so the RIPEMD-160 digest (from the openssl CLI)
    // is handed to Python as a prehashed 20-byte digest (`cryptography` has no RIPEMD-160).
    let ecdsa = AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Ripemd160),
    };
    client
        .psa_generate_key(
            "ec",
            attrs(
                Type::EccKeyPair {
                    curve_family: EccFamily::SecpR1,
                },
                256,
                Algorithm::AsymmetricSignature(ecdsa),
            ),
        )
        .unwrap();
    let signature = client.psa_sign_message("ec", b"message", ecdsa).unwrap();
    let point = client.psa_export_public_key("ec").unwrap();
    let out = python(
        "from cryptography.hazmat.primitives import hashes\n\
         from cryptography.hazmat.primitives.asymmetric import ec, utils\n\
         k = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), a(1))\n\
         s = a(2); n = len(s) // 2\n\
         der = utils.encode_dss_signature(int.from_bytes(s[:n], 'big'), int.from_bytes(s[n:], 'big'))\n\
         k.verify(der, a(3), ec.ECDSA(utils.Prehashed(hashes.SHA1())))\n\
         print('ok')",
        &[&point, &signature, &openssl(&["dgst", "-ripemd160", "-binary"], b"message")],
    );
    assert_eq!(out, "ok");
    let rsa = AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Ripemd160),
    };
    client
        .psa_generate_key(
            "rsa",
            attrs(Type::RsaKeyPair, 2048, Algorithm::AsymmetricSignature(rsa)),
        )
        .unwrap();
    let signature = client.psa_sign_message("rsa", b"message", rsa).unwrap();
    client
        .psa_verify_message("rsa", b"message", rsa, &signature)
        .unwrap();
    let public = client.psa_export_public_key("rsa").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, pkcs1_public_to_pem(&public)).unwrap();
    let sig_path = dir.path().join("sig");
    std::fs::write(&sig_path, &signature).unwrap();
    let verified = openssl(
        &[
            "dgst",
            "-ripemd160",
            "-verify",
            pem.to_str().unwrap(),
            "-signature",
            sig_path.to_str().unwrap(),
        ],
        b"message",
    );
    assert_eq!(String::from_utf8_lossy(&verified).trim(), "Verified OK");
}

// ------------------------------------------------------------------------------ Brainpool

#[test]
fn brainpool_ecdsa_and_ecdh() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let pair = Type::EccKeyPair {
        curve_family: EccFamily::BrainpoolPR1,
    };
    let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
    // Known answer: RFC 7027 Appendix A.1 (brainpoolP256r1).
    client
        .psa_import_key(
            "rfc7027",
            &unhex("81db1ee100150ff2ea338d708271be38300cb54241d79950f77b063039804f1d"),
            attrs(pair, 256, ecdh),
        )
        .unwrap();
    let peer = unhex(
        "048d2d688c6cf93e1160ad04cc4429117dc2c41825e1e9fca0addd34e6f1b39f7b\
         990c57520812be512641e47034832106bc7d3e8dd0e4c7f1136d7006547cec6a",
    );
    let shared = client
        .psa_raw_key_agreement(RawKeyAgreement::Ecdh, "rfc7027", &peer)
        .unwrap();
    assert_eq!(
        hex(&shared),
        "89afc39d41d3b327814b80940b042590f96556ec91e6ae7939bce31f3a18bf2b"
    );
    for (bits, curve, hash, py_hash) in [
        (256usize, "BrainpoolP256R1", Hash::Sha256, "SHA256"),
        (384, "BrainpoolP384R1", Hash::Sha384, "SHA384"),
    ] {
        // ECDH against OpenSSL with a key OpenSSL made.
        let name = format!("ecdh-{bits}");
        client
            .psa_generate_key(&name, attrs(pair, bits, ecdh))
            .unwrap();
        let ours_public = client.psa_export_public_key(&name).unwrap();
        let out = python(
            &format!(
                "from cryptography.hazmat.primitives.asymmetric import ec\n\
                 from cryptography.hazmat.primitives import serialization as s\n\
                 k = ec.generate_private_key(ec.{curve}())\n\
                 peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.{curve}(), a(1))\n\
                 pub = k.public_key().public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)\n\
                 print(pub.hex(), k.exchange(ec.ECDH(), peer).hex())"
            ),
            &[&ours_public],
        );
        let (their_public, their_secret) = out.split_once(' ').unwrap();
        let ours = client
            .psa_raw_key_agreement(RawKeyAgreement::Ecdh, &name, &unhex(their_public))
            .unwrap();
        assert_eq!(hex(&ours), their_secret, "brainpool {bits} ECDH");
        // ECDSA both ways.
        let alg = AsymmetricSignature::Ecdsa {
            hash_alg: SignHash::Specific(hash),
        };
        let name = format!("ecdsa-{bits}");
        client
            .psa_generate_key(
                &name,
                attrs(pair, bits, Algorithm::AsymmetricSignature(alg)),
            )
            .unwrap();
        let signature = client.psa_sign_message(&name, b"brainpool", alg).unwrap();
        let point = client.psa_export_public_key(&name).unwrap();
        let out = python(
            &format!(
                "from cryptography.hazmat.primitives import hashes\n\
                 from cryptography.hazmat.primitives.asymmetric import ec, utils\n\
                 from cryptography.hazmat.primitives import serialization as s\n\
                 k = ec.EllipticCurvePublicKey.from_encoded_point(ec.{curve}(), a(1))\n\
                 sig = a(2); n = len(sig) // 2\n\
                 der = utils.encode_dss_signature(int.from_bytes(sig[:n], 'big'), int.from_bytes(sig[n:], 'big'))\n\
                 k.verify(der, a(3), ec.ECDSA(hashes.{py_hash}()))\n\
                 mine = ec.generate_private_key(ec.{curve}())\n\
                 r, t = utils.decode_dss_signature(mine.sign(a(3), ec.ECDSA(hashes.{py_hash}())))\n\
                 pub = mine.public_key().public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint)\n\
                 print(pub.hex(), (r.to_bytes(n, 'big') + t.to_bytes(n, 'big')).hex())"
            ),
            &[&point, &signature, b"brainpool"],
        );
        let (their_point, their_signature) = out.split_once(' ').unwrap();
        let public_name = format!("their-{bits}");
        client
            .psa_import_key(
                &public_name,
                &unhex(their_point),
                attrs(
                    Type::EccPublicKey {
                        curve_family: EccFamily::BrainpoolPR1,
                    },
                    bits,
                    Algorithm::AsymmetricSignature(alg),
                ),
            )
            .unwrap();
        client
            .psa_verify_message(&public_name, b"brainpool", alg, &unhex(their_signature))
            .unwrap();
        assert_service_error(
            client.psa_verify_message(&public_name, b"other", alg, &unhex(their_signature)),
            ResponseStatus::PsaErrorInvalidSignature,
        );
    }
}

// --------------------------------------------------------------------------------- X25519

#[test]
fn x25519_key_agreement() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let pair = Type::EccKeyPair {
        curve_family: EccFamily::Montgomery,
    };
    let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
    // Known answer: RFC 7748 §6.1.
    client
        .psa_import_key(
            "alice",
            &unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
            attrs(pair, 255, ecdh),
        )
        .unwrap();
    assert_eq!(
        hex(&client.psa_export_public_key("alice").unwrap()),
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    );
    let shared = client
        .psa_raw_key_agreement(
            RawKeyAgreement::Ecdh,
            "alice",
            &unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
        )
        .unwrap();
    assert_eq!(
        hex(&shared),
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
    );
    // A generated key against OpenSSL.
    client
        .psa_generate_key("gen", attrs(pair, 255, ecdh))
        .unwrap();
    let ours_public = client.psa_export_public_key("gen").unwrap();
    assert_eq!(ours_public.len(), 32);
    let out = python(
        "from cryptography.hazmat.primitives.asymmetric import x25519\n\
         from cryptography.hazmat.primitives import serialization as s\n\
         k = x25519.X25519PrivateKey.generate()\n\
         peer = x25519.X25519PublicKey.from_public_bytes(a(1))\n\
         pub = k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)\n\
         print(pub.hex(), k.exchange(peer).hex())",
        &[&ours_public],
    );
    let (their_public, their_secret) = out.split_once(' ').unwrap();
    let ours = client
        .psa_raw_key_agreement(RawKeyAgreement::Ecdh, "gen", &unhex(their_public))
        .unwrap();
    assert_eq!(hex(&ours), their_secret);
}

// -------------------------------------------------- deterministic ECDSA, raw PKCS#1 v1.5

#[test]
fn deterministic_ecdsa_signing() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    // Known answers: RFC 6979 A.2.5 (P-256, "sample", SHA-256 and SHA-384).
    let key = unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
    for (hash, expected) in [
        (
            Hash::Sha256,
            "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716\
             f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
        ),
        (
            Hash::Sha384,
            "0eafea039b20e9b42309fb1d89e213057cbf973dc0cfc8f129edddc800ef7719\
             4861f0491e6998b9455193e34e7b0d284ddd7149a74b95b9261f13abde940954",
        ),
    ] {
        let alg = AsymmetricSignature::DeterministicEcdsa {
            hash_alg: SignHash::Specific(hash),
        };
        let name = format!("rfc6979-{hash:?}");
        client
            .psa_import_key(
                &name,
                &key,
                attrs(
                    Type::EccKeyPair {
                        curve_family: EccFamily::SecpR1,
                    },
                    256,
                    Algorithm::AsymmetricSignature(alg),
                ),
            )
            .unwrap();
        let signature = client.psa_sign_message(&name, b"sample", alg).unwrap();
        assert_eq!(hex(&signature), expected, "{hash:?}");
        // And OpenSSL verifies it as an ordinary ECDSA signature.
        let point = client.psa_export_public_key(&name).unwrap();
        let out = python(
            &format!(
                "from cryptography.hazmat.primitives import hashes\n\
                 from cryptography.hazmat.primitives.asymmetric import ec, utils\n\
                 k = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), a(1))\n\
                 s = a(2)\n\
                 der = utils.encode_dss_signature(int.from_bytes(s[:32], 'big'), int.from_bytes(s[32:], 'big'))\n\
                 k.verify(der, b'sample', ec.ECDSA(hashes.{}()))\n\
                 print('ok')",
                if hash == Hash::Sha256 { "SHA256" } else { "SHA384" }
            ),
            &[&point, &signature],
        );
        assert_eq!(out, "ok");
    }
    // On a Brainpool key: repeatable, and it verifies.
    let alg = AsymmetricSignature::DeterministicEcdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    client
        .psa_generate_key(
            "bp",
            attrs(
                Type::EccKeyPair {
                    curve_family: EccFamily::BrainpoolPR1,
                },
                256,
                Algorithm::AsymmetricSignature(alg),
            ),
        )
        .unwrap();
    let digest = sha256(b"again");
    let one = client.psa_sign_hash("bp", &digest, alg).unwrap();
    let two = client.psa_sign_hash("bp", &digest, alg).unwrap();
    assert_eq!(one, two);
    client.psa_verify_hash("bp", &digest, alg, &one).unwrap();
}

#[test]
fn raw_pkcs1v15_signing() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let alg = AsymmetricSignature::RsaPkcs1v15SignRaw;
    client
        .psa_generate_key(
            "raw",
            attrs(Type::RsaKeyPair, 2048, Algorithm::AsymmetricSignature(alg)),
        )
        .unwrap();
    // Raw means no DigestInfo: OpenSSL's verify-recover gives back exactly the input.
    let input = sha256(b"raw pkcs1");
    let signature = client.psa_sign_hash("raw", &input, alg).unwrap();
    assert_eq!(signature.len(), 256);
    client
        .psa_verify_hash("raw", &input, alg, &signature)
        .unwrap();
    let public = client.psa_export_public_key("raw").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("pub.pem");
    std::fs::write(&pem, pkcs1_public_to_pem(&public)).unwrap();
    let recovered = openssl(
        &[
            "pkeyutl",
            "-verifyrecover",
            "-pubin",
            "-inkey",
            pem.to_str().unwrap(),
            "-pkeyopt",
            "rsa_padding_mode:pkcs1",
        ],
        &signature,
    );
    assert_eq!(recovered, input);
}

// ------------------------------------------------------------- CanDoCrypto, import order

#[test]
fn can_do_crypto_without_usage_flags_is_not_supported() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let ecdsa = Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    });
    let key_type = Type::EccKeyPair {
        curve_family: EccFamily::SecpR1,
    };
    let mut no_flags = attrs(key_type, 256, ecdsa);
    no_flags.policy.usage_flags = UsageFlags::default();
    for check in [CheckType::Use, CheckType::Generate, CheckType::Import] {
        assert_service_error(
            client.can_do_crypto(check, no_flags),
            ResponseStatus::PsaErrorNotSupported,
        );
    }
    let mut one_flag = no_flags;
    let _ = one_flag.policy.usage_flags.set_sign_hash();
    client.can_do_crypto(CheckType::Generate, one_flag).unwrap();
    // New algorithms answer yes, as the table says.
    let ccm = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
        AeadWithDefaultLengthTag::Ccm,
    ));
    client
        .can_do_crypto(CheckType::Generate, attrs(Type::Aes, 256, ccm))
        .unwrap();
}

#[test]
fn import_checks_declared_bits_against_the_data_before_size_support() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon);
    let ecdsa = Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    });
    let scalar = unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
    // 256-bit data declared as 521 bits (a size the provider does not offer): the mismatch wins.
    assert_service_error(
        client.psa_import_key(
            "mismatch",
            &scalar,
            attrs(
                Type::EccKeyPair {
                    curve_family: EccFamily::SecpR1,
                },
                521,
                ecdsa,
            ),
        ),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    // An RSA-2048 key declared as 1024 bits (not offered at the default min_rsa_bits).
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("rsa.pem");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            pem.to_str().unwrap(),
        ],
        b"",
    );
    let der = openssl(
        &[
            "rsa",
            "-in",
            pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-traditional",
        ],
        b"",
    );
    let pkcs1 = Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Sha256),
    });
    assert_service_error(
        client.psa_import_key("rsa-mismatch", &der, attrs(Type::RsaKeyPair, 1024, pkcs1)),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    // A matching but unsupported size is NotSupported.
    let small_pem = dir.path().join("rsa1024.pem");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
            small_pem.to_str().unwrap(),
        ],
        b"",
    );
    let small = openssl(
        &[
            "rsa",
            "-in",
            small_pem.to_str().unwrap(),
            "-outform",
            "DER",
            "-traditional",
        ],
        b"",
    );
    assert_service_error(
        client.psa_import_key("rsa-small", &small, attrs(Type::RsaKeyPair, 1024, pkcs1)),
        ResponseStatus::PsaErrorNotSupported,
    );
}
