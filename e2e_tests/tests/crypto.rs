//! Every operation the software provider supports, through the keyward-client library against
//! the real daemon: ECDSA, ECDH, RSA signatures and encryption, AEAD, AES cipher modes, MACs,
//! hashes, random bytes, import/export, and the policy and lifecycle refusals.
//!
//! Results are checked against independent implementations where that is cheap: the `p256`
//! crate for ECDSA/ECDH, the `sha2` crate for digests, published test vectors (FIPS-197,
//! McGrew–Viega GCM, RFC 8439, RFC 4231, RFC 4493) for the symmetric algorithms.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use keyward_client::keys::{self, EccCurve};
use keyward_client::protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    EccFamily, FullLengthMac, Hash, KeyAttributes, KeyPolicy, KeyType, Mac, RawKeyAgreement,
    SignHash, UsageFlags,
};
use keyward_client::protocol::{Opcode, ProviderId, ResponseStatus};
use keyward_client::BasicClient;
use keyward_e2e_tests::{assert_status, Daemon};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Digest;

// ---- helpers ----

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn usage(names: &[&str]) -> UsageFlags {
    let mut flags = UsageFlags::default();
    for name in names {
        match *name {
            "export" => flags.export = true,
            "encrypt" => flags.encrypt = true,
            "decrypt" => flags.decrypt = true,
            "sign_hash" => flags.sign_hash = true,
            "verify_hash" => flags.verify_hash = true,
            "sign_message" => flags.sign_message = true,
            "verify_message" => flags.verify_message = true,
            "derive" => flags.derive = true,
            other => panic!("unknown usage flag {other}"),
        }
    }
    flags
}

fn attrs(key_type: KeyType, bits: u32, flags: &[&str], alg: Algorithm) -> KeyAttributes {
    KeyAttributes {
        key_type,
        bits,
        policy: KeyPolicy {
            usage_flags: usage(flags),
            permitted_algorithms: alg,
        },
    }
}

const SECP_R1_PAIR: KeyType = KeyType::EccKeyPair {
    curve_family: EccFamily::SecpR1,
};

fn ecdsa(hash: Hash) -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(hash),
    }
}

fn gcm() -> Aead {
    Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm)
}

fn chacha() -> Aead {
    Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Chacha20Poly1305)
}

fn hmac(hash: Hash) -> Mac {
    Mac::FullLength(FullLengthMac::Hmac { hash_alg: hash })
}

fn digest(hash: Hash, data: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
        Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        other => panic!("no local digest for {other:?}"),
    }
}

fn flipped(data: &[u8], at: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    out[at] ^= 0x01;
    out
}

// ---- ECC ----

#[test]
fn ecdsa_p256_and_p384_sign_and_verify_hashes_and_messages() {
    let daemon = Daemon::start();
    let client = daemon.client();
    for (curve, name, point_len) in [
        (EccCurve::P256, "ecdsa-p256", 65),
        (EccCurve::P384, "ecdsa-p384", 97),
    ] {
        client.create_ecc_signing_key(name, curve).unwrap();
        let alg = ecdsa(curve.hash());
        let field = (point_len - 1) / 2;
        let message = b"the quick brown fox";
        let hash = digest(curve.hash(), message);

        let signature = client.sign_hash(name, alg, &hash).unwrap();
        assert_eq!(signature.len(), 2 * field, "{curve:?}: raw r || s");
        assert!(client.verify_hash(name, alg, &hash, &signature).unwrap());
        assert!(!client
            .verify_hash(name, alg, &hash, &flipped(&signature, 5))
            .unwrap());
        assert!(!client
            .verify_hash(name, alg, &flipped(&hash, 0), &signature)
            .unwrap());

        let msg_signature = client.sign_message(name, alg, message).unwrap();
        assert!(client
            .verify_message(name, alg, message, &msg_signature)
            .unwrap());
        // A message signature is a signature of the message's hash.
        assert!(client
            .verify_hash(name, alg, &hash, &msg_signature)
            .unwrap());
        assert!(!client
            .verify_message(name, alg, b"the quick brown fix", &msg_signature)
            .unwrap());
        // The convenience API agrees.
        let convenient = client.sign(name, message).unwrap();
        assert!(client.verify(name, message, &convenient).unwrap());
        assert!(!client.verify(name, b"other", &convenient).unwrap());

        let public = client.export_public_key(name).unwrap();
        assert_eq!(public.len(), point_len, "{curve:?}: uncompressed point");
        assert_eq!(public[0], 0x04);
    }

    // Independent check of a P-256 signature with the p256 crate.
    let public = client.export_public_key("ecdsa-p256").unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
    let message = b"verify me elsewhere";
    let raw = client
        .sign_message("ecdsa-p256", ecdsa(Hash::Sha256), message)
        .unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    p256::ecdsa::signature::Verifier::verify(&verifying, message, &signature)
        .expect("p256 verifies the service's signature");
    assert!(
        p256::ecdsa::signature::Verifier::verify(&verifying, b"something else", &signature)
            .is_err()
    );
    let hash = digest(Hash::Sha256, message);
    let raw = client
        .sign_hash("ecdsa-p256", ecdsa(Hash::Sha256), &hash)
        .unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&raw).unwrap();
    p256::ecdsa::signature::hazmat::PrehashVerifier::verify_prehash(&verifying, &hash, &signature)
        .expect("p256 verifies the signed hash");
    // The PEM the client builds holds the same key.
    let pem = client.public_key_pem("ecdsa-p256").unwrap();
    let parsed =
        <p256::PublicKey as p256::pkcs8::DecodePublicKey>::from_public_key_pem(&pem).unwrap();
    assert_eq!(parsed.to_encoded_point(false).as_bytes(), &public[..]);

    // A signature by one key does not verify under another.
    client
        .create_ecc_signing_key("ecdsa-p256-b", EccCurve::P256)
        .unwrap();
    assert!(!client
        .verify_hash("ecdsa-p256-b", ecdsa(Hash::Sha256), &hash, &raw)
        .unwrap());
}

/// x coordinate of `scalar * point`: the raw ECDH shared secret, computed locally.
fn local_ecdh(secret: &p256::SecretKey, peer_sec1: &[u8]) -> Vec<u8> {
    let peer = p256::PublicKey::from_sec1_bytes(peer_sec1).unwrap();
    let shared = (peer.to_projective() * *secret.to_nonzero_scalar()).to_affine();
    shared.to_encoded_point(false).x().unwrap().to_vec()
}

#[test]
fn ecdh_between_service_keys_and_with_a_local_key() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let ecdh = RawKeyAgreement::Ecdh;
    for (curve, len) in [(EccCurve::P256, 32), (EccCurve::P384, 48)] {
        let (a, b) = (format!("ecdh-a-{len}"), format!("ecdh-b-{len}"));
        client.create_ecdh_key(&a, curve).unwrap();
        client.create_ecdh_key(&b, curve).unwrap();
        let public_a = client.export_public_key(&a).unwrap();
        let public_b = client.export_public_key(&b).unwrap();
        let ab = client.raw_key_agreement(ecdh, &a, &public_b).unwrap();
        let ba = client.raw_key_agreement(ecdh, &b, &public_a).unwrap();
        assert_eq!(ab.len(), len);
        assert_eq!(ab, ba, "{curve:?}: both sides derive the same secret");
    }

    // With a key the service never saw (fixed scalar, so the test is reproducible).
    let local = p256::SecretKey::from_slice(&digest(Hash::Sha256, b"local ecdh key")).unwrap();
    let local_public = local.public_key().to_encoded_point(false);
    let service_public = client.export_public_key("ecdh-a-32").unwrap();
    let from_service = client
        .raw_key_agreement(ecdh, "ecdh-a-32", local_public.as_bytes())
        .unwrap();
    assert_eq!(&from_service[..], &local_ecdh(&local, &service_public)[..]);

    // Refusals: a signing key has no derive flag; a malformed peer key is rejected.
    client
        .create_ecc_signing_key("not-for-ecdh", EccCurve::P256)
        .unwrap();
    assert_status(
        client.raw_key_agreement(ecdh, "not-for-ecdh", local_public.as_bytes()),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert_status(
        client.raw_key_agreement(ecdh, "ecdh-a-32", &local_public.as_bytes()[..40]),
        ResponseStatus::PsaErrorInvalidArgument,
    );
}

// ---- RSA ----

fn rsa_sign_attrs(bits: u32, alg: AsymmetricSignature) -> KeyAttributes {
    attrs(
        KeyType::RsaKeyPair,
        bits,
        &["sign_hash", "verify_hash"],
        Algorithm::AsymmetricSignature(alg),
    )
}

fn check_rsa_signatures(client: &BasicClient, name: &str, alg: AsymmetricSignature, len: usize) {
    let message = b"RSA says hello";
    let hash = digest(Hash::Sha256, message);
    let signature = client.sign_hash(name, alg, &hash).unwrap();
    assert_eq!(signature.len(), len);
    assert!(client.verify_hash(name, alg, &hash, &signature).unwrap());
    assert!(!client
        .verify_hash(name, alg, &hash, &flipped(&signature, len / 2))
        .unwrap());
    assert!(!client
        .verify_hash(name, alg, &flipped(&hash, 31), &signature)
        .unwrap());
    let msg_signature = client.sign_message(name, alg, message).unwrap();
    assert!(client
        .verify_message(name, alg, message, &msg_signature)
        .unwrap());
    assert!(!client
        .verify_message(name, alg, b"RSA says goodbye", &msg_signature)
        .unwrap());
}

#[test]
fn rsa_2048_pkcs1v15_and_pss_signatures() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let pkcs1 = AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    let pss = AsymmetricSignature::RsaPss {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    client.create_rsa_signing_key("rsa-pkcs1", 2048).unwrap();
    client
        .generate_key("rsa-pss", rsa_sign_attrs(2048, pss))
        .unwrap();
    check_rsa_signatures(&client, "rsa-pkcs1", pkcs1, 256);
    check_rsa_signatures(&client, "rsa-pss", pss, 256);

    let hash = digest(Hash::Sha256, b"determinism");
    // PKCS#1 v1.5 is deterministic, PSS is salted.
    assert_eq!(
        client.sign_hash("rsa-pkcs1", pkcs1, &hash).unwrap(),
        client.sign_hash("rsa-pkcs1", pkcs1, &hash).unwrap()
    );
    assert_ne!(
        client.sign_hash("rsa-pss", pss, &hash).unwrap(),
        client.sign_hash("rsa-pss", pss, &hash).unwrap()
    );
    // Each key is bound to its scheme.
    assert_status(
        client.sign_hash("rsa-pkcs1", pss, &hash),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert_status(
        client.sign_hash("rsa-pss", pkcs1, &hash),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // Public key: PKCS#1 RSAPublicKey DER.
    let public = client.export_public_key("rsa-pkcs1").unwrap();
    assert_eq!(public[0], 0x30, "DER SEQUENCE");
    assert!(public.len() > 256 && public.len() < 300, "{}", public.len());
}

#[test]
fn rsa_3072_signature() {
    let daemon = Daemon::start();
    let client = daemon.client();
    client.create_rsa_signing_key("rsa-3072", 3072).unwrap();
    let key = client.key_info("rsa-3072").unwrap();
    assert_eq!(key.attributes.bits, 3072);
    check_rsa_signatures(
        &client,
        "rsa-3072",
        AsymmetricSignature::RsaPkcs1v15Sign {
            hash_alg: SignHash::Specific(Hash::Sha256),
        },
        384,
    );
}

#[test]
fn rsa_oaep_and_pkcs1v15_encryption_including_an_imported_public_key() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let oaep = AsymmetricEncryption::RsaOaep {
        hash_alg: Hash::Sha256,
    };
    let pkcs1 = AsymmetricEncryption::RsaPkcs1v15Crypt;
    client
        .create_rsa_encryption_key("rsa-oaep", 2048, true)
        .unwrap();
    client
        .create_rsa_encryption_key("rsa-pkcs1", 2048, false)
        .unwrap();
    let secret = b"a 32 byte long symmetric secret!";
    for (name, alg) in [("rsa-oaep", oaep), ("rsa-pkcs1", pkcs1)] {
        let first = client.asymmetric_encrypt(name, alg, secret, None).unwrap();
        let second = client.asymmetric_encrypt(name, alg, secret, None).unwrap();
        assert_eq!(first.len(), 256);
        assert_ne!(first, second, "{alg:?} encryption is randomised");
        for ciphertext in [&first, &second] {
            let plaintext = client
                .asymmetric_decrypt(name, alg, ciphertext, None)
                .unwrap();
            assert_eq!(&plaintext[..], secret);
        }
        let corrupted = client.asymmetric_decrypt(name, alg, &flipped(&first, 100), None);
        assert!(
            corrupted.is_err(),
            "{alg:?}: corrupted ciphertext decrypted"
        );
        // The convenience API round-trips too.
        let ciphertext = client.encrypt(name, b"convenient").unwrap();
        assert_eq!(
            &client.decrypt(name, &ciphertext).unwrap()[..],
            b"convenient"
        );
    }
    assert_status(
        client.asymmetric_decrypt("rsa-oaep", oaep, &flipped(&[0u8; 256], 3), None),
        ResponseStatus::PsaErrorInvalidPadding,
    );
    // A key is bound to its padding scheme.
    assert_status(
        client.asymmetric_encrypt("rsa-pkcs1", oaep, secret, None),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // OAEP-SHA256 with a 2048-bit key carries at most 190 bytes.
    assert_status(
        client.asymmetric_encrypt("rsa-oaep", oaep, &[1u8; 191], None),
        ResponseStatus::PsaErrorInvalidArgument,
    );

    // Import the exported public key and encrypt with it; the private key decrypts.
    let public = client.export_public_key("rsa-oaep").unwrap();
    let public_attrs = attrs(
        KeyType::RsaPublicKey,
        2048,
        &["encrypt"],
        Algorithm::AsymmetricEncryption(oaep),
    );
    client
        .import_key("rsa-oaep-public", public_attrs, &public)
        .unwrap();
    assert_eq!(client.export_public_key("rsa-oaep-public").unwrap(), public);
    let ciphertext = client
        .asymmetric_encrypt("rsa-oaep-public", oaep, secret, None)
        .unwrap();
    let plaintext = client
        .asymmetric_decrypt("rsa-oaep", oaep, &ciphertext, None)
        .unwrap();
    assert_eq!(&plaintext[..], secret);
    // A public key cannot decrypt (its policy lacks the flag; it has no private part).
    assert!(client
        .asymmetric_decrypt("rsa-oaep-public", oaep, &ciphertext, None)
        .is_err());
}

// ---- symmetric ----

#[test]
fn aead_round_trips_and_tampering_fails() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let crypt = ["encrypt", "decrypt"];
    client.create_aes_key("aes-128-gcm", 128).unwrap();
    client.create_aes_key("aes-256-gcm", 256).unwrap();
    client
        .generate_key(
            "chacha",
            attrs(KeyType::Chacha20, 256, &crypt, Algorithm::Aead(chacha())),
        )
        .unwrap();
    let nonce = [9u8; 12];
    let aad = b"header";
    let plaintext = b"attack at dawn, bring snacks";
    for (name, alg) in [
        ("aes-128-gcm", gcm()),
        ("aes-256-gcm", gcm()),
        ("chacha", chacha()),
    ] {
        let ciphertext = client
            .aead_encrypt(name, alg, &nonce, aad, plaintext)
            .unwrap();
        assert_eq!(ciphertext.len(), plaintext.len() + 16, "{name}: ct || tag");
        assert_ne!(&ciphertext[..plaintext.len()], plaintext);
        let decrypted = client
            .aead_decrypt(name, alg, &nonce, aad, &ciphertext)
            .unwrap();
        assert_eq!(&decrypted[..], plaintext);
        for (bad_nonce, bad_aad, bad_ct) in [
            (&nonce[..], &b"headex"[..], ciphertext.clone()),
            (&nonce[..], &aad[..], flipped(&ciphertext, 3)),
            (
                &nonce[..],
                &aad[..],
                flipped(&ciphertext, ciphertext.len() - 1),
            ),
            (&[8u8; 12][..], &aad[..], ciphertext.clone()),
        ] {
            assert_status(
                client.aead_decrypt(name, alg, bad_nonce, bad_aad, &bad_ct),
                ResponseStatus::PsaErrorInvalidSignature,
            );
        }
        // The convenience API: random nonce, prepended.
        let sealed = client.encrypt(name, plaintext).unwrap();
        assert_eq!(&client.decrypt(name, &sealed).unwrap()[..], plaintext);
    }
    // A GCM key cannot be used with ChaCha20-Poly1305.
    assert_status(
        client.aead_encrypt("aes-256-gcm", chacha(), &nonce, aad, plaintext),
        ResponseStatus::PsaErrorNotPermitted,
    );
}

#[test]
fn aead_known_answers() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let crypt = ["encrypt", "decrypt"];
    // McGrew–Viega GCM test case 3 (AES-128, no AAD).
    client
        .import_key(
            "gcm-kat",
            attrs(KeyType::Aes, 128, &crypt, Algorithm::Aead(gcm())),
            &hex("feffe9928665731c6d6a8f9467308308"),
        )
        .unwrap();
    let plaintext = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
    let expected = hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f59854d5c2af327cd64a62cf35abd2ba6fab4");
    let nonce = hex("cafebabefacedbaddecaf888");
    assert_eq!(
        client
            .aead_encrypt("gcm-kat", gcm(), &nonce, &[], &plaintext)
            .unwrap(),
        expected
    );
    // RFC 8439 §2.8.2 (ChaCha20-Poly1305 with AAD).
    let key: Vec<u8> = (0x80u8..0xa0).collect();
    client
        .import_key(
            "chacha-kat",
            attrs(KeyType::Chacha20, 256, &crypt, Algorithm::Aead(chacha())),
            &key,
        )
        .unwrap();
    let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    let expected = hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b61161ae10b594f09e26a7e902ecbd0600691");
    let ciphertext = client
        .aead_encrypt(
            "chacha-kat",
            chacha(),
            &hex("070000004041424344454647"),
            &hex("50515253c0c1c2c3c4c5c6c7"),
            plaintext,
        )
        .unwrap();
    assert_eq!(ciphertext, expected);
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[test]
fn aes_cipher_modes_match_their_definitions() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let listed = client.list_opcodes(ProviderId::Software).unwrap();
    assert!(
        listed.contains(&Opcode::PsaCipherEncrypt) && listed.contains(&Opcode::PsaCipherDecrypt),
        "the software provider's capability table offers AES cipher modes: {listed:?}"
    );
    // FIPS-197 appendix C.1 key; every mode gets the same key material, so ECB serves as the
    // block-cipher oracle that defines the other modes.
    let key = hex("000102030405060708090a0b0c0d0e0f");
    let modes = [
        ("ecb", Cipher::EcbNoPadding),
        ("cbc", Cipher::CbcNoPadding),
        ("cbc-pkcs7", Cipher::CbcPkcs7),
        ("ctr", Cipher::Ctr),
        ("cfb", Cipher::Cfb),
        ("ofb", Cipher::Ofb),
    ];
    for (name, mode) in modes {
        client
            .import_key(
                name,
                attrs(
                    KeyType::Aes,
                    128,
                    &["encrypt", "decrypt"],
                    Algorithm::Cipher(mode),
                ),
                &key,
            )
            .unwrap();
    }
    let block = |input: &[u8]| -> Vec<u8> {
        client
            .cipher_encrypt("ecb", Cipher::EcbNoPadding, input)
            .unwrap()
    };
    assert_eq!(
        block(&hex("00112233445566778899aabbccddeeff")),
        hex("69c4e0d86a7b0430d8cdb78070b4c55a"),
        "FIPS-197 C.1"
    );

    let plaintext: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(7)).collect();
    let (p1, p2) = plaintext.split_at(16);
    for (name, mode) in &modes[1..] {
        let out = client.cipher_encrypt(name, *mode, &plaintext).unwrap();
        let (iv, ct) = out.split_at(16);
        let expected: Vec<u8> = match mode {
            Cipher::CbcNoPadding | Cipher::CbcPkcs7 => {
                let c1 = block(&xor(p1, iv));
                let c2 = block(&xor(p2, &c1));
                let mut all = [c1.clone(), c2.clone()].concat();
                if *mode == Cipher::CbcPkcs7 {
                    all.extend(block(&xor(&[16u8; 16], &c2)));
                }
                all
            }
            Cipher::Ctr => {
                let counter = u128::from_be_bytes(iv.try_into().unwrap());
                let k1 = block(&counter.to_be_bytes());
                let k2 = block(&counter.wrapping_add(1).to_be_bytes());
                [xor(p1, &k1), xor(p2, &k2)].concat()
            }
            Cipher::Cfb => {
                let c1 = xor(p1, &block(iv));
                let c2 = xor(p2, &block(&c1));
                [c1, c2].concat()
            }
            Cipher::Ofb => {
                let o1 = block(iv);
                let o2 = block(&o1);
                [xor(p1, &o1), xor(p2, &o2)].concat()
            }
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(ct, &expected[..], "{name} does not follow its definition");
        let back = client.cipher_decrypt(name, *mode, &out).unwrap();
        assert_eq!(&back[..], &plaintext[..], "{name} round trip");
        // A fresh IV each time.
        assert_ne!(
            client.cipher_encrypt(name, *mode, &plaintext).unwrap(),
            out,
            "{name} reused its IV"
        );
    }
    // Block modes without padding need whole blocks; padded CBC takes any length.
    assert_status(
        client.cipher_encrypt("cbc", Cipher::CbcNoPadding, &[0u8; 15]),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    let odd = client
        .cipher_encrypt("cbc-pkcs7", Cipher::CbcPkcs7, &[5u8; 15])
        .unwrap();
    assert_eq!(odd.len(), 32);
    assert_eq!(
        &client
            .cipher_decrypt("cbc-pkcs7", Cipher::CbcPkcs7, &odd)
            .unwrap()[..],
        &[5u8; 15]
    );
    // A key is bound to its mode.
    assert_status(
        client.cipher_encrypt("ctr", Cipher::Ofb, &plaintext),
        ResponseStatus::PsaErrorNotPermitted,
    );
}

#[test]
fn hmac_and_cmac_compute_and_verify() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let mac_flags = ["sign_hash", "verify_hash", "sign_message", "verify_message"];
    // RFC 4231 test case 1.
    let key = [0x0bu8; 20];
    let data = b"Hi There";
    for (hash, expected) in [
        (Hash::Sha256, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Hash::Sha384, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"),
        (Hash::Sha512, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    ] {
        let name = format!("hmac-{hash:?}");
        client
            .import_key(
                &name,
                attrs(KeyType::Hmac, 160, &mac_flags, Algorithm::Mac(hmac(hash))),
                &key,
            )
            .unwrap();
        let mac = client.mac_compute(&name, hmac(hash), data).unwrap();
        assert_eq!(mac, hex(expected), "RFC 4231 case 1, {hash:?}");
        assert!(client.mac_verify(&name, hmac(hash), data, &mac).unwrap());
        assert!(!client.mac_verify(&name, hmac(hash), data, &flipped(&mac, 0)).unwrap());
        assert!(!client.mac_verify(&name, hmac(hash), b"Hi there", &mac).unwrap());
        assert!(!client.mac_verify(&name, hmac(hash), data, &mac[..mac.len() - 1]).unwrap());
    }
    // A generated HMAC key: MACs are deterministic and checkable; the key is bound to its hash.
    client
        .generate_key(
            "hmac-gen",
            attrs(
                KeyType::Hmac,
                256,
                &mac_flags,
                Algorithm::Mac(hmac(Hash::Sha256)),
            ),
        )
        .unwrap();
    let mac = client
        .mac_compute("hmac-gen", hmac(Hash::Sha256), b"payload")
        .unwrap();
    assert_eq!(mac.len(), 32);
    assert_eq!(
        client
            .mac_compute("hmac-gen", hmac(Hash::Sha256), b"payload")
            .unwrap(),
        mac
    );
    assert!(client
        .mac_verify("hmac-gen", hmac(Hash::Sha256), b"payload", &mac)
        .unwrap());
    assert!(!client
        .mac_verify("hmac-gen", hmac(Hash::Sha256), b"paylOad", &mac)
        .unwrap());
    assert_status(
        client.mac_compute("hmac-gen", hmac(Hash::Sha512), b"payload"),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // AES-CMAC, RFC 4493 example 2.
    let cmac = Mac::FullLength(FullLengthMac::Cmac);
    client
        .import_key(
            "cmac",
            attrs(KeyType::Aes, 128, &mac_flags, Algorithm::Mac(cmac)),
            &hex("2b7e151628aed2a6abf7158809cf4f3c"),
        )
        .unwrap();
    let tag = client
        .mac_compute("cmac", cmac, &hex("6bc1bee22e409f96e93d7e117393172a"))
        .unwrap();
    assert_eq!(tag, hex("070a16b46b4d4144f79bdd9dd04a287c"));
}

#[test]
fn hash_compute_and_compare_match_sha2() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let long: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    for input in [&b""[..], &b"abc"[..], &long[..]] {
        for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
            let expected = digest(hash, input);
            let computed = client.hash_compute(hash, input).unwrap();
            assert_eq!(computed, expected, "{hash:?} of {} bytes", input.len());
            assert!(client.hash_compare(hash, input, &expected).unwrap());
            assert!(!client
                .hash_compare(hash, input, &flipped(&expected, 7))
                .unwrap());
            assert!(!client.hash_compare(hash, input, &expected[..16]).unwrap());
        }
    }
    assert_status(
        client.hash_compute(Hash::Md5, b"abc"),
        ResponseStatus::PsaErrorNotSupported,
    );
}

#[test]
fn generate_random_sizes_freshness_and_limit() {
    let daemon = Daemon::start();
    let client = daemon.client();
    for size in [0usize, 1, 32, 1000, 64 * 1024] {
        assert_eq!(client.generate_random(size).unwrap().len(), size);
    }
    let a = client.generate_random(32).unwrap();
    let b = client.generate_random(32).unwrap();
    assert_ne!(a, b, "two draws must differ");
    assert_ne!(&a[..], &[0u8; 32]);
    // Over limits.max_response_len (1 MiB by default): refused as Parsec does.
    assert_status(
        client.generate_random((1 << 20) + 1),
        ResponseStatus::ResponseTooLarge,
    );
    assert_status(
        client.generate_random(usize::MAX >> 1),
        ResponseStatus::ResponseTooLarge,
    );
    // The daemon is fine afterwards.
    assert_eq!(client.generate_random(16).unwrap().len(), 16);
}

// ---- key management ----

#[test]
fn import_export_round_trip_and_export_refusal() {
    let daemon = Daemon::start();
    let client = daemon.client();
    // Symmetric key with the export flag.
    let aes: Vec<u8> = (0u8..32).collect();
    client
        .import_key(
            "aes-exportable",
            attrs(
                KeyType::Aes,
                256,
                &["export", "encrypt", "decrypt"],
                Algorithm::Aead(gcm()),
            ),
            &aes,
        )
        .unwrap();
    assert_eq!(&client.export_key("aes-exportable").unwrap()[..], &aes[..]);
    assert_status(
        client.export_public_key("aes-exportable"),
        ResponseStatus::PsaErrorInvalidArgument,
    );

    // An ECC key pair imported from a known scalar: the public key and signatures match p256.
    let scalar = digest(Hash::Sha256, b"imported ecc key");
    let ecc_attrs = attrs(
        SECP_R1_PAIR,
        256,
        &["export", "sign_hash", "verify_hash"],
        Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256)),
    );
    client
        .import_key("ecc-imported", ecc_attrs, &scalar)
        .unwrap();
    assert_eq!(&client.export_key("ecc-imported").unwrap()[..], &scalar[..]);
    let local = p256::SecretKey::from_slice(&scalar).unwrap();
    let expected_public = local.public_key().to_encoded_point(false);
    assert_eq!(
        client.export_public_key("ecc-imported").unwrap(),
        expected_public.as_bytes()
    );
    let info = client.key_info("ecc-imported").unwrap();
    assert_eq!(info.attributes.bits, 256);
    assert!(info.attributes.policy.usage_flags.export);

    // Generated exportable key: export gives key material of the right size.
    client
        .generate_key(
            "aes-gen-exportable",
            attrs(
                KeyType::Aes,
                128,
                &["export", "encrypt"],
                Algorithm::Aead(gcm()),
            ),
        )
        .unwrap();
    assert_eq!(client.export_key("aes-gen-exportable").unwrap().len(), 16);

    // Without the export flag: refused, but the public part is always available.
    client.create_signing_key("not-exportable").unwrap();
    assert_status(
        client.export_key("not-exportable"),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert_eq!(
        client.export_public_key("not-exportable").unwrap().len(),
        65
    );
    client.create_aes_key("aes-not-exportable", 256).unwrap();
    assert_status(
        client.export_key("aes-not-exportable"),
        ResponseStatus::PsaErrorNotPermitted,
    );

    // Malformed import data is refused and leaves no key behind.
    assert_status(
        client.import_key("bad-import", ecc_attrs, &scalar[..31]),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    assert!(client
        .list_keys()
        .unwrap()
        .iter()
        .all(|key| key.name != "bad-import"));
}

#[test]
fn policy_refusals() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let hash = digest(Hash::Sha256, b"policy");
    // Verify-only key: may verify, may not sign.
    client
        .generate_key(
            "verify-only",
            attrs(
                SECP_R1_PAIR,
                256,
                &["verify_hash"],
                Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256)),
            ),
        )
        .unwrap();
    assert_status(
        client.sign_hash("verify-only", ecdsa(Hash::Sha256), &hash),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert_status(
        client.sign_message("verify-only", ecdsa(Hash::Sha256), b"policy"),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert!(!client
        .verify_hash("verify-only", ecdsa(Hash::Sha256), &hash, &[1u8; 64])
        .unwrap());
    // ECDSA-SHA256 key: no other hash.
    client.create_signing_key("sha256-only").unwrap();
    let hash384 = digest(Hash::Sha384, b"policy");
    assert_status(
        client.sign_hash("sha256-only", ecdsa(Hash::Sha384), &hash384),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // Signing keys cannot encrypt, encryption keys cannot sign.
    client.create_aes_key("aes", 256).unwrap();
    assert_status(
        client.sign_hash("aes", ecdsa(Hash::Sha256), &hash),
        ResponseStatus::PsaErrorNotPermitted,
    );
    assert_status(
        client.aead_encrypt("sha256-only", gcm(), &[0u8; 12], &[], b"x"),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // An AEAD key is not a cipher-mode key.
    assert_status(
        client.cipher_encrypt("aes", Cipher::Ctr, &[0u8; 16]),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // Encrypt-only key cannot decrypt.
    client
        .generate_key(
            "encrypt-only",
            attrs(KeyType::Aes, 128, &["encrypt"], Algorithm::Aead(gcm())),
        )
        .unwrap();
    let ct = client
        .aead_encrypt("encrypt-only", gcm(), &[1u8; 12], &[], b"secret")
        .unwrap();
    assert_status(
        client.aead_decrypt("encrypt-only", gcm(), &[1u8; 12], &[], &ct),
        ResponseStatus::PsaErrorNotPermitted,
    );
    // An ECDH key is not a signing key, and vice versa.
    client.create_ecdh_key("ecdh", EccCurve::P256).unwrap();
    assert_status(
        client.sign_hash("ecdh", ecdsa(Hash::Sha256), &hash),
        ResponseStatus::PsaErrorNotPermitted,
    );
}

#[test]
fn unsupported_or_invalid_key_requests_are_refused() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256));
    assert_status(
        client.generate_key("p521", attrs(SECP_R1_PAIR, 521, &["sign_hash"], ecdsa256)),
        ResponseStatus::PsaErrorNotSupported,
    );
    assert_status(
        client.generate_key("rsa-1024", keys::rsa_signing_key(1024)),
        ResponseStatus::PsaErrorNotSupported,
    );
    // An algorithm that cannot go with the key type at all.
    assert_status(
        client.generate_key(
            "aes-ecdsa",
            attrs(KeyType::Aes, 256, &["sign_hash"], ecdsa256),
        ),
        ResponseStatus::PsaErrorInvalidArgument,
    );
    assert!(client.list_keys().unwrap().is_empty(), "no key left behind");
}

#[test]
fn destroyed_keys_are_gone_and_names_are_unique() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let hash = digest(Hash::Sha256, b"lifecycle");
    client.create_signing_key("doomed").unwrap();
    client
        .sign_hash("doomed", ecdsa(Hash::Sha256), &hash)
        .unwrap();
    client.destroy_key("doomed").unwrap();
    assert_status(
        client.sign_hash("doomed", ecdsa(Hash::Sha256), &hash),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_status(
        client.export_public_key("doomed"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_status(
        client.destroy_key("doomed"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert!(client.list_keys().unwrap().is_empty());
    // The name can be reused: a new key, not the old one.
    client.create_signing_key("doomed").unwrap();
    client
        .sign_hash("doomed", ecdsa(Hash::Sha256), &hash)
        .unwrap();

    // Duplicate names are refused and the existing key is untouched.
    client.create_signing_key("dup").unwrap();
    let public = client.export_public_key("dup").unwrap();
    assert_status(
        client.create_signing_key("dup"),
        ResponseStatus::PsaErrorAlreadyExists,
    );
    assert_status(
        client.create_aes_key("dup", 128),
        ResponseStatus::PsaErrorAlreadyExists,
    );
    let scalar = digest(Hash::Sha256, b"dup");
    assert_status(
        client.import_key("dup", keys::ecc_signing_key(EccCurve::P256), &scalar),
        ResponseStatus::PsaErrorAlreadyExists,
    );
    assert_eq!(client.export_public_key("dup").unwrap(), public);
    let signature = client.sign("dup", b"still mine").unwrap();
    assert!(client.verify("dup", b"still mine", &signature).unwrap());
    assert_eq!(client.list_keys().unwrap().len(), 2);
}
