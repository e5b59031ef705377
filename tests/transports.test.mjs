// Transports without a network: connectWebSocket over a fake WebSocket class, fromSocket over plain streams.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ConnectionClosedError, SmtpClient, UsageError, connectWebSocket, fromSocket } from "../dist/node.js";
import { ehlo, fakeServer } from "./harness.mjs";

/** A WebSocket whose far end is a scripted fake server. */
function fakeWebSocketClass(server, log) {
  return class FakeWebSocket {
    constructor(url, protocols) {
      log.push({ url: String(url), protocols });
      this.binaryType = "blob";
      this.readyState = 0;
      this.bufferedAmount = 0;
      this.protocol = "binary";
      this.listeners = new Map();
      this.writer = server.duplex.writable.getWriter();
      setTimeout(() => {
        this.readyState = 1;
        this.emit("open", {});
        this.pump();
      }, 1);
    }
    async pump() {
      const reader = server.duplex.readable.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        // Browsers deliver binary frames as ArrayBuffer when binaryType is "arraybuffer".
        assert.equal(this.binaryType, "arraybuffer");
        this.emit("message", { data: value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) });
      }
      this.readyState = 3;
      this.emit("close", { code: 1000, reason: "" });
    }
    send(data) {
      this.writer.write(new Uint8Array(data));
    }
    close() {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.writer.close().catch(() => {});
      this.emit("close", { code: 1000, reason: "" });
    }
    addEventListener(type, fn) {
      if (!this.listeners.has(type)) this.listeners.set(type, new Set());
      this.listeners.get(type).add(fn);
    }
    removeEventListener(type, fn) {
      this.listeners.get(type)?.delete(fn);
    }
    emit(type, event) {
      for (const fn of [...(this.listeners.get(type) ?? [])]) fn(event);
    }
  };
}

test("connectWebSocket carries a session and asks for the binary subprotocol", async () => {
  const server = fakeServer(
    `S: 220 mx.example.org ESMTP
     ${ehlo()}
     C: NOOP
     S: 250 Ok
     C: QUIT
     S: 221 Bye`,
  );
  const log = [];
  const duplex = await connectWebSocket("ws://bridge.example:8025", undefined, {
    WebSocket: fakeWebSocketClass(server, log),
  });
  assert.deepEqual(log, [{ url: "ws://bridge.example:8025", protocols: ["binary"] }]);
  const client = await SmtpClient.connect(duplex, { serverName: "mx.example.org" });
  await client.noop();
  await client.quit();
  const done = await server.done;
  assert.deepEqual(done.errors, []);
});

test("connectWebSocket without a WebSocket implementation is a UsageError", async () => {
  const saved = globalThis.WebSocket;
  // Node 20 has none; make sure of it for this test on newer Node.
  delete globalThis.WebSocket;
  try {
    await assert.rejects(connectWebSocket("ws://bridge.example"), UsageError);
  } finally {
    if (saved !== undefined) globalThis.WebSocket = saved;
  }
});

test("connectWebSocket: a bridge that refuses is a ConnectionClosedError", async () => {
  class Refusing {
    constructor() {
      this.readyState = 0;
      this.listeners = {};
      setTimeout(() => {
        this.readyState = 3;
        this.listeners.error?.({});
      }, 1);
    }
    addEventListener(type, fn) {
      this.listeners[type] = fn;
    }
    removeEventListener() {}
    close() {}
    send() {}
  }
  await assert.rejects(connectWebSocket("ws://nowhere.example", ["binary"], { WebSocket: Refusing }), (e) => {
    assert.ok(e instanceof ConnectionClosedError);
    assert.equal(e.phase, "connect");
    return true;
  });
});

test("fromSocket wraps any {readable, writable} and calls close once", async () => {
  const server = fakeServer(
    `S: 220 mx.example.org ESMTP
     ${ehlo()}
     C: QUIT
     S: 221 Bye`,
  );
  let closes = 0;
  const duplex = fromSocket({
    readable: server.duplex.readable,
    writable: server.duplex.writable,
    close: async () => {
      closes++;
    },
  });
  const client = await SmtpClient.connect(duplex, { serverName: "mx.example.org" });
  await client.quit();
  await client.close();
  assert.equal(closes, 1);
  assert.deepEqual((await server.done).errors, []);
  assert.throws(() => fromSocket({}), UsageError);
});

test("a bridge that cannot reach its target: ConnectionClosedError whose cause has the close code and reason", async () => {
  const { createBridge } = await import("../node/bridge.js");
  const { default: WebSocket } = await import("ws");
  // Port 1 on loopback: nothing listens there, so the bridge closes with 4502 and a reason.
  const bridge = createBridge({ allow: ["127.0.0.1:1"], allowMissingOrigin: true, log: null });
  const { url } = await bridge.listen(0, "127.0.0.1");
  try {
    const error = await connectWebSocket(url, ["binary"], { WebSocket })
      .then((duplex) => SmtpClient.connect(duplex, { serverName: "localhost" }))
      .then(
        () => null,
        (e) => e,
      );
    assert.ok(error instanceof ConnectionClosedError, `got ${error}`);
    const chain = [];
    for (let e = error; e !== undefined && e !== null; e = e.cause) chain.push(e instanceof Error ? e.message : e);
    const reasons = JSON.stringify(chain);
    assert.match(reasons, /4502/, reasons);
    assert.match(error.message, /4502/, "the close code is in the message users see");
  } finally {
    await bridge.close();
  }
});

test("frames that arrive after the reader cancelled the stream are dropped, not thrown from the event handler", async () => {
  // A minimal WebSocket that opens at once and lets the test emit frames whenever it likes.
  let socket;
  class LateFrameWebSocket {
    constructor() {
      socket = this;
      this.binaryType = "blob";
      this.readyState = 0;
      this.bufferedAmount = 0;
      this.protocol = "binary";
      this.listeners = new Map();
      setTimeout(() => {
        this.readyState = 1;
        this.emit("open", {});
      }, 1);
    }
    send() {}
    close() {
      // Like a real WebSocket, closing is not instant: frames already received may still be delivered.
      this.readyState = 2;
    }
    addEventListener(type, fn) {
      if (!this.listeners.has(type)) this.listeners.set(type, new Set());
      this.listeners.get(type).add(fn);
    }
    removeEventListener(type, fn) {
      this.listeners.get(type)?.delete(fn);
    }
    emit(type, event) {
      for (const fn of [...(this.listeners.get(type) ?? [])]) fn(event);
    }
  }
  const duplex = await connectWebSocket("ws://bridge.example:8025", undefined, { WebSocket: LateFrameWebSocket });
  const reader = duplex.readable.getReader();
  socket.emit("message", { data: new Uint8Array([50, 50, 48]).buffer });
  assert.deepEqual([...(await reader.read()).value], [50, 50, 48]);
  await reader.cancel();
  // This used to throw "Invalid state: Controller is already closed" out of the message handler.
  assert.doesNotThrow(() => socket.emit("message", { data: new Uint8Array([13, 10]).buffer }));
});
