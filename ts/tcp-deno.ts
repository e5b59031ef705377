/**
 * TCP for Deno (`Deno.connect`), with Nagle off.
 * @module
 */

import { checkKeys } from "./checks.js";
import { ConnectionClosedError, TimeoutError, UsageError } from "./errors.js";
import { DEFAULT_CONNECT_TIMEOUT, type ConnectTcpOptions } from "./runtime.js";
import { fromSocket } from "./transports.js";
import type { Duplex } from "./types.js";

interface DenoConn {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
}

interface DenoNamespace {
  connect(options: { hostname: string; port: number; transport?: "tcp"; signal?: AbortSignal }): Promise<DenoConn>;
}

/** Opens a TCP connection with `Deno.connect`. */
export async function connectTcp(host: string, port: number, options: ConnectTcpOptions = {}): Promise<Duplex> {
  const deno = (globalThis as unknown as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) throw new UsageError("Deno.connect is not available in this runtime");
  checkKeys(options, ["timeout", "signal"], "connectTcp options");
  options.signal?.throwIfAborted();
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeout ?? DEFAULT_CONNECT_TIMEOUT);
  try {
    const conn = await deno.connect({ hostname: host, port, transport: "tcp", signal: controller.signal });
    conn.setNoDelay?.(true);
    return fromSocket(conn);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timedOut) throw new TimeoutError(`connecting to ${host}:${port} timed out`, { phase: "connect" });
    const message = error instanceof Error ? error.message : String(error);
    throw new ConnectionClosedError(`could not connect to ${host}:${port}: ${message}`, {
      phase: "connect",
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
