/**
 * Loading the server's own wasm (`smtp_wasm_server_bg.wasm`, built with only the `server` feature, so neither
 * entrypoint's download carries the other role), once, and making cores from it. Each entrypoint registers how to
 * find the file; {@link initServer} shares one promise, so concurrent servers load it once.
 * @module
 */

import type { RawServerConfig, ServerCoreFactory } from "./core.js";

// The bindings are imported when first needed: importing `smtp-wasm/server` (for its types, or to build a server
// that gets its cores elsewhere) loads no wasm glue.
type Bindings = typeof import("./smtp_wasm_server.js");
let bindings: Bindings | undefined;

/** Where the server wasm comes from: its bytes, a compiled module, or a URL. */
export type ServerWasmSource = BufferSource | WebAssembly.Module | URL | Response;

let loader: (() => ServerWasmSource | Promise<ServerWasmSource>) | undefined;
let ready: Promise<void> | undefined;

/** Registers the runtime's way to find the server wasm (the entrypoints). */
export function setServerWasmLoader(load: () => ServerWasmSource | Promise<ServerWasmSource>): void {
  loader = load;
}

/**
 * Loads and instantiates the server wasm. Called by `listen()` and `handle()`; call it yourself to load early or to
 * say where the `.wasm` is. Later calls return the same promise.
 */
export function initServer(source?: ServerWasmSource | Promise<ServerWasmSource>): Promise<void> {
  if (ready === undefined) {
    const attempt = (async () => {
      const b = await import("./smtp_wasm_server.js");
      const input = source ?? (loader === undefined ? undefined : await loader());
      if (input === undefined) {
        throw new Error("smtp-wasm/server: no way to load the wasm in this runtime; call initServer(bytes or URL)");
      }
      const value: unknown = input;
      if (value instanceof WebAssembly.Module) b.initSync({ module: value });
      else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
        b.initSync({ module: await WebAssembly.compile(value as BufferSource) });
      } else await b.default({ module_or_path: input as URL | Response });
      bindings = b;
    })();
    ready = attempt;
    attempt.catch(() => {
      if (ready === attempt) ready = undefined;
    });
  }
  return ready;
}

function errorOf(raw: unknown): Error {
  if (raw instanceof Error) return raw;
  if (typeof raw === "object" && raw !== null && typeof (raw as { message?: unknown }).message === "string") {
    return new TypeError(`SmtpServer: ${(raw as { message: string }).message}`);
  }
  return new Error(String(raw));
}

/** Makes the core factory for one configuration (parses the certificate once). */
export async function wasmCoreFactory(config: RawServerConfig): Promise<ServerCoreFactory> {
  await initServer();
  const b = bindings;
  if (b === undefined) throw new Error("smtp-wasm/server: the wasm did not load");
  let parsed: InstanceType<Bindings["WasmServerConfig"]>;
  try {
    parsed = new b.WasmServerConfig(config);
  } catch (error) {
    throw errorOf(error);
  }
  return {
    create(peer, now) {
      try {
        return new b.WasmServerConnection(parsed, peer, now);
      } catch (error) {
        throw errorOf(error);
      }
    },
    free() {
      parsed.free();
    },
  };
}
