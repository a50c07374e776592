#!/usr/bin/env bash
# Side-by-side benchmark against the reference: builds Parsec 1.5.0 and parsec-tool from
# crates.io into a local directory, starts Parsec (Mbed Crypto provider, Unix peer credentials,
# SQLite key mappings, private socket) once per `idle_listener_sleep_duration` (its default
# 10 ms, then 0), runs keyward-bench against it with --endpoint, runs keyward-bench against
# keywardd, and prints the comparison. Outside CI: the Parsec build takes minutes.
#
# Environment: PARSEC_ROOT (install dir, default target/parsec), PARSEC_SLEEPS (default "10 0"),
# DURATION (seconds per run, default 3), CLIENTS (default 1,8), REPEAT (default 1),
# OUT (reports, default target/bench-results), BENCH_ARGS (more keyward-bench options).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=${PARSEC_ROOT:-$REPO/target/parsec}
SLEEPS=${PARSEC_SLEEPS:-"10 0"}
DURATION=${DURATION:-3}
CLIENTS=${CLIENTS:-1,8}
REPEAT=${REPEAT:-1}
OUT=${OUT:-$REPO/target/bench-results}
read -r -a EXTRA <<<"${BENCH_ARGS:-}"

# Parsec's Mbed Crypto provider builds Mbed TLS with cmake and binds it with bindgen (libclang).
if ! command -v cmake >/dev/null || ! command -v clang >/dev/null; then
    echo "== installing cmake and clang"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q cmake clang libclang-dev
fi

if [ ! -x "$ROOT/bin/parsec" ]; then
    echo "== building Parsec 1.5.0 into $ROOT"
    cargo install --locked parsec-service --version 1.5.0 \
        --features mbed-crypto-provider,unix-peer-credentials-authenticator --root "$ROOT"
fi
if [ ! -x "$ROOT/bin/parsec-tool" ]; then
    echo "== building parsec-tool into $ROOT"
    cargo install --locked parsec-tool --root "$ROOT"
fi

echo "== building keywardd and keyward-bench"
cargo build --release -p keywardd -p keyward-bench
BENCH=$REPO/target/release/keyward-bench
mkdir -p "$OUT"

COMMON=(--duration "$DURATION" --clients "$CLIENTS" --repeat "$REPEAT" --no-audit-cost "${EXTRA[@]}")

echo "== keywardd"
"$BENCH" --label keywardd "${COMMON[@]}" --out "$OUT/keywardd.json"

PARSEC_PID=""
WORK=""
stop_parsec() {
    if [ -n "$PARSEC_PID" ]; then
        kill "$PARSEC_PID" 2>/dev/null || true
        wait "$PARSEC_PID" 2>/dev/null || true
        PARSEC_PID=""
    fi
    if [ -n "$WORK" ]; then
        rm -rf "$WORK"
        WORK=""
    fi
}
trap stop_parsec EXIT

REPORTS=("$OUT/keywardd.json")
for sleep_ms in $SLEEPS; do
    WORK=$(mktemp -d -t parsec-bench.XXXXXX)
    mkdir -m 0755 "$WORK/run"
    ALLOW_ROOT=false
    [ "$(id -u)" = 0 ] && ALLOW_ROOT=true
    cat >"$WORK/config.toml" <<EOF
[core_settings]
# Parsec refuses to run as root unless told otherwise.
allow_root = $ALLOW_ROOT
log_level = "error"
# Its accept loop is non-blocking and sleeps this long (ms) when no connection is waiting.
idle_listener_sleep_duration = $sleep_ms

[listener]
listener_type = "DomainSocket"
timeout = 200
socket_path = "$WORK/run/parsec.sock"

[authenticator]
auth_type = "UnixPeerCredentials"

[[key_manager]]
name = "sqlite-manager"
manager_type = "SQLite"
sqlite_db_path = "$WORK/kim-mappings.sqlite3"

[[provider]]
name = "mbed-crypto-provider"
provider_type = "MbedCrypto"
key_info_manager = "sqlite-manager"
EOF
    echo "== Parsec 1.5.0, idle_listener_sleep_duration = $sleep_ms ms"
    # Mbed Crypto keeps key material in the working directory.
    (cd "$WORK" && exec "$ROOT/bin/parsec" --config "$WORK/config.toml" >"$WORK/parsec.log" 2>&1) &
    PARSEC_PID=$!
    for _ in $(seq 1 200); do
        [ -S "$WORK/run/parsec.sock" ] && break
        sleep 0.05
    done
    if [ ! -S "$WORK/run/parsec.sock" ]; then
        echo "Parsec did not start; its log:" >&2
        cat "$WORK/parsec.log" >&2
        exit 1
    fi
    PARSEC_SERVICE_ENDPOINT="unix:$WORK/run/parsec.sock" "$ROOT/bin/parsec-tool" ping
    "$BENCH" --endpoint "unix:$WORK/run/parsec.sock" --pid "$PARSEC_PID" \
        --label "parsec-1.5.0-sleep-${sleep_ms}ms" --mode per-request "${COMMON[@]}" \
        --out "$OUT/parsec-sleep-${sleep_ms}ms.json"
    REPORTS+=("$OUT/parsec-sleep-${sleep_ms}ms.json")
    stop_parsec
done

echo "== comparison"
"$BENCH" --compare "${REPORTS[@]}" | tee "$OUT/comparison.md"
