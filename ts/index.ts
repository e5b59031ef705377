/**
 * The fallback entrypoint (the `default` export condition), for runtimes no other condition matched: finds the
 * wasm next to this file (read from disk for `file:` URLs, fetched otherwise) and picks the runtime's TCP when
 * `connectTcp` is first called. Its types are the types of every entrypoint.
 * @module
 */

import { UsageError } from "./errors.js";
import { setWasmLoader } from "./init.js";
import { setDefaultConnect, type ConnectTcpOptions } from "./runtime.js";
import type { Duplex } from "./types.js";

interface Globals {
  Deno?: { readFile(path: URL): Promise<Uint8Array> };
  process?: { versions?: { node?: string } };
}

const globals = globalThis as unknown as Globals;

setWasmLoader(async () => {
  const url = new URL("./smtp_wasm_bg.wasm", import.meta.url);
  if (url.protocol !== "file:") return url;
  if (globals.Deno !== undefined) return globals.Deno.readFile(url);
  const fs = (await import(/* webpackIgnore: true */ "node:fs/promises")) as {
    readFile(path: URL): Promise<Uint8Array>;
  };
  return fs.readFile(url);
});

/**
 * Opens a TCP connection with the runtime's own API (`node:net` in Node and Bun, `Deno.connect` in Deno,
 * `cloudflare:sockets` in Workers). Browsers have none: use {@link connectWebSocket}.
 */
export async function connectTcp(host: string, port: number, options?: ConnectTcpOptions): Promise<Duplex> {
  if (globals.Deno !== undefined) return (await import("./tcp-deno.js")).connectTcp(host, port, options);
  if (globals.process?.versions?.node !== undefined) {
    return (await import("./tcp-node.js")).connectTcp(host, port, options);
  }
  throw new UsageError(
    `this runtime cannot open TCP connections (to ${host}:${port}); use connectWebSocket or fromSocket`,
  );
}

setDefaultConnect(connectTcp);

export * from "./common.js";
