// The demo: our own SMTP server (`smtp-wasm serve`'s startServe: smtp-wasm/server with STARTTLS and implicit TLS on a
// test CA made at start, AUTH alice/secret, a Maildir in a temporary folder, and its web inbox), the package's
// WebSocket-to-TCP bridge, and a static server for www/ (plus dist/ as /smtp-wasm/, and the received messages as
// JSON). It first sends one message headlessly from Node through the package, prints the transcript,
// then serves the page until Ctrl-C (or exits with --once).
//
//   node demo/server.mjs [--once] [--http-port N] [--bridge-port N] [--smtp-port N] [--smtps-port N] [--quiet]
//
// Ports default to 8480 (page), 8481 (bridge), 2587 (STARTTLS), 2588 (implicit TLS); a port in use falls back to
// one the system picks. Everything listens on 127.0.0.1 only.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createBridge } from "../node/bridge.js";
import { startServe } from "../node/serve.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WWW = path.join(ROOT, "www");
const DIST = path.join(ROOT, "dist");
const HOST = "127.0.0.1";
const USER = "alice";
const PASS = "secret";
const DOMAIN = "example.test";

const { values: args } = parseArgs({
  options: {
    once: { type: "boolean" },
    quiet: { type: "boolean" },
    "skip-send": { type: "boolean" }, // development: serve the page without the headless send first
    "http-port": { type: "string", default: "8480" },
    "bridge-port": { type: "string", default: "8481" },
    "smtp-port": { type: "string", default: "2587" },
    "smtps-port": { type: "string", default: "2588" },
  },
});
const info = (line) => console.log(line);

// ---------------------------------------------------------------------------------------- test CA, made at start
function makeCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-demo-"));
  const run = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
    "-subj", "/O=smtp-wasm demo/CN=smtp-wasm demo CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  run("req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/O=smtp-wasm demo/CN=localhost");
  fs.writeFileSync(path.join(dir, "leaf.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=critical,CA:FALSE\n" +
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
  run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "leaf.pem", "-days", "7", "-extfile", "leaf.ext");
  const read = (f) => fs.readFileSync(path.join(dir, f), "utf8");
  const certs = { ca: read("ca.pem"), key: read("leaf.key"), cert: read("leaf.pem") + read("ca.pem") };
  fs.rmSync(dir, { recursive: true, force: true });
  return certs;
}

// ---------------------------------------------------------------------------------------- SMTP server
const MAX_KEPT = 256 * 1024;
const MAX_MESSAGES = 50;
let smtp; // startServe's handle
let maildirRoot; // removed when the demo stops

/** Our server, on the wanted ports (a busy one falls back to one the system picks). */
async function startSmtp(certs, smtpPort, smtpsPort) {
  const maildir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-demo-maildir-"));
  maildirRoot = maildir;
  const attempt = (p1, p2) =>
    startServe({
      listen: { host: HOST, port: p1 },
      tlsListen: { host: HOST, port: p2 },
      tls: { cert: certs.cert, key: certs.key },
      users: new Map([[USER, PASS]]),
      maxMessageBytes: 25 * 1024 * 1024,
      maildir: path.join(maildir, "Maildir"),
      domain: "demo.smtp-wasm.test",
      http: { host: HOST, port: 0 },
      quiet: true,
      // Addresses starting with "nobody" or at "invalid.test" are refused, to show a per-recipient refusal.
      checkRecipient(to, SmtpError) {
        const a = to.toLowerCase();
        if (a.startsWith("nobody") || a.endsWith("@invalid.test")) {
          throw new SmtpError({ code: 550, enhancedCode: [5, 1, 1], message: `<${to}>: no such user here` });
        }
      },
    });
  try {
    smtp = await attempt(smtpPort, smtpsPort);
  } catch (error) {
    if (error.code !== "EADDRINUSE") throw error;
    smtp = await attempt(0, 0);
  }
  return smtp;
}

/** The demo page's inbox: the newest messages of the Maildir, with their text. */
function inboxJson() {
  return smtp.messages().slice(0, MAX_MESSAGES).map((m) => {
    const raw = fs.readFileSync(smtp.file(m.id));
    return {
      id: m.id,
      receivedAt: m.receivedAt,
      from: m.from,
      to: m.to,
      subject: m.subject,
      size: m.size,
      truncated: raw.length > MAX_KEPT,
      user: m.user,
      tls: m.tls ? (m.tlsVersion ?? "yes") : null,
      tlsVersion: m.tlsVersion,
      message: raw.subarray(0, MAX_KEPT).toString("utf8"),
    };
  });
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    const tryPort = (p, fallback) => {
      const onError = (error) => {
        server.removeListener("listening", onListening);
        if (error.code === "EADDRINUSE" && fallback) tryPort(0, false);
        else reject(error);
      };
      const onListening = () => {
        server.removeListener("error", onError);
        resolve(server.address().port);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(p, host);
    };
    tryPort(port, port !== 0);
  });
}

// ---------------------------------------------------------------------------------------- static + JSON server
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".ts": "text/plain; charset=utf-8",
};

function serveFile(res, base, rel) {
  const file = path.resolve(base, "." + rel);
  if (!file.startsWith(base + path.sep) && file !== base) return notFound(res);
  let target = file;
  try {
    if (fs.statSync(target).isDirectory()) target = path.join(target, "index.html");
    const body = fs.readFileSync(target);
    res.writeHead(200, {
      "Content-Type": TYPES[path.extname(target)] ?? "application/octet-stream",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(body);
  } catch {
    notFound(res);
  }
}
function notFound(res) {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found\n");
}
function json(res, value) {
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  res.end(JSON.stringify(value));
}

// ---------------------------------------------------------------------------------------- headless send
async function headlessSend(config) {
  const smtp = await import(new URL("../dist/node.js", import.meta.url).href);
  const marker = `headless-${Date.now().toString(36)}`;
  const message =
    `From: Alice <alice@${DOMAIN}>\r\nTo: Bob <bob@${DOMAIN}>\r\nSubject: Hello from smtp-wasm in Node (${marker})\r\n` +
    `Date: ${new Date().toUTCString()}\r\nMessage-ID: <${marker}@smtp-wasm.demo>\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\n` +
    `This message left smtp-wasm encrypted: STARTTLS with rustls inside the wasm, then AUTH.\r\n`;
  info(`== headless send from Node through smtp-wasm: 127.0.0.1:${config.smtpPort}, STARTTLS required, AUTH as ${USER}`);
  const result = await smtp.sendMail({
    host: HOST,
    port: config.smtpPort,
    tls: "starttls",
    serverName: "localhost",
    rootCertificates: config.ca,
    auth: { username: USER, password: PASS },
    from: `alice@${DOMAIN}`,
    to: [`bob@${DOMAIN}`],
    message,
    timeouts: { connect: 10_000, greeting: 10_000, command: 10_000, dataEnd: 30_000 },
    debug: (line) => info(`  ${line.direction === "client" ? "C:" : "S:"} ${line.text}`),
  });
  if (result.tls) info(`== TLS: ${result.tls.protocolVersion}, ${result.tls.cipherSuite} (verified for ${result.tls.serverName})`);
  info(`== accepted: ${result.accepted.join(", ")}${result.rejected.length ? `; refused: ${result.rejected.map((r) => r.recipient).join(", ")}` : ""}`);
  info(`== server's final reply: ${result.reply.code} ${result.reply.lines.join(" ")}`);
  const got = inboxJson().find((m) => m.message.includes(marker));
  if (!got) throw new Error("the demo server did not receive the message");
  info(`== received by the demo server: ${got.id}, ${got.size} bytes, from ${got.from} to ${got.to.join(", ")}, ` +
    `TLS ${got.tlsVersion ?? got.tls}, AUTH user ${got.user}`);
}

// ---------------------------------------------------------------------------------------- main
async function main() {
  if (!fs.existsSync(path.join(DIST, "node.js")) || !fs.existsSync(path.join(DIST, "browser.js"))) {
    throw new Error(`the package is not built (${DIST}/node.js missing): run npm run build`);
  }
  const certs = makeCertificates();
  await startSmtp(certs, Number(args["smtp-port"]), Number(args["smtps-port"]));
  const smtpPort = smtp.smtp.port;
  const smtpsPort = smtp.smtps.port;

  const config = { ca: certs.ca, smtpPort, smtpsPort };
  let allowedHosts = new Set();
  const httpServer = http.createServer((req, res) => {
    // DNS rebinding: a page on another site whose name now resolves to 127.0.0.1 sends its own name as Host. Only
    // the names this server is reached by on this machine are served (its API hands out the demo's credentials).
    if (!allowedHosts.has(String(req.headers.host ?? "").toLowerCase())) {
      res.writeHead(421, { "Content-Type": "text/plain", Connection: "close" });
      return res.end("this demo server answers only to 127.0.0.1, localhost and [::1]\n");
    }
    const url = new URL(req.url ?? "/", "http://demo.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405);
      return res.end();
    }
    if (url.pathname === "/api/config") {
      return json(res, {
        bridgeUrl: config.bridgeUrl,
        targets: { starttls: `127.0.0.1:${smtpPort}`, implicit: `127.0.0.1:${smtpsPort}` },
        serverName: "localhost",
        ca: certs.ca,
        username: USER,
        password: PASS,
        from: `alice@${DOMAIN}`,
        to: [`bob@${DOMAIN}`, `carol@${DOMAIN}`],
      });
    }
    if (url.pathname === "/api/messages") return json(res, inboxJson());
    if (url.pathname.startsWith("/smtp-wasm/")) return serveFile(res, DIST, url.pathname.slice("/smtp-wasm".length));
    return serveFile(res, WWW, url.pathname);
  });
  const httpPort = await listen(httpServer, Number(args["http-port"]), HOST);
  allowedHosts = new Set([`127.0.0.1:${httpPort}`, `localhost:${httpPort}`, `[::1]:${httpPort}`]);
  const pageOrigins = [`http://127.0.0.1:${httpPort}`, `http://localhost:${httpPort}`];
  const bridge = createBridge({
    allow: [`127.0.0.1:${smtpPort}`, `127.0.0.1:${smtpsPort}`],
    origins: pageOrigins,
    idleTimeout: 120_000,
    log: args.quiet ? null : (line) => console.log(`  [${line}]`),
  });
  const bridgeServer = http.createServer((req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain" });
    res.end("smtp-wasm bridge: connect with a WebSocket\n");
  });
  bridgeServer.on("upgrade", (req, socket, head) => bridge.handleUpgrade(req, socket, head));
  const bridgePort = await listen(bridgeServer, Number(args["bridge-port"]), HOST);
  config.bridgeUrl = `ws://127.0.0.1:${bridgePort}/`;

  info(`== demo SMTP server (smtp-wasm/server): 127.0.0.1:${smtpPort} (STARTTLS), 127.0.0.1:${smtpsPort} ` +
    `(implicit TLS); AUTH ${USER} / ${PASS}; test CA made at start; Maildir ${smtp.maildir}`);
  info(`== its web inbox: ${smtp.http}`);
  info(`== bridge: ${config.bridgeUrl} -> ${bridge.targets.join(", ")} (origins ${pageOrigins.join(", ")})`);

  const stop = async (code) => {
    await bridge.close();
    bridgeServer.closeAllConnections?.();
    httpServer.closeAllConnections?.();
    await Promise.all([
      new Promise((r) => bridgeServer.close(() => r())),
      new Promise((r) => httpServer.close(() => r())),
      smtp.close().then(() => fs.rmSync(maildirRoot, { recursive: true, force: true })),
    ]);
    process.exit(code);
  };

  try {
    if (!args["skip-send"]) await headlessSend(config);
  } catch (error) {
    console.error(`demo: the headless send failed: ${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}`);
    await stop(1);
    return;
  }
  if (args.once) {
    info("== --once: done");
    await stop(0);
    return;
  }
  const pageUrl = `http://127.0.0.1:${httpPort}/`;
  info("");
  info(`== open the demo page: ${pageUrl}`);
  info("   (the page sends through the bridge; TLS runs inside the page, the bridge sees only ciphertext)");
  info("   Ctrl-C to stop");
  const onSignal = () => {
    info("\n== stopping");
    stop(0);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}

main().catch((error) => {
  console.error(`demo: ${error?.message ?? error}`);
  process.exit(1);
});
