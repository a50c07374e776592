//! Token tests: the exact header and claims, lifetime capped by the intermediate, issuance
//! refusals, and one negative case per verification refusal (validly signed unless the
//! signature is what is under test).

use super::*;
use crate::jws::sign_jws;
use crate::key::InMemoryKey;
use crate::testing::{now, Fixture, NOW_SECS};

const LIFETIME: Duration = Duration::from_secs(300);

fn app() -> SpiffeId {
    SpiffeId::parse("spiffe://example.org/app").expect("id")
}

fn issue(fixture: &Fixture) -> IssuedToken {
    issue_token(&fixture.intermediate, &app(), "keyward", LIFETIME, now()).expect("issue")
}

fn verify(fixture: &Fixture, token: &[u8]) -> Result<VerifiedToken, TokenError> {
    verify_token(&fixture.store, token, &TokenPolicy::default(), now())
}

/// A JWT with these exact claims, validly signed by `key`.
fn with_claims(key: &InMemoryKey, claims: &str) -> String {
    sign_jws(key, TOKEN_TYP, claims.as_bytes()).expect("sign")
}

fn claims(sub: &str, aud: &str, iat: u64, exp: u64, jti: &str) -> String {
    format!(r#"{{"sub":"{sub}","aud":{aud},"iat":{iat},"exp":{exp},"jti":"{jti}"}}"#)
}

#[test]
fn issued_tokens_have_the_documented_shape_and_verify() {
    let fixture = Fixture::new();
    let issued = issue(&fixture);
    let token = issued.token();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("utf8");
    assert_eq!(
        header,
        format!(
            r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#,
            fixture.intermediate.kid()
        )
    );
    let body: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    let object = body.as_object().expect("object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["aud", "exp", "iat", "jti", "sub"]);
    assert_eq!(body["sub"], "spiffe://example.org/app");
    assert_eq!(body["aud"], serde_json::json!(["keyward"]));
    assert_eq!(body["iat"], NOW_SECS);
    assert_eq!(body["exp"], NOW_SECS + 300);
    assert_eq!(body["jti"].as_str().expect("jti").len(), 22);
    assert_eq!(issued.expires_at(), now() + LIFETIME);
    assert_eq!(issued.kid(), fixture.intermediate.kid());

    let verified = verify(&fixture, token.as_bytes()).expect("verifies");
    assert_eq!(verified.claims(), issued.claims());
    assert_eq!(verified.spiffe_id(), &app());
    assert_eq!(verified.kid(), fixture.intermediate.kid());
    assert_eq!(verified.epoch(), fixture.store.epoch());
    assert_eq!(verified.expires_at(), issued.expires_at());
    assert_ne!(
        issue(&fixture).claims().jti,
        issued.claims().jti,
        "jti is random"
    );
    assert!(
        !format!("{issued:?}").contains(token),
        "Debug never shows the bearer token"
    );
}

#[test]
fn a_token_never_outlives_its_intermediate() {
    let fixture = Fixture::new();
    let not_after = fixture.intermediate.not_after();
    let late = not_after - Duration::from_secs(10);
    let issued =
        issue_token(&fixture.intermediate, &app(), "keyward", LIFETIME, late).expect("issue");
    assert_eq!(issued.expires_at(), not_after);
    verify_token(
        &fixture.store,
        issued.token().as_bytes(),
        &TokenPolicy::default(),
        late,
    )
    .expect("verifies until then");
    assert!(matches!(
        issue_token(
            &fixture.intermediate,
            &app(),
            "keyward",
            LIFETIME,
            not_after
        ),
        Err(TokenError::IntermediateExpired)
    ));
}

#[test]
fn issuance_refuses_what_verification_would() {
    let fixture = Fixture::new();
    let trust_domain = SpiffeId::parse("spiffe://example.org").expect("id");
    let err = issue_token(
        &fixture.intermediate,
        &trust_domain,
        "keyward",
        LIFETIME,
        now(),
    )
    .expect_err("trust domain id");
    assert!(matches!(err, TokenError::NotWorkloadId(_)));
    for audience in ["", "a\nb", "\u{7f}", &"a".repeat(MAX_AUDIENCE_LEN + 1)] {
        assert!(
            matches!(
                issue_token(&fixture.intermediate, &app(), audience, LIFETIME, now()),
                Err(TokenError::BadAudience(_))
            ),
            "{audience:?}"
        );
    }
    issue_token(
        &fixture.intermediate,
        &app(),
        &"a".repeat(MAX_AUDIENCE_LEN),
        LIFETIME,
        now(),
    )
    .expect("at the bound");
    assert!(matches!(
        issue_token(
            &fixture.intermediate,
            &app(),
            "keyward",
            Duration::from_millis(999),
            now()
        ),
        Err(TokenError::BadLifetime)
    ));
}

#[test]
fn every_refusal_of_a_token_has_its_own_error() {
    let mut fixture = Fixture::new();
    let old = fixture.rotate();
    let key = fixture.intermediate.key();
    let not_after = unix_secs(fixture.intermediate.not_after());
    let t = NOW_SECS;
    let sub = "spiffe://example.org/app";
    let aud = r#"["keyward"]"#;
    let ok = |body: String| with_claims(key, &body);
    let stale_token = issue_token(&old, &app(), "keyward", LIFETIME, now()).expect("old");
    let other = InMemoryKey::generate().expect("key");
    let good = ok(claims(sub, aud, t, t + 300, "j"));
    let mut tampered: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered[1] =
        URL_SAFE_NO_PAD.encode(claims("spiffe://example.org/admin", aud, t, t + 300, "j"));
    let tampered = tampered.join(".");
    let none = {
        let head = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"alg":"none","kid":"{}","typ":"JWT"}}"#,
            key.kid()
        ));
        format!(
            "{head}.{}.",
            URL_SAFE_NO_PAD.encode(claims(sub, aud, t, t + 300, "j"))
        )
    };

    type Check = fn(&TokenError) -> bool;
    let cases: Vec<(&str, String, Check, Refusal)> = vec![
        (
            "1 MiB",
            "a".repeat(1 << 20),
            |e| matches!(e, TokenError::Envelope(JwsError::TooLarge { .. })),
            Refusal::TrustVerificationFailed,
        ),
        (
            "alg none",
            none,
            |e| matches!(e, TokenError::Envelope(JwsError::Algorithm(_))),
            Refusal::TrustVerificationFailed,
        ),
        (
            "typ not JWT",
            sign_jws(
                key,
                "keyward-proof+jws",
                claims(sub, aud, t, t + 300, "j").as_bytes(),
            )
            .expect("sign"),
            |e| matches!(e, TokenError::Envelope(JwsError::Type { .. })),
            Refusal::TrustVerificationFailed,
        ),
        (
            "superseded intermediate",
            stale_token.token().to_owned(),
            |e| matches!(e, TokenError::Envelope(JwsError::UnknownKey(_))),
            Refusal::StaleIntermediate,
        ),
        (
            "tampered claims",
            tampered,
            |e| matches!(e, TokenError::Envelope(JwsError::BadSignature)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "signed by another key",
            {
                let head = URL_SAFE_NO_PAD.encode(format!(
                    r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#,
                    key.kid()
                ));
                let input = format!(
                    "{head}.{}",
                    URL_SAFE_NO_PAD.encode(claims(sub, aud, t, t + 300, "j"))
                );
                let sig = other.sign(input.as_bytes()).expect("sign");
                format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
            },
            |e| matches!(e, TokenError::Envelope(JwsError::BadSignature)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "wrong audience",
            ok(claims(sub, r#"["other"]"#, t, t + 300, "j")),
            |e| matches!(e, TokenError::WrongAudience),
            Refusal::TrustVerificationFailed,
        ),
        (
            "empty audience",
            ok(claims(sub, "[]", t, t + 300, "j")),
            |e| matches!(e, TokenError::WrongAudience),
            Refusal::TrustVerificationFailed,
        ),
        (
            "audience as a string",
            ok(claims(sub, r#""keyward""#, t, t + 300, "j")),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "no jti",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"exp":{}}}"#,
                t + 300
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "no exp",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"jti":"j"}}"#
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "extra nbf",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"exp":{},"jti":"j","nbf":{t}}}"#,
                t + 300
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "extra iss",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"exp":{},"jti":"j","iss":"x"}}"#,
                t + 300
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "exp as a float",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"exp":{}.5,"jti":"j"}}"#,
                t + 300
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "exp as a string",
            ok(format!(
                r#"{{"sub":"{sub}","aud":{aud},"iat":{t},"exp":"{}","jti":"j"}}"#,
                t + 300
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "negative iat",
            ok(claims(sub, aud, 0, t + 300, "j").replace(r#""iat":0"#, r#""iat":-1"#)),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "sub not a SPIFFE ID",
            ok(claims("alice", aud, t, t + 300, "j")),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "sub with a dot segment",
            ok(claims(
                "spiffe://example.org/a/../admin",
                aud,
                t,
                t + 300,
                "j",
            )),
            |e| matches!(e, TokenError::Claims(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "sub a trust domain",
            ok(claims("spiffe://example.org", aud, t, t + 300, "j")),
            |e| matches!(e, TokenError::NotWorkloadId(_)),
            Refusal::TrustVerificationFailed,
        ),
        (
            "empty jti",
            ok(claims(sub, aud, t, t + 300, "")),
            |e| matches!(e, TokenError::BadJti),
            Refusal::TrustVerificationFailed,
        ),
        (
            "long jti",
            ok(claims(sub, aud, t, t + 300, &"j".repeat(MAX_JTI_LEN + 1))),
            |e| matches!(e, TokenError::BadJti),
            Refusal::TrustVerificationFailed,
        ),
        (
            "jti with a newline",
            ok(claims(sub, aud, t, t + 300, "a\\nb")),
            |e| matches!(e, TokenError::BadJti),
            Refusal::TrustVerificationFailed,
        ),
        (
            "exp before iat",
            ok(claims(sub, aud, t, t - 1, "j")),
            |e| matches!(e, TokenError::BadTimes { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "exp equal to iat",
            ok(claims(sub, aud, t, t, "j")),
            |e| matches!(e, TokenError::BadTimes { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "issued in the future",
            ok(claims(sub, aud, t + 6, t + 300, "j")),
            |e| matches!(e, TokenError::IssuedInFuture { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "expired",
            ok(claims(sub, aud, t - 400, t - 6, "j")),
            |e| matches!(e, TokenError::Expired { .. }),
            Refusal::TrustVerificationFailed,
        ),
        (
            "outlives its intermediate",
            ok(claims(sub, aud, t, not_after + 1, "j")),
            |e| matches!(e, TokenError::OutlivesIntermediate { .. }),
            Refusal::TrustVerificationFailed,
        ),
    ];
    for (name, token, expected, refusal) in cases {
        let err = verify(&fixture, token.as_bytes()).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.refusal(), refusal, "{name}");
    }
    // The boundaries: within the leeway, at the intermediate's notAfter, the other audience.
    for (name, body) in [
        (
            "issued within the leeway",
            claims(sub, aud, t + 5, t + 300, "j"),
        ),
        (
            "expired within the leeway",
            claims(sub, aud, t - 400, t - 5, "j"),
        ),
        ("exp at notAfter", claims(sub, aud, t, not_after, "j")),
        (
            "audience parsec",
            claims(sub, r#"["parsec"]"#, t, t + 300, "j"),
        ),
        (
            "several audiences",
            claims(sub, r#"["x","keyward"]"#, t, t + 300, "j"),
        ),
        (
            "jti at its bound",
            claims(sub, aud, t, t + 300, &"j".repeat(MAX_JTI_LEN)),
        ),
    ] {
        verify(&fixture, ok(body).as_bytes()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn audiences_and_limits_come_from_the_policy() {
    let fixture = Fixture::new();
    let token =
        issue_token(&fixture.intermediate, &app(), "custom", LIFETIME, now()).expect("issue");
    assert!(matches!(
        verify(&fixture, token.token().as_bytes()),
        Err(TokenError::WrongAudience)
    ));
    let policy = TokenPolicy {
        audiences: vec!["custom".into()],
        ..TokenPolicy::default()
    };
    verify_token(&fixture.store, token.token().as_bytes(), &policy, now())
        .expect("custom audience");
    let nobody = TokenPolicy {
        audiences: vec![],
        ..TokenPolicy::default()
    };
    assert!(verify_token(&fixture.store, token.token().as_bytes(), &nobody, now()).is_err());
    let tight = TokenPolicy {
        max_token_len: token.token().len() - 1,
        ..policy.clone()
    };
    assert!(matches!(
        verify_token(&fixture.store, token.token().as_bytes(), &tight, now()),
        Err(TokenError::Envelope(JwsError::TooLarge { .. }))
    ));
    let strict = TokenPolicy {
        leeway: Duration::ZERO,
        ..policy
    };
    let expiry = now() + LIFETIME;
    verify_token(&fixture.store, token.token().as_bytes(), &strict, expiry).expect("at exp");
    assert!(matches!(
        verify_token(
            &fixture.store,
            token.token().as_bytes(),
            &strict,
            expiry + Duration::from_secs(1)
        ),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn a_rotation_invalidates_tokens_of_the_previous_intermediate() {
    let mut fixture = Fixture::new();
    let token = issue(&fixture);
    let before = verify(&fixture, token.token().as_bytes()).expect("valid");
    fixture.rotate();
    let err = verify(&fixture, token.token().as_bytes()).expect_err("superseded");
    assert_eq!(err.refusal(), Refusal::StaleIntermediate);
    let after = verify(&fixture, issue(&fixture).token().as_bytes()).expect("new one");
    assert!(
        after.epoch() > before.epoch(),
        "a cache keyed on the epoch drops the old entry"
    );
}
