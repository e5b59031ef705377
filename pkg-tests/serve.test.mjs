// `smtp-wasm serve` with clients nobody here wrote: swaks (STARTTLS + AUTH, and a wrong password), Python smtplib
// (SMTP + STARTTLS, SMTP_SSL, LMTP), curl (STARTTLS and smtps://), nodemailer, and our own client (BDAT, SMTPUTF8...
// whatever it picks against the advertised extensions); the stored Maildir bytes are compared with what was sent.
// Then the web inbox in headless Chromium: a message sent by swaks appears live; the HTML view loads nothing remote;
// screenshot in test-output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { run, serve as serveIn, stored } from "./lib/serve.mjs";
/** Under scripts/test.sh (SMTP_WASM_REQUIRE_SERVERS=1), which installs every peer, a missing one fails the test. */
function skipOrFail(t, why) {
  if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error(why);
  return t.skip(why);
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "test-output");
fs.mkdirSync(OUT, { recursive: true });
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-serve-test-"));
const serve = (name, flags) => serveIn(WORK, name, flags);

let smtp; // --tls-self-signed, users, http
let lmtp;

before(async () => {
  smtp = await serve("smtp", ["--tls-self-signed", "--tls-listen", "127.0.0.1:0", "--user", "alice:secret",
    "--http", "127.0.0.1:0"]);
  lmtp = await serve("lmtp", ["--lmtp", "--no-http"]);
});
after(() => {
  smtp?.child.kill("SIGTERM");
  lmtp?.child.kill("SIGTERM");
});

const message = (subject, extra = "") =>
  `From: A <a@example.test>\r\nTo: B <b@example.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@t>\r\n` +
  `\r\nline one\r\n.leading dot\r\n${extra}last line\r\n`;

test("swaks: STARTTLS (test CA) + AUTH PLAIN; stored with its envelope", async () => {
  const body = message("swaks one");
  const r = await run("swaks", ["--server", `127.0.0.1:${smtp.port}`, "--from", "a@example.test", "--to",
    "b@example.test,c@example.test", "--tls", "--tls-ca-path", smtp.ca, "--tls-verify", "--auth", "PLAIN",
    "--auth-user", "alice", "--auth-password", "secret", "--data", "-"], { input: body });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const got = stored(smtp.maildir).find((m) => m.body.includes("swaks one"));
  assert.ok(got);
  assert.equal(got.from, "a@example.test");
  assert.deepEqual(got.to, ["b@example.test", "c@example.test"]);
  assert.match(got.received, /with ESMTPSA \(authenticated as alice\) \(TLSv1\.3/);
  // swaks ends what it reads from --data with one more CRLF.
  assert.equal(got.body.toString("latin1"), body + "\r\n");
  assert.match(smtp.output(), /<a@example\.test> -> <b@example\.test>, <c@example\.test> "swaks one" \d+ bytes, TLSv1\.3, user alice/);
});

test("swaks: a wrong password gets 535, MAIL without AUTH gets 530", async () => {
  const r = await run("swaks", ["--server", `127.0.0.1:${smtp.port}`, "--from", "a@example.test", "--to",
    "b@example.test", "--tls", "--tls-ca-path", smtp.ca, "--auth", "PLAIN", "--auth-user", "alice",
    "--auth-password", "nope"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /<~\* +535 5\.7\.8/);
  const r2 = await run("swaks", ["--server", `127.0.0.1:${smtp.port}`, "--from", "a@example.test", "--to",
    "b@example.test", "--tls", "--tls-ca-path", smtp.ca]);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stdout, /<~\* +530 5\.7\.0/);
});

const PY = `
import smtplib, ssl, sys
mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = sys.stdin.buffer.read()
if mode == "starttls":
    s = smtplib.SMTP("127.0.0.1", port)
    s.starttls(context=ssl.create_default_context(cafile=ca))
    s.login("alice", "secret")
elif mode == "ssl":
    s = smtplib.SMTP_SSL("localhost", port, context=ssl.create_default_context(cafile=ca))
    s.login("alice", "secret")
else:
    s = smtplib.LMTP("127.0.0.1", port)
refused = s.sendmail("py@example.test", ["x@example.test", "y@example.test"], body)
print("refused", refused)
s.quit()
`;


for (const mode of ["starttls", "ssl", "lmtp"]) {
  test(`python smtplib ${mode === "ssl" ? "SMTP_SSL" : mode === "lmtp" ? "LMTP" : "SMTP + STARTTLS"}`, async () => {
    const server = mode === "lmtp" ? lmtp : smtp;
    const port = mode === "ssl" ? smtp.tlsPort : server.port;
    const body = message(`python ${mode}`, "caf\u00e9 8bit\r\n");
    const r = await run("python3", ["-c", PY, mode, String(port), smtp.ca ?? ""], { input: Buffer.from(body, "utf8") });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /refused \{\}/);
    const got = stored(server.maildir).find((m) => m.body.includes(`python ${mode}`));
    assert.ok(got, "stored");
    assert.deepEqual(got.to, ["x@example.test", "y@example.test"]);
    assert.equal(got.body.toString("utf8"), body);
    if (mode === "lmtp") assert.match(got.received, /with LMTP/);
  });
}

test("curl: STARTTLS (--ssl-reqd) and smtps://, with AUTH", async () => {
  for (const [url, subject] of [[`smtp://127.0.0.1:${smtp.port}`, "curl starttls"], [`smtps://localhost:${smtp.tlsPort}`, "curl smtps"]]) {
    const body = message(subject);
    const r = await run("curl", ["-sS", url, "--ssl-reqd", "--cacert", smtp.ca, "--user", "alice:secret",
      "--mail-from", "curl@example.test", "--mail-rcpt", "r@example.test", "-T", "-"], { input: body });
    assert.equal(r.code, 0, r.stderr);
    const got = stored(smtp.maildir).find((m) => m.body.includes(subject));
    assert.ok(got, `stored ${subject}`);
    assert.equal(got.body.toString("latin1"), body);
  }
});

test("nodemailer (STARTTLS required, AUTH LOGIN)", async () => {
  const require = createRequire(path.join(ROOT, "test-servers/x.js"));
  let nodemailer;
  try {
    nodemailer = require("nodemailer");
  } catch {
    return skipOrFail({ skip: (why) => test.skip?.(why) }, "nodemailer not installed (test-servers/node_modules)");
  }
  const t = nodemailer.createTransport({ host: "127.0.0.1", port: smtp.port, secure: false, requireTLS: true,
    tls: { ca: fs.readFileSync(smtp.ca), servername: "localhost" }, auth: { user: "alice", pass: "secret" },
    authMethod: "LOGIN" });
  const info = await t.sendMail({ from: "nm@example.test", to: "z@example.test", subject: "nodemailer one",
    text: "hello from nodemailer", html: "<p>hi</p>", attachments: [{ filename: "a.txt", content: "attached" }] });
  assert.deepEqual(info.accepted, ["z@example.test"]);
  const got = stored(smtp.maildir).find((m) => m.body.includes("nodemailer one"));
  assert.ok(got);
  assert.match(got.received, /ESMTPSA/);
});

test("our own client: STARTTLS + AUTH, SMTPUTF8 not offered so ASCII, BDAT (CHUNKING), 8-bit", async () => {
  const { sendMail } = await import(path.join(ROOT, "dist/node.js"));
  const body = message("our client", "8bit \u00fcber\r\n");
  const result = await sendMail({ host: "127.0.0.1", port: smtp.port, serverName: "localhost",
    rootCertificates: fs.readFileSync(smtp.ca, "utf8"), auth: { username: "alice", password: "secret" },
    from: "us@example.test", to: ["v@example.test", "w@example.test"], message: body });
  assert.deepEqual(result.accepted, ["v@example.test", "w@example.test"]);
  assert.equal(result.tls?.protocolVersion, "TLSv1.3");
  const got = stored(smtp.maildir).find((m) => m.body.includes("our client"));
  assert.equal(got.body.toString("utf8"), body);
});

test("our own client: SMTPUTF8 address, BINARYMIME (every byte value), REQUIRETLS, DSN; then LMTP", async () => {
  const { SmtpClient, connectTcp, sendMail } = await import(path.join(ROOT, "dist/node.js"));
  const head = Buffer.from("Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n");
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const body = Buffer.concat([head, all, Buffer.from("\r\n.\r\n")]);
  const result = await sendMail({ host: "127.0.0.1", port: smtp.port, serverName: "localhost",
    rootCertificates: fs.readFileSync(smtp.ca, "utf8"), auth: { username: "alice", password: "secret" },
    from: "j\u00f6rg@example.test", to: ["\u00fc@example.test"], message: new Uint8Array(body),
    mailOptions: { smtpUtf8: true, body: "BINARYMIME", requireTls: true, ret: "HDRS", envelopeId: "env-1" },
    rcptOptions: { notify: ["SUCCESS", "FAILURE"] } });
  assert.deepEqual(result.accepted, ["\u00fc@example.test"]);
  const got = stored(smtp.maildir).find((m) => m.body.includes("Subject: binary"));
  assert.ok(got, "stored");
  assert.equal(Buffer.from(got.from, "latin1").toString("utf8"), "j\u00f6rg@example.test");
  assert.ok(got.body.equals(body), "every byte stored as sent (BDAT, no dot-stuffing, no line-end changes)");
  // LMTP: one reply per recipient.
  const client = await SmtpClient.connect(await connectTcp("127.0.0.1", lmtp.port), { serverName: "localhost", lmtp: true });
  await client.mail("l@example.test");
  await client.rcpt("one@example.test");
  await client.rcpt("two@example.test");
  const w = await client.lmtpData();
  await w.write("Subject: lmtp ours\r\n\r\nhi\r\n");
  const results = await w.close();
  assert.deepEqual(results.map((r) => [r.recipient, r.reply?.code]), [["one@example.test", 250], ["two@example.test", 250]]);
  await client.quit();
  assert.ok(stored(lmtp.maildir).some((m) => m.body.includes("lmtp ours")));
});

test("the web inbox in Chromium: a message sent by swaks appears live; HTML view loads nothing remote", async (t) => {
  let launch;
  try {
    ({ launch } = await import("./lib/browser.mjs"));
  } catch {
    return skipOrFail(t, "no browser helper");
  }
  let browser;
  try {
    browser = await launch();
  } catch (error) {
    return skipOrFail(t, `Chromium did not start: ${error.message}`);
  }
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    // Chromium reports a request the CSP stopped as a failed request (ERR_BLOCKED_BY_CSP): anything else that
    // left for a remote host is a leak.
    const remote = [];
    const blocked = [];
    const isRemote = (url) => !url.startsWith(smtp.http) && !url.startsWith("data:") && url !== "about:blank";
    page.on("requestfailed", (req) => {
      if (isRemote(req.url()) && /^csp$|BLOCKED_BY_CSP/i.test(req.failure()?.errorText ?? "")) blocked.push(req.url());
    });
    page.on("requestfinished", (req) => {
      if (isRemote(req.url())) remote.push(req.url());
    });
    page.on("requestfailed", (req) => {
      if (isRemote(req.url()) && !/^csp$|BLOCKED_BY_CSP/i.test(req.failure()?.errorText ?? "")) {
        remote.push(`${req.url()} (${req.failure()?.errorText})`);
      }
    });
    await page.goto(smtp.http);
    await page.waitForSelector("#status.live", { timeout: 10_000 });
    const html = `<html><body><h1 style="color:#2a6">Hello from swaks</h1><p>pixel:<img src="http://example.com/pixel.png">` +
      `</p><script>document.title="pwned"</script></body></html>`;
    const r = await run("swaks", ["--server", `127.0.0.1:${smtp.port}`, "--from", "live@example.test", "--to",
      "inbox@example.test", "--tls", "--tls-ca-path", smtp.ca, "--auth", "PLAIN", "--auth-user", "alice",
      "--auth-password", "secret", "--header", "Subject: live in the inbox", "--attach-type", "text/html",
      "--attach-body", html, "--attach-type", "application/pdf", "--attach-name", "report.pdf", "--attach-body", "%PDF-1.4 x"]);
    assert.equal(r.code, 0, r.stdout);
    const row = page.locator("#messages li", { hasText: "live in the inbox" });
    await row.waitFor({ timeout: 10_000 });
    await row.click();
    await page.waitForSelector("#attachments a", { timeout: 10_000 });
    assert.match(await page.locator("#attachments").innerText(), /application\/pdf, 10 B/);
    await page.click('[data-tab="html"]');
    const frame = page.frameLocator("#pane-html");
    await frame.locator("h1").waitFor({ timeout: 10_000 });
    assert.equal(await frame.locator("h1").innerText(), "Hello from swaks");
    await page.waitForTimeout(300);
    const shot = path.join(OUT, "serve-inbox.png");
    await page.screenshot({ path: shot });
    const png = fs.readFileSync(shot);
    assert.ok(png.length > 20_000, `screenshot has content (${png.length} bytes)`);
    assert.deepEqual(remote, [], "no remote request from the page or the message");
    assert.deepEqual(blocked, ["http://example.com/pixel.png"], "the tracking pixel was blocked by the CSP");
    assert.notEqual(await page.title(), "pwned");
    // Delete: it disappears from the list and the Maildir.
    const before_ = fs.readdirSync(path.join(smtp.maildir, "new")).length;
    await page.click("#delete");
    await row.waitFor({ state: "detached", timeout: 10_000 });
    assert.equal(fs.readdirSync(path.join(smtp.maildir, "new")).length, before_ - 1);
  } finally {
    await browser.close();
  }
});

/** Waits (up to 10 s: the example logs after the reply left, and a loaded machine delays its pipe) for a line. */
async function outputMatches(ex, re) {
  for (let i = 0; i < 200 && !re.test(ex.output()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(ex.output(), re);
}

/** Runs a README example (examples/js/NAME) with `smtp-wasm` resolving to this checkout; resolves once it listens. */
function example(name, env) {
  const project = fs.mkdtempSync(path.join(WORK, "example-"));
  fs.mkdirSync(path.join(project, "node_modules"));
  fs.symlinkSync(ROOT, path.join(project, "node_modules", "smtp-wasm"));
  fs.copyFileSync(path.join(ROOT, "examples/js", name), path.join(project, name));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(project, name)], { env: { ...process.env, PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
}

test("README example examples/js/server.mjs: swaks with STARTTLS + AUTH, a refused recipient", async () => {
  const certs = (await import("../node/selfsigned.js")).makeSelfSignedCertificates();
  fs.writeFileSync(path.join(WORK, "ex-cert.pem"), certs.cert);
  fs.writeFileSync(path.join(WORK, "ex-key.pem"), certs.key);
  fs.writeFileSync(path.join(WORK, "ex-ca.pem"), certs.ca);
  const ex = await example("server.mjs", { TLS_CERT: path.join(WORK, "ex-cert.pem"), TLS_KEY: path.join(WORK, "ex-key.pem") });
  try {
    const r = await run("swaks", ["--server", `127.0.0.1:${ex.port}`, "--from", "a@example.test", "--to",
      "b@example.test", "--tls", "--tls-verify", "--tls-ca-path", path.join(WORK, "ex-ca.pem"), "--auth", "PLAIN",
      "--auth-user", "alice", "--auth-password", "secret"]);
    assert.equal(r.code, 0, `swaks:\n${r.stdout}${r.stderr}\nthe example:\n${ex.output()}`);
    assert.match(r.stdout, /<~ +250 2\.0\.0 OK: queued/);
    const bad = await run("swaks", ["--server", `127.0.0.1:${ex.port}`, "--from", "a@example.test", "--to",
      "x@nowhere.test", "--tls", "--tls-ca-path", path.join(WORK, "ex-ca.pem")]);
    assert.match(bad.stdout, /<~\* +550 5\.1\.1 no such user/, `${bad.stdout}${bad.stderr}\nthe example:\n${ex.output()}`);
    await outputMatches(ex, /127\.0\.0\.1 \(alice\): \d+ bytes/);
  } finally {
    ex.child.kill("SIGTERM");
  }
});

test("README example examples/js/server-lmtp.mjs: smtplib LMTP, one status per recipient, XCLIENT", async () => {
  const ex = await example("server-lmtp.mjs", {});
  try {
    const py = [
      "import smtplib",
      `s = smtplib.LMTP("127.0.0.1", ${ex.port})`,
      "s.ehlo()",
      "code, _ = s.docmd('XCLIENT', 'ADDR=192.0.2.7')",
      "print('xclient', code)",
      "s.ehlo_resp = s.helo_resp = None  # XCLIENT starts over: a new greeting, LHLO again",
      "try:",
      "    s.sendmail('a@example.test', ['Ok@Example.test', 'full@example.test'], 'Subject: x\\r\\n\\r\\nhi\\r\\n')",
      "except smtplib.SMTPRecipientsRefused as e:",
      "    print('refused', e.recipients)",
      "else:",
      "    print('sent')",
      "s.quit()",
    ].join("\n");
    const r = await run("python3", ["-c", py]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /xclient 220/);
    await outputMatches(ex, /192\.0\.2\.7: \d+ characters, scanned/);
  } finally {
    ex.child.kill("SIGTERM");
  }
});

test("serve refuses a non-loopback --http without --http-token", async () => {
  const r = await run(process.execPath, [path.join(ROOT, "bin/smtp-wasm.js"), "serve", "--maildir",
    path.join(WORK, "x"), "--http", "0.0.0.0:0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a loopback address.*--http-token/);
});

test("the inbox takes the envelope, TLS and AUTH only from its own lines, never from the message; the log escapes C1 controls", async () => {
  const open = await serve("open", ["--http", "127.0.0.1:0"]);
  try {
    // Without --user any AUTH succeeds: a name with parentheses comes back as it was given.
    const py = `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.ehlo("client.test")
s.login("eve) (TLSv1.3 fake", "pw")
s.sendmail("a@example.test", ["b@example.test"], sys.stdin.buffer.read())
s.quit()`;
    // A first line starting with a tab folds into the Received line on top; a Delivered-To of its own.
    const spoof =
      "\t(authenticated as admin) with ESMTPSA (TLSv1.3 TLS_FAKE)\r\nDelivered-To: ceo@example.test\r\n" +
      "Subject: spoof\r\n\r\nhi\r\n";
    const r = await run("python3", ["-c", py, String(open.port)], { input: spoof });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const list = await (await fetch(new URL("/api/messages", open.http))).json();
    const m = list.find((x) => x.subject === "spoof");
    assert.ok(m, JSON.stringify(list));
    assert.deepEqual(
      { from: m.from, to: m.to, tls: m.tls, tlsVersion: m.tlsVersion, user: m.user },
      { from: "a@example.test", to: ["b@example.test"], tls: false, tlsVersion: null, user: "eve) (TLSv1.3 fake" },
    );
    // The one-line summary escapes every control of the subject, C1 ones too (U+009B is CSI to a UTF-8 terminal).
    assert.match(open.output(), /"spoof" \d+ bytes, user eve\) \(TLSv1\.3 fake ->/);
    const c1 = await run("python3", ["-c", py, String(open.port)], {
      input: Buffer.from("Subject: c1 \u009b2J \u009d0;title\u009c =?utf-8?q?=C2=9B31m?=\r\n\r\nhi\r\n", "utf8"),
    });
    assert.equal(c1.code, 0, c1.stdout + c1.stderr);
    await outputMatches(open, /"c1 /);
    assert.match(open.output(), /"c1 \\x9b2J \\x9d0;title\\x9c \\x9b31m" \d+ bytes/);
    assert.doesNotMatch(open.output(), /[\u0080-\u009f]/);
    // A malformed escape in a message id is a 404 like any unknown id, not a 500.
    const bad = await fetch(new URL("/api/messages/%E0%A4%A/raw", open.http));
    assert.equal(bad.status, 404);
  } finally {
    open.child.kill("SIGTERM");
  }
});

test("serve exits when it cannot start: a taken port (3) after another listener started; a bad certificate (2)", async () => {
  const bin = path.join(ROOT, "bin/smtp-wasm.js");
  const busy = await run(process.execPath, [bin, "serve", "--maildir", path.join(WORK, "busy"), "--listen",
    "127.0.0.1:0", "--http", new URL(smtp.http).host], { timeout: 15_000 });
  assert.equal(busy.code, 3, busy.stdout + busy.stderr);
  assert.match(busy.stderr, /^smtp-wasm serve: listen EADDRINUSE.*\n$/);
  const notPem = path.join(WORK, "not.pem");
  fs.writeFileSync(notPem, "not a certificate\n");
  const bad = await run(process.execPath, [bin, "serve", "--maildir", path.join(WORK, "bad"), "--listen",
    "127.0.0.1:0", "--no-http", "--tls-cert", notPem, "--tls-key", notPem], { timeout: 15_000 });
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /^smtp-wasm serve: .*PEM.*\n$/);
});

test("an attachment with a very long name can still be downloaded (its name shortened, extension kept)", async () => {
  const open = await serve("longname", ["--http", "127.0.0.1:0"]);
  try {
    const py = `
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.sendmail("a@example.test", ["b@example.test"], sys.stdin.buffer.read())`;
    // 30,000 euro signs: 270 kB once percent-encoded, more than Chromium takes in response headers.
    const message =
      "Subject: longname\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\n" +
      "Content-Type: text/plain\r\n\r\nhi\r\n--BB\r\nContent-Type: application/octet-stream\r\n" +
      `Content-Disposition: attachment; filename="${"\u20ac".repeat(30_000)}.txt"\r\n\r\ndata\r\n--BB--\r\n`;
    const r = await run("python3", ["-c", py, String(open.port)], { input: Buffer.from(message, "utf8") });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const list = await (await fetch(new URL("/api/messages", open.http))).json();
    const id = list.find((m) => m.subject === "longname").id;
    const detail = await (await fetch(new URL(`/api/messages/${encodeURIComponent(id)}`, open.http))).json();
    assert.equal(detail.attachments[0].filename.length, 30_004);
    const res = await fetch(new URL(`/api/messages/${encodeURIComponent(id)}/attachments/0`, open.http));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "data");
    const disposition = res.headers.get("content-disposition");
    assert.ok(disposition.length < 4096, `Content-Disposition is ${disposition.length} bytes`);
    assert.match(disposition, /filename\*=UTF-8''(%E2%82%AC){150}%E2%80%A6(%E2%82%AC){36}\.txt$/);
  } finally {
    open.child.kill("SIGTERM");
  }
});
