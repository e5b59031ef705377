// RSS per idle connection: 1,000 clients connect and send EHLO, then wait; the server's RSS before and after.
//   node bench/server-idle.mjs ours|smtp-server      (raise `ulimit -n` first)
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
import { spawn } from "node:child_process";
import fs from "node:fs";
const which = process.argv[2] === "smtp-server" ? "smtp-server" : "ours";
const src = which === "ours" ? `
import { SmtpServer } from ${JSON.stringify(path.join(ROOT, "dist/server/node.js"))};
const session = { mail() {}, rcpt() {}, async data(s) { for await (const _ of s); }, reset() {}, logout() {} };
const server = new SmtpServer({ domain: "bench.test", maxConnections: 0, backend: { anonymousLogin: () => session } });
const { port } = await server.listen({ port: 0 });
console.log("PORT " + port);` : `
import { createRequire } from "node:module";
const require = createRequire(${JSON.stringify(path.join(ROOT, "test-servers/x.js"))});
const { SMTPServer } = require("smtp-server");
const server = new SMTPServer({ authOptional: true, disableReverseLookup: true, logger: false, maxClients: 5000,
  onData(stream, session, cb) { stream.on("data", () => {}); stream.on("end", () => cb()); } });
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.server.address().port));`;
const file = path.join(ROOT, "bench", `.idle-server-${process.pid}.mjs`);
fs.writeFileSync(file, src);
const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((r) => child.stdout.on("data", (d) => { const m = /PORT (\d+)/.exec(String(d)); if (m) r(Number(m[1])); }));
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]);
// warm: one connection
const open = async () => { const s = net.connect(port, "127.0.0.1"); await new Promise((r) => s.once("data", r)); s.write("EHLO x\r\n"); await new Promise((r) => s.once("data", r)); return s; };
(await open()).destroy();
await new Promise((r) => setTimeout(r, 500));
const before = rss();
const socks = [];
for (let i = 0; i < 1000; i++) socks.push(await open());
await new Promise((r) => setTimeout(r, 1000));
const after = rss();
console.log(`${which}: RSS ${before} kB -> ${after} kB with 1000 idle connections: ${((after - before) / 1000).toFixed(1)} kB per connection`);
for (const s of socks) s.destroy();
child.kill();
fs.rmSync(file, { force: true });
process.exit(0);
