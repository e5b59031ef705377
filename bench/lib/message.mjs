// The messages both clients send: the same bytes, made here once, so neither side builds MIME (nodemailer gets them
// as `raw`, smtp-wasm as `message`): the benchmarks compare SMTP clients, not MIME builders.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export const FROM = 'bench@example.test';
export const TO = 'sink@example.test';

function header(subject) {
  return (
    `From: Bench <${FROM}>\r\nTo: <${TO}>\r\nSubject: ${subject}\r\n` +
    'Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <bench@example.test>\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  );
}

/** `count` lines of 76 base64-alphabet characters + CRLF (78 bytes each), deterministic. */
function lines(count, seed = 1) {
  let x = seed;
  let out = '';
  for (let i = 0; i < count; i++) {
    let line = '';
    for (let j = 0; j < 76; j++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      line += ALPHABET[x >> 25];
    }
    out += `${line}\r\n`;
  }
  return out;
}

/** A message of about `size` bytes (headers + 78-byte lines), as bytes. */
export function smallMessage(size = 1024) {
  const head = header('small benchmark message');
  const body = lines(Math.max(1, Math.round((size - head.length) / 78)));
  return new TextEncoder().encode(head + body);
}

/** 64 kB of body lines (840 lines of 78 bytes = 65,520 bytes). */
const CHUNK_TEMPLATE = new TextEncoder().encode(lines(840, 7));

/** The byte count of {@link largeStream}`(target)`: headers plus whole 65,520-byte chunks, at least `target`. */
export function largeSize(target) {
  const head = new TextEncoder().encode(header('large benchmark message')).length;
  return head + Math.ceil((target - head) / CHUNK_TEMPLATE.length) * CHUNK_TEMPLATE.length;
}

/**
 * A ReadableStream of a message of {@link largeSize}`(target)` bytes, made lazily in 65,520-byte chunks. By default
 * every chunk is the same (read-only) buffer, so the source itself allocates nothing and the peak RSS growth is the
 * sender's own buffering; with `fresh` each chunk is a new copy (then the garbage of the source counts too).
 */
export function largeStream(target, { fresh = false } = {}) {
  const head = new TextEncoder().encode(header('large benchmark message'));
  let left = Math.ceil((target - head.length) / CHUNK_TEMPLATE.length);
  let sentHead = false;
  return new ReadableStream(
    {
      pull(controller) {
        if (!sentHead) {
          sentHead = true;
          controller.enqueue(head);
          return;
        }
        if (left === 0) {
          controller.close();
          return;
        }
        left -= 1;
        controller.enqueue(fresh ? CHUNK_TEMPLATE.slice() : CHUNK_TEMPLATE);
      },
    },
    { highWaterMark: 0 },
  );
}
