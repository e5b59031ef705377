/**
 * Checks of what callers pass in, before anything reaches the core: options objects hold only the keys the API knows
 * (a misspelled key would otherwise do nothing, silently), and strings are well-formed UTF-16 (a lone surrogate
 * would become U+FFFD on its way into the wasm, so the server would get other text than the caller gave).
 * The key lists are the one place each options object's keys are named.
 * @module
 */

import { InvalidInputError, UsageError } from "./errors.js";
import type { SendMailOptions, Timeouts } from "./types.js";

/**
 * The keys of {@link Timeouts}: `connect` (the transport's, kept here) and the core's deadlines, in the order of the
 * core's list (`WasmConnection.timeoutNames()`; tests/rules.test.mjs holds the two to each other). Every other user
 * (the CLI's `--timeout`) takes the names from here.
 */
export const TIMEOUT_KEYS = [
  "connect",
  "greeting",
  "command",
  "mail",
  "rcpt",
  "dataInit",
  "dataBlock",
  "dataEnd",
  "total",
] as const;

/** True when `A` and `B` are the same union. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// Does not compile when the list and the `Timeouts` type name different keys.
const timeoutKeysAreTheType: Same<(typeof TIMEOUT_KEYS)[number], keyof Timeouts> = true;
void timeoutKeysAreTheType;

/** The values of `tls` in `sendMail`. */
export const TLS_MODES = ["starttls", "implicit", "opportunistic", "none"] as const;
type TlsMode = (typeof TLS_MODES)[number];
const tlsModesAreTheType: Same<TlsMode, NonNullable<SendMailOptions["tls"]>> = true;
void tlsModesAreTheType;

/**
 * The one port-to-TLS rule: port 465 ("submissions", RFC 8314 section 7.3) is TLS from the first byte; every other
 * port starts in plaintext and asks for STARTTLS.
 */
export function tlsForPort(port: number): "implicit" | "starttls" {
  return port === 465 ? "implicit" : "starttls";
}

/** The port when none is given: 465 for implicit TLS, else submission's 587 (RFC 6409). */
export function portForTls(tls: string | undefined): number {
  return tls === "implicit" ? 465 : 587;
}

/** Throws a {@link UsageError} unless `tls` is one of {@link TLS_MODES}. */
export function checkTlsMode(tls: string): asserts tls is TlsMode {
  if (!(TLS_MODES as readonly string[]).includes(tls)) {
    const quoted = TLS_MODES.map((mode) => JSON.stringify(mode));
    const last = quoted.pop() ?? "";
    throw new UsageError(`tls must be ${quoted.join(", ")} or ${last}, not ${JSON.stringify(tls)}`);
  }
}

/** The keys `ClientOptions` and `SendMailOptions` share: the session's and TLS's settings. */
const SESSION_KEYS = [
  "serverName",
  "localName",
  "lmtp",
  "preferChunking",
  "rootCertificates",
  "onlyRootCertificates",
  "dangerouslyAcceptInvalidCertificates",
  "clientCertificate",
  "allowInsecureAuth",
  "timeouts",
  "debug",
  "signal",
] as const;

/** The keys of `ClientOptions`. */
export const CLIENT_OPTION_KEYS = [...SESSION_KEYS, "implicitTls"] as const;

/** The keys of `ComposeOptions` (`composeMessage`), which `sendMail` also takes when it composes the message. */
export const COMPOSE_KEYS = [
  "from", "to", "cc", "bcc", "replyTo", "subject", "text", "html", "attachments", "headers", "messageId", "date",
  "inReplyTo", "references", "dkim",
] as const;

/** The keys of a `MailAttachment`. */
export const ATTACHMENT_KEYS = ["filename", "content", "path", "contentType", "cid", "disposition"] as const;

/** The keys of `DkimOptions`. */
export const DKIM_KEYS = ["domainName", "keySelector", "privateKey", "headerFieldNames", "canonicalization"] as const;

/** The keys of `MailEnvelope` (sendMail's `envelope`, as nodemailer's). */
export const ENVELOPE_KEYS = ["from", "to", "cc", "bcc"] as const;

/** The keys of `SendMailOptions`: the connection's, the envelope and message's, and the composer's. */
export const SEND_MAIL_KEYS: string[] = [
  ...COMPOSE_KEYS,
  "envelope",
  ...SESSION_KEYS,
  "host",
  "port",
  "tls",
  "auth",
  "message",
  "mailOptions",
  "rcptOptions",
  "connect",
  "onProgress",
];

/** The keys of a `Transaction` (`SmtpClient.sendMail`). */
export const TRANSACTION_KEYS = ["from", "to", "message", "mailOptions", "rcptOptions", "onProgress"] as const;

/** The keys of `MailOptions`. */
export const MAIL_OPTION_KEYS = ["size", "body", "smtpUtf8", "requireTls", "ret", "envelopeId", "auth"] as const;

/** The keys of `RcptOptions`. */
export const RCPT_OPTION_KEYS = ["notify", "originalRecipient", "originalRecipientType"] as const;

/** The keys of `AuthOptions` (every form). */
export const AUTH_KEYS = ["mechanism", "username", "password", "identity", "accessToken"] as const;

/**
 * Throws a {@link UsageError} naming the first key of `value` that is not in `accepted`, and the accepted ones.
 * `undefined`/`null` pass (the caller decides whether the object is required).
 */
export function checkKeys(value: unknown, accepted: readonly string[], where: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "object") throw new UsageError(`${where} must be an object, not ${typeof value}`);
  for (const key in value) {
    if (!accepted.includes(key)) {
      throw new UsageError(
        `unknown option ${JSON.stringify(key)} in ${where}; accepted: ${accepted.join(", ")}`,
      );
    }
  }
}

/** `String.prototype.isWellFormed` where the runtime has it (Node 20, Deno, Bun, recent browsers). */
const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/**
 * Throws an {@link InvalidInputError} for `field` when `value` is a string with a lone UTF-16 surrogate. Other
 * types pass: the core reports a wrong type with its own message.
 */
export function checkText(field: string, value: unknown): void {
  if (typeof value !== "string") return;
  if (isWellFormed !== undefined) {
    if (isWellFormed.call(value)) return;
  } else if (!/[\uD800-\uDFFF]/.test(value)) {
    return;
  }
  const at = loneSurrogate(value);
  if (at < 0) return;
  throw new InvalidInputError(
    `${field}: a lone UTF-16 surrogate (U+${value.charCodeAt(at).toString(16).toUpperCase()}) at offset ${at} ` +
      "is not text; nothing was sent",
    { field },
  );
}

/** {@link checkText} for each string of `values` (a string or an array of them). */
export function checkTexts(field: string, values: unknown): void {
  if (Array.isArray(values)) for (const value of values) checkText(field, value);
  else checkText(field, values);
}

/** The offset of the first lone surrogate of `value`, or -1. */
function loneSurrogate(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}
