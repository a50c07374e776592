//! Fuzz target: JWS and JWT verification. The input is tried as a whole compact JWS/JWT, and
//! also signed for real by the current intermediate (as a payload, and as a header), so the
//! checks after the signature (nesting, schemas, claims, freshness) see fuzzed input too.
#![no_main]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyward_trust::jws::{sign_jws, verify_jws, JwsLimits};
use keyward_trust::payload::{DEFINITION_TYP, PROOF_TYP, REMOVAL_TYP};
use keyward_trust::spiffe::TrustDomain;
use keyward_trust::{
    verify_definition, verify_proof, verify_removal, verify_token, IdentityPolicy, PayloadPolicy,
    TokenPolicy,
};
use libfuzzer_sys::fuzz_target;

fn all_verifiers(compact: &[u8]) {
    let world = common::world();
    let store = &world.store;
    let now = world.now;
    let payload = PayloadPolicy::default();
    let identity = IdentityPolicy {
        trust_domain: TrustDomain::new("example.org").expect("td"),
        allowed_identities: vec![],
    };
    let _ = verify_definition(store, compact, &payload, &identity, now);
    let _ = verify_proof(store, compact, &payload, now);
    let _ = verify_removal(store, compact, &payload, now);
    let _ = verify_token(store, compact, &TokenPolicy::default(), now);
    let _ = verify_jws(store, compact, "JWT", &JwsLimits::default(), now);
}

fuzz_target!(|data: &[u8]| {
    let world = common::world();
    let key = world.intermediate.key();
    all_verifiers(data);
    for typ in [DEFINITION_TYP, PROOF_TYP, REMOVAL_TYP, "JWT"] {
        let signed = sign_jws(key, typ, data).expect("sign");
        all_verifiers(signed.as_bytes());
    }
    // The input as the protected header, validly signed.
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(data),
        URL_SAFE_NO_PAD.encode(b"{}")
    );
    let signature = key.sign(input.as_bytes()).expect("sign");
    let compact = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
    all_verifiers(compact.as_bytes());
});
