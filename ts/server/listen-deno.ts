/**
 * The TCP listener of Deno (`Deno.listen`), each connection read and written through its web streams.
 * @module
 */

import type { ListenFunction } from "./runtime.js";
import { duplexTransport } from "./transport.js";

interface DenoNetAddr {
  hostname: string;
  port: number;
}

interface DenoConn {
  readonly remoteAddr: DenoNetAddr;
  readonly localAddr: DenoNetAddr;
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

interface DenoListener {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoConn>;
  close(): void;
}

/**
 * Accept errors that pass once connections close (the process or the system ran out of descriptors or buffers):
 * the loop pauses and accepts again, as go-smtp does, instead of ending and leaving the port unserved for good.
 */
const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
/** The first and the longest of those pauses (go-smtp's and Go's net/http backoff: 5 ms doubling to 1 s). */
const ACCEPT_PAUSE_MIN_MS = 5;
const ACCEPT_PAUSE_MAX_MS = 1000;

interface DenoNamespace {
  listen(options: { hostname: string; port: number; transport?: "tcp" }): DenoListener;
}

/** Listens with `Deno.listen`. */
export const listenDeno: ListenFunction = (where, onConnection) => {
  const deno = (globalThis as unknown as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) return Promise.reject(new Error("Deno.listen is not available in this runtime"));
  const listener = deno.listen({ hostname: where.host, port: where.port, transport: "tcp" });
  let closed = false;
  const loop = (async () => {
    let pause = 0;
    try {
      for (;;) {
        let conn: DenoConn;
        try {
          conn = await listener.accept();
          pause = 0;
        } catch (error) {
          if (closed || !EXHAUSTED.has((error as { code?: unknown }).code as string)) throw error;
          pause = pause === 0 ? ACCEPT_PAUSE_MIN_MS : Math.min(pause * 2, ACCEPT_PAUSE_MAX_MS);
          await new Promise((resolve) => setTimeout(resolve, pause));
          continue;
        }
        try {
          conn.setNoDelay?.(true);
        } catch {
          // Not supported: only latency.
        }
        const transport = duplexTransport({
          readable: conn.readable,
          writable: conn.writable,
          close: () => {
            try {
              conn.close();
            } catch {
              // Already closed through its streams.
            }
            return Promise.resolve();
          },
        });
        onConnection(transport, {
          remoteAddress: conn.remoteAddr.hostname,
          remotePort: conn.remoteAddr.port,
          localAddress: conn.localAddr.hostname,
          localPort: conn.localAddr.port,
        });
      }
    } catch (error) {
      if (!closed) console.error(`smtp-wasm/server: listener error: ${String(error)}`);
    }
  })();
  return Promise.resolve({
    address: { host: where.host, port: listener.addr.port },
    close: async () => {
      closed = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await loop;
    },
  });
};
