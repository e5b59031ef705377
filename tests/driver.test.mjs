// Tests of the TypeScript driver and SmtpClient against a scripted fake server (no real servers, no network).
// Every transcript also runs with the server's bytes split at every byte boundary.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ConnectionClosedError,
  InvalidInputError,
  SmtpClient,
  SmtpError,
  SmtpWasmError,
  TimeoutError,
  UsageError,
  init,
  sendMail,
} from "../dist/node.js";
import { ehlo, fakeServer } from "./harness.mjs";

const GREETING = "S: 220 mx.example.org ESMTP";

/** Runs `body(server, split)` once whole and once with the server's output split into single bytes. */
function bothWays(name, fn) {
  for (const split of [false, true]) {
    test(`${name}${split ? " (server bytes split)" : ""}`, () => fn(split));
  }
}

async function finished(server) {
  const done = await server.done;
  assert.deepEqual(done.errors, [], `transcript mismatch; received: ${JSON.stringify(done.received)}`);
  return done;
}

describe("init", () => {
  test("is safe to call twice and concurrently", async () => {
    const a = init();
    const b = init();
    assert.equal(a, b);
    await Promise.all([a, b]);
    await init();
  });
});

describe("SmtpClient", () => {
  bothWays("connect reads the greeting, quit sends QUIT and closes the transport", async (split) => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: QUIT
       S: 221 2.0.0 Bye`,
      { split },
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    assert.deepEqual(client.greeting, {
      code: 220,
      enhancedCode: null,
      lines: ["mx.example.org ESMTP"],
      text: "mx.example.org ESMTP",
    });
    // Go semantics: the first command that needs a hello sends it, QUIT included.
    await client.quit();
    await finished(server);
    assert.equal(client.closed, true);
    assert.equal(server.closedByClient, true);
  });

  bothWays("hello and extension (case-insensitive, with parameters)", async (split) => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING", "SIZE 10240000", "8BITMIME", "AUTH PLAIN LOGIN"], "client.example")}
       C: NOOP
       S: 250 2.0.0 Ok`,
      { split },
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    assert.deepEqual(client.extension("SIZE"), { supported: false, param: "" }, "nothing known before hello");
    await client.hello("client.example");
    assert.deepEqual(client.extension("size"), { supported: true, param: "10240000" });
    assert.deepEqual(client.extension("Auth"), { supported: true, param: "PLAIN LOGIN" });
    assert.deepEqual(client.extension("pipelining"), { supported: true, param: "" });
    assert.deepEqual(client.extension("STARTTLS"), { supported: false, param: "" });
    await client.noop();
    await finished(server);
    await client.close();
  });

  bothWays("sendMail pipelines MAIL, RCPT and DATA in one write; refused recipients are SmtpErrors", async (split) => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING", "8BITMIME"])}
       C: MAIL FROM:<a@example.org> BODY=8BITMIME
       C: RCPT TO:<b@example.org>
       C: RCPT TO:<c@example.org>
       C: DATA
       S: 250 2.1.0 Ok
       S: 250 2.1.5 Ok
       S: 550 5.1.1 <c@example.org>: Recipient address rejected
       S: 354 End data with <CR><LF>.<CR><LF>
       C: Subject: hi
       C:
       C: ..leading dot
       C: bare LF and bare CR
       C: end
       C: .
       S: 250 2.0.0 Ok: queued as 12345`,
      { split },
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    const progress = [];
    const message = "Subject: hi\n\n.leading dot\nbare LF and bare CR\rend";
    const result = await client.sendMail({
      from: "a@example.org",
      to: ["b@example.org", "c@example.org"],
      message,
      onProgress: (n) => progress.push(n),
    });
    await finished(server);
    assert.ok(
      server.chunks.includes(
        "MAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n",
      ),
      `one flight expected, got ${JSON.stringify(server.chunks)}`,
    );
    assert.deepEqual(result.accepted, ["b@example.org"]);
    assert.equal(result.rejected.length, 1);
    const { recipient, error } = result.rejected[0];
    assert.equal(recipient, "c@example.org");
    assert.ok(error instanceof SmtpError && error instanceof SmtpWasmError && error instanceof Error);
    assert.equal(error.name, "SmtpError");
    assert.equal(error.code, 550);
    assert.deepEqual(error.enhancedCode, [5, 1, 1]);
    assert.deepEqual(error.lines, ["5.1.1 <c@example.org>: Recipient address rejected"]);
    assert.equal(error.command, "RCPT TO");
    assert.equal(error.temporary, false);
    assert.deepEqual(result.reply, {
      code: 250,
      enhancedCode: [2, 0, 0],
      lines: ["2.0.0 Ok: queued as 12345"],
      text: "Ok: queued as 12345",
    });
    assert.equal(result.tls, null);
    assert.equal(progress.at(-1), message.length);
    await client.close();
  });

  bothWays("mail, rcpt and a streamed data() writer", async (split) => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["8BITMIME"])}
       C: MAIL FROM:<> BODY=8BITMIME
       S: 250 2.1.0 Ok
       C: RCPT TO:<b@example.org>
       S: 451 4.3.0 Try again later
       C: RCPT TO:<c@example.org>
       S: 250 2.1.5 Ok
       C: DATA
       S: 354 go ahead
       C: line one
       C: ..two
       C: three ünïcode
       C: .
       S: 250 2.0.0 queued`,
      { split },
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    const mailReply = await client.mail("");
    assert.equal(mailReply.code, 250);
    const refused = await client.rcpt("b@example.org").then(
      () => assert.fail("RCPT should be refused"),
      (e) => e,
    );
    assert.ok(refused instanceof SmtpError);
    assert.equal(refused.code, 451);
    assert.equal(refused.temporary, true);
    assert.equal(refused.command, "RCPT TO");
    assert.equal((await client.rcpt("c@example.org")).code, 250);
    const writer = await client.data();
    await writer.write("line one\r\n.");
    await writer.write(new TextEncoder().encode("two\r\nthree "));
    await writer.write("ünïcode\r\n");
    const reply = await writer.close();
    assert.equal(reply.code, 250);
    assert.equal(reply.text, "queued");
    await finished(server);
    await client.close();
  });

  test("temporary and the reply text are the core's: a 552 to RCPT is temporary, a 552 to MAIL is not", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: MAIL FROM:<a@example.org>
       S: 552 5.3.4 Message too big
       C: MAIL FROM:<a@example.org>
       S: 250 2.1.0 Ok
       C: RCPT TO:<b@example.org>
       S: 552-5.5.3 Too many recipients
       S: 552 5.5.3 try the rest later`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await assert.rejects(client.mail("a@example.org"), (e) => {
      assert.ok(e instanceof SmtpError, `got ${e}`);
      assert.equal(e.command, "MAIL FROM");
      assert.equal(e.temporary, false);
      assert.equal(e.reply.text, "Message too big");
      return true;
    });
    await client.mail("a@example.org");
    await assert.rejects(client.rcpt("b@example.org"), (e) => {
      assert.ok(e instanceof SmtpError, `got ${e}`);
      assert.equal(e.command, "RCPT TO");
      // RFC 5321 4.5.3.1.10: "too many recipients" came as 552; retry later (Rust's Rejection::is_temporary).
      assert.equal(e.temporary, true);
      assert.equal(e.reply.text, "Too many recipients\ntry the rest later");
      return true;
    });
    await finished(server);
    await client.close();
  });

  test("invalid input is refused with InvalidInputError and nothing is written", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING"])}
       C: NOOP
       S: 250 Ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await client.hello();
    await assert.rejects(client.mail("a@example.org\r\nRCPT TO:<evil@example.org>"), (e) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.field, "from");
      assert.equal(e.kind, "invalid-input");
      return true;
    });
    await assert.rejects(client.rcpt("b@exa\u0000mple.org"), InvalidInputError);
    await assert.rejects(client.verify("x\ny"), InvalidInputError);
    await client.noop();
    await finished(server);
    await client.close();
  });

  test("a refused greeting fails connect with an SmtpError", async () => {
    const server = fakeServer(`S: 554 5.3.2 No service for you`);
    await assert.rejects(SmtpClient.connect(server.duplex, { serverName: "mx.example.org" }), (e) => {
      assert.ok(e instanceof SmtpError, `got ${e}`);
      assert.equal(e.code, 554);
      return true;
    });
    await finished(server);
    assert.equal(server.closedByClient, true);
  });

  test("the server closing mid-session fails pending commands with ConnectionClosedError", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: NOOP
       S: <close>`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await client.hello();
    await assert.rejects(client.noop(), (e) => {
      assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
      assert.equal(e.temporary, true);
      assert.equal(e.phase, "noop");
      return true;
    });
    assert.equal(client.closed, true);
    await assert.rejects(client.noop(), ConnectionClosedError);
    await finished(server);
  });

  test("capabilities() maps the advertised keywords (upper-cased) to their parameters", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING", "size 1000", "AUTH PLAIN LOGIN", "8BITMIME"])}
       C: QUIT
       S: 221 bye`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    assert.equal(client.capabilities(), null, "null before the hello");
    await client.hello();
    assert.deepEqual(client.capabilities(), {
      PIPELINING: "",
      SIZE: "1000",
      AUTH: "PLAIN LOGIN",
      "8BITMIME": "",
    });
    assert.deepEqual(Object.keys(client.capabilities()), ["PIPELINING", "SIZE", "AUTH", "8BITMIME"]);
    client.capabilities().SIZE = "changed";
    assert.equal(client.capabilities().SIZE, "1000", "a copy each time");
    await client.quit();
    assert.equal(client.capabilities().AUTH, "PLAIN LOGIN", "still readable after the session ended");
    await finished(server);
  });

  test("a transport failure is the cause of the ConnectionClosedError", async () => {
    const reason = new Error("the WebSocket closed with code 4502: target unreachable");
    let controller;
    const duplex = {
      readable: new ReadableStream({
        start(c) {
          controller = c;
          c.enqueue(new TextEncoder().encode("220 mx.example.org ESMTP\r\n"));
        },
      }),
      writable: new WritableStream({
        write(chunk) {
          if (new TextDecoder().decode(chunk).startsWith("NOOP")) setTimeout(() => controller.error(reason), 5);
          else controller.enqueue(new TextEncoder().encode("250-mx.example.org\r\n250 PIPELINING\r\n"));
        },
      }),
      async close() {},
    };
    const client = await SmtpClient.connect(duplex, { serverName: "mx.example.org" });
    await client.hello();
    await assert.rejects(client.noop(), (e) => {
      assert.ok(e instanceof ConnectionClosedError, `got ${e}`);
      assert.equal(e.cause, reason);
      assert.match(e.message, /4502: target unreachable/);
      assert.equal(e.phase, "noop");
      return true;
    });
  });

  test("a silent server times out with TimeoutError", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: NOOP
       S: <hold>`,
    );
    const client = await SmtpClient.connect(server.duplex, {
      serverName: "mx.example.org",
      timeouts: { command: 100 },
    });
    await client.hello();
    const started = Date.now();
    await assert.rejects(client.noop(), (e) => {
      assert.ok(e instanceof TimeoutError, `got ${e}`);
      assert.equal(e.phase, "noop");
      return true;
    });
    assert.ok(Date.now() - started >= 90, "not before the deadline");
    await finished(server);
  });

  test("an AbortSignal rejects pending commands with its reason and closes the transport", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo()}
       C: NOOP
       S: <hold>`,
    );
    const controller = new AbortController();
    const client = await SmtpClient.connect(server.duplex, {
      serverName: "mx.example.org",
      signal: controller.signal,
    });
    await client.hello();
    const pending = client.noop();
    setTimeout(() => controller.abort(new Error("user gave up")), 20);
    await assert.rejects(pending, /user gave up/);
    await finished(server);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.closedByClient, true);
  });

  test("an already-aborted signal fails connect", async () => {
    const server = fakeServer(GREETING);
    await assert.rejects(
      SmtpClient.connect(server.duplex, { serverName: "mx.example.org", signal: AbortSignal.abort() }),
      (e) => e.name === "AbortError",
    );
  });

  test("a failing message stream aborts the transaction and rejects with the stream's error", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING"])}
       C: MAIL FROM:<a@example.org>
       C: RCPT TO:<b@example.org>
       C: DATA
       S: 250 Ok
       S: 250 Ok
       S: 354 go ahead
       # DATA cannot be abandoned on the wire: the core closes the connection rather than send the dot.
       C: <eof>`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    const message = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first part\r\n"));
        setTimeout(() => controller.error(new Error("disk on fire")), 20);
      },
    });
    await assert.rejects(client.sendMail({ from: "a@example.org", to: "b@example.org", message }), /disk on fire/);
    const done = await finished(server);
    // The message must never be completed on the wire: no lone dot.
    assert.ok(!server.chunks.join("").includes("\r\n.\r\n"), JSON.stringify(server.chunks));
    void done;
    await client.close();
  });

  test("LMTP: lmtpData resolves with one outcome per recipient", async () => {
    const server = fakeServer(
      `${GREETING}
       C: LHLO localhost
       S: 250-mx.example.org
       S: 250 PIPELINING
       C: MAIL FROM:<a@example.org>
       S: 250 Ok
       C: RCPT TO:<b@example.org>
       S: 250 Ok
       C: RCPT TO:<c@example.org>
       S: 250 Ok
       C: DATA
       S: 354 go ahead
       C: hello
       C: .
       S: 250 2.0.0 <b@example.org> delivered
       S: 452 4.2.2 <c@example.org> mailbox full`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org", lmtp: true });
    await client.mail("a@example.org");
    await client.rcpt("b@example.org");
    await client.rcpt("c@example.org");
    const writer = await client.lmtpData();
    await writer.write("hello\r\n");
    const results = await writer.close();
    assert.equal(results.length, 2);
    assert.equal(results[0].recipient, "b@example.org");
    assert.equal(results[0].reply.code, 250);
    assert.equal(results[1].recipient, "c@example.org");
    assert.ok(results[1].error instanceof SmtpError);
    assert.equal(results[1].error.code, 452);
    assert.equal(results[1].error.temporary, true);
    await finished(server);
    await client.close();
  });

  test("debug receives the transcript with AUTH redacted", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH PLAIN"])}
       C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
       S: 235 2.7.0 Authentication successful`,
    );
    const lines = [];
    // Cleartext AUTH to localhost: the name and the address the transport connected to (as TCP would report it).
    server.duplex[Symbol.for("smtp-wasm.remoteAddress")] = "127.0.0.1";
    const client = await SmtpClient.connect(server.duplex, {
      serverName: "localhost",
      debug: (line) => lines.push(`${line.direction === "client" ? "C" : "S"}: ${line.text}`),
    });
    await client.auth({ username: "alice", password: "secret" });
    await finished(server);
    assert.equal(lines[0], "S: 220 mx.example.org ESMTP");
    assert.ok(lines.includes("C: EHLO localhost"), lines.join("\n"));
    const authLine = lines.find((l) => l.startsWith("C: AUTH"));
    assert.ok(authLine !== undefined && !authLine.includes("AGFsaWNlAHNlY3JldA=="), authLine);
    await client.close();
  });

  test("AUTH in cleartext to a remote host is refused before anything is written", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["AUTH PLAIN"])}
       C: NOOP
       S: 250 Ok`,
    );
    const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
    await client.hello();
    await assert.rejects(client.auth({ username: "alice", password: "secret" }), (e) => {
      assert.ok(e instanceof UsageError, `got ${e}`);
      assert.equal(e.kind, "insecure-auth");
      return true;
    });
    await client.noop();
    await finished(server);
    await client.close();
  });

  test("a large message streams with bounded memory (backpressure)", async () => {
    // A slow server: every write takes 2 ms to be taken; it answers the envelope, then counts body bytes.
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    let consumed = 0;
    let seen = "";
    let toClient;
    const readable = new ReadableStream({
      start(c) {
        toClient = c;
        c.enqueue(encoder.encode("220 mx.example.org ESMTP\r\n"));
      },
    });
    const say = (text) => toClient.enqueue(encoder.encode(text));
    const writable = new WritableStream(
      {
        async write(chunk) {
          await new Promise((r) => setTimeout(r, 2));
          consumed += chunk.byteLength;
          seen = (seen + decoder.decode(chunk)).slice(-64);
          if (seen.endsWith("EHLO localhost\r\n")) say("250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
          else if (seen.endsWith("DATA\r\n")) say("250 Ok\r\n250 Ok\r\n354 go ahead\r\n");
          else if (seen.endsWith("\r\n.\r\n")) say("250 2.0.0 queued\r\n");
        },
      },
      { highWaterMark: 1 },
    );
    const duplex = { readable, writable, close: async () => {} };
    const client = await SmtpClient.connect(duplex, { serverName: "mx.example.org" });
    const line = encoder.encode("x".repeat(1022) + "\r\n");
    const lines = 4096; // 4 MiB
    let produced = 0;
    let maxAhead = 0;
    const message = new ReadableStream({
      pull(controller) {
        if (produced++ >= lines) controller.close();
        else controller.enqueue(line);
      },
    });
    const result = await client.sendMail({
      from: "a@example.org",
      to: "b@example.org",
      message,
      onProgress: (sent) => {
        maxAhead = Math.max(maxAhead, sent - consumed);
      },
    });
    assert.equal(result.reply.code, 250);
    assert.ok(consumed > lines * line.byteLength, "the whole message went out");
    assert.ok(maxAhead < 1024 * 1024, `the client ran ${maxAhead} bytes ahead of the server`);
    await client.close();
  });
});

describe("sendMail results (the one-recipient fast path and the general one agree)", () => {
  const cases = [
    ["one line with an enhanced code", ["S: 250 2.0.0 Ok: queued as 12345"], {
      code: 250, enhancedCode: [2, 0, 0], lines: ["2.0.0 Ok: queued as 12345"], text: "Ok: queued as 12345",
    }],
    ["one line without an enhanced code", ["S: 250 queued"], {
      code: 250, enhancedCode: null, lines: ["queued"], text: "queued",
    }],
    ["an enhanced code with three-digit parts and no text", ["S: 250 2.100.999"], {
      code: 250, enhancedCode: [2, 100, 999], lines: ["2.100.999"], text: "",
    }],
    ["a class that disagrees with the code stays text", ["S: 250 5.0.0 odd"], {
      code: 250, enhancedCode: null, lines: ["5.0.0 odd"], text: "5.0.0 odd",
    }],
    ["a multi-line reply", ["S: 250-2.0.0 first", "S: 250 2.0.0 second"], {
      code: 250, enhancedCode: [2, 0, 0], lines: ["2.0.0 first", "2.0.0 second"], text: "first\nsecond",
    }],
    ["non-ASCII text", ["S: 250 2.0.0 caf\u00e9 \u2713"], {
      code: 250, enhancedCode: [2, 0, 0], lines: ["2.0.0 caf\u00e9 \u2713"], text: "caf\u00e9 \u2713",
    }],
  ];
  for (const [name, final, expected] of cases) {
    for (const to of ["b@example.org", ["b@example.org"], ["b@example.org", "c@example.org"]]) {
      test(`${name}, to ${JSON.stringify(to)}`, async () => {
        const many = Array.isArray(to) && to.length > 1;
        const server = fakeServer(
          `${GREETING}
           ${ehlo(["PIPELINING"])}
           C: MAIL FROM:<a@example.org>
           C: RCPT TO:<b@example.org>${many ? "\n           C: RCPT TO:<c@example.org>" : ""}
           C: DATA
           S: 250 Ok
           S: 250 Ok${many ? "\n           S: 250 Ok" : ""}
           S: 354 go ahead
           C: Subject: x
           C:
           C: body
           C: .
           ${final.join("\n           ")}`,
        );
        const client = await SmtpClient.connect(server.duplex, { serverName: "mx.example.org" });
        const progress = [];
        const result = await client.sendMail({
          from: "a@example.org",
          to,
          message: "Subject: x\r\n\r\nbody\r\n",
          onProgress: (n) => progress.push(n),
        });
        assert.deepEqual(result.accepted, many ? ["b@example.org", "c@example.org"] : ["b@example.org"]);
        assert.deepEqual(result.rejected, []);
        assert.deepEqual(result.reply, expected);
        assert.deepEqual(progress, [20]);
        await client.close();
        await finished(server);
      });
    }
  }
});

describe("sendMail (top level)", () => {
  test("tls: none over a given connect function, then QUIT", async () => {
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING"], "me.example")}
       C: MAIL FROM:<a@example.org>
       C: RCPT TO:<b@example.org>
       C: DATA
       S: 250 Ok
       S: 250 Ok
       S: 354 go ahead
       C: Subject: x
       C:
       C: body
       C: .
       S: 250 2.0.0 queued
       C: QUIT
       S: 221 Bye`,
    );
    const calls = [];
    const result = await sendMail({
      host: "mx.example.org",
      tls: "none",
      localName: "me.example",
      connect: async (host, port) => {
        calls.push([host, port]);
        return server.duplex;
      },
      from: "a@example.org",
      to: "b@example.org",
      message: "Subject: x\r\n\r\nbody\r\n",
    });
    assert.deepEqual(calls, [["mx.example.org", 587]]);
    assert.deepEqual(result.accepted, ["b@example.org"]);
    assert.equal(result.reply.code, 250);
    assert.equal(result.tls, null);
    await finished(server);
  });

  test("TLS is required by default: no STARTTLS offered is a TlsError", async () => {
    const { TlsError } = await import("../dist/node.js");
    const server = fakeServer(
      `${GREETING}
       ${ehlo(["PIPELINING"])}`,
    );
    await assert.rejects(
      sendMail({
        host: "mx.example.org",
        connect: async () => server.duplex,
        from: "a@example.org",
        to: "b@example.org",
        message: "x",
      }),
      (e) => {
        assert.ok(e instanceof TlsError, `got ${e}`);
        assert.equal(e.tlsKind, "starttls-not-offered");
        return true;
      },
    );
    await finished(server);
  });

  test("opportunistic TLS together with auth is refused up front", async () => {
    await assert.rejects(
      sendMail({
        host: "mx.example.org",
        tls: "opportunistic",
        auth: { username: "alice", password: "secret" },
        connect: async () => assert.fail("must not connect"),
        from: "a@example.org",
        to: "b@example.org",
        message: "x",
      }),
      UsageError,
    );
  });

  test("port 465 implies implicit TLS: the first bytes on the wire are a TLS ClientHello", async () => {
    const ports = [];
    let first;
    await assert.rejects(
      sendMail({
        host: "mx.example.org",
        port: 465,
        connect: async (_host, port) => {
          ports.push(port);
          // A server that reads the client's first write, then hangs up.
          let close;
          const readable = new ReadableStream({ start: (c) => (close = () => c.close()) });
          const writable = new WritableStream({
            write(chunk) {
              first ??= new Uint8Array(chunk);
              close();
            },
          });
          return { readable, writable, close: async () => {} };
        },
        from: "a@example.org",
        to: "b@example.org",
        message: "x",
        timeouts: { greeting: 2000 },
      }),
    );
    assert.deepEqual(ports, [465]);
    assert.ok(first !== undefined, "the client wrote first (no SMTP greeting was waited for in cleartext)");
    // A TLS record (handshake, 0x16) carrying a ClientHello (handshake type 1), not a cleartext SMTP command.
    assert.equal(first[0], 0x16, `first byte ${first[0]}`);
    assert.equal(first[1], 0x03);
    assert.equal(first[5], 0x01, "handshake type ClientHello");
  });
});
