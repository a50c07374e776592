//! Payload tests: the examples of `docs/identity.md` as known answers, round trips, and one
//! negative case per schema, value, freshness and identity rule (all validly signed, so only
//! the rule under test fails).

use super::*;
use crate::jws::{sign_jws, MAX_PAYLOAD_JWS_LEN};
use crate::testing::{now, Fixture, NOW_SECS};

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn identity() -> IdentityPolicy {
    IdentityPolicy {
        trust_domain: TrustDomain::new("example.org").expect("td"),
        allowed_identities: vec![],
    }
}

/// The definition example of docs/identity.md, with `iat` = now.
fn definition_json() -> String {
    format!(
        r#"{{"v": 1, "client": "app-1", "spiffe_id": "spiffe://example.org/app",
 "selectors": {{"uid": 1000, "gid": 1000, "exe_path": "/usr/bin/app", "exe_sha256": "{HASH}",
               "cgroup": "/system.slice/app.service"}},
 "iat": {NOW_SECS}}}"#
    )
}

/// The proof example of docs/identity.md, with `iat` = now.
fn proof_json() -> String {
    format!(
        r#"{{"v": 1, "client": "app-1", "pid": 4242, "start_time": 123456789,
 "measured": {{"uid": 1000, "gid": 1000, "exe_path": "/usr/bin/app", "exe_sha256": "{HASH}",
              "cgroup": "/user.slice/user-1000.slice"}}, "iat": {NOW_SECS}}}"#
    )
}

fn removal_json() -> String {
    format!(r#"{{"v": 1, "client": "app-1", "iat": {NOW_SECS}}}"#)
}

fn definition(fixture: &Fixture, json: &str) -> Result<Verified<Definition>, PayloadError> {
    let jws = sign_jws(fixture.intermediate.key(), DEFINITION_TYP, json.as_bytes()).expect("sign");
    verify_definition(
        &fixture.store,
        jws.as_bytes(),
        &PayloadPolicy::default(),
        &identity(),
        now(),
    )
}

fn proof(fixture: &Fixture, json: &str) -> Result<Verified<Proof>, PayloadError> {
    let jws = sign_jws(fixture.intermediate.key(), PROOF_TYP, json.as_bytes()).expect("sign");
    verify_proof(
        &fixture.store,
        jws.as_bytes(),
        &PayloadPolicy::default(),
        now(),
    )
}

fn removal(fixture: &Fixture, json: &str) -> Result<Verified<Removal>, PayloadError> {
    let jws = sign_jws(fixture.intermediate.key(), REMOVAL_TYP, json.as_bytes()).expect("sign");
    verify_removal(
        &fixture.store,
        jws.as_bytes(),
        &PayloadPolicy::default(),
        now(),
    )
}

fn selectors(cgroup: Option<&str>) -> Selectors {
    Selectors {
        uid: 1000,
        gid: 1000,
        exe_path: AbsolutePath::new("/usr/bin/app").expect("path"),
        exe_sha256: Sha256Hex::new(HASH).expect("hash"),
        cgroup: cgroup.map(|c| AbsolutePath::new(c).expect("cgroup")),
    }
}

#[test]
fn the_documented_examples_verify_into_typed_payloads() {
    let fixture = Fixture::new();
    let verified = definition(&fixture, &definition_json()).expect("definition");
    assert_eq!(
        verified.payload(),
        &Definition {
            v: V1,
            client: ClientId::new("app-1").expect("id"),
            spiffe_id: SpiffeId::parse("spiffe://example.org/app").expect("id"),
            selectors: selectors(Some("/system.slice/app.service")),
            iat: NOW_SECS,
        }
    );
    assert_eq!(verified.key().kid, *fixture.intermediate.kid());

    let verified = proof(&fixture, &proof_json())
        .expect("proof")
        .into_payload();
    assert_eq!(verified.pid, 4242);
    assert_eq!(verified.start_time, 123_456_789);
    assert_eq!(
        verified.measured,
        selectors(Some("/user.slice/user-1000.slice"))
    );

    let verified = removal(&fixture, &removal_json())
        .expect("removal")
        .into_payload();
    assert_eq!(verified.client.as_str(), "app-1");
}

#[test]
fn signed_payloads_round_trip() {
    let fixture = Fixture::new();
    let key = fixture.intermediate.key();
    let policy = PayloadPolicy::default();
    let def = Definition {
        v: V1,
        client: ClientId::new("web.v2_a-b").expect("id"),
        spiffe_id: SpiffeId::parse("spiffe://example.org/ns/web").expect("id"),
        selectors: selectors(None),
        iat: NOW_SECS,
    };
    let jws = sign_payload(key, &def).expect("sign");
    let back = verify_definition(&fixture.store, jws.as_bytes(), &policy, &identity(), now())
        .expect("verify");
    assert_eq!(back.payload(), &def);
    // cgroup absent is left out, not serialised as null.
    let json = serde_json::to_string(&def).expect("json");
    assert!(!json.contains("cgroup"), "{json}");
    assert!(json.starts_with(r#"{"v":1,"#), "{json}");

    let prf = Proof {
        v: V1,
        client: def.client.clone(),
        pid: 1,
        start_time: 0,
        measured: selectors(Some("/")),
        iat: NOW_SECS,
    };
    let jws = sign_payload(key, &prf).expect("sign");
    assert_eq!(
        verify_proof(&fixture.store, jws.as_bytes(), &policy, now())
            .expect("ok")
            .payload(),
        &prf
    );
    let rem = Removal {
        v: V1,
        client: def.client,
        iat: NOW_SECS,
    };
    let jws = sign_payload(key, &rem).expect("sign");
    assert_eq!(
        verify_removal(&fixture.store, jws.as_bytes(), &policy, now())
            .expect("ok")
            .payload(),
        &rem
    );
    assert_eq!(
        Sha256Hex::from_digest(&[0xab; 32]).as_str(),
        "ab".repeat(32),
        "digests print as lowercase hex"
    );
}

#[test]
fn every_definition_refusal_has_its_own_error() {
    let fixture = Fixture::new();
    let base = definition_json();
    let with = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1)
    };
    type Check = fn(&PayloadError) -> bool;
    let schema: Check = |e| matches!(e, PayloadError::Schema(_));
    let long_client = format!(r#""client": "{}""#, "a".repeat(MAX_CLIENT_ID_LEN + 1));
    let long_path = format!(r#""exe_path": "/{}""#, "a".repeat(MAX_PATH_LEN));
    let cases: Vec<(&str, String, Check)> = vec![
        (
            "unknown top-level field",
            with(r#""v": 1,"#, r#""v": 1, "admin": true,"#),
            schema,
        ),
        (
            "unknown selector",
            with(r#""uid": 1000,"#, r#""uid": 1000, "image": "x","#),
            schema,
        ),
        ("no uid", with(r#""uid": 1000, "#, ""), schema),
        ("no gid", with(r#""gid": 1000, "#, ""), schema),
        (
            "no exe_path",
            with(r#""exe_path": "/usr/bin/app", "#, ""),
            schema,
        ),
        (
            "no exe_sha256",
            with(&format!(r#""exe_sha256": "{HASH}","#), ""),
            schema,
        ),
        (
            "no selectors",
            format!(
                r#"{{"v": 1, "client": "app-1", "spiffe_id": "spiffe://example.org/app", "iat": {NOW_SECS}}}"#
            ),
            schema,
        ),
        (
            "no iat",
            base[..base.rfind(",").expect("comma")].to_owned() + "}",
            schema,
        ),
        ("version 2", with(r#""v": 1"#, r#""v": 2"#), schema),
        (
            "version as a string",
            with(r#""v": 1"#, r#""v": "1""#),
            schema,
        ),
        ("version 0", with(r#""v": 1"#, r#""v": 0"#), schema),
        ("no version", with(r#""v": 1, "#, ""), schema),
        (
            "duplicate client",
            with(
                r#""client": "app-1","#,
                r#""client": "app-1", "client": "other","#,
            ),
            schema,
        ),
        (
            "empty client",
            with(r#""client": "app-1""#, r#""client": """#),
            schema,
        ),
        (
            "long client",
            with(r#""client": "app-1""#, &long_client),
            schema,
        ),
        (
            "client with a slash",
            with(r#""client": "app-1""#, r#""client": "a/b""#),
            schema,
        ),
        (
            "client with a space",
            with(r#""client": "app-1""#, r#""client": "a b""#),
            schema,
        ),
        (
            "client with unicode",
            with(r#""client": "app-1""#, r#""client": "äpp""#),
            schema,
        ),
        (
            "client as a number",
            with(r#""client": "app-1""#, r#""client": 1"#),
            schema,
        ),
        (
            "malformed SPIFFE ID",
            with("spiffe://example.org/app", "spiffe://example.org/../app"),
            schema,
        ),
        (
            "SPIFFE ID with a query",
            with("spiffe://example.org/app", "spiffe://example.org/app?x"),
            schema,
        ),
        (
            "uppercase trust domain",
            with("spiffe://example.org/app", "spiffe://Example.org/app"),
            schema,
        ),
        (
            "relative exe_path",
            with(r#""/usr/bin/app""#, r#""usr/bin/app""#),
            schema,
        ),
        (
            "exe_path with ..",
            with(r#""/usr/bin/app""#, r#""/usr/bin/../sbin/app""#),
            schema,
        ),
        (
            "exe_path with .",
            with(r#""/usr/bin/app""#, r#""/usr/./bin/app""#),
            schema,
        ),
        (
            "exe_path with //",
            with(r#""/usr/bin/app""#, r#""/usr//bin/app""#),
            schema,
        ),
        (
            "exe_path ending in /",
            with(r#""/usr/bin/app""#, r#""/usr/bin/app/""#),
            schema,
        ),
        (
            "exe_path with NUL",
            with(r#""/usr/bin/app""#, r#""/usr/bin/app\u0000x""#),
            schema,
        ),
        (
            "exe_path too long",
            with(r#""exe_path": "/usr/bin/app""#, &long_path),
            schema,
        ),
        ("uppercase hash", with(HASH, &HASH.to_uppercase()), schema),
        ("short hash", with(HASH, &HASH[..63]), schema),
        (
            "non-hex hash",
            with(HASH, &format!("{}g", &HASH[..63])),
            schema,
        ),
        (
            "relative cgroup",
            with(r#""/system.slice/app.service""#, r#""system.slice""#),
            schema,
        ),
        (
            "null cgroup",
            with(r#""/system.slice/app.service""#, "null"),
            schema,
        ),
        (
            "negative uid",
            with(r#""uid": 1000"#, r#""uid": -1"#),
            schema,
        ),
        (
            "uid beyond 32 bits",
            with(r#""uid": 1000"#, r#""uid": 4294967296"#),
            schema,
        ),
        (
            "uid as a string",
            with(r#""uid": 1000"#, r#""uid": "1000""#),
            schema,
        ),
        (
            "uid (uid_t)-1",
            with(r#""uid": 1000"#, r#""uid": 4294967295"#),
            |e| matches!(e, PayloadError::BadId { field: "uid", .. }),
        ),
        (
            "gid (gid_t)-1",
            with(r#""gid": 1000"#, r#""gid": 4294967295"#),
            |e| matches!(e, PayloadError::BadId { field: "gid", .. }),
        ),
        ("not an object", "[1]".to_owned(), schema),
        ("trailing garbage", format!("{base} x"), schema),
        ("two documents", format!("{base}{base}"), schema),
        (
            "stale",
            with(
                &format!(r#""iat": {NOW_SECS}"#),
                &format!(r#""iat": {}"#, NOW_SECS - 61),
            ),
            |e| matches!(e, PayloadError::Stale { .. }),
        ),
        (
            "from the future",
            with(
                &format!(r#""iat": {NOW_SECS}"#),
                &format!(r#""iat": {}"#, NOW_SECS + 61),
            ),
            |e| matches!(e, PayloadError::FromFuture { .. }),
        ),
        (
            "foreign trust domain",
            with("spiffe://example.org/app", "spiffe://evil.org/app"),
            |e| matches!(e, PayloadError::ForeignTrustDomain { .. }),
        ),
        (
            "trust domain as identity",
            with("spiffe://example.org/app", "spiffe://example.org"),
            |e| matches!(e, PayloadError::NotWorkloadId(_)),
        ),
        (
            "nested 9 deep",
            with(
                r#""v": 1,"#,
                &format!(r#""v": 1, "x": {}1{},"#, "[".repeat(8), "]".repeat(8)),
            ),
            |e| matches!(e, PayloadError::Envelope(JwsError::TooDeep { .. })),
        ),
    ];
    for (name, json, expected) in cases {
        let err = definition(&fixture, &json).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.refusal(), Refusal::InvalidPayload, "{name}");
    }
    // The edges that pass: cgroup omitted, iat at max_age either way, uid 0 (root may be a client).
    for (name, json) in [
        (
            "no cgroup",
            with(
                r#",
               "cgroup": "/system.slice/app.service""#,
                "",
            ),
        ),
        (
            "iat at -60 s",
            with(
                &format!(r#""iat": {NOW_SECS}"#),
                &format!(r#""iat": {}"#, NOW_SECS - 60),
            ),
        ),
        (
            "iat at +60 s",
            with(
                &format!(r#""iat": {NOW_SECS}"#),
                &format!(r#""iat": {}"#, NOW_SECS + 60),
            ),
        ),
        ("uid 0", with(r#""uid": 1000"#, r#""uid": 0"#)),
    ] {
        definition(&fixture, &json).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
}

#[test]
fn every_proof_and_removal_refusal_has_its_own_error() {
    let fixture = Fixture::new();
    let base = proof_json();
    let with = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        base.replacen(from, to, 1)
    };
    type Check = fn(&PayloadError) -> bool;
    let cases: Vec<(&str, String, Check)> = vec![
        ("pid 0", with(r#""pid": 4242"#, r#""pid": 0"#), |e| {
            matches!(e, PayloadError::BadId { field: "pid", .. })
        }),
        (
            "pid beyond i32",
            with(r#""pid": 4242"#, r#""pid": 2147483648"#),
            |e| matches!(e, PayloadError::BadId { field: "pid", .. }),
        ),
        (
            "negative pid",
            with(r#""pid": 4242"#, r#""pid": -1"#),
            |e| matches!(e, PayloadError::Schema(_)),
        ),
        (
            "no start_time",
            with(r#""start_time": 123456789,"#, ""),
            |e| matches!(e, PayloadError::Schema(_)),
        ),
        (
            "unknown measurement",
            with(r#""uid": 1000,"#, r#""uid": 1000, "ns": 1,"#),
            |e| matches!(e, PayloadError::Schema(_)),
        ),
        (
            "measured uid (uid_t)-1",
            with(r#""uid": 1000"#, r#""uid": 4294967295"#),
            |e| matches!(e, PayloadError::BadId { field: "uid", .. }),
        ),
        (
            "a definition's fields",
            with(
                r#""pid": 4242,"#,
                r#""pid": 4242, "spiffe_id": "spiffe://example.org/app","#,
            ),
            |e| matches!(e, PayloadError::Schema(_)),
        ),
        (
            "stale",
            with(
                &format!(r#""iat": {NOW_SECS}"#),
                &format!(r#""iat": {}"#, NOW_SECS - 3600),
            ),
            |e| matches!(e, PayloadError::Stale { .. }),
        ),
    ];
    for (name, json, expected) in cases {
        let err = proof(&fixture, &json).expect_err(name);
        assert!(expected(&err), "{name}: got {err:?}");
        assert_eq!(err.refusal(), Refusal::InvalidPayload, "{name}");
    }
    for (name, json) in [
        (
            "unknown field",
            format!(r#"{{"v": 1, "client": "app-1", "iat": {NOW_SECS}, "pid": 1}}"#),
        ),
        ("no client", format!(r#"{{"v": 1, "iat": {NOW_SECS}}}"#)),
        (
            "bad client",
            format!(r#"{{"v": 1, "client": "a b", "iat": {NOW_SECS}}}"#),
        ),
    ] {
        let err = removal(&fixture, &json).expect_err(name);
        assert!(matches!(err, PayloadError::Schema(_)), "{name}: {err:?}");
    }
    let err = removal(
        &fixture,
        &format!(
            r#"{{"v": 1, "client": "app-1", "iat": {}}}"#,
            NOW_SECS + 3600
        ),
    )
    .expect_err("future");
    assert!(matches!(err, PayloadError::FromFuture { .. }));
}

#[test]
fn envelopes_are_checked_before_the_payload() {
    let mut fixture = Fixture::new();
    let policy = PayloadPolicy::default();
    let key = fixture.intermediate.key();
    // A definition is no proof: the typ binds the payload to its operation.
    let def = sign_jws(key, DEFINITION_TYP, definition_json().as_bytes()).expect("sign");
    let err = verify_proof(&fixture.store, def.as_bytes(), &policy, now()).expect_err("typ");
    assert!(matches!(err, PayloadError::Envelope(JwsError::Type { .. })));
    assert_eq!(err.refusal(), Refusal::TrustVerificationFailed);
    // Oversized: InvalidPayload, whatever it is.
    let padding = " ".repeat(MAX_PAYLOAD_JWS_LEN);
    let big = sign_jws(
        key,
        DEFINITION_TYP,
        format!("{}{padding}", definition_json()).as_bytes(),
    )
    .expect("sign");
    let err = verify_definition(&fixture.store, big.as_bytes(), &policy, &identity(), now())
        .expect_err("too large");
    assert!(matches!(
        err,
        PayloadError::Envelope(JwsError::TooLarge { .. })
    ));
    assert_eq!(err.refusal(), Refusal::InvalidPayload);
    // Unknown key (a superseded intermediate): StaleIntermediate.
    let old = fixture.rotate();
    let stale = sign_jws(old.key(), DEFINITION_TYP, definition_json().as_bytes()).expect("sign");
    let err = verify_definition(
        &fixture.store,
        stale.as_bytes(),
        &policy,
        &identity(),
        now(),
    )
    .expect_err("stale");
    assert_eq!(err.refusal(), Refusal::StaleIntermediate);
    // Unsigned junk: TrustVerificationFailed.
    let err =
        verify_definition(&fixture.store, b"a.b.c", &policy, &identity(), now()).expect_err("junk");
    assert_eq!(err.refusal(), Refusal::TrustVerificationFailed);
}

#[test]
fn the_allow_list_matches_whole_segments() {
    let allowed = IdentityPolicy {
        trust_domain: TrustDomain::new("example.org").expect("td"),
        allowed_identities: vec![
            SpiffeId::parse("spiffe://example.org/apps").expect("p"),
            SpiffeId::parse("spiffe://example.org/db/main").expect("p"),
        ],
    };
    for (id, ok) in [
        ("spiffe://example.org/apps", true),
        ("spiffe://example.org/apps/web", true),
        ("spiffe://example.org/db/main", true),
        ("spiffe://example.org/appsevil", false),
        ("spiffe://example.org/db", false),
        ("spiffe://example.org/other", false),
    ] {
        let id = SpiffeId::parse(id).expect("id");
        let result = allowed.check(&id);
        assert_eq!(result.is_ok(), ok, "{id}: {result:?}");
        if !ok {
            assert!(matches!(result, Err(PayloadError::NotAllowed(_))));
        }
    }
    let foreign = SpiffeId::parse("spiffe://example.org.evil/apps").expect("id");
    assert!(matches!(
        allowed.check(&foreign),
        Err(PayloadError::ForeignTrustDomain { .. })
    ));

    let fixture = Fixture::new();
    let jws = sign_jws(
        fixture.intermediate.key(),
        DEFINITION_TYP,
        definition_json().as_bytes(),
    )
    .expect("sign");
    let err = verify_definition(
        &fixture.store,
        jws.as_bytes(),
        &PayloadPolicy::default(),
        &allowed,
        now(),
    )
    .expect_err("spiffe://example.org/app is not allowed");
    assert!(matches!(err, PayloadError::NotAllowed(_)));
    assert_eq!(err.refusal(), Refusal::InvalidPayload);
}

#[test]
fn the_orchestrator_cannot_sign_what_the_idp_would_refuse() {
    let fixture = Fixture::new();
    let mut bad = selectors(None);
    bad.uid = u32::MAX;
    let def = Definition {
        v: V1,
        client: ClientId::new("app").expect("id"),
        spiffe_id: SpiffeId::parse("spiffe://example.org/app").expect("id"),
        selectors: bad,
        iat: NOW_SECS,
    };
    assert!(matches!(
        sign_payload(fixture.intermediate.key(), &def),
        Err(PayloadError::BadId { field: "uid", .. })
    ));
}

#[test]
fn field_types_validate_on_construction() {
    for (value, ok) in [
        ("a", true),
        ("A-z_0.9", true),
        ("", false),
        ("a b", false),
        ("a:b", false),
    ] {
        assert_eq!(ClientId::new(value).is_ok(), ok, "{value:?}");
    }
    assert_eq!(
        ClientId::new(&"a".repeat(64)).map(|c| c.to_string()),
        Ok("a".repeat(64))
    );
    assert_eq!(ClientId::new(&"a".repeat(65)), Err(InvalidField::ClientId));
    for (value, ok) in [
        ("/", true),
        ("/usr/bin/app", true),
        ("/app (deleted)", true),
        ("", false),
        ("app", false),
        ("//", false),
        ("/a/", false),
        ("/a/./b", false),
        ("/a/../b", false),
        ("/a\0b", false),
    ] {
        assert_eq!(AbsolutePath::new(value).is_ok(), ok, "{value:?}");
    }
    assert!(Sha256Hex::new(HASH).is_ok());
    assert_eq!(
        Sha256Hex::new(&HASH.to_uppercase()),
        Err(InvalidField::Sha256)
    );
}
