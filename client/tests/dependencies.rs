//! The library stays lean: no command-line crate and no async runtime enters the normal
//! (linked) dependencies of keyward-client, with default features or with all of them.
//! Reads `cargo tree`, so it checks what Cargo would really build for an application.

use std::collections::BTreeMap;
use std::process::Command;

/// Crates only the `keyward` CLI (keyward-cli) may use.
const CLI_ONLY: &[&str] = &[
    "clap",
    "anyhow",
    "base64",
    "serde",
    "serde_json",
    "keyward-cli",
];
/// tokio features that would bring a runtime, signals or files into an application's build.
const HEAVY_TOKIO: &[&str] = &["rt", "rt-multi-thread", "macros", "signal", "fs", "process"];

/// Linked crates (name → enabled features) of keyward-client with `features`. Proc macros
/// and their dependencies run at build time only and are left out.
fn linked_crates(features: &[&str]) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "-p",
            "keyward-client",
            "-e",
            "normal,no-proc-macro",
        ])
        .args(["--prefix", "none", "--format", "{p}|{f}"])
        .args(features)
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    text.lines()
        .filter_map(|line| {
            let (package, features) = line.split_once('|')?;
            let name = package.split_whitespace().next()?;
            Some((
                name.to_owned(),
                features.trim_end_matches(" (*)").to_owned(),
            ))
        })
        .collect()
}

#[test]
fn default_build_has_no_cli_crates_and_no_tokio() {
    let crates = linked_crates(&[]);
    assert!(
        crates.contains_key("keyward-protocol") && crates.len() > 10,
        "the tree was not read: {crates:?}"
    );
    for name in CLI_ONLY.iter().chain(&["tokio", "rustls", "rcgen"]) {
        assert!(
            !crates.contains_key(*name),
            "{name} is a dependency: {crates:?}"
        );
    }
}

#[test]
fn all_features_add_no_cli_crates_and_only_tokio_io() {
    let crates = linked_crates(&["--all-features"]);
    for name in CLI_ONLY {
        assert!(
            !crates.contains_key(*name),
            "{name} is a dependency: {crates:?}"
        );
    }
    let tokio = crates.get("tokio").expect("the tokio feature brings tokio");
    let features: Vec<&str> = tokio.split(',').collect();
    for heavy in HEAVY_TOKIO {
        assert!(
            !features.contains(heavy),
            "tokio feature {heavy} enabled: {tokio}"
        );
    }
    assert!(crates.contains_key("rustls") && crates.contains_key("rcgen"));
}
