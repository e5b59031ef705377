// The test servers' environment: process.env when scripts/test.sh sourced env.sh, else read env.sh itself.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function serverEnv() {
  if (process.env.SMTP_WASM_CA) return process.env;
  const state = process.env.SMTP_WASM_STATE ?? path.join(process.env.TMPDIR ?? os.tmpdir(), "smtp-wasm-state");
  const file = path.join(state, "env.sh");
  const env = { ...process.env };
  if (!fs.existsSync(file)) return env;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** Whether something listens on host:port (for skipping tests whose server is not up). */
export async function listening(port, host = "127.0.0.1") {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
