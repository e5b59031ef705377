// `smtp-wasm serve` with the two real peers of issue 11 that serve.test.mjs does not cover: go-smtp's own client (the
// seed's library, Debian's source built offline by test-servers/gosmtp/build.sh) with STARTTLS verified against the
// test CA and AUTH PLAIN, and Postfix's SMTP client relaying through its transport map (the shared instance of
// scripts/servers.sh relays @$SMTP_WASM_RELAY_DOMAIN to $SMTP_WASM_RUST_SERVER_PORT with STARTTLS required and
// smtp_tls_CAfile = the test CA). The stored Maildir bytes are compared with what was sent.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serverEnv, listening } from "./lib/env.mjs";
import { run, serve, stored } from "./lib/serve.mjs";

/** Under scripts/test.sh (SMTP_WASM_REQUIRE_SERVERS=1), which installs every peer, a missing one fails the test. */
function skipOrFail(t, why) {
  if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error(why);
  return t.skip(why);
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-peers-test-"));
const env = serverEnv();
const certs = env.SMTP_WASM_CERTS;
const running = [];
after(() => {
  for (const s of running) s.child.kill("SIGTERM");
  fs.rmSync(WORK, { recursive: true, force: true });
});

const message = (subject) =>
  `From: A <a@example.test>\r\nTo: B <b@example.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@t>\r\n` +
  `\r\nline one\r\n.leading dot\r\n\r\nlast line\r\n`;

test("go-smtp's client: STARTTLS verified against the test CA, AUTH PLAIN; stored bytes", async (t) => {
  if (!certs) return skipOrFail(t, "no test certificates: scripts/servers.sh up");
  const build = await run(path.join(ROOT, "test-servers/gosmtp/build.sh"), [], { timeout: 180_000 });
  assert.equal(build.code, 0, `test-servers/gosmtp/build.sh (needs scripts/setup.sh servers):\n${build.stderr}`);
  const client = path.join(build.stdout.trim(), "gosmtp-client");
  const srv = await serve(WORK, "gosmtp", ["--tls-cert", path.join(certs, "fullchain.pem"), "--tls-key",
    path.join(certs, "key.pem"), "--user", "alice:secret", "--no-http"]);
  running.push(srv);
  const body = message("go-smtp client one");
  const file = path.join(WORK, "gosmtp.eml");
  fs.writeFileSync(file, body);
  const send = (extra) => run(client, ["-addr", `127.0.0.1:${srv.port}`, "-starttls", "-cafile", env.SMTP_WASM_CA,
    "-servername", "localhost", "-from", "a@example.test", "-to", "b@example.test,c@example.test", "-file", file, ...extra]);
  const r = await send(["-user", "alice", "-pass", "secret"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = stored(srv.maildir);
  assert.equal(got.length, 1);
  assert.equal(got[0].from, "a@example.test");
  assert.deepEqual(got[0].to, ["b@example.test", "c@example.test"]);
  assert.match(got[0].received, /with ESMTPSA \(authenticated as alice\) \(TLSv1\.3/);
  // go-smtp's dot-stuffing writer carries the body through unchanged (it ends with CRLF already).
  assert.equal(got[0].body.toString("latin1"), body);
  // The same client verifying against a CA that did not sign the server's leaf fails in the handshake.
  const wrongCa = path.join(WORK, "wrong-ca.pem");
  fs.writeFileSync(wrongCa, fs.readFileSync(path.join(certs, "expired-cert.pem")));
  const bad = await run(client, ["-addr", `127.0.0.1:${srv.port}`, "-starttls", "-cafile", wrongCa, "-from",
    "a@example.test", "-to", "b@example.test", "-file", file, "-user", "alice", "-pass", "secret"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /STARTTLS: .*(certificate|x509)/i);
  // A wrong password is refused with go-smtp seeing the 535.
  const wrong = await send(["-user", "alice", "-pass", "nope"]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /AUTH: .*535/);
  assert.equal(stored(srv.maildir).length, 1);
});

test("Postfix relays through its transport map into smtp-wasm serve over STARTTLS (chain verified: test CA)", async (t) => {
  const port = Number(env.SMTP_WASM_RUST_SERVER_PORT);
  if (!certs || !env.SMTP_WASM_POSTFIX_PORT || !(await listening(env.SMTP_WASM_POSTFIX_PORT))) {
    return skipOrFail(t, "the shared Postfix is not up: scripts/servers.sh up postfix");
  }
  assert.ok(!(await listening(port)), `port ${port} is busy (a tests/real_clients.rs run?); Postfix relays there`);
  // `serve` listens where Postfix's transport map points, with the test CA's localhost leaf.
  const srv = await serve(WORK, "relay", ["--listen", `${env.SMTP_WASM_HOST ?? "127.0.0.1"}:${port}`, "--tls-cert",
    path.join(certs, "fullchain.pem"), "--tls-key", path.join(certs, "key.pem"), "--no-http"]);
  running.push(srv);
  const logStart = fs.statSync(env.SMTP_WASM_POSTFIX_LOG).size;
  const marker = `relay-${process.pid}-${Date.now()}`;
  const rcpt = `someone@${env.SMTP_WASM_RELAY_DOMAIN}`;
  const body = message(`postfix relay ${marker}`);
  const r = await run("swaks", ["--server", `127.0.0.1:${env.SMTP_WASM_POSTFIX_PORT}`, "--from", "a@example.test",
    "--to", rcpt, "--data", "-"], { input: body, timeout: 60_000 });
  assert.equal(r.code, 0, `swaks submitting to the shared Postfix (exit ${r.code}; null: killed after 60 s):\n${r.stdout}${r.stderr}`);
  // Postfix may have this destination marked dead from a run when nothing listened: flush its queue.
  const pfConfig = path.join(env.SMTP_WASM_STATE, "postfix", "etc");
  await run("postqueue", ["-c", pfConfig, "-f"], { timeout: 10_000 });
  let got;
  for (let i = 0; i < 300 && !got; i++) {
    await new Promise((res) => setTimeout(res, 100));
    if (fs.existsSync(path.join(srv.maildir, "new"))) got = stored(srv.maildir).find((m) => m.body.includes(marker));
  }
  assert.ok(got, `Postfix did not deliver within 30 s; serve said:\n${srv.output()}`);
  assert.equal(got.from, "a@example.test");
  assert.deepEqual(got.to, [rcpt]);
  assert.match(got.received, /with ESMTPS \(TLSv1\.[23]/);
  // What Postfix relays is what swaks submitted (plus swaks's final CRLF), under Postfix's own trace header (and any
  // header its cleanup adds).
  const text = got.body.toString("latin1");
  assert.match(text, /^Received: from /);
  assert.ok(text.includes(`\r\nSubject: postfix relay ${marker}\r\n`), text);
  assert.ok(text.endsWith(`\r\n\r\n${body.slice(body.indexOf("\r\n\r\n") + 4)}\r\n`), text);
  // Postfix's log: the server's chain verified against smtp_tls_CAfile (the test CA): "Trusted", not "Untrusted".
  const log = fs.readFileSync(env.SMTP_WASM_POSTFIX_LOG).subarray(logStart).toString("utf8");
  assert.match(log, new RegExp(`Trusted TLS connection established to [^\\n]*:${port}:`));
});
