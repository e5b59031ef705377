/**
 * Error classes. Every error thrown by smtp-wasm is an instance of {@link SmtpWasmError}; the subclass says what
 * happened. An abort through an `AbortSignal` rejects with the signal's reason instead, as `fetch` does.
 * @module
 */

import type { RawError } from "./smtp_wasm.js";
import type { EnhancedCode, Reply } from "./types.js";

/** Common fields of every error options bag. */
export interface SmtpWasmErrorOptions {
  /** The core's stable name for the kind of error (`"rejected"`, `"tls"`, `"timeout"`, ...). */
  kind: string;
  /** Whether retrying later may succeed. */
  temporary?: boolean;
  /** What the session was doing (`"greeting"`, `"mail"`, `"data-end"`, ...), when known. */
  phase?: string | null;
  cause?: unknown;
}

/** The base class of every smtp-wasm error. */
export class SmtpWasmError extends Error {
  /** The core's stable name for the kind of error (`"rejected"`, `"tls"`, `"timeout"`, `"closed"`, ...). */
  readonly kind: string;
  /** Whether retrying later may succeed (a 4xx reply, a timeout, a dropped connection). */
  readonly temporary: boolean;
  /** What the session was doing, when known. */
  readonly phase: string | null;

  constructor(message: string, options: SmtpWasmErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.temporary = options.temporary ?? false;
    this.phase = options.phase ?? null;
  }
}

/** The server refused a command with a 4xx or 5xx reply. */
export class SmtpError extends SmtpWasmError {
  /** The three-digit reply code. */
  readonly code: number;
  /** The RFC 3463 enhanced status code, when the server sent one. */
  readonly enhancedCode: EnhancedCode | null;
  /** The reply's text lines. */
  readonly lines: string[];
  /** The refused command without its arguments (`"RCPT TO"`, `"DATA"`, `"AUTH PLAIN"`, ...). */
  readonly command: string;
  /** The reply's text (the lines without the enhanced code). */
  readonly #text: string;

  /**
   * `temporary` and `text` are given, not derived here: the core decides both (its temporary rule, with a 552 to RCPT
   * counted as temporary, and its reply-text rule), and this class keeps no second copy of either.
   */
  constructor(
    message: string,
    options: Omit<SmtpWasmErrorOptions, "kind" | "temporary"> & {
      code: number;
      enhancedCode?: EnhancedCode | null;
      lines?: string[];
      command: string;
      kind?: string;
      temporary: boolean;
      /** The reply's text. */
      text: string;
    },
  ) {
    super(message, { ...options, kind: options.kind ?? "rejected" });
    this.code = options.code;
    this.enhancedCode = options.enhancedCode ?? null;
    this.lines = options.lines ?? [];
    this.command = options.command;
    this.#text = options.text;
  }

  /** The reply, as returned by successful commands. */
  get reply(): Reply {
    return { code: this.code, enhancedCode: this.enhancedCode, lines: this.lines, text: this.#text };
  }
}

/** The kinds of {@link TlsError}. */
export type TlsErrorKind =
  | "unknown-issuer"
  | "self-signed"
  | "expired"
  | "not-yet-valid"
  | "name-mismatch"
  | "bad-signature"
  | "bad-certificate"
  | "alert-received"
  | "protocol-version"
  | "not-tls"
  | "closed-during-handshake"
  | "starttls-not-offered"
  | "starttls-injection"
  | "other";

/**
 * TLS could not be established or failed: a certificate problem, a handshake failure, a server that does not offer
 * STARTTLS while TLS is required, or bytes injected after the STARTTLS reply (CVE-2011-0411).
 */
export class TlsError extends SmtpWasmError {
  /** What went wrong, in terms a user can act on. */
  readonly tlsKind: TlsErrorKind;

  constructor(message: string, options: Omit<SmtpWasmErrorOptions, "kind"> & { tlsKind: TlsErrorKind; kind?: string }) {
    super(message, { ...options, kind: options.kind ?? "tls" });
    this.tlsKind = options.tlsKind;
  }
}

/** A deadline passed (RFC 5321 4.5.3.2 timeouts, or the connect timeout). */
export class TimeoutError extends SmtpWasmError {
  constructor(message: string, options: Partial<SmtpWasmErrorOptions> = {}) {
    super(message, { temporary: true, ...options, kind: options.kind ?? "timeout" });
  }
}

/** The connection closed (or could not be opened) before the operation was done. */
export class ConnectionClosedError extends SmtpWasmError {
  /** Whether part of a reply had arrived when the connection closed. */
  readonly midReply: boolean;

  constructor(message: string, options: Partial<SmtpWasmErrorOptions> & { midReply?: boolean } = {}) {
    super(message, { temporary: true, ...options, kind: options.kind ?? "closed" });
    this.midReply = options.midReply ?? false;
  }
}

/** Caller input was refused before any byte was written for it (CR/LF in an address, 8-bit data without 8BITMIME...). */
export class InvalidInputError extends SmtpWasmError {
  /** Which input, as the public API names it (`"from"`, `"to"`, `"localName"`, `"message"`, ...). */
  readonly field: string;

  constructor(message: string, options: Partial<SmtpWasmErrorOptions> & { field: string }) {
    super(message, { ...options, kind: options.kind ?? "invalid-input" });
    this.field = options.field;
  }
}

/** The server broke the SMTP protocol (malformed or oversized reply, unexpected code). The session is over. */
export class ProtocolError extends SmtpWasmError {
  constructor(message: string, options: Partial<SmtpWasmErrorOptions> = {}) {
    super(message, { ...options, kind: options.kind ?? "protocol" });
  }
}

/**
 * The API was used in a way the session does not allow (a command after QUIT, AUTH in cleartext to a remote host
 * without `allowInsecureAuth`, ...). Nothing was written.
 */
export class UsageError extends SmtpWasmError {
  constructor(message: string, options: Partial<SmtpWasmErrorOptions> = {}) {
    super(message, { ...options, kind: options.kind ?? "usage" });
  }
}

/** The server lacks what an option or the credentials need: an ESMTP extension, or a usable AUTH mechanism. */
export class NotSupportedError extends SmtpWasmError {
  /** The extension that is missing (`"SMTPUTF8"`, `"DSN"`, `"AUTH"`, ...). */
  readonly extension: string;
  /** For AUTH: the mechanism that was asked for, if one was. */
  readonly mechanism: string | null;
  /** For AUTH: the mechanisms the server offers. */
  readonly offered: string[];

  constructor(
    message: string,
    options: Partial<SmtpWasmErrorOptions> & { extension: string; mechanism?: string | null; offered?: string[] },
  ) {
    super(message, { ...options, kind: options.kind ?? "extension-not-supported" });
    this.extension = options.extension;
    this.mechanism = options.mechanism ?? null;
    this.offered = options.offered ?? [];
  }
}

for (const [cls, name] of [
  [SmtpWasmError, "SmtpWasmError"],
  [SmtpError, "SmtpError"],
  [TlsError, "TlsError"],
  [TimeoutError, "TimeoutError"],
  [ConnectionClosedError, "ConnectionClosedError"],
  [InvalidInputError, "InvalidInputError"],
  [ProtocolError, "ProtocolError"],
  [UsageError, "UsageError"],
  [NotSupportedError, "NotSupportedError"],
] as const) {
  // Set on the prototype (not per instance) so a minifier renaming the classes keeps readable names.
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true, enumerable: false });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isRawError(value: unknown): value is RawError {
  return isObject(value) && typeof value["kind"] === "string" && typeof value["message"] === "string";
}

/** Turns what the wasm threw or reported into an error class. A wasm trap (a bug in the core) becomes fatal. */
export function toError(raw: unknown): Error {
  if (raw instanceof Error) {
    if (raw instanceof SmtpWasmError) return raw;
    if (typeof WebAssembly !== "undefined" && raw instanceof WebAssembly.RuntimeError) {
      return new SmtpWasmError(`internal error in the SMTP core (please report it): ${raw.message}`, {
        kind: "internal",
        cause: raw,
      });
    }
    return raw;
  }
  if (!isRawError(raw)) {
    return new SmtpWasmError(`unexpected error value from the SMTP core: ${String(raw)}`, { kind: "internal" });
  }
  const common = { temporary: raw.temporary, phase: raw.phase ?? null };
  switch (raw.kind) {
    case "rejected":
      return new SmtpError(raw.message, {
        ...common,
        code: raw.code ?? 0,
        enhancedCode: raw.enhancedCode ?? null,
        lines: raw.lines ?? [],
        command: raw.command ?? "",
        // The core's reply-text rule, not a second copy of it here.
        text: raw.text ?? "",
      });
    case "tls":
      return new TlsError(raw.message, { ...common, tlsKind: (raw.tlsKind ?? "other") as TlsErrorKind });
    case "starttls-not-offered":
    case "starttls-injection":
      return new TlsError(raw.message, { ...common, kind: raw.kind, tlsKind: raw.kind });
    case "timeout":
      return new TimeoutError(raw.message, common);
    case "closed":
      return new ConnectionClosedError(raw.message, { ...common, midReply: raw.midReply ?? false });
    case "invalid-input":
      return new InvalidInputError(raw.message, { ...common, field: raw.field ?? "" });
    case "protocol":
      return new ProtocolError(raw.message, common);
    case "usage":
    case "insecure-auth":
      return new UsageError(raw.message, { ...common, kind: raw.kind });
    case "auth-mechanism-not-offered":
      return new NotSupportedError(raw.message, {
        ...common,
        kind: raw.kind,
        extension: "AUTH",
        mechanism: raw.mechanism ?? null,
        offered: raw.offered ?? [],
      });
    case "extension-not-supported":
      return new NotSupportedError(raw.message, { ...common, extension: raw.extension ?? "" });
    default:
      return new SmtpWasmError(raw.message, { ...common, kind: raw.kind });
  }
}
