// Each protocol rule lives once: the core's list of timeout names, and the one TypeScript module (ts/checks.ts) that
// every other user (sendMail, SmtpClient, the CLI) imports for them and for the port-to-TLS rule. These tests fail
// when the copies disagree, or when a second copy reappears in the TypeScript, the CLI, the page or the demo.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { init } from "../dist/node.js";
import { TIMEOUT_KEYS, TLS_MODES, tlsForPort, portForTls } from "../dist/checks.js";
import { WasmConnection } from "../dist/smtp_wasm.js";
import { parseSendArgs } from "../node/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

test("the TypeScript timeout names are the core's, plus the transport's connect", async () => {
  await init();
  const core = WasmConnection.timeoutNames();
  assert.deepEqual(core, TIMEOUT_KEYS.filter((key) => key !== "connect"));
  assert.ok(core.includes("total"));
});

test("the CLI's --timeout sets every step deadline the core and the transport know (all but total)", async () => {
  await init();
  const { opts } = parseSendArgs(["-s", "h", "-f", "a@x", "-t", "b@x", "--timeout", "2.5"], {});
  const expected = ["connect", ...WasmConnection.timeoutNames().filter((key) => key !== "total")];
  assert.deepEqual(Object.keys(opts.timeouts), expected);
  assert.ok(Object.values(opts.timeouts).every((ms) => ms === 2500));
});

test("the port-to-TLS rule: 465 is implicit TLS, and implicit TLS defaults to 465", () => {
  assert.equal(tlsForPort(465), "implicit");
  for (const port of [25, 587, 2525]) assert.equal(tlsForPort(port), "starttls");
  assert.equal(portForTls("implicit"), 465);
  for (const tls of [undefined, "starttls", "opportunistic", "none"]) assert.equal(portForTls(tls), 587);
  assert.deepEqual([...TLS_MODES], ["starttls", "implicit", "opportunistic", "none"]);
});

/** The source files outside the one module: the TypeScript, the CLI and its helpers, the page, the demo. */
function sources() {
  const files = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules") walk(rel);
      } else if (/\.(ts|js|mjs|html)$/.test(entry.name)) {
        files.push(rel);
      }
    }
  };
  for (const dir of ["ts", "node", "www", "bin", "demo"]) walk(dir);
  return files;
}

test("no second copy of the timeout list or of the port-to-TLS rule", () => {
  const files = sources();
  assert.ok(files.includes(path.join("ts", "checks.ts")) && files.includes(path.join("node", "cli.js")));
  // Only a whole list of the timeouts names these two; the type (ts/types.ts) is held to the list when it compiles.
  const timeoutList = /\b(dataInit|dataBlock)\b/;
  // A comparison with 465, or 465 picked in a conditional: the rule itself, not a mention of it in a help text.
  const portRule = /[=!]==?\s*465\b|\b465\s*[=!]==?|\?\s*465\s*:/;
  const copies = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    if (file !== path.join("ts", "checks.ts") && file !== path.join("ts", "types.ts") && timeoutList.test(text)) {
      copies.push(`${file}: names the timeouts (${timeoutList.exec(text)[0]}); import TIMEOUT_KEYS from ts/checks.ts`);
    }
    if (file !== path.join("ts", "checks.ts") && portRule.test(text)) {
      copies.push(`${file}: a port-to-TLS rule (${portRule.exec(text)[0]}); use tlsForPort/portForTls of ts/checks.ts`);
    }
  }
  assert.deepEqual(copies, []);
  // The patterns still find the one copy (so an edit that makes them blind fails here).
  const checks = fs.readFileSync(path.join(ROOT, "ts", "checks.ts"), "utf8");
  assert.ok(timeoutList.test(checks) && portRule.test(checks));
});
