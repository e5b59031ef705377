// composeMessage and sendMail's composing/DKIM options, checked by independent parsers and verifiers: mailparser
// (npm) and Python's email package (policy.default) decode every header and part back to what was given; dkimpy
// and mailauth verify the DKIM signatures (and refuse them after a header or the body is changed). Header injection
// through any field is refused before a connection is even opened.
// Needs: npm run build, npm ci (mailparser, mailauth), scripts/setup.sh servers (the venv with dkimpy, PyNaCl).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, test } from "node:test";

import { authenticate } from "mailauth";
import { simpleParser } from "mailparser";

import { InvalidInputError, NotSupportedError, UsageError, composeMessage, sendMail } from "../dist/node.js";
import { SmtpServer } from "../dist/server/node.js";
import { readAll } from "./server-client.mjs";

const PYTHON = join(process.env.SMTP_WASM_CACHE ?? join(homedir(), ".cache/smtp-wasm"), "venv/bin/python");
const PARSE = new URL("./compose/parse_email.py", import.meta.url).pathname;

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const KEYS = {
  rsaPkcs8: rsa.privateKey.export({ type: "pkcs8", format: "pem" }),
  rsaPkcs1: rsa.privateKey.export({ type: "pkcs1", format: "pem" }),
  ed: ed.privateKey.export({ type: "pkcs8", format: "pem" }),
};
const RECORDS = {
  "rsa._domainkey.example.com.": `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ type: "spki", format: "der" }).toString("base64")}`,
  // The raw 32-byte Ed25519 key is the last 32 bytes of its SPKI DER.
  "ed._domainkey.example.com.": `v=DKIM1; k=ed25519; p=${ed.publicKey.export({ type: "spki", format: "der" }).subarray(-32).toString("base64")}`,
};

function python(raw) {
  const out = execFileSync(PYTHON, [PARSE, JSON.stringify(RECORDS)], { input: Buffer.from(raw), maxBuffer: 1 << 28 });
  return JSON.parse(out.toString());
}

async function mailauthVerify(raw) {
  const resolver = async (name, type) => {
    const record = RECORDS[`${name}.`] ?? RECORDS[name];
    if (type === "TXT" && record) return [[record]];
    const error = new Error("not found");
    error.code = "ENOTFOUND";
    throw error;
  };
  const result = await authenticate(Buffer.from(raw), { resolver, trustReceived: false, disableArc: true, disableBimi: true, disableDmarc: true, ip: "127.0.0.1", helo: "localhost", sender: "ada@example.com", mta: "mx.test" });
  return result.dkim.results.map((r) => r.status.result);
}

const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
const decoder = new TextDecoder();

const NAMES = ["Zoë Ünïcödé", "山田 太郎", "Иван Петров", "محمد علي", "Ελένη Παπαδοπούλου", "Jean-Luc \"JL\" O'Neil, Jr."];

describe("composeMessage round trip", () => {
  const attachmentBytes = new Uint8Array(100_000).map((_, i) => (i * 31 + (i >> 8)) & 255);
  const options = {
    from: { name: "Ada Lovelace — 数学", address: "ada@example.com" },
    to: NAMES.map((name, i) => ({ name, address: `r${i}@example.org` })),
    cc: "Bob <bob@example.org>, \"Last, First\" <first@example.org>",
    bcc: ["secret@example.org"],
    replyTo: "replies@example.com",
    subject: `Grüße 👋 ${"長い件名のテスト ".repeat(12)} 🎉 end`,
    text: "Hello,\nthis is the text — with ünïcödé and a long line: " + "x".repeat(1500) + "\n.\nFrom here\n",
    html: '<p>Hello <b>world</b> <img src="cid:logo@x"></p>',
    attachments: [
      { filename: "data.bin", content: attachmentBytes },
      { filename: "résumé – 履歴書 " + "é".repeat(60) + ".txt", content: "plain text attachment\n" },
      { filename: "logo.png", content: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), cid: "logo@x" },
    ],
    headers: { "X-Campaign": "spring ☀ sale", "X-Plain": "a=b; c" },
    inReplyTo: "<parent@example.com>",
    references: ["<root@example.com>", "parent@example.com"],
  };

  test("Python's email package decodes every field, part and attachment", async () => {
    const raw = await composeMessage(options);
    const py = python(raw);
    assert.deepEqual(py.defects, []);
    assert.equal(py.subject, options.subject);
    assert.deepEqual(py.from, [{ name: options.from.name, address: "ada@example.com" }]);
    assert.deepEqual(py.to, options.to.map((t) => ({ name: t.name, address: t.address })));
    assert.deepEqual(py.cc.map((a) => a.name), ["Bob", "Last, First"]);
    assert.equal(py.bcc, null);
    assert.ok(!decoder.decode(raw).includes("secret@example.org"));
    // Decoded quoted-printable keeps the CRLF line ends of the wire.
    assert.equal(py.text.replace(/\r\n/g, "\n").replace(/\n$/, ""), options.text.replace(/\n$/, ""));
    assert.equal(py.html.replace(/\r?\n$/, ""), options.html);
    assert.deepEqual(py.types, ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png", "application/octet-stream", "text/plain"]);
    const [logo, bin, txt] = py.attachments;
    assert.equal(bin.sha256, sha(attachmentBytes));
    assert.equal(txt.filename, options.attachments[1].filename);
    assert.equal(txt.sha256, sha(new TextEncoder().encode("plain text attachment\n")));
    assert.equal(logo.cid, "<logo@x>");
    assert.equal(logo.disposition, "inline");
    assert.equal(py.custom["X-Campaign"], "spring ☀ sale");
    assert.equal(py.custom["X-Plain"], "a=b; c");
    assert.ok(py.maxLine <= 998, `longest line ${py.maxLine}`);
    assert.ok(/^<[0-9a-f]+\.[0-9a-f]+@example\.com>$/.test(py.messageId), py.messageId);
  });

  test("mailparser decodes the same", async () => {
    const raw = await composeMessage(options);
    const parsed = await simpleParser(Buffer.from(raw));
    assert.equal(parsed.subject, options.subject);
    assert.equal(parsed.from.value[0].name, options.from.name);
    assert.deepEqual(parsed.to.value.map((a) => a.name), NAMES);
    assert.equal(parsed.text.replace(/\n$/, ""), options.text.replace(/\n$/, ""));
    assert.equal(parsed.html.trim(), options.html.replace("cid:logo@x", parsed.html.match(/src="([^"]+)"/)[1]));
    const byName = Object.fromEntries(parsed.attachments.map((a) => [a.filename, a]));
    assert.equal(sha(byName["data.bin"].content), sha(attachmentBytes));
    assert.ok(byName[options.attachments[1].filename], Object.keys(byName).join(" | "));
    assert.equal(byName["logo.png"].cid, "logo@x");
    // mailparser leaves unknown fields undecoded; Python's check above decodes X-Campaign.
    assert.equal(parsed.inReplyTo, "<parent@example.com>");
    assert.deepEqual(parsed.references, ["<root@example.com>", "<parent@example.com>"]);
  });

  test("a streamed attachment is encoded on the fly and decodes to the same bytes", async () => {
    const chunks = [];
    for (let i = 0; i < 50; i++) chunks.push(new Uint8Array(997 + i).fill(i));
    const stream = new ReadableStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const expected = sha(Buffer.concat(chunks.map((c) => Buffer.from(c))));
    const out = await composeMessage({ from: "a@example.com", to: "b@example.com", text: "see attached", attachments: [{ filename: "s.bin", content: stream }] }, { stream: true });
    const parts = [];
    for await (const part of out) parts.push(part);
    const py = python(Buffer.concat(parts));
    assert.equal(py.attachments[0].sha256, expected);
    assert.equal(py.text.trim(), "see attached");
  });

  test("random options compose to messages both parsers accept and decode back", async () => {
    let seed = 12345;
    const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const alphabet = ["a", "Z", " ", "é", "ß", "中", "文", "😀", "👍🏽", "ж", "ع", "=", "?", "_", "\"", ",", "<", "\t", "\\", ".", ":", "-"];
    const str = (max) => {
      let s = "";
      for (let i = rnd(max); i > 0; i--) s += alphabet[rnd(alphabet.length)];
      return s;
    };
    for (let round = 0; round < 25; round++) {
      const name = str(40).replace(/\t/g, " ").trim();
      const opts = {
        from: { name, address: "from@example.com" },
        to: [{ name: str(30).replace(/\t/g, " ").trim(), address: "to@example.org" }],
        subject: str(200),
        ...(rnd(2) && { text: str(300) + "\n" + str(100) }),
        ...(rnd(2) && { html: `<p>${str(200)}</p>` }),
        ...(rnd(2) && { attachments: [{ filename: str(80).replace(/[\t]/g, " ") || "f", content: new Uint8Array(rnd(5000)).map(() => rnd(256)) }] }),
      };
      const raw = await composeMessage(opts);
      const py = python(raw);
      const label = JSON.stringify(opts).slice(0, 300);
      assert.deepEqual(py.defects, [], label);
      // Python's policy.default folds whitespace runs in unstructured values like any reader; compare modulo that.
      const ws = (s) => s.replace(/[ \t]+/g, " ").trim();
      assert.equal(ws(py.subject), ws(opts.subject), label);
      // Python's header parser inserts a space before a special character that follows an encoded word (its
      // quirk, not the message's: mailparser below decodes the name exactly).
      assert.equal(py.from[0].name.replace(/\s+/g, ""), opts.from.name.replace(/\s+/g, ""), label);
      const parsed = await simpleParser(Buffer.from(raw));
      assert.equal(ws(parsed.subject ?? ""), ws(opts.subject), label);
      assert.equal(parsed.from.value[0].name, opts.from.name, label);
      if (opts.text !== undefined) assert.equal(py.text.replace(/\r\n/g, "\n").replace(/\n$/, ""), opts.text.replace(/\n$/, ""), label);
      if (opts.attachments) {
        assert.equal(py.attachments[0].sha256, sha(opts.attachments[0].content), label);
        assert.equal(py.attachments[0].filename, opts.attachments[0].filename, label);
      }
      assert.ok(py.maxLine <= 998, label);
    }
  });
});

describe("DKIM", () => {
  const base = { from: "Ada <ada@example.com>", to: "bob@example.org", subject: "Signed ✓", text: "Hello  there \n\n\n", html: "<p>hi</p>", attachments: [{ filename: "a.txt", content: "x" }] };
  const keys = [
    { domainName: "example.com", keySelector: "rsa", privateKey: KEYS.rsaPkcs8 },
    { domainName: "example.com", keySelector: "ed", privateKey: KEYS.ed },
  ];

  for (const canonicalization of ["relaxed/relaxed", "simple/simple"]) {
    test(`rsa-sha256 and ed25519-sha256 together (${canonicalization}) verify in dkimpy and mailauth`, async () => {
      const raw = await composeMessage({ ...base, dkim: keys.map((k) => ({ ...k, canonicalization })) });
      const text = decoder.decode(raw);
      assert.match(text, /^DKIM-Signature: v=1; a=rsa-sha256;/);
      assert.match(text, /\r\nDKIM-Signature: v=1; a=ed25519-sha256;/);
      assert.ok(!/; l=/.test(text));
      assert.deepEqual(python(raw).dkim, [true, true]);
      assert.deepEqual(await mailauthVerify(raw), ["pass", "pass"]);
      // Tampering: a changed header, a changed body.
      const badHeader = text.replace("Subject: =?UTF-8?B?", "Subject: =?UTF-8?B?QQ==?= =?UTF-8?B?");
      assert.notEqual(badHeader, text);
      assert.deepEqual(python(new TextEncoder().encode(badHeader)).dkim.map((r) => r === true), [false, false]);
      // mailauth says "fail" or "neutral" (body hash mismatch): anything but "pass".
      assert.deepEqual((await mailauthVerify(new TextEncoder().encode(badHeader))).map((r) => r === "pass"), [false, false]);
      const badBody = text.replace("<p>hi</p>", "<p>HI</p>");
      assert.deepEqual(python(new TextEncoder().encode(badBody)).dkim.map((r) => r === true), [false, false]);
      assert.deepEqual((await mailauthVerify(new TextEncoder().encode(badBody))).map((r) => r === "pass"), [false, false]);
    });
  }

  test("a PKCS#1 RSA key and headerFieldNames (From always signed)", async () => {
    const raw = await composeMessage({ from: "ada@example.com", to: "bob@example.org", subject: "pkcs1", text: "t", dkim: { domainName: "example.com", keySelector: "rsa", privateKey: KEYS.rsaPkcs1, headerFieldNames: ["Subject", "To"] } });
    assert.match(decoder.decode(raw), /h=from:subject:to;/);
    assert.deepEqual(python(raw).dkim, [true]);
    assert.deepEqual(await mailauthVerify(raw), ["pass"]);
  });

  test("refuses bad keys and options with clear errors", async () => {
    await assert.rejects(composeMessage({ ...base, dkim: { domainName: "example.com", keySelector: "s", privateKey: "nope" } }), InvalidInputError);
    await assert.rejects(composeMessage({ ...base, dkim: { domainName: "example.com;x=y", keySelector: "s", privateKey: KEYS.ed } }), InvalidInputError);
    await assert.rejects(composeMessage({ ...base, dkim: { domainName: "example.com", keySelector: "s", privateKey: KEYS.ed, algo: "x" } }), /unknown option "algo" in dkim/);
  });
});

describe("header injection and unknown options", () => {
  const good = { from: "a@example.com", to: "b@example.org", subject: "s", text: "t" };
  const attempts = {
    from: { ...good, from: "a@example.com\r\nBcc: victim@example.net" },
    fromName: { ...good, from: { name: "A\nBcc: v@x.net", address: "a@example.com" } },
    to: { ...good, to: "b@example.org\nBcc: v@x.net" },
    cc: { ...good, cc: "c@example.org\rBcc: v@x.net" },
    bcc: { ...good, bcc: "v@x.net\r\nSubject: x" },
    replyTo: { ...good, replyTo: "r@example.org\r\nX: y" },
    subject: { ...good, subject: "hi\r\nBcc: v@x.net" },
    subjectLf: { ...good, subject: "hi\nBcc: v@x.net" },
    headerValue: { ...good, headers: { "X-A": "v\r\nBcc: v@x.net" } },
    headerName: { ...good, headers: { "X-A\r\nBcc": "v" } },
    messageId: { ...good, messageId: "<a@b>\r\nBcc: v@x.net" },
    inReplyTo: { ...good, inReplyTo: "<a@b>\nBcc: v@x.net" },
    references: { ...good, references: ["<a@b>\nBcc: v@x.net"] },
    filename: { ...good, attachments: [{ filename: "a.txt\r\nBcc: v@x.net", content: "x" }] },
    contentType: { ...good, attachments: [{ filename: "a.txt", content: "x", contentType: "text/plain\r\nBcc: v@x.net" }] },
    cid: { ...good, attachments: [{ filename: "a.png", content: "x", cid: "x\r\nBcc: v@x.net" }] },
  };
  for (const [field, options] of Object.entries(attempts)) {
    test(`a line break in ${field} is refused with nothing sent`, async () => {
      await assert.rejects(composeMessage(options), InvalidInputError);
      let connected = false;
      await assert.rejects(
        sendMail({ host: "127.0.0.1", port: 1, tls: "none", ...options, connect: async () => { connected = true; throw new Error("must not connect"); } }),
        InvalidInputError,
      );
      assert.equal(connected, false);
    });
  }

  test("unknown keys and a message combined with composing options are refused", async () => {
    await assert.rejects(composeMessage({ ...good, subjet: "typo" }), UsageError);
    await assert.rejects(composeMessage({ ...good, attachments: [{ filename: "a", content: "x", encoding: "base64" }] }), /unknown option "encoding" in attachment/);
    await assert.rejects(sendMail({ host: "h", ...good, subjet: "typo", connect: async () => { throw new Error("no"); } }), /unknown option "subjet" in sendMail options/);
    await assert.rejects(sendMail({ host: "h", ...good, message: "x", connect: async () => { throw new Error("no"); } }), /message cannot be combined with subject, text/);
    await assert.rejects(composeMessage({ ...good, headers: { Bcc: "x@y.z" } }), InvalidInputError);
  });
});

describe("CLI send options for composing", async () => {
  const { parseSendArgs } = await import("../node/cli.js");
  const base = ["--server", "127.0.0.1:2525", "--from", "a@example.com", "--to", "b@example.org"];

  test("--text, --cc, --bcc, --header and --attach become composing options", () => {
    const file = new URL("./compose/parse_email.py", import.meta.url).pathname;
    const { opts, message } = parseSendArgs([...base, "--subject", "Grüße", "--text", "hi", "--cc", "c@x.org,d@x.org", "--bcc", "e@x.org", "--header", "X-A: 1", "--attach", file]);
    assert.equal(opts.message, undefined);
    assert.deepEqual(message.compose.cc, ["c@x.org", "d@x.org"]);
    assert.deepEqual(message.compose.bcc, ["e@x.org"]);
    assert.deepEqual(message.compose.headers, [["X-A", "1"]]);
    assert.equal(message.compose.subject, "Grüße");
    assert.equal(message.compose.attachments[0].filename, "parse_email.py");
    // The library's path mechanism reads it (64 KiB at a time into one buffer).
    assert.equal(message.compose.attachments[0].path, file);
    assert.equal(message.compose.attachments[0].content, undefined);
  });

  test("--envelope-from and --envelope-to become sendMail's envelope (not with --data)", () => {
    const { opts } = parseSendArgs([...base, "--text", "t", "--envelope-from", "bounces@example.com", "--envelope-to", "x@example.net,y@example.net", "--envelope-to", "z@example.net"]);
    assert.deepEqual(opts.envelope, { from: "bounces@example.com", to: ["x@example.net", "y@example.net", "z@example.net"] });
    assert.equal(opts.from, "a@example.com");
    assert.deepEqual(parseSendArgs([...base, "--envelope-from", ""]).opts.envelope, { from: "" });
    assert.throws(() => parseSendArgs([...base, "--data", "m.eml", "--envelope-from", "b@example.com"]), /--envelope-\* is for composed messages/);
  });

  test("CR/LF in --header, half a DKIM key, --data with --attach are refused", () => {
    assert.throws(() => parseSendArgs([...base, "--text", "t", "--header", "X-A: 1\r\nBcc: v@x.net"]), /must not contain CR/);
    assert.throws(() => parseSendArgs([...base, "--dkim-key", "k.pem"]), /go together/);
    assert.throws(() => parseSendArgs([...base, "--data", "m.eml", "--cc", "c@x.org"]), /cannot be combined/);
    assert.throws(() => parseSendArgs([...base, "--attach", "/nonexistent/file"]), /cannot read attachment/);
  });
});

/**
 * smtp-wasm/server on a free loopback port: what each transaction's MAIL, RCPT and DATA brought. `onChunk(bytes)`,
 * when given, sees each piece of the message as it arrives and may return a promise (a slow reader).
 */
async function receiver({ smtpUtf8 = true, onChunk } = {}) {
  const transactions = [];
  let current = null;
  const session = {
    mail(from, opts) {
      current = { from, smtpUtf8: opts.utf8 === true, body: opts.body ?? null, to: [], message: null };
      transactions.push(current);
    },
    rcpt(to) {
      current.to.push(to);
    },
    async data(stream) {
      if (onChunk === undefined) {
        current.message = await readAll(stream);
        return;
      }
      let size = 0;
      for await (const chunk of stream) {
        size += chunk.byteLength;
        await onChunk(chunk);
      }
      current.message = Buffer.from(`(${size} bytes)`);
    },
    reset() {},
    logout() {},
  };
  const server = new SmtpServer({
    domain: "mx.test",
    enableSmtpUtf8: smtpUtf8,
    maxMessageBytes: 64 * 1024 * 1024,
    backend: { anonymousLogin: () => session },
  });
  const { port } = await server.listen({ port: 0, host: "127.0.0.1" });
  return { port, transactions, close: () => server.close() };
}

describe("attachments from a path, the envelope, non-ASCII addresses", () => {
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-compose-path-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Not a multiple of the 64 KiB read size, and not of 3 (base64 groups).
  const bytes = new Uint8Array(300_001).map((_, i) => (i * 73 + (i >> 9)) & 255);
  const file = join(dir, "Grüße – 報告.bin");
  writeFileSync(file, bytes);
  writeFileSync(join(dir, "empty.txt"), "");
  mkdirSync(join(dir, "folder"));
  const good = { from: "Ada <ada@example.com>", to: "bob@example.org", subject: "files", text: "see attached" };

  test("path: the file's bytes, its base name as the filename (Python and mailparser decode both)", async () => {
    const raw = await composeMessage({ ...good, attachments: [{ path: file }, { path: pathToFileURL(join(dir, "empty.txt")), filename: "renamed.txt" }] });
    const py = python(raw);
    assert.deepEqual(py.defects, []);
    assert.equal(py.attachments[0].filename, "Grüße – 報告.bin");
    assert.equal(py.attachments[0].sha256, sha(bytes));
    assert.equal(py.attachments[1].filename, "renamed.txt");
    assert.equal(py.attachments[1].sha256, sha(new Uint8Array()));
    const parsed = await simpleParser(Buffer.from(raw));
    assert.equal(sha(parsed.attachments[0].content), sha(bytes));
    // The same through composeMessage's stream output.
    const stream = await composeMessage({ ...good, attachments: [{ path: file }] }, { stream: true });
    const parts = [];
    for await (const part of stream) parts.push(part);
    assert.equal(python(Buffer.concat(parts)).attachments[0].sha256, sha(bytes));
  });

  test("path: sent by sendMail, the server gets the file's bytes", async () => {
    const rx = await receiver();
    try {
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...good, attachments: [{ path: file, contentType: "application/x-test" }] });
      const parsed = await simpleParser(rx.transactions[0].message);
      assert.equal(parsed.attachments[0].contentType, "application/x-test");
      assert.equal(sha(parsed.attachments[0].content), sha(bytes));
    } finally {
      await rx.close();
    }
  });

  test("path with DKIM: hashed in a first pass, streamed in a second; dkimpy and mailauth verify what the server got", async () => {
    const dkim = [
      { domainName: "example.com", keySelector: "rsa", privateKey: KEYS.rsaPkcs8 },
      { domainName: "example.com", keySelector: "ed", privateKey: KEYS.ed },
    ];
    async function* once() {
      yield new Uint8Array([1, 2, 3]);
    }
    const rx = await receiver();
    try {
      // Files only: two passes. With a stream that can be read once too: held in memory, as before.
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...good, attachments: [{ path: file }, { filename: "b.txt", content: "x" }], dkim });
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...good, attachments: [{ path: file }, { filename: "s.bin", content: once() }], dkim });
      for (const t of rx.transactions) {
        const py = python(t.message);
        assert.deepEqual(py.dkim, [true, true]);
        assert.deepEqual(await mailauthVerify(t.message), ["pass", "pass"]);
        assert.equal(py.attachments[0].sha256, sha(bytes));
      }
      const raw = await composeMessage({ ...good, attachments: [{ path: file }], dkim: dkim[1] }, { stream: true });
      const parts = [];
      for await (const part of raw) parts.push(part);
      assert.deepEqual(python(Buffer.concat(parts)).dkim, [true]);
      // A file that changes between the two passes fails the send instead of breaking the signature.
      const changing = join(dir, "changing.bin");
      writeFileSync(changing, "before");
      const stream = await composeMessage({ ...good, attachments: [{ path: changing }], dkim: dkim[1] }, { stream: true });
      writeFileSync(changing, "after, longer");
      await assert.rejects(async () => {
        for await (const part of stream) assert.ok(part);
      }, /attachment 0 changed while the message was signed \(6 bytes hashed, 13 read to send\)/);
    } finally {
      await rx.close();
    }
  });

  test("path: a send aborted halfway closes the file", async () => {
    const big = join(dir, "big.bin");
    writeFileSync(big, new Uint8Array(8 * 1024 * 1024));
    const openCount = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === big;
        } catch {
          return false;
        }
      }).length;
    const rx = await receiver({ onChunk: () => new Promise((r) => setTimeout(r, 1)) });
    const controller = new AbortController();
    let during = 0;
    try {
      const error = await sendMail({
        host: "127.0.0.1", port: rx.port, tls: "none", ...good, attachments: [{ path: big }], signal: controller.signal,
        onProgress: (sent) => {
          if (sent > 1_000_000 && !controller.signal.aborted) {
            during = openCount();
            controller.abort(new Error("stop"));
          }
        },
      }).catch((e) => e);
      assert.equal(error.message, "stop");
      assert.equal(during, 1, "the file was open while it was sent");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(openCount(), 0, "and closed after the abort");
    } finally {
      await rx.close();
    }
  });

  test("path: missing file, a directory, content and path together, wrong types: refused, nothing sent", async () => {
    const cases = [
      [{ path: join(dir, "missing.bin") }, /cannot read attachment .*missing\.bin: ENOENT/],
      [{ path: join(dir, "folder") }, /not a regular file/],
      [{ path: file, content: "x" }, /content or path, not both/],
      [{ path: 42 }, /path must be a string or a file: URL/],
      [{ path: new URL("https://example.com/a.bin") }, /file: URL, not https:/],
      [{ path: "" }, /path is empty/],
      [{ filename: "a.txt" }, /attachment content must be/],
    ];
    for (const [attachment, message] of cases) {
      await assert.rejects(composeMessage({ ...good, attachments: [attachment] }), (e) => e instanceof UsageError && message.test(e.message));
      let connected = false;
      await assert.rejects(
        sendMail({ host: "127.0.0.1", port: 1, tls: "none", ...good, attachments: [attachment], connect: async () => { connected = true; throw new Error("must not connect"); } }),
        UsageError,
      );
      assert.equal(connected, false);
    }
  });

  test("a streamed attachment is read only as fast as the server takes the message (backpressure)", async () => {
    // 24 MB from a source that counts what it gave, to a server that reads slowly: the source may run ahead of the
    // server only by what the buffers between them hold (the driver's 256 KiB, the sockets'), never by the file.
    const total = 24 * 1024 * 1024;
    let given = 0;
    let received = 0;
    let ahead = 0;
    const block = new Uint8Array(64 * 1024).fill(0x41);
    async function* source() {
      while (given < total) {
        given += block.byteLength;
        yield block;
      }
    }
    const rx = await receiver({
      onChunk: async (chunk) => {
        received += chunk.byteLength;
        // The encoded message is 4/3 of the source (base64) plus line breaks.
        ahead = Math.max(ahead, given * (4 / 3) - received);
        if (received % (1 << 20) < chunk.byteLength) await new Promise((r) => setTimeout(r, 20));
      },
    });
    try {
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...good, attachments: [{ filename: "big.bin", content: source() }] });
      assert.equal(given, total);
      assert.ok(ahead < 8 * 1024 * 1024, `the source ran ${(ahead / 1e6).toFixed(1)} MB ahead of the server`);
    } finally {
      await rx.close();
    }
  });

  test("path in a runtime without a filesystem (no process, no Deno): a UsageError that says to give content", () => {
    // A fresh process: which filesystem the runtime has is looked up once.
    const script = `
      const api = await import(${JSON.stringify(new URL("../dist/node.js", import.meta.url).href)});
      await api.initCompose();
      const saved = globalThis.process;
      Object.defineProperty(globalThis, "process", { value: undefined, configurable: true, writable: true });
      let out = "no error";
      try {
        await api.composeMessage({ from: "a@example.com", to: "b@example.org", attachments: [{ path: ${JSON.stringify(file)} }] });
      } catch (e) {
        out = e.constructor.name + ": " + e.message;
      }
      Object.defineProperty(globalThis, "process", { value: saved, configurable: true, writable: true });
      console.log(out);`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script]).toString();
    assert.match(out, /^UsageError: attachment path needs a filesystem \(Node, Deno or Bun\); in this runtime give the content instead/);
  });

  test("envelope: MAIL FROM and RCPT TO from it, the headers unchanged (Bcc still hidden)", async () => {
    const rx = await receiver();
    try {
      await sendMail({
        host: "127.0.0.1", port: rx.port, tls: "none", ...good, cc: "Carol <carol@example.org>", bcc: "hidden@example.org",
        envelope: { from: "bounces+123@example.com", to: ["list-member@example.net", "Other <other@example.net>"] },
      });
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", from: "a@example.com", to: "b@example.org", message: "Subject: raw\r\n\r\nraw\r\n", envelope: { from: "" } });
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...good, envelope: { cc: "only-cc@example.net" } });
      const [composed, raw, ccOnly] = rx.transactions;
      assert.equal(composed.from, "bounces+123@example.com");
      assert.deepEqual(composed.to, ["list-member@example.net", "other@example.net"]);
      const parsed = await simpleParser(composed.message);
      assert.equal(parsed.from.value[0].address, "ada@example.com");
      assert.equal(parsed.to.value[0].address, "bob@example.org");
      assert.equal(parsed.cc.value[0].address, "carol@example.org");
      assert.ok(!composed.message.includes("hidden@example.org"));
      // The null sender (a bounce), recipients from `to` of a raw message.
      assert.equal(raw.from, "");
      assert.deepEqual(raw.to, ["b@example.org"]);
      assert.deepEqual(ccOnly.to, ["only-cc@example.net"]);
    } finally {
      await rx.close();
    }
  });

  test("envelope: unknown keys and wrong values are refused before connecting", async () => {
    const cases = [
      [{ form: "x@example.com" }, /unknown option "form" in envelope; accepted: from, to, cc, bcc/],
      ["bounces@example.com", /envelope must be an object/],
      [{ from: ["a@example.com", "b@example.com"] }, /envelope.from must be one address/],
      [{ to: [] }, /envelope names no recipient/],
    ];
    for (const [envelope, message] of cases) {
      let connected = false;
      await assert.rejects(
        sendMail({ host: "127.0.0.1", port: 1, tls: "none", ...good, envelope, connect: async () => { connected = true; throw new Error("must not connect"); } }),
        (e) => e instanceof UsageError && message.test(e.message),
      );
      assert.equal(connected, false);
    }
  });

  const utf8 = { from: "Jörg Müller <jörg@bücher.example>", to: ["用户@例子.广告", "Ελένη <ελένη@παράδειγμα.δοκιμή>"], cc: "плохой@пример.рф", subject: "Grüße", text: "Hallo\n" };

  test("non-ASCII addresses: raw UTF-8 in the header, SMTPUTF8 and 8BITMIME asked for, parsers read them back", async () => {
    const rx = await receiver();
    try {
      await sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...utf8, bcc: "blind@bücher.example" });
      const [t] = rx.transactions;
      assert.equal(t.from, "jörg@bücher.example");
      assert.equal(t.smtpUtf8, true);
      assert.deepEqual(t.to, ["用户@例子.广告", "ελένη@παράδειγμα.δοκιμή", "плохой@пример.рф", "blind@bücher.example"]);
      const text = t.message.toString("utf8");
      assert.match(text, /\r\nFrom: =\?UTF-8\?B\?[^?]+\?= <jörg@bücher\.example>\r\n/);
      assert.ok(!text.includes("blind@"), "Bcc stays out of the header");
      const parsed = await simpleParser(t.message);
      assert.deepEqual(parsed.from.value, [{ name: "Jörg Müller", address: "jörg@bücher.example" }]);
      assert.deepEqual(parsed.to.value.map((a) => a.address), ["用户@例子.广告", "ελένη@παράδειγμα.δοκιμή"]);
      assert.equal(parsed.to.value[1].name, "Ελένη");
      assert.equal(parsed.cc.value[0].address, "плохой@пример.рф");
      const py = python(t.message);
      assert.deepEqual(py.defects, []);
      assert.deepEqual(py.from, [{ name: "Jörg Müller", address: "jörg@bücher.example" }]);
      assert.deepEqual(py.to.map((a) => a.address), ["用户@例子.广告", "ελένη@παράδειγμα.δοκιμή"]);
      assert.equal(py.subject, "Grüße");
      assert.ok(/^<[^@]+@smtp-wasm>$/.test(py.messageId), py.messageId);
    } finally {
      await rx.close();
    }
  });

  test("non-ASCII addresses, a server without SMTPUTF8: NotSupportedError, no MAIL, zero bytes of the message", async () => {
    const rx = await receiver({ smtpUtf8: false });
    try {
      for (const options of [utf8, { ...good, bcc: "blind@bücher.example" }, { ...good, envelope: { from: "jörg@bücher.example" } }]) {
        await assert.rejects(
          sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...options }),
          (e) => e instanceof NotSupportedError && e.extension === "SMTPUTF8",
        );
      }
      assert.deepEqual(rx.transactions, []);
      // Options that contradict it are refused before connecting.
      await assert.rejects(sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...utf8, mailOptions: { smtpUtf8: false } }), /needs SMTPUTF8, but mailOptions.smtpUtf8 is false/);
      await assert.rejects(sendMail({ host: "127.0.0.1", port: rx.port, tls: "none", ...utf8, mailOptions: { body: "7BIT" } }), /header 8-bit, but mailOptions.body is "7BIT"/);
    } finally {
      await rx.close();
    }
  });
});
