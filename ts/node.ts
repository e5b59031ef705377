/**
 * Entrypoint for Node and Bun: the wasm is read from disk next to this file; TCP is `node:net`.
 * @module
 */

import { readFile } from "node:fs/promises";

import { setWasmLoader } from "./init.js";
import { setDefaultConnect } from "./runtime.js";
import { connectTcp } from "./tcp-node.js";

setWasmLoader(() => readFile(new URL("./smtp_wasm_bg.wasm", import.meta.url)));
setDefaultConnect(connectTcp);

export * from "./common.js";
export { connectTcp };
