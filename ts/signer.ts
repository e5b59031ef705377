/**
 * The client-certificate signer: a second small wasm, `smtp_signer_bg.wasm` (ring's ECDSA signing, built from
 * src/wasm/signer.rs), loaded only before a connection with `clientCertificate`, so that the client's `.wasm` does
 * not carry signing code that most users never run. The client wasm imports the `clientKey*` functions below
 * (src/wasm/client_key.rs) and calls them synchronously during the TLS handshake.
 * @module
 */

import type * as SignerBindings from "./smtp_signer.js";
import { instantiateSideWasm } from "./side-wasm.js";

/** Where the signer's wasm comes from: bytes, a compiled module, a URL or a Response. */
export type SignerWasmSource = SignerBindings.InitInput;

let signerSource: SignerWasmSource | Promise<SignerWasmSource> | undefined;
let loading: Promise<void> | undefined;
let bindings: typeof SignerBindings | undefined;
/** The keys of live connections, by the number the client wasm gave them. */
const keys = new Map<number, SignerBindings.ClientKey>();

/**
 * Loads the client-certificate signer (`smtp_signer_bg.wasm`) now, from `source` if given: for runtimes where it
 * is not next to this file (the `slim` entrypoint). Optional elsewhere: {@link SmtpClient.connect} loads it before
 * the first connection with `clientCertificate`.
 */
export function initClientKeySigner(source?: SignerWasmSource | Promise<SignerWasmSource>): Promise<void> {
  if (source !== undefined && loading === undefined) signerSource = source;
  return loadSigner();
}

/**
 * Registers where the signer's wasm comes from without loading it (the Workers bundle's compiled module).
 * @internal
 */
export function setSignerWasmSource(source: SignerWasmSource): void {
  if (loading === undefined) signerSource ??= source;
}

/** Instantiates the signer, once. */
export function loadSigner(): Promise<void> {
  loading ??= (async () => {
    const module = await import("./smtp_signer.js");
    const source = await signerSource;
    await instantiateSideWasm(module, source, () => new URL("./smtp_signer_bg.wasm", import.meta.url));
    bindings = module;
  })();
  const attempt = loading;
  attempt.catch(() => {
    if (loading === attempt) loading = undefined;
  });
  return attempt;
}

/**
 * Loads a private key (DER; `format`: pkcs8, sec1 or pkcs1) as key number `key`; returns its SubjectPublicKeyInfo
 * (DER). Throws a message (a string, never the key) when it cannot be used.
 * @internal Imported by the client wasm.
 */
export function clientKeyLoad(key: number, der: Uint8Array, format: string): Uint8Array {
  if (bindings === undefined) throw "the signer (smtp_signer_bg.wasm) is not loaded";
  const loaded = new bindings.ClientKey(der, format);
  keys.set(key, loaded);
  return loaded.publicKey();
}

/** @internal Imported by the client wasm: the signature of `message`. */
export function clientKeySign(key: number, message: Uint8Array): Uint8Array {
  const loaded = keys.get(key);
  if (loaded === undefined) throw "no such key";
  return loaded.sign(message);
}

/** @internal Imported by the client wasm: releases the key (its connection's configuration is gone). */
export function clientKeyFree(key: number): void {
  keys.get(key)?.free();
  keys.delete(key);
}
