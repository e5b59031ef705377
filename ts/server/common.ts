/**
 * Everything every entrypoint of `smtp-wasm/server` exports; the entrypoints add the runtime's listener and wasm
 * loader.
 * @module
 */

export { SmtpServer } from "./server.js";
export { SmtpError, ErrAuthRequired, ErrAuthUnsupported, ErrAuthFailed, type SmtpErrorInit } from "./errors.js";
export { createRateLimiter, type RateLimiterOptions, type GcraRateLimiter } from "./rate-limit.js";
export { transformBackend, type Transforms } from "./backendutil.js";
export { initServer, type ServerWasmSource } from "./wasm.js";
export { MESSAGE_WINDOW } from "./conn.js";
export type {
  Backend,
  ConnectionInfo,
  ConnectionState,
  ListenAddress,
  ListenOptions,
  LMTPSession,
  ProxyBackend,
  ProxySession,
  RateLimiter,
  ServerConnection,
  ServerMailOptions,
  ServerRcptOptions,
  ServerTlsInfo,
  ServerTranscriptLine,
  Session,
  SmtpServerOptions,
  StatusCollector,
  TlsCertificate,
} from "./types.js";
export type { Duplex } from "../types.js";
