/**
 * Entrypoint for Cloudflare Workers: the bundler turns the `.wasm` import into a WebAssembly.Module (Workers cannot
 * compile wasm from bytes at run time); TCP is `connect()` from `cloudflare:sockets`. Nothing is instantiated at
 * module top level: the first call that needs the wasm does it, inside a handler.
 * @module
 */

import wasmModule from "./smtp_wasm_bg.wasm";
// The composer's wasm (composeMessage, sendMail without `message`, DKIM): bundled as a module too, since a Worker
// cannot fetch or compile one at run time; compiled by the platform, instantiated only when first used.
import composeModule from "./smtp_compose_bg.wasm";
// The client-certificate signer's wasm, likewise: instantiated only before a connection with `clientCertificate`.
import signerModule from "./smtp_signer_bg.wasm";

import { setComposeWasmSource } from "./compose.js";
import { setWasmLoader } from "./init.js";
import { setDefaultConnect } from "./runtime.js";
import { setSignerWasmSource } from "./signer.js";
import { connectTcp } from "./tcp-workerd.js";

setWasmLoader(() => wasmModule);
setComposeWasmSource(composeModule);
setSignerWasmSource(signerModule);
setDefaultConnect(connectTcp);

export * from "./common.js";
export { connectTcp };
