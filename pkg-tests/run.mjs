#!/usr/bin/env node
// Tests the npm package as users get it: packs the tarball, installs it into a fresh project, and runs
// pkg-tests/scenario.mjs in Node 20 (system), Node 22, Deno, Bun, workerd (wrangler dev) and Chromium (playwright-core)
// against the real servers of scripts/servers.sh ($SMTP_WASM_* from $SMTP_WASM_STATE/env.sh; run.sh sources it).
//
// Also: the tarball's files and `npx smtp-wasm --help` ("package"), and the README's examples from examples/js/ in
// Node, Bun, Deno, workerd and Chromium ("examples"); scripted servers (pkg-tests/scripted.mjs) for the failure cases.
//
// Usage: node pkg-tests/run.mjs [--only package,node20,node22,deno,bun,workerd,chromium,examples] [--no-pack]
// Ends with "N passed, M failed"; exits 1 if anything failed. A runtime whose binary is missing is skipped (a failure
// under scripts/test.sh, which sets SMTP_WASM_REQUIRE_SERVERS=1 after installing them all).
import { spawn, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { startScripted } from "./scripted.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const env = process.env;
const args = process.argv.slice(2);
const only = (() => {
  const i = args.indexOf("--only");
  return i >= 0 ? new Set(args[i + 1].split(",")) : null;
})();
// One work folder per checkout (its installed project is reused between runs): two checkouts testing at once on one
// machine (git worktrees) must not remove each other's project.
const checkoutId = createHash("sha256").update(root).digest("hex").slice(0, 12);
const work = join(env.SMTP_WASM_STATE ?? tmpdir(), `pkg-tests-${checkoutId}`);
const project = join(work, "project");
const examplesDir = join(root, "examples", "js");

function log(...parts) {
  console.log("pkg-tests:", ...parts);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

// ------------------------------------------------------------------------------------------ pack and install
function packAndInstall() {
  if (!existsSync(join(root, "dist", "smtp_wasm_bg.wasm"))) {
    log("dist/ missing: npm run build");
    run("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  }
  mkdirSync(work, { recursive: true });
  for (const f of readdirSync(work)) if (f.endsWith(".tgz")) rmSync(join(work, f));
  const out = run("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: root }).trim().split("\n");
  const tarball = join(work, out[out.length - 1].trim());
  log("packed", tarball);
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify(
      { name: "smtp-wasm-pkg-test", private: true, type: "module", dependencies: { "smtp-wasm": `file:${tarball}` } },
      null,
      2,
    ),
  );
  run("npm", ["install", "--no-audit", "--no-fund", "--silent"], { cwd: project });
  for (const f of ["scenario.mjs", "main.mjs", "worker.mjs", "page.html"]) copyFileSync(join(here, f), join(project, f));
  // The README's JavaScript examples, unchanged (tests/readme-examples.test.mjs keeps the README identical to them).
  for (const f of readdirSync(examplesDir)) copyFileSync(join(examplesDir, f), join(project, f));
  writeFileSync(
    join(project, "wrangler.toml"),
    `name = "smtp-wasm-pkg-test"\nmain = "worker.mjs"\ncompatibility_date = "2025-01-01"\n`,
  );
  // Deno reads bare specifiers from package.json + node_modules.
  writeFileSync(join(project, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
}

function packageChecks() {
  const installed = join(project, "node_modules", "smtp-wasm");
  return {
    "the tarball holds dist/, bin/ and node/": () => {
      const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
      if (!tarball) throw new Error("no tarball in " + work);
      const files = run("tar", ["tzf", join(work, tarball)]).split("\n");
      for (const want of [
        "package/dist/node.js",
        "package/dist/smtp_wasm_bg.wasm",
        "package/dist/smtp_compose_bg.wasm",
        "package/dist/smtp_compose.js",
        "package/bin/smtp-wasm.js",
        "package/node/bridge.js",
        "package/node/cli.js",
        "package/README.md",
      ]) {
        if (!files.includes(want)) throw new Error(`${want} missing from the tarball`);
      }
      for (const f of files) {
        if (/^package\/(ts|src|tests|pkg-tests|target)\//.test(f)) throw new Error(`${f} should not be packed`);
      }
    },
    "npx smtp-wasm --help works from the installed tarball": () => {
      if (!existsSync(join(installed, "bin", "smtp-wasm.js"))) throw new Error("bin/smtp-wasm.js not installed");
      const r = spawnSync("npx", ["--no-install", "smtp-wasm", "--help"], { cwd: project, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stdout}${r.stderr}`);
      for (const word of ["send", "probe", "bridge"]) {
        if (!r.stdout.includes(word)) throw new Error(`--help does not mention ${word}:\n${r.stdout}`);
      }
    },
  };
}

function scenarioEnv() {
  const picked = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith("SMTP_WASM_")) picked[k] = v;
  if (env.SMTP_WASM_CA && existsSync(env.SMTP_WASM_CA)) picked.caPem = readFileSync(env.SMTP_WASM_CA, "utf8");
  return picked;
}

// ------------------------------------------------------------------------------------------ runtimes
// (playwright gives Chromium a fresh empty profile of its own.)
function runProcess(cmd, argv, extraEnv = {}, timeoutMs = 180_000) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, argv, { cwd: project, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{"));
      if (code === 0 && line) {
        resolveRun(JSON.parse(line));
      } else {
        resolveRun({ error: `exit ${code}\n${stdout.slice(-2000)}\n${stderr.slice(-4000)}` });
      }
    });
  });
}

const runtimes = {
  node20: () => runProcess(process.execPath, ["main.mjs"]),
  node22: () => (exists(env.SMTP_WASM_NODE22) ? runProcess(env.SMTP_WASM_NODE22, ["main.mjs"]) : null),
  deno: () =>
    exists(env.SMTP_WASM_DENO)
      ? runProcess(env.SMTP_WASM_DENO, ["run", "-A", "--node-modules-dir=manual", "main.mjs"])
      : null,
  bun: () => (exists(env.SMTP_WASM_BUN) ? runProcess(env.SMTP_WASM_BUN, ["main.mjs"]) : null),
  workerd: () => (exists(env.SMTP_WASM_WRANGLER) ? runWorkerd() : null),
  chromium: () => (exists(env.SMTP_WASM_CHROMIUM) ? runChromium() : null),
  examples: () => runExamples(),
};

/** The settings the examples read (SMTP_HOST, SMTP_PORT, ...), for one of the local servers. */
function exampleEnv(port) {
  return {
    SMTP_HOST: env.SMTP_WASM_HOST ?? "127.0.0.1",
    SMTP_PORT: String(port),
    SMTP_TLS_NAME: env.SMTP_WASM_TLS_NAME ?? "localhost",
    SMTP_CA: env.SMTP_WASM_CA,
    SMTP_USER: env.SMTP_WASM_USER ?? "alice",
    SMTP_PASS: env.SMTP_WASM_PASS ?? "secret",
  };
}

function runExample(cmd, argv, extraEnv, expect) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, argv, { cwd: project, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0 && expect.test(output)) resolveRun(null);
      else resolveRun(`exit ${code}, output:\n${output.slice(-3000)}`);
    });
  });
}

/** A throwaway Ed25519 DKIM key for examples/js/node-compose.mjs (a file; the example reads DKIM_KEY). */
function dkimKey() {
  const file = join(tmpdir(), `smtp-wasm-dkim-${process.pid}.pem`);
  writeFileSync(file, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
  return file;
}

/** Runs examples/js/* (copied into the project) against the local servers; { runtime, results }. */
async function runExamples() {
  const cases = [];
  const add = (name, available, fn) => {
    if (available) cases.push({ name, fn });
  };
  const postfix = env.SMTP_WASM_POSTFIX_PORT;
  const smtpServer = env.SMTP_WASM_SMTP_SERVER_PORT;
  add("node.mjs (Node 20, Postfix STARTTLS + AUTH)", postfix, () =>
    runExample(process.execPath, ["node.mjs"], exampleEnv(postfix), /accepted for bob@example\.test: 250 .*\nover TLSv1\.[23]/),
  );
  add("node-compose.mjs (Node 20, composed + DKIM, Postfix STARTTLS + AUTH)", postfix, () =>
    runExample(
      process.execPath,
      ["node-compose.mjs"],
      { ...exampleEnv(postfix), DKIM_KEY: dkimKey() },
      /accepted for bob@example\.test, archive@example\.test: 250 /,
    ),
  );
  add("node.mjs (Bun, smtp-server)", smtpServer && exists(env.SMTP_WASM_BUN), () =>
    runExample(env.SMTP_WASM_BUN, ["node.mjs"], exampleEnv(smtpServer), /accepted for bob@example\.test: 250 /),
  );
  add("node-websocket.mjs (Node 20 + ws, websockify to smtp-server)", env.SMTP_WASM_WS_PORT, () =>
    runExample(
      process.execPath,
      ["node-websocket.mjs"],
      { ...exampleEnv(0), SMTP_BRIDGE: `ws://${env.SMTP_WASM_HOST ?? "127.0.0.1"}:${env.SMTP_WASM_WS_PORT}` },
      /^250 /m,
    ),
  );
  add("deno.ts (Deno, smtp-server, step by step)", smtpServer && exists(env.SMTP_WASM_DENO), () =>
    runExample(
      env.SMTP_WASM_DENO,
      ["run", "--allow-net", "--allow-env", "--allow-read", "--node-modules-dir=manual", "deno.ts"],
      exampleEnv(smtpServer),
      /extensions: .*AUTH[\s\S]*^250 /m,
    ),
  );
  add("worker.js (workerd via wrangler dev, Postfix)", postfix && exists(env.SMTP_WASM_WRANGLER), async () => {
    const vars = exampleEnv(postfix);
    vars.SMTP_CA = env.SMTP_WASM_CA ? readFileSync(env.SMTP_WASM_CA, "utf8") : undefined;
    const out = await runWorkerd("/example", vars);
    if (out.error || !/^250 /.test(out.reply ?? "")) return `worker answered ${JSON.stringify(out).slice(0, 3000)}`;
    return null;
  });
  add("browser.html (Chromium, websockify to smtp-server)", env.SMTP_WASM_WS_PORT && exists(env.SMTP_WASM_CHROMIUM), () =>
    runBrowserExample(),
  );
  const results = [];
  for (const c of cases) {
    const started = Date.now();
    let error;
    try {
      error = await c.fn();
    } catch (e) {
      error = String(e?.stack ?? e);
    }
    results.push({ name: c.name, ok: !error, ms: Date.now() - started, ...(error && { error }) });
  }
  return { runtime: "examples/js", results };
}

function exists(path) {
  return typeof path === "string" && path !== "" && existsSync(path);
}

async function runWorkerd(path = "/run", body = scenarioEnv()) {
  const port = 8700 + Math.floor(Math.random() * 200);
  const node = exists(env.SMTP_WASM_NODE22) ? env.SMTP_WASM_NODE22 : process.execPath;
  const home = join(work, "wrangler-home");
  mkdirSync(home, { recursive: true });
  const child = spawn(node, [env.SMTP_WASM_WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port)], {
    cwd: project,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...env,
      CI: "1",
      WRANGLER_SEND_METRICS: "false",
      XDG_CONFIG_HOME: home,
      WRANGLER_LOG_PATH: join(home, "logs"),
    },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (Date.now() > deadline) return { error: `wrangler dev did not come up:\n${output.slice(-3000)}` };
      if (child.exitCode !== null) return { error: `wrangler dev exited ${child.exitCode}:\n${output.slice(-3000)}` };
      try {
        const r = await fetch(`http://127.0.0.1:${port}/ping`);
        if (r.ok) break;
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body: JSON.stringify(body) });
    const text = await r.text();
    try {
      return JSON.parse(text);
    } catch {
      return { error: `worker answered ${r.status}: ${text.slice(0, 2000)}\n${output.slice(-3000)}` };
    }
  } finally {
    // wrangler starts workerd as a child: stop the whole process group we started.
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

async function runBrowserExample() {
  return withChromium(async (page, port, consoleLines) => {
    await page.goto(`http://127.0.0.1:${port}/browser.html`);
    await page.fill("input[name=bridge]", `ws://${env.SMTP_WASM_HOST ?? "127.0.0.1"}:${env.SMTP_WASM_WS_PORT}/`);
    await page.fill("input[name=server]", env.SMTP_WASM_TLS_NAME ?? "localhost");
    await page.fill("input[name=user]", env.SMTP_WASM_USER ?? "alice");
    await page.fill("input[name=password]", env.SMTP_WASM_PASS ?? "secret");
    await page.fill("textarea[name=ca]", scenarioEnv().caPem ?? "");
    await page.click("button");
    await page.waitForFunction(() => /^(sent|failed)/.test(document.getElementById("out").textContent), null, {
      timeout: 30_000,
    });
    const text = await page.textContent("#out");
    return /^sent: 250 .*\(TLSv1\.[23]\)/.test(text) ? null : `page says: ${text}\n${consoleLines.join("\n")}`;
  }).catch((error) => String(error));
}

async function runChromium() {
  return withChromium(async (page, port, consoleLines) => {
    await page.goto(`http://127.0.0.1:${port}/page.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 }).catch(() => {});
    const result = await page.evaluate((e) => window.runScenario(e), scenarioEnv());
    if (consoleLines.length) result.console = consoleLines;
    return result;
  }).catch((error) => ({ error: String(error) }));
}

/** Serves the project over HTTP and runs `fn(page, port, consoleLines)` in a fresh headless Chromium. */
async function withChromium(fn) {
  let chromium;
  try {
    const require = createRequire(join(env.SMTP_WASM_TOOLS_NODE_MODULES ?? root, "noop.js"));
    ({ chromium } = require("playwright-core"));
  } catch (error) {
    throw new Error(`playwright-core not found: ${error.message}`);
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = resolve(project, `.${path}`);
    if (!file.startsWith(project) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  const browser = await chromium.launch({
    executablePath: env.SMTP_WASM_CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    const consoleLines = [];
    page.on("console", (m) => consoleLines.push(m.text()));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    return await fn(page, port, consoleLines);
  } finally {
    await browser.close();
    server.close();
  }
}

// ------------------------------------------------------------------------------------------ main
if (!args.includes("--no-pack")) packAndInstall();
let passed = 0;
let failed = 0;
// The package as installed: its files, and the CLI through npx.
if (!only || only.has("package")) {
  for (const [name, fn] of Object.entries(packageChecks())) {
    const started = Date.now();
    try {
      fn();
      passed++;
      log(`  ok   package: ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failed++;
      log(`  FAIL package: ${name}: ${error.message}`);
    }
  }
}
// Scripted servers for the failure cases (a connection dropped after 354, a server that never answers).
const scripted = await startScripted(root);
Object.assign(env, scripted.env);
for (const [name, start] of Object.entries(runtimes)) {
  if (only && !only.has(name)) continue;
  const started = Date.now();
  let outcome;
  try {
    outcome = await start();
  } catch (error) {
    outcome = { error: String(error?.stack ?? error) };
  }
  if (outcome === null) {
    // Standing alone, a runtime that is not installed is skipped; under scripts/test.sh (which installs every runtime
    // first) a missing one is a failure, so a broken install step cannot pass unnoticed.
    if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") {
      failed++;
      log(`FAIL ${name}: not installed (scripts/setup.sh runtimes)`);
    } else {
      log(`${name}: skipped (not installed)`);
    }
    continue;
  }
  if (outcome.error) {
    failed++;
    log(`FAIL ${name}: ${outcome.error}`);
    continue;
  }
  log(`${name} (${outcome.runtime}), ${Date.now() - started} ms`);
  for (const r of outcome.results) {
    if (r.ok) passed++;
    else failed++;
    log(`  ${r.ok ? "ok  " : "FAIL"} ${r.name} (${r.ms} ms)${r.ok ? "" : `: ${r.error}`}`);
  }
}
scripted.close();
console.log(`pkg-tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
