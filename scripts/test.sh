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
echo "== the libraries are publishable (packaged, then built from the package alone)"
cargo package -p keyward-protocol -p keyward-client --locked --allow-dirty --quiet
echo "== library docs build without warnings"
RUSTDOCFLAGS="-D warnings" cargo doc -p keyward-protocol -p keyward-client --no-deps --all-features --locked --quiet
echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary, the last often "0 passed").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "Summary: %d passed, %d failed\n", p, f }' "$log"
