// Tests of smtp-wasm/server's TypeScript side (dist/server/node.js): options, the connection driver (replies held in
// order, errors, timeouts, backpressure, disconnects, shutdown), limits, the rate limiter, XCLIENT, LMTP,
// transformBackend. With SMTP_WASM_SERVER_CORE=wasm they run on the wasm core; otherwise on the JavaScript stand-in
// of tests/server-fake-core.mjs (which also works before the wasm is built).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import tls from "node:tls";

import {
  ErrAuthFailed,
  ErrAuthRequired,
  MESSAGE_WINDOW,
  SmtpError,
  SmtpServer,
  createRateLimiter,
  transformBackend,
} from "../dist/server/node.js";
import { SmtpError as ClientSmtpError } from "../dist/errors.js";
import { inNetworks, parseNetwork } from "../dist/server/cidr.js";
import { makeSelfSignedCertificates } from "../node/selfsigned.js";
import { fakeCoreFactory } from "./server-fake-core.mjs";
import { readAll, recordingBackend, talk } from "./server-client.mjs";

const useWasm = process.env.SMTP_WASM_SERVER_CORE === "wasm";
const CORE = Symbol.for("smtp-wasm.server.coreFactory");
let lastFactory = null;

function server(options) {
  const o = { domain: "mx.test", ...options };
  if (!useWasm) {
    o[CORE] = (config) => {
      lastFactory = fakeCoreFactory(config);
      return lastFactory;
    };
  }
  return new SmtpServer(o);
}

async function started(options) {
  const s = server(options);
  const { port } = await s.listen({ port: 0, host: "127.0.0.1" });
  return { s, port };
}

async function hello(c) {
  assert.equal((await c.reply()).code, 220);
  assert.equal((await c.cmd("EHLO client.test")).code, 250);
}

const quiet = () => {};

/** A backend whose data() reads the whole stream; `done` says "delivered" or "error: ..." (it rethrows). */
function readingBackend() {
  let outcome;
  const done = new Promise((resolve) => (outcome = resolve));
  const { backend } = recordingBackend({
    session: {
      async data(stream) {
        try {
          await readAll(stream);
          outcome("delivered");
        } catch (e) {
          outcome(`error: ${e.message}`);
          throw e;
        }
      },
    },
  });
  return { backend, done };
}

describe("options", () => {
  test("unknown keys are refused loudly", () => {
    const { backend } = recordingBackend();
    assert.throws(() => new SmtpServer({ backend, maxRecipent: 5 }), /unknown option "maxRecipent"/);
    assert.throws(() => new SmtpServer({ backend, tls: { cert: "x", key: "y", ca: "z" } }), /unknown tls option/);
    const pem = { cert: "-----BEGIN CERTIFICATE-----", key: "-----BEGIN PRIVATE KEY-----" };
    assert.throws(() => new SmtpServer({ backend, tls: { ...pem, sni: [] } }), /tls.sni must be/);
    assert.throws(() => new SmtpServer({ backend, tls: { ...pem, sni: { "a.test": { ...pem, ca: 1 } } } }), /unknown tls.sni\["a.test"\] option "ca"/);
    assert.throws(() => new SmtpServer({ backend, tls: { ...pem, sni: { "a.test": { cert: "x", key: pem.key } } } }), /tls.sni\["a.test"\].cert/);
  });
  test("wrong types and missing backend are refused", () => {
    const { backend } = recordingBackend();
    assert.throws(() => new SmtpServer({}), /backend is required/);
    assert.throws(() => new SmtpServer({ backend: {} }), /login\(\) .* or anonymousLogin\(\)/);
    assert.throws(() => new SmtpServer({ backend, maxRecipients: -1 }), /maxRecipients/);
    assert.throws(() => new SmtpServer({ backend, lmtp: "yes" }), /lmtp must be a boolean/);
    assert.throws(() => new SmtpServer({ backend, domain: "a b" }), /domain/);
    assert.throws(() => new SmtpServer({ backend, tls: { cert: "x", key: "y" } }), /PEM certificate/);
    assert.throws(() => new SmtpServer({ backend, secureNets: ["10.0.0.0/33"] }), /prefix/);
    assert.throws(() => new SmtpServer({ backend, rateLimiter: {} }), /take/);
    assert.throws(() => new SmtpServer({ backend, maxLineLength: 100 }), /512/);
    assert.throws(() => new SmtpServer({ backend, mtPriorityProfile: "mixer" }), /MIXER, STANAG4406, NSEP/);
    assert.throws(() => new SmtpServer({ backend, enableRrvs: 1 }), /enableRrvs must be a boolean/);
    assert.throws(() => new SmtpServer({ backend, minimumDeliverByTime: -1 }), /minimumDeliverByTime/);
    assert.throws(() => new SmtpServer({ backend, proxyProtocol: "127.0.0.1" }), /proxyProtocol must be an array/);
    assert.throws(() => new SmtpServer({ backend, proxyProtocol: ["127.0.0.1/40"] }), /prefix/);
  });
  test("listen refuses unknown options and implicit TLS without a certificate", async () => {
    const s = server({ backend: recordingBackend().backend });
    await assert.rejects(s.listen({ prot: 25 }), /unknown option "prot"/);
    await assert.rejects(s.listen({ implicitTls: true }), /tls option/);
    await s.close();
  });
});

describe("sessions", () => {
  test("a whole transaction reaches the backend; the stored bytes are the message un-dot-stuffed", async () => {
    const { backend, log, messages } = recordingBackend();
    const { s, port } = await started({ backend });
    const c = await talk(port);
    await hello(c);
    assert.equal((await c.cmd("MAIL FROM:<a@x.test>")).code, 250);
    assert.equal((await c.cmd("RCPT TO:<b@y.test>")).code, 250);
    assert.equal((await c.cmd("DATA")).code, 354);
    assert.equal((await c.cmd("Subject: hi\r\n\r\n..dot\r\nline\r\n.")).code, 250);
    assert.equal((await c.cmd("QUIT")).code, 221);
    assert.ok(await c.waitClosed());
    await s.close();
    assert.equal(messages[0].body, "Subject: hi\r\n\r\n.dot\r\nline\r\n");
    assert.deepEqual(
      log.map((l) => l[0]),
      ["anonymousLogin", "mail", "rcpt", "data", ...(log.some((l) => l[0] === "reset") ? ["reset"] : []), "logout"],
    );
  });

  test("pipelined commands get their replies in order while the backend answers out of order", async () => {
    const delays = { "a@y.test": 80, "b@y.test": 5, "c@y.test": 40 };
    const { backend } = recordingBackend({
      session: {
        async rcpt(to) {
          await new Promise((r) => setTimeout(r, delays[to]));
          if (to === "b@y.test") throw new SmtpError({ code: 550, enhancedCode: [5, 1, 1], message: "no such user" });
        },
      },
    });
    const { s, port } = await started({ backend });
    const c = await talk(port);
    await hello(c);
    await c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<a@y.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\n");
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await c.reply());
    assert.deepEqual(codes.map((r) => r.code), [250, 250, 550, 250]);
    assert.match(codes[2].lines[0], /^5\.1\.1 no such user$/);
    c.destroy();
    await s.close();
  });

  test("an SmtpError goes out as given; anything else becomes 451 4.3.0 with a fixed text", async () => {
    const errors = [];
    const { backend } = recordingBackend({
      session: {
        mail(from) {
          if (from === "boom@x.test") throw new Error("database password is hunter2");
          if (from === "multi@x.test") {
            throw new SmtpError({ code: 452, enhancedCode: [4, 3, 1], message: "line one\nline two" });
          }
          if (from === "client@x.test") {
            // An error from the client API, rethrown by a relaying backend.
            throw new ClientSmtpError("upstream refused", {
              code: 554, enhancedCode: [5, 7, 1], lines: ["5.7.1 relay denied"], command: "MAIL FROM",
            });
          }
        },
      },
    });
    const origError = console.error;
    console.error = (line) => errors.push(line);
    try {
      const { s, port } = await started({ backend });
      const c = await talk(port);
      await hello(c);
      const r1 = await c.cmd("MAIL FROM:<boom@x.test>");
      assert.equal(r1.code, 451);
      assert.match(r1.lines[0], /^4\.3\.0 /);
      assert.ok(!r1.text.includes("hunter2"), "internals never reach the client");
      const r2 = await c.cmd("MAIL FROM:<multi@x.test>");
      assert.equal(r2.code, 452);
      assert.deepEqual(r2.lines, ["4.3.1 line one", "4.3.1 line two"]);
      const r3 = await c.cmd("MAIL FROM:<client@x.test>");
      assert.equal(r3.code, 554);
      assert.deepEqual(r3.lines, ["5.7.1 relay denied"]);
      c.destroy();
      await s.close();
    } finally {
      console.error = origError;
    }
    assert.ok(errors.some((l) => /hunter2/.test(l)), "the operator sees the cause");
  });

  test("MAIL without AUTH: 530 without anonymousLogin, and when it throws ErrAuthRequired", async () => {
    for (const backend of [
      { login: () => ({}) },
      { login: () => ({}), anonymousLogin: () => { throw ErrAuthRequired; } },
    ]) {
      const { s, port } = await started({ backend });
      const c = await talk(port);
      await hello(c);
      const r = await c.cmd("MAIL FROM:<a@x.test>");
      assert.equal(r.code, 530);
      assert.match(r.lines[0], /^5\.7\.0/);
      c.destroy();
      await s.close();
    }
  });

  test("a backend that never answers is bounded by readTimeout (451), and the session goes on", async () => {
    const { backend } = recordingBackend({ session: { mail: () => new Promise(() => {}) } });
    const origError = console.error;
    console.error = quiet;
    try {
      const { s, port } = await started({ backend, readTimeout: 300 });
      const c = await talk(port);
      await hello(c);
      const t0 = Date.now();
      const r = await c.cmd("MAIL FROM:<a@x.test>", 3000);
      assert.equal(r.code, 451);
      assert.ok(Date.now() - t0 >= 250, "waited for readTimeout");
      assert.equal((await c.cmd("NOOP")).code, 250);
      c.destroy();
      await s.close();
    } finally {
      console.error = origError;
    }
  });

  test("a client that leaves before its reply is written is a normal end, not an error for the operator", async () => {
    // RCPT's answer comes after the client reset the connection: the write fails, and that is how sessions end.
    let answered;
    const reached = new Promise((r) => (answered = r));
    const { backend, log } = recordingBackend({
      session: { rcpt: () => new Promise((r) => { answered(); setTimeout(r, 150); }) },
    });
    const errors = [];
    const origError = console.error;
    console.error = (line) => errors.push(String(line));
    try {
      const { s, port } = await started({ backend });
      const c = await talk(port);
      await hello(c);
      assert.equal((await c.cmd("MAIL FROM:<a@x.test>")).code, 250);
      c.write("RCPT TO:<b@x.test>\r\n");
      await reached;
      c.destroy();
      for (let i = 0; i < 100 && !log.some(([k]) => k === "logout"); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(log.some(([k]) => k === "logout"), "the session ended with logout()");
      await s.close();
    } finally {
      console.error = origError;
    }
    assert.deepEqual(errors, [], "nothing reported to the operator");
  });

  test("an idle client gets 421 after readTimeout", async () => {
    const { s, port } = await started({ backend: recordingBackend().backend, readTimeout: 200 });
    const c = await talk(port);
    await hello(c);
    const r = await c.reply(3000);
    assert.equal(r.code, 421);
    assert.ok(await c.waitClosed());
    await s.close();
  });
});

describe("messages", () => {
  test("a slow reader slows the client down: at most the window (plus one read) is queued", async () => {
    let reader;
    let started_ = null;
    const gotAll = new Promise((resolve) => {
      started_ = resolve;
    });
    const { backend } = recordingBackend({
      session: {
        async data(stream) {
          reader = stream.getReader();
          started_();
          let n = 0;
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            n += r.value.byteLength;
          }
          this.received = n;
        },
      },
    });
    const { s, port } = await started({ backend, maxMessageBytes: 0 });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await gotAll;
    // The backend holds its reader without reading while 8 MB are offered.
    const line = Buffer.from("x".repeat(998) + "\r\n");
    const total = 8 * 1024 * 1024;
    let offered = 0;
    const writing = (async () => {
      while (offered < total) {
        const ok = c.socket.write(line);
        offered += line.length;
        if (!ok) await new Promise((r) => c.socket.once("drain", r));
      }
    })();
    await new Promise((r) => setTimeout(r, 400));
    // The server took from the socket at most the window plus one socket read plus one line.
    const taken = c.socket.bytesWritten - c.socket.writableLength;
    assert.ok(offered > 2 * 1024 * 1024 || taken < total, "the client was slowed down");
    // Now read everything: the client finishes.
    (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
      }
    })();
    await writing;
    assert.equal((await c.cmd(".", 30_000)).code, 250);
    c.destroy();
    await s.close();
  });

  test("the window bounds what is queued for the backend", async () => {
    // Queued bytes are observed through the stream's own queue: desiredSize never goes below -(one read).
    let stream;
    let ready;
    const opened = new Promise((r) => (ready = r));
    const { backend } = recordingBackend({
      session: {
        data(s_) {
          stream = s_;
          ready();
          return new Promise(() => {}); // never reads, never returns
        },
      },
    });
    const origError = console.error;
    console.error = quiet;
    const { s, port } = await started({ backend, maxMessageBytes: 0, readTimeout: 1500 });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await opened;
    const line = Buffer.from("y".repeat(998) + "\r\n");
    for (let i = 0; i < 4096; i++) c.socket.write(line);
    await new Promise((r) => setTimeout(r, 500));
    // What the core handed over for this message is all the server holds of it (the backend read nothing).
    const queued = useWasm ? null : lastFactory.created.at(-1).contentEmitted;
    if (queued !== null) assert.ok(queued <= MESSAGE_WINDOW + 64 * 1024 + 1000, `queued ${queued} bytes`);
    void stream;
    c.destroy();
    await s.close();
    console.error = origError;
  });

  test("a client that disconnects mid-message: the backend's stream errors, nothing is delivered", async () => {
    const { backend, done } = readingBackend();
    // The stream's abort error coming back out of data() is the client's doing: nothing for the operator's log (a
    // client disconnecting mid-message over and over would otherwise fill it with stack traces).
    const logged = [];
    const origError = console.error;
    console.error = (...args) => logged.push(args.join(" "));
    const { s, port } = await started({ backend });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await c.send("Subject: half\r\n\r\nsome text\r\n");
    c.destroy();
    assert.match(await done, /^error: /);
    await s.close();
    console.error = origError;
    assert.deepEqual(logged, []);
  });

  test("a backend that returns early: the rest is discarded and the reply waits for the final dot", async () => {
    const { backend } = recordingBackend({
      session: {
        async data() {
          throw new SmtpError({ code: 554, enhancedCode: [5, 6, 0], message: "no thanks" });
        },
      },
    });
    const { s, port } = await started({ backend });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await c.send("a\r\n".repeat(20000));
    const r = await c.cmd(".");
    assert.equal(r.code, 554);
    assert.equal((await c.cmd("NOOP")).code, 250);
    c.destroy();
    await s.close();
  });

  for (const how of ["throws", "returns"]) {
    test(`a backend that reads part of a big message and ${how}: the client gets its reply at the end, promptly`, async () => {
      const { backend } = recordingBackend({
        session: {
          async data(stream) {
            const reader = stream.getReader();
            await reader.read();
            // Let the window fill while the client keeps sending, then give up.
            await new Promise((r) => setTimeout(r, 200));
            if (how === "throws") throw new SmtpError({ code: 552, enhancedCode: [5, 3, 4], message: "too much" });
            reader.releaseLock();
          },
        },
      });
      const { s, port } = await started({ backend, maxMessageBytes: 0, readTimeout: 20_000 });
      const c = await talk(port);
      await hello(c);
      await c.cmd("MAIL FROM:<a@x.test>");
      await c.cmd("RCPT TO:<b@y.test>");
      assert.equal((await c.cmd("DATA")).code, 354);
      const line = "z".repeat(998) + "\r\n";
      const t0 = Date.now();
      for (let i = 0; i < 3000; i++) c.socket.write(line);
      const r = await c.cmd(".", 15_000);
      assert.equal(r.code, how === "throws" ? 552 : 250);
      assert.ok(Date.now() - t0 < 10_000, "not held until readTimeout");
      assert.equal((await c.cmd("NOOP")).code, 250);
      c.destroy();
      await s.close();
    });
  }

  test("LMTP: one reply per recipient from the StatusCollector", async () => {
    const { backend } = recordingBackend({
      session: {
        async lmtpData(stream, status) {
          await readAll(stream);
          status.setStatus("b@y.test", new SmtpError({ code: 452, enhancedCode: [4, 2, 2], message: "mailbox full" }));
          status.setStatus("a@y.test", null);
        },
      },
    });
    const { s, port } = await started({ backend, lmtp: true });
    const c = await talk(port);
    assert.equal((await c.reply()).code, 220);
    assert.equal((await c.cmd("LHLO client.test")).code, 250);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<a@y.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    await c.cmd("RCPT TO:<c@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await c.send("hi\r\n.");
    const codes = [(await c.reply()).code, (await c.reply()).code, (await c.reply()).code];
    assert.deepEqual(codes, [250, 452, 250]);
    c.destroy();
    await s.close();
  });
});

describe("limits and shutdown", () => {
  test("close() sends 421 to open sessions and resolves when they are gone", async () => {
    const { backend, log } = recordingBackend();
    const { s, port } = await started({ backend });
    const a = await talk(port);
    const b = await talk(port);
    await hello(a);
    await hello(b);
    await a.cmd("MAIL FROM:<a@x.test>");
    assert.equal(s.connections().length, 2);
    await s.close();
    assert.equal((await a.reply()).code, 421);
    assert.equal((await b.reply()).code, 421);
    assert.ok(await a.waitClosed());
    assert.ok(await b.waitClosed());
    assert.ok(log.some((l) => l[0] === "logout"), "the session was logged out");
    assert.equal(s.connections().length, 0);
  });

  test("maxConnections: the next client gets 421", async () => {
    const { s, port } = await started({ backend: recordingBackend().backend, maxConnections: 1 });
    const a = await talk(port);
    assert.equal((await a.reply()).code, 220);
    const b = await talk(port);
    const r = await b.reply();
    assert.equal(r.code, 421);
    assert.ok(await b.waitClosed());
    a.destroy();
    await s.close();
  });

  test("connections() lists state; reject() sends 421 4.7.0 and closes", async () => {
    const { s, port } = await started({ backend: recordingBackend().backend });
    const a = await talk(port);
    await hello(a);
    const [conn] = s.connections();
    assert.equal(conn.state.hostname, "client.test");
    assert.equal(conn.state.remoteAddress, "127.0.0.1");
    assert.match(conn.state.sid, /^[0-9a-f]{16}$/);
    await conn.reject();
    const r = await a.reply();
    assert.equal(r.code, 421);
    assert.match(r.lines[0], /^4\.7\.0 /);
    assert.ok(await a.waitClosed());
    await s.close();
  });

  test("rate limiter: connections per address", async () => {
    const rateLimiter = createRateLimiter({ rate: 1 / 60, burst: 1 });
    const { s, port } = await started({ backend: recordingBackend().backend, rateLimiter });
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const c = await talk(port);
      codes.push((await c.reply()).code);
      c.destroy();
    }
    assert.deepEqual(codes, [220, 220, 421]);
    await s.close();
  });

  test("wrong password: 535; repeated failures hit the rate limiter (421 and close)", async () => {
    const rateLimiter = createRateLimiter({ rate: 1 / 60, burst: 1 });
    const { backend } = recordingBackend({ authError: ErrAuthFailed });
    const { s, port } = await started({ backend, rateLimiter, allowInsecureAuth: true });
    const c = await talk(port);
    await hello(c);
    const plain = (p) => Buffer.from(`\0alice\0${p}`).toString("base64");
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.cmd(`AUTH PLAIN ${plain("wrong")}`);
      codes.push(r?.code ?? null);
      if (r === null || r.code === 421) break;
    }
    // burst 1: two events at once. The connection took one, the first failure the other: the second is over the limit.
    assert.deepEqual(codes, [535, 421]);
    assert.ok(await c.waitClosed());
    await s.close();
  });

  test("AUTH before TLS is refused without allowInsecureAuth; allowed from secureNets", async () => {
    const { backend } = recordingBackend();
    const { s, port } = await started({ backend });
    const c = await talk(port);
    await hello(c);
    const r = await c.cmd(`AUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}`);
    // go-smtp's 523 5.7.10 (the core), or RFC 4954's 538 5.7.11 (the stand-in).
    assert.ok([523, 538].includes(r.code), r.text);
    assert.match(r.lines[0], /^5\.7\.1[01] /);
    c.destroy();
    await s.close();
    const { s: s2, port: p2 } = await started({ backend, secureNets: ["127.0.0.0/8"] });
    const d = await talk(p2);
    await hello(d);
    assert.equal((await d.cmd(`AUTH PLAIN ${Buffer.from("\0alice\0secret").toString("base64")}`)).code, 235);
    d.destroy();
    await s2.close();
  });

  test("XCLIENT: refused without allowProxy, and when allowProxy says no; accepted otherwise", async () => {
    const { backend } = recordingBackend();
    let { s, port } = await started({ backend });
    let c = await talk(port);
    await hello(c);
    assert.equal((await c.cmd("XCLIENT ADDR=192.0.2.1")).code, 550);
    c.destroy();
    await s.close();
    const seen = [];
    const proxy = recordingBackend({
      backend: {
        allowProxy(actual, asserted) {
          seen.push([actual.remoteAddress, asserted.remoteAddress]);
          return asserted.remoteAddress !== "192.0.2.66";
        },
      },
    });
    ({ s, port } = await started({ backend: proxy.backend }));
    c = await talk(port);
    await hello(c);
    assert.equal((await c.cmd("XCLIENT ADDR=192.0.2.66")).code, 550);
    assert.equal((await c.cmd("XCLIENT ADDR=192.0.2.1")).code, 220);
    const [conn] = s.connections();
    assert.equal(conn.state.remoteAddress, "192.0.2.1");
    assert.equal(conn.state.original.remoteAddress, "127.0.0.1");
    assert.deepEqual(seen, [["127.0.0.1", "192.0.2.66"], ["127.0.0.1", "192.0.2.1"]]);
    c.destroy();
    await s.close();
  });

  test("debug gets the transcript with AUTH redacted", async () => {
    const lines = [];
    const { backend } = recordingBackend();
    const { s, port } = await started({ backend, allowInsecureAuth: true, debug: (l) => lines.push(l) });
    const c = await talk(port);
    await hello(c);
    const secret = Buffer.from("\0alice\0secret").toString("base64");
    await c.cmd(`AUTH PLAIN ${secret}`);
    c.destroy();
    await s.close();
    assert.ok(lines.some((l) => l.direction === "client" && /^EHLO client\.test$/.test(l.text)));
    assert.ok(lines.every((l) => !l.text.includes(secret)));
    assert.ok(lines.every((l) => typeof l.sid === "string" && l.remoteAddress === "127.0.0.1"));
  });
});

describe("abuse", () => {
  test("garbage, oversized lines, floods and half-open clients do not take the server down", async () => {
    const { backend, messages } = recordingBackend();
    const origError = console.error;
    console.error = quiet;
    const { s, port } = await started({ backend, readTimeout: 2000, maxConnections: 100 });
    const net = await import("node:net");
    const crypto = await import("node:crypto");
    const abusers = [];
    for (let i = 0; i < 40; i++) {
      const sock = net.connect(port, "127.0.0.1");
      sock.on("error", () => {});
      sock.on("data", () => {});
      sock.on("connect", () => {
        if (i % 4 === 0) sock.write(crypto.randomBytes(200_000)); // binary garbage
        else if (i % 4 === 1) sock.write("EHLO " + "a".repeat(100_000) + "\r\n"); // an oversized line
        else if (i % 4 === 2) sock.write("NOOP\r\n".repeat(20_000)); // a pipelined flood
        // i % 4 === 3: connects and says nothing (half-open until readTimeout)
      });
      abusers.push(sock);
    }
    await new Promise((r) => setTimeout(r, 300));
    // A well-behaved client still gets through.
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    assert.equal((await c.cmd("still here\r\n.", 10_000)).code, 250);
    c.destroy();
    for (const a of abusers) a.destroy();
    await s.close();
    console.error = origError;
    assert.ok(messages.some((m) => m.body === "still here\r\n"));
  });
});

describe("half-close", () => {
  test("a client that sends a pipelined transaction and shuts its side down still gets every reply", async () => {
    // `printf ... | nc -N`: the commands, then FIN. The replies wait for the backend's RCPT answer (after the FIN
    // arrived); Node's default (allowHalfOpen: false) ended our side at the FIN and dropped them, while the message
    // was delivered: the client saw a failure and would send it again.
    const { backend, messages } = recordingBackend({
      session: {
        async rcpt() {
          await new Promise((r) => setTimeout(r, 50));
        },
      },
    });
    const { s, port } = await started({ backend });
    const c = await talk(port);
    assert.equal((await c.reply()).code, 220);
    await c.write(
      "EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nhalf-closed\r\n.\r\nQUIT\r\n",
    );
    c.end();
    const codes = [];
    for (let r = await c.reply(); r !== null; r = await c.reply()) codes.push(r.code);
    assert.deepEqual(codes, [250, 250, 250, 354, 250, 221]);
    assert.ok(messages.some((m) => m.body === "half-closed\r\n"));
    await s.close();
  });
});

describe("transformBackend", () => {
  test("rewrites addresses and the message", async () => {
    const { backend, log, messages } = recordingBackend();
    const t = transformBackend(backend, {
      transformMail: (from) => from.toUpperCase(),
      transformRcpt: (to) => `rewritten+${to}`,
      transformData: (stream) =>
        stream.pipeThrough(
          new TransformStream({
            start(c) {
              c.enqueue(new TextEncoder().encode("X-Scanned: yes\r\n"));
            },
          }),
        ),
    });
    const { s, port } = await started({ backend: t });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    await c.cmd("DATA");
    assert.equal((await c.cmd("body\r\n.")).code, 250);
    c.destroy();
    await s.close();
    assert.deepEqual(log.find((l) => l[0] === "mail").slice(0, 2), ["mail", "A@X.TEST"]);
    assert.deepEqual(log.find((l) => l[0] === "rcpt"), ["rcpt", "rewritten+b@y.test"]);
    assert.equal(messages[0].body, "X-Scanned: yes\r\nbody\r\n");
  });
  test("refuses unknown transforms", () => {
    assert.throws(() => transformBackend(recordingBackend().backend, { transformBody: () => {} }), /unknown transform/);
  });
});

describe("createRateLimiter (GCRA)", () => {
  test("burst + 1 at once, then one per interval", () => {
    let t = 0;
    const rl = createRateLimiter({ rate: 1, burst: 2, now: () => t });
    assert.deepEqual([rl.take("a"), rl.take("a"), rl.take("a"), rl.take("a")], [true, true, true, false]);
    assert.equal(rl.take("b"), true, "keys are separate");
    assert.equal(rl.retryAfter("a"), 1000);
    t = 999;
    assert.equal(rl.take("a"), false);
    t = 1000;
    assert.equal(rl.take("a"), true);
    assert.equal(rl.take("a"), false);
    t = 10_000;
    assert.deepEqual([rl.take("a"), rl.take("a"), rl.take("a"), rl.take("a")], [true, true, true, false]);
  });
  test("quantity, bad options, bounded keys", () => {
    let t = 0;
    const rl = createRateLimiter({ rate: 10, burst: 4, maxKeys: 2, now: () => t });
    assert.equal(rl.take("a", 5), true);
    assert.equal(rl.take("a"), false);
    rl.take("b");
    rl.take("c"); // forgets "a"
    assert.equal(rl.take("a", 5), true);
    assert.throws(() => createRateLimiter({ rate: 0 }), /rate/);
    assert.throws(() => createRateLimiter({ rate: 1, burst: 1.5 }), /burst/);
    assert.throws(() => createRateLimiter({ rate: 1, brust: 1 }), /unknown option/);
  });
});

describe("secureNets", () => {
  test("IPv4, IPv6 and IPv4-mapped IPv6", () => {
    const nets = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1/128"].map(parseNetwork);
    assert.ok(inNetworks("10.2.3.4", nets));
    assert.ok(inNetworks("::ffff:10.2.3.4", nets));
    assert.ok(!inNetworks("11.0.0.1", nets));
    assert.ok(inNetworks("192.168.1.7", nets));
    assert.ok(!inNetworks("192.168.1.8", nets));
    assert.ok(inNetworks("2001:db8:1::5", nets));
    assert.ok(!inNetworks("2001:db9::5", nets));
    assert.ok(inNetworks("::1", nets));
    assert.ok(!inNetworks("not an ip", nets));
    assert.ok(inNetworks("10.0.0.1", [parseNetwork("0.0.0.0/0")]));
  });
});

describe("the Deno listener", () => {
  test("goes on accepting after EMFILE (out of descriptors) instead of leaving the port unserved", async () => {
    // A stand-in for Deno.listen: the first accept fails as Deno's does out of descriptors, the next one connects.
    const { listenDeno } = await import("../dist/server/listen-deno.js");
    let closed = false;
    let calls = 0;
    let wakeClosed;
    const conn = {
      remoteAddr: { hostname: "127.0.0.1", port: 1 },
      localAddr: { hostname: "127.0.0.1", port: 25 },
      readable: new ReadableStream(),
      writable: new WritableStream(),
      close() {},
    };
    const listener = {
      addr: { hostname: "127.0.0.1", port: 25 },
      accept() {
        calls++;
        if (closed) return Promise.reject(Object.assign(new Error("closed"), { name: "BadResource" }));
        if (calls === 1) return Promise.reject(Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }));
        if (calls === 2) return Promise.resolve(conn);
        return new Promise((_, reject) => (wakeClosed = () => reject(new Error("closed"))));
      },
      close() {
        closed = true;
        wakeClosed?.();
      },
      async *[Symbol.asyncIterator]() {
        for (;;) yield await this.accept();
      },
    };
    const saved = globalThis.Deno;
    globalThis.Deno = { listen: () => listener };
    const logged = [];
    const origError = console.error;
    console.error = (...args) => logged.push(args.join(" "));
    try {
      const connected = new Promise((resolve) => {
        void listenDeno({ host: "127.0.0.1", port: 25 }, (_transport, info) => resolve(info)).then((l) => (handle = l));
      });
      let handle;
      const info = await Promise.race([connected, new Promise((r) => setTimeout(() => r(null), 2000))]);
      assert.deepEqual(info, { remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 25 });
      await handle.close();
      assert.deepEqual(logged, []);
    } finally {
      console.error = origError;
      if (saved === undefined) delete globalThis.Deno;
      else globalThis.Deno = saved;
    }
  });
});

describe("handle(duplex)", () => {
  test("serves a connection from any pair of streams and resolves when it ends", async () => {
    const { backend, messages } = recordingBackend();
    const s = server({ backend });
    const toServer = new TransformStream();
    const fromServer = new TransformStream();
    const duplex = {
      readable: toServer.readable,
      writable: fromServer.writable,
      close: async () => {},
    };
    const served = s.handle(duplex, { remoteAddress: "203.0.113.9", remotePort: 4000 });
    const w = toServer.writable.getWriter();
    const r = fromServer.readable.getReader();
    const dec = new TextDecoder();
    let got = "";
    const until = async (re) => {
      while (!re.test(got)) {
        const x = await r.read();
        if (x.done) throw new Error(`closed; got ${got}`);
        got += dec.decode(x.value);
      }
    };
    await until(/^220 /m);
    await w.write(new TextEncoder().encode("EHLO a\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"));
    await until(/^354 /m);
    await w.write(new TextEncoder().encode("hello\r\n.\r\nQUIT\r\n"));
    await until(/^221 /m);
    await served;
    assert.equal(messages[0].body, "hello\r\n");
    assert.equal(messages[0].state.remoteAddress, "203.0.113.9");
    await s.close();
  });
});

// The wasm core hands the common events over as numbers (src/wasm/server.rs `nextEvent`) and ts/server/wasm.ts
// builds the objects: the backend must see the same values either way, parameters or not.
describe("events from the wasm core", { skip: !useWasm && "the wasm core only (SMTP_WASM_SERVER_CORE=wasm)" }, () => {
  test("a message over maxMessageBytes: the stream errors, 552, nothing delivered and nothing logged (the core counts)", async () => {
    const { backend, done } = readingBackend();
    const logged = [];
    const origError = console.error;
    console.error = (...args) => logged.push(args.join(" "));
    const { s, port } = await started({ backend, maxMessageBytes: 1000 });
    const c = await talk(port);
    await hello(c);
    await c.cmd("MAIL FROM:<a@x.test>");
    await c.cmd("RCPT TO:<b@y.test>");
    assert.equal((await c.cmd("DATA")).code, 354);
    await c.send(`Subject: big\r\n\r\n${"x".repeat(990)}\r\n`.repeat(3));
    assert.equal((await c.cmd(".")).code, 552);
    assert.match(await done, /^error: /);
    c.destroy();
    await s.close();
    console.error = origError;
    assert.deepEqual(logged, []);
  });

  test("mail and rcpt options, hello names, message sizes", async () => {
    const seen = [];
    const { s, port } = await started({
      enableDsn: true,
      enableSmtpUtf8: true,
      enableBinaryMime: true,
      backend: {
        anonymousLogin: (state) => ({
          mail: (from, opts) => void seen.push(["mail", from, { ...opts }, state.hostname]),
          rcpt: (to, opts) => void seen.push(["rcpt", to, { ...opts }]),
          async data(stream) {
            seen.push(["data", (await readAll(stream)).toString("latin1")]);
          },
          reset: () => void seen.push(["reset"]),
          logout() {},
        }),
      },
    });
    try {
      const c = await talk(port);
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.cmd("EHLO näme.test")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<a@x.test>")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<b@x.test>")).code, 250);
      assert.equal((await c.cmd("RSET")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<c@x.test> SIZE=42 BODY=8BITMIME SMTPUTF8")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<d@x.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;e@x.test")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<f@x.test>")).code, 250);
      assert.equal((await c.cmd("DATA")).code, 354);
      assert.equal((await c.cmd("Subject: x\r\n\r\nbody\r\n.")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<g@x.test> RET=HDRS ENVID=QQ314159")).code, 250);
      assert.equal((await c.cmd("QUIT")).code, 221);
      assert.deepEqual(seen, [
        ["mail", "a@x.test", { utf8: false, requireTls: false }, "näme.test"],
        ["rcpt", "b@x.test", {}],
        ["reset"],
        ["mail", "c@x.test", { size: 42, body: "8BITMIME", utf8: true, requireTls: false }, "näme.test"],
        ["rcpt", "d@x.test", { notify: ["SUCCESS", "DELAY"], originalRecipient: "e@x.test", originalRecipientType: "RFC822" }],
        ["rcpt", "f@x.test", {}],
        ["data", "Subject: x\r\n\r\nbody\r\n"],
        ["mail", "g@x.test", { utf8: false, requireTls: false, ret: "HDRS", envelopeId: "QQ314159" }, "näme.test"],
      ]);
    } finally {
      await s.close();
    }
  });

  test("RRVS, DELIVERBY and MT-PRIORITY (go-smtp's EnableRRVS, EnableDELIVERBY, EnableMTPRIORITY)", async () => {
    const seen = [];
    const { s, port } = await started({
      enableRrvs: true,
      enableDeliverBy: true,
      minimumDeliverByTime: 120_000,
      enableMtPriority: true,
      mtPriorityProfile: "STANAG4406",
      backend: {
        anonymousLogin: () => ({
          mail: (from, opts) => void seen.push(["mail", from, { ...opts }]),
          rcpt: (to, opts) => void seen.push(["rcpt", to, { ...opts }]),
          data: (stream) => readAll(stream).then(() => {}),
          reset() {},
          logout() {},
        }),
      },
    });
    try {
      const c = await talk(port);
      assert.equal((await c.reply()).code, 220);
      const ehlo = await c.cmd("EHLO client.test");
      for (const line of ["RRVS", "DELIVERBY 120", "MT-PRIORITY STANAG4406"]) assert.ok(ehlo.lines.includes(line), line);
      assert.equal((await c.cmd("MAIL FROM:<a@x.test> BY=60;R")).code, 501);
      assert.equal((await c.cmd("MAIL FROM:<a@x.test> BY=600;NT MT-PRIORITY=-2")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<b@x.test> RRVS=2014-04-03T23:01:00-07:00;R")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<c@x.test> MT-PRIORITY=3")).code, 250);
      assert.equal((await c.cmd("RCPT TO:<d@x.test> RRVS=2014-02-30T00:00:00Z")).code, 501);
      assert.equal((await c.cmd("QUIT")).code, 221);
      assert.deepEqual(seen, [
        ["mail", "a@x.test", { utf8: false, requireTls: false, deliverBy: { time: 600, mode: "N", trace: true }, mtPriority: -2 }],
        ["rcpt", "b@x.test", { requireRecipientValidSince: new Date("2014-04-04T06:01:00Z"), rrvsAction: "R" }],
        ["rcpt", "c@x.test", { mtPriority: 3 }],
      ]);
    } finally {
      await s.close();
    }
  });
});

describe("certificates by SNI", { skip: !useWasm && "the wasm core only (SMTP_WASM_SERVER_CORE=wasm)" }, () => {
  test("each client gets the certificate for the name it asks; a bad one is refused at construction", async () => {
    const main = makeSelfSignedCertificates({ names: ["localhost", "127.0.0.1"] });
    const mail = makeSelfSignedCertificates({ names: ["mail.example.org"] });
    const wild = makeSelfSignedCertificates({ names: ["*.example.net"] });
    const { backend } = recordingBackend();
    const sni = { "mail.example.org": { cert: mail.cert, key: mail.key }, "*.example.NET": { cert: wild.cert, key: wild.key } };
    const s = server({ backend, tls: { cert: main.cert, key: main.key, sni } });
    const { port } = await s.listen({ port: 0, host: "127.0.0.1", implicitTls: true });
    const subjectFor = (servername, ca) =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => {
          resolve(socket.getPeerCertificate().subject.CN);
          socket.destroy();
        });
        socket.once("error", reject);
      });
    try {
      assert.equal(await subjectFor("mail.example.org", mail.ca), "mail.example.org");
      assert.equal(await subjectFor("mx2.example.net", wild.ca), "*.example.net");
      assert.equal(await subjectFor("localhost", main.ca), "localhost");
      // No SNI (an IP address): the default certificate.
      assert.equal(await subjectFor(undefined, main.ca), "localhost");
    } finally {
      await s.close();
    }
    // A key that is not the certificate's, or a name that is not one, fails at once (not at a client's handshake).
    const broken = server({ backend, tls: { cert: main.cert, key: main.key, sni: { "mail.example.org": { cert: mail.cert, key: wild.key } } } });
    await assert.rejects(broken.listen({ port: 0 }), /mail\.example\.org.*does not belong/);
    const badName = server({ backend, tls: { cert: main.cert, key: main.key, sni: { "mail.*.org": { cert: mail.cert, key: mail.key } } } });
    await assert.rejects(badName.listen({ port: 0 }), /not a host name/);
  });
});

// HAProxy's PROXY protocol from a trusted load balancer (pkg-tests/peers.test.mjs puts a real HAProxy in front).
describe("PROXY protocol", { skip: !useWasm && "the wasm core only (SMTP_WASM_SERVER_CORE=wasm)" }, () => {
  const proxied = async (options) => {
    const seen = [];
    const limited = [];
    const { s, port } = await started({
      ...options,
      rateLimiter: { take: (key) => (limited.push(key), true) },
      backend: {
        anonymousLogin: (state) => ({
          mail: (from) => void seen.push([from, state.remoteAddress, state.remotePort, state.localAddress, state.localPort]),
          rcpt() {},
          data: (stream) => readAll(stream).then(() => {}),
          reset() {},
          logout() {},
        }),
      },
    });
    return { s, port, seen, limited };
  };

  test("version 1 and 2 headers name the client; bytes after the header in the same write are kept", async () => {
    const { s, port, seen, limited } = await proxied({ proxyProtocol: ["127.0.0.0/8"] });
    try {
      // Version 1, with the client's EHLO in the same packet as the header.
      let c = await talk(port);
      await c.write(Buffer.from("PROXY TCP4 203.0.113.9 198.51.100.1 40000 25\r\nEHLO a.test\r\n"));
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.reply()).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<v1@x.test>")).code, 250);
      c.destroy();
      // Version 2 (binary, IPv6), split over two writes.
      const header = Buffer.concat([
        Buffer.from("\r\n\r\n\0\r\nQUIT\n", "latin1"),
        Buffer.from([0x21, 0x21, 0, 36]),
        Buffer.from("20010db8000000000000000000000001", "hex"),
        Buffer.from("20010db8000000000000000000000002", "hex"),
        Buffer.from([0x9c, 0x40, 0x02, 0x4b]),
      ]);
      c = await talk(port);
      await c.write(header.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 50));
      await c.write(header.subarray(10));
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.cmd("EHLO b.test")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<v2@x.test>")).code, 250);
      c.destroy();
      // A health check (LOCAL): the proxy's own connection.
      c = await talk(port);
      await c.write(Buffer.concat([Buffer.from("\r\n\r\n\0\r\nQUIT\n", "latin1"), Buffer.from([0x20, 0x00, 0, 0])]));
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.cmd("EHLO c.test")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<local@x.test>")).code, 250);
      c.destroy();
      assert.deepEqual(seen.map((m) => m.slice(0, 5)), [
        ["v1@x.test", "203.0.113.9", 40000, "198.51.100.1", 25],
        ["v2@x.test", "2001:db8::1", 40000, "2001:db8::2", 587],
        ["local@x.test", "127.0.0.1", seen[2][2], "127.0.0.1", port],
      ]);
      // The rate limiter counted the clients, not the proxy.
      assert.deepEqual(limited, ["203.0.113.9", "2001:db8::1", "127.0.0.1"]);
    } finally {
      await s.close();
    }
  });

  test("a trusted peer without a valid header is dropped without a reply; others are never asked for one", async () => {
    const errors = [];
    const original = console.error;
    console.error = (...args) => errors.push(args.join(" "));
    const { s, port, seen } = await proxied({ proxyProtocol: ["127.0.0.1"], readTimeout: 300 });
    try {
      for (const first of ["EHLO spoofer.test\r\n", "PROXY TCP4 203.0.113.9 198.51.100.1 040000 25\r\n"]) {
        const c = await talk(port);
        await c.send(first);
        assert.equal(await c.reply(), null, first);
        assert.ok(await c.waitClosed());
      }
      // Silent past the read timeout: dropped too.
      const slow = await talk(port);
      assert.equal(await slow.reply(2000), null);
      // A plain TCP health check (connect, close) is not worth a log line.
      const check = await talk(port);
      check.end();
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(seen, []);
      assert.equal(errors.length, 3, errors.join("\n"));
      assert.match(errors[0], /PROXY protocol: the connection does not start with a PROXY protocol header/);
      assert.match(errors[1], /malformed PROXY line/);
      assert.match(errors[2], /no PROXY protocol header in time/);
    } finally {
      console.error = original;
      await s.close();
    }
    // From an address not in proxyProtocol, a PROXY line is just an unknown command: nobody can claim an address.
    const other = await proxied({ proxyProtocol: ["10.0.0.0/8"] });
    try {
      const c = await talk(other.port);
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.cmd("PROXY TCP4 203.0.113.9 198.51.100.1 40000 25")).code, 500);
      assert.equal((await c.cmd("EHLO x.test")).code, 250);
      assert.equal((await c.cmd("MAIL FROM:<d@x.test>")).code, 250);
      assert.equal(other.seen[0][1], "127.0.0.1");
      c.destroy();
    } finally {
      await other.s.close();
    }
  });
});
