// Helpers for tests of `smtp-wasm serve` (pkg-tests/serve.test.mjs, pkg-tests/peers.test.mjs): run a command,
// start `smtp-wasm serve` into a Maildir under a work folder, read back what it stored.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs a command with `input` on stdin; resolves with its exit code and output (killed after `timeout` ms). */
export function run(cmd, args, { input, timeout = 30_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that exits without reading its stdin (postqueue) must not fail the test with EPIPE.
    child.stdin.on("error", () => {});
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}

/** Starts `smtp-wasm serve` with these flags, storing into WORK/name; resolves with its ports and output. */
export function serve(WORK, name, flags) {
  return new Promise((resolve, reject) => {
    const maildir = path.join(WORK, name);
    const child = spawn(process.execPath, [path.join(ROOT, "bin/smtp-wasm.js"), "serve", "--maildir", maildir,
      "--listen", "127.0.0.1:0", ...flags], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const smtp = / on 127\.0\.0\.1:(\d+)/.exec(out);
      const ready = /web inbox (http\S+)|Maildir .*; (any mail|AUTH required)/.test(out) && (!flags.includes("--http") || /web inbox/.test(out));
      if (smtp && ready && (!flags.includes("--tls-self-signed") || /trust its CA: (\S+)/.test(out))) {
        clearTimeout(timer);
        resolve({
          child,
          port: Number(smtp[1]),
          tlsPort: Number(/implicit TLS on 127\.0\.0\.1:(\d+)/.exec(out)?.[1] ?? 0),
          http: /web inbox (http\S+)/.exec(out)?.[1] ?? null,
          ca: /trust its CA: (\S+)/.exec(out)?.[1] ?? null,
          maildir,
          output: () => out,
        });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
}

/** The stored files (oldest first) with the envelope lines on top split off. */
export function stored(maildir) {
  const dir = path.join(maildir, "new");
  return fs.readdirSync(dir).sort().map((f) => {
    const raw = fs.readFileSync(path.join(dir, f));
    const text = raw.toString("latin1");
    // Our lines: Return-Path, Delivered-To..., Received (3 folded lines).
    const m = /^Return-Path: <([^>]*)>\r\n((?:Delivered-To: .*\r\n)*)Received: .*\r\n\t.*\r\n\t.*\r\n/.exec(text);
    assert.ok(m, `envelope lines on top of ${f}:\n${text.slice(0, 400)}`);
    return {
      file: f,
      from: m[1],
      to: m[2].split("\r\n").filter(Boolean).map((l) => l.slice("Delivered-To: ".length)),
      received: text.slice(m[0].indexOf("Received:"), m[0].length),
      body: raw.subarray(Buffer.byteLength(m[0], "latin1")),
    };
  });
}
