// Just enough MIME (RFC 2045-2047, 2183, 2231) for the web inbox of `smtp-wasm serve`: headers unfolded and decoded,
// the multipart tree walked, the first text/plain and text/html bodies and the attachments found, transfer
// encodings (base64, quoted-printable) and charsets undone. Bounded: at most MAX_PARTS parts, MAX_DEPTH levels.
const MAX_PARTS = 200;
const MAX_DEPTH = 16;

/** Splits raw bytes at the first empty line: header text (latin1, to keep bytes) and the body. */
function splitHead(buf) {
  let i = buf.indexOf("\r\n\r\n");
  let sep = 4;
  const lf = buf.indexOf("\n\n");
  if (lf >= 0 && (i < 0 || lf < i)) {
    i = lf;
    sep = 2;
  }
  if (i < 0) return { head: buf.toString("latin1"), body: Buffer.alloc(0) };
  return { head: buf.subarray(0, i).toString("latin1"), body: buf.subarray(i + sep) };
}

/** Header fields in order: [{ name, value }] with folding undone, raw (undecoded). */
export function parseHeaders(headText) {
  const out = [];
  for (const line of headText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) out[out.length - 1].value += " " + line.trim();
    else {
      const m = /^([^:\s]+):[ \t]*(.*)$/.exec(line);
      if (m) out.push({ name: m[1], value: m[2] });
    }
  }
  return out;
}

function decodeCharset(bytes, charset) {
  const cs = (charset || "utf-8").toLowerCase().replace(/^(us-)?ascii$/, "utf-8");
  try {
    return new TextDecoder(cs).decode(bytes);
  } catch {
    return new TextDecoder("utf-8").decode(bytes);
  }
}

/** RFC 2047 encoded words; raw 8-bit header bytes are taken as UTF-8 (RFC 6532). */
export function decodeWords(value) {
  const utf8ish = decodeCharset(Buffer.from(value, "latin1"), "utf-8");
  return utf8ish
    .replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?([^?*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=/g, (_, charset, enc, text) => {
      const bytes =
        enc.toUpperCase() === "B"
          ? Buffer.from(text, "base64")
          : Buffer.from(
              text.replace(/_/g, " ").replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))),
              "latin1",
            );
      return decodeCharset(bytes, charset);
    });
}

/** `type/subtype; a=b; c="d"` -> { value, params } (RFC 2231 continuations and charsets included). */
export function parseParams(value) {
  const [first, ...rest] = splitUnquoted(value ?? "", ";");
  const params = {};
  const extended = {};
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!m) continue;
    if (m[2] !== undefined || m[3] !== undefined) {
      (extended[m[1]] ??= []).push({ n: Number(m[2] ?? 0), v, encoded: m[3] !== undefined });
    } else params[key] = v;
  }
  for (const [key, parts] of Object.entries(extended)) {
    parts.sort((a, b) => a.n - b.n);
    let charset = "utf-8";
    const bytes = [];
    parts.forEach((part, i) => {
      let v = part.v;
      if (part.encoded && i === 0) {
        const m = /^([^']*)'[^']*'(.*)$/.exec(v);
        if (m) {
          charset = m[1] || charset;
          v = m[2];
        }
      }
      bytes.push(
        part.encoded
          ? Buffer.from(v.replace(/%([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))), "latin1")
          : Buffer.from(v, "latin1"),
      );
    });
    params[key] = decodeCharset(Buffer.concat(bytes), charset);
  }
  return { value: first.trim().toLowerCase(), params };
}

function splitUnquoted(text, sep) {
  const out = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) {
      cur += c + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function decodeTransfer(body, encoding) {
  switch ((encoding ?? "").trim().toLowerCase()) {
    case "base64":
      return Buffer.from(body.toString("latin1").replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
    case "quoted-printable": {
      const text = body.toString("latin1").replace(/=\r?\n/g, "");
      return Buffer.from(text.replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))), "latin1");
    }
    default:
      return body;
  }
}

function header(headers, name) {
  const h = headers.find((x) => x.name.toLowerCase() === name);
  return h ? h.value : undefined;
}

/**
 * Parses a message: { headers: [{ name, value (decoded) }], subject, from, to, date, text, html, attachments:
 * [{ filename, contentType, size, contentId, content: Buffer }] }.
 */
export function parseMessage(raw) {
  const result = { text: null, html: null, attachments: [] };
  let parts = 0;
  const walk = (buf, depth, defaultType) => {
    if (++parts > MAX_PARTS || depth > MAX_DEPTH) return null;
    const { head, body } = splitHead(buf);
    const headers = parseHeaders(head);
    const ct = parseParams(header(headers, "content-type") ?? defaultType);
    const disposition = parseParams(header(headers, "content-disposition") ?? "");
    if (ct.value.startsWith("multipart/") && ct.params.boundary) {
      const boundary = Buffer.from(`--${ct.params.boundary}`, "latin1");
      let at = body.indexOf(boundary);
      const childType = ct.value === "multipart/digest" ? "message/rfc822" : "text/plain";
      while (at >= 0) {
        let start = at + boundary.length;
        if (body.subarray(start, start + 2).toString("latin1") === "--") break;
        const eol = body.indexOf("\n", start);
        if (eol < 0) break;
        start = eol + 1;
        let next = body.indexOf(boundary, start);
        while (next > 0 && body[next - 1] !== 0x0a) next = body.indexOf(boundary, next + 1);
        const end = next < 0 ? body.length : next;
        let partEnd = end;
        if (body[partEnd - 1] === 0x0a) partEnd--;
        if (body[partEnd - 1] === 0x0d) partEnd--;
        walk(body.subarray(start, Math.max(start, partEnd)), depth + 1, childType);
        at = next;
      }
      return headers;
    }
    const content = decodeTransfer(body, header(headers, "content-transfer-encoding"));
    const filename = disposition.params.filename ?? ct.params.name;
    const isAttachment = disposition.value === "attachment" || filename !== undefined;
    if (!isAttachment && ct.value === "text/plain" && result.text === null) {
      result.text = decodeCharset(content, ct.params.charset);
    } else if (!isAttachment && ct.value === "text/html" && result.html === null) {
      result.html = decodeCharset(content, ct.params.charset);
    } else if (depth > 0 || isAttachment) {
      result.attachments.push({
        filename: filename ? decodeWords(filename) : `part-${result.attachments.length + 1}`,
        contentType: ct.value || "application/octet-stream",
        size: content.length,
        contentId: (header(headers, "content-id") ?? "").replace(/^<|>$/g, "") || null,
        content,
      });
    }
    return headers;
  };
  const headers = walk(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), 0, "text/plain") ?? [];
  result.headers = headers.map((h) => ({ name: h.name, value: decodeWords(h.value) }));
  const get = (n) => result.headers.find((h) => h.name.toLowerCase() === n)?.value ?? null;
  result.subject = get("subject");
  result.from = get("from");
  result.to = get("to");
  result.date = get("date");
  return result;
}
