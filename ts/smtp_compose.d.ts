/**
 * The shape of the composer module wasm-bindgen generates from src/wasm/compose.rs (`--target web`), written by hand
 * because wasm-bindgen types every JsValue as `any`; scripts/check-bindings.mjs compares the method names with the
 * generated `smtp_compose.d.ts` at build time. Internal: the public API never exposes these types.
 */

export interface RawComposeOptions {
  from: string | { name?: string; address: string };
  to: Array<string | { name?: string; address: string }>;
  cc: Array<string | { name?: string; address: string }>;
  bcc: Array<string | { name?: string; address: string }>;
  replyTo: Array<string | { name?: string; address: string }>;
  subject?: string;
  text?: string;
  html?: string;
  attachments: Array<{ filename?: string; content?: Uint8Array; contentType?: string; cid?: string; disposition?: string }>;
  headers: Array<[string, string]>;
  messageId?: string;
  date?: number;
  inReplyTo?: string;
  references: string[];
}

export interface RawDkimKey {
  domainName: string;
  keySelector: string;
  privateKey: string;
  headerFieldNames?: string[];
  canonicalization?: string;
}

export class WasmComposer {
  free(): void;
  [Symbol.dispose](): void;
  constructor(options: RawComposeOptions, now: number, random: Uint8Array);
  envelopeFrom(): string;
  envelopeTo(): string[];
  /** A non-ASCII address (header or Bcc): the message needs SMTPUTF8. */
  needsSmtpUtf8(): boolean;
  /** The header holds raw UTF-8 (the message is not 7-bit). */
  utf8Header(): boolean;
  /** Output bytes, the index of the streamed attachment needed now, or null at the end. */
  next(): Uint8Array | number | null;
  push(chunk: Uint8Array): Uint8Array;
  end(): Uint8Array;
  /** `push` with the output left in the wasm memory (length returned; it starts at `outputPtr()`). */
  pushView(chunk: Uint8Array): number;
  outputPtr(): number;
}

export class WasmDkimSigner {
  free(): void;
  [Symbol.dispose](): void;
  constructor(keys: RawDkimKey[], now: number);
  update(chunk: Uint8Array): void;
  finish(): string;
  /** Per key: the algorithm and the bytes its signature covers (for a native signer). */
  finishUnsigned(): Array<{ algorithm: string; data: Uint8Array }>;
  /** The fields, with the given signatures (undefined: signed in the wasm). */
  complete(signatures: Array<Uint8Array | undefined>): string;
}

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
  readonly memory: WebAssembly.Memory;
}

export function initSync(module: { module: BufferSource | WebAssembly.Module }): InitOutput;

export default function __wbg_init(module_or_path?: {
  module_or_path: InitInput | Promise<InitInput>;
}): Promise<InitOutput>;
