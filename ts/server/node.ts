/**
 * `smtp-wasm/server` for Node and Bun: the wasm is read from disk next to this file; listeners are `node:net`.
 * @module
 */

import { readFileSync } from "node:fs";

import { listenNode } from "./listen-node.js";
import { setCoreFactoryMaker, setListen } from "./runtime.js";
import { setServerWasmLoader, wasmCoreFactory } from "./wasm.js";

setServerWasmLoader(() => readFileSync(new URL("./smtp_wasm_server_bg.wasm", import.meta.url)));
setCoreFactoryMaker(wasmCoreFactory);
setListen(listenNode);

export * from "./common.js";
