#!/usr/bin/env bash
# The main job, with no configuration: start a local Postfix (STARTTLS on a test CA made at start, Dovecot SASL),
# send one real message through it with smtp-wasm (STARTTLS verified against that CA, then AUTH), print the
# transcript (AUTH redacted) and the message as Postfix stored it.
#
#   scripts/demo.sh [--keep-servers]
#
# Installs what it needs first (idempotent). Stops the servers it started unless --keep-servers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
cd "$ROOT"
KEEP=0
for arg in "$@"; do
  case $arg in
    --keep-servers) KEEP=1 ;;
    --once) ;; # the default for this native demo: send once and exit
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg'" ;;
  esac
done

"$ROOT/scripts/setup.sh" rust servers
export PATH=$HOME/.cargo/bin:$PATH
started=0
if ! "$ROOT/scripts/servers.sh" status 2>/dev/null | grep -q '^postfix: up'; then
  "$ROOT/scripts/servers.sh" up postfix
  started=1
fi
stop() { if [ "$started" = 1 ] && [ "$KEEP" != 1 ]; then "$ROOT/scripts/servers.sh" down postfix >/dev/null 2>&1 || true; fi; }
trap stop EXIT
# shellcheck disable=SC1091
. "$SMTP_WASM_STATE/env.sh"

marker="demo-$(date +%s)-$$"
message=$(mktemp)
printf 'From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: Hello from smtp-wasm (%s)\r\nDate: %s\r\nMessage-ID: <%s@smtp-wasm.demo>\r\n\r\nThis message left smtp-wasm encrypted (STARTTLS, rustls inside the library)\r\nand was delivered by a real Postfix on 127.0.0.1.\r\n' \
  "$marker" "$(date -R)" "$marker" > "$message"

echo "== sending through Postfix on 127.0.0.1:$SMTP_WASM_POSTFIX_PORT (STARTTLS required, AUTH as $SMTP_WASM_USER)"
cargo run -q --release --example send -- \
  --server "127.0.0.1:$SMTP_WASM_POSTFIX_PORT" --server-name localhost --tls starttls --ca "$SMTP_WASM_CA" \
  --user "$SMTP_WASM_USER" --password "$SMTP_WASM_PASS" \
  --from alice@example.test --to bob@example.test --message "$message"
rm -f "$message"

for _ in $(seq 1 100); do
  file=$(grep -l "$marker" "$SMTP_WASM_POSTFIX_MAILDIR"/new/* 2>/dev/null | head -n 1 || true)
  [ -n "$file" ] && break
  sleep 0.1
done
[ -n "${file:-}" ] || die "the message did not arrive in $SMTP_WASM_POSTFIX_MAILDIR/new"
echo
echo "== delivered: $file"
cat "$file"
