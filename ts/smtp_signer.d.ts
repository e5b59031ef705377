/**
 * The shape of the signer module wasm-bindgen generates from src/wasm/signer.rs (`--target web`), written by hand;
 * scripts/check-bindings.mjs compares the method names with the generated `smtp_signer.d.ts` at build time.
 * Internal: the public API never exposes these types.
 */

/** A client certificate's private key, held in the signer's memory until `free()`. */
export class ClientKey {
  free(): void;
  /** Throws a message (never the key) unless `der` is an ECDSA P-256 or P-384 key (`format`: pkcs8 or sec1). */
  constructor(der: Uint8Array, format: string);
  /** The SubjectPublicKeyInfo, DER. */
  publicKey(): Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

// The glue's loader functions and types are the ones every wasm-bindgen `--target web` module has.
export type { InitInput, InitOutput } from "./smtp_wasm.js";
export { initSync, default } from "./smtp_wasm.js";
