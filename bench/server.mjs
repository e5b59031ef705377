// Server throughput, same run, side by side: Postfix's smtp-source (1 kB messages, plaintext, no AUTH) against
// smtp-wasm/server on Node, Nodemailer's smtp-server, aiosmtpd (if its venv exists) and go-smtp (if a
// `gosmtp-server` binary is on PATH or in $SMTP_WASM_GOSMTP). Each server accepts everything and drains the message.
// Prints messages/s for -s 1 and -s 20 and the ratios to smtp-server and go-smtp.
//
//   node bench/server.mjs [--messages N]     (default 4000 for -s 1, 20000 for -s 20)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SCALE = arg("--messages", 0);
const SOURCE = ["/usr/sbin/smtp-source", "/usr/bin/smtp-source"].find((p) => fs.existsSync(p));
if (!SOURCE) {
  console.error("smtp-source not found (apt-get install postfix)");
  process.exit(2);
}

// ------------------------------------------------------------------------------------------------ the servers
const SERVERS = {
  "smtp-wasm/server (Node)": `
    import { SmtpServer } from ${JSON.stringify(path.join(ROOT, "dist/server/node.js"))};
    const session = { mail() {}, rcpt() {}, async data(s) { for await (const _ of s); }, reset() {}, logout() {} };
    const server = new SmtpServer({ domain: "bench.test", maxConnections: 0,
      backend: { anonymousLogin: () => session } });
    const { port } = await server.listen({ port: 0 });
    console.log("PORT " + port);`,
  "smtp-server (Nodemailer)": `
    import { createRequire } from "node:module";
    const require = createRequire(${JSON.stringify(path.join(ROOT, "test-servers/x.js"))});
    const { SMTPServer } = require("smtp-server");
    const server = new SMTPServer({ authOptional: true, disableReverseLookup: true, logger: false, disabledCommands: ["STARTTLS"],
      onData(stream, session, cb) { stream.on("data", () => {}); stream.on("end", () => cb()); } });
    server.listen(0, "127.0.0.1", () => console.log("PORT " + server.server.address().port));`,
};

function startNode(name, source) {
  const file = path.join(os.tmpdir(), `smtp-wasm-bench-${process.pid}-${name.replace(/\W+/g, "_")}.mjs`);
  fs.writeFileSync(file, source);
  return startProcess(process.execPath, [file]);
}

function startProcess(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr.on("data", (d) => (out += d));
    child.on("exit", (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

function aiosmtpd() {
  const cache = process.env.SMTP_WASM_CACHE ?? path.join(os.homedir(), ".cache/smtp-wasm");
  const py = path.join(cache, "venv/bin/python");
  if (!fs.existsSync(py)) return null;
  const file = path.join(os.tmpdir(), `smtp-wasm-bench-aiosmtpd-${process.pid}.py`);
  fs.writeFileSync(file, `
import asyncio, socket
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = Controller(H(), hostname="127.0.0.1", port=port); c.start()
print("PORT %d" % port, flush=True)
import signal; signal.pause()
`);
  return () => startProcess(py, [file]);
}

function gosmtp() {
  const bin = process.env.SMTP_WASM_GOSMTP ?? spawnSync("sh", ["-c", "command -v gosmtp-server"]).stdout?.toString().trim();
  if (!bin || !fs.existsSync(bin)) return null;
  return () => startProcess(bin, ["127.0.0.1:0"]);
}

function source(port, sessions, messages) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(SOURCE, ["-s", String(sessions), "-m", String(messages), "-l", "1024", "-f", "a@bench.test",
    "-t", "b@bench.test", `127.0.0.1:${port}`], { encoding: "utf8", timeout: 300_000 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`smtp-source -s ${sessions} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  return messages / seconds;
}

const results = {};
const starters = [
  ...Object.entries(SERVERS).map(([name, src]) => [name, () => startNode(name, src)]),
  ...(aiosmtpd() ? [["aiosmtpd", aiosmtpd()]] : []),
  ...(gosmtp() ? [["go-smtp", gosmtp()]] : []),
];
for (const [name, start] of starters) {
  const { child, port } = await start();
  try {
    source(port, 1, 200); // warm-up (JIT, connection paths)
    const one = source(port, 1, SCALE || 4000);
    const twenty = source(port, 20, SCALE || 20000);
    results[name] = { s1: Math.round(one), s20: Math.round(twenty) };
    console.log(`${name.padEnd(28)} -s 1: ${String(Math.round(one)).padStart(6)} msg/s   -s 20: ${String(Math.round(twenty)).padStart(6)} msg/s`);
  } finally {
    child.kill("SIGTERM");
  }
}
const ours = results["smtp-wasm/server (Node)"];
for (const other of ["smtp-server (Nodemailer)", "go-smtp", "aiosmtpd"]) {
  if (ours && results[other]) {
    console.log(`smtp-wasm/server / ${other}: ${(ours.s1 / results[other].s1).toFixed(2)}x at -s 1, ` +
      `${(ours.s20 / results[other].s20).toFixed(2)}x at -s 20`);
  }
}
void createRequire;
