/**
 * The shape of the module wasm-bindgen generates from src/wasm/server.rs (`--target web`, out-name
 * `smtp_wasm_server`): written by hand because wasm-bindgen types every JsValue as `any`. scripts/check-bindings.mjs
 * compares the method names with the generated `.d.ts` at build time. Internal; the public API never exposes it.
 */

import type { RawProxyHeader, RawReplySpec, RawServerConfig } from "./core.js";

/** A PROXY protocol header at the start of `input`: `undefined` while incomplete; throws `{ kind, message }`. */
export function parseProxyHeader(input: Uint8Array): RawProxyHeader | undefined;

/** A server configuration parsed once (the certificate chain and key included). */
export class WasmServerConfig {
  free(): void;
  /** Throws `{ kind, message }` when the certificate or key cannot be used. */
  constructor(config: RawServerConfig);
}

/** One client connection: the TLS layer and the server session. */
export class WasmServerConnection {
  free(): void;
  constructor(
    config: WasmServerConfig,
    remoteAddress: string,
    remotePort: number,
    localAddress: string,
    localPort: number,
    implicitTls: boolean,
    now: number,
  );
  handleInput(bytes: Uint8Array, now: number): void;
  handleEof(now: number): void;
  handleTimeout(now: number): void;
  pollTransmit(): Uint8Array | undefined;
  /**
   * Takes the next event: 0 none, 1 content, 2 mail (no AUTH=, RET=, ENVID=), 3 rcpt (no parameters), 4 hello,
   * 5 data-start, 6 data-end, 7 quit, 8 reset, 9 closed, 10 any other (`eventValue()` is the whole event).
   */
  nextEvent(): number;
  eventId(): number;
  eventNumber(): number;
  eventFlags(): number;
  /** Handed over once: a second call returns `undefined`. */
  eventValue(): unknown;
  pollTimeout(): number | undefined;
  accept(id: number, reply: RawReplySpec | undefined, now: number): boolean;
  acceptDefault(id: number, now: number): boolean;
  reject(id: number, reply: RawReplySpec, now: number): boolean;
  answerRecipients(id: number, replies: Array<RawReplySpec | null>, now: number): boolean;
  refuseMessage(reply: RawReplySpec, now: number): boolean;
  contentRead(n: number, now: number): void;
  shutdown(now: number, reply?: RawReplySpec): void;
  wantsInput(): boolean;
  isClosed(): boolean;
}

/** The crate version the wasm was built from. */
export function coreVersion(): string;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
  readonly memory: WebAssembly.Memory;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

export default function __wbg_init(
  module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;
