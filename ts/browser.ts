/**
 * Entrypoint for browsers (and bundlers targeting them): the wasm is fetched next to this file. Browsers cannot
 * open TCP: use {@link connectWebSocket} through a WebSocket-to-TCP bridge, and pass `connect` to `sendMail`.
 * @module
 */

import { UsageError } from "./errors.js";
import { setWasmLoader } from "./init.js";
import type { ConnectTcpOptions } from "./runtime.js";
import type { Duplex } from "./types.js";

setWasmLoader(() => new URL("./smtp_wasm_bg.wasm", import.meta.url));

export * from "./common.js";

/** Browsers cannot open TCP connections: always rejects with a UsageError. Use {@link connectWebSocket}. */
export function connectTcp(host: string, port: number, options?: ConnectTcpOptions): Promise<Duplex> {
  void options;
  return Promise.reject(
    new UsageError(`browsers cannot open TCP connections (to ${host}:${port}); use connectWebSocket and a bridge`),
  );
}
