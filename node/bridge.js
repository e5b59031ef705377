// A small WebSocket-to-TCP bridge for smtp-wasm in browsers (Node only; `smtp-wasm/bridge`, `npx smtp-wasm bridge`).
//
// It relays bytes between one WebSocket and one TCP connection, like websockify, with the guards a bridge reachable
// from a browser needs:
//   - it connects only to the host:port targets of its allowlist (a client picks one with `?target=host:port`;
//     without it, the first one);
//   - it checks the Origin header against an allowlist (browsers always send it; requests without one are refused
//     unless `allowMissingOrigin`);
//   - it limits concurrent connections (in total and per client address), the idle time, each connection's lifetime,
//     the frame size, and what it holds for a target that is not connected yet (the WebSocket is paused at the cap,
//     and frames that arrive after a connection ended are dropped);
//   - it can pin each target's name to the address it resolved to first (`pinNames`), so a DNS change cannot move
//     an allowed name to another host mid-flight;
//   - it never logs payloads (only who connected where, how many bytes, and why a connection ended).
// It never sees plaintext mail or credentials once smtp-wasm has set up TLS (which happens inside the wasm).
import dns from "node:dns/promises";
import http from "node:http";
import net from "node:net";
import { WebSocketServer } from "ws";

const DEFAULTS = {
  maxConnections: 64,
  maxConnectionsPerAddress: 8,
  idleTimeout: 300_000,
  connectTimeout: 10_000,
  maxFrame: 1 << 20,
  maxLifetime: 3_600_000,
  maxPending: 256 * 1024,
};
const HIGH_WATER = 1 << 20;

/** Close codes the bridge uses (4000-4999 is the private range; readable by browsers in CloseEvent.code). */
export const CLOSE_CODES = {
  TARGET_UNREACHABLE: 4502,
  TARGET_CLOSED: 1000,
  IDLE: 4408,
  TEXT_FRAME: 1003,
  TARGET_ERROR: 4500,
  LIFETIME: 4410,
  OVERFLOW: 1009,
};

/** The longest close reason a WebSocket close frame carries, in UTF-8 bytes (RFC 6455 5.5: 125 minus the code). */
const MAX_CLOSE_REASON = 123;

/** `text` cut to at most `limit` UTF-8 bytes, never inside a character (ws throws on a longer close reason). */
export function cutUtf8(text, limit = MAX_CLOSE_REASON) {
  const s = String(text);
  if (Buffer.byteLength(s) <= limit) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > limit) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Whether a listen address is loopback-only (`127.x`, `::1`, `localhost`). */
function isLoopbackHost(host) {
  const h = String(host).replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\./.test(h) || /^::ffff:127\./.test(h);
}

/**
 * Warnings for settings that let any web page (or any program) on the network use the bridge: a listen address
 * reachable from other machines together with `origins: ["*"]` or `allowMissingOrigin`.
 */
export function riskyBridgeSettings(options, listenHost) {
  const warnings = [];
  if (isLoopbackHost(listenHost)) return warnings;
  if ((options.origins ?? []).includes("*")) {
    warnings.push(
      `the bridge listens on ${listenHost} (reachable from other machines) and accepts any Origin ("*"): ` +
        "any web page can relay through it to the allowed targets",
    );
  }
  if (options.allowMissingOrigin === true) {
    warnings.push(
      `the bridge listens on ${listenHost} (reachable from other machines) and accepts requests without an Origin: ` +
        "any program on the network can relay through it to the allowed targets",
    );
  }
  return warnings;
}

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
  const maxLifetime = options.maxLifetime ?? DEFAULTS.maxLifetime;
  const maxPending = options.maxPending ?? DEFAULTS.maxPending;
  const pinNames = options.pinNames === true;
  const connectTarget = options.connect ?? ((host, port) => net.connect({ host, port }));
  /** Target key -> the address its name resolved to first (with `pinNames`). */
  const pinned = new Map();
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
    let lifetimeTimer;
    const pending = [];
    let pendingBytes = 0;
    log(`bridge: #${id} open ${address} origin=${origin} -> ${target.key}`);

    const finish = (why, code, reason) => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      clearTimeout(lifetimeTimer);
      clearTimeout(connectTimer);
      pending.length = 0;
      pendingBytes = 0;
      live.delete(conn);
      const n = (perAddr.get(address) ?? 1) - 1;
      if (n <= 0) perAddr.delete(address);
      else perAddr.set(address, n);
      log(`bridge: #${id} closed (${why}); ${up} bytes to ${target.key}, ${down} bytes back`);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, cutUtf8(reason));
      // Nothing more is read from the client: what it still sends is not relayed, and a client that does not answer
      // the close frame is cut off after a second instead of ws's 30 s close timeout.
      ws.pause?.();
      setTimeout(() => ws.terminate(), 1000).unref();
      // Let queued bytes reach the server (a QUIT) before the FIN.
      if (tcp !== null && !tcp.destroyed) tcp.end();
      setTimeout(() => tcp?.destroy(), 1000).unref();
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
    if (maxLifetime > 0) {
      lifetimeTimer = setTimeout(
        () => finish("lifetime", CLOSE_CODES.LIFETIME, `open for ${Math.round(maxLifetime / 1000)} s, the limit`),
        maxLifetime,
      );
    }

    let tcp = null;
    let connected = false;
    const connectTimer = setTimeout(() => {
      if (!connected) {
        finish("connect timeout", CLOSE_CODES.TARGET_UNREACHABLE, `could not reach ${target.key}: timed out`);
      }
    }, connectTimeout);
    const open = (host) => {
      if (done) return;
      tcp = connectTarget(host, target.port);
      conn.tcp = tcp;
      tcp.setNoDelay(true);
      tcp.on("connect", onConnect);
      tcp.on("data", onData);
      tcp.on("drain", () => ws.resume?.());
      tcp.on("end", () => finish("server closed", CLOSE_CODES.TARGET_CLOSED, "the server closed the connection"));
      tcp.on("error", onError);
      tcp.on("close", () => finish("tcp closed", CLOSE_CODES.TARGET_CLOSED, "the server closed the connection"));
    };
    const onConnect = () => {
      connected = true;
      clearTimeout(connectTimer);
      let ok = true;
      for (const chunk of pending.splice(0)) ok = tcp.write(chunk) && ok;
      pendingBytes = 0;
      if (ok) ws.resume?.();
    };
    const onData = (chunk) => {
      down += chunk.length;
      touch();
      if (ws.readyState !== ws.OPEN) return;
      ws.send(chunk, { binary: true }, () => {
        if (tcp.isPaused() && ws.bufferedAmount < HIGH_WATER) tcp.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER) tcp.pause();
    };
    const onError = (error) => {
      const code = error.code ?? "error";
      if (!connected) {
        finish(`connect ${code}`, CLOSE_CODES.TARGET_UNREACHABLE, `could not reach ${target.key}: ${code}`);
      } else {
        finish(`tcp ${code}`, CLOSE_CODES.TARGET_ERROR, `connection to ${target.key} failed: ${code}`);
      }
    };
    if (!pinNames || net.isIP(target.host) !== 0) {
      open(target.host);
    } else if (pinned.has(target.key)) {
      open(pinned.get(target.key));
    } else {
      // The first connection resolves the name; every later one goes to the same address.
      dns.lookup(target.host).then(
        ({ address }) => {
          if (!pinned.has(target.key)) {
            pinned.set(target.key, address);
            log(`bridge: ${target.key} pinned to ${address}`);
          }
          open(pinned.get(target.key));
        },
        (error) => onError(error),
      );
    }

    ws.on("message", (data, isBinary) => {
      if (!isBinary) {
        finish("text frame", CLOSE_CODES.TEXT_FRAME, "only binary frames are relayed");
        return;
      }
      // A frame that was already read when the connection ended goes nowhere.
      if (done) return;
      const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      up += chunk.length;
      touch();
      if (!connected) {
        // Held for the target, within a cap: at the cap the WebSocket stops reading (the client's sends back up);
        // a client that still floods past twice the cap is cut off.
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes > 2 * maxPending) {
          finish("too much before connect", CLOSE_CODES.OVERFLOW, "too much data before the target connected");
        } else if (pendingBytes >= maxPending) {
          ws.pause?.();
        }
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
      // Never silenced, not even with `log: null`.
      const warn = options.log === null ? (line) => console.error(line) : log;
      for (const warning of riskyBridgeSettings(options, host)) warn(`bridge: WARNING: ${warning}`);
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
