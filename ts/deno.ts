/**
 * Entrypoint for Deno: the wasm is read from disk next to this file; TCP is `Deno.connect`.
 * @module
 */

import { setWasmLoader } from "./init.js";
import { setDefaultConnect } from "./runtime.js";
import { connectTcp } from "./tcp-deno.js";

interface DenoFs {
  readFile(path: URL): Promise<Uint8Array>;
}

setWasmLoader(async () => {
  const url = new URL("./smtp_wasm_bg.wasm", import.meta.url);
  const deno = (globalThis as unknown as { Deno?: DenoFs }).Deno;
  if (url.protocol === "file:" && deno !== undefined) return deno.readFile(url);
  return url;
});
setDefaultConnect(connectTcp);

export * from "./common.js";
export { connectTcp };
