/**
 * {@link transformBackend}: go-smtp's `backendutil.TransformBackend`. Wraps a backend so that every session's
 * envelope addresses and message pass through functions first (rewrite addresses, add a header, scan the content).
 * @module
 */

import type { Backend, ConnectionState, ServerMailOptions, ServerRcptOptions, Session, StatusCollector } from "./types.js";

/** The transformations; each may be async and may throw an SmtpError to refuse. */
export interface Transforms {
  /** The reverse path, before the session's `mail()` sees it. */
  transformMail?(from: string, opts: ServerMailOptions): string | Promise<string>;
  /** Each recipient, before the session's `rcpt()` sees it. */
  transformRcpt?(to: string, opts: ServerRcptOptions): string | Promise<string>;
  /** The message stream, before the session's `data()` / `lmtpData()` reads it. */
  transformData?(message: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> | Promise<ReadableStream<Uint8Array>>;
}

function wrapSession(session: Session, t: Transforms): Session {
  const wrapped: Session = {
    async mail(from, opts) {
      await session.mail(t.transformMail ? await t.transformMail(from, opts) : from, opts);
    },
    async rcpt(to, opts) {
      await session.rcpt(t.transformRcpt ? await t.transformRcpt(to, opts) : to, opts);
    },
    async data(message) {
      await session.data(t.transformData ? await t.transformData(message) : message);
    },
    reset: () => session.reset(),
    logout: () => session.logout(),
  };
  if (typeof session.lmtpData === "function") {
    const lmtpData = session.lmtpData.bind(session);
    wrapped.lmtpData = async (message: ReadableStream<Uint8Array>, status: StatusCollector) => {
      await lmtpData(t.transformData ? await t.transformData(message) : message, status);
    };
  }
  if (typeof session.allowProxy === "function") {
    const allowProxy = session.allowProxy.bind(session);
    wrapped.allowProxy = (asserted: ConnectionState, sid: string) => allowProxy(asserted, sid);
  }
  return wrapped;
}

/** A backend whose sessions see transformed addresses and messages (go-smtp's backendutil). */
export function transformBackend(backend: Backend, transforms: Transforms): Backend {
  if (typeof backend !== "object" || backend === null) throw new TypeError("transformBackend(backend, transforms)");
  for (const key of Object.keys(transforms)) {
    if (!["transformMail", "transformRcpt", "transformData"].includes(key)) {
      throw new TypeError(`transformBackend: unknown transform ${JSON.stringify(key)}`);
    }
  }
  const out: Backend = {};
  if (backend.login !== undefined) {
    const login = backend.login.bind(backend);
    out.login = async (state, username, password, sid) => wrapSession(await login(state, username, password, sid), transforms);
  }
  if (backend.anonymousLogin !== undefined) {
    const anonymous = backend.anonymousLogin.bind(backend);
    out.anonymousLogin = async (state, sid) => wrapSession(await anonymous(state, sid), transforms);
  }
  if (backend.generateSid !== undefined) out.generateSid = backend.generateSid.bind(backend);
  if (backend.allowProxy !== undefined) out.allowProxy = backend.allowProxy.bind(backend);
  return out;
}
