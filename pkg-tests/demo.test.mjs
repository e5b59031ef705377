// The demo: scripts/demo.sh --once on a clean state, and the browser page in headless Chromium through the
// package's bridge (and through websockify), with its failure paths. Screenshots go to test-output/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { launch } from "./lib/browser.mjs";
import { serverEnv, listening } from "./lib/env.mjs";
import { createBridge } from "../node/bridge.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "test-output");
fs.mkdirSync(OUT, { recursive: true });
const env = serverEnv();

test("scripts/demo.sh --once: exit 0, transcript with AUTH redacted, final reply, message received", () => {
  const r = spawnSync("bash", [path.join(ROOT, "scripts/demo.sh"), "--once", "--http-port", "0", "--bridge-port", "0",
    "--smtp-port", "0", "--smtps-port", "0"], { encoding: "utf8", timeout: 600_000 });
  const out = r.stdout;
  assert.equal(r.status, 0, `exit ${r.status}\n${out}\n${r.stderr}`);
  assert.match(out, /S: 220 demo\.smtp-wasm\.test ESMTP/);
  assert.match(out, /C: EHLO /);
  assert.match(out, /C: STARTTLS/);
  assert.match(out, /C: AUTH /);
  assert.ok(!out.includes(Buffer.from("\0alice\0secret").toString("base64")), "AUTH payload redacted");
  assert.ok(!/secret/.test(out.split("\n").filter((l) => /C: AUTH/.test(l)).join("\n")));
  assert.match(out, /== TLS: TLSv1\.[23]/);
  assert.match(out, /== server's final reply: 250 .*queued as \S+/);
  assert.match(out, /== received by the demo server: new:\S+/);
});

// ------------------------------------------------------------------------------------------------ the page
let demo; // the demo server process
let urls; // { page, bridge }
let browser;
let page;

function startDemo() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "demo/server.mjs"), "--http-port", "0", "--bridge-port", "0",
      "--smtp-port", "0", "--smtps-port", "0", "--skip-send"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${out}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /open the demo page: (http:\/\/\S+)/.exec(out);
      const b = /== bridge: (ws:\/\/\S+)/.exec(out);
      if (m && b) {
        clearTimeout(timer);
        resolve({ child, page: m[1], bridge: b[1], output: () => out });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      console.log(`[demo server exited with ${code}]\n${out.split("\n").slice(-15).join("\n")}`);
      reject(new Error(`the demo exited with ${code}:\n${out}`));
    });
  });
}

before(async () => {
  demo = await startDemo();
  urls = { page: demo.page, bridge: demo.bridge };
  browser = await launch();
});
after(async () => {
  if (demo && demo.child.exitCode !== null) console.log(`the demo server had exited:\n${demo.output()}`);
  await browser?.close();
  demo?.child.kill("SIGTERM");
});

async function openPage(query = "", width = 1280) {
  page = await browser.context.newPage();
  await page.setViewportSize({ width, height: 900 });
  page.on("pageerror", (e) => console.log("[pageerror]", e.message));
  await page.goto(urls.page + query);
  await page.evaluate(() => (document.getElementById("advanced").open = true)); // the CA field
  await page.waitForFunction(() => ["idle", "error"].includes(document.body.dataset.state), null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), "idle", "the wasm loaded");
  return page;
}

async function sendAndWait(p) {
  await p.click("#send");
  await p.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 60_000 });
  return p.evaluate(() => document.body.dataset.state);
}

async function inbox() {
  const res = await fetch(new URL("api/messages", urls.page));
  return res.json();
}

test("the page sends through the bridge with STARTTLS and AUTH: transcript, TLS badge, results, inbox", async () => {
  const p = await openPage();
  const subject = `browser-${Date.now()}`;
  await p.fill("#subject", subject);
  await p.fill("#to", "bob@example.test, carol@example.test");
  assert.equal(await sendAndWait(p), "done", await p.textContent("#error"));
  // transcript: client and server lines told apart, AUTH redacted
  const lines = await p.$$eval("#transcript li", (lis) => lis.map((li) => ({ kind: li.className, text: li.textContent })));
  assert.ok(lines.some((l) => l.kind === "client" && /^EHLO /.test(l.text)));
  assert.ok(lines.some((l) => l.kind === "client" && l.text === "STARTTLS"));
  assert.ok(lines.some((l) => l.kind === "client" && /^AUTH /.test(l.text)));
  assert.ok(lines.some((l) => l.kind === "server" && /^220 /.test(l.text)));
  assert.ok(!lines.some((l) => l.text.includes(Buffer.from("\0alice\0secret").toString("base64"))));
  // TLS badge
  assert.equal(await p.isVisible("#tls-badge"), true);
  assert.match(await p.textContent("#tls-version"), /^TLSv1\.[23]$/);
  assert.match(await p.textContent("#tls-cipher"), /^TLS/);
  assert.match(await p.textContent("#tls-subject"), /localhost/);
  assert.match(await p.textContent("#tls-issuer"), /smtp-wasm demo CA/);
  assert.match(await p.textContent("#tls-badge"), /bridge sees only ciphertext/);
  // per-recipient results and progress
  assert.deepEqual(await p.$$eval("#results li.ok", (l) => l.map((x) => x.dataset.recipient)),
    ["bob@example.test", "carol@example.test"]);
  assert.equal(await p.evaluate(() => document.getElementById("progress").value), 1);
  assert.match(await p.textContent("#final"), /250 .*queued as/);
  // the server got it, and the inbox panel shows it
  const got = (await inbox()).find((m) => m.subject === subject);
  assert.ok(got, "the demo server received the message");
  assert.deepEqual(got.to, ["bob@example.test", "carol@example.test"]);
  assert.equal(got.user, "alice");
  assert.ok(got.tls);
  await p.waitForFunction((s) => document.getElementById("inbox").textContent.includes(s), subject, { timeout: 5000 });
  const shot = path.join(OUT, "demo-page.png");
  await p.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000, "screenshot saved");
  await p.close();
});

test("phone width: a refused recipient among accepted ones, keyboard only", async () => {
  const p = await openPage("", 390);
  await p.fill("#to", "bob@example.test\nnobody@example.test");
  // keyboard: focus the subject, then submit with Enter
  await p.focus("#subject");
  await p.keyboard.press("Enter");
  await p.waitForFunction(() => ["done", "error"].includes(document.body.dataset.state), null, { timeout: 60_000 });
  assert.equal(await p.evaluate(() => document.body.dataset.state), "done");
  assert.deepEqual(await p.$$eval("#results li.ok", (l) => l.map((x) => x.dataset.recipient)), ["bob@example.test"]);
  const bad = await p.$$eval("#results li.bad", (l) => l.map((x) => x.textContent));
  assert.equal(bad.length, 1);
  assert.match(bad[0], /nobody@example\.test refused: .*550/);
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no horizontal scrolling at phone width (${width})`);
  const shot = path.join(OUT, "demo-page-phone.png");
  await p.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000);
  await p.close();
});

test("implicit TLS through the bridge", async () => {
  const p = await openPage();
  await p.selectOption("#tls", "implicit");
  assert.match(await p.inputValue("#bridge"), /target=127\.0\.0\.1:\d+$/);
  assert.equal(await sendAndWait(p), "done", await p.textContent("#error"));
  assert.equal(await p.isVisible("#tls-badge"), true);
  await p.close();
});

async function closedPort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

test("failure paths show readable errors: bridge down, SMTP server down, TLS, AUTH, every recipient refused", async () => {
  const shots = [];
  const check = async (name, setup, pattern) => {
    const p = await openPage();
    await setup(p);
    assert.equal(await sendAndWait(p), "error", `${name}: expected a failure`);
    const text = await p.textContent("#error");
    assert.match(text, pattern, `${name}: ${text}`);
    const shot = path.join(OUT, `demo-error-${name}.png`);
    await p.screenshot({ path: shot, fullPage: true });
    shots.push(shot);
    await p.close();
  };
  // nothing listens where the bridge should be
  const down = await closedPort();
  await check("bridge-down", (p) => p.fill("#bridge", `ws://127.0.0.1:${down}/`), /Could not reach the bridge at ws:\/\/127\.0\.0\.1:\d+/);
  // a bridge (the package's) whose SMTP server is down
  const origin = new URL(urls.page).origin;
  const bridge = createBridge({ allow: [`127.0.0.1:${down}`], origins: [origin], log: null });
  const { url } = await bridge.listen(0, "127.0.0.1");
  try {
    await check("smtp-down", (p) => p.fill("#bridge", url), /bridge is up, but it could not reach the SMTP server/);
  } finally {
    await bridge.close();
  }
  // the page's origin is not allowed by this bridge
  const strict = createBridge({ allow: [`127.0.0.1:${down}`], origins: ["https://elsewhere.example"], log: null });
  const s = await strict.listen(0, "127.0.0.1");
  try {
    await check("origin-refused", (p) => p.fill("#bridge", s.url), /Could not reach the bridge .*allow this page's origin/s);
  } finally {
    await strict.close();
  }
  await check("tls", (p) => p.fill("#ca", ""), /TLS failed\..*not signed by a trusted authority/s);
  await check("auth", (p) => p.fill("#password", "wrong"), /refused the username or password.*535/s);
  await check("recipients", (p) => p.fill("#to", "nobody@example.test"), /refused every recipient.*550/s);
  for (const f of shots) assert.ok(fs.existsSync(f));
});

test("the page refuses AUTH without TLS and never takes the password from the URL", async () => {
  const p = await openPage("?tls=none&pass=from-the-url");
  assert.notEqual(await p.inputValue("#password"), "from-the-url");
  assert.equal(await sendAndWait(p), "error");
  assert.match(await p.textContent("#error"), /AUTH needs TLS/);
  // Nothing went out: no transcript line at all.
  assert.equal(await p.$$eval("#transcript li.client", (l) => l.length), 0);
  await p.close();
});

test("the demo server answers only to its own names (DNS rebinding)", async () => {
  const { default: http } = await import("node:http");
  const page = new URL(urls.page);
  const get = (host) =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: page.hostname, port: page.port, path: "/api/config", headers: { Host: host } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode));
        });
      req.on("error", reject);
    });
  assert.equal(await get(`attacker.example:${page.port}`), 421);
  assert.equal(await get("127.0.0.1"), 421, "the port is part of the name");
  assert.equal(await get(`localhost:${page.port}`), 200);
  assert.equal(await get(`127.0.0.1:${page.port}`), 200);
});

test("the page works through websockify too (STARTTLS + AUTH to smtp-server)", async (t) => {
  const wsPort = env.SMTP_WASM_WS_PORT;
  if (!wsPort || !env.SMTP_WASM_CA || !(await listening(wsPort))) {
    // Under scripts/test.sh the servers are started, so a missing bridge is a failure there (see cli.test.mjs).
    if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error("websockify is not up");
    return t.skip("websockify is not up (scripts/servers.sh up)");
  }
  const p = await openPage(`?bridge=ws://127.0.0.1:${wsPort}/`);
  await p.fill("#ca", fs.readFileSync(env.SMTP_WASM_CA, "utf8"));
  await p.fill("#to", "bob@example.test");
  const subject = `websockify-${Date.now()}`;
  await p.fill("#subject", subject);
  assert.equal(await sendAndWait(p), "done", await p.textContent("#error"));
  assert.equal(await p.isVisible("#tls-badge"), true);
  assert.deepEqual(await p.$$eval("#results li.ok", (l) => l.map((x) => x.dataset.recipient)), ["bob@example.test"]);
  await p.close();
});
