//! Certificate tests: the profiles checked with an independent parser (x509-parser) and an
//! independent ECDSA (p256), known answers for fixed keys, and one negative case per refusal.

use super::*;
use crate::key::InMemoryKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::EncodePublicKey;
use x509_parser::extensions::ParsedExtension;

/// 2026-01-01T00:00:00Z.
const NOW_SECS: u64 = 1_767_225_600;
/// Scalar 0x0102…20 (a fixed test key); its public point, SKI and kid were computed with
/// Python's `cryptography` (OpenSSL), independently of this crate.
const ROOT_SCALAR: [u8; 32] = {
    let mut s = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        s[i] = i as u8 + 1;
        i += 1;
    }
    s
};
const ROOT_POINT_HEX: &str = "04515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354";
const ROOT_SKI_HEX: &str = "bba73cbe892e7b39df5c59be4a63870638a240b8";
const ROOT_KID: &str = "8dWUSbcnFl3nMr8oMzgSK5";

/// A predicate on the expected refusal (table tests).
type Check = fn(&CertError) -> bool;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A root key held by an independent implementation (RustCrypto p256), the way keywardd holds
/// the real one: we only see its public key and raw signatures over digests.
struct P256Signer(p256::ecdsa::SigningKey);

#[derive(Debug, thiserror::Error)]
#[error("p256 signing failed")]
struct P256Error;

impl P256Signer {
    fn fixed() -> Self {
        P256Signer(p256::ecdsa::SigningKey::from_slice(&ROOT_SCALAR).expect("scalar"))
    }
}

impl CertSigner for P256Signer {
    type Error = P256Error;
    fn public_key_spki(&self) -> Vec<u8> {
        p256::PublicKey::from(self.0.verifying_key())
            .to_public_key_der()
            .expect("spki")
            .as_bytes()
            .to_vec()
    }
    fn sign_sha256_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, P256Error> {
        let signature: p256::ecdsa::Signature =
            self.0.sign_prehash(digest).map_err(|_| P256Error)?;
        Ok(signature.to_bytes().to_vec())
    }
}

/// A signer that always fails or lies, for the signer-error paths.
struct BrokenSigner {
    spki: Vec<u8>,
    answer: Option<Vec<u8>>,
}

impl CertSigner for BrokenSigner {
    type Error = P256Error;
    fn public_key_spki(&self) -> Vec<u8> {
        self.spki.clone()
    }
    fn sign_sha256_digest(&self, _digest: &[u8; 32]) -> Result<Vec<u8>, P256Error> {
        self.answer.clone().ok_or(P256Error)
    }
}

fn idp() -> ComponentName {
    ComponentName::new("keyward-idp").expect("name")
}

fn root() -> (P256Signer, RootCertificate) {
    let signer = P256Signer::fixed();
    let der = build_root(&idp(), &signer, now()).expect("root");
    let root = RootCertificate::from_der(&der, &CertPolicy::default()).expect("root parses");
    (signer, root)
}

fn intermediate(root: &RootCertificate, signer: &P256Signer) -> SigningIntermediate {
    issue_intermediate(&idp(), root, signer, Duration::from_secs(900), now()).expect("intermediate")
}

fn verify(der: &[u8], root: &RootCertificate) -> Result<VerifiedIntermediate, CertError> {
    verify_intermediate(der, root, now(), &CertPolicy::default())
}

/// The TBS of a genuine intermediate for `root`, to mutate.
fn intermediate_tbs(root: &RootCertificate) -> TbsCertificate {
    PendingIntermediate::new(&idp(), root, Duration::from_secs(900), now())
        .expect("pending")
        .unsigned
        .tbs
}

/// Signs a TBS with `signer` without any of `assemble`'s checks, so tests can forge.
fn sign_tbs(tbs: TbsCertificate, signer: &impl CertSigner) -> Vec<u8> {
    let tbs_der = tbs.to_der().expect("tbs");
    let raw = signer
        .sign_sha256_digest(&sha256(&tbs_der))
        .map_err(|_| ())
        .expect("sign");
    Certificate {
        signature_algorithm: tbs.signature.clone(),
        tbs_certificate: tbs,
        signature: BitString::from_bytes(&ecdsa_raw_to_der(&raw).expect("der")).expect("bits"),
    }
    .to_der()
    .expect("cert")
}

fn ext<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Extension {
    extension(value, critical).expect("extension")
}

fn with_extensions(root: &RootCertificate, extensions: Vec<Extension>) -> TbsCertificate {
    let mut tbs = intermediate_tbs(root);
    tbs.extensions = Some(extensions);
    tbs
}

fn ca(path_len: Option<u8>) -> BasicConstraints {
    BasicConstraints {
        ca: true,
        path_len_constraint: path_len,
    }
}

fn usage(flags: KeyUsages) -> KeyUsage {
    KeyUsage(flags.into())
}

fn aki(id: &[u8]) -> AuthorityKeyIdentifier {
    AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(id.to_vec()).expect("octets")),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    }
}

fn p384_spki() -> SubjectPublicKeyInfoOwned {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
    )
    .expect("p384");
    use aws_lc_rs::signature::KeyPair;
    let der = pair.public_key().as_der().expect("der");
    SubjectPublicKeyInfoOwned::from_der(der.as_ref()).expect("spki")
}

fn subject_of(der: &[u8]) -> (Vec<String>, Vec<String>) {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("x509-parser");
    let strings = |it: &mut dyn Iterator<Item = &x509_parser::x509::AttributeTypeAndValue>| {
        it.map(|a| a.as_str().expect("utf8").to_owned())
            .collect::<Vec<_>>()
    };
    let subject = cert.subject();
    let names = (
        strings(&mut subject.iter_common_name()),
        strings(&mut subject.iter_organization()),
    );
    names
}

#[test]
fn the_fixed_test_key_is_the_known_answer_key() {
    let signer = P256Signer::fixed();
    let spki = signer.public_key_spki();
    assert_eq!(
        p256_spki_from_point(&unhex(ROOT_POINT_HEX)).expect("point"),
        spki
    );
    assert_eq!(Kid::of_spki(&spki).as_str(), ROOT_KID);
}

#[test]
fn root_certificate_has_the_documented_profile() {
    let signer = P256Signer::fixed();
    let der = build_root(&idp(), &signer, now()).expect("root");
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509-parser parses it");

    assert_eq!(cert.version(), x509_parser::x509::X509Version::V3);
    assert_eq!(
        subject_of(&der),
        (
            vec!["keyward-idp root".to_owned()],
            vec!["Keyward".to_owned()]
        )
    );
    assert_eq!(
        cert.issuer().as_raw(),
        cert.subject().as_raw(),
        "self-issued"
    );
    // O first in the DER sequence, so RFC 4514 text reads "CN=…,O=Keyward".
    let root = RootCertificate::from_der(&der, &CertPolicy::default()).expect("parses");
    assert_eq!(root.subject(), "CN=keyward-idp root,O=Keyward");

    assert_eq!(cert.validity().not_before.timestamp() as u64, NOW_SECS - 60);
    assert_eq!(
        cert.validity().not_after.timestamp() as u64,
        NOW_SECS + 3652 * 24 * 3600
    );
    let serial = cert.raw_serial();
    assert_eq!(serial.len(), 16, "random 16-byte serial");
    assert_eq!(serial[0] & 0x80, 0, "positive");
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.3.2"
    );
    assert!(cert.signature_algorithm.parameters.is_none());

    let extensions = cert.extensions();
    assert_eq!(
        extensions.len(),
        3,
        "SKI, basicConstraints, keyUsage and nothing else"
    );
    for extension in extensions {
        match extension.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => {
                assert!(!extension.critical);
                assert_eq!(
                    hex(id.0),
                    ROOT_SKI_HEX,
                    "SHA-1 of the public key (known answer)"
                );
            }
            ParsedExtension::BasicConstraints(bc) => {
                assert!(extension.critical);
                assert!(bc.ca);
                assert_eq!(bc.path_len_constraint, Some(0));
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(extension.critical);
                assert!(ku.key_cert_sign());
                assert_eq!(ku.flags.count_ones(), 1, "keyCertSign only: {ku}");
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }

    // The signature verifies with an independent ECDSA implementation over the raw TBS bytes.
    let signature =
        p256::ecdsa::DerSignature::try_from(cert.signature_value.data.as_ref()).expect("der sig");
    signer
        .0
        .verifying_key()
        .verify(cert.tbs_certificate.as_ref(), &signature)
        .expect("root signature verifies with p256");
}

#[test]
fn intermediate_certificate_has_the_documented_profile() {
    let (signer, root) = root();
    let rotation = Duration::from_secs(900);
    let issued = issue_intermediate(&idp(), &root, &signer, rotation, now()).expect("issue");
    let der = issued.certificate_der();
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("x509-parser parses it");

    assert_eq!(cert.version(), x509_parser::x509::X509Version::V3);
    let kid = issued.kid().as_str();
    assert_eq!(kid, Kid::of_spki(issued.key().public_key_spki()).as_str());
    assert_eq!(
        subject_of(der),
        (
            vec![format!("keyward-idp intermediate {kid}")],
            vec!["Keyward".to_owned()]
        )
    );
    let (_, root_cert) = x509_parser::parse_x509_certificate(root.der()).expect("root");
    assert_eq!(cert.issuer().as_raw(), root_cert.subject().as_raw());
    assert_eq!(cert.validity().not_before.timestamp() as u64, NOW_SECS - 60);
    assert_eq!(
        cert.validity().not_after.timestamp() as u64,
        NOW_SECS + 1800
    );
    assert_eq!(issued.not_after(), now() + 2 * rotation);
    assert_eq!(issued.not_before(), now() - BACKDATE);
    assert_eq!(cert.raw_serial().len(), 16);

    let own_point = cert.public_key().subject_public_key.data.as_ref().to_vec();
    let extensions = cert.extensions();
    assert_eq!(extensions.len(), 4, "SKI, AKI, basicConstraints, keyUsage");
    for extension in extensions {
        match extension.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => {
                assert!(!extension.critical);
                let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &own_point);
                assert_eq!(id.0, sha1.as_ref());
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                assert!(!extension.critical);
                let id = aki.key_identifier.as_ref().expect("key id");
                assert_eq!(hex(id.0), ROOT_SKI_HEX, "the root's subject key id");
                assert!(aki.authority_cert_issuer.is_none());
            }
            ParsedExtension::BasicConstraints(bc) => {
                assert!(extension.critical);
                assert!(bc.ca);
                assert_eq!(bc.path_len_constraint, Some(0));
            }
            ParsedExtension::KeyUsage(ku) => {
                assert!(extension.critical);
                assert!(ku.digital_signature());
                assert_eq!(ku.flags.count_ones(), 1, "digitalSignature only: {ku}");
            }
            other => panic!("unexpected extension {other:?}"),
        }
    }
    let signature =
        p256::ecdsa::DerSignature::try_from(cert.signature_value.data.as_ref()).expect("der sig");
    signer
        .0
        .verifying_key()
        .verify(cert.tbs_certificate.as_ref(), &signature)
        .expect("signed by the root key");

    let verified = verify(der, &root).expect("verifies");
    assert_eq!(verified.kid(), issued.kid());
    assert_eq!(verified.public_key_spki(), issued.key().public_key_spki());
    assert_eq!(verified.not_after(), issued.not_after());
    assert_eq!(verified.der(), der);
}

#[test]
fn serials_are_random() {
    let (signer, root) = root();
    let a = intermediate(&root, &signer);
    let b = intermediate(&root, &signer);
    let serial = |der: &[u8]| {
        x509_parser::parse_x509_certificate(der)
            .expect("parse")
            .1
            .raw_serial()
            .to_vec()
    };
    assert_ne!(serial(a.certificate_der()), serial(b.certificate_der()));
    assert_ne!(a.kid(), b.kid(), "every intermediate has a fresh key");
}

#[test]
fn an_in_memory_key_can_be_a_root_too() {
    // The orchestrator's tests (and a demo without keywardd) sign the root locally.
    let key = InMemoryKey::generate().expect("key");
    let der = build_root(
        &ComponentName::new("keyward-orchestrator").expect("n"),
        &key,
        now(),
    )
    .expect("root");
    let root = RootCertificate::from_der(&der, &CertPolicy::default()).expect("root");
    assert_eq!(root.public_key_spki(), key.public_key_spki());
    let issued = issue_intermediate(
        &ComponentName::new("keyward-orchestrator").expect("n"),
        &root,
        &key,
        Duration::from_secs(60),
        now(),
    )
    .expect("intermediate");
    verify(issued.certificate_der(), &root).expect("verifies");
}

#[test]
fn raw_signatures_convert_to_der_known_answers() {
    let mut one_one = [0u8; 64];
    one_one[31] = 1;
    one_one[63] = 1;
    let mut high = [0u8; 64];
    high[0] = 0x80;
    high[63] = 0x7f;
    let mut leading_zeros = [0u8; 64];
    leading_zeros[30] = 0x01;
    leading_zeros[31] = 0x02;
    leading_zeros[32] = 0xff;
    let cases: &[(&[u8], &str)] = &[
        (&one_one, "3006020101020101"),
        // r = 0x80 00…00 needs a 0x00 sign byte; s = 0x7f stays one byte.
        (
            &high,
            "3026022100800000000000000000000000000000000000000000000000000000000000000002017f",
        ),
        // Leading zeros are stripped; s = 0xff00…00 gets a sign byte.
        (
            &leading_zeros,
            "302702020102022100ff00000000000000000000000000000000000000000000000000000000000000",
        ),
    ];
    for (raw, expected) in cases {
        assert_eq!(hex(&ecdsa_raw_to_der(raw).expect("der")), *expected);
    }
    // Cross-check random signatures against p256's own conversion.
    let key = InMemoryKey::generate().expect("key");
    for i in 0..32u8 {
        let raw = key.sign(&[i]).expect("sign");
        let theirs = p256::ecdsa::Signature::from_slice(&raw)
            .expect("sig")
            .to_der();
        assert_eq!(ecdsa_raw_to_der(&raw).expect("der"), theirs.as_bytes());
    }
    assert!(matches!(
        ecdsa_raw_to_der(&[1u8; 63]),
        Err(BuildError::SignatureLength(63))
    ));
    assert!(matches!(
        ecdsa_raw_to_der(&[1u8; 72]),
        Err(BuildError::SignatureLength(72))
    ));
    let mut zero_r = [1u8; 64];
    zero_r[..32].fill(0);
    assert!(matches!(
        ecdsa_raw_to_der(&zero_r),
        Err(BuildError::SignatureDoesNotVerify)
    ));
}

#[test]
fn building_refuses_bad_signers_and_parameters() {
    let (signer, root) = root();
    let other = InMemoryKey::generate().expect("key");

    // The root template for one key, signed by another: caught before it becomes a certificate.
    let lying = BrokenSigner {
        spki: signer.public_key_spki(),
        answer: Some(other.sign_digest(&[7u8; 32]).expect("sig").to_vec()),
    };
    assert!(matches!(
        build_root(&idp(), &lying, now()),
        Err(BuildError::SignatureDoesNotVerify)
    ));
    let short = BrokenSigner {
        spki: signer.public_key_spki(),
        answer: Some(vec![1u8; 10]),
    };
    assert!(matches!(
        build_root(&idp(), &short, now()),
        Err(BuildError::SignatureLength(10))
    ));
    let failing = BrokenSigner {
        spki: signer.public_key_spki(),
        answer: None,
    };
    let err = build_root(&idp(), &failing, now()).expect_err("signer fails");
    assert!(matches!(err, BuildError::Signer(_)));
    assert!(std::error::Error::source(&err).is_some(), "keeps the cause");
    let not_a_key = BrokenSigner {
        spki: vec![0x30, 0x00],
        answer: None,
    };
    assert!(matches!(
        build_root(&idp(), &not_a_key, now()),
        Err(BuildError::SignerKey(CertError::UnsupportedKey))
    ));
    let p384 = BrokenSigner {
        spki: p384_spki().to_der().expect("der"),
        answer: None,
    };
    assert!(matches!(
        build_root(&idp(), &p384, now()),
        Err(BuildError::SignerKey(CertError::UnsupportedKey))
    ));

    // Intermediates: only the root's key may sign; sane rotation periods only.
    assert!(matches!(
        issue_intermediate(&idp(), &root, &other, Duration::from_secs(900), now()),
        Err(BuildError::SignerIsNotRoot)
    ));
    for rotation in [
        Duration::ZERO,
        Duration::from_millis(999),
        MAX_ROTATION + Duration::from_secs(1),
    ] {
        assert!(
            matches!(
                issue_intermediate(&idp(), &root, &signer, rotation, now()),
                Err(BuildError::Rotation(_))
            ),
            "{rotation:?}"
        );
    }
    assert!(issue_intermediate(&idp(), &root, &signer, MAX_ROTATION, now()).is_ok());
    // An intermediate never outlives its root, and none is issued once the root has expired.
    let near_end = root.not_after() - Duration::from_secs(100);
    let clamped =
        issue_intermediate(&idp(), &root, &signer, Duration::from_secs(900), near_end).expect("ok");
    assert_eq!(clamped.not_after(), root.not_after());
    assert!(matches!(
        issue_intermediate(
            &idp(),
            &root,
            &signer,
            Duration::from_secs(900),
            root.not_after()
        ),
        Err(BuildError::RootExpired)
    ));
}

#[test]
fn the_two_step_form_matches_the_signer_form() {
    let (signer, root) = root();
    let pending =
        PendingIntermediate::new(&idp(), &root, Duration::from_secs(900), now()).expect("pending");
    assert_eq!(pending.sha256_digest(), sha256(pending.tbs_der()));
    let kid = pending.kid().clone();
    let raw = signer
        .sign_sha256_digest(&pending.sha256_digest())
        .expect("sign");
    let issued = pending.finish(&raw).expect("finish");
    assert_eq!(issued.kid(), &kid);
    verify(issued.certificate_der(), &root).expect("verifies");

    let unsigned = root_template(&idp(), &signer.public_key_spki(), now()).expect("template");
    let raw = signer
        .sign_sha256_digest(&unsigned.sha256_digest())
        .expect("sign");
    let der = unsigned.assemble(&raw).expect("assemble");
    RootCertificate::from_der(&der, &CertPolicy::default()).expect("root");
}

#[test]
fn validity_window_honours_the_leeway_exactly() {
    let (signer, root) = root();
    let issued = intermediate(&root, &signer);
    let der = issued.certificate_der();
    let policy = CertPolicy::default();
    let leeway = policy.leeway;
    let second = Duration::from_secs(1);
    let cases = [
        (issued.not_before() - leeway, true),
        (issued.not_before() - leeway - second, false),
        (issued.not_after() + leeway, true),
        (issued.not_after() + leeway + second, false),
    ];
    for (at, ok) in cases {
        let result = verify_intermediate(der, &root, at, &policy);
        assert_eq!(result.is_ok(), ok, "{at:?}: {result:?}");
    }
    let early = verify_intermediate(der, &root, issued.not_before() - leeway - second, &policy)
        .expect_err("early");
    assert!(matches!(early, CertError::NotYetValid { .. }) && !early.is_stale());
    let late = verify_intermediate(der, &root, issued.not_after() + leeway + second, &policy)
        .expect_err("late");
    assert!(matches!(late, CertError::Expired { .. }) && late.is_stale());
    let verified = verify(der, &root).expect("ok");
    assert!(verified
        .check_validity(issued.not_after() + leeway + second, leeway)
        .is_err());
}

#[test]
fn every_refusal_of_an_intermediate_has_its_own_error() {
    let (signer, root) = root();
    let good = intermediate(&root, &signer);
    let good_der = good.certificate_der().to_vec();
    let root_key_id = unhex(ROOT_SKI_HEX);

    let mut bad_signature = good_der.clone();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 0x01;
    let mut trailing = good_der.clone();
    trailing.push(0);

    let forged_by_other = sign_tbs(
        intermediate_tbs(&root),
        &InMemoryKey::generate().expect("k"),
    );

    let mut other_issuer = intermediate_tbs(&root);
    other_issuer.issuer = keyward_name("someone else").expect("name");

    let mut v1 = intermediate_tbs(&root);
    v1.version = Version::V1;
    v1.extensions = None;

    let mut sha384 = intermediate_tbs(&root);
    sha384.signature.oid = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

    let mut p384 = intermediate_tbs(&root);
    p384.subject_public_key_info = p384_spki();
    let mut wrong_curve_param = intermediate_tbs(&root);
    wrong_curve_param
        .subject_public_key_info
        .algorithm
        .parameters =
        Some(Any::encode_from(&ObjectIdentifier::new_unwrap("1.3.132.0.34")).expect("oid"));

    let mut expired = intermediate_tbs(&root);
    expired.validity = validity(
        now() - Duration::from_secs(7200),
        now() - Duration::from_secs(3600),
    )
    .expect("validity");
    let mut future = intermediate_tbs(&root);
    future.validity = validity(
        now() + Duration::from_secs(3600),
        now() + Duration::from_secs(7200),
    )
    .expect("validity");

    let standard = |extra: Vec<Extension>| {
        let mut all = vec![
            ext(&aki(&root_key_id), false),
            ext(&ca(Some(0)), true),
            ext(&usage(KeyUsages::DigitalSignature), true),
        ];
        all.extend(extra);
        all
    };
    let unknown_critical = Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4"),
        critical: true,
        extn_value: OctetString::new(vec![0x05, 0x00]).expect("octets"),
    };
    let unknown_noncritical = Extension {
        critical: false,
        ..unknown_critical.clone()
    };
    let garbage_bc = Extension {
        extn_id: BasicConstraints::OID,
        critical: true,
        extn_value: OctetString::new(vec![0xff, 0x01, 0x00]).expect("octets"),
    };

    let bad = |tbs: TbsCertificate| sign_tbs(tbs, &signer);
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "oversized",
            vec![0x30; MAX_CERTIFICATE_LEN + 1],
            |e| matches!(e, CertError::TooLarge { len, max: MAX_CERTIFICATE_LEN } if *len == MAX_CERTIFICATE_LEN + 1),
        ),
        ("empty", vec![], |e| matches!(e, CertError::Malformed(_))),
        ("garbage", b"not a certificate".to_vec(), |e| {
            matches!(e, CertError::Malformed(_))
        }),
        ("truncated", good_der[..good_der.len() - 3].to_vec(), |e| {
            matches!(e, CertError::Malformed(_))
        }),
        ("trailing byte", trailing, |e| {
            matches!(e, CertError::Malformed(_))
        }),
        ("v1", bad(v1), |e| matches!(e, CertError::NotV3)),
        ("sha384 algorithm", bad(sha384), |e| {
            matches!(e, CertError::SignatureAlgorithm)
        }),
        ("other issuer", bad(other_issuer), |e| {
            matches!(e, CertError::IssuerMismatch)
        }),
        ("flipped signature bit", bad_signature, |e| {
            matches!(e, CertError::BadSignature)
        }),
        ("signed by another key", forged_by_other, |e| {
            matches!(e, CertError::BadSignature)
        }),
        ("expired", bad(expired), |e| {
            matches!(e, CertError::Expired { .. })
        }),
        ("not yet valid", bad(future), |e| {
            matches!(e, CertError::NotYetValid { .. })
        }),
        (
            "duplicate keyUsage",
            bad(with_extensions(
                &root,
                standard(vec![ext(&usage(KeyUsages::DigitalSignature), true)]),
            )),
            |e| matches!(e, CertError::DuplicateExtension(oid) if *oid == KeyUsage::OID),
        ),
        (
            "unknown critical extension",
            bad(with_extensions(&root, standard(vec![unknown_critical]))),
            |e| matches!(e, CertError::UnknownCriticalExtension(_)),
        ),
        (
            "malformed basicConstraints",
            bad(with_extensions(
                &root,
                vec![garbage_bc, ext(&usage(KeyUsages::DigitalSignature), true)],
            )),
            |e| matches!(e, CertError::MalformedExtension { oid, .. } if *oid == BasicConstraints::OID),
        ),
        (
            "no basicConstraints",
            bad(with_extensions(
                &root,
                vec![ext(&usage(KeyUsages::DigitalSignature), true)],
            )),
            |e| matches!(e, CertError::NotCa),
        ),
        (
            "CA:false",
            bad(with_extensions(
                &root,
                vec![
                    ext(
                        &BasicConstraints {
                            ca: false,
                            path_len_constraint: None,
                        },
                        true,
                    ),
                    ext(&usage(KeyUsages::DigitalSignature), true),
                ],
            )),
            |e| matches!(e, CertError::NotCa),
        ),
        (
            "basicConstraints not critical",
            bad(with_extensions(
                &root,
                vec![
                    ext(&ca(Some(0)), false),
                    ext(&usage(KeyUsages::DigitalSignature), true),
                ],
            )),
            |e| matches!(e, CertError::BasicConstraintsNotCritical),
        ),
        (
            "no pathLen",
            bad(with_extensions(
                &root,
                vec![
                    ext(&ca(None), true),
                    ext(&usage(KeyUsages::DigitalSignature), true),
                ],
            )),
            |e| matches!(e, CertError::PathLen(None)),
        ),
        (
            "pathLen 1",
            bad(with_extensions(
                &root,
                vec![
                    ext(&ca(Some(1)), true),
                    ext(&usage(KeyUsages::DigitalSignature), true),
                ],
            )),
            |e| matches!(e, CertError::PathLen(Some(1))),
        ),
        (
            "no keyUsage",
            bad(with_extensions(&root, vec![ext(&ca(Some(0)), true)])),
            |e| matches!(e, CertError::KeyUsage),
        ),
        (
            "keyUsage without digitalSignature",
            bad(with_extensions(
                &root,
                vec![
                    ext(&ca(Some(0)), true),
                    ext(&usage(KeyUsages::KeyCertSign), true),
                ],
            )),
            |e| matches!(e, CertError::KeyUsage),
        ),
        (
            "keyUsage not critical",
            bad(with_extensions(
                &root,
                vec![
                    ext(&ca(Some(0)), true),
                    ext(&usage(KeyUsages::DigitalSignature), false),
                ],
            )),
            |e| matches!(e, CertError::KeyUsageNotCritical),
        ),
        (
            "authority key id of another root",
            bad(with_extensions(&root, {
                let mut all = standard(vec![]);
                all[0] = ext(&aki(&[0xab; 20]), false);
                all
            })),
            |e| matches!(e, CertError::AuthorityKeyIdMismatch),
        ),
        ("P-384 key", bad(p384), |e| {
            matches!(e, CertError::UnsupportedKey)
        }),
        ("P-384 curve parameter", bad(wrong_curve_param), |e| {
            matches!(e, CertError::UnsupportedKey)
        }),
    ];
    for (name, der, expected) in cases {
        let err = verify(&der, &root).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.is_stale(), name == "expired", "{name}");
    }

    // What is tolerated: an unknown non-critical extension, and no authority key id at all.
    verify(
        &bad(with_extensions(&root, standard(vec![unknown_noncritical]))),
        &root,
    )
    .expect("unknown non-critical extensions are ignored");
    verify(
        &bad(with_extensions(
            &root,
            vec![
                ext(&ca(Some(0)), true),
                ext(&usage(KeyUsages::DigitalSignature), true),
            ],
        )),
        &root,
    )
    .expect("the authority key id is optional");
    verify(&good_der, &root).expect("and the genuine one still verifies");
}

#[test]
fn non_canonical_encodings_are_refused() {
    // A DEFAULT value encoded explicitly (critical = FALSE) is BER, not DER. The decoder
    // accepts it; the re-encoding check is what refuses it (before the signature is looked at).
    let (signer, root) = root();
    let mut tbs = intermediate_tbs(&root);
    tbs.extensions = Some(vec![
        ext(&ca(Some(0)), true),
        ext(&usage(KeyUsages::DigitalSignature), true),
    ]);
    let der = sign_tbs(tbs, &signer);
    // keyUsage is `30 0e 06 03 55 1d 0f 01 01 ff 04 …`: turn its critical TRUE into FALSE.
    let needle = [0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff];
    let at = der
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("keyUsage extension");
    let mut ber = der.clone();
    ber[at + 7] = 0x00; // critical = FALSE, explicitly: not DER.
    let err = verify(&ber, &root).expect_err("BER refused");
    assert!(matches!(err, CertError::NotCanonical), "{err:?}");
}

#[test]
fn roots_are_checked_as_anchors() {
    let policy = CertPolicy::default();
    let (signer, root) = root();
    // Another organisation's CA may issue our root: not self-signed, still an anchor.
    let mut issued_by_org = intermediate_tbs(&root);
    issued_by_org.issuer = keyward_name("Example Org CA").expect("name");
    issued_by_org.extensions = Some(vec![
        ext(&ca(None), true),
        ext(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true),
    ]);
    let org_root = RootCertificate::from_der(&sign_tbs(issued_by_org, &signer), &policy)
        .expect("a root need not be self-signed, nor carry a subject key id");
    assert_eq!(
        org_root.public_key_spki().len(),
        root.public_key_spki().len()
    );
    // Its key id, absent from the certificate, is computed by method 1.
    assert_eq!(org_root.key_id.len(), 20);

    // Expired roots are still anchors (their key and name are what counts).
    let mut old = intermediate_tbs(&root);
    old.validity = validity(
        now() - Duration::from_secs(7200),
        now() - Duration::from_secs(3600),
    )
    .expect("validity");
    old.extensions = Some(vec![ext(&ca(Some(0)), true)]);
    RootCertificate::from_der(&sign_tbs(old, &signer), &policy).expect("validity not checked");

    let make = |extensions: Vec<Extension>| {
        let mut tbs = intermediate_tbs(&root);
        tbs.extensions = Some(extensions);
        sign_tbs(tbs, &signer)
    };
    let mut p384 = intermediate_tbs(&root);
    p384.subject_public_key_info = p384_spki();
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "not a CA",
            make(vec![ext(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )]),
            |e| matches!(e, CertError::NotCa),
        ),
        ("no basicConstraints", make(vec![]), |e| {
            matches!(e, CertError::NotCa)
        }),
        (
            "keyUsage without keyCertSign",
            make(vec![
                ext(&ca(None), true),
                ext(&usage(KeyUsages::DigitalSignature), true),
            ]),
            |e| matches!(e, CertError::RootKeyUsage),
        ),
        (
            "unknown critical extension",
            make(vec![
                ext(&ca(None), true),
                Extension {
                    extn_id: ObjectIdentifier::new_unwrap("2.5.29.30"),
                    critical: true,
                    extn_value: OctetString::new(vec![0x30, 0x00]).expect("octets"),
                },
            ]),
            |e| matches!(e, CertError::UnknownCriticalExtension(_)),
        ),
        ("P-384 key", sign_tbs(p384, &signer), |e| {
            matches!(e, CertError::UnsupportedKey)
        }),
        ("oversized", vec![0; MAX_CERTIFICATE_LEN + 1], |e| {
            matches!(e, CertError::TooLarge { .. })
        }),
        ("garbage", vec![0x30, 0x03, 0x02, 0x01, 0x01], |e| {
            matches!(e, CertError::Malformed(_))
        }),
    ];
    for (name, der, expected) in cases {
        let err = RootCertificate::from_der(&der, &policy).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
    }
}

#[test]
fn same_key_compares_public_keys_not_certificates() {
    let signer = P256Signer::fixed();
    let policy = CertPolicy::default();
    let first = RootCertificate::from_der(&build_root(&idp(), &signer, now()).expect("a"), &policy)
        .expect("a");
    let later = now() + Duration::from_secs(86_400);
    let again = RootCertificate::from_der(&build_root(&idp(), &signer, later).expect("b"), &policy)
        .expect("b");
    assert_ne!(
        first.der(),
        again.der(),
        "a regenerated root is a new certificate"
    );
    assert!(first.same_key(&again), "with the same key");
    let key = InMemoryKey::generate().expect("key");
    let other = RootCertificate::from_der(&build_root(&idp(), &key, now()).expect("c"), &policy)
        .expect("c");
    assert!(!first.same_key(&other));
}

#[test]
fn p256_points_become_spki() {
    let key = InMemoryKey::generate().expect("key");
    let spki = key.public_key_spki();
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 0x04);
    assert_eq!(p256_spki_from_point(point).expect("point"), spki);
    let mut off_curve = point.to_vec();
    off_curve[64] ^= 1;
    assert!(matches!(
        p256_spki_from_point(&off_curve),
        Err(CertError::UnsupportedKey)
    ));
    assert!(matches!(
        p256_spki_from_point(&point[..64]),
        Err(CertError::UnsupportedKey)
    ));
}

#[test]
fn component_names_are_plain() {
    for good in [
        "keyward-idp",
        "keyward-orchestrator",
        "a",
        "a1-b2",
        &"a".repeat(32),
    ] {
        assert!(ComponentName::new(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "Keyward",
        "1abc",
        "-abc",
        "a b",
        "a,b",
        "a=b",
        "ä",
        &"a".repeat(33),
    ] {
        assert!(
            matches!(ComponentName::new(bad), Err(BuildError::ComponentName(_))),
            "{bad}"
        );
    }
}

#[test]
fn times_after_2049_are_generalized_time() {
    let t2049 = UNIX_EPOCH + Duration::from_secs(2_524_607_999); // 2049-12-31T23:59:59Z
    let t2050 = UNIX_EPOCH + Duration::from_secs(2_524_608_000); // 2050-01-01T00:00:00Z
    assert!(matches!(x509_time(t2049).expect("t"), Time::UtcTime(_)));
    assert!(matches!(x509_time(t2050).expect("t"), Time::GeneralTime(_)));
    // Sub-second precision is dropped, never rounded up.
    let fraction = t2049 + Duration::from_millis(999);
    assert_eq!(x509_time(fraction).expect("t").to_system_time(), t2049);
}
