// `smtp-wasm serve`: a local SMTP (or LMTP) server on smtp-wasm/server that keeps every message as a Maildir file
// (with its envelope as Return-Path / Delivered-To / Received lines on top), prints one line per message, and serves a
// web inbox on loopback (what Mailpit, MailHog and smtp4dev are used for). `startServe()` is the same as a library
// call (the demo uses it).
import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { printable } from "./cli.js";
import { decodeWords, parseHeaders, parseMessage } from "./mime.js";
import { makeSelfSignedCertificates } from "./selfsigned.js";

const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "www", "inbox");

export const SERVE_USAGE = `smtp-wasm serve [options]: a local SMTP server with a web inbox (like Mailpit or MailHog)
      --listen HOST:PORT     SMTP (STARTTLS when a certificate is set) (default 127.0.0.1:2525)
      --tls-listen HOST:PORT also listen with implicit TLS (port 465 style); needs a certificate
      --lmtp                 speak LMTP instead of SMTP
      --tls-cert FILE        certificate chain (PEM, leaf first) for STARTTLS and --tls-listen
      --tls-key FILE         its private key (PEM)
      --tls-self-signed      make a test CA and a certificate for localhost at start (pure JS, node:crypto); the
                             CA's PEM is written next to the Maildir and printed, for clients to trust
      --user NAME:PASS       accept AUTH only as these users (repeatable); then AUTH is required. Without --user,
                             any mail is accepted and any AUTH succeeds
      --max-message-bytes N  default 25 MiB (advertised as SIZE)
      --max-recipients N     default 100
      --maildir DIR          where messages go (default ./maildir): DIR/new/, one file per message
      --domain NAME          the server's name in the greeting (default localhost)
      --http HOST:PORT       the web inbox (default 127.0.0.1:8025); loopback only unless --http-token is set
      --http-token TOKEN     required by the web inbox (open http://HOST:PORT/?token=TOKEN once)
      --no-http              no web inbox
      --verbose              print every session's transcript (AUTH redacted)
      --quiet                print nothing per message
Clients on loopback may AUTH without TLS; others need STARTTLS first.`;

class ServeError extends Error {}

/** "HOST:PORT", "[::1]:PORT", ":PORT" or "PORT" -> { host, port }. */
export function parseHostPort(text, flag) {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$|^(\d+)$/.exec(text ?? "");
  if (!m) throw new ServeError(`${flag} must be HOST:PORT (got ${JSON.stringify(text)})`);
  const port = Number(m[3] ?? m[4]);
  if (port > 65535) throw new ServeError(`${flag}: bad port ${port}`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

export function isLoopback(host) {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::ffff:127.0.0.1";
}

// ------------------------------------------------------------------------------------------------------ Maildir
class Maildir {
  constructor(dir) {
    this.dir = path.resolve(dir);
    this.counter = 0;
    this.index = new Map(); // id -> summary (insertion order: oldest first)
  }

  async open() {
    for (const sub of ["tmp", "new", "cur"]) await fsp.mkdir(path.join(this.dir, sub), { recursive: true });
    const found = [];
    for (const sub of ["new", "cur"]) {
      for (const name of await fsp.readdir(path.join(this.dir, sub))) {
        if (name.startsWith(".")) continue;
        found.push(`${sub}/${name}`);
      }
    }
    const recent = found.sort((a, b) => a.split("/")[1].localeCompare(b.split("/")[1])).slice(-5000);
    for (const rel of recent) {
      try {
        this.add(await this.summarize(rel));
      } catch {
        // A file that vanished or cannot be read: skip it.
      }
    }
  }

  /** A unique Maildir name (time.pid_counter_random.host). */
  uniqueName() {
    const now = Date.now();
    const host = os.hostname().replace(/[/:]/g, "_");
    return `${Math.floor(now / 1000)}.M${(now % 1000) * 1000}P${process.pid}Q${++this.counter}R${crypto
      .randomBytes(4)
      .toString("hex")}.${host}`;
  }

  async summarize(rel) {
    const file = path.join(this.dir, rel);
    const stat = await fsp.stat(file);
    const fh = await fsp.open(file, "r");
    let head;
    try {
      const buf = Buffer.alloc(Math.min(stat.size, 64 * 1024));
      await fh.read(buf, 0, buf.length, 0);
      head = buf;
    } finally {
      await fh.close();
    }
    const text = head.toString("latin1");
    const envelope = readEnvelope(text);
    // The message's own header fields (after our lines): only what the sender wrote (subject, From, Date).
    const message = envelope === null ? text : text.slice(envelope.length);
    const end = /^\r?\n/.test(message) ? 0 : message.search(/\r?\n\r?\n/);
    const headers = parseHeaders(end < 0 ? message : message.slice(0, end));
    const get = (n) => headers.find((h) => h.name.toLowerCase() === n)?.value;
    return {
      id: rel.replace("/", ":"),
      rel,
      from: envelope?.from ?? "",
      to: envelope?.to ?? [],
      subject: decodeWords(get("subject") ?? ""),
      fromHeader: decodeWords(get("from") ?? ""),
      date: get("date") ?? null,
      receivedAt: stat.mtime.toISOString(),
      size: stat.size,
      tls: envelope?.tlsVersion != null,
      tlsVersion: envelope?.tlsVersion ?? null,
      user: envelope?.user ?? null,
    };
  }

  add(summary) {
    this.index.set(summary.id, summary);
  }

  file(id) {
    const s = this.index.get(id);
    return s ? path.join(this.dir, s.rel) : null;
  }

  async remove(id) {
    const file = this.file(id);
    if (file === null) return false;
    this.index.delete(id);
    await fsp.rm(file, { force: true });
    return true;
  }
}

/** `(`, `)` and `\` quoted, for a name inside a comment of a header field (RFC 5322 section 3.2.2). */
const commentText = (text) => text.replace(/[()\\]/g, "\\$&");

/**
 * Our own lines on top of a stored message (written by `stored()` below), read strictly, line by line: Return-Path,
 * Delivered-To per recipient, Received in three lines. Nothing after them counts: the message's own header fields
 * (a Delivered-To, a line starting with a tab that folds into our Received) are what the client sent, and must not
 * show in the inbox as the envelope, TLS or AUTH. Returns null for a file without them.
 */
function readEnvelope(text) {
  const lines = text.split("\r\n");
  const from = /^Return-Path: <(.*)>$/.exec(lines[0] ?? "");
  if (!from) return null;
  let i = 1;
  const to = [];
  for (let m; (m = /^Delivered-To: (.*)$/.exec(lines[i] ?? "")) !== null; i++) to.push(m[1]);
  const by = /^\tby \S+ \(smtp-wasm\) with [A-Z]+(?: \(authenticated as ((?:[^()\\]|\\.)*)\))?(?: \((TLSv[\d.]+) [^()]*\))?$/.exec(
    lines[i + 1] ?? "",
  );
  if (!/^Received: from /.test(lines[i] ?? "") || by === null || !/^\tid /.test(lines[i + 2] ?? "")) return null;
  return {
    from: from[1],
    to,
    user: by[1] === undefined ? null : by[1].replace(/\\(.)/g, "$1"),
    tlsVersion: by[2] ?? null,
    length: lines.slice(0, i + 3).reduce((n, line) => n + line.length + 2, 0),
  };
}

// ------------------------------------------------------------------------------------------------------ server
/**
 * Starts the server (and the web inbox). Options mirror the flags: { listen, tlsListen, lmtp, tls: { cert, key } |
 * null, selfSigned, users: Map, maxMessageBytes, maxRecipients, maildir, domain, http, httpToken, verbose, quiet, log,
 * checkRecipient(to, SmtpError) (may throw an SmtpError to refuse) }.
 * Returns { smtp, smtps, http, ca, maildir, onMessage(fn), close() }.
 */
export async function startServe(options) {
  const { SmtpServer, SmtpError, ErrAuthFailed, ErrAuthRequired } = await import("../dist/server/node.js");
  const log = options.log ?? ((line) => console.log(line));
  const maildir = new Maildir(options.maildir ?? "maildir");
  await maildir.open();
  const domain = options.domain ?? "localhost";
  const users = options.users ?? new Map();
  let tls = options.tls ?? null;
  let ca = null;
  if (options.selfSigned) {
    const made = makeSelfSignedCertificates({ names: ["localhost", "127.0.0.1", "::1", domain] });
    tls = { cert: made.cert, key: made.key };
    ca = made.ca;
  }
  const listeners = [];
  const sse = new Set();
  const watchers = new Set();
  const broadcast = (event, data) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of sse) res.write(frame);
  };

  const stored = async (state, from, to, stream) => {
    const name = maildir.uniqueName();
    const tmp = path.join(maildir.dir, "tmp", name);
    const proto = `${options.lmtp ? "LMTP" : "ESMTP"}${state.tls ? "S" : ""}${state.username ? "A" : ""}`;
    const prefix =
      `Return-Path: <${from}>\r\n` +
      to.map((r) => `Delivered-To: ${r}\r\n`).join("") +
      `Received: from ${state.hostname || "unknown"} ([${state.remoteAddress}])\r\n` +
      `\tby ${domain} (smtp-wasm) with ${proto}` +
      `${state.username ? ` (authenticated as ${commentText(state.username)})` : ""}` +
      `${state.tls ? ` (${state.tls.protocolVersion} ${state.tls.cipherSuite})` : ""}\r\n` +
      `\tid ${state.sid}; ${new Date().toUTCString()}\r\n`;
    const fh = await fsp.open(tmp, "wx");
    let size = 0;
    try {
      await fh.write(prefix);
      // Written as it arrives: awaiting each write is the backpressure that slows a fast client to the disk.
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        await fh.write(value);
      }
      await fh.close();
    } catch (error) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      throw error;
    }
    await fsp.rename(tmp, path.join(maildir.dir, "new", name));
    const summary = await maildir.summarize(`new/${name}`);
    maildir.add(summary);
    if (!options.quiet) {
      // The subject is the sender's text: JSON.stringify escapes C0 controls but not C1 ones (U+009B is CSI to a
      // UTF-8 terminal), so the whole line goes through the CLI's printable().
      log(
        printable(
          `${new Date().toISOString()} ${state.remoteAddress} <${from}> -> ${to.map((t) => `<${t}>`).join(", ")} ` +
          `${JSON.stringify(summary.subject)} ${size} bytes` +
          `${state.tls ? `, ${state.tls.protocolVersion}` : ""}${state.username ? `, user ${state.username}` : ""}` +
            ` -> ${path.join(maildir.dir, "new", name)}`,
        ),
      );
    }
    broadcast("message", summary);
    for (const w of watchers) w(summary);
    return `OK: queued as ${name.split(".").slice(0, 2).join(".")}`;
  };

  const session = (state) => {
    let from = null;
    let to = [];
    return {
      mail(f) {
        from = f;
        to = [];
      },
      async rcpt(r) {
        // A library user's policy (the demo refuses some addresses to show a per-recipient refusal).
        if (options.checkRecipient) await options.checkRecipient(r, SmtpError);
        to.push(r);
      },
      data(stream) {
        return stored(state, from ?? "", to, stream);
      },
      async lmtpData(stream) {
        await stored(state, from ?? "", to, stream);
      },
      reset() {
        from = null;
        to = [];
      },
      logout() {},
    };
  };

  const server = new SmtpServer({
    domain,
    lmtp: options.lmtp ?? false,
    ...(tls ? { tls } : {}),
    maxMessageBytes: options.maxMessageBytes ?? 25 * 1024 * 1024,
    maxRecipients: options.maxRecipients ?? 100,
    // A development inbox takes whatever a client may send: every extension the core has.
    enableSmtpUtf8: true,
    enableDsn: true,
    enableBinaryMime: true,
    enableRequireTls: true,
    enableRrvs: true,
    enableDeliverBy: true,
    enableMtPriority: true,
    // Clients on this machine: clients on this machine may AUTH without TLS (as the client's localhost rule).
    secureNets: ["127.0.0.0/8", "::1/128"],
    ...(options.verbose
      ? { debug: (l) => log(`  [${l.sid}] ${l.direction === "client" ? "C:" : "S:"} ${l.text}`) }
      : {}),
    backend: {
      login(state, username, password) {
        if (users.size > 0 && users.get(username) !== password) throw ErrAuthFailed;
        return session(state);
      },
      anonymousLogin(state) {
        if (users.size > 0) throw ErrAuthRequired;
        return session(state);
      },
    },
  });

  let smtp;
  let smtps = null;
  let httpServer = null;
  let httpUrl = null;
  try {
    smtp = await server.listen(options.listen ?? { host: "127.0.0.1", port: 2525 });
    if (options.tlsListen) smtps = await server.listen({ ...options.tlsListen, implicitTls: true });
    if (options.http) {
      httpServer = http.createServer((req, res) => {
        handleHttp(req, res, { maildir, sse, broadcast, token: options.httpToken ?? null, bound: options.http.host }).catch(
          (error) => {
            if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
            res.end(`error: ${error.message}\n`);
          },
        );
      });
      await new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(options.http.port, options.http.host, resolve);
      });
      const port = httpServer.address().port;
      const h = options.http.host.includes(":") ? `[${options.http.host}]` : options.http.host;
      httpUrl = `http://${h}:${port}/`;
    }
  } catch (error) {
    // A listener that did start must not keep the process running (and taking mail) after the error.
    await server.close().catch(() => {});
    throw error;
  }
  const heartbeat = setInterval(() => {
    for (const res of sse) res.write(": ping\n\n");
  }, 25_000);
  heartbeat.unref();

  return {
    smtp,
    smtps,
    http: httpUrl,
    ca,
    tls,
    maildir: maildir.dir,
    server,
    onMessage(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
    messages: () => [...maildir.index.values()].reverse(),
    /** The stored file of a message (the Maildir path). */
    file: (id) => maildir.file(id),
    async close() {
      clearInterval(heartbeat);
      for (const res of sse) res.end();
      sse.clear();
      await server.close();
      if (httpServer) {
        httpServer.closeAllConnections?.();
        await new Promise((r) => httpServer.close(() => r()));
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------------ web inbox
const STATIC = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/inbox.js": ["inbox.js", "text/javascript; charset=utf-8"],
  "/inbox.css": ["inbox.css", "text/css; charset=utf-8"],
};
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// The message's HTML: no script, no remote anything (tracking pixels, fonts, CSS), only inline styles and data:
// images; `sandbox` gives it an opaque origin even if opened directly.
const MAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; sandbox";

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, {
    "Content-Type": type,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    ...extra,
  });
  res.end(body);
}

function json(res, value, status = 200) {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value));
}

function cookieToken(req) {
  return /(?:^|;\s*)smtp_wasm_token=([^;]+)/.exec(req.headers.cookie ?? "")?.[1] ?? null;
}

/** decodeURIComponent, or null for a malformed escape (`%E0%A4%A`): a client error, never a 500. */
function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

async function handleHttp(req, res, { maildir, sse, broadcast, token, bound }) {
  const url = new URL(req.url ?? "/", "http://inbox.invalid");
  // DNS rebinding: a page on another site resolving its own name to 127.0.0.1 must not reach the inbox.
  const hostHeader = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (token === null && !isLoopback(hostHeader) && hostHeader !== bound) {
    return send(res, 403, "text/plain", "forbidden host\n");
  }
  if (token !== null) {
    const given = url.searchParams.get("token");
    if (given !== null && safeEqual(given, token) && url.pathname === "/") {
      res.writeHead(303, {
        Location: "/",
        "Set-Cookie": `smtp_wasm_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return res.end();
    }
    const have = cookieToken(req);
    if (have === null || !safeEqual(decoded(have) ?? "", token)) {
      return send(res, 401, "text/plain", "open this page with ?token=... (see --http-token)\n");
    }
  }

  const staticFile = STATIC[url.pathname];
  if (staticFile && req.method === "GET") {
    const body = await fsp.readFile(path.join(WWW, staticFile[0]));
    return send(res, 200, staticFile[1], body, { "Content-Security-Policy": PAGE_CSP });
  }
  if (url.pathname === "/api/messages" && req.method === "GET") {
    return json(res, [...maildir.index.values()].reverse().map(({ rel: _rel, ...s }) => s));
  }
  if (url.pathname === "/api/events" && req.method === "GET") {
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    res.write(": connected\n\n");
    sse.add(res);
    req.on("close", () => sse.delete(res));
    return;
  }
  const m = /^\/api\/messages\/([^/]+)(?:\/(raw|html|attachments\/(\d+)))?$/.exec(url.pathname);
  if (!m) return send(res, 404, "text/plain", "not found\n");
  const id = decoded(m[1]);
  const file = id === null ? null : maildir.file(id);
  if (file === null) return send(res, 404, "text/plain", "no such message\n");
  if (req.method === "DELETE" && m[2] === undefined) {
    // A custom header: a cross-site form or image cannot send it (CSRF).
    if (req.headers["x-smtp-wasm"] !== "1") return send(res, 403, "text/plain", "missing X-Smtp-Wasm header\n");
    await maildir.remove(id);
    broadcast("delete", { id });
    return json(res, { deleted: id });
  }
  if (req.method !== "GET") return send(res, 405, "text/plain", "method not allowed\n");
  const raw = await fsp.readFile(file);
  if (m[2] === "raw") return send(res, 200, "text/plain; charset=utf-8", raw);
  const parsed = parseMessage(raw);
  if (m[2] === "html") {
    return send(res, 200, "text/html; charset=utf-8", parsed.html ?? "", {
      "Content-Security-Policy": MAIL_CSP,
    });
  }
  if (m[3] !== undefined) {
    const a = parsed.attachments[Number(m[3])];
    if (!a) return send(res, 404, "text/plain", "no such attachment\n");
    // A very long name (RFC 2231 lets a sender make it any length) would make the response headers too big for a
    // browser (Chromium: ERR_RESPONSE_HEADERS_TOO_BIG, no download at all): its start and its end (the extension).
    const chars = Array.from(a.filename);
    const name = chars.length > 200 ? `${chars.slice(0, 150).join("")}…${chars.slice(-40).join("")}` : a.filename;
    const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
    return send(res, 200, "application/octet-stream", a.content, {
      "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    });
  }
  const { rel: _rel, ...summary } = maildir.index.get(id);
  return json(res, {
    ...summary,
    headers: parsed.headers,
    text: parsed.text,
    hasHtml: parsed.html !== null,
    attachments: parsed.attachments.map(({ content: _c, ...a }, index) => ({ index, ...a })),
  });
}

// ------------------------------------------------------------------------------------------------------ CLI
/** `smtp-wasm serve ...`; returns the exit code (2 for usage errors). Runs until SIGINT/SIGTERM. */
export async function cmdServe(argv, out = process.stdout, err = process.stderr) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: "string", default: "127.0.0.1:2525" },
        "tls-listen": { type: "string" },
        lmtp: { type: "boolean", default: false },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-self-signed": { type: "boolean", default: false },
        user: { type: "string", multiple: true },
        "max-message-bytes": { type: "string" },
        "max-recipients": { type: "string" },
        maildir: { type: "string", default: "maildir" },
        domain: { type: "string", default: "localhost" },
        http: { type: "string", default: "127.0.0.1:8025" },
        "http-token": { type: "string" },
        "no-http": { type: "boolean", default: false },
        verbose: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    err.write(`smtp-wasm serve: ${error.message}\n${SERVE_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    out.write(SERVE_USAGE + "\n");
    return 0;
  }
  let options;
  try {
    options = serveOptions(values);
  } catch (error) {
    if (!(error instanceof ServeError)) throw error;
    err.write(`smtp-wasm serve: ${error.message} (see smtp-wasm serve --help)\n`);
    return 2;
  }
  const log = (line) => out.write(line + "\n");
  let running;
  try {
    running = await startServe({ ...options, log });
  } catch (error) {
    err.write(`smtp-wasm serve: ${error.message}\n`);
    return startExitCode(error);
  }
  const show = (a) => `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  log(
    `smtp-wasm serve: ${options.lmtp ? "LMTP" : "SMTP"} on ${show(running.smtp)}` +
      `${running.tls ? " (STARTTLS)" : ""}${running.smtps ? `, implicit TLS on ${show(running.smtps)}` : ""}; ` +
      `Maildir ${running.maildir}; ${options.users.size > 0 ? `AUTH required (${[...options.users.keys()].join(", ")})` : "any mail accepted"}`,
  );
  if (running.ca) {
    const caFile = path.join(path.dirname(running.maildir), `${path.basename(running.maildir)}-ca.pem`);
    fs.writeFileSync(caFile, running.ca);
    log(`smtp-wasm serve: TLS certificate made at start for localhost; trust its CA: ${caFile}`);
  }
  if (running.http) log(`smtp-wasm serve: web inbox ${running.http}${options.httpToken ? "?token=..." : ""}`);
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  log("smtp-wasm serve: stopping (open sessions get 421)");
  await running.close();
  return 0;
}

/**
 * The exit code when the server cannot start: 3 for an address it cannot listen on (as `send` uses 3 for the
 * network), 2 for a flag value SmtpServer refuses (a certificate that is not PEM, a bad --domain) or a Maildir that
 * cannot be made (usage, as an unreadable file is for `send`), 8 for anything else.
 */
function startExitCode(error) {
  if (error?.syscall === "listen") return 3;
  if (error instanceof TypeError && error.message.startsWith("SmtpServer: ")) return 2;
  if (typeof error?.path === "string") return 2;
  return 8;
}

function count(values, flag) {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new ServeError(`--${flag} must be a whole number`);
  return Number(v);
}

function serveOptions(values) {
  const listen = parseHostPort(values.listen, "--listen");
  const tlsListen = values["tls-listen"] === undefined ? null : parseHostPort(values["tls-listen"], "--tls-listen");
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ServeError("--tls-cert and --tls-key go together");
  if (certFile !== undefined && values["tls-self-signed"]) {
    throw new ServeError("--tls-self-signed cannot be combined with --tls-cert");
  }
  let tls = null;
  if (certFile !== undefined) {
    try {
      tls = { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
    } catch (error) {
      throw new ServeError(`cannot read the certificate or key: ${error.message}`);
    }
  }
  if (tlsListen && !tls && !values["tls-self-signed"]) {
    throw new ServeError("--tls-listen needs --tls-cert/--tls-key or --tls-self-signed");
  }
  const users = new Map();
  for (const u of values.user ?? []) {
    const i = u.indexOf(":");
    if (i <= 0) throw new ServeError(`--user must be NAME:PASS (got ${JSON.stringify(u)})`);
    users.set(u.slice(0, i), u.slice(i + 1));
  }
  let httpAddr = null;
  if (!values["no-http"]) {
    httpAddr = parseHostPort(values.http, "--http");
    if (!isLoopback(httpAddr.host) && !values["http-token"]) {
      throw new ServeError(
        `--http ${values.http} is not a loopback address: anyone who reaches it could read the mail; ` +
          "add --http-token TOKEN (or use 127.0.0.1)",
      );
    }
  }
  return {
    listen,
    tlsListen,
    lmtp: values.lmtp,
    tls,
    selfSigned: values["tls-self-signed"],
    users,
    maxMessageBytes: count(values, "max-message-bytes"),
    maxRecipients: count(values, "max-recipients"),
    maildir: values.maildir,
    domain: values.domain,
    http: httpAddr,
    httpToken: values["http-token"] ?? null,
    verbose: values.verbose,
    quiet: values.quiet,
  };
}
