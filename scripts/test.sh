#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and end-to-end tests against real daemons.
# This is the command README.md gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== build the daemons the e2e tests spawn"
cargo build --workspace --bins --locked
echo "== tests"
cargo test --workspace --locked
