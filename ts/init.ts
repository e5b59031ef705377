/**
 * Loading the wasm module, once. Each runtime's entrypoint registers how to find the `.wasm` file (read it from disk,
 * fetch it next to the JS, or take the `WebAssembly.Module` a Workers bundle imports); every API that needs the wasm
 * awaits {@link init}, which shares one promise, so calling it twice (or concurrently) is safe.
 * @module
 */

import wbgInit, { initSync, loadMozillaRoots, mozillaRootsLoaded, type InitInput } from "./smtp_wasm.js";

/** Where the wasm module comes from: its bytes, a compiled module, a URL or a Response. */
export type WasmSource = InitInput;

/** Returns the wasm module's source for this runtime. */
export type WasmLoader = () => WasmSource | Promise<WasmSource>;

/** Returns the wasm module's bytes (or compiled module) synchronously. */
export type SyncWasmLoader = () => BufferSource | WebAssembly.Module;

let loader: WasmLoader | undefined;
let syncLoader: SyncWasmLoader | undefined;
let ready: Promise<void> | undefined;
let initialized = false;

/** Registers the runtime's way to find the wasm (called by the entrypoints, never by users). */
export function setWasmLoader(load: WasmLoader): void {
  loader = load;
  syncLoader = undefined;
}

/**
 * Registers a synchronous way to find the wasm, for runtimes where compiling synchronously is allowed and faster
 * (Node: `new WebAssembly.Module` takes ~7 ms for this module where `WebAssembly.instantiate` takes 25-50 ms,
 * most of it waiting for background compile tasks and event-loop turns).
 */
export function setSyncWasmLoader(load: SyncWasmLoader): void {
  syncLoader = load;
  loader = undefined;
}

/**
 * Loads and instantiates the wasm module. Called automatically by every API that needs it; call it yourself to load
 * early, or, with the `smtp-wasm/slim` entrypoint, to say where the `.wasm` is. Safe to call more than once: later
 * calls return the same promise (and ignore `source`).
 */
export function init(source?: WasmSource | Promise<WasmSource>): Promise<void> {
  if (ready === undefined && source === undefined && syncLoader !== undefined) {
    try {
      initSync({ module: syncLoader() });
      initialized = true;
      ready = Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (ready === undefined) {
    const attempt = (async () => {
      const input = source ?? (loader === undefined ? undefined : await loader());
      if (input === undefined) {
        throw new Error(
          "smtp-wasm: no way to load the wasm module in this runtime; call init() with the bytes, a URL or a " +
            "WebAssembly.Module of smtp_wasm_bg.wasm",
        );
      }
      const value: unknown = input;
      if (value instanceof WebAssembly.Module || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
        // Bytes or a compiled module (Node, Bun, Deno, workerd): compile here and instantiate synchronously.
        // wasm-bindgen's async init would first test `module_or_path instanceof Request`/`Response`, and in Node
        // merely reading those globals loads undici, the fetch implementation: +5-8 ms of every cold start.
        const module = value instanceof WebAssembly.Module ? value : await WebAssembly.compile(value);
        initSync({ module });
      } else {
        await wbgInit({ module_or_path: input });
      }
      initialized = true;
    })();
    ready = attempt;
    // A failed load may be retried (for example after a network error in a browser).
    attempt.catch(() => {
      if (ready === attempt) ready = undefined;
    });
  }
  return ready;
}

/** Whether the wasm module is ready (synchronous APIs may run). */
export function isInitialized(): boolean {
  return initialized;
}

let roots: Promise<void> | undefined;

/**
 * Loads the Mozilla root store into the wasm, once, from its own module (`mozilla_roots.js`, ~57 kB gzip): it is
 * not inside the `.wasm`, so that users who trust only their own CA (`onlyRootCertificates`) never download or
 * parse it. Called by {@link SmtpClient.connect} before a connection that trusts the Mozilla roots; call it yourself
 * to load early. Needs {@link init} first.
 */
export function loadRoots(): Promise<void> {
  if (roots === undefined) {
    if (mozillaRootsLoaded()) return Promise.resolve();
    const attempt = import("./mozilla_roots.js").then((module: { default: string }) => {
      loadMozillaRoots(fromBase64(module.default));
    });
    roots = attempt;
    attempt.catch(() => {
      if (roots === attempt) roots = undefined;
    });
  }
  return roots;
}

/** Base64 to bytes with the runtime's native decoder (`Uint8Array.fromBase64` where it exists, else `atob`). */
function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
  if (typeof native === "function") return native.call(Uint8Array, text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
