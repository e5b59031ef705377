// Just enough DER to show a certificate's subject, issuer and validity: the page needs no X.509 library.
// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, ... }

function readTlv(bytes, offset) {
  if (offset + 2 > bytes.length) throw new Error("truncated DER");
  const tag = bytes[offset];
  let len = bytes[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > bytes.length) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    start += n;
  }
  const end = start + len;
  if (end > bytes.length) throw new Error("truncated DER");
  return { tag, start, end };
}

function children(bytes, tlv) {
  const out = [];
  for (let at = tlv.start; at < tlv.end; ) {
    const c = readTlv(bytes, at);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oid(bytes, tlv) {
  const b = bytes.subarray(tlv.start, tlv.end);
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

const NAMES = { "2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST" };

function text(bytes, tlv) {
  const b = bytes.subarray(tlv.start, tlv.end);
  if (tlv.tag === 0x1e) {
    // BMPString
    let s = "";
    for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode((b[i] << 8) | b[i + 1]);
    return s;
  }
  return new TextDecoder().decode(b);
}

function name(bytes, tlv) {
  const attrs = [];
  for (const set of children(bytes, tlv)) {
    for (const seq of children(bytes, set)) {
      const [type, value] = children(bytes, seq);
      if (type === undefined || value === undefined) continue;
      const id = oid(bytes, type);
      attrs.push({ type: NAMES[id] ?? id, value: text(bytes, value) });
    }
  }
  return attrs;
}

function time(bytes, tlv) {
  const s = text(bytes, tlv);
  // UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ
  const m = tlv.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/.exec(s) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/.exec(s);
  if (m === null) return null;
  let year = Number(m[1]);
  if (tlv.tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
}

/** Subject, issuer (as attribute lists and their CN) and validity of a DER certificate; null if it cannot parse. */
export function parseCertificate(der) {
  try {
    const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
    const cert = readTlv(bytes, 0);
    const [tbs] = children(bytes, cert);
    let fields = children(bytes, tbs);
    if (fields[0]?.tag === 0xa0) fields = fields.slice(1); // [0] version
    const [, , issuer, validity, subject] = fields;
    const [notBefore, notAfter] = children(bytes, validity);
    const subj = name(bytes, subject);
    const iss = name(bytes, issuer);
    const pick = (attrs, t) => attrs.find((a) => a.type === t)?.value ?? null;
    const show = (attrs) => attrs.map((a) => `${a.type}=${a.value}`).join(", ");
    return {
      subject: show(subj),
      subjectCN: pick(subj, "CN") ?? show(subj),
      subjectO: pick(subj, "O"),
      issuer: show(iss),
      issuerCN: pick(iss, "CN") ?? show(iss),
      issuerO: pick(iss, "O"),
      notBefore: time(bytes, notBefore),
      notAfter: time(bytes, notAfter),
    };
  } catch {
    return null;
  }
}
