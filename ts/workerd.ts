/**
 * Entrypoint for Cloudflare Workers: the bundler turns the `.wasm` import into a WebAssembly.Module (Workers cannot
 * compile wasm from bytes at run time); TCP is `connect()` from `cloudflare:sockets`. Nothing is instantiated at
 * module top level: the first call that needs the wasm does it, inside a handler.
 * @module
 */

import wasmModule from "./smtp_wasm_bg.wasm";

import { setWasmLoader } from "./init.js";
import { setDefaultConnect } from "./runtime.js";
import { connectTcp } from "./tcp-workerd.js";

setWasmLoader(() => wasmModule);
setDefaultConnect(connectTcp);

export * from "./common.js";
export { connectTcp };
