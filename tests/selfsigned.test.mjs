// The throwaway CA and leaf of `smtp-wasm serve --tls-self-signed` (node/selfsigned.js) parse in OpenSSL (Node's
// X509Certificate) whatever the random bytes: a serial number is a minimal DER INTEGER.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";

import { makeSelfSignedCertificates } from "../node/selfsigned.js";

function pems(text) {
  return text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
}

test("serial numbers starting with zero bytes or the top bit set still give valid certificates", (t) => {
  for (const first of [0x00, 0x7f, 0x80, 0xff]) {
    // The serial is the only 12-byte draw: force its first two bytes (0x00 0x10 was "illegal padding").
    t.mock.method(crypto, "randomBytes", (n) => {
      const b = Buffer.alloc(n, 0x5a);
      if (n === 12) [b[0], b[1]] = [first, 0x10];
      return b;
    });
    const { ca, cert } = makeSelfSignedCertificates();
    t.mock.restoreAll();
    const [leaf, issuer] = pems(cert);
    const x509 = new crypto.X509Certificate(leaf);
    const root = new crypto.X509Certificate(ca);
    assert.ok(issuer, "the chain has the CA after the leaf");
    assert.ok(x509.checkIssued(root) && x509.verify(root.publicKey), `leaf signed by the CA (first byte ${first})`);
    assert.match(x509.serialNumber, /^[0-7]/, "a positive serial");
    assert.ok(x509.checkHost("localhost") && x509.checkIP("127.0.0.1"));
  }
});

test("a hundred fresh certificates all parse", () => {
  for (let i = 0; i < 100; i++) {
    const { ca, cert } = makeSelfSignedCertificates();
    for (const pem of [ca, ...pems(cert)]) new crypto.X509Certificate(pem);
  }
});
