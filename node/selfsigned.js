// A throwaway certificate authority and a server certificate signed by it, made with node:crypto alone (no openssl
// binary, which not every user's machine or container has): ECDSA P-256 keys from generateKeyPairSync, the X.509
// DER written here, signatures from crypto.sign. A CA plus a leaf (rather than one self-signed leaf) because
// rustls-based clients (Deno, our own) refuse a CA certificate used as the server's own (CaUsedAsEndEntity), and
// webpki wants the leaf to chain to a trust anchor; the CA's PEM is what a client trusts (`--ca`, swaks
// --tls-ca-path, curl --cacert, NODE_EXTRA_CA_CERTS).
import crypto from "node:crypto";
import net from "node:net";

// ---------------------------------------------------------------------------------------------- DER encoding
function len(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...parts) => tlv(0x30, ...parts);
const set = (...parts) => tlv(0x31, ...parts);
const ctx = (n, ...parts) => tlv(0xa0 + n, ...parts); // [n] EXPLICIT, constructed
const int = (buf) => tlv(0x02, buf[0] & 0x80 ? Buffer.concat([Buffer.from([0]), buf]) : buf);
const bool = (v) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (buf) => tlv(0x04, buf);
const bits = (buf) => tlv(0x03, Buffer.from([0]), buf);
const utf8 = (s) => tlv(0x0c, Buffer.from(s, "utf8"));
function oid(text) {
  const [a, b, ...rest] = text.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const stack = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) stack.unshift(0x80 | (v & 0x7f));
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}
function time(date) {
  // UTCTime up to 2049 (RFC 5280 4.1.2.5), GeneralizedTime after.
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}
const name = (cn, org) =>
  seq(set(seq(oid("2.5.4.10"), utf8(org))), set(seq(oid("2.5.4.3"), utf8(cn))));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const ext = (id, critical, value) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function ipBytes(text) {
  if (net.isIPv4(text)) return Buffer.from(text.split(".").map(Number));
  // IPv6: expand "::".
  const [head, tail = ""] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = text.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function certificate({ subject, issuer, publicKey, signingKey, serial, days, ca, names }) {
  const now = new Date(Date.now() - 60_000);
  const until = new Date(now.getTime() + days * 86_400_000);
  const spki = publicKey.export({ type: "spki", format: "der" });
  const keyId = crypto.createHash("sha1").update(spki).digest();
  const extensions = [ext("2.5.29.14", false, octets(keyId))];
  if (ca) {
    extensions.push(ext("2.5.29.19", true, seq(bool(true))));
    extensions.push(ext("2.5.29.15", true, bits(Buffer.from([0x06])))); // keyCertSign, cRLSign
  } else {
    extensions.push(ext("2.5.29.19", true, seq()));
    extensions.push(ext("2.5.29.15", true, bits(Buffer.from([0x80])))); // digitalSignature
    extensions.push(ext("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1")))); // serverAuth
    const alt = names.map((n) =>
      net.isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, "ascii")),
    );
    extensions.push(ext("2.5.29.17", false, seq(...alt)));
  }
  const tbs = seq(
    ctx(0, int(Buffer.from([2]))), // v3
    int(serial),
    ECDSA_SHA256,
    issuer,
    seq(time(now), time(until)),
    subject,
    spki,
    ctx(3, seq(...extensions)),
  );
  const signature = crypto.sign("sha256", tbs, { key: signingKey, dsaEncoding: "der" });
  return seq(tbs, ECDSA_SHA256, bits(signature));
}

const pem = (label, der) =>
  `-----BEGIN ${label}-----\n${der.toString("base64").match(/.{1,64}/g).join("\n")}\n-----END ${label}-----\n`;

/**
 * A CA and a server certificate for `names` (host names and IP addresses), valid for `days`.
 * Returns PEM strings: `ca` (trust this), `cert` (the chain, leaf first), `key` (the leaf's PKCS#8 key).
 */
export function makeSelfSignedCertificates({ names = ["localhost", "127.0.0.1", "::1"], days = 30 } = {}) {
  const serial = () => {
    // A positive INTEGER in minimal DER: the top bit clear (else it reads as negative) and the first byte never 0
    // (a leading zero octet before one under 0x80 is "illegal padding" to OpenSSL: one certificate in 256 refused).
    const b = crypto.randomBytes(12);
    b[0] = (b[0] & 0x7f) | 0x01;
    return b;
  };
  const org = "smtp-wasm serve";
  const caKeys = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const caName = name(`smtp-wasm serve CA ${crypto.randomBytes(4).toString("hex")}`, org);
  const caDer = certificate({
    subject: caName, issuer: caName, publicKey: caKeys.publicKey, signingKey: caKeys.privateKey,
    serial: serial(), days, ca: true, names: [],
  });
  const leafKeys = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const leafDer = certificate({
    subject: name(names[0], org), issuer: caName, publicKey: leafKeys.publicKey, signingKey: caKeys.privateKey,
    serial: serial(), days, ca: false, names,
  });
  const ca = pem("CERTIFICATE", caDer);
  return {
    ca,
    cert: pem("CERTIFICATE", leafDer) + ca,
    key: leafKeys.privateKey.export({ type: "pkcs8", format: "pem" }),
  };
}
