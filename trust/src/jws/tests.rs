//! JWS tests: the exact header, interoperability with an independent ES256 verifier, and one
//! negative case per refusal, most of them validly signed so only the rule under test fails.

use super::*;
use crate::testing::{now, Fixture, ROTATION};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;

const TYP: &str = "keyward-proof+jws";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS with any header, signed properly by `key`.
fn signed(key: &InMemoryKey, header: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
    let signature = key.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(&signature))
}

fn header(alg: &str, kid: &str, typ: &str) -> String {
    format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"{typ}"}}"#)
}

fn verify(fixture: &Fixture, jws: &[u8]) -> Result<VerifiedJws, JwsError> {
    verify_jws(&fixture.store, jws, TYP, &JwsLimits::default(), now())
}

#[test]
fn signed_payloads_verify_and_carry_exactly_three_header_members() {
    let fixture = Fixture::new();
    let key = fixture.intermediate.key();
    let payload = br#"{"v":1}"#;
    let jws = sign_jws(key, TYP, payload).expect("sign");
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = URL_SAFE_NO_PAD.decode(parts[0]).expect("b64");
    assert_eq!(
        String::from_utf8(header).expect("utf8"),
        format!(r#"{{"alg":"ES256","kid":"{}","typ":"{TYP}"}}"#, key.kid())
    );
    let verified = verify(&fixture, jws.as_bytes()).expect("verifies");
    assert_eq!(verified.payload(), payload);
    assert_eq!(verified.key().kid, *key.kid());
    assert_eq!(verified.key().epoch, fixture.store.epoch());

    // An independent ES256 implementation agrees on the signature over the signing input.
    let public =
        p256::ecdsa::VerifyingKey::from_public_key_der(key.public_key_spki()).expect("spki");
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
            .expect("r||s");
    public
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("p256 verifies our JWS");
    // And jsonwebtoken reads our header.
    let parsed = jsonwebtoken::decode_header(&jws).expect("header");
    assert_eq!(parsed.alg, Algorithm::ES256);
    assert_eq!(parsed.kid.as_deref(), Some(key.kid().as_str()));
}

#[test]
fn every_refusal_of_a_jws_has_its_own_error() {
    let mut fixture = Fixture::new();
    let old = fixture.rotate();
    let key = fixture.intermediate.key();
    let kid = key.kid().as_str().to_owned();
    let good_header = header("ES256", &kid, TYP);
    let payload = br#"{"v":1}"#.to_vec();

    let good = signed(key, &good_header, &payload);
    let (input, _) = good.rsplit_once('.').expect("parts");
    let tampered_payload = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = b64(br#"{"v":2}"#);
        parts.join(".")
    };
    let hs256 = {
        // The classic confusion: HMAC keyed with the (public) verification key.
        let head = header("HS256", &kid, TYP);
        let input = format!("{}.{}", b64(head.as_bytes()), b64(&payload));
        let mac_key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.public_key_spki());
        let tag = aws_lc_rs::hmac::sign(&mac_key, input.as_bytes());
        format!("{input}.{}", b64(tag.as_ref()))
    };
    let none = format!(
        "{}.{}.",
        b64(header("none", &kid, TYP).as_bytes()),
        b64(&payload)
    );
    let der_signature = {
        let raw = key.sign(input.as_bytes()).expect("sign");
        let der = p256::ecdsa::Signature::from_slice(&raw)
            .expect("sig")
            .to_der();
        format!("{input}.{}", b64(der.as_bytes()))
    };
    let deep = format!("{}1{}", "[".repeat(9), "]".repeat(9));
    let at_limit = format!("{}1{}", "[".repeat(8), "]".repeat(8));
    let other_key = InMemoryKey::generate().expect("key");

    type Check = fn(&JwsError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check, Refusal)> = vec![
        (
            "oversized",
            vec![b'a'; MAX_PAYLOAD_JWS_LEN + 1],
            |e| matches!(e, JwsError::TooLarge { .. }),
            Refusal::InvalidPayload,
        ),
        (
            "not UTF-8",
            vec![0xff, b'.', b'.'],
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "two parts",
            input.as_bytes().to_vec(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "four parts",
            format!("{good}.x").into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "JSON serialisation",
            br#"{"payload":"x","signatures":[]}"#.to_vec(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "padded header",
            format!(
                "{}=.{}",
                b64(good_header.as_bytes()),
                &good[good.find('.').expect("dot") + 1..]
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "header not base64",
            b"!!!.e30.AAAA".to_vec(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "nested header",
            signed(
                key,
                &format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"{TYP}","jwk":{{}}}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "no kid",
            signed(
                key,
                &format!(r#"{{"alg":"ES256","typ":"{TYP}"}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "no typ",
            signed(
                key,
                &format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "crit member",
            signed(
                key,
                &format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"{TYP}","crit":"b64"}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "x5u member",
            signed(
                key,
                &format!(r#"{{"alg":"ES256","kid":"{kid}","typ":"{TYP}","x5u":"http://x"}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "duplicate alg",
            signed(
                key,
                &format!(r#"{{"alg":"none","alg":"ES256","kid":"{kid}","typ":"{TYP}"}}"#),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "header not an object",
            signed(key, r#"["ES256"]"#, &payload).into_bytes(),
            |e| matches!(e, JwsError::Header(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg none",
            none.into_bytes(),
            |e| matches!(e, JwsError::Algorithm(a) if a == "none"),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg HS256 keyed with the public key",
            hs256.into_bytes(),
            |e| matches!(e, JwsError::Algorithm(a) if a == "HS256"),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg RS256",
            signed(key, &header("RS256", &kid, TYP), &payload).into_bytes(),
            |e| matches!(e, JwsError::Algorithm(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg es256",
            signed(key, &header("es256", &kid, TYP), &payload).into_bytes(),
            |e| matches!(e, JwsError::Algorithm(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg ES384",
            signed(key, &header("ES384", &kid, TYP), &payload).into_bytes(),
            |e| matches!(e, JwsError::Algorithm(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "another typ",
            signed(
                key,
                &header("ES256", &kid, "keyward-definition+jws"),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::Type { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "typ JWT",
            signed(key, &header("ES256", &kid, "JWT"), &payload).into_bytes(),
            |e| matches!(e, JwsError::Type { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "unknown kid",
            signed(
                &other_key,
                &header("ES256", other_key.kid().as_str(), TYP),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::UnknownKey(_)),
            Refusal::StaleIntermediate,
        ),
        (
            "superseded kid",
            signed(
                old.key(),
                &header("ES256", old.kid().as_str(), TYP),
                &payload,
            )
            .into_bytes(),
            |e| matches!(e, JwsError::UnknownKey(_)),
            Refusal::StaleIntermediate,
        ),
        (
            "empty signature",
            format!("{input}.").into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "DER signature",
            der_signature.into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "payload not base64",
            format!("{}.!!.{}", b64(good_header.as_bytes()), b64(&[1; 64])).into_bytes(),
            |e| matches!(e, JwsError::Malformed(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "tampered payload",
            tampered_payload.into_bytes(),
            |e| matches!(e, JwsError::BadSignature),
            Refusal::TrustVerificationFailed,
        ),
        (
            "signed by another key under our kid",
            signed(&other_key, &good_header, &payload).into_bytes(),
            |e| matches!(e, JwsError::BadSignature),
            Refusal::TrustVerificationFailed,
        ),
        (
            "zero signature",
            format!("{input}.{}", b64(&[0; 64])).into_bytes(),
            |e| matches!(e, JwsError::BadSignature),
            Refusal::TrustVerificationFailed,
        ),
        (
            "nested 9 deep",
            signed(key, &good_header, deep.as_bytes()).into_bytes(),
            |e| matches!(e, JwsError::TooDeep { max: 8 }),
            Refusal::InvalidPayload,
        ),
    ];
    for (name, jws, expected, refusal) in cases {
        let err = verify(&fixture, &jws).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.refusal(), refusal, "{name}");
    }
    verify(
        &fixture,
        signed(key, &good_header, at_limit.as_bytes()).as_bytes(),
    )
    .expect("8 deep is allowed");
    verify(&fixture, good.as_bytes()).expect("and the genuine one verifies");
}

#[test]
fn the_size_limit_is_inclusive_and_configurable() {
    let fixture = Fixture::new();
    let key = fixture.intermediate.key();
    let jws = sign_jws(key, TYP, br#"{"v":1}"#).expect("sign");
    let exact = JwsLimits {
        max_len: jws.len(),
        ..JwsLimits::default()
    };
    verify_jws(&fixture.store, jws.as_bytes(), TYP, &exact, now()).expect("at the limit");
    let smaller = JwsLimits {
        max_len: jws.len() - 1,
        ..JwsLimits::default()
    };
    assert!(matches!(
        verify_jws(&fixture.store, jws.as_bytes(), TYP, &smaller, now()),
        Err(JwsError::TooLarge { .. })
    ));
}

#[test]
fn an_expired_intermediate_verifies_nothing() {
    let fixture = Fixture::new();
    let jws = sign_jws(fixture.intermediate.key(), TYP, b"{}").expect("sign");
    let limits = JwsLimits::default();
    let not_after = fixture.intermediate.not_after();
    verify_jws(
        &fixture.store,
        jws.as_bytes(),
        TYP,
        &limits,
        not_after + limits.leeway,
    )
    .expect("within the leeway");
    let err = verify_jws(
        &fixture.store,
        jws.as_bytes(),
        TYP,
        &limits,
        not_after + limits.leeway + Duration::from_secs(1),
    )
    .expect_err("expired");
    assert!(matches!(err, JwsError::KeyExpired(_)));
    assert_eq!(err.refusal(), Refusal::StaleIntermediate);
    assert_eq!(not_after, now() + 2 * ROTATION);
}
