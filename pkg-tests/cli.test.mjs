// `npx smtp-wasm send|probe` against the real loopback servers (Postfix, smtp-server) of scripts/servers.sh:
// delivery, transcript, exit codes, one-line errors, TLS failures.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serverEnv, listening } from "./lib/env.mjs";
import net from "node:net";
import os from "node:os";
import { parseSendArgs, parseHostPort, composeMessage, EXIT, classify, printable } from "../node/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "bin/smtp-wasm.js");
const env = serverEnv();
const CA = env.SMTP_WASM_CA;
const USER = env.SMTP_WASM_USER ?? "alice";
const PASS = env.SMTP_WASM_PASS ?? "secret";

function cli(args, { input, extraEnv } = {}) {
  // Every network command gets a step timeout, so a hang fails fast instead of waiting for RFC 5321's minutes.
  if (["send", "probe"].includes(args[0]) && !args.includes("--timeout")) args = [...args, "--timeout", "20"];
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...extraEnv },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function waitFor(fn, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}
function findIn(dir, marker, ext) {
  if (!dir || !fs.existsSync(dir)) return null;
  for (const f of fs.readdirSync(dir)) {
    if (ext && !f.endsWith(ext)) continue;
    const p = path.join(dir, f);
    try {
      if (fs.readFileSync(p, "utf8").includes(marker)) return p;
    } catch {
      // being written
    }
  }
  return null;
}

const postfix = { port: env.SMTP_WASM_POSTFIX_PORT, tlsPort: env.SMTP_WASM_POSTFIX_TLS_PORT };
const smtpServer = { port: env.SMTP_WASM_SMTP_SERVER_PORT, tlsPort: env.SMTP_WASM_SMTP_SERVER_TLS_PORT };
const have = async (port) => port !== undefined && CA !== undefined && (await listening(port));
// Standing alone (`node --test`), a test whose server is not up is skipped with the reason; under scripts/test.sh,
// which starts the servers, a missing server is a failure (SMTP_WASM_REQUIRE_SERVERS=1), never a silent skip.
const skipUnless = async (port) => {
  if (await have(port)) return false;
  const why = `no server on ${port} (scripts/servers.sh up)`;
  if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error(why);
  return why;
};

// ------------------------------------------------------------------------------------------------ parsing
test("argument parsing: defaults, implicit TLS on 465, recipients, password sources", () => {
  const a = parseSendArgs(["-s", "mail.example:465", "-f", "a@x", "-t", "b@x,c@x", "-t", "d@x"], {});
  assert.equal(a.opts.host, "mail.example");
  assert.equal(a.opts.port, 465);
  // The TLS mode for a port is sendMail's decision (465: implicit), not a second copy of the rule here.
  assert.equal(a.opts.tls, undefined);
  assert.deepEqual(a.opts.to, ["b@x", "c@x", "d@x"]);
  const b = parseSendArgs(["--server", "h", "--from", "a@x", "--to", "b@x", "-u", "u"], { SMTP_PASSWORD: "pw" });
  assert.equal(b.opts.port, undefined);
  assert.equal(b.opts.tls, undefined);
  assert.deepEqual(b.opts.auth, { username: "u", password: "pw" });
  assert.deepEqual(parseHostPort("[::1]:25"), { host: "::1", port: 25 });
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x"], {}), /--to is required/);
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x", "-t", "b@x", "-u", "u"], {}), /password/);
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x", "-t", "b@x", "--tls", "maybe"], {}), /--tls/);
  const m = composeMessage({ from: "a@x.test", to: ["b@x.test"], subject: "S" });
  assert.match(m, /^Date: .*\r\nFrom: a@x\.test\r\nTo: b@x\.test\r\nSubject: S\r\n/);
  assert.ok(m.endsWith("\r\n"));
});

test("CR/LF refused in --subject and --header, a bare CR in --body; envelope flags; the password prompt", () => {
  const base = ["-s", "h", "-f", "a@x", "-t", "b@x"];
  assert.throws(() => parseSendArgs([...base, "--subject", "hi\r\nBcc: victim@x"], {}), /--subject must not contain/);
  assert.throws(() => parseSendArgs([...base, "--header", "X-A: 1\nBcc: v@x"], {}), /--header must not contain/);
  assert.throws(() => parseSendArgs([...base, "--body", "a\rb"], {}), /bare CR/);
  assert.ok(parseSendArgs([...base, "--body", "line 1\nline 2\r\nline 3"], {}));
  const e = parseSendArgs([...base, "--lmtp", "--no-chunking", "--size", "1234", "--body-type", "8bitmime",
    "--smtputf8", "--requiretls", "--ret", "hdrs", "--envid", "env-1", "--mail-auth", "<>", "--notify",
    "success,delay", "--orcpt", "b@x", "--orcpt-type", "rfc822"], {});
  assert.equal(e.opts.lmtp, true);
  assert.equal(e.opts.preferChunking, false);
  assert.deepEqual(e.opts.mailOptions, { size: 1234, body: "8BITMIME", smtpUtf8: true, requireTls: true, ret: "HDRS",
    envelopeId: "env-1", auth: "<>" });
  assert.deepEqual(e.opts.rcptOptions, { notify: ["SUCCESS", "DELAY"], originalRecipient: "b@x",
    originalRecipientType: "rfc822" });
  assert.deepEqual(parseSendArgs([...base, "--notify", "never"], {}).opts.rcptOptions, { notify: "NEVER" });
  assert.throws(() => parseSendArgs([...base, "--notify", "sometimes"], {}), /--notify/);
  assert.throws(() => parseSendArgs([...base, "--body-type", "9BIT"], {}), /--body-type/);
  // No password anywhere: asked for on a terminal, an error otherwise (and when stdin carries the message).
  const asked = parseSendArgs([...base, "-u", "u"], {}, { interactive: true });
  assert.equal(asked.promptPassword, true);
  assert.throws(() => parseSendArgs([...base, "-u", "u"], {}, { interactive: false }), /a terminal to ask on/);
  assert.throws(() => parseSendArgs([...base, "-u", "u", "-d", "-"], {}, { interactive: true }), /password/);
  assert.equal(parseSendArgs([...base, "-u", "u"], { SMTP_PASSWORD: "pw" }).promptPassword, false);
  assert.equal(parseSendArgs([...base, "-u", "u", "--password", "pw"], {}).passwordOnCommandLine, true);
});

test("exit codes: network errors 3, file errors 2, other Node ERR_* codes are not connection errors", () => {
  const withCode = (code) => Object.assign(new Error(`failed: ${code}`), { code });
  assert.equal(classify(withCode("ECONNRESET")).code, EXIT.CONNECT);
  assert.equal(classify(withCode("ENOTFOUND")).code, EXIT.CONNECT);
  assert.equal(classify(withCode("ENOENT")).code, EXIT.USAGE);
  assert.equal(classify(withCode("ERR_INVALID_ARG_TYPE")).code, EXIT.USAGE);
  assert.equal(classify(withCode("ERR_STREAM_PREMATURE_CLOSE")).code, EXIT.PROTOCOL);
  assert.equal(classify(withCode("ERR_INTERNAL_ASSERTION")).code, EXIT.PROTOCOL);
});

test("server text is printed with terminal escapes escaped", async () => {
  assert.equal(printable("ok\x1b[2J\x07\u009b\u2028."), "ok\\x1b[2J\\x07\\x9b\\u2028.");
  // A server whose greeting and refusal carry escape sequences (title change, clear screen).
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.write("220 evil\x1b]0;pwned\x07 ESMTP\r\n");
    let buffered = "";
    s.on("data", (d) => {
      buffered += d.toString("latin1");
      for (let i; (i = buffered.indexOf("\r\n")) >= 0; ) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        if (/^EHLO/i.test(line)) s.write("250 evil\x1b[31m\r\n");
        else if (/^MAIL/i.test(line)) s.write("554 5.7.1 no\x1b[2J thanks\r\n");
        else if (/^QUIT/i.test(line)) s.end("221 bye\r\n");
        else s.write("250 ok\r\n");
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [BIN, "send", "-s", `127.0.0.1:${port}`, "--tls", "none", "-f", "a@x.test",
    "-t", "b@x.test", "--verbose", "--timeout", "10"]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.on("close", r));
  server.close();
  assert.equal(code, EXIT.REFUSED, err);
  assert.ok(!out.includes("\x1b") && !err.includes("\x1b"), "no raw ESC reaches the terminal");
  assert.match(out, /<- 220 evil\\x1b\]0;pwned\\x07 ESMTP/);
  assert.match(err, /no\\x1b\[2J thanks/);
});

test("-d FILE is streamed: content goes out while the file is still being written (a FIFO)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-cli-"));
  const fifo = path.join(dir, "message.fifo");
  if (spawnSync("mkfifo", [fifo]).status !== 0) return t.skip("no mkfifo");
  // A sink that counts the message bytes it receives.
  let received = 0;
  const server = net.createServer((s) => {
    s.on("error", () => {});
    s.write("220 sink ESMTP\r\n");
    let inData = false;
    let buffered = "";
    let tail = "";
    s.on("data", (d) => {
      if (inData) {
        received += d.length;
        // The end of the message may be split across reads: look at the last bytes of everything so far.
        tail = (tail + d.toString("latin1")).slice(-5);
        if (tail === "\r\n.\r\n") {
          inData = false;
          s.write("250 2.0.0 queued\r\n");
        }
        return;
      }
      buffered += d.toString("latin1");
      for (let i; (i = buffered.indexOf("\r\n")) >= 0; ) {
        const cmd = buffered.slice(0, i);
        buffered = buffered.slice(i + 2);
        if (/^EHLO/i.test(cmd)) s.write("250 sink\r\n");
        else if (/^DATA/i.test(cmd)) {
          s.write("354 go\r\n");
          inData = true;
        } else if (/^QUIT/i.test(cmd)) s.end("221 bye\r\n");
        else s.write("250 ok\r\n");
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [BIN, "send", "-s", `127.0.0.1:${port}`, "--tls", "none", "-f", "a@x.test",
    "-t", "b@x.test", "-d", fifo, "--timeout", "20", "--json"]);
  let err = "";
  let out = "";
  child.stderr.on("data", (d) => (err += d));
  child.stdout.on("data", (d) => (out += d));
  const writer = fs.createWriteStream(fifo);
  const line = `${"x".repeat(76)}\r\n`;
  writer.write(`Subject: streamed\r\n\r\n${line.repeat(2000)}`);
  // Read whole, nothing could go out before the writer closes; streamed, the first part arrives now.
  const early = await waitFor(() => received > 0, 10_000);
  writer.end(line.repeat(2000));
  const code = await new Promise((r) => child.on("close", r));
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  assert.ok(early, "content reached the server while the file was still open");
  assert.equal(code, 0, err);
  assert.equal(JSON.parse(out).reply.code, 250);
  assert.ok(received > 4000 * line.length, `received ${received}`);
});

test("usage errors: exit 2 and one line on stderr", () => {
  for (const args of [["send"], ["send", "--bogus"], ["probe"], ["frobnicate"], ["bridge", "--allow", "x:1"]]) {
    const r = cli(args);
    assert.equal(r.code, EXIT.USAGE, `${args.join(" ")}: ${r.err}`);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /^smtp-wasm: /);
  }
  assert.equal(cli(["--help"]).code, 0);
});

test("connection refused: exit 3, one line", async () => {
  const r = cli(["send", "-s", "127.0.0.1:1", "-f", "a@example.test", "-t", "b@example.test", "--tls", "none"]);
  assert.equal(r.code, EXIT.CONNECT, r.err);
  assert.equal(r.err.trim().split("\n").length, 1);
  assert.match(r.err, /127\.0\.0\.1:1/);
});

// ------------------------------------------------------------------------------------------------ send
for (const [name, srv, mailDir, ext] of [
  ["Postfix", postfix, env.SMTP_WASM_POSTFIX_MAILDIR && path.join(env.SMTP_WASM_POSTFIX_MAILDIR, "new"), null],
  ["smtp-server", smtpServer, env.SMTP_WASM_SMTP_SERVER_MAIL, ".eml"],
]) {
  test(`send to ${name}: STARTTLS + AUTH, verbose transcript, delivered`, async (t) => {
    const skip = await skipUnless(srv.port);
    if (skip) return t.skip(skip);
    const marker = `cli-${name}-${Date.now()}`;
    const r = cli(["send", "-s", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "--ca", CA,
      "-u", USER, "--password", PASS, "-f", "alice@example.test", "-t", "bob@example.test",
      "--subject", marker, "--verbose"]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /^-> EHLO /m);
    assert.match(r.out, /^-> STARTTLS/m);
    assert.match(r.out, /^-> AUTH /m);
    assert.ok(!r.out.includes(Buffer.from(`\0${USER}\0${PASS}`).toString("base64")), "AUTH redacted");
    assert.match(r.out, /=== TLS TLSv1\.[23] /);
    assert.match(r.out, /=== server reply: 250 /);
    assert.ok(await waitFor(() => findIn(mailDir, marker, ext)), `message ${marker} in ${mailDir}`);
  });

  test(`send to ${name}: implicit TLS, message from stdin`, async (t) => {
    const skip = await skipUnless(srv.tlsPort);
    if (skip) return t.skip(skip);
    const marker = `cli-stdin-${name}-${Date.now()}`;
    const msg = `From: alice@example.test\r\nTo: bob@example.test\r\nSubject: ${marker}\r\n\r\nfrom stdin\r\n.leading dot\r\n`;
    const r = cli(["send", "-s", `127.0.0.1:${srv.tlsPort}`, "--tls", "implicit", "--server-name", "localhost",
      "--ca", CA, "-u", USER, "-f", "alice@example.test", "-t", "bob@example.test", "-d", "-", "--json"],
    { input: msg, extraEnv: { SMTP_PASSWORD: PASS } });
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.accepted, ["bob@example.test"]);
    assert.equal(j.reply.code, 250);
    const file = await waitFor(() => findIn(mailDir, marker, ext));
    assert.ok(file);
    assert.match(fs.readFileSync(file, "utf8"), /\r?\n\.leading dot\r?\n/);
  });

  test(`send to ${name}: TLS failure without the test CA is exit 4, one line`, async (t) => {
    const skip = await skipUnless(srv.port);
    if (skip) return t.skip(skip);
    const r = cli(["send", "-s", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "-u", USER,
      "-f", "alice@example.test", "-t", "bob@example.test"], { extraEnv: { SMTP_PASSWORD: PASS } });
    assert.equal(r.code, EXIT.TLS, r.err);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, /^smtp-wasm: TLS failed: /);
  });

  test(`send to ${name}: wrong password is exit 5`, async (t) => {
    const skip = await skipUnless(srv.port);
    if (skip) return t.skip(skip);
    const r = cli(["send", "-s", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "--ca", CA, "-u", USER,
      "--password", "wrong", "-f", "alice@example.test", "-t", "bob@example.test"]);
    assert.equal(r.code, EXIT.AUTH, r.err);
    assert.match(r.err, /^smtp-wasm: authentication refused: /);
  });

  test(`probe ${name}: greeting, capabilities, STARTTLS, chain with names and expiry`, async (t) => {
    const skip = await skipUnless(srv.port);
    if (skip) return t.skip(skip);
    const r = cli(["probe", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "--ca", CA]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^greeting: +220 /m);
    assert.match(r.out, /^capabilities: .*STARTTLS/m);
    assert.match(r.out, /^STARTTLS: +offered/m);
    assert.match(r.out, /^TLS: +TLSv1\.[23], TLS/m);
    assert.match(r.out, /^verified: +yes/m);
    assert.match(r.out, /^certificate 0: .*CN=/m);
    assert.match(r.out, /^ {2}issuer: .*CN=/m);
    assert.match(r.out, /days left/);
    const j = JSON.parse(cli(["probe", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "--ca", CA, "--json"]).out);
    assert.ok(j.capabilitiesAfterTls.some((c) => /^AUTH /.test(c)));
    assert.ok(j.tls.chain.length >= 1);
  });

  test(`probe ${name} without the CA: chain shown as NOT verified, exit 4`, async (t) => {
    const skip = await skipUnless(srv.port);
    if (skip) return t.skip(skip);
    const r = cli(["probe", `127.0.0.1:${srv.port}`, "--server-name", "localhost"]);
    assert.equal(r.code, EXIT.TLS, r.err + r.out);
    assert.match(r.out, /^verified: +NO: /m);
    assert.match(r.out, /^certificate 0: /m);
    assert.match(r.err, /^smtp-wasm: TLS failed: /);
  });
}

test("probe: implicit TLS port, and a certificate for the wrong name", async (t) => {
  const skip = await skipUnless(smtpServer.tlsPort);
  if (skip) return t.skip(skip);
  const r = cli(["probe", `127.0.0.1:${smtpServer.tlsPort}`, "--tls", "implicit", "--server-name", "localhost", "--ca", CA]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^TLS: +TLSv1\.[23]/m);
  const wrong = env.SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT;
  if (wrong && (await listening(wrong))) {
    const w = cli(["send", "-s", `127.0.0.1:${wrong}`, "--server-name", "localhost", "--ca", CA, "-u", USER,
      "--password", PASS, "-f", "alice@example.test", "-t", "bob@example.test"]);
    assert.equal(w.code, EXIT.TLS, w.err);
    assert.match(w.err, /TLS failed: /);
  }
});
