/**
 * {@link SmtpServer}: listeners, the set of open connections, limits at accept time (maxConnections, the rate
 * limiter), a watchdog that fires every connection's deadlines, and shutdown.
 * @module
 */

import { UsageError } from "../errors.js";
import type { Duplex } from "../types.js";
import { ConnectionDriver, type ConnectionHost } from "./conn.js";
import type { RawReplySpec, RawServerConfig, ServerCoreFactory } from "./core.js";
import { inNetworks } from "./cidr.js";
import { ProxyHeaderError, readProxyHeader } from "./proxy.js";
import { type ResolvedOptions, resolveOptions } from "./options.js";
import {
  type AcceptedInfo,
  CORE_FACTORY,
  type CoreFactoryMaker,
  type Listener,
  runtimeCoreFactoryMaker,
  runtimeListen,
} from "./runtime.js";
import { duplexTransport, type ServerTransport } from "./transport.js";
import type {
  ConnectionInfo,
  ConnectionState,
  ListenAddress,
  ListenOptions,
  ServerConnection,
  SmtpServerOptions,
} from "./types.js";

/** How long `close()` lets sessions write their `421` before dropping them. */
const CLOSE_GRACE_MS = 10_000;

// Session ids: a random 32-bit prefix per process and a counter (16 hex digits). Unique, which is all a session id
// has to be; drawing 8 random bytes per connection cost ~2% of the CPU of a connection in the smtp-source benchmark.
let sidPrefix: string | undefined;
let sidCounter = 0;
function randomSid(): string {
  if (sidPrefix === undefined) {
    const bytes = new Uint8Array(4);
    globalThis.crypto.getRandomValues(bytes);
    sidPrefix = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  sidCounter = (sidCounter + 1) % 0x100000000;
  return sidPrefix + sidCounter.toString(16).padStart(8, "0");
}

/**
 * An SMTP or LMTP server: go-smtp's `Server` with its `Backend`/`Session` in JavaScript's idiom. The protocol runs in
 * the wasm core; this class moves bytes and calls the backend.
 *
 * ```ts
 * const server = new SmtpServer({ backend, domain: "mx.example.test", tls: { cert, key } });
 * const { port } = await server.listen({ port: 2525 });
 * ```
 */
export class SmtpServer {
  private readonly options: ResolvedOptions;
  private readonly factoryOverride: CoreFactoryMaker | undefined;
  private factory: Promise<ServerCoreFactory> | undefined;
  /** The factory once made: a connection then takes it without awaiting (no microtask per connection). */
  private readyFactory: ServerCoreFactory | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly open = new Map<number, ConnectionDriver>();
  private nextId = 1;
  private closing = false;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private readonly host: ConnectionHost;

  constructor(options: SmtpServerOptions) {
    this.options = resolveOptions(options);
    const override = (options as unknown as Record<symbol, unknown>)[CORE_FACTORY];
    if (override !== undefined && typeof override !== "function") throw new TypeError("bad core factory");
    this.factoryOverride = override as CoreFactoryMaker | undefined;
    this.host = {
      options: this.options,
      onError: (error, state, phase) => {
        // go-smtp's ErrorLog: the client got a fixed 451; the operator gets the cause.
        const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
        console.error(`smtp-wasm/server: [${state.sid} ${state.remoteAddress}] ${phase}: ${text}`);
      },
      onClosed: (conn) => {
        this.open.delete(conn.id);
        if (this.open.size === 0) this.stopWatchdog();
      },
    };
  }

  /** The configuration the core gets (made once per server). */
  private coreConfig(): RawServerConfig {
    const o = this.options;
    const login = o.backend.login !== undefined && !o.authDisabled;
    return {
      domain: o.domain,
      lmtp: o.lmtp,
      tls: o.tls,
      maxRecipients: o.maxRecipients,
      maxMessageBytes: o.maxMessageBytes,
      maxLineLength: o.maxLineLength,
      allowInsecureAuth: o.allowInsecureAuth,
      authDisabled: !login,
      strict: o.strict,
      ...o.extensions,
      readTimeout: o.readTimeout,
      transcript: o.debug !== null,
      authMechanisms: login ? ["PLAIN", "LOGIN"] : [],
      secureNets: o.secureNetsText,
      xclient: typeof o.backend.allowProxy === "function",
    };
  }

  /** Loads the wasm and parses the certificate (once); rejects if the certificate or key is unusable. */
  private coreFactory(): Promise<ServerCoreFactory> {
    if (this.factory === undefined) {
      const make = this.factoryOverride ?? runtimeCoreFactoryMaker();
      if (make === undefined) {
        return Promise.reject(new UsageError("smtp-wasm/server: no wasm loader registered for this runtime"));
      }
      const attempt = Promise.resolve().then(() => make(this.coreConfig()));
      attempt.then(
        (made) => {
          if (this.factory === attempt) this.readyFactory = made;
        },
        () => {
          if (this.factory === attempt) this.factory = undefined;
        },
      );
      this.factory = attempt;
    }
    return this.factory;
  }

  /**
   * Listens on TCP with the runtime's API (`node:net` in Node and Bun, `Deno.listen` in Deno). Call it more than once
   * for more ports (STARTTLS on one, implicit TLS on another).
   */
  async listen(options: ListenOptions = {}): Promise<ListenAddress> {
    if (typeof options !== "object" || options === null) throw new TypeError("listen({ port, host, implicitTls })");
    for (const key of Object.keys(options)) {
      if (!["port", "host", "implicitTls"].includes(key)) {
        throw new TypeError(`SmtpServer.listen: unknown option ${JSON.stringify(key)}`);
      }
    }
    const port = options.port ?? 0;
    const host = options.host ?? "127.0.0.1";
    const implicitTls = options.implicitTls ?? false;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError("listen: port must be 0-65535");
    if (typeof host !== "string" || host === "") throw new TypeError("listen: host must be a non-empty string");
    if (typeof implicitTls !== "boolean") throw new TypeError("listen: implicitTls must be a boolean");
    if (implicitTls && this.options.tls === null) {
      throw new UsageError("listen({ implicitTls: true }) needs the server's tls option (a certificate and key)");
    }
    if (this.closing) throw new UsageError("the server is closed");
    const impl = runtimeListen();
    if (impl === undefined) {
      throw new UsageError("this runtime has no TCP listener: hand connections to server.handle(duplex, info)");
    }
    await this.coreFactory();
    const listener = await impl({ host, port }, (transport, info) => {
      void this.accept(transport, info, implicitTls);
    });
    this.listeners.add(listener);
    return listener.address;
  }

  /**
   * Serves one connection from any transport (a WebSocket, a stream pair, a test); resolves when its session ended.
   */
  async handle(duplex: Duplex, info: ConnectionInfo): Promise<void> {
    if (typeof info !== "object" || info === null || typeof info.remoteAddress !== "string") {
      throw new TypeError("handle(duplex, { remoteAddress, remotePort?, localAddress?, localPort?, implicitTls? })");
    }
    if (info.implicitTls === true && this.options.tls === null) {
      throw new UsageError("handle(..., { implicitTls: true }) needs the server's tls option");
    }
    const transport = duplexTransport(duplex);
    const conn = await this.accept(
      transport,
      {
        remoteAddress: info.remoteAddress,
        remotePort: info.remotePort ?? 0,
        localAddress: info.localAddress ?? "",
        localPort: info.localPort ?? 0,
      },
      info.implicitTls ?? false,
    );
    await conn?.finished();
  }

  /** Sets up a connection; `null` when it was refused at once. */
  private async accept(
    transport: ServerTransport,
    info: AcceptedInfo,
    implicitTls: boolean,
  ): Promise<ConnectionDriver | null> {
    // (Reassigned when a PROXY protocol header names the real client.)
    const o = this.options;
    const refuse = (reply: RawReplySpec): null => {
      // A TLS client could not read a cleartext reply: it just sees the connection close.
      if (implicitTls) {
        transport.destroy();
        return null;
      }
      const line = `${reply.code} ${reply.enhancedCode?.join(".") ?? ""} ${o.domain} ${reply.text}\r\n`;
      (transport.write(new TextEncoder().encode(line)) ?? Promise.resolve()).then(
        () => transport.end(),
        () => transport.destroy(),
      );
      return null;
    };
    if (this.closing) return refuse({ code: 421, enhancedCode: [4, 3, 2], text: "Service shutting down" });
    if (o.maxConnections > 0 && this.open.size >= o.maxConnections) {
      return refuse({ code: 421, enhancedCode: [4, 7, 0], text: "Too many connections, try again later" });
    }
    if (o.proxyNetworks.length > 0 && inNetworks(info.remoteAddress, o.proxyNetworks)) {
      // A load balancer: the client it names is the peer from here on (the rate limiter's key included).
      try {
        const factory = this.readyFactory ?? (await this.coreFactory());
        if (factory.parseProxyHeader === undefined) throw new Error("this core has no PROXY protocol parser");
        const proxied = await readProxyHeader(transport, (b) => factory.parseProxyHeader?.(b), o.readTimeout);
        transport = proxied.transport;
        const { sourceAddress, sourcePort, destinationAddress, destinationPort } = proxied.header;
        if (sourceAddress !== undefined && destinationAddress !== undefined) {
          info = {
            remoteAddress: sourceAddress,
            remotePort: sourcePort ?? 0,
            localAddress: destinationAddress,
            localPort: destinationPort ?? 0,
          };
        }
      } catch (error) {
        transport.destroy();
        // A peer in proxyProtocol that sent no valid header is a misconfigured proxy (or not the proxy): the
        // operator hears of it, without a stack; a plain TCP health check (closed at once) is not worth a line.
        if (error instanceof ProxyHeaderError) {
          if (!error.quiet) this.host.onError(error.message, this.stateFor("-", info), "PROXY protocol");
        } else {
          this.host.onError(error, this.stateFor("-", info), "PROXY protocol");
        }
        return null;
      }
    }
    if (o.rateLimiter !== null) {
      let allowed: boolean;
      try {
        allowed = await o.rateLimiter.take(info.remoteAddress);
      } catch (error) {
        this.host.onError(error, this.stateFor("-", info), "rateLimiter");
        allowed = true;
      }
      if (!allowed) {
        return refuse({ code: 421, enhancedCode: [4, 7, 0], text: "Too many connections from your address, slow down" });
      }
    }
    let factory: ServerCoreFactory;
    let sid: string;
    try {
      factory = this.readyFactory ?? (await this.coreFactory());
      sid = o.backend.generateSid?.() ?? randomSid();
      if (typeof sid !== "string") throw new TypeError("backend.generateSid() must return a string");
    } catch (error) {
      this.host.onError(error, this.stateFor("-", info), "accept");
      return refuse({ code: 421, enhancedCode: [4, 3, 0], text: "Service not available" });
    }
    const state = this.stateFor(sid, info);
    let core;
    try {
      core = factory.create(
        {
          remoteAddress: info.remoteAddress,
          remotePort: info.remotePort,
          localAddress: info.localAddress,
          localPort: info.localPort,
          implicitTls,
          secureNet: inNetworks(info.remoteAddress, o.secureNets),
        },
        Date.now(),
      );
    } catch (error) {
      this.host.onError(error, state, "accept");
      return refuse({ code: 421, enhancedCode: [4, 3, 0], text: "Service not available" });
    }
    if (this.closing) {
      core.free?.();
      return refuse({ code: 421, enhancedCode: [4, 3, 2], text: "Service shutting down" });
    }
    const conn = new ConnectionDriver(this.host, core, transport, state, this.nextId++);
    this.open.set(conn.id, conn);
    this.startWatchdog();
    conn.start();
    return conn;
  }

  private stateFor(sid: string, info: AcceptedInfo): ConnectionState {
    return {
      sid,
      hostname: "",
      remoteAddress: info.remoteAddress,
      remotePort: info.remotePort,
      localAddress: info.localAddress,
      localPort: info.localPort,
      tls: null,
    };
  }

  /** The open connections (go-smtp's `ForEachConn`). */
  connections(): ServerConnection[] {
    return [...this.open.values()].map((conn) => ({
      id: conn.id,
      state: conn.snapshot(),
      reject: () => {
        conn.stop({ kind: "shutdown", reply: { code: 421, enhancedCode: [4, 7, 0], text: "Too busy, try again later" } });
        return conn.finished();
      },
      close: () => {
        conn.stop({ kind: "destroy" });
        return conn.finished();
      },
    }));
  }

  /** Stops listening; every open session gets `421` and is closed. Resolves when all are gone. */
  async close(): Promise<void> {
    this.closing = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    // Stops accepting now; Node's close() resolves only once every socket is gone, so it is awaited last.
    const stopped = Promise.all(listeners.map((l) => l.close().catch(() => {})));
    const conns = [...this.open.values()];
    for (const conn of conns) conn.stop({ kind: "shutdown" });
    const all = Promise.all(conns.map((c) => c.finished()));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), CLOSE_GRACE_MS);
    });
    const r = await Promise.race([all.then(() => "ok" as const), late]);
    if (timer !== undefined) clearTimeout(timer);
    if (r === "late") {
      for (const conn of conns) conn.stop({ kind: "destroy" });
      await all;
    }
    await stopped;
    this.stopWatchdog();
    const factory = this.factory;
    this.factory = undefined;
    this.readyFactory = undefined;
    if (factory !== undefined) (await factory.catch(() => null))?.free?.();
  }

  // One interval for every deadline of every connection (see ConnectionDriver.tick).
  private startWatchdog(): void {
    if (this.watchdog !== undefined) return;
    const o = this.options;
    const shortest = Math.min(...[o.readTimeout, o.writeTimeout].filter((t) => t > 0), 4000);
    const every = Math.max(20, Math.min(1000, Math.floor(shortest / 4)));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const conn of this.open.values()) conn.tick(now);
    }, every);
    const t = this.watchdog as unknown as { unref?: () => void };
    t.unref?.();
  }

  private stopWatchdog(): void {
    if (this.watchdog === undefined) return;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}
