// `npx smtp-wasm <command>`: send, probe, bridge. swaks is the reference for the options of `send`.
import fs from "node:fs";
import { X509Certificate } from "node:crypto";
import { basename } from "node:path";
import { parseArgs } from "node:util";

/** Exit codes a script can rely on. */
export const EXIT = {
  OK: 0,
  PARTIAL: 1, // sent, but the server refused some recipients
  USAGE: 2, // bad arguments, unreadable files
  CONNECT: 3, // could not connect, connection dropped, timeout
  TLS: 4, // TLS failed (certificate, handshake, STARTTLS not offered)
  AUTH: 5, // AUTH refused
  REFUSED: 6, // the server refused the message permanently (5xx)
  TEMPORARY: 7, // the server refused temporarily (4xx): try again later
  PROTOCOL: 8, // the server broke the protocol, or anything else
};

const USAGE = `usage: smtp-wasm <command> [options]

commands:
  send      send one message (STARTTLS required by default)
  probe     show a server's greeting, capabilities, STARTTLS and certificate chain
  bridge    run a WebSocket-to-TCP bridge for browsers
  serve     run a local SMTP server that keeps mail in a Maildir, with a web inbox (see smtp-wasm serve --help)

smtp-wasm send --server HOST[:PORT] --from ADDR --to ADDR[,ADDR...] [options]
  -s, --server HOST[:PORT]   the server (port default 587; 465 means implicit TLS)
  -p, --port PORT            the port, if not in --server
      --tls MODE             starttls (default) | implicit | opportunistic | none
      --server-name NAME     the name to verify the certificate against (default: the host)
      --ca FILE              trust the CA certificate(s) in this PEM file (repeatable), besides the Mozilla roots
      --insecure             accept any certificate (tests only: anyone in the path can read the mail)
  -u, --user NAME            AUTH as NAME; the password comes from $SMTP_PASSWORD, --password-file, a prompt on the
                             terminal, or --password (visible to other users in the process list: avoid it)
      --password PASS
      --password-file FILE
      --auth MECH            PLAIN | LOGIN | CRAM-MD5 (default: the best the server offers)
  -f, --from ADDR            envelope sender
  -t, --to ADDR              recipient (repeatable, or comma-separated)
  -d, --data FILE            the RFC 5322 message, streamed; "-" reads stdin. Without it a short test message is
                             composed:
      --subject TEXT           its Subject (no CR or LF)
      --body TEXT              its body (LF or CRLF between lines; no bare CR)
      --header "NAME: VALUE"   an extra header (repeatable; no CR or LF)
      --text TEXT              the plain-text body (with any of the options below, the message is composed as
                               MIME by the core: non-ASCII, HTML, attachments, Cc/Bcc, DKIM)
      --html FILE              an HTML body (with --text: multipart/alternative)
      --attach FILE            attach a file (repeatable; read while sending, 64 KiB at a time)
      --cc ADDR                Cc recipient (repeatable, or comma-separated)
      --bcc ADDR               Bcc recipient: in the envelope, never in the message (repeatable)
      --dkim-key FILE          DKIM-sign with this PEM private key (RSA or Ed25519; also with --data)
      --dkim-selector S        its selector (s=)
      --dkim-domain D          its domain (d=)
      --envelope-from ADDR     MAIL FROM instead of --from's address (bounces go there; "" for <>), the header
                               keeps --from
      --envelope-to ADDR       RCPT TO instead of --to/--cc/--bcc (repeatable, or comma-separated); the headers
                               keep them
      --ehlo NAME            the name sent in EHLO (default localhost)
      --lmtp                 speak LMTP (LHLO, one reply per recipient)
      --no-chunking          never use BDAT, even when the server offers CHUNKING
      --size N               MAIL SIZE= (RFC 1870)
      --body-type TYPE       MAIL BODY= 7BIT | 8BITMIME | BINARYMIME
      --smtputf8             MAIL SMTPUTF8 (RFC 6531); asked for by itself when an address is not ASCII
      --requiretls           MAIL REQUIRETLS (RFC 8689)
      --ret FULL|HDRS        DSN RET= (RFC 3461)
      --envid ID             DSN ENVID=
      --mail-auth ADDR       MAIL AUTH= (RFC 4954)
      --notify LIST          DSN NOTIFY= for every recipient: NEVER, or SUCCESS,FAILURE,DELAY
      --orcpt ADDR           DSN ORCPT= for every recipient
      --orcpt-type TYPE      the ORCPT address type (default rfc822)
      --timeout SECONDS      give up after this long per step (default: RFC 5321 timeouts)
  -v, --verbose              print the transcript (AUTH redacted) and the TLS parameters
  -q, --quiet                print nothing on success
      --json                 print the result as JSON

smtp-wasm probe HOST[:PORT] [--tls starttls|implicit|none] [--server-name NAME] [--ca FILE] [--json] [--verbose]
  Without --ca, a certificate the Mozilla roots do not trust is still shown, marked as NOT VERIFIED (exit 4).

smtp-wasm bridge --allow HOST:PORT [--allow ...] --origin ORIGIN [--origin ...] [options]
      --listen [HOST:]PORT   where to listen (default 127.0.0.1:8025)
      --allow HOST:PORT      a target the bridge may connect to (repeatable; a client picks one with ?target=)
      --origin ORIGIN        an allowed page origin, like http://localhost:8080 ("*": any) (repeatable)
      --allow-no-origin      accept clients that send no Origin header (non-browser clients)
      --max-connections N    in total (default 64)
      --max-per-address N    per client address (default 8)
      --idle-timeout SECONDS close after this long without traffic (default 300)
      --max-lifetime SECONDS close after this long whatever happens (default 3600; 0: never)
      --pin-names            resolve each target's name once and keep connecting to that address
      --quiet                do not log connections (warnings about risky settings are still printed)

Text from the server (replies, certificate names) is printed with control characters escaped (\\xNN).

exit codes: 0 ok, 1 some recipients refused, 2 usage, 3 connection, 4 TLS, 5 AUTH refused,
            6 refused by the server (5xx), 7 temporary failure (4xx), 8 protocol or other error`;

class CliError extends Error {
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}
const usage = (message) => new CliError(`${message} (see smtp-wasm --help)`, EXIT.USAGE);

/**
 * The package's rules for the options the CLI fills in (the names of `timeouts`, the `tls` modes, the port-to-TLS
 * rule), from the one module that defines them (ts/checks.ts, built to dist/checks.js): the CLI keeps no copy.
 * `null` in a checkout that was not built; only the commands that need the package fail then.
 */
const rules = await import("../dist/checks.js").catch(() => null);

function packageRules() {
  if (rules === null) {
    throw new CliError("cannot load smtp-wasm's dist/checks.js (build the package first?)", EXIT.PROTOCOL);
  }
  return rules;
}

/** Loads the package's Node entrypoint (dist/ of this package). */
async function loadSmtpWasm() {
  try {
    return await import("../dist/node.js");
  } catch (error) {
    throw new CliError(`cannot load smtp-wasm's dist/node.js (build the package first?): ${error.message}`, EXIT.PROTOCOL);
  }
}

/** Splits HOST[:PORT] / [V6]:PORT. */
export function parseHostPort(text, defaultPort) {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host;
  let port;
  if (v6 !== null) {
    host = v6[1];
    port = v6[2];
  } else {
    const i = text.lastIndexOf(":");
    if (i > 0 && text.indexOf(":") === i) {
      host = text.slice(0, i);
      port = text.slice(i + 1);
    } else {
      host = text;
    }
  }
  if (host === "" || /\s/.test(host)) throw usage(`bad server ${JSON.stringify(text)}`);
  const n = port === undefined ? defaultPort : parsePort(port);
  return { host, port: n };
}

function parsePort(text) {
  const n = Number(text);
  if (!/^\d+$/.test(String(text)) || n < 1 || n > 65535) throw usage(`bad port ${JSON.stringify(text)}`);
  return n;
}

/** Opens a file for reading (a usage error if it cannot be), for streaming. */
function openFileOr(file, what) {
  try {
    return fs.openSync(file, "r");
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${error.code ?? error.message}`, EXIT.USAGE);
  }
}

/**
 * `text` with every control character (C0, DEL, C1) and the line/paragraph separators shown as `\xNN` / `\uNNNN`:
 * server text goes to a terminal, where an escape sequence could rewrite the screen or the title.
 */
export function printable(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

/** Refuses CR and LF (and NUL) in a value that goes into one header line. */
function oneLine(flag, value) {
  if (/[\r\n\0]/.test(value)) throw usage(`${flag} must not contain CR, LF or NUL (header injection)`);
  return value;
}

function readFileOr(file, what) {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${error.code ?? error.message}`, EXIT.USAGE);
  }
}

function parse(args, options) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(error.message.replace(/\. To specify.*$/s, ""));
  }
}

/** The flags of `send` for LMTP, BDAT and every MailOptions / RcptOptions field. */
const ENVELOPE_FLAGS = {
  lmtp: { type: "boolean" },
  "no-chunking": { type: "boolean" },
  size: { type: "string" },
  "body-type": { type: "string" },
  smtputf8: { type: "boolean" },
  requiretls: { type: "boolean" },
  ret: { type: "string" },
  envid: { type: "string" },
  "mail-auth": { type: "string" },
  notify: { type: "string" },
  orcpt: { type: "string" },
  "orcpt-type": { type: "string" },
};

/** Applies {@link ENVELOPE_FLAGS} to sendMail options. */
function applyEnvelopeFlags(v, opts) {
  if (v.lmtp) opts.lmtp = true;
  if (v["no-chunking"]) opts.preferChunking = false;
  const mail = {};
  if (v.size !== undefined) {
    if (!/^\d+$/.test(v.size)) throw usage("--size must be a number of octets");
    mail.size = Number(v.size);
  }
  if (v["body-type"] !== undefined) {
    const body = v["body-type"].toUpperCase();
    if (!["7BIT", "8BITMIME", "BINARYMIME"].includes(body)) throw usage("--body-type must be 7BIT, 8BITMIME or BINARYMIME");
    mail.body = body;
  }
  if (v.smtputf8) mail.smtpUtf8 = true;
  if (v.requiretls) mail.requireTls = true;
  if (v.ret !== undefined) {
    const ret = v.ret.toUpperCase();
    if (!["FULL", "HDRS"].includes(ret)) throw usage("--ret must be FULL or HDRS");
    mail.ret = ret;
  }
  if (v.envid !== undefined) mail.envelopeId = v.envid;
  if (v["mail-auth"] !== undefined) mail.auth = v["mail-auth"];
  if (Object.keys(mail).length > 0) opts.mailOptions = mail;
  const rcpt = {};
  if (v.notify !== undefined) {
    const list = v.notify.toUpperCase().split(",").map((n) => n.trim()).filter((n) => n !== "");
    if (list.length === 1 && list[0] === "NEVER") rcpt.notify = "NEVER";
    else if (list.length > 0 && list.every((n) => ["SUCCESS", "FAILURE", "DELAY"].includes(n))) rcpt.notify = list;
    else throw usage("--notify must be NEVER or a list of SUCCESS, FAILURE, DELAY");
  }
  if (v.orcpt !== undefined) rcpt.originalRecipient = v.orcpt;
  if (v["orcpt-type"] !== undefined) rcpt.originalRecipientType = v["orcpt-type"];
  if (Object.keys(rcpt).length > 0) opts.rcptOptions = rcpt;
}

/**
 * Parses `send` arguments into sendMail options (plus CLI flags). Exported for tests. With `interactive` (a
 * terminal on stdin that the message does not need) a missing password is asked for (`promptPassword`) instead of
 * being an error.
 */
export function parseSendArgs(args, env = process.env, { interactive = false } = {}) {
  const { values: v, positionals } = parse(args, {
    server: { type: "string", short: "s" },
    port: { type: "string", short: "p" },
    tls: { type: "string" },
    "server-name": { type: "string" },
    ca: { type: "string", multiple: true },
    insecure: { type: "boolean" },
    user: { type: "string", short: "u" },
    password: { type: "string" },
    "password-file": { type: "string" },
    auth: { type: "string" },
    from: { type: "string", short: "f" },
    to: { type: "string", short: "t", multiple: true },
    data: { type: "string", short: "d" },
    subject: { type: "string" },
    body: { type: "string" },
    header: { type: "string", multiple: true },
    text: { type: "string" },
    html: { type: "string" },
    attach: { type: "string", multiple: true },
    cc: { type: "string", multiple: true },
    bcc: { type: "string", multiple: true },
    "dkim-key": { type: "string" },
    "dkim-selector": { type: "string" },
    "dkim-domain": { type: "string" },
    "envelope-from": { type: "string" },
    "envelope-to": { type: "string", multiple: true },
    ehlo: { type: "string" },
    timeout: { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
    json: { type: "boolean" },
    ...ENVELOPE_FLAGS,
  });
  if (positionals.length > 0) throw usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (v.server === undefined) throw usage("--server is required");
  const { TLS_MODES, TIMEOUT_KEYS } = packageRules();
  const tlsGiven = v.tls;
  if (tlsGiven !== undefined && !TLS_MODES.includes(tlsGiven)) {
    throw usage(`--tls must be one of ${TLS_MODES.join(", ")}`);
  }
  let { host, port } = parseHostPort(v.server, undefined);
  if (v.port !== undefined) port = parsePort(v.port);
  // The port and TLS defaults (587 with STARTTLS, 465 with implicit TLS) are sendMail's: one policy, in one place.
  const to = (v.to ?? []).flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== "");
  if (to.length === 0) throw usage("--to is required");
  if (v.from === undefined) throw usage("--from is required");
  const opts = { host, from: v.from, to };
  if (port !== undefined) opts.port = port;
  if (tlsGiven !== undefined) opts.tls = tlsGiven;
  if (v["server-name"] !== undefined) opts.serverName = v["server-name"];
  if (v.ca !== undefined) opts.rootCertificates = v.ca.map((f) => readFileOr(f, "CA file").toString("utf8"));
  if (v.insecure) opts.dangerouslyAcceptInvalidCertificates = true;
  if (v.ehlo !== undefined) opts.localName = v.ehlo;
  let promptPassword = false;
  if (v.user !== undefined) {
    let password = v.password;
    if (password === undefined && v["password-file"] !== undefined) {
      password = readFileOr(v["password-file"], "password file").toString("utf8").replace(/\r?\n$/, "");
    }
    password ??= env.SMTP_PASSWORD;
    if (password === undefined) {
      if (!interactive || v.data === "-") {
        throw usage("--user needs $SMTP_PASSWORD, --password-file, a terminal to ask on, or --password");
      }
      promptPassword = true;
    }
    opts.auth = { username: v.user, password };
    if (v.auth !== undefined) {
      const mech = v.auth.toUpperCase();
      if (!["PLAIN", "LOGIN", "CRAM-MD5"].includes(mech)) throw usage("--auth must be PLAIN, LOGIN or CRAM-MD5");
      opts.auth.mechanism = mech;
    }
  } else if (v.password !== undefined || v["password-file"] !== undefined || v.auth !== undefined) {
    throw usage("--password/--auth need --user");
  }
  if (v.timeout !== undefined) {
    const s = Number(v.timeout);
    if (!(s > 0)) throw usage("--timeout must be a positive number of seconds");
    const ms = Math.round(s * 1000);
    // Every step's deadline; `total` (the whole operation) keeps sendMail's default.
    opts.timeouts = Object.fromEntries(TIMEOUT_KEYS.filter((key) => key !== "total").map((key) => [key, ms]));
  }
  if (v.data !== undefined && (v.subject !== undefined || v.body !== undefined || v.header !== undefined)) {
    throw usage("--data cannot be combined with --subject, --body or --header");
  }
  if (v.subject !== undefined) oneLine("--subject", v.subject);
  for (const header of v.header ?? []) oneLine("--header", header);
  if (v.body !== undefined && /\r(?!\n)|\0/.test(v.body)) throw usage("--body must not contain a bare CR or NUL");
  applyEnvelopeFlags(v, opts);
  const message = { file: v.data, subject: v.subject, body: v.body, headers: v.header ?? [] };
  const rich = parseRichArgs(v);
  if (rich.dkim !== undefined) opts.dkim = rich.dkim;
  if (v["envelope-from"] !== undefined || v["envelope-to"] !== undefined) {
    if (v.data !== undefined) throw usage("with --data, --from and --to are the envelope: --envelope-* is for composed messages");
    opts.envelope = {};
    if (v["envelope-from"] !== undefined) opts.envelope.from = v["envelope-from"];
    if (v["envelope-to"] !== undefined) opts.envelope.to = list(v["envelope-to"]);
  }
  if (rich.compose) {
    if (v.data !== undefined) throw usage("--data cannot be combined with --text, --html, --attach, --cc or --bcc");
    message.compose = rich.compose;
  }
  return {
    opts,
    message,
    verbose: v.verbose === true,
    quiet: v.quiet === true,
    json: v.json === true,
    promptPassword,
    passwordOnCommandLine: v.password !== undefined,
  };
}

const list = (values) => (values ?? []).flatMap((t) => t.split(",")).map((t) => t.trim()).filter((t) => t !== "");

/**
 * The options that make the core compose a MIME message (--text, --html, --attach, --cc, --bcc) and sign it
 * (--dkim-*): sendMail options, with attachments as file streams. --subject, --body and --header join them.
 */
function parseRichArgs(v) {
  const out = {};
  const dkimGiven = ["dkim-key", "dkim-selector", "dkim-domain"].filter((k) => v[k] !== undefined);
  if (dkimGiven.length > 0) {
    if (dkimGiven.length !== 3) throw usage("--dkim-key, --dkim-selector and --dkim-domain go together");
    out.dkim = {
      privateKey: readFileOr(v["dkim-key"], "DKIM key file").toString("utf8"),
      keySelector: v["dkim-selector"],
      domainName: v["dkim-domain"],
    };
  }
  if ([v.text, v.html, v.attach, v.cc, v.bcc].every((x) => x === undefined)) return out;
  if (v.text !== undefined && v.body !== undefined) throw usage("--text and --body are the same; give one");
  const headers = [];
  for (const h of v.header ?? []) {
    if (/[\r\n]/.test(h)) throw usage("--header must not contain CR or LF");
    const colon = h.indexOf(":");
    if (colon <= 0) throw usage(`--header must be "Name: value", not ${JSON.stringify(h)}`);
    headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
  }
  const compose = { headers };
  if (v.subject !== undefined) compose.subject = v.subject;
  const text = v.text ?? v.body;
  if (text !== undefined) compose.text = text;
  if (v.html !== undefined) compose.html = readFileOr(v.html, "HTML file").toString("utf8");
  if (v.cc !== undefined) compose.cc = list(v.cc);
  if (v.bcc !== undefined) compose.bcc = list(v.bcc);
  if (v.attach !== undefined) {
    compose.attachments = v.attach.map((file) => {
      try {
        if (!fs.statSync(file).isFile()) throw new Error("not a file");
      } catch (error) {
        throw new CliError(`cannot read attachment ${file}: ${error.code ?? error.message}`, EXIT.USAGE);
      }
      // sendMail reads it when the composer reaches it, 64 KiB at a time into one buffer (never whole).
      return { filename: basename(file), path: file };
    });
  }
  out.compose = compose;
  return out;
}

/** A swaks-like test message. */
export function composeMessage({ from, to, subject, body, headers = [], date = new Date() }) {
  const host = (from.split("@")[1] ?? "localhost").replace(/[^A-Za-z0-9.-]/g, "") || "localhost";
  const id = `${date.getTime().toString(36)}.${Math.random().toString(36).slice(2, 10)}@${host}`;
  const lines = [
    `Date: ${date.toUTCString().replace("GMT", "+0000")}`,
    `From: ${from}`,
    `To: ${to.join(", ")}`,
    `Subject: ${subject ?? `test ${date.toUTCString()}`}`,
    `Message-ID: <${id}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    ...headers,
    "",
    ...(body ?? "This is a test mailing from smtp-wasm.").split(/\r?\n/),
  ];
  return lines.join("\r\n") + "\r\n";
}

/** Asks for a password on the terminal, without echo. */
async function askPassword(prompt, err) {
  const stdin = process.stdin;
  err.write(prompt);
  stdin.setRawMode?.(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  try {
    return await new Promise((resolve, reject) => {
      let typed = "";
      const onData = (text) => {
        for (const ch of text) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            stdin.off("data", onData);
            resolve(typed);
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            reject(new CliError("cancelled", EXIT.USAGE));
            return;
          }
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    err.write("\n");
  }
}

/** Node's error codes of a connection that failed or dropped. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EADDRNOTAVAIL",
]);
/** Node's error codes of a file that could not be read. */
const FILE_CODES = new Set(["ENOENT", "EACCES", "EISDIR", "ENOTDIR", "EPERM", "EMFILE", "ELOOP"]);

/** Maps any error from smtp-wasm (or Node) to an exit code and one line (server text escaped). */
export function classify(error) {
  if (error instanceof CliError) return { code: error.exitCode, line: printable(error.message) };
  const name = error?.constructor?.name ?? "";
  const msg = printable(String(error?.message ?? error).replace(/\s*\n\s*/g, " "));
  switch (name) {
    case "TlsError":
      return { code: EXIT.TLS, line: `TLS failed: ${msg}` };
    case "SmtpError": {
      const cmd = String(error.command ?? "");
      if (cmd.startsWith("AUTH")) return { code: EXIT.AUTH, line: `authentication refused: ${msg}` };
      return { code: error.temporary ? EXIT.TEMPORARY : EXIT.REFUSED, line: `refused by the server: ${msg}` };
    }
    case "ConnectionClosedError":
    case "TimeoutError":
      return { code: EXIT.CONNECT, line: msg };
    case "UsageError":
    case "InvalidInputError":
      return { code: EXIT.USAGE, line: msg };
    default: {
      const code = typeof error?.code === "string" ? error.code : "";
      if (NETWORK_CODES.has(code)) return { code: EXIT.CONNECT, line: msg };
      if (FILE_CODES.has(code)) return { code: EXIT.USAGE, line: msg };
      if (/^ERR_(INVALID_ARG|OUT_OF_RANGE|MISSING_ARGS|PARSE_ARGS)/.test(code)) return { code: EXIT.USAGE, line: msg };
      // Every other Node ERR_* (a stream misused, an internal assertion) is not a connection problem.
      return { code: EXIT.PROTOCOL, line: msg };
    }
  }
}

function transcriptPrinter(out) {
  return (line) => out.write(`${line.direction === "client" ? "-> " : "<- "}${printable(line.text)}\n`);
}

export function describeCertificate(der) {
  const cert = new X509Certificate(der);
  const cn = (dn) => {
    const m = /(?:^|\n)CN=([^\n]*)/.exec(dn);
    return m ? m[1] : dn.replace(/\n/g, ", ");
  };
  const notAfter = new Date(cert.validTo);
  return {
    subject: cert.subject.replace(/\n/g, ", "),
    subjectCN: cn(cert.subject),
    issuer: cert.issuer.replace(/\n/g, ", "),
    issuerCN: cn(cert.issuer),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - Date.now()) / 86_400_000),
    altNames: cert.subjectAltName ?? null,
    sha256: cert.fingerprint256,
  };
}

async function cmdSend(args, out, err) {
  const parsed = parseSendArgs(args, process.env, { interactive: process.stdin.isTTY === true });
  const { opts, message } = parsed;
  // Told to a person at a terminal; a script's stderr keeps its one line per failure.
  if (parsed.passwordOnCommandLine && err.isTTY === true) {
    err.write("smtp-wasm: warning: --password is visible to other users of this machine; prefer $SMTP_PASSWORD\n");
  }
  if (parsed.promptPassword) opts.auth.password = await askPassword(`password for ${opts.auth.username}: `, err);
  // Streamed, never read whole: a message of any size takes a bounded amount of memory.
  if (message.file === "-") opts.message = process.stdin;
  else if (message.file !== undefined) {
    opts.message = fs.createReadStream(null, { fd: openFileOr(message.file, "message file") });
  } else if (message.compose !== undefined) Object.assign(opts, message.compose);
  else opts.message = composeMessage({ from: opts.from, to: opts.to, ...message });
  const smtp = await loadSmtpWasm();
  if (parsed.verbose) opts.debug = transcriptPrinter(out);
  const result = await smtp.sendMail(opts);
  if (parsed.json) {
    out.write(
      JSON.stringify({
        accepted: result.accepted,
        rejected: result.rejected.map((r) => ({ recipient: r.recipient, code: r.error.code, message: r.error.message })),
        reply: result.reply,
        tls: result.tls && { protocolVersion: result.tls.protocolVersion, cipherSuite: result.tls.cipherSuite },
      }) + "\n",
    );
  } else if (!parsed.quiet) {
    if (parsed.verbose && result.tls) {
      const leaf = result.tls.peerCertificates[0];
      const c = leaf ? describeCertificate(leaf) : null;
      out.write(
        `=== TLS ${result.tls.protocolVersion} ${result.tls.cipherSuite}` +
          (c ? `, certificate ${printable(c.subjectCN)} issued by ${printable(c.issuerCN)}` : "") +
          "\n",
      );
    }
    out.write(`=== accepted: ${result.accepted.join(", ") || "(none)"}\n`);
    for (const r of result.rejected) out.write(`=== refused: ${r.recipient}: ${printable(r.error.message)}\n`);
    out.write(`=== server reply: ${result.reply.code} ${printable(result.reply.lines.join(" / "))}\n`);
  }
  if (result.rejected.length > 0) {
    err.write(`smtp-wasm: ${result.rejected.length} of ${result.accepted.length + result.rejected.length} recipients refused\n`);
    return EXIT.PARTIAL;
  }
  return EXIT.OK;
}

function capabilitiesFrom(transcript) {
  // The server lines answering the last EHLO/LHLO (the first line is the greeting-like hello line).
  let start = -1;
  transcript.forEach((l, i) => {
    if (l.direction === "client" && /^(EHLO|LHLO|HELO)\b/i.test(l.text)) start = i;
  });
  if (start < 0) return [];
  const lines = [];
  for (let i = start + 1; i < transcript.length && transcript[i].direction === "server"; i++) {
    lines.push(transcript[i].text);
    if (/^\d{3} /.test(transcript[i].text)) break;
  }
  return lines.slice(1).map((l) => l.slice(4));
}

async function cmdProbe(args, out, err) {
  const { values: v, positionals } = parse(args, {
    tls: { type: "string" },
    "server-name": { type: "string" },
    ca: { type: "string", multiple: true },
    ehlo: { type: "string" },
    timeout: { type: "string" },
    json: { type: "boolean" },
    verbose: { type: "boolean", short: "v" },
  });
  if (positionals.length !== 1) throw usage("probe needs one HOST:PORT");
  const { host, port: p } = parseHostPort(positionals[0], undefined);
  const port = p ?? 25;
  const { TLS_MODES, tlsForPort } = packageRules();
  const mode = v.tls ?? tlsForPort(port);
  // "opportunistic" is what the probe's "starttls" does anyway: it reports a server without STARTTLS.
  const modes = TLS_MODES.filter((m) => m !== "opportunistic");
  if (!modes.includes(mode)) throw usage(`--tls must be ${modes.slice(0, -1).join(", ")} or ${modes.at(-1)}`);
  const roots = v.ca?.map((f) => readFileOr(f, "CA file").toString("utf8"));
  const seconds = v.timeout === undefined ? 30 : Number(v.timeout);
  if (!(seconds > 0)) throw usage("--timeout must be a positive number of seconds");
  const ms = Math.round(seconds * 1000);
  const smtp = await loadSmtpWasm();
  const serverName = v["server-name"] ?? host;

  const attempt = async (acceptInvalid) => {
    const transcript = [];
    const report = { server: `${host}:${port}`, serverName, tlsMode: mode, greeting: null, capabilities: [],
      starttls: null, capabilitiesAfterTls: null, tls: null };
    const duplex = await smtp.connectTcp(host, port, { timeout: ms });
    const client = await smtp.SmtpClient.connect(duplex, {
      serverName,
      implicitTls: mode === "implicit",
      ...(v.ehlo !== undefined && { localName: v.ehlo }),
      ...(roots !== undefined && { rootCertificates: roots }),
      ...(acceptInvalid && { dangerouslyAcceptInvalidCertificates: true }),
      timeouts: { greeting: ms, command: ms },
      debug: (line) => {
        transcript.push(line);
        if (v.verbose) transcriptPrinter(err)(line);
      },
    });
    try {
      report.greeting = `${client.greeting.code} ${client.greeting.lines.join(" / ")}`;
      await client.hello(v.ehlo);
      report.capabilities = capabilitiesFrom(transcript);
      report.starttls = client.extension("STARTTLS").supported;
      if (mode === "starttls" && report.starttls) {
        await client.startTls();
        report.capabilitiesAfterTls = capabilitiesFrom(transcript);
      }
      const info = client.tlsInfo();
      if (info !== null) {
        report.tls = {
          protocolVersion: info.protocolVersion,
          cipherSuite: info.cipherSuite,
          verified: !acceptInvalid,
          chain: info.peerCertificates.map((der) => describeCertificate(der)),
        };
      }
      await client.quit().catch(() => {});
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
    return report;
  };

  let report;
  let tlsFailure = null;
  try {
    report = await attempt(false);
  } catch (error) {
    if (error?.constructor?.name !== "TlsError" || ["starttls-not-offered", "not-tls"].includes(error.tlsKind)) {
      throw error;
    }
    // Show the chain anyway, marked as not verified.
    tlsFailure = error;
    report = await attempt(true).catch(() => {
      throw error;
    });
    if (report.tls) report.tls.verificationError = String(error.message);
  }
  if (v.json) {
    out.write(JSON.stringify(report, null, 2) + "\n");
  } else {
    // Everything below shows server text (greeting, capabilities, certificate names): escaped for the terminal.
    const out0 = out;
    out = { write: (text) => out0.write(printable(text.replace(/\n$/, "")) + "\n") };
    out.write(`server:       ${report.server} (TLS name ${report.serverName}, mode ${report.tlsMode})\n`);
    out.write(`greeting:     ${report.greeting}\n`);
    out.write(`capabilities: ${report.capabilities.join(", ") || "(none: HELO only)"}\n`);
    out.write(`STARTTLS:     ${report.starttls ? "offered" : "not offered"}\n`);
    if (report.capabilitiesAfterTls) out.write(`after TLS:    ${report.capabilitiesAfterTls.join(", ")}\n`);
    if (report.tls) {
      out.write(`TLS:          ${report.tls.protocolVersion}, ${report.tls.cipherSuite}\n`);
      out.write(
        `verified:     ${report.tls.verified ? `yes (for ${report.serverName})` : `NO: ${report.tls.verificationError}`}\n`,
      );
      report.tls.chain.forEach((c, i) => {
        out.write(`certificate ${i}: ${c.subject}\n`);
        out.write(`  issuer:     ${c.issuer}\n`);
        out.write(`  valid:      ${c.notBefore} .. ${c.notAfter} (${c.daysLeft} days left)\n`);
        if (c.altNames) out.write(`  names:      ${c.altNames}\n`);
      });
    } else {
      out.write("TLS:          none\n");
    }
  }
  if (tlsFailure !== null) {
    const { line } = classify(tlsFailure);
    err.write(`smtp-wasm: ${line}\n`);
    return EXIT.TLS;
  }
  if (mode === "starttls" && !report.starttls) {
    err.write(`smtp-wasm: ${host}:${port} does not offer STARTTLS\n`);
    return EXIT.TLS;
  }
  return EXIT.OK;
}

async function cmdBridge(args, out, err) {
  const { values: v, positionals } = parse(args, {
    listen: { type: "string" },
    allow: { type: "string", multiple: true },
    origin: { type: "string", multiple: true },
    "allow-no-origin": { type: "boolean" },
    "max-connections": { type: "string" },
    "max-per-address": { type: "string" },
    "idle-timeout": { type: "string" },
    "max-lifetime": { type: "string" },
    "pin-names": { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
  });
  if (positionals.length > 0) throw usage(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (v.allow === undefined) throw usage("bridge needs at least one --allow HOST:PORT");
  if (v.origin === undefined && !v["allow-no-origin"]) {
    throw usage("bridge needs --origin ORIGIN (the page's origin, or \"*\") or --allow-no-origin");
  }
  let listenHost = "127.0.0.1";
  let listenPort = 8025;
  if (v.listen !== undefined) {
    if (/^\d+$/.test(v.listen)) listenPort = parsePort(v.listen);
    else ({ host: listenHost, port: listenPort } = parseHostPort(v.listen, 8025));
  }
  const num = (name, def) => {
    if (v[name] === undefined) return def;
    const n = Number(v[name]);
    if (!(n >= 0)) throw usage(`--${name} must be a number`);
    return n;
  };
  const { createBridge } = await import("./bridge.js");
  let bridge;
  try {
    bridge = createBridge({
      allow: v.allow,
      origins: v.origin ?? [],
      allowMissingOrigin: v["allow-no-origin"] === true,
      maxConnections: num("max-connections", 64),
      maxConnectionsPerAddress: num("max-per-address", 8),
      idleTimeout: num("idle-timeout", 300) * 1000,
      maxLifetime: num("max-lifetime", 3600) * 1000,
      pinNames: v["pin-names"] === true,
      log: v.quiet ? null : (line) => err.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (error) {
    throw usage(error.message);
  }
  let where;
  try {
    where = await bridge.listen(listenPort, listenHost);
  } catch (error) {
    throw new CliError(`cannot listen on ${listenHost}:${listenPort}: ${error.code ?? error.message}`, EXIT.USAGE);
  }
  out.write(`smtp-wasm bridge on ${where.url} -> ${bridge.targets.join(", ")}\n`);
  await new Promise((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await bridge.close();
  return EXIT.OK;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv = process.argv.slice(2), out = process.stdout, err = process.stderr) {
  const [command, ...args] = argv;
  if (command === "serve") return (await import("./serve.js")).cmdServe(args, out, err);
  if (args.includes("--help") || args.includes("-h")) {
    out.write(USAGE + "\n");
    return EXIT.OK;
  }
  try {
    switch (command) {
      case "send":
        return await cmdSend(args, out, err);
      case "probe":
        return await cmdProbe(args, out, err);
      case "bridge":
        return await cmdBridge(args, out, err);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        out.write(USAGE + "\n");
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        throw usage(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    const { code, line } = classify(error);
    err.write(`smtp-wasm: ${line}\n`);
    return code;
  }
}
