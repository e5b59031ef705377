// The package's behaviour against real servers, written once and run unchanged in every runtime (Node 20/22,
// Deno, Bun, workerd, Chromium). `lib` is the imported `smtp-wasm` module; `env` holds the server settings (from
// $SMTP_WASM_STATE/env.sh) plus `caPem`; `transport` says how this runtime reaches the servers:
//   "tcp"        the runtime's own TCP (sendMail's default)
//   "websocket"  only through the websockify bridges (browsers)
// Returns [{ name, ok, ms, error? }]. Cases whose server is not configured are skipped (not returned).

const enc = new TextEncoder();

function message(subject) {
  return (
    `From: Alice <alice@${"example.test"}>\r\n` +
    `To: Bob <bob@example.test>\r\n` +
    `Subject: ${subject}\r\n` +
    `Message-ID: <${Date.now()}.${Math.random().toString(36).slice(2)}@smtp-wasm.test>\r\n` +
    `\r\n` +
    `Hello from smtp-wasm.\r\n.a line starting with a dot\r\n`
  );
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

export async function scenario(lib, env, { runtime, transport = "tcp" }) {
  const host = env.SMTP_WASM_HOST ?? "127.0.0.1";
  const serverName = env.SMTP_WASM_TLS_NAME ?? "localhost";
  const auth = { username: env.SMTP_WASM_USER ?? "alice", password: env.SMTP_WASM_PASS ?? "secret" };
  const from = `alice@${env.SMTP_WASM_DOMAIN ?? "example.test"}`;
  const to = `bob@${env.SMTP_WASM_DOMAIN ?? "example.test"}`;
  const roots = env.caPem;
  const cases = [];
  const add = (name, port, fn) => {
    if (port) cases.push({ name, port: Number(port), fn });
  };

  // Through a bridge, every "connection" goes to the bridge's one fixed target.
  const wsConnect = (wsPort) => () => lib.connectWebSocket(`ws://${host}:${wsPort}`);
  const viaTcp = transport === "tcp";

  if (viaTcp) {
    add("postfix: STARTTLS + AUTH, sendMail", env.SMTP_WASM_POSTFIX_PORT, async (port) => {
      const result = await lib.sendMail({
        host, port, serverName, rootCertificates: roots, auth, from, to: [to],
        message: message(`postfix starttls from ${runtime}`),
      });
      check(result.accepted.length === 1 && result.reply.code === 250, "accepted with 250");
      check(result.tls !== null && /^TLSv1\.[23]$/.test(result.tls.protocolVersion), "TLS info");
      check(result.tls.peerCertificates[0] instanceof Uint8Array, "peer certificate DER");
    });
    add("postfix: implicit TLS (465-style)", env.SMTP_WASM_POSTFIX_TLS_PORT, async (port) => {
      const result = await lib.sendMail({
        host, port, tls: "implicit", serverName, rootCertificates: roots, auth, from, to,
        message: message(`postfix implicit from ${runtime}`),
      });
      check(result.reply.code === 250, "250");
    });
    add("smtp-server: STARTTLS + AUTH LOGIN, streamed message", env.SMTP_WASM_SMTP_SERVER_PORT, async (port) => {
      const body = message(`smtp-server stream from ${runtime}`);
      const stream = new ReadableStream({
        start(c) {
          for (const line of body.split(/(?<=\n)/)) c.enqueue(enc.encode(line));
          c.close();
        },
      });
      const result = await lib.sendMail({
        host, port, serverName, rootCertificates: roots, auth: { ...auth, mechanism: "LOGIN" }, from, to,
        message: stream,
      });
      check(result.reply.code === 250, "250");
    });
    add("smtp-server: implicit TLS", env.SMTP_WASM_SMTP_SERVER_TLS_PORT, async (port) => {
      const result = await lib.sendMail({
        host, port, tls: "implicit", serverName, rootCertificates: roots, auth, from, to,
        message: message(`smtp-server implicit from ${runtime}`),
      });
      check(result.reply.code === 250, "250");
    });
    add("smtp-server LMTP: per-recipient results", env.SMTP_WASM_SMTP_SERVER_LMTP_PORT, async (port) => {
      const duplex = await lib.connectTcp(host, port);
      const client = await lib.SmtpClient.connect(duplex, { serverName, lmtp: true });
      try {
        await client.mail(from);
        await client.rcpt(to);
        await client.rcpt(`carol@${env.SMTP_WASM_DOMAIN ?? "example.test"}`);
        const writer = await client.lmtpData();
        await writer.write(message(`lmtp from ${runtime}`));
        const results = await writer.close();
        check(results.length === 2, "two results");
        check(results.every((r) => r.reply?.code === 250), JSON.stringify(results));
        await client.quit();
      } finally {
        await client.close();
      }
    });
    add("aiosmtpd: STARTTLS + AUTH PLAIN", env.SMTP_WASM_AIOSMTPD_PORT, async (port) => {
      const result = await lib.sendMail({
        host, port, serverName, rootCertificates: roots, auth, from, to,
        message: message(`aiosmtpd from ${runtime}`),
      });
      check(result.reply.code === 250, "250");
    });
    add("unknown CA is a TlsError (unknown-issuer)", env.SMTP_WASM_SMTP_SERVER_PORT, async (port) => {
      const error = await lib
        .sendMail({ host, port, serverName, from, to, message: "x" })
        .then(() => null, (e) => e);
      check(error instanceof lib.TlsError, `TlsError, got ${error}`);
      check(error.tlsKind === "unknown-issuer", `unknown-issuer, got ${error.tlsKind}`);
    });
    add("wrong server name is a TlsError (name-mismatch)", env.SMTP_WASM_SMTP_SERVER_WRONG_NAME_PORT, async (port) => {
      const error = await lib
        .sendMail({ host, port, serverName, rootCertificates: roots, from, to, message: "x" })
        .then(() => null, (e) => e);
      check(error instanceof lib.TlsError && error.tlsKind === "name-mismatch", `name-mismatch, got ${error}`);
    });
    add("expired certificate is a TlsError (expired)", env.SMTP_WASM_SMTP_SERVER_EXPIRED_PORT, async (port) => {
      const error = await lib
        .sendMail({ host, port, serverName, rootCertificates: roots, from, to, message: "x" })
        .then(() => null, (e) => e);
      check(error instanceof lib.TlsError && error.tlsKind === "expired", `expired, got ${error}`);
    });
    add("refused recipient is an SmtpError with the reply", env.SMTP_WASM_POSTFIX_PORT, async (port) => {
      const error = await lib
        .sendMail({
          host, port, serverName, rootCertificates: roots, auth, from, to: "nobody@elsewhere.invalid",
          message: message("refused"),
        })
        .then(() => null, (e) => e);
      check(error instanceof lib.SmtpError, `SmtpError, got ${error}`);
      check(error.code >= 400 && error.code < 600 && error.lines.length > 0, "code and lines");
    });
  } else {
    add("bridge to smtp-server: STARTTLS + AUTH through a WebSocket", env.SMTP_WASM_WS_PORT, async () => {
      const result = await lib.sendMail({
        host: serverName, port: 587, serverName, rootCertificates: roots, auth, from, to,
        connect: wsConnect(env.SMTP_WASM_WS_PORT), message: message(`websocket from ${runtime}`),
      });
      check(result.reply.code === 250 && result.tls !== null, "250 over TLS");
    });
    add("bridge to postfix: STARTTLS + AUTH through a WebSocket", env.SMTP_WASM_WS_POSTFIX_PORT, async () => {
      const result = await lib.sendMail({
        host: serverName, port: 587, serverName, rootCertificates: roots, auth, from, to,
        connect: wsConnect(env.SMTP_WASM_WS_POSTFIX_PORT), message: message(`websocket postfix from ${runtime}`),
      });
      check(result.reply.code === 250, "250");
    });
  }

  const results = [];
  for (const c of cases) {
    const started = Date.now();
    try {
      await withTimeout(c.fn(c.port), 30_000, c.name);
      results.push({ name: c.name, ok: true, ms: Date.now() - started });
    } catch (error) {
      results.push({
        name: c.name,
        ok: false,
        ms: Date.now() - started,
        error: `${error?.name ?? "Error"}: ${error?.message ?? String(error)}`,
      });
    }
  }
  return results;
}

function withTimeout(promise, ms, name) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${name}: no result after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
