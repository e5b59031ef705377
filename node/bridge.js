// A small WebSocket-to-TCP bridge for smtp-wasm in browsers (Node only; `smtp-wasm/bridge`, `npx smtp-wasm bridge`).
//
// It relays bytes between one WebSocket and one TCP connection, like websockify, with the guards a bridge reachable
// from a browser needs:
//   - it connects only to the host:port targets of its allowlist (a client picks one with `?target=host:port`;
//     without it, the first one);
//   - it checks the Origin header against an allowlist (browsers always send it; requests without one are refused
//     unless `allowMissingOrigin`);
//   - it limits concurrent connections (in total and per client address), the idle time and the frame size;
//   - it never logs payloads (only who connected where, how many bytes, and why a connection ended).
// It never sees plaintext mail or credentials once smtp-wasm has set up TLS (which happens inside the wasm).
import http from "node:http";
import net from "node:net";
import { WebSocketServer } from "ws";

const DEFAULTS = {
  maxConnections: 64,
  maxConnectionsPerAddress: 8,
  idleTimeout: 300_000,
  connectTimeout: 10_000,
  maxFrame: 1 << 20,
};
const HIGH_WATER = 1 << 20;

/** Close codes the bridge uses (4000-4999 is the private range; readable by browsers in CloseEvent.code). */
export const CLOSE_CODES = {
  TARGET_UNREACHABLE: 4502,
  TARGET_CLOSED: 1000,
  IDLE: 4408,
  TEXT_FRAME: 1003,
  TARGET_ERROR: 4500,
};

/** Parses `host:port`, `[v6]:port`; returns the canonical `host:port` string (lower case host) or throws. */
export function parseTarget(text) {
  const s = String(text).trim();
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(s);
  if (m === null) throw new Error(`not a host:port target: ${JSON.stringify(s)}`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new Error(`port out of range in ${JSON.stringify(s)}`);
  const host = m[1].toLowerCase();
  return { host, port, key: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}` };
}

function normalizeOrigin(origin) {
  if (origin === "*") return "*";
  try {
    return new URL(origin).origin;
  } catch {
    throw new Error(`not an origin: ${JSON.stringify(origin)} (expected like http://localhost:8080)`);
  }
}

/**
 * Creates a bridge. Call `listen(port, host)` to serve it on its own HTTP server, or `handleUpgrade(req, socket,
 * head)` from the `upgrade` event of a server you already have.
 * @param {import("./bridge.d.ts").BridgeOptions} options
 * @returns {import("./bridge.d.ts").Bridge}
 */
export function createBridge(options) {
  const targets = (options?.allow ?? []).map((t) => parseTarget(t));
  if (targets.length === 0) throw new Error("the bridge needs at least one allowed target (allow: ['host:port'])");
  const allowed = new Map(targets.map((t) => [t.key, t]));
  const origins = new Set((options.origins ?? []).map(normalizeOrigin));
  const allowMissingOrigin = options.allowMissingOrigin === true;
  const maxConnections = options.maxConnections ?? DEFAULTS.maxConnections;
  const perAddress = options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress;
  const idleTimeout = options.idleTimeout ?? DEFAULTS.idleTimeout;
  const connectTimeout = options.connectTimeout ?? DEFAULTS.connectTimeout;
  const path = options.path ?? null;
  const log = options.log === undefined ? (line) => console.error(line) : options.log ?? (() => {});

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrame ?? DEFAULTS.maxFrame,
    perMessageDeflate: false,
    // websockify's clients ask for "binary"; plain clients ask for nothing.
    handleProtocols: (protocols) => (protocols.has("binary") ? "binary" : false),
  });
  const live = new Set();
  const perAddr = new Map();
  let nextId = 1;
  let httpServer = null;

  function refuse(socket, status, reason, fields) {
    log(`bridge: refused ${fields} (${status} ${reason})`);
    const body = `${reason}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  /** Decides whether this upgrade may proceed; returns the target or null after refusing. */
  function check(req, socket) {
    const address = req.socket.remoteAddress ?? "?";
    const origin = req.headers.origin;
    const url = new URL(req.url ?? "/", "http://bridge.invalid");
    const who = `${address} origin=${origin ?? "(none)"}`;
    if (path !== null && url.pathname !== path) {
      refuse(socket, 404, `no bridge at ${url.pathname}`, who);
      return null;
    }
    if (origin === undefined) {
      if (!allowMissingOrigin) {
        refuse(socket, 403, "Origin header required", who);
        return null;
      }
    } else if (!origins.has("*")) {
      let o;
      try {
        o = new URL(origin).origin;
      } catch {
        o = origin;
      }
      if (!origins.has(o)) {
        refuse(socket, 403, `origin ${origin} is not allowed`, who);
        return null;
      }
    }
    let target = targets[0];
    const asked = url.searchParams.get("target");
    if (asked !== null) {
      let t;
      try {
        t = parseTarget(asked);
      } catch {
        refuse(socket, 400, "bad target (expected host:port)", who);
        return null;
      }
      target = allowed.get(t.key);
      if (target === undefined) {
        refuse(socket, 403, `target ${t.key} is not allowed`, who);
        return null;
      }
    }
    if (live.size >= maxConnections) {
      refuse(socket, 503, "too many connections", who);
      return null;
    }
    if ((perAddr.get(address) ?? 0) >= perAddress) {
      refuse(socket, 429, "too many connections from this address", who);
      return null;
    }
    return { target, address, origin: origin ?? "(none)" };
  }

  function relay(ws, { target, address, origin }) {
    const id = nextId++;
    const conn = { ws, tcp: null, id };
    live.add(conn);
    perAddr.set(address, (perAddr.get(address) ?? 0) + 1);
    let up = 0;
    let down = 0;
    let done = false;
    let idleTimer;
    const pending = [];
    log(`bridge: #${id} open ${address} origin=${origin} -> ${target.key}`);

    const finish = (why, code, reason) => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      clearTimeout(connectTimer);
      live.delete(conn);
      const n = (perAddr.get(address) ?? 1) - 1;
      if (n <= 0) perAddr.delete(address);
      else perAddr.set(address, n);
      log(`bridge: #${id} closed (${why}); ${up} bytes to ${target.key}, ${down} bytes back`);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason.slice(0, 120));
      // Let queued bytes reach the server (a QUIT) before the FIN.
      if (!tcp.destroyed) tcp.end();
      setTimeout(() => tcp.destroy(), 1000).unref();
    };
    const touch = () => {
      clearTimeout(idleTimer);
      if (idleTimeout > 0) {
        idleTimer = setTimeout(
          () => finish("idle", CLOSE_CODES.IDLE, `idle for ${Math.round(idleTimeout / 1000)} s`),
          idleTimeout,
        );
      }
    };
    touch();

    const tcp = net.connect({ host: target.host, port: target.port });
    conn.tcp = tcp;
    tcp.setNoDelay(true);
    let connected = false;
    const connectTimer = setTimeout(() => {
      if (!connected) {
        finish("connect timeout", CLOSE_CODES.TARGET_UNREACHABLE, `could not reach ${target.key}: timed out`);
      }
    }, connectTimeout);
    tcp.on("connect", () => {
      connected = true;
      clearTimeout(connectTimer);
      for (const chunk of pending.splice(0)) tcp.write(chunk);
    });
    tcp.on("data", (chunk) => {
      down += chunk.length;
      touch();
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER) tcp.pause();
    });
    tcp.on("drain", () => ws.resume?.());
    tcp.on("end", () => finish("server closed", CLOSE_CODES.TARGET_CLOSED, "the server closed the connection"));
    tcp.on("error", (error) => {
      const code = error.code ?? "error";
      if (!connected) {
        finish(`connect ${code}`, CLOSE_CODES.TARGET_UNREACHABLE, `could not reach ${target.key}: ${code}`);
      } else {
        finish(`tcp ${code}`, CLOSE_CODES.TARGET_ERROR, `connection to ${target.key} failed: ${code}`);
      }
    });
    tcp.on("close", () => finish("tcp closed", CLOSE_CODES.TARGET_CLOSED, "the server closed the connection"));

    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        finish("text frame", CLOSE_CODES.TEXT_FRAME, "only binary frames are relayed");
        return;
      }
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      up += chunk.length;
      touch();
      if (!connected) {
        pending.push(chunk);
        return;
      }
      if (!tcp.write(chunk)) ws.pause?.();
    });
    ws.on("close", () => finish("client closed", 1000, ""));
    ws.on("error", (error) => finish(`websocket ${error.code ?? error.message}`, 1002, "websocket error"));
  }

  const bridge = {
    targets: targets.map((t) => t.key),
    get connections() {
      return live.size;
    },
    handleUpgrade(req, socket, head) {
      socket.on("error", () => {});
      const decided = check(req, socket);
      if (decided === null) return;
      wss.handleUpgrade(req, socket, head, (ws) => relay(ws, decided));
    },
    listen(port = 0, host = "127.0.0.1") {
      httpServer = http.createServer((req, res) => {
        res.writeHead(426, { "Content-Type": "text/plain", Connection: "close" });
        res.end("smtp-wasm bridge: connect with a WebSocket\n");
      });
      httpServer.on("upgrade", (req, socket, head) => bridge.handleUpgrade(req, socket, head));
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          httpServer.off("error", reject);
          const a = httpServer.address();
          const h = a.family === "IPv6" ? `[${a.address}]` : a.address;
          resolve({ port: a.port, host: a.address, url: `ws://${h}:${a.port}/` });
        });
      });
    },
    async close() {
      for (const c of live) {
        c.ws.terminate();
        c.tcp?.destroy();
      }
      live.clear();
      wss.close();
      if (httpServer !== null) {
        httpServer.closeAllConnections?.();
        await new Promise((resolve) => httpServer.close(() => resolve()));
      }
    },
  };
  return bridge;
}
