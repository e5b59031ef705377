/**
 * The one-call API: connect, secure, authenticate, send, quit (Go's `smtp.SendMail` with nodemailer's ergonomics).
 * @module
 */

import {
  checkKeys,
  checkText,
  checkTlsMode,
  portForTls,
  SEND_MAIL_KEYS,
  TIMEOUT_KEYS,
  tlsForPort,
} from "./checks.js";
import { SmtpClient, type SendResult } from "./client.js";
import { prepareMessage } from "./compose.js";
import { TimeoutError, UsageError } from "./errors.js";
import { DEFAULT_CONNECT_TIMEOUT, runtimeConnect } from "./runtime.js";
import type { Duplex, SendMailOptions } from "./types.js";

/** No single operation of a top-level sendMail may take longer by default (a server that answers each command just
 * before its deadline could otherwise hold the call for hours). */
const DEFAULT_TOTAL = 30 * 60_000;

/**
 * Sends one message. TLS is required by default: STARTTLS on port 587 (the default), implicit TLS on 465. With
 * `tls: "opportunistic"` STARTTLS is used when offered (never together with `auth`); `tls: "none"` stays in
 * cleartext. Resolves with the accepted and refused recipients; rejects if nobody accepted the message.
 */
export async function sendMail(options: SendMailOptions): Promise<SendResult> {
  if (options === undefined || options === null || typeof options.host !== "string") {
    throw new UsageError("sendMail needs options with host, from, to and message");
  }
  checkKeys(options, SEND_MAIL_KEYS, "sendMail options");
  checkKeys(options.timeouts, TIMEOUT_KEYS, "timeouts");
  checkText("host", options.host);
  const port = options.port ?? portForTls(options.tls);
  const tls: string = options.tls ?? tlsForPort(port);
  checkTlsMode(tls);
  if (tls === "opportunistic" && options.auth !== undefined) {
    throw new UsageError(
      'tls "opportunistic" cannot be combined with auth: a server that hides STARTTLS would get the credentials ' +
        'in cleartext (use "starttls" or "implicit")',
    );
  }
  const signal = options.signal;
  signal?.throwIfAborted();
  // Composed (and DKIM-signed) before connecting: a refused value (a CR/LF in a header...) sends nothing.
  const prepared = await prepareMessage(options);

  const connectTimeout = options.timeouts?.connect ?? DEFAULT_CONNECT_TIMEOUT;
  let duplex: Duplex;
  if (options.connect !== undefined) {
    duplex = await withTimeout(options.connect(options.host, port), connectTimeout, options.host, port, signal);
  } else {
    const connect = runtimeConnect();
    const connectOptions: { timeout: number; signal?: AbortSignal } = { timeout: connectTimeout };
    if (signal !== undefined) connectOptions.signal = signal;
    duplex = await connect(options.host, port, connectOptions);
  }

  const client = await SmtpClient.connect(duplex, {
    serverName: options.serverName ?? options.host,
    implicitTls: tls === "implicit",
    ...(options.localName !== undefined && { localName: options.localName }),
    ...(options.rootCertificates !== undefined && { rootCertificates: options.rootCertificates }),
    ...(options.onlyRootCertificates !== undefined && { onlyRootCertificates: options.onlyRootCertificates }),
    ...(options.dangerouslyAcceptInvalidCertificates !== undefined && {
      dangerouslyAcceptInvalidCertificates: options.dangerouslyAcceptInvalidCertificates,
    }),
    ...(options.allowInsecureAuth !== undefined && { allowInsecureAuth: options.allowInsecureAuth }),
    ...(options.clientCertificate !== undefined && { clientCertificate: options.clientCertificate }),
    timeouts: { total: DEFAULT_TOTAL, ...options.timeouts },
    ...(options.lmtp !== undefined && { lmtp: options.lmtp }),
    ...(options.preferChunking !== undefined && { preferChunking: options.preferChunking }),
    ...(options.debug !== undefined && { debug: options.debug }),
    ...(signal !== undefined && { signal }),
  });
  try {
    if (tls === "starttls") await client.startTls({ required: true });
    else if (tls === "opportunistic") await client.startTls({ required: false });
    if (options.auth !== undefined) await client.auth(options.auth);
    const result = await client.sendMail({
      from: prepared.from,
      to: prepared.to,
      message: prepared.message,
      ...(prepared.mailOptions !== undefined && { mailOptions: prepared.mailOptions }),
      ...(options.rcptOptions !== undefined && { rcptOptions: options.rcptOptions }),
      ...(options.onProgress !== undefined && { onProgress: options.onProgress }),
    });
    const tlsInfo = client.tlsInfo();
    // The message is accepted; a failing QUIT changes nothing about that.
    await client.quit().catch(() => {});
    return { ...result, tls: tlsInfo };
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}

async function withTimeout(
  opening: Promise<Duplex>,
  timeout: number,
  host: string,
  port: number,
  signal: AbortSignal | undefined,
): Promise<Duplex> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const guards = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`connecting to ${host}:${port} timed out`, { phase: "connect" })),
      timeout,
    );
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([opening, guards]);
  } catch (error) {
    // Whatever opens late is closed.
    opening.then((duplex) => duplex.close()).catch(() => {});
    throw error;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
