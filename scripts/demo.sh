#!/usr/bin/env bash
# The main job, with no configuration. Installs what it needs (skipping what is there), builds the npm package if
# its sources changed, then starts on 127.0.0.1:
#   - our own SMTP server (smtp-wasm/server, as `smtp-wasm serve` runs it): STARTTLS and implicit TLS on a test CA
#     made at start, AUTH alice / secret; it keeps what it receives in a Maildir (a temporary folder) and serves its
#     web inbox; the page shows that inbox;
#   - the package's WebSocket-to-TCP bridge (smtp-wasm/bridge), allowed to reach only that server;
#   - a static server for www/ (the browser demo) with the built package under /smtp-wasm/.
# It first sends one message headlessly from Node through the package (STARTTLS, AUTH) and prints the transcript
# (AUTH redacted) and the server's final reply, then prints the page's URL and serves until Ctrl-C.
#
#   scripts/demo.sh [--once] [--http-port N] [--bridge-port N] [--smtp-port N] [--smtps-port N] [--quiet]
#
#   --once   stop after the headless send: exit 0 if the server received the message
# Ports default to 8480 (page), 8481 (bridge), 2587 (STARTTLS), 2588 (implicit TLS); a busy port falls back to a
# free one. Environment: SMTP_WASM_DEMO_NO_SETUP=1 skips the install/build step (the package must be built).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
cd "$ROOT"

for arg in "$@"; do
  case $arg in
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    --keep-servers) ;; # accepted for compatibility: the demo's servers live exactly as long as this command
  esac
done
args=()
for arg in "$@"; do [ "$arg" = --keep-servers ] || args+=("$arg"); done

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' Cargo.toml)
export PATH=$HOME/.cargo/bin:$PATH

if [ "${SMTP_WASM_DEMO_NO_SETUP:-0}" != 1 ]; then
  have node || die "node not found (Node >= 20 with npm must be on PATH)"
  have openssl || apt_install openssl
  # The toolchain that builds the package: rustup target, clang, the pinned wasm-bindgen CLI.
  "$ROOT/scripts/setup.sh" rust
  if ! { have wasm-bindgen && wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; }; then
    log "cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION (a few minutes cold)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  npm_ci "$ROOT"        # the package's own dependencies (ws for the bridge; tsc, binaryen to build)
  # Build the package when dist/ is missing or older than any of its sources.
  stamp=dist/.demo-build-stamp
  if [ ! -f dist/node.js ] || [ ! -f "$stamp" ] \
     || [ -n "$(find src ts Cargo.toml Cargo.lock package.json tsconfig.json scripts/build-npm.sh -newer "$stamp" -print -quit)" ]; then
    log "building the npm package (npm run build)"
    npm run --silent build
    touch "$stamp"
  fi
fi
[ -f dist/node.js ] && [ -f dist/server/node.js ] || die "the package is not built (dist/node.js or dist/server/node.js missing): run npm run build"

exec node "$ROOT/demo/server.mjs" "${args[@]}"
