/**
 * The driver loop: the only place that moves bytes between a {@link Duplex} and the synchronous wasm core.
 *
 * - Every chunk read goes to `handleInput(bytes, Date.now())`, then every poll is drained (`pump`).
 * - After any input or command, `pump` drains `pollTransmitInto` into a reusable write buffer (the whole flight is
 *   coalesced into one write, so pipelined commands leave in one TCP segment), then `pollEvent` (completions settle
 *   the promises of the commands that asked for them), then checks the one timer against `pollTimeout`.
 * - Writes are queued on the stream's writer; `drained()` lets body writers wait for backpressure. Write buffers are
 *   reused once their write completed when the transport says it keeps no reference to a written chunk
 *   ({@link REUSES_WRITTEN_CHUNKS}); otherwise each write gets its own copy.
 * - Nothing awaits while the core is borrowed: every core call is synchronous and returns before any await.
 * @module
 */

import { ConnectionClosedError, SmtpWasmError, toError } from "./errors.js";
import type { RawCompletion, RawEvent, RawReply, WasmConnection } from "./smtp_wasm.js";
import type { Duplex, Reply, TranscriptLine } from "./types.js";

/**
 * What a command completes with: the core's completion object, or (`"sent"`) a whole transaction that every recipient
 * accepted, with its one-line reply built here from a few numbers and one string (the common end of a message).
 */
export type Completion = RawCompletion | { kind: "sent"; reply: Reply };

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** What waiting for a body slot can end with: the server is ready for content, or the command already completed. */
export type BodyWait = { ready: true } | { ready: false; completion: Completion };

const READY: BodyWait = { ready: true };

export interface DriverOptions {
  debug?: ((line: TranscriptLine) => void) | undefined;
  signal?: AbortSignal | undefined;
}

/** Bytes written but not yet accepted by the transport above which body writers wait. */
export const HIGH_WATER_MARK = 256 * 1024;

/**
 * Set to `true` on a {@link Duplex} whose writable resolves `write()` only once the transport holds no reference to
 * the chunk any more (the bytes were handed to the OS): the driver then reuses its write buffers instead of
 * allocating a new array per flight (the per-flight arrays are external memory that V8 frees only at its next full
 * GC, ~30 MB of RSS for a 25 MB message).
 */
export const REUSES_WRITTEN_CHUNKS = Symbol.for("smtp-wasm.reusesWrittenChunks");

/**
 * Set on a {@link Duplex} to a function that writes a chunk to the same destination as its `writable` and resolves
 * once the transport holds no reference to it (like the `writable`'s own sink): the driver then writes through it,
 * skipping the WritableStream machinery (a writer promise, a queue entry and a controller step per flight: about as
 * much CPU as the rest of a small message's path in JavaScript). The `writable` is still used to close and abort.
 */
export const DIRECT_WRITE = Symbol.for("smtp-wasm.directWrite");

/** What a {@link DIRECT_READ} source calls: with each chunk read, once at the end of the stream, or on failure. */
export interface DirectReadSink {
  data(bytes: Uint8Array): void;
  end(): void;
  error(cause: unknown): void;
}

/**
 * Set on a {@link Duplex} to a function that starts delivering what the transport reads to a {@link DirectReadSink}
 * (instead of through `readable`, which is then never touched): a chunk goes into the core from the transport's own
 * callback, without a read promise and a stream queue step per chunk. Delivery stops once the duplex is closed.
 */
export const DIRECT_READ = Symbol.for("smtp-wasm.directRead");

/** The first write buffer's size: enough for any flight of commands. */
const SMALL_BUFFER = 8 * 1024;
/** Write buffers once a flight filled a small one (message content): two TLS-wrapped 64 KiB slices. */
const LARGE_BUFFER = 128 * 1024;
/** Free write buffers kept for reuse. */
const FREE_BUFFERS = 4;

export class Driver {
  readonly conn: WasmConnection;
  private readonly duplex: Duplex;
  /** Undefined when the duplex delivers reads directly ({@link DIRECT_READ}). */
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly directRead: ((sink: DirectReadSink) => void) | undefined;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly debug: ((line: TranscriptLine) => void) | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: () => void;

  private readonly pending = new Map<number, Waiter<Completion>>();
  /** Who answers the SASL challenges of a caller-driven AUTH, by command id (set by `SmtpClient.auth`). */
  readonly saslHandlers = new Map<number, (challenge: Uint8Array) => void>();
  private readonly bodyWaiters = new Map<number, Waiter<BodyWait>>();
  private greetingWaiter: Waiter<RawReply> | undefined;
  private greetingReply: RawReply | undefined;
  private drainWaiters: Array<{ limit: number; waiter: Waiter<void> }> = [];

  private timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (it may be earlier than the core's deadline: firing early is harmless). */
  private timerAt: number | undefined;
  /** The core's deadline as last seen by `pump`. */
  private deadline: number | undefined;
  /** Bytes taken from the core and not yet accepted by the transport. */
  private inFlight = 0;
  /** The buffer the next flight is copied into (not handed to the writer yet), and how much of it is used. */
  private fill: Uint8Array | undefined;
  private fillLength = 0;
  /** Full buffers waiting for their write. */
  private full: Array<{ buffer: Uint8Array; length: number }> = [];
  private freeBuffers: Uint8Array[] = [];
  private bufferSize = SMALL_BUFFER;
  private readonly reuseBuffers: boolean;
  private readonly directWrite: ((chunk: Uint8Array) => Promise<void>) | undefined;
  private writing = false;
  /** Set when the session ended without flushing: queued bytes are dropped. */
  private aborted = false;
  private lastWrite: Promise<void> = Promise.resolve();
  private pumping = false;

  /** Set once the session is over: every later operation fails with `terminal`. */
  private over = false;
  private terminal: unknown;
  private shutdown: Promise<void> | undefined;
  private freed = false;
  /** Why the transport failed (read or write), when it did: kept as the `cause` of the closed errors. */
  private transportError: unknown;

  constructor(conn: WasmConnection, duplex: Duplex, options: DriverOptions = {}) {
    this.conn = conn;
    this.duplex = duplex;
    const directRead = (duplex as { [DIRECT_READ]?: unknown })[DIRECT_READ];
    this.directRead = typeof directRead === "function" ? (directRead as (sink: DirectReadSink) => void) : undefined;
    this.reader = this.directRead === undefined ? duplex.readable.getReader() : undefined;
    this.writer = duplex.writable.getWriter();
    this.reuseBuffers = (duplex as { [REUSES_WRITTEN_CHUNKS]?: unknown })[REUSES_WRITTEN_CHUNKS] === true;
    const direct = (duplex as { [DIRECT_WRITE]?: unknown })[DIRECT_WRITE];
    this.directWrite = typeof direct === "function" ? (direct as (chunk: Uint8Array) => Promise<void>) : undefined;
    this.debug = options.debug;
    this.signal = options.signal;
    this.onAbort = () => this.fail(abortReason(this.signal));
    // Failures surface through the operations that wait; these promises must not be reported as unhandled.
    this.writer.closed.catch(() => {});
  }

  /** Starts reading, sends what the core has to say first (a TLS ClientHello for implicit TLS). */
  start(): void {
    if (this.signal !== undefined) {
      if (this.signal.aborted) {
        this.fail(abortReason(this.signal));
        return;
      }
      this.signal.addEventListener("abort", this.onAbort, { once: true });
    }
    this.pump();
    if (this.directRead !== undefined) {
      this.directRead({
        data: (bytes) => {
          if (!this.over && bytes.byteLength > 0) this.input((now) => this.conn.handleInput(bytes, now));
        },
        end: () => this.readEnded(),
        error: (cause) => this.readFailed(cause),
      });
    } else {
      void this.readLoop();
    }
  }

  /** Why the session ended (an error class, or an abort signal's reason), if it is over. */
  get error(): unknown {
    return this.terminal;
  }

  /** Whether the session is over. */
  get closed(): boolean {
    return this.over;
  }

  /** Whether the core was released: its getters may no longer be called. */
  get released(): boolean {
    return this.freed;
  }

  /** Resolves with the greeting (after the TLS handshake with implicit TLS), or rejects with why there is none. */
  greeting(): Promise<RawReply> {
    if (this.greetingReply !== undefined) return Promise.resolve(this.greetingReply);
    if (this.over) return Promise.reject(this.terminal);
    return new Promise((resolve, reject) => {
      this.greetingWaiter = { resolve, reject };
    });
  }

  /**
   * Runs a synchronous core call: converts what it throws into an error class, and drains the polls afterwards
   * (a refused command writes nothing, but draining is always safe).
   */
  call<T>(fn: (now: number) => T): T {
    if (this.over) throw this.terminal;
    try {
      return fn(Date.now());
    } catch (raw) {
      throw this.coreError(raw);
    } finally {
      this.pump();
    }
  }

  /** Issues a command and resolves with its completion. */
  command(issue: (now: number) => number): Promise<Completion> {
    if (this.over) return Promise.reject(this.terminal);
    let id: number;
    try {
      id = issue(Date.now());
    } catch (raw) {
      const error = this.coreError(raw);
      this.pump();
      return Promise.reject(error);
    }
    // Registered before draining: the completion may be among the events of this very pump.
    const completion = this.completion(id);
    this.pump();
    return completion;
  }

  /** Resolves with the completion of command `id` (register before draining the polls that may carry it). */
  completion(id: number): Promise<Completion> {
    if (this.over) return Promise.reject(this.terminal);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
  }

  /**
   * Issues a command that carries content (DATA, a whole transaction) and returns its completion, plus a promise
   * that settles when the server is ready for the content, or when the command completed without asking for it.
   * Both are registered before the polls are drained, so no event can be missed. Throws if the core refuses.
   */
  bodyCommand(issue: (now: number) => number): {
    id: number;
    completion: Promise<Completion>;
    ready: Promise<BodyWait>;
  } {
    if (this.over) throw this.terminal;
    let id: number;
    try {
      id = issue(Date.now());
    } catch (raw) {
      const error = this.coreError(raw);
      this.pump();
      throw error;
    }
    const completion = this.completion(id);
    const ready = new Promise<BodyWait>((resolve, reject) => {
      this.bodyWaiters.set(id, { resolve, reject });
    });
    // Whoever awaits these gets the failure; an unawaited one must not be reported as unhandled.
    completion.catch(() => {});
    ready.catch(() => {});
    this.pump();
    return { id, completion, ready };
  }

  /**
   * Resolves when the bytes written but not yet taken by the transport, plus those the core still holds, are at
   * most `limit`. Rejects when the session ends.
   */
  drained(limit = HIGH_WATER_MARK): Promise<void> {
    if (this.over) return Promise.reject(this.terminal);
    if (this.backlog() <= limit) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiters.push({ limit, waiter: { resolve, reject } });
    });
  }

  /**
   * Ends the session from our side: TLS close_notify when TLS is up, then the transport is closed once every
   * queued byte is written. Every pending operation fails with `reason` (a ConnectionClosedError by default).
   */
  close(reason?: unknown): Promise<void> {
    if (!this.over) {
      try {
        this.conn.close(Date.now());
      } catch {
        // Closing an already-closed session: nothing to send.
      }
      this.pump();
      this.finish(reason ?? new ConnectionClosedError("the connection was closed", { phase: "idle" }), true);
    }
    return this.shutdown ?? Promise.resolve();
  }

  /** Ends the session at once (abort, transport failure): nothing more is written. */
  fail(reason: unknown): void {
    this.finish(reason, false);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    const reader = this.reader;
    if (reader === undefined) return;
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (cause) {
        this.readFailed(cause);
        return;
      }
      if (this.over) return;
      if (result.done) {
        this.readEnded();
        return;
      }
      if (result.value.byteLength > 0) this.input((now) => this.conn.handleInput(result.value, now));
    }
  }

  /** Reading failed: the core reports the end of the stream, with the transport's reason as the cause. */
  private readFailed(cause: unknown): void {
    if (this.over) return;
    // The core reports the end of the stream; the transport's reason (a WebSocket close code, ECONNRESET...)
    // becomes the `cause` of the error it reports.
    this.transportError ??= cause;
    this.input((now) => this.conn.handleEof(now));
    if (!this.over) {
      this.fail(new ConnectionClosedError(`the connection failed: ${describe(cause)}`, { cause }));
    }
  }

  /** The server closed its side. */
  private readEnded(): void {
    if (this.over) return;
    this.input((now) => this.conn.handleEof(now));
    if (!this.over) {
      // The core saw the end of the stream but did not end the session: nothing more can arrive anyway.
      this.finish(new ConnectionClosedError("the server closed the connection", {}), true);
    }
  }

  /** Feeds an input to the core and drains it. A wasm trap is fatal for the session. */
  private input(fn: (now: number) => void): void {
    if (this.over) return;
    try {
      fn(Date.now());
    } catch (raw) {
      this.fail(this.coreError(raw));
      return;
    }
    this.pump();
  }

  /** Drains every poll of the core, in order: transmit (one coalesced write), events, timer. */
  private pump(): void {
    if (this.pumping || this.freed) return;
    this.pumping = true;
    try {
      for (;;) {
        let progressed = this.transmit();
        const conn = this.conn;
        for (let kind = conn.nextEvent(); kind !== 0; kind = conn.nextEvent()) {
          progressed = true;
          if (kind === 1) {
            this.bodyReady(conn.eventId());
          } else if (kind === 2) {
            this.sent(conn.eventId());
          } else {
            const event = conn.takeEvent();
            if (event !== undefined) this.dispatch(event);
            if (this.freed) return;
          }
        }
        if (!progressed) break;
      }
      this.armTimer(this.conn.pollTimeout());
    } catch (raw) {
      this.pumping = false;
      this.fail(this.coreError(raw));
      return;
    } finally {
      this.pumping = false;
    }
    this.checkDrain();
  }

  /** Copies what the core has to send into the write buffers and starts writing; whether there was anything. */
  private transmit(): boolean {
    let total = 0;
    for (;;) {
      let buffer = this.fill;
      if (buffer === undefined) {
        buffer = this.freeBuffers.pop() ?? new Uint8Array(this.bufferSize);
        this.fill = buffer;
        this.fillLength = 0;
      }
      const n = this.conn.pollTransmitInto(buffer, this.fillLength);
      this.fillLength += n;
      total += n;
      if (this.fillLength < buffer.byteLength) break;
      // Full: it waits for its write, and the rest goes to a new buffer (a large one from now on).
      this.full.push({ buffer, length: this.fillLength });
      this.fill = undefined;
      this.fillLength = 0;
      this.bufferSize = LARGE_BUFFER;
    }
    if (total === 0) return false;
    this.inFlight += total;
    if (!this.writing) this.lastWrite = this.flushLoop();
    return true;
  }

  private bodyReady(id: number): void {
    const waiter = this.bodyWaiters.get(id);
    if (waiter === undefined) return;
    this.bodyWaiters.delete(id);
    waiter.resolve(READY);
  }

  /** A whole transaction completed, every recipient accepted, with a one-line reply (`nextEvent` kind 2). */
  private sent(id: number): void {
    const conn = this.conn;
    const line = conn.eventReplyLine();
    const packed = conn.eventReplyEnhanced();
    let enhancedCode: [number, number, number] | null = null;
    let text = line;
    if (packed >= 0) {
      const offset = packed % 100;
      const code = (packed - offset) / 100;
      const detail = code % 1000;
      const subject = ((code - detail) / 1000) % 1000;
      enhancedCode = [(code - subject * 1000 - detail) / 1_000_000, subject, detail];
      text = line.slice(offset);
    }
    const completion: Completion = {
      kind: "sent",
      reply: { code: conn.eventReplyCode(), enhancedCode, lines: [line], text },
    };
    const bodyWaiter = this.bodyWaiters.get(id);
    if (bodyWaiter !== undefined) {
      this.bodyWaiters.delete(id);
      bodyWaiter.resolve({ ready: false, completion });
    }
    const waiter = this.pending.get(id);
    if (waiter !== undefined) {
      this.pending.delete(id);
      waiter.resolve(completion);
    }
  }

  private dispatch(event: RawEvent): void {
    switch (event.type) {
      case "greeting": {
        this.greetingReply = event.reply;
        const waiter = this.greetingWaiter;
        this.greetingWaiter = undefined;
        waiter?.resolve(event.reply);
        break;
      }
      case "completed": {
        const bodyWaiter = this.bodyWaiters.get(event.id);
        this.bodyWaiters.delete(event.id);
        const waiter = this.pending.get(event.id);
        this.pending.delete(event.id);
        if (event.error !== undefined && event.error !== null) {
          const error = this.withTransportCause(toError(event.error));
          waiter?.reject(error);
          bodyWaiter?.reject(error);
        } else {
          const completion: Completion = event.result ?? { kind: "done" };
          waiter?.resolve(completion);
          bodyWaiter?.resolve({ ready: false, completion });
        }
        break;
      }
      case "body-ready": {
        this.bodyReady(event.id);
        break;
      }
      case "transcript":
        if (this.debug !== undefined) {
          try {
            this.debug({ direction: event.direction, text: event.text });
          } catch {
            // A failing debug callback must not break the session.
          }
        }
        break;
      case "tls-established":
        break;
      case "sasl-challenge": {
        const handler = this.saslHandlers.get(event.id);
        if (handler !== undefined) handler(event.challenge);
        break;
      }
      case "closed": {
        const error =
          event.error === undefined || event.error === null
            ? new ConnectionClosedError("the session is over", { phase: "quit" })
            : this.withTransportCause(toError(event.error));
        this.finish(error, true);
        break;
      }
    }
  }

  /**
   * Writes the filled buffers, one write at a time. While a write is in progress, later flights are coalesced in the
   * buffer being filled and go out together when it completes (no added latency, fewer and larger writes on slow
   * links).
   */
  private async flushLoop(): Promise<void> {
    this.writing = true;
    try {
      while (!this.aborted) {
        let buffer: Uint8Array;
        let length: number;
        const next = this.full.shift();
        if (next !== undefined) {
          ({ buffer, length } = next);
        } else if (this.fill !== undefined && this.fillLength > 0) {
          buffer = this.fill;
          length = this.fillLength;
          this.fill = undefined;
          this.fillLength = 0;
        } else {
          break;
        }
        let chunk: Uint8Array;
        if (this.reuseBuffers) {
          chunk = buffer.subarray(0, length);
        } else {
          // The transport may keep the chunk: it gets its own copy, the buffer is free at once.
          chunk = buffer.slice(0, length);
          this.release(buffer);
        }
        try {
          await (this.directWrite === undefined ? this.writer.write(chunk) : this.directWrite(chunk));
        } catch (cause) {
          this.inFlight = 0;
          this.full = [];
          this.fill = undefined;
          this.fillLength = 0;
          if (this.over) return;
          this.transportError ??= cause;
          this.input((now) => this.conn.handleEof(now));
          if (!this.over) {
            this.fail(new ConnectionClosedError(`writing to the connection failed: ${describe(cause)}`, { cause }));
          }
          return;
        }
        this.inFlight -= length;
        if (this.reuseBuffers) this.release(buffer);
        this.checkDrain();
      }
    } finally {
      this.writing = false;
    }
  }

  /** Keeps a written buffer for reuse (small ones are dropped once large ones are in use). */
  private release(buffer: Uint8Array): void {
    if (this.freeBuffers.length < FREE_BUFFERS && buffer.byteLength === this.bufferSize) this.freeBuffers.push(buffer);
  }

  private backlog(): number {
    let buffered = 0;
    if (!this.freed) {
      try {
        buffered = this.conn.transmitBuffered();
      } catch {
        buffered = 0;
      }
    }
    return this.inFlight + buffered;
  }

  private checkDrain(): void {
    if (this.drainWaiters.length === 0) return;
    const backlog = this.backlog();
    const waiting = this.drainWaiters;
    this.drainWaiters = [];
    for (const entry of waiting) {
      if (backlog <= entry.limit) entry.waiter.resolve();
      else this.drainWaiters.push(entry);
    }
  }

  /**
   * Keeps one timer that fires no later than the core's deadline. Deadlines move forward with every command; the
   * timer is re-armed only when the deadline comes earlier than it, not on every change (a setTimeout and a
   * clearTimeout per command cost more than the rest of the timer logic): when it fires early, the core finds
   * nothing expired and the timer is armed again for the current deadline.
   */
  private armTimer(deadline: number | undefined): void {
    this.deadline = deadline;
    if (deadline === undefined || (this.timerAt !== undefined && this.timerAt <= deadline)) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = deadline;
    // setTimeout takes at most 2^31-1 ms; firing early is harmless (the core re-arms).
    const delay = Math.min(Math.max(0, deadline - Date.now()), 0x7fffffff);
    this.timer = setTimeout(this.onTimer, delay);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = undefined;
    // Early (the deadline moved on) or with no deadline any more: nothing expired, just arm again.
    if (this.deadline !== undefined && this.deadline <= Date.now()) {
      this.input((now) => this.conn.handleTimeout(now));
    } else if (!this.over && !this.freed) {
      this.armTimer(this.deadline);
    }
  };

  /**
   * A closed error from the core, with the transport's failure (when there was one) as its `cause` and in its
   * message, so that "the server closed the connection" says why (a bridge's close code and reason, ECONNRESET...).
   */
  private withTransportCause(error: Error): Error {
    const cause = this.transportError;
    if (cause === undefined || !(error instanceof ConnectionClosedError) || error.cause !== undefined) return error;
    return new ConnectionClosedError(`${error.message} (${describe(cause)})`, {
      kind: error.kind,
      temporary: error.temporary,
      phase: error.phase,
      midReply: error.midReply,
      cause,
    });
  }

  private coreError(raw: unknown): Error {
    const error = toError(raw);
    if (error instanceof SmtpWasmError && error.kind === "internal") this.fail(error);
    return error;
  }

  /**
   * Marks the session over, rejects everything pending with `error`, and closes the transport: after writing
   * what is queued when `flush` (a clean end), at once otherwise.
   */
  private finish(error: unknown, flush: boolean): void {
    if (this.over) return;
    this.over = true;
    this.terminal = error;
    this.signal?.removeEventListener("abort", this.onAbort);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;

    const greeting = this.greetingWaiter;
    this.greetingWaiter = undefined;
    greeting?.reject(error);
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    for (const waiter of this.bodyWaiters.values()) waiter.reject(error);
    this.bodyWaiters.clear();
    for (const entry of this.drainWaiters) entry.waiter.reject(error);
    this.drainWaiters = [];

    this.shutdown = this.closeTransport(flush);
  }

  private async closeTransport(flush: boolean): Promise<void> {
    if (!flush) this.aborted = true;
    if (flush) {
      await this.lastWrite;
      await this.writer.close().catch(() => {});
    } else {
      await this.writer.abort().catch(() => {});
    }
    if (this.reader !== undefined) {
      await this.reader.cancel().catch(() => {});
      this.reader.releaseLock();
    }
    this.writer.releaseLock();
    await this.duplex.close().catch(() => {});
    if (!this.freed) {
      this.freed = true;
      this.conn.free();
    }
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  if (reason !== undefined) return reason;
  return new DOMException("This operation was aborted", "AbortError");
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
