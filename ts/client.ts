/**
 * {@link SmtpClient}: one SMTP (or LMTP) session over a {@link Duplex}, shaped like Go's `net/smtp` Client.
 * Every protocol rule lives in the wasm core; this class only converts options and waits.
 * @module
 */

import {
  AUTH_KEYS,
  checkKeys,
  checkText,
  checkTexts,
  CLIENT_OPTION_KEYS,
  MAIL_OPTION_KEYS,
  RCPT_OPTION_KEYS,
  TIMEOUT_KEYS,
  TRANSACTION_KEYS,
} from "./checks.js";
import { type Completion, Driver, HIGH_WATER_MARK } from "./driver.js";
import { ConnectionClosedError, ProtocolError, SmtpError, SmtpWasmError, toError, UsageError } from "./errors.js";
import { init, loadRoots } from "./init.js";
import { loadSigner } from "./signer.js";
import { connectedToLoopback } from "./peer.js";
import {
  WasmConnection,
  type RawConnectionOptions,
  type RawCredentials,
  type RawEnvelope,
  type RawError,
  type RawMailOptions,
  type RawRcptOptions,
  type RawReply,
} from "./smtp_wasm.js";
import type {
  AuthOptions,
  ClientOptions,
  Duplex,
  MailOptions,
  MessageSource,
  RcptOptions,
  Reply,
  SaslClient,
  TlsInfo,
  Transaction,
} from "./types.js";

/** The outcome of a mail transaction. */
export interface SendResult {
  /** Recipients the server accepted. */
  accepted: string[];
  /** Recipients the server refused, with its reply. */
  rejected: Array<{ recipient: string; error: SmtpError }>;
  /** The reply to the end of the message (250 with the queue id, usually). */
  reply: Reply;
  /** The TLS parameters of the connection, or null in cleartext. */
  tls: TlsInfo | null;
}

/** One recipient's outcome after LMTP DATA: its reply, or the error it got. */
export type LmtpResult =
  | { recipient: string; reply: Reply; error?: undefined }
  | { recipient: string; reply?: undefined; error: SmtpWasmError };

/** Message bytes handed to the core per call; bounds the memory a single write can take in the core. */
const BODY_SLICE = 64 * 1024;
/** Strings at most this long (UTF-16 units) are at most {@link BODY_SLICE} bytes of UTF-8. */
const SMALL_TEXT = Math.floor(BODY_SLICE / 3);
/** Small writes are gathered up to this size (one full TLS record) before they go to the core. */
const GATHER = 16 * 1024;

const encoder = new TextEncoder();

/** An SMTP session. Create it with {@link SmtpClient.connect}. */
export class SmtpClient {
  readonly #driver: Driver;
  readonly #conn: WasmConnection;
  readonly #greeting: Reply;
  #lastTls: TlsInfo | null = null;
  #lastCapabilities: Record<string, string> | null = null;

  private constructor(driver: Driver, greeting: Reply) {
    this.#driver = driver;
    this.#conn = driver.conn;
    this.#greeting = greeting;
  }

  /**
   * Starts a session on `duplex` and waits for the server's greeting (after the TLS handshake with `implicitTls`).
   * On failure the duplex is closed.
   */
  static async connect(duplex: Duplex, options: ClientOptions): Promise<SmtpClient> {
    if (options === undefined || options === null || typeof options.serverName !== "string") {
      await duplex.close().catch(() => {});
      throw new UsageError("SmtpClient.connect needs options with a serverName");
    }
    let conn: WasmConnection;
    try {
      checkClientOptions(options);
      await init();
      // Each loaded once, and only when this connection needs it: the Mozilla roots, the client-key signer.
      await Promise.all([
        options.onlyRootCertificates !== true && options.dangerouslyAcceptInvalidCertificates !== true && loadRoots(),
        options.clientCertificate !== undefined && loadSigner(),
      ]);
      conn = new WasmConnection(connectionOptions(options, connectedToLoopback(duplex)), Date.now());
    } catch (raw) {
      await duplex.close().catch(() => {});
      throw toError(raw);
    }
    const driver = new Driver(conn, duplex, { debug: options.debug, signal: options.signal });
    driver.start();
    let greeting: RawReply;
    try {
      greeting = await driver.greeting();
    } catch (error) {
      await driver.close(error);
      throw error;
    }
    return new SmtpClient(driver, copyReply(greeting));
  }

  /** The server's greeting. */
  get greeting(): Reply {
    return this.#greeting;
  }

  /** Whether the session is over (closed by either side, or failed). */
  get closed(): boolean {
    return this.#driver.closed;
  }

  /**
   * Sends EHLO (LHLO in LMTP mode), falling back to HELO after 500/502. Optional: the first command that needs a
   * hello sends it. Fails if a hello was already sent.
   */
  async hello(localName?: string): Promise<void> {
    checkText("localName", localName);
    await this.#driver.command((now) => this.#conn.hello(localName, now));
  }

  /**
   * Whether the server advertised the ESMTP extension `name` (case-insensitive) in its last EHLO, and its parameter
   * (`extension("SIZE")` gives `{ supported: true, param: "10240000" }`). Before any hello: not supported.
   */
  extension(name: string): { supported: boolean; param: string } {
    if (this.#driver.released) return { supported: false, param: "" };
    const param = this.#conn.extension(name);
    return param === undefined || param === null ? { supported: false, param: "" } : { supported: true, param };
  }

  /**
   * {@link extension}, after sending the hello first when none was sent yet (Go's `Client.Extension`): resolves with
   * what the server's EHLO advertised.
   */
  async extensionAfterHello(name: string): Promise<{ supported: boolean; param: string }> {
    if (this.capabilities() === null && !this.#driver.closed) await this.hello();
    return this.extension(name);
  }

  /**
   * The recipients the server accepted in the transaction opened with {@link mail} (go-smtp's `GetRcpts`), in order;
   * empty when no transaction is open.
   */
  recipients(): string[] {
    if (this.#driver.released) return [];
    return [...this.#conn.recipients()];
  }

  /**
   * Sends one raw command line (go-smtp's `Text`) for what has no method of its own (`EXPN`, `HELP`, `ETRN`,
   * `XCLIENT`, a vendor command) and resolves with the server's reply, whatever its code (a 421 still ends the
   * session). The line goes through the core's checks: no CR, LF or other control characters, at most 512 octets
   * with CRLF. Commands whose state the session tracks (`MAIL`, `RCPT`, `DATA`, `BDAT`, `RSET`, `AUTH`, `STARTTLS`,
   * `EHLO`, `HELO`, `LHLO`, `QUIT`) are refused with a UsageError: use their methods.
   */
  async command(line: string): Promise<Reply> {
    checkText("command", line);
    return replyOf(await this.#driver.command((now) => this.#conn.command(line, now)));
  }

  /**
   * Every ESMTP extension the server advertised in its last EHLO: upper-cased keywords mapped to their parameters
   * (`""` when there are none), in the server's order, for example
   * `{ PIPELINING: "", SIZE: "10240000", AUTH: "PLAIN LOGIN", STARTTLS: "" }`. `null` before the hello and right after
   * STARTTLS until the new EHLO (RFC 3207: what was learned in cleartext is forgotten); `{}` after a HELO fallback.
   */
  capabilities(): Record<string, string> | null {
    if (this.#driver.released) return this.#lastCapabilities;
    const raw = this.#conn.capabilities();
    if (raw === undefined || raw === null) return null;
    const out: Record<string, string> = {};
    for (const [keyword, params] of Object.entries(raw.extensions)) out[keyword] = params;
    this.#lastCapabilities = out;
    return { ...out };
  }

  /**
   * STARTTLS, the TLS handshake and a new EHLO (RFC 3207). Fails with a TlsError if the server does not offer it,
   * unless `required` is false, in which case nothing happens then.
   */
  async startTls(options: { required?: boolean } = {}): Promise<void> {
    checkKeys(options, ["required"], "startTls options");
    const required = options.required ?? true;
    await this.#driver.command((now) => this.#conn.startTls(required, now));
    this.#rememberTls();
  }

  /**
   * AUTH with the given credentials; picks the best mechanism the server offers when `mechanism` is omitted
   * (never a cleartext one over cleartext to a remote host, unless `allowInsecureAuth`). `{ mechanism: "EXTERNAL" }`
   * authenticates with the TLS client certificate (`clientCertificate`). A {@link SaslClient} runs a mechanism of
   * your own: its `next` answers each challenge.
   */
  async auth(cred: AuthOptions | SaslClient): Promise<void> {
    if (isSaslClient(cred)) return this.#authWith(cred);
    if (cred === undefined || cred === null || typeof cred !== "object") {
      throw new UsageError("auth needs credentials (or a SaslClient)");
    }
    checkKeys(cred, AUTH_KEYS, "auth");
    for (const key of ["username", "password", "identity", "accessToken"] as const) {
      checkText(key, (cred as Record<string, unknown>)[key]);
    }
    let raw: RawCredentials;
    if (cred.mechanism === "EXTERNAL") {
      raw = { external: true };
      if (cred.identity !== undefined) raw.identity = cred.identity;
    } else {
      if (typeof cred.username !== "string") throw new UsageError("auth needs credentials with a username");
      raw = { username: cred.username };
      if ("accessToken" in cred && cred.accessToken !== undefined) raw.accessToken = cred.accessToken;
      if ("password" in cred && cred.password !== undefined) raw.password = cred.password;
      if ("identity" in cred && cred.identity !== undefined) raw.identity = cred.identity;
    }
    await this.#driver.command((now) => this.#conn.auth(raw, cred.mechanism, now));
  }

  /** AUTH with a caller's mechanism: each challenge goes to `next`, its answer back to the core. */
  async #authWith(mechanism: SaslClient): Promise<void> {
    const started = await mechanism.start();
    if (started === null || typeof started !== "object" || typeof started.mechanism !== "string") {
      throw new UsageError("a SaslClient's start() must return { mechanism, initialResponse? }");
    }
    checkText("initialResponse", started.initialResponse);
    const initial = started.initialResponse === undefined ? undefined : bytesOf(started.initialResponse);
    const driver = this.#driver;
    const conn = this.#conn;
    let id = -1;
    const completion = driver.command((now) => {
      id = conn.authCustom(started.mechanism, initial, now);
      driver.saslHandlers.set(id, (challenge) => {
        // The mechanism may take its time (and may be async); the core waits without writing anything.
        void (async () => {
          let response: Uint8Array | undefined;
          try {
            const answer = await mechanism.next(challenge);
            checkText("response", answer);
            response = bytesOf(answer);
          } catch {
            response = undefined; // "*": the exchange is abandoned, the server's reply ends it
          }
          if (driver.closed) return;
          try {
            driver.call((at) => conn.saslRespond(id, response, at));
          } catch {
            // The session ended meanwhile: the completion reports it.
          }
        })();
      });
      return id;
    });
    try {
      await completion;
    } finally {
      driver.saslHandlers.delete(id);
    }
  }
  /** MAIL FROM. ESMTP parameters are sent only when advertised; `BODY=8BITMIME` is added when the server offers it. */
  async mail(from: string, opts: MailOptions = {}): Promise<Reply> {
    checkText("from", from);
    const raw = mailOptions(opts);
    return replyOf(await this.#driver.command((now) => this.#conn.mail(from, raw, now)));
  }

  /** RCPT TO. */
  async rcpt(to: string, opts: RcptOptions = {}): Promise<Reply> {
    checkText("to", to);
    const raw = rcptOptions(opts);
    return replyOf(await this.#driver.command((now) => this.#conn.rcpt(to, raw, now)));
  }

  /**
   * DATA: resolves once the server is ready for the message (354), with a writer for it. `close()` ends the message
   * and resolves with the server's reply. In LMTP mode use {@link lmtpData}.
   */
  async data(): Promise<DataWriter> {
    const { id, completion, ready } = await this.#openBody((now) => this.#conn.data(now));
    if (!ready) throw unexpectedEarlyCompletion();
    return new DataWriter(this.#driver, id, completion);
  }

  /** LMTP DATA: like {@link data}, but `close()` resolves with one outcome per accepted recipient (RFC 2033). */
  async lmtpData(): Promise<LmtpDataWriter> {
    const { id, completion, ready } = await this.#openBody((now) => this.#conn.data(now));
    if (!ready) throw unexpectedEarlyCompletion();
    return new LmtpDataWriter(this.#driver, id, completion);
  }

  /**
   * One whole transaction: MAIL, every RCPT and DATA (pipelined when the server offers PIPELINING), then the
   * message. Resolves with the accepted and refused recipients; rejects when the sender or every recipient is
   * refused, or the message is.
   */
  sendMail(tx: Transaction): Promise<SendResult> {
    // Not async itself: the common case (one recipient, no options, a message in memory of at most 64 KiB) runs in a
    // small async method of its own, which V8 optimizes on its own, without the rest (TurboFan compiled the whole
    // async sendMail in ~25 ms of CPU, inside the first few thousand messages of a session).
    try {
      if (tx === undefined || tx === null || typeof tx.from !== "string") {
        throw new UsageError("sendMail needs a transaction with from, to and message");
      }
      checkKeys(tx, TRANSACTION_KEYS, "the transaction");
      checkText("from", tx.from);
      checkTexts("to", tx.to);
      const message = tx.message;
      const rawTo = tx.to;
      const only = typeof rawTo === "string" ? rawTo : Array.isArray(rawTo) && rawTo.length === 1 ? rawTo[0] : undefined;
      const small =
        typeof message === "string"
          ? message.length <= SMALL_TEXT
            ? message
            : undefined
          : message instanceof Uint8Array && message.byteLength <= BODY_SLICE
            ? message
            : undefined;
      if (typeof only === "string" && small !== undefined && tx.mailOptions === undefined && tx.rcptOptions === undefined) {
        return this.#sendSmall(tx.from, only, small, tx.onProgress);
      }
      return this.#sendGeneral(tx);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** {@link sendMail} to one recipient without options, with a message of at most 64 KiB in memory. */
  async #sendSmall(
    from: string,
    to: string,
    message: string | Uint8Array,
    onProgress: ((bytesSent: number) => void) | undefined,
  ): Promise<SendResult> {
    const conn = this.#conn;
    // Two strings to the core, no envelope object for it to read field by field.
    const { id, completion, ready } = this.#driver.bodyCommand((now) => conn.sendMailTo(from, to, now));
    const wait = await ready;
    // Completed without asking for the message: nothing more to send (the core decided, e.g. no recipient left).
    if (!wait.ready) return this.#sendResult(wait.completion, [to]);
    const bytes = typeof message === "string" ? encoder.encode(message) : message;
    // The whole message and its end in one call, one flight.
    this.#driver.call((now) => conn.sendLastBody(id, bytes, now));
    if (bytes.byteLength > 0) progress(onProgress, bytes.byteLength);
    return this.#sendResult(await completion, [to]);
  }

  async #sendGeneral(tx: Transaction): Promise<SendResult> {
    const to = typeof tx.to === "string" ? [tx.to] : Array.isArray(tx.to) ? [...tx.to] : [];
    const message = tx.message;
    checkMessage(message);
    const envelope: RawEnvelope = {
      from: tx.from,
      to,
      // Absent rather than empty: the core then reads no field of them.
      mailOptions: tx.mailOptions === undefined ? undefined : mailOptions(tx.mailOptions),
      rcptOptions: tx.rcptOptions === undefined ? undefined : rcptOptions(tx.rcptOptions),
    };
    const conn = this.#conn;
    const { id, completion, ready } = this.#driver.bodyCommand((now) => conn.sendMail(envelope, now));
    const wait = await ready;
    if (!wait.ready) return this.#sendResult(wait.completion, to);
    if (typeof message === "string" || message instanceof Uint8Array) {
      await this.#sendBytes(id, typeof message === "string" ? encoder.encode(message) : message, tx.onProgress);
      return this.#sendResult(await completion, to);
    }
    const writer = new DataWriter(this.#driver, id, completion);
    await streamMessage(writer, message, tx.onProgress);
    await writer.close();
    return this.#sendResult(await completion, to);
  }

  /**
   * A message already in memory: handed to the core directly (no gathering copies, no writer), 64 KiB at a time,
   * waiting for backpressure between slices; the last slice and the end of the message go in one flight.
   */
  async #sendBytes(id: number, bytes: Uint8Array, onProgress: ((bytesSent: number) => void) | undefined): Promise<void> {
    const conn = this.#conn;
    for (let at = 0; ; ) {
      const end = Math.min(at + BODY_SLICE, bytes.byteLength);
      const piece = bytes.subarray(at, end);
      const last = end === bytes.byteLength;
      this.#driver.call((now) => {
        if (last) conn.sendLastBody(id, piece, now);
        else if (piece.byteLength > 0) conn.sendBody(id, piece, now);
      });
      if (piece.byteLength > 0) progress(onProgress, end);
      if (last) return;
      at = end;
      await this.#driver.drained(HIGH_WATER_MARK);
    }
  }

  /** RSET: abandons the current transaction. */
  async reset(): Promise<void> {
    await this.#driver.command((now) => this.#conn.reset(now));
  }

  /** NOOP. */
  async noop(): Promise<void> {
    await this.#driver.command((now) => this.#conn.noop(now));
  }

  /** VRFY. Most servers answer 252 (cannot verify) or refuse. */
  async verify(addr: string): Promise<Reply> {
    checkText("address", addr);
    return replyOf(await this.#driver.command((now) => this.#conn.verify(addr, now)));
  }

  /** QUIT, then close the connection. */
  async quit(): Promise<void> {
    try {
      await this.#driver.command((now) => this.#conn.quit(now));
    } finally {
      this.#rememberTls();
      await this.#driver.close(new ConnectionClosedError("the session ended with QUIT", { phase: "quit" }));
    }
  }

  /** Closes the connection without QUIT (TLS close_notify first, when TLS is up). Safe to call twice. */
  async close(): Promise<void> {
    this.#rememberTls();
    await this.#driver.close();
  }

  /** The TLS parameters (protocol version, cipher suite, the server's chain), or null in cleartext. */
  tlsInfo(): TlsInfo | null {
    this.#rememberTls();
    return this.#lastTls;
  }

  #rememberTls(): void {
    // Once up, TLS parameters do not change for the rest of the session (no renegotiation): read them once.
    if (this.#lastTls !== null || this.#driver.released) return;
    const raw = this.#conn.tlsInfo();
    if (raw === undefined || raw === null) return;
    this.#lastTls = {
      protocolVersion: raw.protocolVersion,
      cipherSuite: raw.cipherSuite,
      peerCertificates: [...raw.peerCertificates],
      serverName: raw.serverName,
      resumed: raw.resumed,
      subject: raw.subject ?? null,
      issuer: raw.issuer ?? null,
      notAfter: raw.notAfter ?? null,
    };
  }

  /** Issues a command that carries content and waits until the server is ready for it (or refused first). */
  async #openBody(
    issue: (now: number) => number,
  ): Promise<{ id: number; completion: Promise<Completion>; ready: boolean }> {
    const { id, completion, ready } = this.#driver.bodyCommand(issue);
    const wait = await ready;
    return { id, completion, ready: wait.ready };
  }

  /** `to`: the recipients as given to the core, in order (a copy this call owns). */
  #sendResult(completion: Completion, to: string[]): SendResult {
    this.#rememberTls();
    if (completion.kind === "sent") {
      // Every recipient accepted: the core's list of accepted recipients is `to`, in order.
      // The reply was built for this completion alone (replyOf hands out copies): no copy needed.
      return { accepted: to, rejected: [], reply: completion.reply, tls: this.#lastTls };
    }
    if (completion.kind === "transaction") {
      return {
        accepted: [...completion.accepted],
        rejected: completion.rejected.map(({ recipient, error }) => ({ recipient, error: asSmtpError(error) })),
        reply: copyReply(completion.reply),
        tls: this.#lastTls,
      };
    }
    if (completion.kind === "reply") {
      return { accepted: [], rejected: [], reply: copyReply(completion.reply), tls: this.#lastTls };
    }
    throw new ProtocolError(`unexpected completion of a transaction: ${completion.kind}`, {});
  }
}

/** What {@link DataWriter} and {@link LmtpDataWriter} share: streaming content with bounded memory. */
export abstract class BodyWriter {
  readonly #driver: Driver;
  readonly #id: number;
  readonly #completion: Promise<Completion>;
  #state: "open" | "closing" | "closed" = "open";
  #bytes = 0;
  #gathered: Uint8Array[] = [];
  #gatheredSize = 0;

  /** @internal */
  constructor(driver: Driver, id: number, completion: Promise<Completion>) {
    this.#driver = driver;
    this.#id = id;
    this.#completion = completion;
  }

  /** Message bytes written so far. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Adds content. Strings are encoded as UTF-8. Bare CR and LF become CRLF and leading dots are stuffed by the core.
   * Small chunks are gathered (and copied) up to 16 KiB before they go to the connection, so a stream of short lines
   * does not become a stream of tiny TLS records. Resolves once the connection can take more.
   */
  async write(chunk: Uint8Array | string): Promise<void> {
    if (this.#state !== "open") throw new UsageError("the message is already closed");
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) throw new UsageError("write takes a Uint8Array or a string");
    if (bytes.byteLength === 0) return;
    this.#bytes += bytes.byteLength;
    if (this.#gatheredSize + bytes.byteLength < GATHER) {
      // The caller may reuse its buffer once write resolves: keep a copy.
      this.#gathered.push(bytes.slice());
      this.#gatheredSize += bytes.byteLength;
      return;
    }
    const data = this.#take(bytes);
    for (let at = 0; at < data.byteLength; at += BODY_SLICE) {
      const piece = data.subarray(at, Math.min(at + BODY_SLICE, data.byteLength));
      this.#driver.call((now) => this.#driver.conn.sendBody(this.#id, piece, now));
      await this.#driver.drained(HIGH_WATER_MARK);
    }
  }

  /** The gathered chunks followed by `more`, as one buffer; empties the gathering. */
  #take(more?: Uint8Array): Uint8Array {
    if (this.#gathered.length === 0) return more ?? new Uint8Array(0);
    if (more !== undefined) this.#gathered.push(more);
    const size = this.#gatheredSize + (more?.byteLength ?? 0);
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of this.#gathered) {
      out.set(part, at);
      at += part.byteLength;
    }
    this.#gathered = [];
    this.#gatheredSize = 0;
    return out;
  }

  /**
   * Abandons the message: the core makes sure the server does not accept it. Resolves once the server answered
   * (or the session ended).
   */
  async abort(reason: unknown = "aborted by the caller"): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "closed";
    this.#gathered = [];
    this.#gatheredSize = 0;
    const why = reason instanceof Error ? reason.message : String(reason);
    try {
      this.#driver.call((now) => this.#driver.conn.abortBody(this.#id, why, now));
    } catch {
      // The session may already be over; the message is not sent either way.
    }
    await this.#completion.then(
      () => {},
      () => {},
    );
  }

  /** Ends the content and resolves with the command's completion. @internal */
  protected async finish(): Promise<Completion> {
    if (this.#state === "open") {
      this.#state = "closing";
      const rest = this.#take();
      // The last content and its end in one flight.
      this.#driver.call((now) => {
        if (rest.byteLength > 0) this.#driver.conn.sendBody(this.#id, rest, now);
        this.#driver.conn.finishBody(this.#id, now);
      });
    }
    this.#state = "closed";
    return this.#completion;
  }

  /** Ends the message; resolves with the server's answer. */
  abstract close(): Promise<unknown>;
}

/** Writes a message's content after DATA. Bounded memory: `write` waits while the connection is backed up. */
export class DataWriter extends BodyWriter {
  /** Ends the message and resolves with the server's reply to it. */
  async close(): Promise<Reply> {
    return replyOf(await this.finish());
  }
}

/** Writes a message's content after LMTP DATA; `close()` gives one outcome per recipient. */
export class LmtpDataWriter extends BodyWriter {
  /** Ends the message and resolves with each recipient's outcome (RFC 2033). */
  async close(): Promise<LmtpResult[]> {
    return recipientsOf(await this.finish());
  }
}

async function streamMessage(
  writer: BodyWriter,
  message: MessageSource,
  onProgress: ((bytesSent: number) => void) | undefined,
): Promise<void> {
  const progress = (): void => {
    if (onProgress === undefined) return;
    try {
      onProgress(writer.bytesWritten);
    } catch {
      // A failing progress callback must not break the transfer.
    }
  };
  if (typeof message === "string" || message instanceof Uint8Array) {
    const bytes = typeof message === "string" ? encoder.encode(message) : message;
    for (let at = 0; at < bytes.byteLength; at += BODY_SLICE) {
      await writer.write(bytes.subarray(at, Math.min(at + BODY_SLICE, bytes.byteLength)));
      progress();
    }
    return;
  }
  try {
    if (isReadableStream(message)) {
      const reader = message.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          await writer.write(value);
          progress();
        }
      } finally {
        reader.releaseLock();
      }
    } else {
      for await (const chunk of message) {
        await writer.write(chunk);
        progress();
      }
    }
  } catch (error) {
    // The source failed (or the connection did): make sure the server does not take a truncated message.
    if (!(error instanceof SmtpWasmError)) await writer.abort(error).catch(() => {});
    throw error;
  }
}

function progress(onProgress: ((bytesSent: number) => void) | undefined, sent: number): void {
  if (onProgress === undefined) return;
  try {
    onProgress(sent);
  } catch {
    // A failing progress callback must not break the transfer.
  }
}

function unexpectedEarlyCompletion(): ProtocolError {
  return new ProtocolError("DATA completed before the server asked for the message", { phase: "data-init" });
}

function isSaslClient(value: unknown): value is SaslClient {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { start?: unknown }).start === "function" &&
    typeof (value as { next?: unknown }).next === "function"
  );
}

function bytesOf(value: Uint8Array | string): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  throw new UsageError("a SASL response must be a Uint8Array or a string");
}

function checkMessage(message: unknown): void {
  if (
    typeof message === "string" ||
    message instanceof Uint8Array ||
    isReadableStream(message) ||
    (typeof message === "object" && message !== null && Symbol.asyncIterator in message)
  ) {
    return;
  }
  throw new UsageError("message must be a string, a Uint8Array, a ReadableStream or an async iterable");
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { getReader?: unknown }).getReader === "function"
  );
}

/** Refuses unknown keys and lone surrogates in the options of {@link SmtpClient.connect}. */
function checkClientOptions(options: ClientOptions): void {
  checkKeys(options, CLIENT_OPTION_KEYS, "ClientOptions");
  checkKeys(options.timeouts, TIMEOUT_KEYS, "timeouts");
  checkText("serverName", options.serverName);
  checkText("localName", options.localName);
  checkTexts("rootCertificates", options.rootCertificates);
}

function connectionOptions(options: ClientOptions, loopbackPeer: boolean): RawConnectionOptions {
  const roots = options.rootCertificates;
  const timeouts = options.timeouts ?? {};
  const raw: RawConnectionOptions = {
    serverName: options.serverName,
    implicitTls: options.implicitTls ?? false,
    lmtp: options.lmtp ?? false,
    rootCertificates: roots === undefined ? [] : typeof roots === "string" ? [roots] : [...roots],
    onlyRootCertificates: options.onlyRootCertificates ?? false,
    dangerouslyAcceptInvalidCertificates: options.dangerouslyAcceptInvalidCertificates ?? false,
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    loopbackPeer,
    transcript: options.debug !== undefined,
    timeouts: {},
  };
  if (options.localName !== undefined) raw.localName = options.localName;
  if (options.preferChunking !== undefined) raw.preferChunking = options.preferChunking;
  if (options.clientCertificate !== undefined) {
    checkKeys(options.clientCertificate, ["cert", "key"], "clientCertificate");
    raw.clientCertificate = { cert: options.clientCertificate.cert, key: options.clientCertificate.key };
  }
  for (const key of TIMEOUT_KEYS) {
    // `connect` is the transport's (sendMail opens it); the core has every other deadline.
    if (key === "connect") continue;
    const value = timeouts[key];
    if (value !== undefined) raw.timeouts[key] = value;
  }
  return raw;
}

function mailOptions(opts: MailOptions): RawMailOptions {
  checkKeys(opts, MAIL_OPTION_KEYS, "mailOptions");
  checkText("envelopeId", opts.envelopeId);
  checkText("auth", opts.auth);
  const raw: RawMailOptions = {};
  if (opts.size !== undefined) raw.size = opts.size;
  if (opts.body !== undefined) raw.body = opts.body;
  if (opts.smtpUtf8 !== undefined) raw.smtpUtf8 = opts.smtpUtf8;
  if (opts.requireTls !== undefined) raw.requireTls = opts.requireTls;
  if (opts.ret !== undefined) raw.ret = opts.ret;
  if (opts.envelopeId !== undefined) raw.envelopeId = opts.envelopeId;
  if (opts.auth !== undefined) raw.auth = opts.auth;
  return raw;
}

function rcptOptions(opts: RcptOptions): RawRcptOptions {
  checkKeys(opts, RCPT_OPTION_KEYS, "rcptOptions");
  checkText("originalRecipient", opts.originalRecipient);
  checkText("originalRecipientType", opts.originalRecipientType);
  const raw: RawRcptOptions = {};
  if (opts.notify !== undefined) raw.notify = opts.notify === "NEVER" ? "NEVER" : [...opts.notify];
  if (opts.originalRecipient !== undefined) raw.originalRecipient = opts.originalRecipient;
  if (opts.originalRecipientType !== undefined) raw.originalRecipientType = opts.originalRecipientType;
  return raw;
}

function copyReply(raw: RawReply): Reply {
  return {
    code: raw.code,
    enhancedCode: raw.enhancedCode === null || raw.enhancedCode === undefined ? null : [...raw.enhancedCode],
    lines: [...raw.lines],
    text: raw.text,
  };
}

function replyOf(completion: Completion): Reply {
  switch (completion.kind) {
    case "sent":
    case "reply":
    case "transaction":
      return copyReply(completion.reply);
    default:
      throw new ProtocolError(`expected a reply, the core completed with ${completion.kind}`, {});
  }
}

function recipientsOf(completion: Completion): LmtpResult[] {
  if (completion.kind !== "recipients") {
    throw new ProtocolError(`expected per-recipient results, the core completed with ${completion.kind}`, {});
  }
  return completion.results.map((result): LmtpResult => {
    if (result.error !== undefined && result.error !== null) {
      const error = toError(result.error);
      return {
        recipient: result.recipient,
        error: error instanceof SmtpWasmError ? error : new SmtpWasmError(error.message, { kind: "internal" }),
      };
    }
    if (result.reply === undefined) throw new ProtocolError("a recipient result without reply or error", {});
    return { recipient: result.recipient, reply: copyReply(result.reply) };
  });
}

function asSmtpError(raw: RawError): SmtpError {
  const error = toError(raw);
  if (error instanceof SmtpError) return error;
  // Only server refusals are expected here; keep the type honest for anything else the core reports.
  return new SmtpError(error.message, {
    code: 0,
    command: "RCPT TO",
    kind: raw.kind,
    temporary: raw.temporary,
    text: "",
    cause: error,
  });
}
