/**
 * Loading the server's own wasm (`smtp_wasm_server_bg.wasm`, built with only the `server` feature, so neither
 * entrypoint's download carries the other role), once, and making cores from it. Each entrypoint registers how to
 * find the file; {@link initServer} shares one promise, so concurrent servers load it once.
 * @module
 */

import type {
  RawMailOptions,
  RawReplySpec,
  RawServerConfig,
  RawServerEvent,
  ServerCore,
  ServerCoreFactory,
} from "./core.js";

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
        return new WasmCore(
          new b.WasmServerConnection(
            parsed,
            peer.remoteAddress,
            peer.remotePort,
            peer.localAddress,
            peer.localPort,
            peer.implicitTls,
            now,
          ),
        );
      } catch (error) {
        throw errorOf(error);
      }
    },
    parseProxyHeader(input) {
      return b.parseProxyHeader(input);
    },
    free() {
      parsed.free();
    },
  };
}

type Connection = InstanceType<Bindings["WasmServerConnection"]>;

const HELLO_KINDS = ["HELO", "EHLO", "LHLO"] as const;
const BODIES = [undefined, "7BIT", "8BITMIME", "BINARYMIME"] as const;

/**
 * A wasm connection as a {@link ServerCore}. Its events cross as numbers (`nextEvent`, src/wasm/server.rs) and are
 * built here as object literals of the shapes `RawServerEvent` describes: building them inside the wasm cost a call
 * out per property, several per event and ~8 events per message.
 */
class WasmCore implements ServerCore {
  constructor(private readonly c: Connection) {}

  handleInput(bytes: Uint8Array, now: number): void {
    this.c.handleInput(bytes, now);
  }
  handleEof(now: number): void {
    this.c.handleEof(now);
  }
  handleTimeout(now: number): void {
    this.c.handleTimeout(now);
  }
  pollTransmit(): Uint8Array | undefined {
    return this.c.pollTransmit();
  }
  pollEvent(): RawServerEvent | undefined {
    const c = this.c;
    switch (c.nextEvent()) {
      case 0:
        return undefined;
      case 1:
        return { type: "content", chunk: c.eventValue() as Uint8Array };
      case 2: {
        const flags = c.eventFlags();
        const options: RawMailOptions = {};
        const size = c.eventNumber();
        if (size >= 0) options.size = size;
        const body = BODIES[(flags >> 2) & 3];
        if (body !== undefined) options.body = body;
        options.utf8 = (flags & 1) !== 0;
        options.requireTls = (flags & 2) !== 0;
        return { type: "mail", id: c.eventId(), from: c.eventValue() as string, options };
      }
      case 3:
        return { type: "rcpt", id: c.eventId(), to: c.eventValue() as string, options: {} };
      case 4:
        return {
          type: "hello",
          id: c.eventId(),
          kind: HELLO_KINDS[c.eventFlags()] ?? "EHLO",
          name: c.eventValue() as string,
        };
      case 5:
        return { type: "data-start", bdat: c.eventFlags() !== 0 };
      case 6:
        return { type: "data-end", id: c.eventId(), size: c.eventNumber() };
      case 7:
        return { type: "quit" };
      case 8:
        return { type: "reset" };
      case 9:
        return { type: "closed", reason: c.eventValue() as string };
      default:
        return c.eventValue() as RawServerEvent;
    }
  }
  pollTimeout(): number | undefined {
    return this.c.pollTimeout();
  }
  accept(id: number, reply: RawReplySpec | undefined, now: number): boolean {
    return reply === undefined ? this.c.acceptDefault(id, now) : this.c.accept(id, reply, now);
  }
  reject(id: number, reply: RawReplySpec, now: number): boolean {
    return this.c.reject(id, reply, now);
  }
  answerRecipients(id: number, replies: Array<RawReplySpec | null>, now: number): boolean {
    return this.c.answerRecipients(id, replies, now);
  }
  refuseMessage(reply: RawReplySpec, now: number): boolean {
    return this.c.refuseMessage(reply, now);
  }
  contentRead(n: number, now: number): void {
    this.c.contentRead(n, now);
  }
  shutdown(now: number, reply?: RawReplySpec): void {
    this.c.shutdown(now, reply);
  }
  wantsInput(): boolean {
    return this.c.wantsInput();
  }
  isClosed(): boolean {
    return this.c.isClosed();
  }
  free(): void {
    this.c.free();
  }
}
