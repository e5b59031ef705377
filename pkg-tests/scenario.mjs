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
          // No AUTH: an unauthenticated client may not relay, so Postfix refuses the recipient.
          host, port, serverName, rootCertificates: roots, from, to: "nobody@elsewhere.invalid",
          message: message("refused"),
        })
        .then(() => null, (e) => e);
      check(error instanceof lib.SmtpError, `SmtpError, got ${error}`);
      check(error.code >= 400 && error.code < 600 && error.lines.length > 0, "code and lines");
    });
    add("postfix: a composed message (the composer's wasm, loaded on first use), streamed attachment", env.SMTP_WASM_POSTFIX_PORT, async (port) => {
      const bytes = new Uint8Array(200_000).map((_, i) => i & 255);
      const attachment = new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 65536) controller.enqueue(bytes.slice(at, at + 65536));
          controller.close();
        },
      });
      const result = await lib.sendMail({
        host, port, serverName, rootCertificates: roots, auth, from: { name: "Zoë", address: from }, to: [to],
        subject: `Grüße 👋 composed in ${runtime}`, text: "Hello\n", html: "<p>Hello</p>",
        attachments: [{ filename: "data.bin", content: attachment }],
      });
      check(result.accepted.length === 1 && result.reply.code === 250, "accepted with 250");
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

  // ------------------------------------------------------------------------------------------------------------
  // Cases that run everywhere: over TCP, or through a bridge in browsers. `target(kind)` gives sendMail's host/port
  // (and `connect` through a bridge); `open(kind)` gives a Duplex for SmtpClient.connect.
  const targets = viaTcp
    ? {
        postfix: env.SMTP_WASM_POSTFIX_PORT && { host, port: Number(env.SMTP_WASM_POSTFIX_PORT) },
        smtpServer: env.SMTP_WASM_SMTP_SERVER_PORT && { host, port: Number(env.SMTP_WASM_SMTP_SERVER_PORT) },
        drop: env.SMTP_WASM_SCRIPTED_DROP_PORT && { host, port: Number(env.SMTP_WASM_SCRIPTED_DROP_PORT) },
        silent: env.SMTP_WASM_SCRIPTED_SILENT_PORT && { host, port: Number(env.SMTP_WASM_SCRIPTED_SILENT_PORT) },
        clientCert: env.SMTP_WASM_SCRIPTED_CLIENTCERT_PORT && {
          host, port: Number(env.SMTP_WASM_SCRIPTED_CLIENTCERT_PORT),
        },
      }
    : {
        postfix: env.SMTP_WASM_WS_POSTFIX_PORT && {
          host: serverName, port: 587, connect: wsConnect(env.SMTP_WASM_WS_POSTFIX_PORT),
        },
        smtpServer: env.SMTP_WASM_WS_PORT && { host: serverName, port: 587, connect: wsConnect(env.SMTP_WASM_WS_PORT) },
        drop: env.SMTP_WASM_SCRIPTED_DROP_WS_PORT && {
          host: serverName, port: 587, connect: wsConnect(env.SMTP_WASM_SCRIPTED_DROP_WS_PORT),
        },
        silent: env.SMTP_WASM_SCRIPTED_SILENT_WS_PORT && {
          host: serverName, port: 587, connect: wsConnect(env.SMTP_WASM_SCRIPTED_SILENT_WS_PORT),
        },
        clientCert: env.SMTP_WASM_SCRIPTED_CLIENTCERT_WS_PORT && {
          host: serverName, port: 465, connect: wsConnect(env.SMTP_WASM_SCRIPTED_CLIENTCERT_WS_PORT),
        },
      };
  const open = (kind) => {
    const t = targets[kind];
    return t.connect ? t.connect(t.host, t.port) : lib.connectTcp(t.host, t.port);
  };
  const addVia = (name, kind, fn) => {
    if (targets[kind]) cases.push({ name, port: 1, fn: () => fn(targets[kind]) });
  };

  addVia("smtp-server: AUTH XOAUTH2", "smtpServer", async (t) => {
    const result = await lib.sendMail({
      ...t, serverName, rootCertificates: roots, from, to,
      auth: { mechanism: "XOAUTH2", username: auth.username, accessToken: env.SMTP_WASM_XOAUTH2_TOKEN ?? "test-token" },
      message: message(`xoauth2 from ${runtime}`),
    });
    check(result.reply.code === 250, "250");
    const refused = await lib
      .sendMail({
        ...t, serverName, rootCertificates: roots, from, to,
        auth: { mechanism: "XOAUTH2", username: auth.username, accessToken: "wrong-token" },
        message: message("xoauth2 wrong token"),
      })
      .then(() => null, (e) => e);
    check(refused instanceof lib.SmtpError && refused.code >= 500, `a wrong token is refused, got ${refused}`);
  });
  // RFC 6532 headers and an RFC 6531 envelope from the composer, in every runtime (Workers and browsers included).
  addVia("smtp-server: composed message with non-ASCII addresses (SMTPUTF8)", "smtpServer", async (t) => {
    const domain = env.SMTP_WASM_DOMAIN ?? "example.test";
    const lines = [];
    const result = await lib.sendMail({
      ...t, serverName, rootCertificates: roots, auth, from: { name: "Zoë", address: `zoë@${domain}` },
      to: [to, `用户@${domain}`], subject: `Grüße 👋 from ${runtime}`, text: "Hallo Jörg\n",
      debug: (line) => lines.push(line),
    });
    check(result.accepted.length === 2 && result.reply.code === 250, "both accepted with 250");
    const mail = lines.find((l) => l.direction === "client" && l.text.startsWith("MAIL FROM:"));
    check(mail !== undefined && / SMTPUTF8( |$)/.test(mail.text) && mail.text.includes(`<zoë@${domain}>`), `MAIL with SMTPUTF8, got ${mail?.text}`);
  });
  addVia("postfix: AUTH CRAM-MD5", "postfix", async (t) => {
    const result = await lib.sendMail({
      ...t, serverName, rootCertificates: roots, from, to, auth: { ...auth, mechanism: "CRAM-MD5" },
      message: message(`cram-md5 from ${runtime}`),
    });
    check(result.reply.code === 250, "250");
  });
  addVia("CR/LF/NUL in every string field: InvalidInputError, zero bytes, session usable", "postfix", async () => {
    const { duplex, written } = counting(await open("postfix"));
    const client = await lib.SmtpClient.connect(duplex, { serverName, rootCertificates: roots });
    try {
      const refused = async (field, fn) => {
        for (const bad of ["x\r\nRSET", "x\nRSET", "x\ry", "x\0y"]) {
          await tick();
          const before = written.bytes;
          const error = await Promise.resolve()
            .then(() => fn(bad))
            .then(() => null, (e) => e);
          const what = `${field} = ${JSON.stringify(bad)}`;
          check(error instanceof lib.InvalidInputError, `${what}: InvalidInputError, got ${error}`);
          check(error.field === field, `${what}: field ${field}, got ${error.field}`);
          check(error.kind === "invalid-input" && error.temporary === false, `${what}: kind and temporary`);
          await tick();
          check(written.bytes === before, `${what}: ${written.bytes - before} bytes written`);
          check(!client.closed, `${what}: the session is still open`);
        }
      };
      await refused("localName", (v) => client.hello(`client${v}.example`));
      await client.startTls();
      check(client.capabilities()?.AUTH !== undefined, "AUTH offered after STARTTLS");
      await refused("from", (v) => client.mail(`a${v}@example.test`));
      await refused("envelopeId", (v) => client.mail(from, { envelopeId: `id${v}` }));
      await refused("auth", (v) => client.mail(from, { auth: `<a${v}@example.test>` }));
      await refused("username", (v) => client.auth({ username: `alice${v}`, password: auth.password }));
      await refused("password", (v) => client.auth({ username: auth.username, password: `secret${v}` }));
      await refused("address", (v) => client.verify(`a${v}`));
      await refused("from", (v) => client.sendMail({ from: `a${v}@example.test`, to, message: "x" }));
      await refused("to", (v) => client.sendMail({ from, to: [to, `b${v}@example.test`], message: "x" }));
      await client.mail(from);
      await refused("to", (v) => client.rcpt(`b${v}@example.test`));
      await refused("originalRecipient", (v) => client.rcpt(to, { notify: ["FAILURE"], originalRecipient: `o${v}@x` }));
      await client.reset();
      // Still usable: AUTH, then a whole transaction.
      await client.auth(auth);
      const result = await client.sendMail({ from, to, message: message(`after refusals from ${runtime}`) });
      check(result.reply.code === 250 && result.accepted.length === 1, "250 after the refusals");
      await client.quit();
    } finally {
      await client.close();
    }
  });
  addVia("AbortSignal mid-message rejects with the abort error", "postfix", async () => {
    const controller = new AbortController();
    const client = await lib.SmtpClient.connect(await open("postfix"), { serverName, signal: controller.signal });
    try {
      await client.mail(from);
      await client.rcpt(to);
      const writer = await client.data();
      await writer.write("Subject: aborted\r\n\r\npartial content");
      controller.abort();
      const error = await writer.close().then(() => "sent", (e) => e);
      check(error !== "sent", "never sent");
      check(error?.name === "AbortError", `AbortError, got ${error}`);
      check(client.closed, "the session is over");
      const later = await client.noop().then(() => null, (e) => e);
      check(later?.name === "AbortError", `later commands fail with the abort error, got ${later}`);
    } finally {
      await client.close();
    }
  });
  addVia("AbortSignal during sendMail rejects with the signal's reason", "postfix", async (t) => {
    const controller = new AbortController();
    const reason = new Error("stop right there");
    const error = await lib
      .sendMail({
        ...t, tls: "none", from, to, signal: controller.signal,
        message: `Subject: big\r\n\r\n${"0123456789abcdef".repeat(40_000)}\r\n`,
        onProgress: () => controller.abort(reason),
      })
      .then(() => "sent", (e) => e);
    check(error === reason, `the reason, got ${error}`);
  });
  addVia("server drops the connection after 354: rejected, never sent", "drop", async (t) => {
    const error = await lib
      .sendMail({ ...t, tls: "none", from, to, message: message(`drop from ${runtime}`) })
      .then(() => "sent", (e) => e);
    check(error !== "sent", "never sent");
    check(error instanceof lib.ConnectionClosedError, `ConnectionClosedError, got ${error}`);
    check(/^data/.test(error.phase ?? ""), `in a data phase, got ${error.phase}`);
  });
  addVia("STARTTLS not offered with the default tls: TlsError (starttls-not-offered)", "drop", async (t) => {
    const error = await lib
      .sendMail({ ...t, from, to, message: message("needs tls") })
      .then(() => "sent", (e) => e);
    check(error instanceof lib.TlsError, `TlsError, got ${error}`);
    check(error.tlsKind === "starttls-not-offered", `starttls-not-offered, got ${error.tlsKind}`);
  });
  addVia("a server that never answers: TimeoutError", "silent", async (t) => {
    const started = Date.now();
    const error = await lib
      .sendMail({ ...t, tls: "none", from, to, message: "x", timeouts: { greeting: 400 } })
      .then(() => "sent", (e) => e);
    check(error instanceof lib.TimeoutError, `TimeoutError, got ${error}`);
    check(error.phase === "greeting" && error.temporary === true, `greeting, temporary; got ${error.phase}`);
    check(Date.now() - started >= 350, "not before the deadline");
  });

  addVia("clientCertificate (ECDSA P-256, the signer's wasm loaded on first use) + AUTH EXTERNAL", "clientCert", async (t) => {
    const tlsOptions = { tls: "implicit", serverName, rootCertificates: env.SMTP_WASM_SCRIPTED_CLIENTCERT_CA, onlyRootCertificates: true };
    const result = await lib.sendMail({
      ...t, ...tlsOptions, from, to, auth: { mechanism: "EXTERNAL" },
      clientCertificate: { cert: env.SMTP_WASM_SCRIPTED_CLIENTCERT_CERT, key: env.SMTP_WASM_SCRIPTED_CLIENTCERT_KEY },
      message: message(`client certificate from ${runtime}`),
    });
    check(result.reply.code === 250 && /accepted from alice/.test(result.reply.text), `250 from alice, got ${result.reply.text}`);
    // A key that is not the certificate's: refused before anything is sent, with a typed error.
    const mismatch = await lib
      .sendMail({
        ...t, ...tlsOptions, from, to, message: "x",
        clientCertificate: { cert: env.SMTP_WASM_SCRIPTED_CLIENTCERT_CERT, key: env.SMTP_WASM_SCRIPTED_CLIENTCERT_OTHER_KEY },
      })
      .then(() => null, (e) => e);
    check(mismatch instanceof lib.TlsError && /does not belong/.test(mismatch.message), `TlsError (key mismatch), got ${mismatch}`);
    // Without a certificate the server refuses the handshake.
    const refused = await lib.sendMail({ ...t, ...tlsOptions, from, to, message: "x" }).then(() => null, (e) => e);
    check(refused instanceof lib.TlsError || refused instanceof lib.ConnectionClosedError, `refused, got ${refused}`);
  });

  const results = [];
  // No server: the composer and the DKIM signer alone (Ed25519: ring in the core; header injection refused).
  add("composeMessage + DKIM (no network)", 1, async () => {
    const raw = await lib.composeMessage({
      from: "Zoë <zoe@example.test>", to: "bob@example.test", subject: "Grüße 👋", text: "hi",
      attachments: [{ filename: "ä.txt", content: "x" }],
      dkim: {
        domainName: "example.test", keySelector: "ed",
        privateKey: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+qRdJWmUFLDRtuRGT6Lt/sZiDmFx6brDaQTTTPVyqu\n-----END PRIVATE KEY-----\n",
      },
    });
    const text = new TextDecoder().decode(raw);
    check(text.startsWith("DKIM-Signature: v=1; a=ed25519-sha256;"), "signed");
    check(text.includes("Subject: =?UTF-8?B?"), "encoded subject");
    const refused = await lib.composeMessage({ from: "a@example.test", subject: "x\r\nBcc: v@x.test" }).then(() => null, (e) => e);
    check(refused instanceof lib.InvalidInputError, `InvalidInputError, got ${refused}`);
  });

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

/** Wraps a Duplex to count the bytes the client writes. */
function counting(duplex) {
  const written = { bytes: 0 };
  const inner = duplex.writable.getWriter();
  const writable = new WritableStream({
    async write(chunk) {
      written.bytes += chunk.byteLength;
      await inner.write(chunk);
    },
    close: () => inner.close(),
    abort: (reason) => inner.abort(reason),
  });
  return { duplex: { readable: duplex.readable, writable, close: () => duplex.close() }, written };
}

function tick() {
  return new Promise((resolve) => setTimeout(resolve, 20));
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
