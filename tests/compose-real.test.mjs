// `smtp-wasm send` composing a MIME message (--subject --text --html --attach --cc --bcc --header) and signing it
// (--dkim-*), delivered by Postfix into its Maildir over verified STARTTLS with AUTH: the stored file parses back in
// Python's email package to what was given, and dkimpy verifies the signature on what Postfix stored.
// sendMail's attachment `path`, `envelope` and non-ASCII (SMTPUTF8) addresses through Postfix and aiosmtpd: the
// stored files say what each server received (Return-Path and Delivered-To; aiosmtpd's X-MailFrom and X-RcptTo).
// Needs: npm run build; scripts/servers.sh up, then `. /tmp/smtp-wasm-state/env.sh` (skipped otherwise).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const env = process.env;
const skip = env.SMTP_WASM_POSTFIX_MAILDIR === undefined ? "servers not up (scripts/servers.sh up; . env.sh)" : false;
const PYTHON = join(env.SMTP_WASM_CACHE ?? join(homedir(), ".cache/smtp-wasm"), "venv/bin/python");
const PARSE = new URL("./compose/parse_email.py", import.meta.url).pathname;
const CLI = new URL("../bin/smtp-wasm.js", import.meta.url).pathname;

async function waitForFile(dir, needle) {
  for (let i = 0; i < 200; i++) {
    for (const name of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, name));
      if (bytes.includes(needle)) return bytes;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${needle} not delivered to ${dir}`);
}

test("CLI: composed, attached, DKIM-signed, through Postfix into the Maildir", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-compose-"));
  const key = generateKeyPairSync("rsa", { modulusLength: 2048 });
  writeFileSync(join(dir, "dkim.pem"), key.privateKey.export({ type: "pkcs8", format: "pem" }));
  const attachment = Buffer.alloc(300_000).map((_, i) => (i * 7) & 255);
  writeFileSync(join(dir, "data.bin"), attachment);
  writeFileSync(join(dir, "page.html"), "<p>Grüße aus <b>Postfix</b> 📬</p>");
  const id = `compose-${Date.now()}-${process.pid}`;
  const subject = `Тест ✓ 日本語 ${"long subject words ".repeat(6)}`;
  execFileSync(process.execPath, [
    CLI, "send", "--server", `${env.SMTP_WASM_HOST}:${env.SMTP_WASM_POSTFIX_PORT}`, "--ca", env.SMTP_WASM_CA,
    "--server-name", env.SMTP_WASM_TLS_NAME, "--user", env.SMTP_WASM_USER, "--password", env.SMTP_WASM_PASS,
    "--from", "Zoë <sender@example.test>", "--to", "rcpt@example.test", "--cc", "Cc Person <cc@example.test>",
    "--bcc", "hidden@example.test", "--subject", subject, "--text", "plain körper\n", "--html", join(dir, "page.html"),
    "--attach", join(dir, "data.bin"), "--header", `X-Test-Id: ${id}`, "--dkim-key", join(dir, "dkim.pem"),
    "--dkim-selector", "rsa", "--dkim-domain", "example.test", "--quiet",
  ]);
  const stored = await waitForFile(join(env.SMTP_WASM_POSTFIX_MAILDIR, "new"), id);
  // Maildir files have LF line ends; the message went over the wire with CRLF.
  const wire = Buffer.from(stored.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
  const records = {
    "rsa._domainkey.example.test.": `v=DKIM1; k=rsa; p=${key.publicKey.export({ type: "spki", format: "der" }).toString("base64")}`,
  };
  const py = JSON.parse(execFileSync(PYTHON, [PARSE, JSON.stringify(records)], { input: wire, maxBuffer: 1 << 28 }).toString());
  assert.equal(py.subject, subject);
  assert.deepEqual(py.from, [{ name: "Zoë", address: "sender@example.test" }]);
  assert.deepEqual(py.cc, [{ name: "Cc Person", address: "cc@example.test" }]);
  assert.equal(py.bcc, null);
  assert.ok(!stored.includes("hidden@example.test"), "Bcc must not appear in the stored message");
  assert.equal(py.text.replace(/\r\n/g, "\n"), "plain körper\n");
  assert.equal(py.html.trim(), "<p>Grüße aus <b>Postfix</b> 📬</p>");
  assert.equal(py.attachments[0].filename, "data.bin");
  assert.equal(py.attachments[0].sha256, createHash("sha256").update(attachment).digest("hex"));
  assert.deepEqual(py.dkim, [true]);
});

test("CLI: a raw message with LF line ends, DKIM-signed (--data --dkim-*), verifies as Postfix stored it", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-compose-"));
  const key = generateKeyPairSync("ed25519");
  writeFileSync(join(dir, "dkim.pem"), key.privateKey.export({ type: "pkcs8", format: "pem" }));
  const id = `raw-${Date.now()}-${process.pid}`;
  // Bare LF line ends: the signer reads them as the CRLF the codec sends.
  writeFileSync(join(dir, "m.eml"), `From: sender@example.test\nTo: rcpt@example.test\nSubject: raw ${id}\n\nbody  with  spaces \n\n\n`);
  execFileSync(process.execPath, [
    CLI, "send", "--server", `${env.SMTP_WASM_HOST}:${env.SMTP_WASM_POSTFIX_PORT}`, "--ca", env.SMTP_WASM_CA,
    "--server-name", env.SMTP_WASM_TLS_NAME, "--user", env.SMTP_WASM_USER, "--password", env.SMTP_WASM_PASS,
    "--from", "sender@example.test", "--to", "rcpt@example.test", "--data", join(dir, "m.eml"),
    "--dkim-key", join(dir, "dkim.pem"), "--dkim-selector", "ed", "--dkim-domain", "example.test", "--quiet",
  ]);
  const stored = await waitForFile(join(env.SMTP_WASM_POSTFIX_MAILDIR, "new"), id);
  const wire = Buffer.from(stored.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
  const records = {
    "ed._domainkey.example.test.": `v=DKIM1; k=ed25519; p=${key.publicKey.export({ type: "spki", format: "der" }).subarray(-32).toString("base64")}`,
  };
  const py = JSON.parse(execFileSync(PYTHON, [PARSE, JSON.stringify(records)], { input: wire }).toString());
  assert.deepEqual(py.dkim, [true]);
});

test("sendMail: path, envelope and non-ASCII addresses through Postfix (SMTPUTF8) into the Maildir", { skip }, async () => {
  const { sendMail } = await import("../dist/node.js");
  const dir = mkdtempSync(join(tmpdir(), "smtp-wasm-compose-"));
  const attachment = Buffer.alloc(200_003).map((_, i) => (i * 11 + (i >> 10)) & 255);
  writeFileSync(join(dir, "Bericht – März.bin"), attachment);
  const id = `envelope-${Date.now()}-${process.pid}`;
  const result = await sendMail({
    host: env.SMTP_WASM_HOST, port: Number(env.SMTP_WASM_POSTFIX_PORT), serverName: env.SMTP_WASM_TLS_NAME,
    rootCertificates: readFileSync(env.SMTP_WASM_CA, "utf8"), auth: { username: env.SMTP_WASM_USER, password: env.SMTP_WASM_PASS },
    from: "Jörg Müller <jörg@example.test>",
    to: "Shown Only <shown@elsewhere.example>",
    subject: `envelope ${id}`,
    text: "the envelope is not the header\n",
    headers: { "X-Test-Id": id },
    attachments: [{ path: join(dir, "Bericht – März.bin") }],
    envelope: { from: "bounces@example.test", to: "用户@example.test" },
  });
  assert.deepEqual(result.accepted, ["用户@example.test"]);
  const stored = await waitForFile(join(env.SMTP_WASM_POSTFIX_MAILDIR, "new"), id);
  const text = stored.toString("utf8");
  assert.match(text, /^Return-Path: <bounces@example\.test>\n/);
  assert.match(text, /\nDelivered-To: 用户@example\.test\n/);
  const wire = Buffer.from(text.replace(/\r?\n/g, "\r\n"), "utf8");
  const py = JSON.parse(execFileSync(PYTHON, [PARSE, "{}"], { input: wire, maxBuffer: 1 << 28 }).toString());
  assert.deepEqual(py.from, [{ name: "Jörg Müller", address: "jörg@example.test" }]);
  assert.deepEqual(py.to, [{ name: "Shown Only", address: "shown@elsewhere.example" }]);
  assert.equal(py.attachments[0].filename, "Bericht – März.bin");
  assert.equal(py.attachments[0].sha256, createHash("sha256").update(attachment).digest("hex"));
});

test("CLI: non-ASCII --from/--to through aiosmtpd (STARTTLS, AUTH): SMTPUTF8 asked for by itself", { skip: env.SMTP_WASM_AIOSMTPD_MAILDIR === undefined ? "aiosmtpd not up" : false }, async () => {
  const id = `utf8-${Date.now()}-${process.pid}`;
  execFileSync(process.execPath, [
    CLI, "send", "--server", `${env.SMTP_WASM_HOST}:${env.SMTP_WASM_AIOSMTPD_PORT}`, "--ca", env.SMTP_WASM_CA,
    "--server-name", env.SMTP_WASM_TLS_NAME, "--user", env.SMTP_WASM_USER, "--password", env.SMTP_WASM_PASS,
    "--from", "Ελένη <ελένη@παράδειγμα.δοκιμή>", "--to", "用户@例子.广告", "--cc", "jörg@bücher.example",
    "--subject", `utf8 ${id}`, "--text", "Grüße\n", "--header", `X-Test-Id: ${id}`, "--quiet",
  ]);
  const stored = await waitForFile(join(env.SMTP_WASM_AIOSMTPD_MAILDIR, "new"), id);
  const text = stored.toString("utf8");
  // aiosmtpd's Mailbox adds the envelope it received (as an RFC 2047 encoded word when it is not ASCII).
  const field = (name) => {
    const value = new RegExp(`\\n${name}: (.*)\\n`).exec(text)?.[1] ?? "";
    return value.replace(/=\?utf-8\?b\?([^?]*)\?=/gi, (_, b64) => Buffer.from(b64, "base64").toString("utf8"));
  };
  assert.equal(field("X-MailFrom"), "ελένη@παράδειγμα.δοκιμή");
  assert.equal(field("X-RcptTo"), "用户@例子.广告, jörg@bücher.example");
  const wire = Buffer.from(text.replace(/\r?\n/g, "\r\n"), "utf8");
  const py = JSON.parse(execFileSync(PYTHON, [PARSE, "{}"], { input: wire }).toString());
  assert.deepEqual(py.from, [{ name: "Ελένη", address: "ελένη@παράδειγμα.δοκιμή" }]);
  assert.deepEqual(py.to, [{ name: "", address: "用户@例子.广告" }]);
  assert.equal(py.text.replace(/\r\n/g, "\n"), "Grüße\n");
});
