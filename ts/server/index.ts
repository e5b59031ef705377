/**
 * The fallback entrypoint of `smtp-wasm/server` (the `default` export condition): finds the wasm next to this file
 * and picks the runtime's listener on the first `listen()` (`Deno.listen` in Deno, `node:net` in Node and Bun). In a
 * runtime without either, hand connections to `server.handle(duplex, info)`.
 * @module
 */

import { type ListenFunction, setCoreFactoryMaker, setListen } from "./runtime.js";
import { setServerWasmLoader, wasmCoreFactory } from "./wasm.js";

interface Globals {
  Deno?: { readFile(path: URL): Promise<Uint8Array> };
  process?: { versions?: { node?: string } };
}

const globals = globalThis as unknown as Globals;

setServerWasmLoader(async () => {
  const url = new URL("./smtp_wasm_server_bg.wasm", import.meta.url);
  if (url.protocol !== "file:") return url;
  if (globals.Deno !== undefined) return globals.Deno.readFile(url);
  const fs = (await import(/* webpackIgnore: true */ "node:fs/promises")) as {
    readFile(path: URL): Promise<Uint8Array>;
  };
  return fs.readFile(url);
});
setCoreFactoryMaker(wasmCoreFactory);

const listenAuto: ListenFunction = async (where, onConnection) => {
  if (globals.Deno !== undefined) return (await import("./listen-deno.js")).listenDeno(where, onConnection);
  if (globals.process?.versions?.node !== undefined) {
    return (await import("./listen-node.js")).listenNode(where, onConnection);
  }
  throw new Error("this runtime has no TCP listener: hand connections to server.handle(duplex, info)");
};
setListen(listenAuto);

export * from "./common.js";
