/**
 * Instantiating the package's second-level wasm modules (the composer, the client-key signer): each is loaded on
 * first use only, from the source an entrypoint registered (the Workers bundle's `WebAssembly.Module`) or from the
 * file next to the JavaScript (read from disk in Node, Bun and Deno; fetched in browsers).
 * @module
 */

/** What wasm-bindgen's `--target web` glue exports to instantiate its module. */
export interface WasmBindgenModule<Output> {
  initSync(module: { module: BufferSource | WebAssembly.Module }): Output;
  default(module_or_path?: { module_or_path: never }): Promise<Output>;
}

interface Globals {
  Deno?: { readFile(path: URL): Promise<Uint8Array> };
}

/**
 * Instantiates `bindings` from `source`, or from `file()` (the `.wasm` next to the caller, `() => new
 * URL("./x_bg.wasm", import.meta.url)` written at the call site so that bundlers see it) when no source was
 * registered. A function: in a Workers bundle `import.meta.url` is undefined, and the source is always registered.
 */
export async function instantiateSideWasm<Output>(
  bindings: WasmBindgenModule<Output>,
  source: unknown,
  file: () => URL,
): Promise<Output> {
  let input = source ?? file();
  if (input instanceof URL && input.protocol === "file:") {
    const deno = (globalThis as unknown as Globals).Deno;
    if (deno !== undefined) input = await deno.readFile(input);
    else {
      const fs = (await import(/* webpackIgnore: true */ "node:fs/promises")) as {
        readFile(path: URL): Promise<Uint8Array>;
      };
      input = await fs.readFile(input);
    }
  }
  if (input instanceof WebAssembly.Module || input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    const module = input instanceof WebAssembly.Module ? input : new WebAssembly.Module(input as BufferSource);
    return bindings.initSync({ module });
  }
  return bindings.default({ module_or_path: input as never });
}
