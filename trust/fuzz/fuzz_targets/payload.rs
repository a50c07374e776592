//! Fuzz target: the payload schemas, token claims and SPIFFE IDs on their own (no envelope),
//! checking that whatever parses re-serialises to something that parses to the same value.
#![no_main]

use keyward_trust::{Definition, Proof, Removal, SpiffeId, TokenClaims};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&value).expect("serialises");
        let again: T = serde_json::from_slice(&json).expect("re-parses");
        assert_eq!(again, value);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Definition>(data);
    round_trip::<Proof>(data);
    round_trip::<Removal>(data);
    round_trip::<TokenClaims>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(id) = SpiffeId::parse(text) {
            assert_eq!(id.as_str(), text);
            assert_eq!(SpiffeId::parse(id.as_str()).as_ref(), Ok(&id));
            assert!(id.as_str().len() <= keyward_trust::spiffe::MAX_SPIFFE_ID_LEN);
            assert!(id
                .trust_domain()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b)));
        }
    }
});
