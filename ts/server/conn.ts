/**
 * The driver of one client connection: reads the transport into the core, drains the core's outputs after every
 * input (str0m's rule), and answers each decision event by calling the backend.
 *
 * The loop is sequential on purpose: while a backend call is pending nothing more is read from the client, so a
 * client pipelining thousands of commands costs one transport read of memory, and the backend sees the commands one
 * at a time, in order (go-smtp's semantics). Inside a message, reading also waits while the message stream's queue
 * is full (the backend reads slowly): the client is slowed down by TCP, and the memory held per connection stays
 * bounded (the stream window, {@link MESSAGE_WINDOW}, plus one transport read) whatever the message size.
 *
 * Every wait is bounded: client silence by the core's read timeout, each backend call and a stalled message reader by
 * `readTimeout` (the client gets a `451`), each write by `writeTimeout`.
 * @module
 */

import { concatBytes } from "../bytes.js";
import { SmtpError as ClientSmtpError } from "../errors.js";
import type { RawReplySpec, RawServerEvent, RawServerTlsInfo, RawXclient, ServerCore } from "./core.js";
import { BACKEND_TIMEOUT_REPLY, ErrAuthRequired, ErrAuthUnsupported, INTERNAL_ERROR_REPLY, type SmtpError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import type { ServerTransport } from "./transport.js";
import type { ConnectionState, ServerMailOptions, ServerRcptOptions, ServerTlsInfo, Session } from "./types.js";

/** Bytes of message content queued for the backend before reading from the client pauses. */
export const MESSAGE_WINDOW = 64 * 1024;

/** Why a connection is being ended from our side. */
type Stop = { kind: "shutdown"; reply?: RawReplySpec } | { kind: "end" } | { kind: "destroy" };

/** What a backend call came to. */
type Outcome<T> = { ok: true; value: T } | { ok: false; reply: RawReplySpec; error: unknown } | { ok: false; stop: true };

/** The server-wide things a connection needs. */
export interface ConnectionHost {
  options: ResolvedOptions;
  /** Reports a backend error that became `451` (the client never sees it). */
  onError(error: unknown, state: ConnectionState, phase: string): void;
  /** The connection ended (every resource released). */
  onClosed(conn: ConnectionDriver): void;
}

const TOO_MANY_AUTH_FAILURES: RawReplySpec = {
  code: 421,
  enhancedCode: [4, 7, 0],
  text: "Too many failed authentication attempts, try again later",
};
const AUTH_REQUIRED: RawReplySpec = replyOf(ErrAuthRequired) ?? INTERNAL_ERROR_REPLY;
const XCLIENT_REFUSED: RawReplySpec = { code: 550, enhancedCode: [5, 7, 0], text: "Error: insufficient authorization" };

/** An {@link SmtpError} (or the client API's, rethrown by a relaying backend) as a reply; `null` for anything else. */
export function replyOf(error: unknown): RawReplySpec | null {
  if (!(error instanceof ClientSmtpError)) return null;
  const { code } = error;
  if (!Number.isInteger(code) || code < 400 || code > 599) return null;
  const enhanced = error.enhancedCode;
  const lines = error.lines.length > 0 ? error.lines : [error.message];
  // The client API keeps the enhanced code at the start of each received line: send the text once, without it.
  const prefix = enhanced === null ? null : `${enhanced[0]}.${enhanced[1]}.${enhanced[2]} `;
  const text = lines.map((l) => (prefix !== null && l.startsWith(prefix) ? l.slice(prefix.length) : l)).join("\n");
  return { code, enhancedCode: enhanced, text };
}

/** Whether a refused login counts as a failed attempt (a wrong password, not "AUTH unavailable" or a 4xx). */
function isAuthFailure(reply: RawReplySpec): boolean {
  return reply.code === 535 || (reply.code >= 500 && reply.code !== 502 && reply.code !== 504);
}

function tlsInfoOf(raw: RawServerTlsInfo): ServerTlsInfo {
  return {
    protocolVersion: raw.protocolVersion,
    cipherSuite: raw.cipherSuite,
    serverName: raw.serverName,
    peerCertificates: raw.peerCertificates,
    resumed: raw.resumed,
  };
}

/** The message being received: its stream, and what the backend made of it. */
/**
 * What a message's stream errors with when the client ends it early (disconnect, RSET mid-BDAT, timeout, over the
 * size limit). A backend that lets it propagate out of `data()` is not at fault: the driver does not log it.
 */
class MessageAbortedError extends Error {
  override name = "MessageAbortedError";
}

/** Whether `error` is (or was caused by) a {@link MessageAbortedError}: the client's doing, nothing to log. */
function isMessageAbort(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof MessageAbortedError) return true;
  }
  return false;
}

class Message {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** The backend stopped reading (returned, threw, or cancelled the stream): content is dropped from now on. */
  discarding = false;
  private closed = false;
  private roomWaiters: Array<() => void> = [];
  outcome: Promise<Outcome<unknown>> | null = null;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.wake(),
        cancel: () => {
          this.discarding = true;
          this.wake();
        },
      },
      { highWaterMark: MESSAGE_WINDOW, size: (chunk) => chunk.byteLength },
    );
  }

  private wake(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Whether more content may be read from the client now. */
  hasRoom(): boolean {
    return this.discarding || this.closed || (this.controller.desiredSize ?? 1) > 0;
  }

  /** Resolves when {@link hasRoom} may have changed. */
  waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The backend is done with the message (returned or threw): the rest is dropped, reading goes on. */
  abandon(): void {
    this.discarding = true;
    this.wake();
  }

  push(chunk: Uint8Array): void {
    if (this.discarding || this.closed) return;
    // The wasm hands out each chunk as a fresh Uint8Array (copied out of its memory): the backend may keep it.
    this.controller.enqueue(chunk);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.discarding) {
      try {
        this.controller.close();
      } catch {
        // Cancelled meanwhile.
      }
    }
    this.wake();
  }

  fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.controller.error(new MessageAbortedError(`the message was not received completely: ${reason}`));
    } catch {
      // Cancelled meanwhile.
    }
    this.discarding = true;
    this.wake();
  }
}

/** Loop inputs other than bytes and EOF: nothing (a start, a stop, a refusal), or the core's deadline passed. */
const NO_INPUT = Symbol("no input");
const TIMEOUT = Symbol("timeout");

/** What a wait ended with. */
type Woken<T> =
  | { kind: "value"; value: T }
  | { kind: "error"; error: unknown }
  | { kind: "stop" }
  | { kind: "alarm" }
  /** Something for the loop to do first (a refusal of the message). */
  | { kind: "wake" };

/** One client connection. */
export class ConnectionDriver {
  readonly id: number;
  readonly state: ConnectionState;
  private session: Session | null = null;
  private message: Message | null = null;
  private statuses: Map<string, SmtpError | null> | null = null;
  private closed = false;
  private stopRequest: Stop | null = null;
  /** The transport read in flight (kept across waits that an alarm or a stop won). */
  private pendingRead: Promise<Uint8Array | null> | null = null;
  /**
   * The one wait in progress (the loop is sequential, so there is at most one): resolved by its promise, by a stop
   * (when stoppable), or by the alarm at `alarmAt`, which the server's watchdog checks ({@link tick}). One deadline
   * field instead of a timer per wait: a timer armed and cleared per read and per backend call cost measurable CPU
   * at thousands of messages per second, and racing a long-lived promise leaks a reaction per race.
   */
  private wake: ((woken: Woken<never>) => void) | null = null;
  private wakeStoppable = false;
  /** The wait in progress is the loop's wait for input (which a refusal of the message may cut short). */
  private waitingForInput = false;
  /** The backend refused the message before its end: told to the core by the loop, between two inputs. */
  private refusal: { message: Message; reply: RawReplySpec } | null = null;
  private alarmAt = 0;
  /**
   * Waiting for the client's next bytes in push mode ({@link ServerTransport.park}): no async function is suspended
   * and no promise is pending, so an idle connection holds only this object, its core and its socket. `alarmAt` is
   * the core's deadline meanwhile (checked by {@link tick}).
   */
  private parked = false;
  /** The transport's callback while parked (made once per connection). */
  private readonly onPush = (chunk: Uint8Array | null): void => {
    this.parked = false;
    this.alarmAt = 0;
    void this.loop(chunk);
  };
  private released = false;
  /** The end of the stream was handed to the core (a second one ends the loop: nothing more can arrive). */
  private eof = false;
  private done: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(
    private readonly host: ConnectionHost,
    private readonly core: ServerCore,
    private readonly transport: ServerTransport,
    state: ConnectionState,
    id: number,
  ) {
    this.id = id;
    this.state = state;
  }

  /** Starts the session (the greeting); called once the server has registered the connection. */
  start(): void {
    void this.loop(NO_INPUT);
  }

  /** Resolves when the connection is over and released. */
  finished(): Promise<void> {
    if (this.released) return Promise.resolve();
    if (this.done === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.done = { promise, resolve };
    }
    return this.done.promise;
  }

  /** A copy of the state (what `connections()` shows). */
  snapshot(): ConnectionState {
    const copy = { ...this.state };
    if (this.state.original !== undefined) copy.original = { ...this.state.original };
    return copy;
  }

  /**
   * Ends the connection: `shutdown` has the core send `421` and closes, `end` closes once what is queued was written
   * (after a `421` reply of our own), `destroy` drops it at once.
   */
  stop(request: Stop): void {
    if (this.closed) return;
    if (request.kind === "destroy") {
      this.closed = true;
      this.transport.destroy();
    }
    if (this.stopRequest !== null && request.kind !== "destroy") return;
    this.stopRequest = request;
    if (this.wake !== null && (this.wakeStoppable || request.kind === "destroy")) this.resolveWait({ kind: "stop" });
    else if (this.parked) this.unpark(NO_INPUT);
  }

  /** Called by the server's watchdog: fires the alarm of the wait in progress once its time has come. */
  tick(now: number): void {
    if (this.alarmAt === 0 || now < this.alarmAt) return;
    if (this.wake !== null) this.resolveWait({ kind: "alarm" });
    else if (this.parked) this.unpark(TIMEOUT);
  }

  /** Leaves the parked wait for input to run the loop with `input` (a timeout, or nothing: a stop or a refusal). */
  private unpark(input: typeof NO_INPUT | typeof TIMEOUT): void {
    this.parked = false;
    this.alarmAt = 0;
    this.transport.unpark?.();
    void this.loop(input);
  }

  private resolveWait(woken: Woken<never>): void {
    const wake = this.wake;
    this.wake = null;
    this.alarmAt = 0;
    wake?.(woken);
  }

  /** Waits for `promise`, a stop (if `stoppable`), or `alarmAt` (0: none). */
  private wait<T>(promise: Promise<T>, alarmAt: number, stoppable: boolean): Promise<Woken<T>> {
    if (stoppable && this.stopRequest !== null) return Promise.resolve({ kind: "stop" });
    if (this.stopRequest?.kind === "destroy") return Promise.resolve({ kind: "stop" });
    return new Promise<Woken<T>>((resolve) => {
      const wake = resolve as (woken: Woken<never>) => void;
      this.wake = wake;
      this.wakeStoppable = stoppable;
      this.alarmAt = alarmAt;
      promise.then(
        (value) => {
          if (this.wake !== wake) return;
          this.wake = null;
          this.alarmAt = 0;
          resolve({ kind: "value", value });
        },
        (error: unknown) => {
          if (this.wake !== wake) return;
          this.wake = null;
          this.alarmAt = 0;
          resolve({ kind: "error", error });
        },
      );
    });
  }

  private deadline(ms: number): number {
    return ms === 0 ? 0 : Date.now() + ms;
  }

  // ------------------------------------------------------------------------------------------------ the loop

  /**
   * The session's loop, entered with what woke it: runs synchronously as far as it can (an async function runs on
   * its caller's stack until its first `await`, and it awaits only what must be waited for), and returns when it
   * parks for input (push transports) or when the connection is over. At most one runs at a time: it is entered
   * only by {@link start} and from the parked state.
   */
  private async loop(input: Uint8Array | null | typeof NO_INPUT | typeof TIMEOUT): Promise<void> {
    let over = true;
    try {
      if (this.closed) return; // destroyed while parked
      if (input !== NO_INPUT) {
        const now = Date.now();
        if (input === TIMEOUT) this.core.handleTimeout(now);
        else if (input === null) {
          this.eof = true;
          this.core.handleEof(now);
        } else this.core.handleInput(input, now);
      }
      const drained = this.drain();
      if (drained !== undefined) await drained;
      const park = this.transport.park;
      while (!this.closed) {
        if (this.stopRequest !== null) {
          await this.applyStop(this.stopRequest);
          break;
        }
        if (this.refusal !== null) {
          this.applyRefusal(this.refusal);
          this.refusal = null;
          const d = this.drain();
          if (d !== undefined) await d;
          continue;
        }
        let next: Uint8Array | null | "again" | undefined;
        const message = this.message;
        if (park !== undefined && (message === null || message.hasRoom())) {
          next = park.call(this.transport, this.onPush);
          if (next === undefined) {
            this.parked = true;
            this.alarmAt = this.core.pollTimeout() ?? 0;
            over = false;
            return;
          }
        } else {
          this.waitingForInput = true;
          next = await this.nextInput();
          this.waitingForInput = false;
          if (next === "again") continue;
        }
        const now = Date.now();
        if (next === null) {
          // A core closes on EOF (its `closed` event ends the loop); should one not, the transport would answer every
          // read with EOF again, and in push mode synchronously: stop here rather than spin.
          if (this.eof) break;
          this.eof = true;
          this.core.handleEof(now);
        } else this.core.handleInput(next, now);
        const d = this.drain();
        if (d !== undefined) await d;
      }
    } catch (error) {
      // A transport failure or a bug: the session is over either way. A client that went away while we wrote to it
      // is how connections end, not an error of the server's (Postfix logs it as "lost connection", not a fault).
      const reportable = !(error instanceof ClientGone);
      if (reportable && !this.closed && this.stopRequest === null) this.host.onError(error, this.state, "connection");
    } finally {
      if (over) await this.release();
    }
  }

  /** Waits for the client's next bytes (`null`: EOF); "again" after the core's deadline, a stop, or more room. */
  private async nextInput(): Promise<Uint8Array | null | "again"> {
    // Inside a message: wait until the backend made room (bounded by readTimeout: a reader that stalls forever).
    const message = this.message;
    if (message !== null && !message.hasRoom()) {
      const r = await this.wait(message.waitForRoom(), this.deadline(this.host.options.readTimeout), true);
      if (r.kind === "alarm") message.fail("the backend stopped reading the message");
      return "again";
    }
    if (this.transport.park !== undefined) return "again"; // push mode: the loop parks
    this.pendingRead ??= this.transport.read().then(
      (chunk) => chunk,
      () => null, // a reset connection is an EOF for the session
    );
    const r = await this.wait(this.pendingRead, this.core.pollTimeout() ?? 0, true);
    if (r.kind === "alarm") {
      this.core.handleTimeout(Date.now());
      const d = this.drain();
      if (d !== undefined) await d;
      return "again";
    }
    if (r.kind !== "value") return "again";
    this.pendingRead = null;
    return r.value;
  }

  private applyRefusal({ message, reply }: { message: Message; reply: RawReplySpec }): void {
    if (this.message !== message) return; // its end arrived meanwhile: answered by onDataEnd
    if (this.core.refuseMessage?.(reply, Date.now()) === true) {
      this.message = null;
      this.statuses = null;
    }
  }

  private async applyStop(stop: Stop): Promise<void> {
    if (stop.kind === "destroy") return;
    if (stop.kind === "shutdown") this.core.shutdown(Date.now(), stop.reply);
    // Only the transmit and the closing matter now: backend calls see the stop and do not run.
    const d = this.drain();
    if (d !== undefined) await d;
    this.closed = true;
  }

  /**
   * Writes what the core has to send and handles its events until it has nothing more: `undefined` when that was
   * all done at once, else a promise for the rest. Only what needs waiting is awaited (a write over the transport's
   * high-water mark, a backend call that returned a promise): at thousands of messages per second every promise and
   * microtask turn per event or reply shows.
   */
  private drain(): Promise<void> | undefined {
    for (;;) {
      const written = this.flush();
      if (written !== undefined) return written.then(() => this.drain());
      const event = this.core.pollEvent();
      if (event === undefined) return undefined;
      const handled = this.handle(event);
      if (handled !== undefined) return handled.then(() => this.drain());
    }
  }

  /** Writes everything the core queued, as one write; a promise only when the write must be waited for. */
  private flush(): Promise<void> | undefined {
    let out: Uint8Array | undefined = this.core.pollTransmit();
    if (out === undefined) return undefined;
    let next = this.core.pollTransmit();
    if (next !== undefined) {
      const more: Uint8Array[] = [out];
      for (; next !== undefined; next = this.core.pollTransmit()) more.push(next);
      out = concatBytes(more);
    }
    const pending = this.transport.write(out);
    return pending === undefined ? undefined : this.awaitWrite(pending);
  }

  private async awaitWrite(pending: Promise<void>): Promise<void> {
    const limit = this.host.options.writeTimeout;
    const r = await this.wait(pending, this.deadline(limit), false);
    if (r.kind === "alarm") throw new Error(`a write to the client took longer than writeTimeout (${limit} ms)`);
    if (r.kind === "error") throw new ClientGone(r.error);
  }

  // ------------------------------------------------------------------------------------------------ events

  /** Handles one event: `undefined` when done at once, else a promise (a backend call, a logout). */
  private handle(event: RawServerEvent): Promise<void> | undefined {
    const { options } = this.host;
    switch (event.type) {
      case "transcript":
        options.debug?.({
          sid: this.state.sid,
          remoteAddress: this.state.remoteAddress,
          direction: event.direction,
          text: event.text,
        });
        return;
      case "hello":
        this.state.hostname = event.name;
        if (event.id !== undefined) this.acceptId(event.id);
        return;
      case "starttls":
        return;
      case "tls-established":
        // RFC 3207: everything learnt before TLS is forgotten, AUTH included.
        this.state.tls = tlsInfoOf(event.info);
        this.state.hostname = "";
        return this.logout();
      case "auth":
        return this.onAuth(event);
      case "mail":
        return this.onMail(event.id, event.from, event.options as ServerMailOptions);
      case "rcpt":
        return this.answer(event.id, () => this.requireSession().rcpt(event.to, event.options as ServerRcptOptions));
      case "data-start":
        this.onDataStart();
        return;
      case "content":
        this.message?.push(event.chunk);
        this.core.contentRead(event.chunk.byteLength, Date.now());
        return;
      case "data-end":
        return this.onDataEnd(event.id, null);
      case "lmtp-data-end":
        return this.onDataEnd(event.id, event.recipients);
      case "data-aborted":
        this.message?.fail(event.reason);
        this.message = null;
        return;
      case "reset":
        if (this.session !== null) return this.onReset(this.session, event.id);
        if (event.id !== undefined) this.acceptId(event.id);
        return;
      case "quit":
        if (event.id !== undefined) this.acceptId(event.id);
        return;
      case "xclient":
        return this.onXclient(event.id, event.attributes);
      case "closed":
        this.closed = true;
        this.message?.fail(event.reason);
        this.message = null;
        return;
      default:
        return;
    }
  }

  private onReset(session: Session, id: number | undefined): Promise<void> | undefined {
    // Like go-smtp's Reset, it cannot refuse: an error is logged and RSET still succeeds.
    const after = (r: Outcome<unknown>): void => {
      if (!("stop" in r) && id !== undefined) this.acceptId(id);
    };
    const r = this.call("reset", () => session.reset());
    if (r instanceof Promise) return r.then(after);
    after(r);
    return undefined;
  }

  private requireSession(): Session {
    // The core emits RCPT and DATA only after an accepted MAIL, which made the session.
    if (this.session === null) throw new Error("no session (the core emitted a transaction event before MAIL)");
    return this.session;
  }

  /** Calls the backend for a decision and answers the command with its outcome. */
  private answer(id: number, fn: () => unknown, phase = "command"): Promise<void> | undefined {
    const r = this.call(phase, fn);
    if (r instanceof Promise) return r.then((o) => this.settle(id, o));
    this.settle(id, r);
    return undefined;
  }

  private settle(id: number, r: Outcome<unknown>): void {
    if (r.ok) this.acceptId(id);
    else if (!("stop" in r)) this.rejectId(id, r.reply);
  }

  private async onAuth(event: Extract<RawServerEvent, { type: "auth" }>): Promise<void> {
    const { backend, rateLimiter } = this.host.options;
    const login = backend.login;
    if (login === undefined) {
      this.rejectId(event.id, replyOf(ErrAuthUnsupported) ?? INTERNAL_ERROR_REPLY);
      return;
    }
    const secret = event.password ?? event.token ?? "";
    const r = await this.call("login", () =>
      login.call(backend, this.state, event.username, secret, this.state.sid),
    );
    if ("stop" in r) return;
    if (r.ok) {
      await this.logout();
      this.session = r.value;
      this.state.username = event.username;
      this.acceptId(event.id);
      return;
    }
    if (isAuthFailure(r.reply) && rateLimiter !== null) {
      const allowed = await this.call("rateLimiter", () => rateLimiter.take(this.state.remoteAddress));
      if (allowed.ok && allowed.value === false) {
        this.rejectId(event.id, TOO_MANY_AUTH_FAILURES);
        this.stop({ kind: "end" });
        return;
      }
    }
    this.rejectId(event.id, r.reply);
  }

  private onMail(id: number, from: string, opts: ServerMailOptions): Promise<void> | undefined {
    const mail = (session: Session): Promise<void> | undefined => this.answer(id, () => session.mail(from, opts), "mail");
    if (this.session !== null) return mail(this.session);
    const { backend } = this.host.options;
    const anonymous = backend.anonymousLogin;
    if (anonymous === undefined) {
      this.rejectId(id, AUTH_REQUIRED);
      return undefined;
    }
    const after = (r: Outcome<Session>): Promise<void> | undefined => {
      if ("stop" in r) return undefined;
      if (!r.ok) {
        this.rejectId(id, r.reply);
        return undefined;
      }
      this.session = r.value;
      return mail(r.value);
    };
    const r = this.call("anonymousLogin", () => anonymous.call(backend, this.state, this.state.sid));
    return r instanceof Promise ? r.then(after) : after(r);
  }

  private onDataStart(): void {
    const session = this.requireSession();
    const message = new Message();
    this.message = message;
    // The per-recipient statuses only for LMTP: an SMTP message allocates no map and no collector.
    const statuses = this.host.options.lmtp && typeof session.lmtpData === "function" ? new Map<string, SmtpError | null>() : null;
    const run = (): unknown => {
      if (statuses === null) return session.data(message.stream);
      const collector = {
        setStatus(recipient: string, error: SmtpError | null): void {
          statuses.set(recipient, error);
        },
      };
      return session.lmtpData?.(message.stream, collector);
    };
    // Not awaited: the backend reads the stream while the content arrives; its outcome answers the final dot.
    message.outcome = Promise.resolve(this.call("data", run, false)).then((r) => {
      // The backend is done with the message: whatever it did not read is dropped.
      message.abandon();
      if (!r.ok && !("stop" in r) && this.message === message && this.core.refuseMessage !== undefined) {
        // Refused before the end (go-smtp's Data returning an error early): the core stops handing out content.
        this.refusal = { message, reply: r.reply };
        if (this.waitingForInput && this.wake !== null) this.resolveWait({ kind: "wake" });
        else if (this.parked) this.unpark(NO_INPUT);
      }
      return r;
    });
    this.statuses = statuses;
  }

  private async onDataEnd(id: number, recipients: string[] | null): Promise<void> {
    const message = this.message;
    this.message = null;
    const statuses = this.statuses;
    this.statuses = null;
    if (message === null || message.outcome === null) {
      this.rejectId(id, INTERNAL_ERROR_REPLY);
      return;
    }
    message.end();
    const r = await this.bounded(message.outcome);
    if ("stop" in r) return;
    if (recipients === null) {
      const text: unknown = r.ok ? r.value : undefined;
      if (r.ok && typeof text === "string" && text !== "") {
        this.core.accept(id, { code: 250, enhancedCode: [2, 0, 0], text }, Date.now());
      } else if (r.ok) this.acceptId(id);
      else this.rejectId(id, r.reply);
      return;
    }
    // LMTP: one reply per recipient; a backend that threw fails them all, unset statuses are delivered.
    const replies = recipients.map((rcpt): RawReplySpec | null => {
      if (!r.ok) return r.reply;
      const status = statuses?.get(rcpt) ?? null;
      if (status === null) return null;
      return replyOf(status) ?? INTERNAL_ERROR_REPLY;
    });
    this.core.answerRecipients(id, replies, Date.now());
  }

  private async onXclient(id: number, attrs: RawXclient): Promise<void> {
    const { backend } = this.host.options;
    const actual = this.snapshot();
    const asserted: ConnectionState = { ...actual };
    delete asserted.username;
    delete asserted.original;
    if (attrs.addr !== undefined) asserted.remoteAddress = attrs.addr ?? "";
    if (attrs.port !== undefined) asserted.remotePort = attrs.port ?? 0;
    if (attrs.helo !== undefined) asserted.hostname = attrs.helo ?? "";
    if (attrs.destaddr !== undefined) asserted.localAddress = attrs.destaddr ?? "";
    if (attrs.destport !== undefined) asserted.localPort = attrs.destport ?? 0;
    if (attrs.login !== undefined && attrs.login !== null) asserted.username = attrs.login;
    const session = this.session;
    const ask =
      session !== null && typeof session.allowProxy === "function"
        ? () => session.allowProxy?.(asserted, this.state.sid)
        : typeof backend.allowProxy === "function"
          ? () => backend.allowProxy?.(actual, asserted, this.state.sid)
          : null;
    if (ask === null) {
      this.rejectId(id, XCLIENT_REFUSED);
      return;
    }
    const r = await this.call("allowProxy", ask);
    if ("stop" in r) return;
    if (!r.ok) {
      this.rejectId(id, r.reply);
      return;
    }
    if (r.value !== true) {
      this.rejectId(id, XCLIENT_REFUSED);
      return;
    }
    // The asserted client replaces the real one; the session starts over (a new greeting follows).
    await this.logout();
    const original = this.state.original ?? actual;
    Object.assign(this.state, asserted, { original });
    if (asserted.username === undefined) delete this.state.username;
    this.acceptId(id);
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private acceptId(id: number): void {
    this.core.accept(id, undefined, Date.now());
  }

  private rejectId(id: number, reply: RawReplySpec): void {
    this.core.reject(id, reply, Date.now());
  }

  /**
   * Runs a backend call: its value, or the reply its error maps to (an SmtpError as given, anything else `451 4.3.0`),
   * or `451 4.4.2` after `readTimeout`; `stop` when the connection is being stopped meanwhile. A backend that answers
   * synchronously (returns a value or throws) gets its outcome at once, with no promise; one that returns a promise
   * gets a promise. With `bounded: false` a pending outcome is returned unbounded (the message reader, awaited later
   * through {@link bounded}).
   */
  private call<T>(
    phase: string,
    fn: () => T | Promise<T>,
    bound = true,
  ): Outcome<Awaited<T>> | Promise<Outcome<Awaited<T>>> {
    let value: T | Promise<T>;
    try {
      value = fn();
    } catch (error) {
      return this.failed(error, phase);
    }
    if (!isThenable(value)) {
      // As a pending call would: the answer is dropped when the connection is being stopped.
      return this.stopRequest !== null ? { ok: false, stop: true } : { ok: true, value: value as Awaited<T> };
    }
    const outcome = Promise.resolve(value).then(
      (v): Outcome<Awaited<T>> => ({ ok: true, value: v }),
      (error: unknown): Outcome<Awaited<T>> => this.failed(error, phase),
    );
    return bound ? this.bounded(outcome) : outcome;
  }

  private failed(error: unknown, phase: string): { ok: false; reply: RawReplySpec; error: unknown } {
    const reply = replyOf(error);
    // The stream's own abort error coming back out of data() is the client's doing, not the backend's (a
    // client could otherwise fill the operator's log with stack traces by disconnecting mid-message).
    if (reply === null && !isMessageAbort(error)) this.host.onError(error, this.state, phase);
    return { ok: false, reply: reply ?? INTERNAL_ERROR_REPLY, error };
  }

  /** Bounds a pending outcome by `readTimeout` and by a stop of the connection. */
  private async bounded<T>(outcome: Promise<Outcome<T>>): Promise<Outcome<T>> {
    const r = await this.wait(outcome, this.deadline(this.host.options.readTimeout), true);
    switch (r.kind) {
      case "value":
        return r.value;
      case "alarm":
        this.host.onError(new Error("the backend did not answer within readTimeout"), this.state, "backend");
        return { ok: false, reply: BACKEND_TIMEOUT_REPLY, error: new Error("backend timeout") };
      default:
        return { ok: false, stop: true };
    }
  }

  /** Ends the backend session, if any: `undefined` when that was done at once, else a promise. */
  private logout(): Promise<void> | undefined {
    const session = this.session;
    if (session === null) return undefined;
    this.session = null;
    delete this.state.username;
    let value: unknown;
    try {
      value = session.logout();
    } catch (error) {
      this.host.onError(error, this.state, "logout");
      return undefined;
    }
    if (!isThenable(value)) return undefined;
    // Bounded, and not stoppable: logout runs even while the connection is being stopped.
    const done = Promise.resolve(value).catch((error: unknown) => this.host.onError(error, this.state, "logout"));
    return this.wait(done, this.deadline(this.host.options.readTimeout), false).then((r) => {
      if (r.kind === "alarm") this.host.onError(new Error("logout() did not return within readTimeout"), this.state, "logout");
    });
  }

  private async release(): Promise<void> {
    this.closed = true;
    this.message?.fail("the connection closed");
    this.message = null;
    try {
      await this.logout();
    } finally {
      this.transport.end();
      this.core.free?.();
      this.released = true;
      this.host.onClosed(this);
      this.done?.resolve();
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** A write failed because the client's connection is gone (reset, closed): the end of the session, not a fault. */
class ClientGone extends Error {
  constructor(cause: unknown) {
    super("the client's connection is gone", { cause });
    this.name = "ClientGone";
  }
}
