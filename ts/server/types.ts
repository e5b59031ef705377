/**
 * Public types of `smtp-wasm/server`: go-smtp's Backend/Session (the seed's names in camelCase). Part of the product:
 * extend them, don't rename them.
 * @module
 */

import type { SmtpError } from "./errors.js";

/**
 * What the server knows about one connection. `login` and `anonymousLogin` get the live object (a session may keep
 * it: `tls`, `username` and, after XCLIENT, the addresses change as the connection goes on); `connections()` lists
 * copies.
 */
export interface ConnectionState {
  /** The session id ({@link Backend.generateSid}, or a random one). */
  sid: string;
  /** The client's HELO/EHLO/LHLO name ("" before the hello). */
  hostname: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** What TLS agreed with the client, or `null` in cleartext. */
  tls: ServerTlsInfo | null;
  /** The AUTH user, once logged in. */
  username?: string;
  /** After XCLIENT: the state of the real connection (this state then holds the asserted attributes). */
  original?: ConnectionState;
}

/** What TLS agreed with a client. */
export interface ServerTlsInfo {
  /** `"TLSv1.2"` or `"TLSv1.3"`. */
  protocolVersion: string;
  /** The IANA name of the cipher suite. */
  cipherSuite: string;
  /** The name the client asked for (SNI), or `null`. */
  serverName: string | null;
  /** The client's certificate chain, leaf first, DER-encoded (usually empty). */
  peerCertificates: Uint8Array[];
  resumed: boolean;
}

/** MAIL FROM parameters, decoded. */
export interface ServerMailOptions {
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** `SIZE=`: the size the client announced. */
  size?: number;
  /** `REQUIRETLS` (RFC 8689). */
  requireTls: boolean;
  /** `SMTPUTF8` (RFC 6531). */
  utf8: boolean;
  /** `AUTH=` (RFC 4954), decoded; `null` for `AUTH=<>`. */
  auth?: string | null;
  /** DSN `RET=`. */
  ret?: "FULL" | "HDRS";
  /** DSN `ENVID=`, decoded. */
  envelopeId?: string;
  /** `BY=` (DELIVERBY, RFC 2852), when `enableDeliverBy`. */
  deliverBy?: DeliverByOptions;
  /** `MT-PRIORITY=` (RFC 6710), -9 to 9, when `enableMtPriority`. */
  mtPriority?: number;
}

/** `BY=<time>;<mode>[T]` (RFC 2852; go-smtp's `DeliverByOptions`). */
export interface DeliverByOptions {
  /** Seconds from the message's arrival; zero or negative only in notify mode. */
  time: number;
  /** `N`: deliver anyway and send a delay DSN; `R`: return the message when the time is up. */
  mode: "N" | "R";
  /** `T`: trace the delivery (a DSN from each hop). */
  trace: boolean;
}

/** RCPT TO parameters, decoded. */
export interface ServerRcptOptions {
  notify?: Array<"SUCCESS" | "FAILURE" | "DELAY"> | "NEVER";
  /** DSN `ORCPT=` address, decoded. */
  originalRecipient?: string;
  originalRecipientType?: string;
  /** `RRVS=` (RFC 7293), when `enableRrvs`: deliver only if the mailbox has had the same owner since then. */
  requireRecipientValidSince?: Date;
  /** The action after `RRVS=`'s date: `C` continue, `R` reject, when the next hop lacks RRVS (absent: reject). */
  rrvsAction?: "C" | "R";
  /** `BY=` given with RCPT (go-smtp's client sends it there; the RFC puts it on MAIL). */
  deliverBy?: DeliverByOptions;
  /** `MT-PRIORITY=` given with RCPT (go-smtp's client sends it there; the RFC puts it on MAIL). */
  mtPriority?: number;
}

/**
 * The application's side of one client session (go-smtp's `Session`). Throw an {@link SmtpError} to refuse with
 * that reply; anything else thrown becomes `451 4.3.0` with a fixed text.
 */
export interface Session {
  mail(from: string, opts: ServerMailOptions): void | Promise<void>;
  rcpt(to: string, opts: ServerRcptOptions): void | Promise<void>;
  /**
   * The message, un-dot-stuffed, as it arrives. Reading slowly slows the client down (backpressure); returning (or
   * throwing) before the end discards the rest, and the client gets the reply once the whole message arrived.
   * Returning a string replaces the text of the `250` reply (a queue id: `"OK: queued as 4F2A1"`).
   */
  data(message: ReadableStream<Uint8Array>): void | string | Promise<void | string>;
  /** LMTP (go-smtp's `LMTPSession`): one status per accepted recipient; unset ones get the default `250`. */
  lmtpData?(message: ReadableStream<Uint8Array>, status: StatusCollector): void | Promise<void>;
  /** RSET, a new hello, or the end of a transaction: forget the envelope. */
  reset(): void | Promise<void>;
  /** The connection ended (QUIT, EOF, timeout, shutdown, or the session was replaced by XCLIENT). */
  logout(): void | Promise<void>;
  /** XCLIENT on this session (go-smtp's `ProxySession`); overrides {@link Backend.allowProxy}. */
  allowProxy?(asserted: ConnectionState, sid: string): boolean | Promise<boolean>;
}

/** An LMTP session: a {@link Session} with `lmtpData`. */
export interface LMTPSession extends Session {
  lmtpData(message: ReadableStream<Uint8Array>, status: StatusCollector): void | Promise<void>;
}

/** A session that may accept XCLIENT (go-smtp's `ProxySession`). */
export interface ProxySession extends Session {
  allowProxy(asserted: ConnectionState, sid: string): boolean | Promise<boolean>;
}

/** LMTP: the outcome for each recipient (`null`: delivered). */
export interface StatusCollector {
  setStatus(recipient: string, error: SmtpError | null): void;
}

/** The application (go-smtp's `Backend`). */
export interface Backend {
  /**
   * AUTH (PLAIN, LOGIN). Without it, AUTH is not offered. Throw {@link ErrAuthFailed} (or any 535) for a wrong
   * password, {@link ErrAuthUnsupported} to refuse AUTH altogether.
   */
  login?(state: ConnectionState, username: string, password: string, sid: string): Session | Promise<Session>;
  /** MAIL without AUTH. Without it (or throwing {@link ErrAuthRequired}), MAIL before AUTH gets `530 5.7.0`. */
  anonymousLogin?(state: ConnectionState, sid: string): Session | Promise<Session>;
  /** A session id for each connection (default: 16 random hex digits). */
  generateSid?(): string;
  /** XCLIENT (go-smtp's `ProxyBackend`): whether the actual peer may assert these attributes. Without it, no XCLIENT. */
  allowProxy?(actual: ConnectionState, asserted: ConnectionState, sid: string): boolean | Promise<boolean>;
}

/** A backend that may accept XCLIENT. */
export interface ProxyBackend extends Backend {
  allowProxy(actual: ConnectionState, asserted: ConnectionState, sid: string): boolean | Promise<boolean>;
}

/** Counts events per key (client address): connections and failed AUTH attempts. */
export interface RateLimiter {
  /** Takes `quantity` (default 1) from `key`'s allowance: `false` when the key is over its rate. */
  take(key: string, quantity?: number): boolean | Promise<boolean>;
}

/** One line of a session's transcript. AUTH payloads are redacted; message content is never logged. */
export interface ServerTranscriptLine {
  /** The session id. */
  sid: string;
  remoteAddress: string;
  direction: "client" | "server";
  text: string;
}

/** A PEM certificate chain and its private key. */
export interface TlsCertificate {
  /** The chain, leaf first (PEM). */
  cert: string;
  /** The private key (PEM: PKCS#8, PKCS#1 RSA, or SEC1 EC). */
  key: string;
  /**
   * Certificates by the name a client asks for (SNI): `{ "mail.example.org": { cert, key }, "*.example.net": ... }`
   * (an exact name wins over a `*.` one label up). `cert`/`key` above go to every other client.
   */
  sni?: Record<string, { cert: string; key: string }>;
}

/** Options of {@link SmtpServer}. Unknown keys are refused. */
export interface SmtpServerOptions {
  backend: Backend;
  /** The greeting's and the EHLO reply's name. Default `"localhost"`. */
  domain?: string;
  /** Offers STARTTLS; what implicit-TLS listeners use. */
  tls?: TlsCertificate;
  /** LMTP (RFC 2033): LHLO only, one reply per accepted recipient after the message. */
  lmtp?: boolean;
  /** Default 100 (RFC 5321's minimum); 0 = no limit. */
  maxRecipients?: number;
  /** Default 25 MiB; 0 = no limit. Advertised as SIZE. */
  maxMessageBytes?: number;
  /** Longest command line, CRLF included. Default 2000 (RFC 5321 asks for >= 512); 0 = the core's maximum. */
  maxLineLength?: number;
  /** AUTH without TLS (from any address; see also `secureNets`). */
  allowInsecureAuth?: boolean;
  /** No AUTH at all, even with a `login`. */
  authDisabled?: boolean;
  /** Refuse what go-smtp's strict mode refuses (a space after `MAIL FROM:`, bare LF in a message, ...). */
  strict?: boolean;
  enableSmtpUtf8?: boolean;
  enableRequireTls?: boolean;
  enableBinaryMime?: boolean;
  enableDsn?: boolean;
  /** Offer RRVS (RFC 7293): `requireRecipientValidSince` in `rcpt()`'s options. */
  enableRrvs?: boolean;
  /** Offer DELIVERBY (RFC 2852): `deliverBy` in `mail()`'s options. */
  enableDeliverBy?: boolean;
  /** Milliseconds (seconds precision): the smallest return-mode `BY=` accepted, advertised as `DELIVERBY <s>`. */
  minimumDeliverByTime?: number;
  /** Offer MT-PRIORITY (RFC 6710): `mtPriority` in `mail()`'s options. */
  enableMtPriority?: boolean;
  /** The priority profile advertised with MT-PRIORITY (RFC 6710 section 10). */
  mtPriorityProfile?: "MIXER" | "STANAG4406" | "NSEP";
  /**
   * CIDRs (or single addresses) of load balancers that start every connection with a PROXY protocol header (HAProxy,
   * version 1 or 2; Postfix's `smtpd_upstream_proxy_protocol`, smtp-server's `useProxy`): their connections are
   * served as the client the header names (state, rate limiter, `secureNets`), or as the proxy for a health check.
   * Such a connection without a valid header within `readTimeout` is closed without a reply; other peers are never
   * asked for one. Default none.
   */
  proxyProtocol?: string[];
  /** CIDRs (or single addresses) whose clients may AUTH without TLS (the seed's SecureNet). */
  secureNets?: string[];
  /** Consulted per client address for each connection and each failed AUTH. */
  rateLimiter?: RateLimiter;
  /**
   * Milliseconds a client may stay silent (between commands, or inside a message) before `421` and close; also bounds
   * every backend call (a backend that never answers gets the client a `451`). Default 5 minutes; 0 = none.
   */
  readTimeout?: number;
  /** Milliseconds a write to the client may take before the connection is dropped. Default 5 minutes; 0 = none. */
  writeTimeout?: number;
  /** Open connections at most; more are answered `421` and closed. Default 1000; 0 = no limit. */
  maxConnections?: number;
  /** The transcript of every session (AUTH payloads redacted; message content never logged). */
  debug?: (line: ServerTranscriptLine) => void;
}

/** What a listener is bound to. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** Options of {@link SmtpServer.listen}. */
export interface ListenOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default `"127.0.0.1"`. */
  host?: string;
  /** TLS from the first byte (port 465 style, RFC 8314); needs the server's `tls`. */
  implicitTls?: boolean;
}

/** Where a connection handed to {@link SmtpServer.handle} comes from. */
export interface ConnectionInfo {
  remoteAddress: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  /** The duplex carries TLS from the first byte (implicit TLS). */
  implicitTls?: boolean;
}

/** An open connection, as {@link SmtpServer.connections} lists it (go-smtp's `ForEachConn`). */
export interface ServerConnection {
  /** A number unique within this server. */
  readonly id: number;
  /** The connection's current state (a snapshot). */
  readonly state: ConnectionState;
  /** Sends `421 4.7.0 Too busy` and closes (go-smtp's `Conn.Reject`); resolves when the connection is gone. */
  reject(): Promise<void>;
  /** Closes at once, without a reply. */
  close(): Promise<void>;
}
