#!/usr/bin/env bash
# Builds the go-smtp reference peers (server/ and client/) offline, in GOPATH mode against Debian's go-smtp and
# go-sasl sources (scripts/setup.sh servers installs them; the Go module proxy is not reachable here). Builds once
# into $SMTP_WASM_CACHE/gosmtp/<hash of the sources>/ and reuses that; prints the bin directory.
#
#   test-servers/gosmtp/build.sh        -> .../gosmtp/<hash>   (holds gosmtp-server and gosmtp-client)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SMTP_WASM_CACHE:=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/smtp-wasm}"
GOPATH_DEB=/usr/share/gocode
command -v go >/dev/null || { echo "go not found: scripts/setup.sh servers" >&2; exit 1; }
[ -d "$GOPATH_DEB/src/github.com/emersion/go-smtp" ] || { echo "go-smtp sources missing: scripts/setup.sh servers" >&2; exit 1; }
sum=$(cat "$HERE/server/main.go" "$HERE/client/main.go" | sha256sum | cut -c1-16)
out=$SMTP_WASM_CACHE/gosmtp/$sum
if [ ! -x "$out/gosmtp-server" ] || [ ! -x "$out/gosmtp-client" ]; then
  mkdir -p "$out" "$SMTP_WASM_CACHE/gosmtp/gocache"
  for p in server client; do
    (cd "$HERE/$p" && GO111MODULE=off GOPATH=$GOPATH_DEB GOCACHE=$SMTP_WASM_CACHE/gosmtp/gocache GOFLAGS= \
      go build -o "$out/gosmtp-$p.tmp" . && mv "$out/gosmtp-$p.tmp" "$out/gosmtp-$p") >&2
  done
fi
echo "$out"
