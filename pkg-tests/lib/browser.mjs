// Headless Chromium (Debian's) through playwright-core from tools/node_modules (scripts/setup.sh runtimes).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function findPlaywright() {
  const dirs = [process.env.SMTP_WASM_TOOLS_NODE_MODULES, path.join(ROOT, "tools/node_modules")].filter(Boolean);
  for (const dir of dirs) {
    const p = path.join(dir, "playwright-core");
    if (fs.existsSync(p)) return createRequire(path.join(dir, "x.js"))("playwright-core");
  }
  return null;
}

export function findChromium() {
  for (const p of [process.env.SMTP_WASM_CHROMIUM, process.env.CHROMIUM, "/usr/bin/chromium"].filter(Boolean)) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Launches Chromium with an empty profile; returns { context, close() }. */
export async function launch() {
  const pw = findPlaywright();
  const executablePath = findChromium();
  if (pw === null || executablePath === null) {
    throw new Error("playwright-core (tools/node_modules) or chromium is missing: run scripts/setup.sh runtimes");
  }
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-chromium-"));
  const home = path.join(base, "home");
  const context = await pw.chromium.launchPersistentContext(path.join(base, "profile"), {
    executablePath,
    headless: true,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_CACHE_HOME: path.join(home, ".cache") },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
