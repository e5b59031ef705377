/**
 * Everything every entrypoint exports; the entrypoints add the runtime's `connectTcp` and wasm loader.
 * @module
 */

export { SmtpClient, BodyWriter, DataWriter, LmtpDataWriter, type SendResult, type LmtpResult } from "./client.js";
export { sendMail } from "./send-mail.js";
export { composeMessage, initCompose, type ComposeWasmSource } from "./compose.js";
export {
  SmtpWasmError,
  SmtpError,
  TlsError,
  TimeoutError,
  ConnectionClosedError,
  InvalidInputError,
  ProtocolError,
  UsageError,
  NotSupportedError,
  type SmtpWasmErrorOptions,
  type TlsErrorKind,
} from "./errors.js";
export {
  fromSocket,
  connectWebSocket,
  type SocketLike,
  type WebSocketConstructor,
  type WebSocketLike,
  type ConnectWebSocketOptions,
} from "./transports.js";
export { connectSocks5, type Socks5Options } from "./socks5.js";
export { init, type WasmSource } from "./init.js";
export { initClientKeySigner, type SignerWasmSource } from "./signer.js";
export type { ConnectTcpOptions } from "./runtime.js";
export type {
  AddressLike,
  AuthOptions,
  ClientCertificate,
  ClientOptions,
  ComposeOptions,
  DkimOptions,
  MailAttachment,
  MailEnvelope,
  Duplex,
  EnhancedCode,
  MailOptions,
  MessageFields,
  MessageSource,
  RcptOptions,
  Reply,
  SaslClient,
  SendMailOptions,
  Timeouts,
  TlsInfo,
  Transaction,
  TranscriptLine,
} from "./types.js";
