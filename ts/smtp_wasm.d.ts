/**
 * The shape of the module wasm-bindgen generates from src/wasm/ (`--target web`): written by hand because
 * wasm-bindgen types every JsValue as `any`. scripts/check-bindings.mjs compares the method names with the generated
 * `smtp_wasm.d.ts` at build time. Everything here is internal; the public API never exposes these types.
 */

import type { Timeouts } from "./types.js";

export interface RawReply {
  code: number;
  enhancedCode: [number, number, number] | null;
  lines: string[];
  text: string;
}

export interface RawError {
  /** `Error::kind_name()`: rejected, protocol, usage, invalid-input, closed, timeout, starttls-not-offered, ... */
  kind: string;
  message: string;
  temporary: boolean;
  code?: number;
  enhancedCode?: [number, number, number] | null;
  lines?: string[];
  text?: string;
  command?: string;
  phase?: string;
  midReply?: boolean;
  tlsKind?: string;
  field?: string;
  mechanism?: string | null;
  offered?: string[];
  extension?: string;
}

export interface RawRecipientResult {
  recipient: string;
  reply?: RawReply;
  error?: RawError;
}

export type RawCompletion =
  | { kind: "done" }
  | { kind: "reply"; reply: RawReply }
  | {
      kind: "transaction";
      accepted: string[];
      rejected: Array<{ recipient: string; error: RawError }>;
      reply: RawReply;
    }
  | { kind: "recipients"; results: RawRecipientResult[] };

export type RawEvent =
  | { type: "greeting"; reply: RawReply }
  | { type: "completed"; id: number; result?: RawCompletion; error?: RawError }
  | { type: "body-ready"; id: number }
  | { type: "transcript"; direction: "client" | "server"; text: string }
  | { type: "tls-established" }
  | { type: "sasl-challenge"; id: number; challenge: Uint8Array }
  | { type: "closed"; error?: RawError | null };

export interface RawCapabilities {
  /** The domain the server named itself in the EHLO reply's first line. */
  domain: string;
  /** The rest of that line. */
  greeting: string;
  /** Upper-cased keyword -> parameters ("" when none), in the server's order. */
  extensions: Record<string, string>;
}

export interface RawTlsInfo {
  protocolVersion: string;
  cipherSuite: string;
  peerCertificates: Uint8Array[];
  serverName: string;
  resumed: boolean;
  subject: string | null;
  issuer: string | null;
  notAfter: number | null;
}

export interface RawConnectionOptions {
  serverName: string;
  implicitTls: boolean;
  localName?: string;
  lmtp: boolean;
  rootCertificates: string[];
  onlyRootCertificates: boolean;
  dangerouslyAcceptInvalidCertificates: boolean;
  allowInsecureAuth: boolean;
  /** The transport is a direct TCP connection to a loopback address (cleartext AUTH to localhost). */
  loopbackPeer: boolean;
  /** Use BDAT when CHUNKING is advertised (default true). */
  preferChunking?: boolean;
  /** A TLS client certificate: PEM chain and PEM key. */
  clientCertificate?: { cert: string; key: string };
  /** Emit transcript events (AUTH payloads redacted). */
  transcript: boolean;
  /** Every deadline of {@link Timeouts} but `connect` (the transport's): the names of `WasmConnection.timeoutNames()`. */
  timeouts: Omit<Timeouts, "connect">;
}

export interface RawCredentials {
  /** SASL EXTERNAL: the TLS client certificate authenticates (`identity`: the authorization identity). */
  external?: boolean;
  username?: string;
  password?: string;
  identity?: string;
  accessToken?: string;
}

export interface RawMailOptions {
  size?: number;
  body?: string;
  smtpUtf8?: boolean;
  requireTls?: boolean;
  ret?: string;
  envelopeId?: string;
  auth?: string;
}

export interface RawRcptOptions {
  notify?: string[] | "NEVER";
  originalRecipient?: string;
  originalRecipientType?: string;
}

export interface RawEnvelope {
  from: string;
  to: string[];
  /** Absent: no options (saves reading every field). */
  mailOptions?: RawMailOptions | undefined;
  rcptOptions?: RawRcptOptions | undefined;
}

/** A session: TLS layer + SMTP state machine. Every command method throws a {@link RawError} when refused. */
export class WasmConnection {
  constructor(options: RawConnectionOptions, now: number);
  /** The names of the `timeouts` the core reads (every key of {@link Timeouts} but `connect`). */
  static timeoutNames(): string[];
  free(): void;
  handleInput(bytes: Uint8Array, now: number): void;
  handleEof(now: number): void;
  handleTimeout(now: number): void;
  pollTransmit(): Uint8Array | undefined;
  /** Copies bytes to write into `buf` from `offset` on, as many as fit; returns how many (0: nothing to write). */
  pollTransmitInto(buf: Uint8Array, offset: number): number;
  pollEvent(): RawEvent | undefined;
  /**
   * Takes the next event and returns its kind: 0 none; 1 body-ready for `eventId()`; 2 the whole transaction
   * `eventId()` completed with every recipient accepted and a one-line reply (`eventReplyCode()`, `eventReplyLine()`,
   * `eventReplyEnhanced()`); 3 any other event, read with `takeEvent()`.
   */
  nextEvent(): number;
  eventId(): number;
  eventReplyCode(): number;
  eventReplyLine(): string;
  /** `((class * 1000 + subject) * 1000 + detail) * 100 + offset of the text in the line`, or -1 without one. */
  eventReplyEnhanced(): number;
  takeEvent(): RawEvent | undefined;
  pollTimeout(): number | undefined;
  hello(localName: string | undefined, now: number): number;
  startTls(required: boolean, now: number): number;
  auth(credentials: RawCredentials, mechanism: string | undefined, now: number): number;
  /** AUTH with a mechanism the caller drives. */
  authCustom(mechanism: string, initialResponse: Uint8Array | undefined, now: number): number;
  /** The answer to a `sasl-challenge` (undefined: cancel with `*`). */
  saslRespond(id: number, response: Uint8Array | undefined, now: number): void;
  mail(from: string, options: RawMailOptions, now: number): number;
  rcpt(to: string, options: RawRcptOptions, now: number): number;
  data(now: number): number;
  sendBody(id: number, bytes: Uint8Array, now: number): void;
  finishBody(id: number, now: number): void;
  abortBody(id: number, reason: string, now: number): void;
  sendMail(envelope: RawEnvelope, now: number): number;
  /** `sendMail` to one recipient without options. */
  sendMailTo(from: string, to: string, now: number): number;
  /** `sendBody` (when `bytes` is not empty) then `finishBody`. */
  sendLastBody(id: number, bytes: Uint8Array, now: number): void;
  reset(now: number): number;
  noop(now: number): number;
  verify(address: string, now: number): number;
  /** A raw command line (go-smtp's `Text`). */
  command(line: string, now: number): number;
  /** The accepted recipients of the open transaction. */
  recipients(): string[];
  quit(now: number): number;
  close(now: number): void;
  extension(name: string): string | undefined;
  capabilities(): RawCapabilities | undefined;
  tlsInfo(): RawTlsInfo | undefined;
  transmitBuffered(): number;
}

/** Loads the Mozilla root store from the decoded blob of `mozilla_roots.js` (once; later calls are ignored). */
export function loadMozillaRoots(blob: Uint8Array): void;

/** Whether the Mozilla root store is loaded. */
export function mozillaRootsLoaded(): boolean;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
  readonly memory: WebAssembly.Memory;
}

export function initSync(module: { module: BufferSource | WebAssembly.Module }): InitOutput;

export default function __wbg_init(module_or_path?: {
  module_or_path: InitInput | Promise<InitInput>;
}): Promise<InitOutput>;
