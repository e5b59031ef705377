#!/usr/bin/env bash
# Test PKI for the loopback servers, written to $SMTP_WASM_STATE/certs (never committed). Idempotent: existing
# files are kept while the leaf is valid for at least another day; delete the folder to start over.
#
#   ca.pem / ca-key.pem                          test CA (CA:TRUE) - the only trust anchor tests should use
#   cert.pem, key.pem, fullchain.pem             leaf, CA:FALSE, SAN localhost, 127.0.0.1, ::1 (fullchain = leaf+CA)
#   expired-cert.pem, expired-key.pem, expired-fullchain.pem
#                                                same names, signed by the CA, valid 2020-01-01..2021-01-01
#   wrong-name-cert.pem, wrong-name-key.pem, wrong-name-fullchain.pem
#                                                valid, signed by the CA, SAN only DNS:wrong.example
#
# (rustls and Deno reject a self-signed CA certificate used as the server certificate: always serve a leaf.)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
. "$ROOT/scripts/lib/common.sh"
have openssl || die "openssl not found (scripts/setup.sh servers)"
state_init
mkdir -p "$CERTS"
cd "$CERTS"

complete() {
  local f
  for f in ca.pem ca-key.pem cert.pem key.pem fullchain.pem expired-cert.pem expired-key.pem expired-fullchain.pem \
           wrong-name-cert.pem wrong-name-key.pem wrong-name-fullchain.pem; do
    [ -s "$f" ] || return 1
  done
  openssl x509 -in cert.pem -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl x509 -in ca.pem -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl verify -CAfile ca.pem cert.pem >/dev/null 2>&1
}
if complete; then log "certs present in $CERTS"; exit 0; fi

log "making a test CA and leaves in $CERTS"
rm -rf "$CERTS/.work"; mkdir -p "$CERTS/.work"; W=$CERTS/.work
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/ca-key.pem" -out "$W/ca.pem" -days 3650 \
  -subj "/CN=smtp-wasm test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash" 2>/dev/null

# `openssl ca` lets us set explicit start/end dates (for the expired leaf) with OpenSSL 3.0
mkdir -p "$W/db"; : > "$W/db/index.txt"; echo 1000 > "$W/db/serial"
cat > "$W/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $W/db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $W/ca.pem
private_key = $W/ca-key.pem
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ any ]
commonName = supplied
[ leaf_localhost ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
[ leaf_wrong ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
CNF
# leaf NAME CN EXT_SECTION DATE_ARGS...
leaf() {
  local name=$1 cn=$2 ext=$3; shift 3
  openssl req -newkey rsa:2048 -nodes -keyout "$W/$name-key.pem" -out "$W/$name.csr" -subj "/CN=$cn" 2>/dev/null
  openssl ca -batch -notext -config "$W/ca.cnf" -extensions "$ext" -in "$W/$name.csr" -out "$W/$name-cert.pem" \
    "$@" 2>/dev/null || die "signing $name failed"
  cat "$W/$name-cert.pem" "$W/ca.pem" > "$W/$name-fullchain.pem"
}
# valid from yesterday (tolerates clock skew) for 825 days
FROM=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ); UNTIL=$(date -u -d '+824 days' +%Y%m%d%H%M%SZ)
leaf leaf localhost leaf_localhost -startdate "$FROM" -enddate "$UNTIL"
leaf expired localhost leaf_localhost -startdate 20200101000000Z -enddate 20210101000000Z
leaf wrong-name wrong.example leaf_wrong -startdate "$FROM" -enddate "$UNTIL"
mv "$W/leaf-key.pem" "$W/key.pem"; mv "$W/leaf-cert.pem" "$W/cert.pem"; mv "$W/leaf-fullchain.pem" "$W/fullchain.pem"

openssl verify -CAfile "$W/ca.pem" "$W/cert.pem" >/dev/null || die "leaf does not verify"
openssl verify -CAfile "$W/ca.pem" -verify_hostname wrong.example "$W/wrong-name-cert.pem" >/dev/null \
  || die "wrong-name leaf does not verify for wrong.example"
! openssl verify -CAfile "$W/ca.pem" "$W/expired-cert.pem" >/dev/null 2>&1 || die "expired leaf verifies?"

for f in ca.pem ca-key.pem cert.pem key.pem fullchain.pem expired-cert.pem expired-key.pem expired-fullchain.pem \
         wrong-name-cert.pem wrong-name-key.pem wrong-name-fullchain.pem; do
  mv -f "$W/$f" "$CERTS/$f"
done
rm -rf "$W"
# test keys only: the daemons read them after dropping privileges
chmod 644 "$CERTS"/*.pem
chmod 755 "$CERTS"
log "certs written to $CERTS"
