/**
 * TCP for Cloudflare Workers (`connect()` from `cloudflare:sockets`), in plaintext: TLS runs inside the wasm, so
 * STARTTLS works and the Workers runtime only ever sees ciphertext.
 * @module
 */

import { connect } from "cloudflare:sockets";

import { checkKeys } from "./checks.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";
import { DEFAULT_CONNECT_TIMEOUT, type ConnectTcpOptions } from "./runtime.js";
import { fromSocket } from "./transports.js";
import type { Duplex } from "./types.js";

/** Opens a TCP connection with `cloudflare:sockets`. */
export async function connectTcp(host: string, port: number, options: ConnectTcpOptions = {}): Promise<Duplex> {
  checkKeys(options, ["timeout", "signal"], "connectTcp options");
  options.signal?.throwIfAborted();
  const socket = connect({ hostname: host, port }, { secureTransport: "off", allowHalfOpen: false });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    if (socket.opened !== undefined) {
      const waits: Array<Promise<unknown>> = [socket.opened];
      waits.push(
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new TimeoutError(`connecting to ${host}:${port} timed out`, { phase: "connect" })),
            options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
          );
        }),
      );
      await Promise.race(waits);
    }
  } catch (error) {
    await socket.close().catch(() => {});
    if (error instanceof TimeoutError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new ConnectionClosedError(`could not connect to ${host}:${port}: ${message}`, {
      phase: "connect",
      cause: error,
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  return fromSocket(socket);
}
