/**
 * `smtp-wasm/bridge`: a WebSocket-to-TCP bridge for smtp-wasm in browsers (Node only). It relays only to an
 * allowlist of targets, checks the Origin, limits connections and idle time, and never logs payloads.
 * websockify (`websockify 127.0.0.1:8025 127.0.0.1:587`) is an alternative that works with the same client.
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { Duplex as NodeDuplex } from "node:stream";

export interface BridgeOptions {
  /** `host:port` targets this bridge may connect to; a client picks one with `?target=host:port`, default the first. */
  allow: string[];
  /** Allowed page origins (`"http://localhost:8080"`), or `"*"` for any. */
  origins?: string[];
  /** Accept requests without an Origin header (non-browser clients). Default false. */
  allowMissingOrigin?: boolean;
  /** Only accept upgrades on this path (default: any path). */
  path?: string;
  /** Concurrent connections in total (default 64). */
  maxConnections?: number;
  /** Concurrent connections per client address (default 8). */
  maxConnectionsPerAddress?: number;
  /** Close a connection after this many ms with no byte either way (default 300000; 0 = never). */
  idleTimeout?: number;
  /** Give up connecting to the target after this many ms (default 10000). */
  connectTimeout?: number;
  /** Largest WebSocket message accepted, in bytes (default 1 MiB). */
  maxFrame?: number;
  /** Close a connection after this many ms whatever it does (default 3600000, one hour; 0 = never). */
  maxLifetime?: number;
  /**
   * Bytes held for a target that is not connected yet (default 256 KiB): at this many the WebSocket stops reading;
   * past twice as many the connection is closed (1009).
   */
  maxPending?: number;
  /**
   * Resolve each target's name once, on its first connection, and connect every later one to that address (a DNS
   * change, a rebinding attack, cannot move an allowed name elsewhere). Default false: resolved per connection.
   */
  pinNames?: boolean;
  /**
   * Opens the TCP connection to a target (an address when `pinNames` resolved it); default `net.connect`. For a
   * proxy in front of the targets, or tests.
   */
  connect?: (host: string, port: number) => import("node:net").Socket;
  /** Where connection events go (never payloads). Default: stderr; `null` for silence. */
  log?: ((line: string) => void) | null;
}

export interface Bridge {
  /** The allowed targets, canonical `host:port`. */
  readonly targets: string[];
  /** Connections open now. */
  readonly connections: number;
  /** Handles an HTTP `upgrade` event of your own server. */
  handleUpgrade(req: IncomingMessage, socket: NodeDuplex, head: Buffer): void;
  /** Serves the bridge on its own HTTP server. */
  listen(port?: number, host?: string): Promise<{ port: number; host: string; url: string }>;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

export declare const CLOSE_CODES: {
  TARGET_UNREACHABLE: 4502;
  TARGET_CLOSED: 1000;
  IDLE: 4408;
  TEXT_FRAME: 1003;
  TARGET_ERROR: 4500;
  LIFETIME: 4410;
  OVERFLOW: 1009;
};

/** `text` cut to at most `limit` UTF-8 bytes (default 123, a close frame's room), never inside a character. */
export declare function cutUtf8(text: string, limit?: number): string;
/** Warnings for risky settings: a non-loopback listen address with `origins: ["*"]` or `allowMissingOrigin`. */
export declare function riskyBridgeSettings(options: BridgeOptions, listenHost: string): string[];

export declare function parseTarget(text: string): { host: string; port: number; key: string };
export declare function createBridge(options: BridgeOptions): Bridge;
