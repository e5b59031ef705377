// `npx smtp-wasm send|probe` against the real loopback servers (Postfix, smtp-server) of scripts/servers.sh:
// delivery, transcript, exit codes, one-line errors, TLS failures.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { serverEnv, listening } from "./lib/env.mjs";
import { parseSendArgs, parseHostPort, composeMessage, EXIT } from "../node/cli.js";

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
  assert.equal(a.opts.tls, "implicit");
  assert.deepEqual(a.opts.to, ["b@x", "c@x", "d@x"]);
  const b = parseSendArgs(["--server", "h", "--from", "a@x", "--to", "b@x", "-u", "u"], { SMTP_PASSWORD: "pw" });
  assert.equal(b.opts.port, 587);
  assert.equal(b.opts.tls, "starttls");
  assert.deepEqual(b.opts.auth, { username: "u", password: "pw" });
  assert.deepEqual(parseHostPort("[::1]:25"), { host: "::1", port: 25 });
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x"], {}), /--to is required/);
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x", "-t", "b@x", "-u", "u"], {}), /password/);
  assert.throws(() => parseSendArgs(["-s", "h", "-f", "a@x", "-t", "b@x", "--tls", "maybe"], {}), /--tls/);
  const m = composeMessage({ from: "a@x.test", to: ["b@x.test"], subject: "S" });
  assert.match(m, /^Date: .*\r\nFrom: a@x\.test\r\nTo: b@x\.test\r\nSubject: S\r\n/);
  assert.ok(m.endsWith("\r\n"));
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
    const r = cli(["send", "-s", `127.0.0.1:${srv.port}`, "--server-name", "localhost", "-u", USER, "--password",
      PASS, "-f", "alice@example.test", "-t", "bob@example.test"]);
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
