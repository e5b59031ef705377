// The package's WebSocket-to-TCP bridge (smtp-wasm/bridge): allowlist, Origin, limits, relaying, close reasons.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { createBridge, parseTarget } from "../node/bridge.js";

const ORIGIN = "http://127.0.0.1:9999";
let tcp; // a tiny line server: greets, echoes each chunk back upper-cased
let tcpPort;
let closedPort;
const lines = [];

before(async () => {
  tcp = net.createServer((s) => {
    s.write("220 hello\r\n");
    s.on("data", (d) => s.write(d.toString("latin1").toUpperCase()));
    s.on("error", () => {});
  });
  await new Promise((r) => tcp.listen(0, "127.0.0.1", r));
  tcpPort = tcp.address().port;
  const tmp = net.createServer();
  await new Promise((r) => tmp.listen(0, "127.0.0.1", r));
  closedPort = tmp.address().port;
  await new Promise((r) => tmp.close(r));
});
after(() => tcp.close());

async function withBridge(options, fn) {
  const bridge = createBridge({ log: (l) => lines.push(l), ...options });
  const { url } = await bridge.listen(0, "127.0.0.1");
  try {
    await fn(url, bridge);
  } finally {
    await bridge.close();
  }
}

/** Opens a WebSocket; resolves { ws, first } after the first message, or { status } / { close } on refusal. */
function open(url, { origin = ORIGIN, protocols = ["binary"] } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, origin === null ? {} : { origin });
    ws.binaryType = "nodebuffer";
    ws.once("unexpected-response", (req, res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    ws.once("message", (data) => resolve({ ws, first: data.toString() }));
    ws.once("close", (code, reason) => resolve({ close: { code, reason: reason.toString() } }));
    ws.once("error", () => {});
  });
}

test("parseTarget canonicalises host:port and refuses the rest", () => {
  assert.equal(parseTarget("LocalHost:25").key, "localhost:25");
  assert.equal(parseTarget("[::1]:587").key, "[::1]:587");
  assert.throws(() => parseTarget("localhost"));
  assert.throws(() => parseTarget("a:0"));
  assert.throws(() => parseTarget("a:70000"));
  assert.throws(() => createBridge({ allow: [] }));
});

test("relays bytes both ways for an allowed origin and target, without logging payloads", async () => {
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN] }, async (url) => {
    const { ws, first } = await open(url);
    assert.ok(ws, "connected");
    assert.equal(ws.protocol, "binary");
    assert.equal(first, "220 hello\r\n");
    const echoed = new Promise((r) => ws.once("message", (d) => r(d.toString())));
    ws.send(Buffer.from("ehlo secret-payload\r\n"));
    assert.equal(await echoed, "EHLO SECRET-PAYLOAD\r\n");
    ws.close();
    await new Promise((r) => setTimeout(r, 100));
  });
  assert.ok(lines.some((l) => /open .* -> 127\.0\.0\.1:\d+/.test(l)));
  assert.ok(!lines.some((l) => /secret-payload|SECRET-PAYLOAD|hello/i.test(l)), "no payload in the log");
});

test("?target= picks another allowed target; a target outside the allowlist is refused (403)", async () => {
  await withBridge({ allow: [`127.0.0.1:${closedPort}`, `127.0.0.1:${tcpPort}`], origins: [ORIGIN] }, async (url) => {
    const ok = await open(`${url}?target=127.0.0.1:${tcpPort}`);
    assert.equal(ok.first, "220 hello\r\n");
    ok.ws.close();
    const refused = await open(`${url}?target=127.0.0.1:22`);
    assert.equal(refused.status, 403);
    assert.match(refused.body, /not allowed/);
    const bad = await open(`${url}?target=example.com`);
    assert.equal(bad.status, 400);
  });
});

test("a foreign Origin is refused (403), and so is a missing one unless allowed", async () => {
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN] }, async (url) => {
    const foreign = await open(url, { origin: "https://evil.example" });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /origin https:\/\/evil\.example is not allowed/);
    const none = await open(url, { origin: null });
    assert.equal(none.status, 403);
  });
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], allowMissingOrigin: true }, async (url) => {
    const none = await open(url, { origin: null });
    assert.equal(none.first, "220 hello\r\n");
    none.ws.close();
  });
});

test("a closed target port gives a readable close reason (4502)", async () => {
  await withBridge({ allow: [`127.0.0.1:${closedPort}`], origins: [ORIGIN] }, async (url) => {
    const r = await open(url);
    assert.equal(r.close.code, 4502);
    assert.match(r.close.reason, /could not reach 127\.0\.0\.1:\d+: ECONNREFUSED/);
  });
});

test("limits: connections per address and in total, idle time, text frames", async () => {
  await withBridge(
    { allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN], maxConnectionsPerAddress: 2, maxConnections: 3 },
    async (url, bridge) => {
      const a = await open(url);
      const b = await open(url);
      const c = await open(url);
      assert.equal(c.status, 429);
      assert.equal(bridge.connections, 2);
      a.ws.close();
      b.ws.close();
    },
  );
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN], idleTimeout: 300 }, async (url) => {
    const { ws } = await open(url);
    const closed = await new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    assert.equal(closed.code, 4408);
    assert.match(closed.reason, /idle/);
  });
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN] }, async (url) => {
    const { ws } = await open(url);
    const closed = new Promise((r) => ws.once("close", (code) => r(code)));
    ws.send("text frame");
    assert.equal(await closed, 1003);
  });
});

test("frames before the target connects are capped: the WebSocket stops reading at the cap", async () => {
  // A target that never connects: everything the client sends would be held by the bridge.
  const never = () => {
    const socket = new net.Socket();
    socket.setNoDelay = () => socket;
    return socket;
  };
  const maxPending = 64 * 1024;
  await withBridge(
    { allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN], maxPending, connect: never, connectTimeout: 1000 },
    async (url, bridge) => {
      const ws = new WebSocket(url, ["binary"], { origin: ORIGIN });
      await new Promise((r) => ws.once("open", r));
      const closed = new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
      const frame = Buffer.alloc(16 * 1024, 0x41);
      // 16 MiB offered before the connect timeout; the bridge reads only up to its cap, the rest stays with the client.
      for (let i = 0; i < 1024 && ws.readyState === WebSocket.OPEN; i++) ws.send(frame);
      const { code } = await closed;
      assert.equal(code, 4502);
      assert.equal(bridge.connections, 0);
    },
  );
  const line = lines.findLast((l) => /closed \(connect timeout\)/.test(l));
  assert.ok(line !== undefined, lines.slice(-3).join("\n"));
  const up = Number(/; (\d+) bytes to/.exec(line)[1]);
  assert.ok(up <= 2 * maxPending, `the bridge took ${up} bytes`);
});

test("a long non-ASCII target name is cut by bytes in the close reason, not crashing the bridge", async () => {
  const name = "ü".repeat(100);
  const refused = () => {
    const socket = new net.Socket();
    socket.setNoDelay = () => socket;
    setImmediate(() => socket.emit("error", Object.assign(new Error("refused"), { code: "ECONNREFUSED" })));
    return socket;
  };
  await withBridge({ allow: [`${name}:25`], origins: [ORIGIN], connect: refused }, async (url) => {
    const r = await open(url);
    assert.equal(r.close.code, 4502);
    assert.ok(Buffer.byteLength(r.close.reason) <= 123, r.close.reason);
    assert.match(r.close.reason, /^could not reach ü+/);
  });
});

test("maxLifetime closes a connection however busy it is (4410)", async () => {
  await withBridge({ allow: [`127.0.0.1:${tcpPort}`], origins: [ORIGIN], maxLifetime: 300 }, async (url) => {
    const { ws } = await open(url);
    const keepBusy = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(Buffer.from("noop\r\n")), 50);
    const closed = await new Promise((r) => ws.once("close", (code, reason) => r({ code, reason: reason.toString() })));
    clearInterval(keepBusy);
    assert.equal(closed.code, 4410);
  });
});

test("pinNames resolves a target's name once and connects to that address", async () => {
  await withBridge({ allow: [`localhost:${tcpPort}`], origins: [ORIGIN], pinNames: true }, async (url) => {
    for (let i = 0; i < 2; i++) {
      const { ws, first, close } = await open(url);
      // localhost may resolve to ::1 first, where the test server does not listen: either way the name is pinned.
      if (ws !== undefined) {
        assert.equal(first, "220 hello\r\n");
        ws.close();
      } else {
        assert.equal(close.code, 4502);
      }
    }
  });
  assert.equal(lines.filter((l) => /localhost:\d+ pinned to /.test(l)).length, 1);
});

test("risky settings are warned about: a non-loopback listen address with any Origin or none", async () => {
  const { riskyBridgeSettings } = await import("../node/bridge.js");
  assert.equal(riskyBridgeSettings({ allow: ["a:25"], origins: ["*"] }, "0.0.0.0").length, 1);
  assert.equal(riskyBridgeSettings({ allow: ["a:25"], allowMissingOrigin: true, origins: ["*"] }, "::").length, 2);
  assert.deepEqual(riskyBridgeSettings({ allow: ["a:25"], origins: ["*"] }, "127.0.0.1"), []);
  assert.deepEqual(riskyBridgeSettings({ allow: ["a:25"], origins: ["https://x.example"] }, "0.0.0.0"), []);
});
