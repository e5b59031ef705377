/**
 * `smtp-wasm/server` for Deno: the wasm is read from disk next to this file; listeners are `Deno.listen`.
 * @module
 */

import { listenDeno } from "./listen-deno.js";
import { setCoreFactoryMaker, setListen } from "./runtime.js";
import { setServerWasmLoader, wasmCoreFactory } from "./wasm.js";

interface DenoFs {
  readFile(path: URL): Promise<Uint8Array>;
}

setServerWasmLoader(async () => {
  const url = new URL("./smtp_wasm_server_bg.wasm", import.meta.url);
  const deno = (globalThis as unknown as { Deno?: DenoFs }).Deno;
  if (url.protocol === "file:" && deno !== undefined) return deno.readFile(url);
  return url;
});
setCoreFactoryMaker(wasmCoreFactory);
setListen(listenDeno);

export * from "./common.js";
