/**
 * Public types of smtp-wasm. The names and shapes here are part of the product: extend them, don't rename them.
 * @module
 */

/**
 * A bidirectional byte stream (a TCP connection, a WebSocket bridge, a Workers socket...). The client owns it once
 * handed over: it takes the reader and the writer and calls `close()` when the session ends.
 */
export interface Duplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): Promise<void>;
}

/** An RFC 3463 enhanced status code, `[class, subject, detail]` (for example `[5, 1, 1]`). */
export type EnhancedCode = [number, number, number];

/** One complete server reply (all lines of a multi-line reply). */
export interface Reply {
  /** The three-digit reply code. */
  code: number;
  /** The RFC 3463 enhanced status code, when the server sent one. */
  enhancedCode: EnhancedCode | null;
  /** The text of each line, as received (decoded lossily as UTF-8), without the code. */
  lines: string[];
  /** The human-readable message: the lines without the enhanced status code, joined by `\n`. */
  text: string;
}

/** A line of the session transcript given to the `debug` callback. AUTH payloads are redacted. */
export interface TranscriptLine {
  direction: "client" | "server";
  text: string;
}

/**
 * Timeouts in milliseconds. Defaults follow RFC 5321 section 4.5.3.2 (greeting 5 min, MAIL 5 min, RCPT 5 min,
 * DATA initiation 2 min, each data block 3 min, DATA termination 10 min).
 */
export interface Timeouts {
  /** Opening the transport (TCP connect / WebSocket open), used by `sendMail`. Default 60 s. */
  connect?: number;
  /** Waiting for the server's greeting. */
  greeting?: number;
  /** Any other command (EHLO, STARTTLS, AUTH, RSET, NOOP, VRFY, QUIT) and the TLS handshake. */
  command?: number;
  /** `MAIL FROM`. */
  mail?: number;
  /** `RCPT TO`. */
  rcpt?: number;
  /** `DATA` until its 354. */
  dataInit?: number;
  /**
   * Each block of message content: a progress timer (no byte of content for this long is a timeout), unlike the
   * others, which run from the start of a wait to the whole reply (a server trickling its reply does not extend them).
   */
  dataBlock?: number;
  /** The final dot (or `BDAT LAST`) until its reply. */
  dataEnd?: number;
  /**
   * When set, no single operation (all its commands together) may take longer. Default: no limit for
   * `SmtpClient`; 30 minutes in the top-level `sendMail`.
   */
  total?: number;
}

/** Credentials for AUTH. The best mechanism the server offers is picked when `mechanism` is omitted. */
export type AuthOptions =
  | {
      mechanism?: "PLAIN" | "LOGIN" | "CRAM-MD5";
      username: string;
      password: string;
      /** The SASL authorization identity (PLAIN only). */
      identity?: string;
    }
  | { mechanism?: "XOAUTH2" | "OAUTHBEARER"; username: string; accessToken: string }
  | {
      /** SASL EXTERNAL (RFC 4422 appendix A): the TLS client certificate (`clientCertificate`) authenticates. */
      mechanism: "EXTERNAL";
      /** Act as this authorization identity instead of the one the certificate establishes. */
      identity?: string;
    };

/**
 * A SASL mechanism of your own (SCRAM, a vendor's), shaped like go-sasl's `Client`: `start` names the mechanism and
 * gives the initial response, if any; `next` answers each server challenge. Both may be async; a throw (or a
 * rejected promise) abandons the exchange with `*`. Strings are sent as UTF-8.
 */
export interface SaslClient {
  start():
    | { mechanism: string; initialResponse?: Uint8Array | string }
    | Promise<{ mechanism: string; initialResponse?: Uint8Array | string }>;
  next(challenge: Uint8Array): Uint8Array | string | Promise<Uint8Array | string>;
}

/** A TLS client certificate for servers that authenticate clients by certificate (then AUTH EXTERNAL). */
export interface ClientCertificate {
  /** The certificate chain, leaf first, PEM. */
  cert: string;
  /** The leaf's private key, PEM (PKCS#8, PKCS#1 or SEC1). */
  key: string;
}

/** ESMTP parameters of `MAIL FROM`. Each is sent only when the server advertises its extension. */
export interface MailOptions {
  /** `SIZE=` (RFC 1870): the message size in octets. */
  size?: number;
  /** `BODY=`; `8BITMIME` is added automatically when the server advertises it, unless `7BIT` or `BINARYMIME`. */
  body?: "7BIT" | "8BITMIME" | "BINARYMIME";
  /** `SMTPUTF8` (RFC 6531): needed for non-ASCII addresses. */
  smtpUtf8?: boolean;
  /** `REQUIRETLS` (RFC 8689). */
  requireTls?: boolean;
  /** DSN `RET=` (RFC 3461). */
  ret?: "FULL" | "HDRS";
  /** DSN `ENVID=` (RFC 3461), xtext-encoded on the wire. */
  envelopeId?: string;
  /** `AUTH=` (RFC 4954) on MAIL. */
  auth?: string;
}

/** ESMTP parameters of `RCPT TO`. */
export interface RcptOptions {
  /** DSN `NOTIFY=` (RFC 3461). */
  notify?: Array<"SUCCESS" | "FAILURE" | "DELAY"> | "NEVER";
  /** DSN `ORCPT=` address. */
  originalRecipient?: string;
  /** DSN `ORCPT=` address type, default `rfc822`. */
  originalRecipientType?: string;
}

/** What the TLS layer agreed with the server. */
export interface TlsInfo {
  /** `"TLSv1.2"` or `"TLSv1.3"`. */
  protocolVersion: string;
  /** The IANA name of the cipher suite, for example `"TLS13_AES_256_GCM_SHA384"`. */
  cipherSuite: string;
  /** The server's certificate chain, leaf first, DER-encoded. */
  peerCertificates: Uint8Array[];
  /** The name the certificate was verified against. */
  serverName: string;
  /** Whether the handshake resumed an earlier TLS session. */
  resumed: boolean;
  /** The server certificate's subject, readable (`"CN=mx.example.org, O=Example"`), or null if it names none. */
  subject: string | null;
  /** The server certificate's issuer, in the same form. */
  issuer: string | null;
  /** When the server certificate expires (milliseconds since the epoch, like `Date.now()`), or null. */
  notAfter: number | null;
}

/** Options of {@link SmtpClient.connect}. Unknown keys are refused (a UsageError names them). */
export interface ClientOptions {
  /**
   * The server's name: verified against its certificate. Cleartext AUTH is allowed only when it is `localhost`,
   * `127.0.0.1` or `::1` and the transport is a direct TCP connection to a loopback address (never a WebSocket).
   */
  serverName: string;
  /** TLS from the first byte (port 465, RFC 8314) instead of plaintext with optional STARTTLS. */
  implicitTls?: boolean;
  /** The name sent in EHLO/LHLO. Default `"localhost"`. */
  localName?: string;
  /** Speak LMTP (RFC 2033): LHLO, and one reply per recipient after DATA. */
  lmtp?: boolean;
  /** Use BDAT (RFC 3030) when the server advertises CHUNKING. Default `true`; `false` forces DATA. */
  preferChunking?: boolean;
  /** Extra trusted roots (PEM), added to the Mozilla roots. */
  rootCertificates?: string | string[];
  /** Trust only `rootCertificates`, not the Mozilla roots (a private CA). */
  onlyRootCertificates?: boolean;
  /** Accept any certificate. Only for tests: anyone in the path can read and change the mail. */
  dangerouslyAcceptInvalidCertificates?: boolean;
  /** A certificate to present when the server asks for one (then `auth({ mechanism: "EXTERNAL" })`). */
  clientCertificate?: ClientCertificate;
  /** Timeouts in milliseconds. */
  timeouts?: Timeouts;
  /** Called with every line of the transcript (AUTH payloads redacted). */
  debug?: (line: TranscriptLine) => void;
  /** Allow AUTH without TLS to a host that is not localhost. */
  allowInsecureAuth?: boolean;
  /** Aborts every pending operation and closes the connection. */
  signal?: AbortSignal;
}

/** A message: its whole text, its bytes, or a stream of bytes (or anything async-iterable, like a Node stream). */
export type MessageSource =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

/** One whole mail transaction for {@link SmtpClient.sendMail}. */
export interface Transaction {
  from: string;
  to: string | string[];
  /** The RFC 5322 message. Bare CR and LF are sent as CRLF, lines starting with a dot are dot-stuffed. */
  message: MessageSource;
  mailOptions?: MailOptions;
  rcptOptions?: RcptOptions;
  /** Called as the message goes out, with the number of message bytes handed to the connection so far. */
  onProgress?: (bytesSent: number) => void;
}

/** Options of the top-level {@link sendMail}. Unknown keys are refused (a UsageError names them). */
export interface SendMailOptions extends MessageFields {
  host: string;
  /** Default 587; 465 implies `tls: "implicit"`. */
  port?: number;
  /**
   * `"starttls"` (default): STARTTLS must succeed. `"implicit"`: TLS from the first byte. `"opportunistic"`: STARTTLS
   * when offered, cleartext otherwise (not allowed together with `auth`). `"none"`: cleartext.
   */
  tls?: "starttls" | "implicit" | "opportunistic" | "none";
  /** The TLS server name, default `host`. */
  serverName?: string;
  localName?: string;
  /** Speak LMTP (RFC 2033): LHLO, and one reply per recipient after the message. */
  lmtp?: boolean;
  /** Use BDAT when the server advertises CHUNKING. Default `true`. */
  preferChunking?: boolean;
  rootCertificates?: string | string[];
  /** Trust only `rootCertificates`, not the Mozilla roots. */
  onlyRootCertificates?: boolean;
  dangerouslyAcceptInvalidCertificates?: boolean;
  /** A TLS client certificate (for `auth: { mechanism: "EXTERNAL" }`). */
  clientCertificate?: ClientCertificate;
  allowInsecureAuth?: boolean;
  /** Credentials, or a {@link SaslClient} of your own. */
  auth?: AuthOptions | SaslClient;
  /** The sender: the envelope's (unless `envelope.from`), and the From header's when the message is composed. */
  from: AddressLike;
  /** The recipients (with `cc` and `bcc`: the envelope's, unless `envelope` names them). */
  to: AddressLike | AddressLike[];
  /**
   * The SMTP envelope, when it differs from the headers (as nodemailer's `envelope`): bounces to another address,
   * or recipients other than those shown. Each field given replaces what the headers would give: `from` the
   * sender (`""` for the null sender, `MAIL FROM:<>`); `to`, `cc` and `bcc` together the recipients.
   */
  envelope?: MailEnvelope;
  /** An RFC 5322 message; without it, one is composed from subject, text, html, attachments... */
  message?: MessageSource;
  mailOptions?: MailOptions;
  rcptOptions?: RcptOptions;
  /** How to open the connection; default: the runtime's own TCP (Node, Deno, Bun, Cloudflare Workers). */
  connect?: (host: string, port: number) => Promise<Duplex>;
  timeouts?: Timeouts;
  debug?: (line: TranscriptLine) => void;
  signal?: AbortSignal;
  onProgress?: (bytesSent: number) => void;
}

/** sendMail's `envelope`: the addresses MAIL FROM and RCPT TO use instead of the headers'. */
export interface MailEnvelope {
  from?: AddressLike;
  to?: AddressLike | AddressLike[];
  cc?: AddressLike | AddressLike[];
  bcc?: AddressLike | AddressLike[];
}

/**
 * An address: `"Name <addr@example.com>"`, `"addr@example.com"`, or `{ name, address }`. A non-ASCII address
 * (`jörg@bücher.example`) is written into a composed header as raw UTF-8 (RFC 6532): sendMail then asks the server
 * for SMTPUTF8 (and 8BITMIME) and fails with a NotSupportedError, before any byte of the message, when it lacks them.
 */
export type AddressLike = string | { name?: string; address: string };

/** A file attached to a composed message, or an inline image when it has a `cid`. */
export interface MailAttachment {
  /** The file name shown to the recipient (any Unicode). */
  filename?: string;
  /**
   * A string is sent as its UTF-8 bytes; a stream (or an async iterable, like a Node `fs.createReadStream`) is
   * encoded as it is read, never held whole. Give this or `path`.
   */
  content?: string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  /**
   * A file to attach (Node, Deno, Bun: a path or a `file:` URL), read 64 KiB at a time into one buffer while the
   * message is sent, never held whole; `filename` defaults to its base name. Checked before connecting (a missing
   * file sends nothing). Runtimes without a filesystem (browsers, Workers) refuse it: give `content` there.
   */
  path?: string | URL;
  /** Default: guessed from the file name (`application/octet-stream` otherwise). */
  contentType?: string;
  /** Content-ID for `<img src="cid:...">` in the HTML. */
  cid?: string;
  /** Default: `"inline"` with a `cid`, `"attachment"` otherwise. */
  disposition?: "attachment" | "inline";
}

/** One DKIM signature (RFC 6376; `rsa-sha256` or `ed25519-sha256` by the key's type). */
export interface DkimOptions {
  /** `d=`: the signing domain. */
  domainName: string;
  /** `s=`: the selector; the public key is at `<keySelector>._domainkey.<domainName>`. */
  keySelector: string;
  /** PEM: PKCS#8 (RSA or Ed25519) or PKCS#1 RSA (2048 bits or more). */
  privateKey: string;
  /** The header fields to sign; default: the usual ones present. From is always signed. */
  headerFieldNames?: string[];
  /** Default `"relaxed/relaxed"`. */
  canonicalization?: "relaxed/relaxed" | "simple/simple" | "relaxed/simple" | "simple/relaxed";
}

/**
 * What a message is composed from besides its sender and recipients: shared by {@link SendMailOptions} (without
 * `message`) and {@link ComposeOptions}.
 */
export interface MessageFields {
  cc?: AddressLike | AddressLike[];
  /** Recipients that appear in no header (composeMessage returns them in the envelope only). */
  bcc?: AddressLike | AddressLike[];
  replyTo?: AddressLike | AddressLike[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: MailAttachment[];
  /** Extra header fields (not From, To, Subject...: those have their own options). */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Default: generated from random bytes and the sender's domain. */
  messageId?: string;
  /** Default: now. */
  date?: Date | number;
  inReplyTo?: string;
  references?: string | string[];
  /** DKIM-sign the message (composed, or sendMail's raw `message`) with one or more keys. */
  dkim?: DkimOptions | DkimOptions[];
}

/** What {@link composeMessage} builds a message from. */
export interface ComposeOptions extends MessageFields {
  from: AddressLike;
  to?: AddressLike | AddressLike[];
}
