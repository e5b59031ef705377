/**
 * What a backend throws to refuse a command. `SmtpError` here is the client's {@link ClientSmtpError} with the
 * constructor go-smtp's `SMTPError` has (`{ code, enhancedCode, message }`), so a relaying backend may rethrow an
 * error it got from the client API unchanged, and `instanceof` works with either import.
 * @module
 */

import { SmtpError as ClientSmtpError } from "../errors.js";

/** Options of {@link SmtpError}. */
export interface SmtpErrorInit {
  /** A 4xx (temporary) or 5xx (permanent) reply code. */
  code: number;
  /** The RFC 3463 enhanced status code; default: the code's class with `.0.0`. Give `null` to send none. */
  enhancedCode?: [number, number, number] | null;
  /** The reply's text; `\n` separates the lines of a multi-line reply. */
  message?: string;
  cause?: unknown;
}

/** A reply to send to the client, thrown by a backend. */
export class SmtpError extends ClientSmtpError {
  constructor(init: SmtpErrorInit) {
    if (typeof init !== "object" || init === null) {
      throw new TypeError("new SmtpError({ code, enhancedCode?, message? })");
    }
    const { code } = init;
    if (!Number.isInteger(code) || code < 400 || code > 599) {
      throw new TypeError(`SmtpError: code must be a 4xx or 5xx reply code (got ${String(code)})`);
    }
    const enhancedCode =
      init.enhancedCode === undefined ? ([Math.floor(code / 100), 0, 0] as [number, number, number]) : init.enhancedCode;
    if (enhancedCode !== null) checkEnhanced(code, enhancedCode);
    const message = init.message ?? defaultText(code);
    super(message, {
      code,
      enhancedCode,
      lines: message.split("\n"),
      text: message,
      // The class the backend chose for the reply it sends (4xx temporary, 5xx permanent): no reading of a server's
      // reply is involved, so the client's rules (a 552 to RCPT counted as temporary) do not apply.
      temporary: code < 500,
      command: "",
      ...(init.cause === undefined ? {} : { cause: init.cause }),
    });
  }
}

function checkEnhanced(code: number, enhanced: [number, number, number]): void {
  const ok =
    Array.isArray(enhanced) &&
    enhanced.length === 3 &&
    enhanced.every((n) => Number.isInteger(n) && n >= 0 && n <= 999) &&
    enhanced[0] === Math.floor(code / 100);
  if (!ok) {
    throw new TypeError(
      `SmtpError: enhancedCode must be [class, subject, detail] with the class of the code (${Math.floor(code / 100)})`,
    );
  }
}

function defaultText(code: number): string {
  return code < 500 ? "Temporary failure, try again later" : "Refused";
}

/** MAIL before AUTH where the backend needs it (throw it from `anonymousLogin`): `530 5.7.0`. */
export const ErrAuthRequired: SmtpError = new SmtpError({
  code: 530,
  enhancedCode: [5, 7, 0],
  message: "Authentication required",
});

/** AUTH is not available (throw it from `login`): `502 5.7.0`. */
export const ErrAuthUnsupported: SmtpError = new SmtpError({
  code: 502,
  enhancedCode: [5, 7, 0],
  message: "Authentication not supported",
});

/** Wrong credentials (throw it from `login`): `535 5.7.8`, counted by the rate limiter. */
export const ErrAuthFailed: SmtpError = new SmtpError({
  code: 535,
  enhancedCode: [5, 7, 8],
  message: "Authentication failed",
});

/** What the client gets when a backend throws something that is not an {@link SmtpError}. */
export const INTERNAL_ERROR_REPLY = {
  code: 451,
  enhancedCode: [4, 3, 0] as [number, number, number],
  text: "Requested action aborted: local error in processing",
};

/** What the client gets when a backend call takes longer than `readTimeout`. */
export const BACKEND_TIMEOUT_REPLY = {
  code: 451,
  enhancedCode: [4, 4, 2] as [number, number, number],
  text: "Requested action aborted: the server took too long, try again later",
};
