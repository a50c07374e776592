//! Tests of the software provider through the family traits, with real aws-lc-rs crypto,
//! known-answer vectors (OpenSSL-made keys and signatures, RFC/NIST vectors) and cross-checks
//! against independent implementations (the `p256` crate, aws-lc-rs's own public-key API).

use keyward_protocol::opcode::Opcode;
use keyward_protocol::ops::CheckType;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    EccFamily, FullLengthMac, Hash, KeyAgreement, KeyAttributes, KeyPolicy, KeyType, Mac,
    RawKeyAgreement, SignHash, UsageFlags,
};

use crate::*;
use keyward_providers::{
    AeadCrypt, AsymmetricCrypt, AsymmetricSign, CipherCrypt, HashOps, KeyAgreementOps, KeyHandle,
    KeyManagement, KeyRef, MacOps, Provider, ProviderError, RandomSource,
};

const P_PAIR: KeyType = KeyType::EccKeyPair {
    curve_family: EccFamily::SecpR1,
};
const P_PUB: KeyType = KeyType::EccPublicKey {
    curve_family: EccFamily::SecpR1,
};

const MSG: &[u8] = include_bytes!("../testdata/msg.txt");
const P256_SCALAR: &[u8] = include_bytes!("../testdata/p256.scalar.bin");
const P256_PUBLIC: &[u8] = include_bytes!("../testdata/p256.pub.bin");
const P256_OPENSSL_SIG: &[u8] = include_bytes!("../testdata/p256.msg.sha256.sig");
const P256_PEER: &[u8] = include_bytes!("../testdata/p256peer.pub.bin");
const P256_ECDH: &[u8] = include_bytes!("../testdata/p256.ecdh.bin");
const P384_SCALAR: &[u8] = include_bytes!("../testdata/p384.scalar.bin");
const P384_PUBLIC: &[u8] = include_bytes!("../testdata/p384.pub.bin");
const RSA_PRIVATE: &[u8] = include_bytes!("../testdata/rsa2048.pkcs1.der");
const RSA_PUBLIC: &[u8] = include_bytes!("../testdata/rsa2048.pub.pkcs1.der");
const RSA_PUBLIC_SPKI: &[u8] = include_bytes!("../testdata/rsa2048.pub.spki.der");
const RSA_OPENSSL_SIG: &[u8] = include_bytes!("../testdata/rsa2048.msg.sha256.pkcs1.sig");

fn provider() -> SoftwareProvider {
    SoftwareProvider::new(&MasterKey::generate().unwrap(), SoftwareConfig::default()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn all_flags() -> UsageFlags {
    UsageFlags {
        export: true,
        copy: false,
        cache: false,
        encrypt: true,
        decrypt: true,
        sign_message: true,
        verify_message: true,
        sign_hash: true,
        verify_hash: true,
        derive: true,
    }
}

fn attrs(key_type: KeyType, bits: u32, alg: Algorithm) -> KeyAttributes {
    KeyAttributes {
        key_type,
        bits,
        policy: KeyPolicy {
            usage_flags: all_flags(),
            permitted_algorithms: alg,
        },
    }
}

/// A stored key as the service would keep it.
struct Key {
    handle: KeyHandle,
    attributes: KeyAttributes,
}

impl Key {
    fn r(&self) -> KeyRef<'_> {
        KeyRef {
            handle: &self.handle.0,
            attributes: &self.attributes,
        }
    }
}

fn generate(p: &SoftwareProvider, attributes: KeyAttributes) -> Key {
    let handle = p.generate_key(&attributes).unwrap();
    Key { handle, attributes }
}

fn import(p: &SoftwareProvider, attributes: KeyAttributes, data: &[u8]) -> Key {
    let imported = p.import_key(&attributes, data).unwrap();
    Key {
        handle: imported.handle,
        attributes: imported.attributes,
    }
}

fn ecdsa(h: Hash) -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(h),
    }
}
fn ecdsa_any_hash() -> Algorithm {
    Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Any,
    })
}
fn pkcs1(h: Hash) -> AsymmetricSignature {
    AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: SignHash::Specific(h),
    }
}
fn pss(h: Hash) -> AsymmetricSignature {
    AsymmetricSignature::RsaPss {
        hash_alg: SignHash::Specific(h),
    }
}
fn sha(h: Hash, data: &[u8]) -> Vec<u8> {
    provider().hash_compute(h, data).unwrap()
}
fn flip(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v[i] ^= 0x01;
    v
}

const SIGN_HASHES: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

// ---------------------------------------------------------------- ECDSA

#[test]
fn ecdsa_generate_sign_verify_every_curve_and_hash() {
    let p = provider();
    for (bits, sig_len) in [(256u32, 64usize), (384, 96)] {
        let key = generate(&p, attrs(P_PAIR, bits, ecdsa_any_hash()));
        for h in SIGN_HASHES {
            let alg = ecdsa(h);
            let hash = sha(h, MSG);
            let sig = p.sign_hash(key.r(), alg, &hash).unwrap();
            assert_eq!(sig.len(), sig_len, "P-{bits} {h:?}");
            p.verify_hash(key.r(), alg, &hash, &sig).unwrap();
            // sign_hash and sign_message agree: a hash signature verifies as a message one.
            p.verify_message(key.r(), alg, MSG, &sig).unwrap();
            assert_eq!(
                p.verify_hash(key.r(), alg, &hash, &flip(&sig, 5)),
                Err(ProviderError::InvalidSignature)
            );
            assert_eq!(
                p.verify_hash(key.r(), alg, &flip(&hash, 0), &sig),
                Err(ProviderError::InvalidSignature)
            );
            assert_eq!(
                p.verify_hash(key.r(), alg, &hash, &sig[1..]),
                Err(ProviderError::InvalidSignature)
            );

            let msig = p.sign_message(key.r(), alg, MSG).unwrap();
            p.verify_message(key.r(), alg, MSG, &msig).unwrap();
            p.verify_hash(key.r(), alg, &hash, &msig).unwrap();
            assert_eq!(
                p.verify_message(key.r(), alg, b"another message", &msig),
                Err(ProviderError::InvalidSignature)
            );
        }
    }
}

#[test]
fn ecdsa_verifies_with_an_imported_public_key_and_openssl_signatures() {
    let p = provider();
    let public = import(&p, attrs(P_PUB, 256, ecdsa_any_hash()), P256_PUBLIC);
    let alg = ecdsa(Hash::Sha256);
    p.verify_message(public.r(), alg, MSG, P256_OPENSSL_SIG)
        .unwrap();
    assert_eq!(
        p.verify_message(public.r(), alg, b"not the message", P256_OPENSSL_SIG),
        Err(ProviderError::InvalidSignature)
    );
    // A signature by the imported private key verifies with the imported public key.
    let pair = import(&p, attrs(P_PAIR, 256, ecdsa_any_hash()), P256_SCALAR);
    for h in SIGN_HASHES {
        let sig = p.sign_message(pair.r(), ecdsa(h), MSG).unwrap();
        p.verify_message(public.r(), ecdsa(h), MSG, &sig).unwrap();
    }
    // Public keys cannot sign.
    assert!(matches!(
        p.sign_message(public.r(), alg, MSG),
        Err(ProviderError::InvalidArgument(_))
    ));
}

#[test]
fn p256_signatures_verify_with_the_p256_crate() {
    use p256_13::ecdsa::signature::hazmat::PrehashVerifier;
    use p256_13::ecdsa::signature::Verifier;
    let p = provider();
    let key = generate(&p, attrs(P_PAIR, 256, ecdsa_any_hash()));
    let public = p.export_public_key(key.r()).unwrap();
    let verifier = p256_13::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();

    let sig = p.sign_message(key.r(), ecdsa(Hash::Sha256), MSG).unwrap();
    let sig = p256_13::ecdsa::Signature::from_slice(&sig).unwrap();
    verifier.verify(MSG, &sig).unwrap();
    assert!(verifier.verify(b"other", &sig).is_err());

    // Hashes longer than the curve: the p256 crate applies bits2int itself, independently of
    // the truncation this provider does before handing the digest to aws-lc-rs.
    for h in [Hash::Sha384, Hash::Sha512] {
        let hash = sha(h, MSG);
        let sig = p.sign_hash(key.r(), ecdsa(h), &hash).unwrap();
        let sig = p256_13::ecdsa::Signature::from_slice(&sig).unwrap();
        verifier.verify_prehash(&hash, &sig).unwrap();
    }
    // And the other direction: a p256-crate signature verifies here.
    let signer = p256_13::ecdsa::SigningKey::from_slice(P256_SCALAR).unwrap();
    let sig: p256_13::ecdsa::Signature = p256_13::ecdsa::signature::Signer::sign(&signer, MSG);
    let imported = import(&p, attrs(P_PUB, 256, ecdsa_any_hash()), P256_PUBLIC);
    p.verify_message(imported.r(), ecdsa(Hash::Sha256), MSG, &sig.to_bytes())
        .unwrap();
}

#[test]
fn ecdsa_any_signs_hashes_of_any_length() {
    let p = provider();
    let any = Algorithm::AsymmetricSignature(AsymmetricSignature::EcdsaAny);
    for bits in [256, 384] {
        let key = generate(&p, attrs(P_PAIR, bits, any));
        for len in [1usize, 20, 32, 48, 64] {
            let hash = vec![0x5A; len];
            let sig = p
                .sign_hash(key.r(), AsymmetricSignature::EcdsaAny, &hash)
                .unwrap();
            p.verify_hash(key.r(), AsymmetricSignature::EcdsaAny, &hash, &sig)
                .unwrap();
        }
        // ECDSA-any over a SHA-256 digest is the same math as ECDSA-SHA-256.
        let digest = sha(Hash::Sha256, MSG);
        let sig = p
            .sign_hash(key.r(), AsymmetricSignature::EcdsaAny, &digest)
            .unwrap();
        p.verify_message(key.r(), ecdsa(Hash::Sha256), MSG, &sig)
            .unwrap();
        assert!(matches!(
            p.sign_hash(key.r(), AsymmetricSignature::EcdsaAny, &[]),
            Err(ProviderError::InvalidArgument(_))
        ));
        assert!(matches!(
            p.sign_hash(key.r(), AsymmetricSignature::EcdsaAny, &[1; 65]),
            Err(ProviderError::InvalidArgument(_))
        ));
    }
}

#[test]
fn signature_requests_that_do_not_fit() {
    let p = provider();
    let ec = generate(&p, attrs(P_PAIR, 256, ecdsa_any_hash()));
    // Hash of the wrong length for the algorithm.
    assert!(matches!(
        p.sign_hash(ec.r(), ecdsa(Hash::Sha256), &[0; 48]),
        Err(ProviderError::InvalidArgument(_))
    ));
    // Closed gap (issue 8): deterministic ECDSA signs (RFC 6979), and twice the same.
    let det = AsymmetricSignature::DeterministicEcdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    let det_ec = generate(&p, attrs(P_PAIR, 256, Algorithm::AsymmetricSignature(det)));
    let first = p.sign_hash(det_ec.r(), det, &[7; 32]).unwrap();
    assert_eq!(p.sign_hash(det_ec.r(), det, &[7; 32]).unwrap(), first);
    p.verify_hash(det_ec.r(), det, &[7; 32], &first).unwrap();
    assert!(matches!(
        p.sign_hash(ec.r(), ecdsa(Hash::Sha1), &[0; 20]),
        Err(ProviderError::NotSupported(_))
    ));
    assert!(matches!(
        p.sign_hash(ec.r(), pkcs1(Hash::Sha256), &[0; 32]),
        Err(ProviderError::InvalidArgument(_))
    ));
    let rsa = import(
        &p,
        attrs(KeyType::RsaKeyPair, 2048, Algorithm::None),
        RSA_PRIVATE,
    );
    assert!(matches!(
        p.sign_hash(rsa.r(), ecdsa(Hash::Sha256), &[0; 32]),
        Err(ProviderError::InvalidArgument(_))
    ));
    // Closed gap (issue 8): raw PKCS#1 v1.5 signatures (RustCrypto rsa); deterministic, so
    // two signatures of one input are equal, and they verify.
    let raw = AsymmetricSignature::RsaPkcs1v15SignRaw;
    let raw_key = import(
        &p,
        attrs(
            KeyType::RsaKeyPair,
            2048,
            Algorithm::AsymmetricSignature(raw),
        ),
        RSA_PRIVATE,
    );
    let signed = p.sign_hash(raw_key.r(), raw, &[0; 32]).unwrap();
    assert_eq!(signed.len(), 256);
    assert_eq!(p.sign_hash(raw_key.r(), raw, &[0; 32]).unwrap(), signed);
    p.verify_hash(raw_key.r(), raw, &[0; 32], &signed).unwrap();
    // Verifying deterministic-ECDSA signatures is plain ECDSA verification.
    let det = AsymmetricSignature::DeterministicEcdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    let public = import(&p, attrs(P_PUB, 256, Algorithm::None), P256_PUBLIC);
    p.verify_message(public.r(), det, MSG, P256_OPENSSL_SIG)
        .unwrap();
}

// ---------------------------------------------------------------- ECC formats

#[test]
fn ecc_keys_import_and_export_in_psa_formats() {
    let p = provider();
    for (bits, scalar, point) in [
        (256u32, P256_SCALAR, P256_PUBLIC),
        (384, P384_SCALAR, P384_PUBLIC),
    ] {
        for declared in [bits, 0] {
            let pair = import(&p, attrs(P_PAIR, declared, ecdsa_any_hash()), scalar);
            assert_eq!(pair.attributes.bits, bits, "bits resolved from the data");
            assert_eq!(&p.export_key(pair.r()).unwrap()[..], scalar);
            assert_eq!(p.export_public_key(pair.r()).unwrap(), point);

            let public = import(&p, attrs(P_PUB, declared, ecdsa_any_hash()), point);
            assert_eq!(public.attributes.bits, bits);
            assert_eq!(p.export_public_key(public.r()).unwrap(), point);
            assert_eq!(&p.export_key(public.r()).unwrap()[..], point);
        }
    }
    // Generated keys export in the same shapes.
    let generated = generate(&p, attrs(P_PAIR, 384, ecdsa_any_hash()));
    assert_eq!(p.export_key(generated.r()).unwrap().len(), 48);
    let point = p.export_public_key(generated.r()).unwrap();
    assert_eq!((point.len(), point[0]), (97, 0x04));
}

#[test]
fn ecc_import_rejects_malformed_keys() {
    let p = provider();
    let invalid = |key_type, bits, data: &[u8]| {
        let result = p.import_key(&attrs(key_type, bits, ecdsa_any_hash()), data);
        assert!(
            matches!(result, Err(ProviderError::InvalidArgument(_))),
            "{key_type:?} {bits} {} bytes: {result:?}",
            data.len()
        );
    };
    invalid(P_PAIR, 256, &P256_SCALAR[1..]);
    invalid(P_PAIR, 256, &[0u8; 32]);
    invalid(P_PAIR, 256, &[0xFF; 32]); // above the group order
    invalid(P_PAIR, 384, P256_SCALAR); // declared size and data disagree
    invalid(P_PAIR, 0, &[1u8; 40]);
    invalid(P_PUB, 256, &flip(P256_PUBLIC, 40)); // not on the curve
    invalid(P_PUB, 256, &P256_PUBLIC[..33]); // compressed-length
    let mut compressed = P256_PUBLIC[..33].to_vec();
    compressed[0] = 0x02 | (P256_PUBLIC[64] & 1);
    invalid(P_PUB, 0, &compressed);
    let mut wrong_tag = P256_PUBLIC.to_vec();
    wrong_tag[0] = 0x06;
    invalid(P_PUB, 256, &wrong_tag);
}

// ---------------------------------------------------------------- ECDH

#[test]
fn ecdh_two_generated_keys_agree() {
    let p = provider();
    let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
    for (bits, len) in [(256u32, 32usize), (384, 48)] {
        let a = generate(&p, attrs(P_PAIR, bits, ecdh));
        let b = generate(&p, attrs(P_PAIR, bits, ecdh));
        let a_pub = p.export_public_key(a.r()).unwrap();
        let b_pub = p.export_public_key(b.r()).unwrap();
        let ab = p
            .raw_key_agreement(a.r(), RawKeyAgreement::Ecdh, &b_pub)
            .unwrap();
        let ba = p
            .raw_key_agreement(b.r(), RawKeyAgreement::Ecdh, &a_pub)
            .unwrap();
        assert_eq!(ab.len(), len);
        assert_eq!(ab, ba);
        let c = generate(&p, attrs(P_PAIR, bits, ecdh));
        let c_pub = p.export_public_key(c.r()).unwrap();
        assert_ne!(
            p.raw_key_agreement(a.r(), RawKeyAgreement::Ecdh, &c_pub)
                .unwrap(),
            ab
        );
    }
}

#[test]
fn ecdh_matches_openssl_and_rejects_bad_peers() {
    let p = provider();
    let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
    let key = import(&p, attrs(P_PAIR, 256, ecdh), P256_SCALAR);
    assert_eq!(
        &p.raw_key_agreement(key.r(), RawKeyAgreement::Ecdh, P256_PEER)
            .unwrap()[..],
        P256_ECDH
    );
    for bad in [
        flip(P256_PEER, 30),
        P256_PEER[..33].to_vec(),
        P384_PUBLIC.to_vec(),
        vec![],
    ] {
        assert!(matches!(
            p.raw_key_agreement(key.r(), RawKeyAgreement::Ecdh, &bad),
            Err(ProviderError::InvalidArgument(_))
        ));
    }
    assert!(matches!(
        p.raw_key_agreement(key.r(), RawKeyAgreement::Ffdh, P256_PEER),
        Err(ProviderError::NotSupported(_))
    ));
    // A public key cannot take ECDH as its policy, nor act as the private side.
    assert!(matches!(
        p.import_key(&attrs(P_PUB, 256, ecdh), P256_PUBLIC),
        Err(ProviderError::NotSupported(_))
    ));
    let public = import(&p, attrs(P_PUB, 256, Algorithm::None), P256_PUBLIC);
    assert!(matches!(
        p.raw_key_agreement(public.r(), RawKeyAgreement::Ecdh, P256_PEER),
        Err(ProviderError::InvalidArgument(_))
    ));
}

// ---------------------------------------------------------------- RSA

fn rsa_any() -> Algorithm {
    Algorithm::AsymmetricSignature(AsymmetricSignature::RsaPss {
        hash_alg: SignHash::Any,
    })
}

#[test]
fn rsa_keys_import_and_export_in_pkcs1() {
    let p = provider();
    for declared in [2048, 0] {
        let pair = import(
            &p,
            attrs(KeyType::RsaKeyPair, declared, rsa_any()),
            RSA_PRIVATE,
        );
        assert_eq!(pair.attributes.bits, 2048);
        assert_eq!(&p.export_key(pair.r()).unwrap()[..], RSA_PRIVATE);
        assert_eq!(p.export_public_key(pair.r()).unwrap(), RSA_PUBLIC);
        let public = import(
            &p,
            attrs(KeyType::RsaPublicKey, declared, rsa_any()),
            RSA_PUBLIC,
        );
        assert_eq!(public.attributes.bits, 2048);
        assert_eq!(p.export_public_key(public.r()).unwrap(), RSA_PUBLIC);
    }
    let invalid = |key_type, bits, data: &[u8]| {
        let result = p.import_key(&attrs(key_type, bits, rsa_any()), data);
        assert!(
            matches!(result, Err(ProviderError::InvalidArgument(_))),
            "{result:?}"
        );
    };
    invalid(KeyType::RsaPublicKey, 2048, RSA_PUBLIC_SPKI);
    invalid(KeyType::RsaPublicKey, 3072, RSA_PUBLIC);
    invalid(KeyType::RsaKeyPair, 4096, RSA_PRIVATE);
    invalid(
        KeyType::RsaKeyPair,
        2048,
        &RSA_PRIVATE[..RSA_PRIVATE.len() - 1],
    );
    invalid(KeyType::RsaKeyPair, 2048, RSA_PUBLIC);
    invalid(KeyType::RsaPublicKey, 2048, b"garbage");
}

#[test]
fn rsa_pkcs1_signature_is_byte_identical_to_openssl() {
    // PKCS#1 v1.5 signatures are deterministic: the same key and message give OpenSSL's bytes.
    let p = provider();
    let pair = import(&p, attrs(KeyType::RsaKeyPair, 2048, rsa_any()), RSA_PRIVATE);
    assert_eq!(
        p.sign_message(pair.r(), pkcs1(Hash::Sha256), MSG).unwrap(),
        RSA_OPENSSL_SIG
    );
    let public = import(
        &p,
        attrs(KeyType::RsaPublicKey, 2048, rsa_any()),
        RSA_PUBLIC,
    );
    p.verify_message(public.r(), pkcs1(Hash::Sha256), MSG, RSA_OPENSSL_SIG)
        .unwrap();
    assert_eq!(
        p.verify_message(
            public.r(),
            pkcs1(Hash::Sha256),
            MSG,
            &flip(RSA_OPENSSL_SIG, 100)
        ),
        Err(ProviderError::InvalidSignature)
    );
}

#[test]
fn rsa_sign_verify_every_scheme_and_hash_cross_checked() {
    use aws_lc_rs::signature as sig;
    let p = provider();
    let pair = import(&p, attrs(KeyType::RsaKeyPair, 2048, rsa_any()), RSA_PRIVATE);
    let exported = p.export_public_key(pair.r()).unwrap();
    let independent: [(AsymmetricSignature, &'static dyn sig::VerificationAlgorithm); 6] = [
        (pkcs1(Hash::Sha256), &sig::RSA_PKCS1_2048_8192_SHA256),
        (pkcs1(Hash::Sha384), &sig::RSA_PKCS1_2048_8192_SHA384),
        (pkcs1(Hash::Sha512), &sig::RSA_PKCS1_2048_8192_SHA512),
        (pss(Hash::Sha256), &sig::RSA_PSS_2048_8192_SHA256),
        (pss(Hash::Sha384), &sig::RSA_PSS_2048_8192_SHA384),
        (pss(Hash::Sha512), &sig::RSA_PSS_2048_8192_SHA512),
    ];
    for (alg, verification) in independent {
        let hash = sha(alg.hash().unwrap(), MSG);
        let s = p.sign_hash(pair.r(), alg, &hash).unwrap();
        assert_eq!(s.len(), 256);
        p.verify_hash(pair.r(), alg, &hash, &s).unwrap();
        sig::UnparsedPublicKey::new(verification, &exported)
            .verify(MSG, &s)
            .unwrap();
        let m = p.sign_message(pair.r(), alg, MSG).unwrap();
        p.verify_message(pair.r(), alg, MSG, &m).unwrap();
        sig::UnparsedPublicKey::new(verification, &exported)
            .verify(MSG, &m)
            .unwrap();
        assert_eq!(
            p.verify_hash(pair.r(), alg, &hash, &flip(&s, 0)),
            Err(ProviderError::InvalidSignature)
        );
        assert_eq!(
            p.verify_message(pair.r(), alg, b"tampered", &m),
            Err(ProviderError::InvalidSignature)
        );
    }
    // PKCS#1 and PSS signatures are not interchangeable.
    let s = p.sign_message(pair.r(), pss(Hash::Sha256), MSG).unwrap();
    assert_eq!(
        p.verify_message(pair.r(), pkcs1(Hash::Sha256), MSG, &s),
        Err(ProviderError::InvalidSignature)
    );
}

#[test]
fn rsa_generated_2048_key_works() {
    let p = provider();
    let pair = generate(&p, attrs(KeyType::RsaKeyPair, 2048, rsa_any()));
    let der = p.export_key(pair.r()).unwrap();
    // The export is PKCS#1 and imports back (as a new key) to the same public key.
    let again = import(&p, attrs(KeyType::RsaKeyPair, 0, rsa_any()), &der);
    assert_eq!(again.attributes.bits, 2048);
    let public = p.export_public_key(pair.r()).unwrap();
    assert_eq!(p.export_public_key(again.r()).unwrap(), public);
    let s = p.sign_message(pair.r(), pss(Hash::Sha384), MSG).unwrap();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA384,
        &public,
    )
    .verify(MSG, &s)
    .unwrap();
}

#[test]
fn rsa_generated_3072_and_4096_keys_work() {
    let p = provider();
    for bits in [3072u32, 4096] {
        let pair = generate(&p, attrs(KeyType::RsaKeyPair, bits, rsa_any()));
        let s = p.sign_message(pair.r(), pkcs1(Hash::Sha512), MSG).unwrap();
        assert_eq!(s.len() * 8, bits as usize);
        p.verify_message(pair.r(), pkcs1(Hash::Sha512), MSG, &s)
            .unwrap();
    }
}

#[test]
fn rsa_encrypt_decrypt_round_trips() {
    let p = provider();
    let pair = import(
        &p,
        attrs(KeyType::RsaKeyPair, 2048, Algorithm::None),
        RSA_PRIVATE,
    );
    let public = import(
        &p,
        attrs(KeyType::RsaPublicKey, 2048, Algorithm::None),
        RSA_PUBLIC,
    );
    let oaep = |h| AsymmetricEncryption::RsaOaep { hash_alg: h };
    let cases: [(AsymmetricEncryption, Option<&[u8]>); 6] = [
        (AsymmetricEncryption::RsaPkcs1v15Crypt, None),
        (oaep(Hash::Sha256), None),
        (oaep(Hash::Sha256), Some(b"label")),
        (oaep(Hash::Sha1), None),
        (oaep(Hash::Sha384), None),
        (oaep(Hash::Sha512), Some(b"another label")),
    ];
    for (alg, label) in cases {
        for encryptor in [&public, &pair] {
            let ct = p
                .asymmetric_encrypt(encryptor.r(), alg, b"attack at dawn", label)
                .unwrap();
            assert_eq!(ct.len(), 256);
            let pt = p.asymmetric_decrypt(pair.r(), alg, &ct, label).unwrap();
            assert_eq!(&pt[..], b"attack at dawn", "{alg:?}");
            // Randomized padding: two encryptions differ.
            assert_ne!(
                ct,
                p.asymmetric_encrypt(encryptor.r(), alg, b"attack at dawn", label)
                    .unwrap()
            );
            assert_eq!(
                p.asymmetric_decrypt(pair.r(), alg, &flip(&ct, 17), label),
                Err(ProviderError::InvalidPadding),
                "{alg:?}"
            );
        }
    }
    let ct = p
        .asymmetric_encrypt(public.r(), oaep(Hash::Sha256), b"x", Some(b"label"))
        .unwrap();
    assert_eq!(
        p.asymmetric_decrypt(pair.r(), oaep(Hash::Sha256), &ct, Some(b"other")),
        Err(ProviderError::InvalidPadding)
    );
    assert_eq!(
        p.asymmetric_decrypt(pair.r(), oaep(Hash::Sha384), &ct, Some(b"label")),
        Err(ProviderError::InvalidPadding)
    );
    let invalid =
        |r: Result<_, ProviderError>| assert!(matches!(r, Err(ProviderError::InvalidArgument(_))));
    invalid(
        p.asymmetric_encrypt(public.r(), oaep(Hash::Sha256), &[0; 200], None)
            .map(|_| ()),
    );
    invalid(
        p.asymmetric_encrypt(
            public.r(),
            AsymmetricEncryption::RsaPkcs1v15Crypt,
            b"x",
            Some(b"salt"),
        )
        .map(|_| ()),
    );
    invalid(
        p.asymmetric_decrypt(public.r(), oaep(Hash::Sha256), &ct, None)
            .map(|_| ()),
    );
    invalid(
        p.asymmetric_decrypt(pair.r(), oaep(Hash::Sha256), &ct[1..], None)
            .map(|_| ()),
    );
    let ec = generate(&p, attrs(P_PAIR, 256, Algorithm::None));
    invalid(
        p.asymmetric_encrypt(ec.r(), oaep(Hash::Sha256), b"x", None)
            .map(|_| ()),
    );
}

// ---------------------------------------------------------------- AEAD

fn gcm() -> Aead {
    Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm)
}
fn chacha() -> Aead {
    Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Chacha20Poly1305)
}

#[test]
fn aead_round_trips_and_rejects_tampering() {
    let p = provider();
    let keys = [
        generate(&p, attrs(KeyType::Aes, 128, Algorithm::Aead(gcm()))),
        generate(&p, attrs(KeyType::Aes, 192, Algorithm::Aead(gcm()))),
        generate(&p, attrs(KeyType::Aes, 256, Algorithm::Aead(gcm()))),
        generate(&p, attrs(KeyType::Chacha20, 256, Algorithm::Aead(chacha()))),
    ];
    let nonce = [7u8; 12];
    for key in &keys {
        let Algorithm::Aead(alg) = key.attributes.policy.permitted_algorithms else {
            unreachable!()
        };
        for plaintext in [&b""[..], b"hello", &[0xAB; 1000]] {
            let ct = p
                .aead_encrypt(key.r(), alg, &nonce, b"header", plaintext)
                .unwrap();
            assert_eq!(ct.len(), plaintext.len() + 16);
            assert_eq!(
                &p.aead_decrypt(key.r(), alg, &nonce, b"header", &ct)
                    .unwrap()[..],
                plaintext
            );
            let last = ct.len() - 1;
            for bad in [
                p.aead_decrypt(key.r(), alg, &nonce, b"header", &flip(&ct, last)),
                p.aead_decrypt(key.r(), alg, &nonce, b"other header", &ct),
                p.aead_decrypt(key.r(), alg, &[8u8; 12], b"header", &ct),
            ] {
                assert_eq!(bad, Err(ProviderError::InvalidSignature));
            }
            if !plaintext.is_empty() {
                assert_eq!(
                    p.aead_decrypt(key.r(), alg, &nonce, b"header", &flip(&ct, 0)),
                    Err(ProviderError::InvalidSignature)
                );
            }
        }
    }
    let aes = &keys[0];
    let shortened = Aead::AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag::Gcm,
        tag_length: 8,
    };
    assert!(matches!(
        p.aead_encrypt(aes.r(), shortened, &nonce, b"", b"x"),
        Err(ProviderError::NotSupported(_))
    ));
    // A "shortened" tag of the full length is the default algorithm.
    let full = Aead::AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag::Gcm,
        tag_length: 16,
    };
    let ct = p.aead_encrypt(aes.r(), full, &nonce, b"", b"x").unwrap();
    assert_eq!(
        &p.aead_decrypt(aes.r(), gcm(), &nonce, b"", &ct).unwrap()[..],
        b"x"
    );
    // Closed gap (issue 8): other GCM nonce lengths work (RustCrypto aes-gcm); those outside
    // 7..=16 bytes stay unsupported, and an empty nonce is invalid.
    let ct8 = p.aead_encrypt(aes.r(), gcm(), &[0; 8], b"", b"x").unwrap();
    assert_eq!(
        &p.aead_decrypt(aes.r(), gcm(), &[0; 8], b"", &ct8).unwrap()[..],
        b"x"
    );
    assert!(matches!(
        p.aead_encrypt(aes.r(), gcm(), &[0; 4], b"", b"x"),
        Err(ProviderError::NotSupported(_))
    ));
    assert!(matches!(
        p.aead_encrypt(aes.r(), gcm(), &[], b"", b"x"),
        Err(ProviderError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.aead_encrypt(keys[3].r(), chacha(), &[0; 8], b"", b"x"),
        Err(ProviderError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.aead_encrypt(aes.r(), chacha(), &nonce, b"", b"x"),
        Err(ProviderError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.aead_decrypt(aes.r(), gcm(), &nonce, b"", &[0; 15]),
        Err(ProviderError::InvalidArgument(_))
    ));
    // Closed gap (issue 8): AES-CCM (RustCrypto ccm), 1 byte + 16-byte tag.
    let ccm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Ccm);
    let ct = p.aead_encrypt(aes.r(), ccm, &nonce, b"", b"x").unwrap();
    assert_eq!(ct.len(), 17);
    assert_eq!(
        &p.aead_decrypt(aes.r(), ccm, &nonce, b"", &ct).unwrap()[..],
        b"x"
    );
}

#[test]
fn aes_gcm_known_answer() {
    // GCM specification (McGrew & Viega), test case 2: K = 0^128, IV = 0^96, P = 0^128.
    let p = provider();
    let key = import(
        &p,
        attrs(KeyType::Aes, 128, Algorithm::Aead(gcm())),
        &[0u8; 16],
    );
    let ct = p
        .aead_encrypt(key.r(), gcm(), &[0u8; 12], b"", &[0u8; 16])
        .unwrap();
    assert_eq!(
        ct,
        hex("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf")
    );
}

// ---------------------------------------------------------------- Cipher

#[test]
fn cipher_modes_round_trip_with_a_random_iv_prefix() {
    let p = provider();
    let modes = [
        (Cipher::Ctr, 16usize),
        (Cipher::Cfb, 16),
        (Cipher::Ofb, 16),
        (Cipher::CbcNoPadding, 16),
        (Cipher::CbcPkcs7, 16),
        (Cipher::EcbNoPadding, 0),
    ];
    for bits in [128, 192, 256] {
        for (mode, iv_len) in modes {
            let key = generate(&p, attrs(KeyType::Aes, bits, Algorithm::Cipher(mode)));
            let plaintext = [0x42u8; 48];
            let ct = p.cipher_encrypt(key.r(), mode, &plaintext).unwrap();
            let padding = if mode == Cipher::CbcPkcs7 { 16 } else { 0 };
            assert_eq!(ct.len(), iv_len + plaintext.len() + padding, "{mode:?}");
            assert_eq!(
                &p.cipher_decrypt(key.r(), mode, &ct).unwrap()[..],
                &plaintext[..],
                "{mode:?}"
            );
            if iv_len > 0 {
                let again = p.cipher_encrypt(key.r(), mode, &plaintext).unwrap();
                assert_ne!(ct[..16], again[..16], "{mode:?}: IVs must be random");
            }
        }
        let key = generate(
            &p,
            attrs(KeyType::Aes, bits, Algorithm::Cipher(Cipher::CbcPkcs7)),
        );
        let ct = p
            .cipher_encrypt(key.r(), Cipher::CbcPkcs7, b"odd length")
            .unwrap();
        assert_eq!(ct.len(), 32);
        assert_eq!(
            &p.cipher_decrypt(key.r(), Cipher::CbcPkcs7, &ct).unwrap()[..],
            b"odd length"
        );
        let ctr = p
            .cipher_encrypt(key.r(), Cipher::Ctr, b"odd length")
            .unwrap();
        assert_eq!(ctr.len(), 16 + 10);
    }
}

#[test]
fn cipher_errors_and_known_answer() {
    let p = provider();
    // FIPS-197 appendix C.1.
    let key = import(
        &p,
        attrs(KeyType::Aes, 128, Algorithm::Cipher(Cipher::EcbNoPadding)),
        &hex("000102030405060708090a0b0c0d0e0f"),
    );
    let pt = hex("00112233445566778899aabbccddeeff");
    let ct = p
        .cipher_encrypt(key.r(), Cipher::EcbNoPadding, &pt)
        .unwrap();
    assert_eq!(ct, hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
    assert_eq!(
        &p.cipher_decrypt(key.r(), Cipher::EcbNoPadding, &ct)
            .unwrap()[..],
        &pt[..]
    );

    let invalid = |r: Result<(), ProviderError>| {
        assert!(matches!(r, Err(ProviderError::InvalidArgument(_))), "{r:?}")
    };
    invalid(
        p.cipher_encrypt(key.r(), Cipher::CbcNoPadding, &[0; 15])
            .map(|_| ()),
    );
    invalid(
        p.cipher_encrypt(key.r(), Cipher::EcbNoPadding, &[0; 17])
            .map(|_| ()),
    );
    invalid(p.cipher_decrypt(key.r(), Cipher::Ctr, &[0; 10]).map(|_| ()));
    invalid(
        p.cipher_decrypt(key.r(), Cipher::CbcPkcs7, &[0; 16])
            .map(|_| ()),
    );
    invalid(
        p.cipher_decrypt(key.r(), Cipher::CbcPkcs7, &[0; 40])
            .map(|_| ()),
    );
    // A block of zeros ends in a 0x00 "padding" byte, which PKCS#7 never produces.
    let zeros = p
        .cipher_encrypt(key.r(), Cipher::CbcNoPadding, &[0; 16])
        .unwrap();
    assert_eq!(
        p.cipher_decrypt(key.r(), Cipher::CbcPkcs7, &zeros),
        Err(ProviderError::InvalidPadding)
    );
    assert!(matches!(
        p.cipher_encrypt(key.r(), Cipher::Xts, &[0; 32]),
        Err(ProviderError::NotSupported(_))
    ));
    let hmac = generate(&p, attrs(KeyType::Hmac, 256, Algorithm::None));
    invalid(p.cipher_encrypt(hmac.r(), Cipher::Ctr, b"x").map(|_| ()));
}

// ---------------------------------------------------------------- MAC

fn hmac(h: Hash) -> FullLengthMac {
    FullLengthMac::Hmac { hash_alg: h }
}

#[test]
fn hmac_known_answer_verify_and_truncation() {
    // RFC 4231 test case 1.
    let p = provider();
    let alg = Mac::FullLength(hmac(Hash::Sha256));
    let key = import(
        &p,
        attrs(KeyType::Hmac, 0, Algorithm::Mac(alg)),
        &[0x0b; 20],
    );
    assert_eq!(key.attributes.bits, 160);
    let expected = hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    assert_eq!(p.mac_compute(key.r(), alg, b"Hi There").unwrap(), expected);
    p.mac_verify(key.r(), alg, b"Hi There", &expected).unwrap();
    assert_eq!(
        p.mac_verify(key.r(), alg, b"Hi There", &flip(&expected, 31)),
        Err(ProviderError::InvalidSignature)
    );
    assert_eq!(
        p.mac_verify(key.r(), alg, b"Hi there", &expected),
        Err(ProviderError::InvalidSignature)
    );
    assert_eq!(
        p.mac_verify(key.r(), alg, b"Hi There", &expected[..31]),
        Err(ProviderError::InvalidSignature)
    );

    let truncated = Mac::Truncated {
        mac_alg: hmac(Hash::Sha256),
        mac_length: 16,
    };
    assert_eq!(
        p.mac_compute(key.r(), truncated, b"Hi There").unwrap(),
        expected[..16]
    );
    p.mac_verify(key.r(), truncated, b"Hi There", &expected[..16])
        .unwrap();
    assert_eq!(
        p.mac_verify(key.r(), truncated, b"Hi There", &expected),
        Err(ProviderError::InvalidSignature)
    );
    for len in [0, 3, 33] {
        let bad = Mac::Truncated {
            mac_alg: hmac(Hash::Sha256),
            mac_length: len,
        };
        assert!(matches!(
            p.mac_compute(key.r(), bad, b"x"),
            Err(ProviderError::InvalidArgument(_))
        ));
    }
}

#[test]
fn hmac_every_hash_and_cmac() {
    let p = provider();
    for (h, len) in [
        (Hash::Sha256, 32usize),
        (Hash::Sha384, 48),
        (Hash::Sha512, 64),
    ] {
        let alg = Mac::FullLength(hmac(h));
        let key = generate(&p, attrs(KeyType::Hmac, 256, Algorithm::Mac(alg)));
        let mac = p.mac_compute(key.r(), alg, MSG).unwrap();
        assert_eq!(mac.len(), len);
        p.mac_verify(key.r(), alg, MSG, &mac).unwrap();
        assert_eq!(
            p.mac_verify(key.r(), alg, b"x", &mac),
            Err(ProviderError::InvalidSignature)
        );
    }
    // RFC 4493 example 2.
    let cmac = Mac::FullLength(FullLengthMac::Cmac);
    let key = import(
        &p,
        attrs(KeyType::Aes, 128, Algorithm::Mac(cmac)),
        &hex("2b7e151628aed2a6abf7158809cf4f3c"),
    );
    let input = hex("6bc1bee22e409f96e93d7e117393172a");
    let expected = hex("070a16b46b4d4144f79bdd9dd04a287c");
    assert_eq!(p.mac_compute(key.r(), cmac, &input).unwrap(), expected);
    p.mac_verify(key.r(), cmac, &input, &expected).unwrap();
    assert_eq!(
        p.mac_verify(key.r(), cmac, &input, &flip(&expected, 3)),
        Err(ProviderError::InvalidSignature)
    );
    // HMAC with an AES key, CMAC with an HMAC key: wrong key types.
    assert!(matches!(
        p.mac_compute(key.r(), Mac::FullLength(hmac(Hash::Sha256)), b"x"),
        Err(ProviderError::InvalidArgument(_))
    ));
    let hkey = generate(&p, attrs(KeyType::Hmac, 256, Algorithm::None));
    assert!(matches!(
        p.mac_compute(hkey.r(), cmac, b"x"),
        Err(ProviderError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.mac_compute(hkey.r(), Mac::FullLength(hmac(Hash::Sha1)), b"x"),
        Err(ProviderError::NotSupported(_))
    ));
}

// ---------------------------------------------------------------- Hash, random

#[test]
fn hash_compute_and_compare() {
    let p = provider();
    let abc = p.hash_compute(Hash::Sha256, b"abc").unwrap();
    assert_eq!(
        abc,
        hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    for (h, len) in [
        (Hash::Sha224, 28usize),
        (Hash::Sha384, 48),
        (Hash::Sha512, 64),
        (Hash::Sha3_256, 32),
    ] {
        assert_eq!(p.hash_compute(h, b"abc").unwrap().len(), len);
    }
    p.hash_compare(Hash::Sha256, b"abc", &abc).unwrap();
    assert_eq!(
        p.hash_compare(Hash::Sha256, b"abd", &abc),
        Err(ProviderError::InvalidSignature)
    );
    assert_eq!(
        p.hash_compare(Hash::Sha256, b"abc", &flip(&abc, 31)),
        Err(ProviderError::InvalidSignature)
    );
    assert_eq!(
        p.hash_compare(Hash::Sha256, b"abc", &abc[..31]),
        Err(ProviderError::InvalidSignature)
    );
    assert_eq!(
        p.hash_compare(Hash::Sha384, b"abc", &abc),
        Err(ProviderError::InvalidSignature)
    );
    assert!(matches!(
        p.hash_compute(Hash::Md5, b"abc"),
        Err(ProviderError::NotSupported(_))
    ));
}

#[test]
fn random_bytes() {
    let p = provider();
    let a = p.generate_random(32).unwrap();
    let b = p.generate_random(32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert!(p.generate_random(0).unwrap().is_empty());
    assert!(matches!(
        p.generate_random(usize::MAX),
        Err(ProviderError::InvalidArgument(_))
    ));
}

// ---------------------------------------------------------------- Handles and the cache

#[test]
fn tampered_handles_and_changed_attributes_are_corruption() {
    let p = provider();
    let key = generate(&p, attrs(P_PAIR, 256, ecdsa_any_hash()));
    let hash = sha(Hash::Sha256, MSG);
    // Cache the key first: the cache must not let a changed record through.
    p.sign_hash(key.r(), ecdsa(Hash::Sha256), &hash).unwrap();
    for i in [0, 5, key.handle.0.len() / 2, key.handle.0.len() - 1] {
        let bad = flip(&key.handle.0, i);
        let r = KeyRef {
            handle: &bad,
            attributes: &key.attributes,
        };
        assert_eq!(
            p.sign_hash(r, ecdsa(Hash::Sha256), &hash),
            Err(ProviderError::CorruptionDetected),
            "byte {i}"
        );
        assert_eq!(p.export_key(r), Err(ProviderError::CorruptionDetected));
    }
    // The key store's record altered: narrower policy, wider flags, other size.
    let mut altered = key.attributes;
    altered.policy.permitted_algorithms = Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256));
    let mut no_export = key.attributes;
    no_export.policy.usage_flags.export = false;
    let mut bigger = key.attributes;
    bigger.bits = 384;
    for other in [altered, no_export, bigger] {
        let r = KeyRef {
            handle: &key.handle.0,
            attributes: &other,
        };
        assert_eq!(
            p.sign_hash(r, ecdsa(Hash::Sha256), &hash),
            Err(ProviderError::CorruptionDetected)
        );
        assert_eq!(
            p.export_public_key(r),
            Err(ProviderError::CorruptionDetected)
        );
        assert_eq!(p.export_key(r), Err(ProviderError::CorruptionDetected));
    }
    // The original record still works.
    p.sign_hash(key.r(), ecdsa(Hash::Sha256), &hash).unwrap();
}

#[test]
fn handles_survive_a_restart_with_the_same_master_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    let first = SoftwareProvider::new(
        &MasterKey::load_or_create(&path).unwrap(),
        SoftwareConfig::default(),
    )
    .unwrap();
    let key = generate(&first, attrs(P_PAIR, 256, ecdsa_any_hash()));
    let sig = first
        .sign_message(key.r(), ecdsa(Hash::Sha256), MSG)
        .unwrap();
    drop(first);
    let second = SoftwareProvider::new(
        &MasterKey::load_or_create(&path).unwrap(),
        SoftwareConfig::default(),
    )
    .unwrap();
    second
        .verify_message(key.r(), ecdsa(Hash::Sha256), MSG, &sig)
        .unwrap();
    let other = provider();
    assert_eq!(
        other.export_key(key.r()),
        Err(ProviderError::CorruptionDetected)
    );
}

#[test]
fn the_cache_spares_repeated_decryption() {
    let p = provider();
    let key = generate(&p, attrs(P_PAIR, 256, ecdsa_any_hash()));
    let hash = sha(Hash::Sha256, MSG);
    let before = p.cache_stats();
    p.sign_hash(key.r(), ecdsa(Hash::Sha256), &hash).unwrap();
    let after_first = p.cache_stats();
    assert_eq!(after_first.handle_opens, before.handle_opens + 1);
    for _ in 0..5 {
        p.sign_hash(key.r(), ecdsa(Hash::Sha256), &hash).unwrap();
    }
    let after = p.cache_stats();
    assert_eq!(
        after.handle_opens, after_first.handle_opens,
        "no decryption after the first sign"
    );
    assert_eq!(after.hits, after_first.hits + 5);

    // destroy_key evicts: the next use opens the handle again.
    p.destroy_key(key.r()).unwrap();
    assert_eq!(p.cache_stats().entries, 0);
    p.sign_hash(key.r(), ecdsa(Hash::Sha256), &hash).unwrap();
    assert_eq!(p.cache_stats().handle_opens, after.handle_opens + 1);

    // With the cache off every operation decrypts.
    let uncached = SoftwareProvider::new(
        &MasterKey::generate().unwrap(),
        SoftwareConfig {
            cache_capacity: 0,
            ..SoftwareConfig::default()
        },
    )
    .unwrap();
    let key = generate(&uncached, attrs(P_PAIR, 256, ecdsa_any_hash()));
    for _ in 0..3 {
        uncached
            .sign_hash(key.r(), ecdsa(Hash::Sha256), &hash)
            .unwrap();
    }
    assert_eq!(uncached.cache_stats().handle_opens, 3);
}

// ---------------------------------------------------------------- Key management refusals

#[test]
fn key_creation_refusals() {
    let p = provider();
    let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256));
    let expect = |r: Result<KeyHandle, ProviderError>, invalid: bool| match r {
        Err(ProviderError::InvalidArgument(_)) if invalid => {}
        Err(ProviderError::NotSupported(_)) if !invalid => {}
        other => panic!("unexpected {other:?}"),
    };
    expect(p.generate_key(&attrs(P_PUB, 256, ecdsa256)), true);
    expect(
        p.generate_key(&attrs(KeyType::RsaPublicKey, 2048, Algorithm::None)),
        true,
    );
    expect(
        p.generate_key(&attrs(KeyType::Aes, 100, Algorithm::None)),
        true,
    );
    expect(p.generate_key(&attrs(KeyType::Aes, 128, ecdsa256)), true);
    expect(p.generate_key(&attrs(P_PAIR, 0, ecdsa256)), false);
    expect(
        p.generate_key(&attrs(
            KeyType::EccKeyPair {
                curve_family: EccFamily::SecpK1,
            },
            256,
            ecdsa256,
        )),
        false,
    );
    expect(p.generate_key(&attrs(P_PAIR, 521, ecdsa256)), false);
    expect(
        p.generate_key(&attrs(KeyType::RsaKeyPair, 1024, Algorithm::None)),
        false,
    );
    expect(
        p.generate_key(&attrs(KeyType::Des, 64, Algorithm::None)),
        false,
    );
    assert_eq!(
        p.generate_key(&attrs(
            P_PAIR,
            256,
            Algorithm::AsymmetricSignature(AsymmetricSignature::DeterministicEcdsa {
                hash_alg: SignHash::Specific(Hash::Sha256),
            }),
        ))
        .map(|_| ())
        .map_err(|e| panic!("closed gap (issue 8): deterministic ECDSA keys: {e:?}"))
        .ok(),
        Some(()),
    );
    // Import: sizes known only from the data are checked too.
    let imported = p.import_key(&attrs(KeyType::Aes, 0, Algorithm::None), &[0; 20]);
    assert!(
        matches!(imported, Err(ProviderError::InvalidArgument(_))),
        "{imported:?}"
    );
    let aes = generate(&p, attrs(KeyType::Aes, 128, Algorithm::None));
    assert!(matches!(
        p.export_public_key(aes.r()),
        Err(ProviderError::InvalidArgument(_))
    ));
    assert_eq!(p.export_key(aes.r()).unwrap().len(), 16);
    let raw = import(
        &p,
        attrs(KeyType::RawData, 0, Algorithm::None),
        b"any bytes at all",
    );
    assert_eq!(raw.attributes.bits, 128);
    assert_eq!(&p.export_key(raw.r()).unwrap()[..], b"any bytes at all");
    assert!(p.persistent_handles().unwrap().is_empty());
}

// ---------------------------------------------------------------- Provider trait

#[test]
fn provider_identity_families_and_can_do() {
    let p = provider();
    assert_eq!(p.id(), keyward_protocol::ProviderId::Software);
    let info = p.info();
    assert_eq!((info.id, info.uuid.as_str()), (1, SOFTWARE_PROVIDER_UUID));
    let opcodes = p.opcodes();
    // The software provider serves every opcode of its families natively.
    assert_eq!(opcodes, p.families().opcodes());
    for op in [
        Opcode::PsaGenerateKey,
        Opcode::PsaDestroyKey,
        Opcode::PsaSignHash,
        Opcode::PsaVerifyMessage,
        Opcode::PsaImportKey,
        Opcode::PsaExportPublicKey,
        Opcode::PsaExportKey,
        Opcode::PsaAsymmetricEncrypt,
        Opcode::PsaGenerateRandom,
        Opcode::PsaHashCompare,
        Opcode::PsaAeadDecrypt,
        Opcode::PsaRawKeyAgreement,
        Opcode::PsaCipherEncrypt,
        Opcode::PsaMacVerify,
        Opcode::CanDoCrypto,
    ] {
        assert!(opcodes.contains(&op), "{op:?}");
    }
    assert!(!opcodes.iter().any(|op| op.is_core()));
    let mut sorted = opcodes.clone();
    sorted.sort();
    assert_eq!(sorted, opcodes);

    let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256));
    assert!(p.can_do(CheckType::Generate, &attrs(P_PAIR, 256, ecdsa256)));
    assert!(p.can_do(CheckType::Use, &attrs(KeyType::RsaKeyPair, 3072, rsa_any())));
    assert!(!p.can_do(CheckType::Generate, &attrs(P_PAIR, 521, ecdsa256)));
    assert!(!p.can_do(CheckType::Use, &attrs(KeyType::Aes, 128, ecdsa256)));
    assert!(!p.can_do(CheckType::Derive, &attrs(P_PAIR, 256, ecdsa256)));
}

#[test]
fn provider_declares_how_it_runs() {
    let p = provider();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert_eq!(p.max_blocking_in_flight(), cpus);
    let ecdsa256 = Algorithm::AsymmetricSignature(ecdsa(Hash::Sha256));
    assert_eq!(
        p.execution(Opcode::PsaSignHash, Some(&attrs(P_PAIR, 256, ecdsa256))),
        keyward_providers::Execution::Inline
    );
    assert_eq!(
        p.execution(
            Opcode::PsaSignHash,
            Some(&attrs(KeyType::RsaKeyPair, 2048, rsa_any()))
        ),
        keyward_providers::Execution::Blocking
    );
}

/// RSA keys below 2048 bits work only while `min_rsa_bits` allows them: a provider with the
/// default refuses to use one created under a lowered setting (same master key), but exports it.
#[test]
fn small_rsa_keys_follow_min_rsa_bits() {
    let master = MasterKey::generate().unwrap();
    let lowered = SoftwareProvider::new(
        &master,
        SoftwareConfig {
            min_rsa_bits: 1024,
            ..SoftwareConfig::default()
        },
    )
    .unwrap();
    let alg = pkcs1(Hash::Sha256);
    let key = generate(
        &lowered,
        attrs(
            KeyType::RsaKeyPair,
            1024,
            Algorithm::AsymmetricSignature(alg),
        ),
    );
    let signature = lowered.sign_hash(key.r(), alg, &[1; 32]).unwrap();
    assert_eq!(signature.len(), 128);
    lowered
        .verify_hash(key.r(), alg, &[1; 32], &signature)
        .unwrap();
    let default = SoftwareProvider::new(&master, SoftwareConfig::default()).unwrap();
    assert!(matches!(
        default.sign_hash(key.r(), alg, &[1; 32]),
        Err(ProviderError::NotSupported(_))
    ));
    assert!(matches!(
        default.verify_hash(key.r(), alg, &[1; 32], &signature),
        Err(ProviderError::NotSupported(_))
    ));
    assert!(!default.export_key(key.r()).unwrap().is_empty());
    assert!(matches!(
        SoftwareProvider::new(
            &master,
            SoftwareConfig {
                min_rsa_bits: 512,
                ..SoftwareConfig::default()
            },
        ),
        Err(ProviderError::InvalidArgument(_))
    ));
}
