/**
 * Entrypoint for Node and Bun: the wasm is read from disk next to this file; TCP is `node:net`.
 * @module
 */

import { readFileSync } from "node:fs";

import { setSyncWasmLoader } from "./init.js";
import { setDefaultConnect } from "./runtime.js";
import { connectTcp } from "./tcp-node.js";

// Read and compiled synchronously on the first init(): much faster in Node than the asynchronous path.
setSyncWasmLoader(() => readFileSync(new URL("./smtp_wasm_bg.wasm", import.meta.url)));
setDefaultConnect(connectTcp);

export * from "./common.js";
export { connectTcp };
