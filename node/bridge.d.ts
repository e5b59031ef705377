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
};

export declare function parseTarget(text: string): { host: string; port: number; key: string };
export declare function createBridge(options: BridgeOptions): Bridge;
