/**
 * The slim entrypoint: no automatic wasm loading and no TCP of its own. Call `init(source)` with the bytes, a URL,
 * a Response or a WebAssembly.Module of `smtp-wasm/smtp_wasm_bg.wasm` first; open connections with
 * {@link connectWebSocket}, {@link fromSocket}, or pass `connect` to `sendMail`.
 * @module
 */

export * from "./common.js";
