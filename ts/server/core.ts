/**
 * The shape of one server connection of the sans-IO core, as the TypeScript driver sees it: the wasm class
 * `WasmServerConnection` (src/wasm/server.rs) implements it, and tests may pass their own. It mirrors the Rust
 * `ServerConnection` of SERVER-DESIGN.md: inputs (`handleInput`, `handleEof`, `handleTimeout`), outputs drained after
 * every input (`pollTransmit`, `pollEvent`, `pollTimeout`), and an answer for every event that carries an `id`.
 * Everything here is internal; the public API never exposes these types.
 * @module
 */

import type { TlsCertificate } from "./types.js";

/** A reply the application chose: `{ code, enhancedCode, text }` (the text may hold `\n` for a multi-line reply). */
export interface RawReplySpec {
  code: number;
  enhancedCode: [number, number, number] | null;
  text: string;
}

/** MAIL FROM parameters, decoded by the core. */
export interface RawMailOptions {
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  size?: number;
  requireTls?: boolean;
  utf8?: boolean;
  /** `AUTH=` (decoded xtext); `null` for `AUTH=<>`. */
  auth?: string | null;
  ret?: "FULL" | "HDRS";
  envelopeId?: string;
  deliverBy?: RawDeliverBy;
  mtPriority?: number;
}

/** `BY=` (RFC 2852): seconds, `N`otify or `R`eturn, trace. */
export interface RawDeliverBy {
  time: number;
  mode: "N" | "R";
  trace: boolean;
}

/** RCPT TO parameters, decoded by the core. */
export interface RawRcptOptions {
  notify?: Array<"SUCCESS" | "FAILURE" | "DELAY"> | "NEVER";
  originalRecipient?: string;
  originalRecipientType?: string;
  requireRecipientValidSince?: Date;
  rrvsAction?: "C" | "R";
  deliverBy?: RawDeliverBy;
  mtPriority?: number;
}

/** What TLS agreed with the client. */
export interface RawServerTlsInfo {
  protocolVersion: string;
  cipherSuite: string;
  /** The name the client asked for (SNI), or `null`. */
  serverName: string | null;
  /** The client's certificate chain, leaf first, DER (usually empty). */
  peerCertificates: Uint8Array[];
  resumed: boolean;
}

/** XCLIENT attributes (Postfix's XCLIENT_README); absent ones are not in the object, `[UNAVAILABLE]` is `null`. */
export interface RawXclient {
  name?: string | null;
  addr?: string | null;
  port?: number | null;
  proto?: string | null;
  helo?: string | null;
  login?: string | null;
  destaddr?: string | null;
  destport?: number | null;
}

/**
 * Events, in the order the client's commands arrived. Those with an `id` hold the client's reply until
 * {@link ServerCore.accept} or {@link ServerCore.reject} is called for that id (answers may come in any order; the
 * core sends the replies in command order).
 */
export type RawServerEvent =
  | { type: "hello"; id?: number; kind: "HELO" | "EHLO" | "LHLO"; name: string }
  | {
      type: "auth";
      id: number;
      mechanism: string;
      username: string;
      /** PLAIN / LOGIN. */
      password?: string;
      /** XOAUTH2 / OAUTHBEARER: the bearer token. */
      token?: string;
      /** PLAIN's authorization identity, when it differs from the username. */
      identity?: string;
    }
  | { type: "mail"; id: number; from: string; options: RawMailOptions }
  | { type: "rcpt"; id: number; to: string; options: RawRcptOptions }
  /** The message begins (after the `354` to DATA, or with the first BDAT chunk). */
  | { type: "data-start"; bdat?: boolean }
  /** Message content, un-dot-stuffed, at most the core's window; {@link ServerCore.contentRead} gives room back. */
  | { type: "content"; chunk: Uint8Array }
  /** The end of the message: answer with the final reply (SMTP). */
  | { type: "data-end"; id: number; size: number }
  /** The end of the message in LMTP: answer with {@link ServerCore.answerRecipients}, one entry per recipient. */
  | { type: "lmtp-data-end"; id: number; size: number; recipients: string[] }
  /** The message was abandoned (an oversized message, a BDAT error, the connection closed mid-message). */
  | { type: "data-aborted"; reason: string }
  | { type: "reset"; id?: number }
  | { type: "quit"; id?: number }
  | { type: "xclient"; id: number; attributes: RawXclient }
  | { type: "starttls" }
  | { type: "tls-established"; info: RawServerTlsInfo }
  | { type: "transcript"; direction: "client" | "server"; text: string }
  /** The session is over (QUIT answered, EOF, timeout, shutdown, a TLS failure); the transport should be closed. */
  | { type: "closed"; reason: string };

/** One connection of the core, driven synchronously by {@link ServerConnectionDriver}. */
export interface ServerCore {
  handleInput(bytes: Uint8Array, now: number): void;
  handleEof(now: number): void;
  handleTimeout(now: number): void;
  /** Bytes to write to the transport, or `undefined`. */
  pollTransmit(): Uint8Array | undefined;
  pollEvent(): RawServerEvent | undefined;
  /** The next deadline (ms since the epoch), or `undefined`. */
  pollTimeout(): number | undefined;
  /**
   * The default success reply for this command (`250 2.0.0 OK`, `235 2.0.0 ...`), or the given 2xx one. `false` when
   * `id` is not the decision waited for (the session closed meanwhile).
   */
  accept(id: number, reply: RawReplySpec | undefined, now: number): boolean;
  reject(id: number, reply: RawReplySpec, now: number): boolean;
  /** LMTP: one reply per recipient of `lmtp-data-end`, `null` for the default success reply. */
  answerRecipients(id: number, replies: Array<RawReplySpec | null>, now: number): boolean;
  /**
   * Refuses the message being received before its end (the backend gave up early): the core reads the rest without
   * handing it out and sends `reply` at the end (no `data-end` event). `false` when no message is being received.
   */
  refuseMessage?(reply: RawReplySpec, now: number): boolean;
  /** The application consumed `n` bytes of content: the core may hand out that much more. */
  contentRead(n: number, now: number): void;
  /** Queue `421 4.3.2 ... Service shutting down` (or `reply`) and close once it is written. */
  shutdown(now: number, reply?: RawReplySpec): void;
  /** Whether to read more from the client now (false while a decision is pending, or content backpressure holds). */
  wantsInput(): boolean;
  /** Whether the session is over (after `closed`). */
  isClosed(): boolean;
  free?(): void;
}

/** What the server knows about a new connection, for the core. */
export interface RawPeer {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** TLS from the first byte (an implicit-TLS listener). */
  implicitTls: boolean;
  /** The client's address is in `secureNets` (the TypeScript side's own check; the core checks `secureNets` too). */
  secureNet: boolean;
}

/** The extensions a server may offer beyond the ones always on (the `enable*` options, resolved). */
export interface ServerExtensions {
  enableSmtpUtf8: boolean;
  enableRequireTls: boolean;
  enableBinaryMime: boolean;
  enableDsn: boolean;
  enableRrvs: boolean;
  enableDeliverBy: boolean;
  /** Milliseconds; the smallest return-mode `BY=` accepted, advertised in seconds; 0 = none. */
  minimumDeliverByTime: number;
  enableMtPriority: boolean;
  mtPriorityProfile: "MIXER" | "STANAG4406" | "NSEP" | null;
}

/** The per-server configuration of the core (made once; the wasm side parses the PEM once). */
export interface RawServerConfig extends ServerExtensions {
  domain: string;
  lmtp: boolean;
  tls: TlsCertificate | null;
  maxRecipients: number;
  maxMessageBytes: number;
  maxLineLength: number;
  allowInsecureAuth: boolean;
  authDisabled: boolean;
  strict: boolean;
  /** Client idle limit (ms) enforced by the core between commands and inside a message; 0 = none. */
  readTimeout: number;
  /** Whether the session logs a transcript (`transcript` events). */
  transcript: boolean;
  /** AUTH mechanisms to offer (the backend's `login` decides whether any are). */
  authMechanisms: string[];
  /** CIDRs whose clients may AUTH without TLS. */
  secureNets: string[];
  /** Whether XCLIENT is advertised and accepted (the backend may allow proxies). */
  xclient: boolean;
}

/** A PROXY protocol header as the codec read it; no addresses for a health check (the proxy's own connection). */
export interface RawProxyHeader {
  /** Header bytes at the start of the input. */
  consumed: number;
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
}

/** Makes cores for one server configuration (the wasm module, or a test double). */
export interface ServerCoreFactory {
  create(peer: RawPeer, now: number): ServerCore;
  /** The PROXY protocol parser: `undefined` while incomplete; throws when the input is not a header. */
  parseProxyHeader?(input: Uint8Array): RawProxyHeader | undefined;
  free?(): void;
}
