// Regression tests for what outside checks and the security review found in the JavaScript client (issue 13):
// unknown option keys, lone UTF-16 surrogates, the cleartext-AUTH rule on the connected address, raw commands,
// recipients(), extensionAfterHello(), and a reply trickled byte by byte against its deadline.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { InvalidInputError, SmtpClient, TimeoutError, UsageError, sendMail } from "../dist/node.js";
import { ehlo, fakeServer } from "./harness.mjs";

const GREETING = "S: 220 mx.example.org ESMTP";
const REMOTE_ADDRESS = Symbol.for("smtp-wasm.remoteAddress");

async function finished(server) {
  const done = await server.done;
  assert.deepEqual(done.errors, [], `transcript mismatch; received: ${JSON.stringify(done.received)}`);
  return done;
}

function usage(pattern) {
  return (error) => {
    assert.ok(error instanceof UsageError, `got ${error}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe("unknown option keys are refused, naming the key and the accepted ones", () => {
  test("ClientOptions and its timeouts", async () => {
    const server = fakeServer(`${GREETING}`);
    await assert.rejects(
      SmtpClient.connect(server.duplex, { serverName: "mx.example.org", timeout: 5 }),
      usage(/unknown option "timeout" in ClientOptions; accepted: serverName, .*timeouts/),
    );
    const again = fakeServer(`${GREETING}`);
    await assert.rejects(
      SmtpClient.connect(again.duplex, { serverName: "mx.example.org", timeouts: { greting: 5 } }),
      usage(/unknown option "greting" in timeouts; accepted: connect, greeting, command/),
    );
    assert.equal(again.closedByClient, true, "the transport is closed");
  });

  test("sendMail options, mailOptions, rcptOptions, auth, the transaction and startTls", async () => {
    await assert.rejects(
      sendMail({ host: "localhost", from: "a@x", to: "b@y", message: "x", tlss: "none" }),
      usage(/unknown option "tlss" in sendMail options/),
    );
    await assert.rejects(
      sendMail({ host: "localhost", from: "a@x", to: "b@y", message: "x", timeouts: { conect: 1 } }),
      usage(/unknown option "conect" in timeouts/),
    );
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH PLAIN", "DSN"])}
       C: NOOP
       S: 250 Ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await assert.rejects(client.mail("a@x", { envid: "1" }), usage(/"envid" in mailOptions; accepted: size, body/));
    await assert.rejects(client.rcpt("b@y", { notfy: ["DELAY"] }), usage(/"notfy" in rcptOptions/));
    await assert.rejects(
      client.auth({ username: "a", password: "b", mechansim: "PLAIN" }),
      usage(/"mechansim" in auth; accepted: mechanism, username/),
    );
    await assert.rejects(
      client.sendMail({ from: "a@x", to: "b@y", message: "x", mailOption: {} }),
      usage(/"mailOption" in the transaction/),
    );
    await assert.rejects(client.startTls({ requird: false }), usage(/"requird" in startTls options/));
    // Nothing was written for any of them: the session goes on.
    await client.noop();
    await finished(server);
    await client.close();
  });
});

describe("lone UTF-16 surrogates are refused with InvalidInputError and zero bytes written", () => {
  test("addresses, names, credentials and options", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH PLAIN", "DSN"])}
       C: NOOP
       S: 250 Ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org", allowInsecureAuth: true });
    const invalid = (field) => (error) => {
      assert.ok(error instanceof InvalidInputError, `got ${error}`);
      assert.equal(error.field, field);
      assert.match(error.message, /lone UTF-16 surrogate/);
      return true;
    };
    await assert.rejects(client.mail("a\uD800@x.org"), invalid("from"));
    await assert.rejects(client.rcpt("b\uDC00@y.org"), invalid("to"));
    await assert.rejects(client.mail("a@x.org", { envelopeId: "id\uD83D" }), invalid("envelopeId"));
    await assert.rejects(client.rcpt("b@y.org", { originalRecipient: "\uDE00" }), invalid("originalRecipient"));
    await assert.rejects(client.auth({ username: "al\uD800ice", password: "x" }), invalid("username"));
    await assert.rejects(client.auth({ username: "alice", password: "se\uDFFFcret" }), invalid("password"));
    await assert.rejects(client.verify("\uD800"), invalid("address"));
    await assert.rejects(client.command("XFOO \uD800"), invalid("command"));
    await assert.rejects(client.sendMail({ from: "a@x", to: ["b@y", "c\uD800@y"], message: "x" }), invalid("to"));
    // A proper pair is text, not an error (it fails later only for being non-ASCII without SMTPUTF8).
    await assert.rejects(client.mail("\uD83D\uDE00@x.org"), (e) => e.field === "from" && !/surrogate/.test(e.message));
    await client.noop();
    const done = await finished(server);
    assert.ok(!done.received.includes("\uFFFD"), "no replacement character went out");
    await client.close();
    const other = fakeServer(`${GREETING}`);
    await assert.rejects(
      SmtpClient.connect(other.duplex, { serverName: "mx.example.org", localName: "h\uD800st" }),
      invalid("localName"),
    );
  });
});

describe("cleartext AUTH depends on the address actually connected to", () => {
  const script = `${GREETING}
     ${ehlo(["AUTH PLAIN"])}
     C: NOOP
     S: 250 Ok`;

  for (const [what, address] of [
    ["a transport without an address (a WebSocket bridge)", undefined],
    ["a remote address", "192.0.2.7"],
  ]) {
    test(`serverName "localhost" over ${what}: refused, nothing written`, async () => {
      const server = fakeServer(script);
      if (address !== undefined) server.duplex[REMOTE_ADDRESS] = address;
      const client = await SmtpClient.connect(server.duplex, { serverName: "localhost" });
      await client.hello();
      await assert.rejects(client.auth({ username: "alice", password: "secret" }), (e) => e.kind === "insecure-auth");
      await client.noop();
      await finished(server);
      await client.close();
    });
  }

  test('serverName "localhost" over a loopback TCP connection: allowed', async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH PLAIN"])}
       C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
       S: 235 2.7.0 ok`,
    );
    server.duplex[REMOTE_ADDRESS] = "::ffff:127.0.0.1";
    const client = await SmtpClient.connect(server.duplex, { serverName: "localhost" });
    await client.auth({ username: "alice", password: "secret" });
    await finished(server);
    await client.close();
  });
});

describe("go-smtp's client surface", () => {
  test("command() returns the reply, recipients() lists the accepted ones, extensionAfterHello() says hello", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["SIZE 1000", "ETRN"])}
       C: HELP
       S: 214-Commands:
       S: 214 HELO EHLO
       C: EXPN staff
       S: 502 5.5.1 no
       C: MAIL FROM:<a@x.org>
       S: 250 ok
       C: RCPT TO:<b@y.org>
       S: 250 ok
       C: RCPT TO:<c@y.org>
       S: 550 no
       C: RSET
       S: 250 ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    assert.deepEqual(await client.extensionAfterHello("size"), { supported: true, param: "1000" });
    const help = await client.command("HELP");
    assert.equal(help.code, 214);
    assert.deepEqual(help.lines, ["Commands:", "HELO EHLO"]);
    assert.equal((await client.command("EXPN staff")).code, 502);
    await assert.rejects(client.command("DATA"), (e) => e instanceof UsageError);
    await assert.rejects(client.command("NOOP\r\nRSET"), (e) => e instanceof InvalidInputError);
    await assert.rejects(client.command(`XFOO ${"a".repeat(600)}`), (e) => e instanceof InvalidInputError);
    await client.mail("a@x.org");
    await client.rcpt("b@y.org");
    await assert.rejects(client.rcpt("c@y.org"));
    assert.deepEqual(client.recipients(), ["b@y.org"]);
    await client.reset();
    assert.deepEqual(client.recipients(), []);
    await finished(server);
    await client.close();
  });

  test("a VRFY argument over the line limit is refused before any byte", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: NOOP
       S: 250 Ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await assert.rejects(client.verify("a".repeat(600)), (e) => e instanceof InvalidInputError && e.field === "address");
    await client.noop();
    await finished(server);
    await client.close();
  });
});

describe("deadlines run to the whole reply", () => {
  test("a greeting trickled one byte every 100 ms fails at greeting's deadline, not after it", async () => {
    const bytes = "220 mx.example.org ESMTP ready\r\n";
    // The harness writes whole lines; this server trickles by hand.
    const encoder = new TextEncoder();
    let timer;
    const readable = new ReadableStream({
      start(controller) {
        let at = 0;
        timer = setInterval(() => {
          if (at >= bytes.length) return clearInterval(timer);
          controller.enqueue(encoder.encode(bytes[at++]));
        }, 100);
      },
      cancel() {
        clearInterval(timer);
      },
    });
    const duplex = { readable, writable: new WritableStream(), close: async () => clearInterval(timer) };
    const started = Date.now();
    await assert.rejects(
      SmtpClient.connect(duplex, { serverName: "mx.example.org", timeouts: { greeting: 600 } }),
      (e) => e instanceof TimeoutError && e.phase === "greeting",
    );
    const took = Date.now() - started;
    assert.ok(took < 1500, `took ${took} ms for a 600 ms deadline (the trickle lasts ${bytes.length * 100} ms)`);
  });
});

describe("SASL: a mechanism of your own, and EXTERNAL with a TLS client certificate", () => {
  test("a SaslClient's start and (async) next drive the exchange; a throw cancels with *", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH X-ECHO PLAIN"])}
       C: AUTH X-ECHO aGVsbG8=
       S: 334 Y2hhbGxlbmdl
       C: cmVzcG9uc2U=
       S: 235 2.7.0 ok
       C: AUTH X-ECHO
       S: 334 bW9yZT8=
       C: *
       S: 501 5.7.0 cancelled`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org", allowInsecureAuth: true });
    const seen = [];
    await client.auth({
      start: () => ({ mechanism: "X-ECHO", initialResponse: "hello" }),
      next: async (challenge) => {
        seen.push(new TextDecoder().decode(challenge));
        await new Promise((r) => setTimeout(r, 10));
        return new TextEncoder().encode("response");
      },
    });
    assert.deepEqual(seen, ["challenge"]);
    await assert.rejects(
      client.auth({
        start: async () => ({ mechanism: "x-echo" }),
        next: () => {
          throw new Error("no idea");
        },
      }),
      (e) => e.kind === "protocol" && /gave up/.test(e.message),
    );
    await finished(server);
    await client.close();
  });

  test("EXTERNAL sends the authorization identity (or =)", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH EXTERNAL"])}
       C: AUTH EXTERNAL =
       S: 235 2.7.0 ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org", allowInsecureAuth: true });
    await client.auth({ mechanism: "EXTERNAL" });
    await finished(server);
    await client.close();
  });

  test("clientCertificate is presented to a server that requires one (implicit TLS, node:tls)", async (t) => {
    const { execFileSync } = await import("node:child_process");
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const tls = await import("node:tls");
    const { connectTcp } = await import("../dist/node.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "smtp-wasm-client-cert-"));
    const run = (...a) => execFileSync("openssl", a, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    try {
      run("version");
    } catch {
      if (process.env.SMTP_WASM_REQUIRE_SERVERS === "1") throw new Error("no openssl (scripts/setup.sh servers installs it)");
      return t.skip("no openssl");
    }
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    for (const [name, ext] of [["server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"],
      ["client", "extendedKeyUsage=clientAuth\n"]]) {
      run("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name === "client" ? "alice" : "localhost"}`);
      fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
      run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    }
    const read = (f) => fs.readFileSync(path.join(dir, f), "utf8");
    let peer = null;
    const server = tls.createServer(
      { key: read("server.key"), cert: read("server.pem"), ca: read("ca.pem"), requestCert: true, rejectUnauthorized: true },
      (socket) => {
        peer = socket.getPeerCertificate().subject?.CN ?? null;
        socket.write("220 tls.example ESMTP\r\n");
        let buffered = "";
        socket.on("data", (d) => {
          buffered += d.toString("latin1");
          for (let i; (i = buffered.indexOf("\r\n")) >= 0; ) {
            const line = buffered.slice(0, i);
            buffered = buffered.slice(i + 2);
            if (/^EHLO/.test(line)) socket.write("250-tls.example\r\n250 AUTH EXTERNAL\r\n");
            else if (line === "AUTH EXTERNAL =") socket.write(`235 2.7.0 hello ${peer}\r\n`);
            else if (line === "QUIT") socket.end("221 bye\r\n");
            else socket.write("500 what\r\n");
          }
        });
        socket.on("error", () => {});
      },
    );
    server.on("tlsClientError", () => {});
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    try {
      const duplex = await connectTcp("127.0.0.1", server.address().port);
      const client = await SmtpClient.connect(duplex, {
        serverName: "localhost",
        implicitTls: true,
        rootCertificates: read("ca.pem"),
        onlyRootCertificates: true,
        clientCertificate: { cert: read("client.pem"), key: read("client.key") },
      });
      await client.auth({ mechanism: "EXTERNAL" });
      assert.equal(peer, "alice");
      // tlsInfo names the server's certificate (read by the core): no X.509 parser needed in JavaScript.
      const info = client.tlsInfo();
      assert.equal(info.subject, "CN=localhost");
      assert.equal(info.issuer, "CN=test CA");
      assert.ok(info.notAfter > Date.now() && info.notAfter < Date.now() + 3 * 86_400_000, String(info.notAfter));
      await client.quit();
      // Without the certificate the server refuses the handshake.
      const again = await connectTcp("127.0.0.1", server.address().port);
      await assert.rejects(
        SmtpClient.connect(again, { serverName: "localhost", implicitTls: true, rootCertificates: read("ca.pem") }),
        (e) => e.name === "TlsError" || e.name === "ConnectionClosedError",
      );
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("default limits", () => {
  test("connectTcp arms a 60 s connect timeout when none is given", async (t) => {
    const { connectTcp } = await import("../dist/node.js");
    const delays = [];
    const real = globalThis.setTimeout;
    t.mock.method(globalThis, "setTimeout", (fn, ms, ...rest) => {
      delays.push(ms);
      return real(fn, ms, ...rest);
    });
    // A port where nothing listens: the connect fails at once, but the timer was armed first.
    const net = await import("node:net");
    const free = net.createServer();
    await new Promise((r) => free.listen(0, "127.0.0.1", r));
    const port = free.address().port;
    await new Promise((r) => free.close(r));
    await assert.rejects(connectTcp("127.0.0.1", port));
    assert.ok(delays.includes(60_000), `timers armed: ${delays.join(", ")}`);
  });

  test("the top-level sendMail gives up on an operation after 30 minutes by default", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.now() });
    const server = fakeServer(
      `${GREETING}
       C: EHLO localhost
       S: <hold>`,
    );
    const sending = sendMail({
      host: "mx.example.org",
      tls: "none",
      connect: async () => server.duplex,
      from: "a@example.org",
      to: "b@example.org",
      message: "x",
      // Longer than the default total, so that the total is what fires.
      timeouts: { command: 2 * 3600_000 },
    });
    const outcome = sending.then(
      () => "sent",
      (e) => e,
    );
    // Let the greeting and EHLO go through the (real) microtask queue, then move the clock.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(30 * 60_000 - 1000);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(2000);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const error = await outcome;
    assert.ok(error instanceof TimeoutError, `got ${error}`);
  });
});

describe("the top-level sendMail takes lmtp, preferChunking and the MAIL/RCPT options", () => {
  test("lmtp: LHLO and one reply per recipient; preferChunking false: DATA although CHUNKING is offered", async () => {
    const server = fakeServer(
      `${GREETING}
       C: LHLO localhost
       S: 250-mx.example.org
       S: 250-PIPELINING
       S: 250-CHUNKING
       S: 250 DSN
       C: MAIL FROM:<a@example.org> RET=HDRS
       C: RCPT TO:<b@example.org> NOTIFY=FAILURE
       C: RCPT TO:<c@example.org> NOTIFY=FAILURE
       C: DATA
       S: 250 ok
       S: 250 ok
       S: 250 ok
       S: 354 go
       C: hello
       C: .
       S: 250 2.0.0 b delivered
       S: 452 4.2.2 c over quota
       C: QUIT
       S: 221 bye`,
    );
    const result = await sendMail({
      host: "mx.example.org",
      tls: "none",
      lmtp: true,
      preferChunking: false,
      connect: async () => server.duplex,
      from: "a@example.org",
      to: ["b@example.org", "c@example.org"],
      message: "hello\r\n",
      mailOptions: { ret: "HDRS" },
      rcptOptions: { notify: ["FAILURE"] },
    });
    assert.deepEqual(result.accepted, ["b@example.org"]);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0].recipient, "c@example.org");
    assert.equal(result.rejected[0].error.code, 452);
    await finished(server);
  });
});
