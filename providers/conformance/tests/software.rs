//! The conformance suite against the software provider: at the default `min_rsa_bits` (RSA-1024
//! cases must be skipped, not passed) and with it lowered to 1024 (they must pass).
#![allow(clippy::unwrap_used, reason = "tests fail loudly on unexpected errors")]

use keyward_provider_conformance::run;
use keyward_provider_software::{MasterKey, SoftwareConfig, SoftwareProvider};

fn provider(min_rsa_bits: u32) -> SoftwareProvider {
    SoftwareProvider::new(
        &MasterKey::generate().unwrap(),
        SoftwareConfig {
            min_rsa_bits,
            ..SoftwareConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn software_provider_conforms_at_the_default_min_rsa_bits() {
    let report = run(&provider(2048));
    println!("{report}");
    assert!(report.failed.is_empty(), "{report}");
    assert!(report.passed.len() >= 39, "too few cases passed: {report}");
    for (name, why) in &report.skipped {
        assert!(name.contains("rsa1024"), "unexpected skip {name}: {why}");
    }
    assert_eq!(report.skipped.len(), 5, "{report}");
}

#[test]
fn software_provider_conforms_with_rsa_1024_enabled() {
    let report = run(&provider(1024));
    println!("{report}");
    assert!(report.failed.is_empty(), "{report}");
    assert!(report.skipped.is_empty(), "{report}");
    assert!(report.passed.len() >= 44, "too few cases passed: {report}");
}
