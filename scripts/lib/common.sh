# shellcheck shell=bash
# shellcheck disable=SC2034  # variables here are used by the scripts that source this file
# Sourced by scripts/*.sh. Expects ROOT (the repository root) to be set by the caller.
# Defaults for the state dir, the cache dir, ports and credentials; helpers for logging and processes.

: "${SMTP_WASM_STATE:=${TMPDIR:-/tmp}/smtp-wasm-state}"
: "${SMTP_WASM_CACHE:=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/smtp-wasm}"
: "${SMTP_WASM_HOST:=127.0.0.1}"
: "${SMTP_WASM_USER:=alice}"
: "${SMTP_WASM_PASS:=secret}"
: "${SMTP_WASM_DOMAIN:=example.test}"
: "${SMTP_WASM_XOAUTH2_TOKEN:=test-token}"
# ports (all on loopback)
: "${SMTP_WASM_POSTFIX_PORT:=2525}"               # postfix STARTTLS (also [::1] when the host has IPv6 loopback)
: "${SMTP_WASM_POSTFIX_TLS_PORT:=2466}"           # postfix implicit TLS
: "${SMTP_WASM_SMTP_SERVER_PORT:=2526}"           # smtp-server STARTTLS, AUTH required (only after TLS)
: "${SMTP_WASM_SMTP_SERVER_TLS_PORT:=2465}"       # smtp-server implicit TLS, AUTH required
: "${SMTP_WASM_SMTP_SERVER_LMTP_PORT:=2527}"      # smtp-server LMTP, plaintext, AUTH optional
: "${SMTP_WASM_SMTP_SERVER_EXPIRED_PORT:=2535}"   # smtp-server STARTTLS serving the EXPIRED leaf
: "${SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT:=2536}" # smtp-server STARTTLS serving the leaf for wrong.example
: "${SMTP_WASM_AIOSMTPD_PORT:=2528}"              # aiosmtpd STARTTLS required, AUTH PLAIN/LOGIN
: "${SMTP_WASM_SINK_PORT:=2600}"                  # postfix smtp-sink, plaintext
: "${SMTP_WASM_RUST_SERVER_PORT:=2700}"           # our own Rust server (tests/real_clients.rs), where postfix relays
: "${SMTP_WASM_RELAY_DOMAIN:=rust-server.test}"   # recipients @ this domain: postfix relays them to that port
: "${SMTP_WASM_WS_PORT:=8025}"                    # websockify -> smtp-server STARTTLS port
: "${SMTP_WASM_WS_POSTFIX_PORT:=8026}"            # websockify -> postfix STARTTLS port

ALL_SERVERS="postfix smtp-server aiosmtpd smtp-sink websockify"

TEST_SERVERS_DIR=$ROOT/test-servers
TOOLS_DIR=$ROOT/tools
VENV=$SMTP_WASM_CACHE/venv
CERTS=$SMTP_WASM_STATE/certs
RUN=$SMTP_WASM_STATE/run

_me=$(basename "$0")
log() { printf '[%s] %s\n' "$_me" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$_me" "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------- apt
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -y -q)
_APT_UPDATED=0
apt_update_once() {
  [ "$_APT_UPDATED" = 1 ] && return 0
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" update -qq >&2 || die "apt-get update failed"
  _APT_UPDATED=1
}
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing_pkgs() { local p; for p in "$@"; do pkg_installed "$p" || printf '%s ' "$p"; done; }
# apt_install [--recommends] PKG...: install what is missing, keeping apt from starting daemons (no systemd here)
apt_install() {
  local rec=--no-install-recommends
  if [ "${1:-}" = --recommends ]; then rec=; shift; fi
  local miss; miss=$(missing_pkgs "$@")
  [ -n "$miss" ] || return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install $miss"
  log "apt-get install $miss"
  apt_update_once
  local made=0 rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made=1
  fi
  local alog=${TMPDIR:-/tmp}/smtp-wasm-apt.log
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install $rec $miss > "$alog" 2>&1 || rc=$?
  [ "$made" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ "$rc" != 0 ]; then tail -n 30 "$alog" >&2; die "apt-get install $miss failed ($rc); log: $alog"; fi
  miss=$(missing_pkgs "$@")
  [ -z "$miss" ] || die "still missing after apt-get install: $miss"
}

# ---------------------------------------------------------------------------------------------- npm
# npm_ci DIR: `npm ci` in DIR (which has a committed package.json + package-lock.json) unless the installed tree
# already matches the lock file (stamp with the lock file's hash).
npm_ci() {
  local dir=$1 sum stamp
  have npm || die "npm not found (Node >= 20 with npm must be on PATH)"
  [ -f "$dir/package-lock.json" ] || die "$dir/package-lock.json missing"
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  stamp=$dir/node_modules/.smtp-wasm-lock-sha256
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then return 0; fi
  log "npm ci in ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --prefer-offline) || die "npm ci in $dir failed"
  echo "$sum" > "$stamp"
}

# ---------------------------------------------------------------------------------------------- state
# The state dir and every folder above it must be enterable by the postfix/nobody users.
state_init() {
  mkdir -p "$SMTP_WASM_STATE" || die "cannot create $SMTP_WASM_STATE"
  SMTP_WASM_STATE=$(cd "$SMTP_WASM_STATE" && pwd)
  CERTS=$SMTP_WASM_STATE/certs
  RUN=$SMTP_WASM_STATE/run
  chmod 755 "$SMTP_WASM_STATE"
  local d=$SMTP_WASM_STATE
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    [ $(( $(stat -c %a "$d") % 2 )) -eq 1 ] || die "$d (mode $(stat -c %a "$d")) is not enterable by other users: postfix cannot reach $SMTP_WASM_STATE; set SMTP_WASM_STATE under /tmp"
  done
  mkdir -p "$RUN"
  export SMTP_WASM_STATE
}

# Quote a value for a single-quoted shell assignment
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
