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
