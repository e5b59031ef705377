/**
 * Composing and DKIM-signing messages: {@link composeMessage}, and the part of {@link sendMail} that turns
 * `subject`/`text`/`html`/`attachments`/`dkim` options into a message. The builder and the signer are Rust
 * (src/compose/, src/dkim/) in a second wasm, `smtp_compose_bg.wasm`, loaded on first use only, so programs that
 * send finished messages never download it.
 * @module
 */

import { concatBytes } from "./bytes.js";
import type * as ComposeBindings from "./smtp_compose.js";
import type { RawComposeOptions } from "./smtp_compose.js";
import { ATTACHMENT_KEYS, checkKeys, checkText, checkTexts, COMPOSE_KEYS, DKIM_KEYS, ENVELOPE_KEYS } from "./checks.js";
import { toError, UsageError } from "./errors.js";
import { baseName, checkFile, fileChunks } from "./file.js";
import { instantiateSideWasm } from "./side-wasm.js";
import type {
  AddressLike,
  ComposeOptions,
  DkimOptions,
  MailAttachment,
  MailOptions,
  MessageSource,
  SendMailOptions,
} from "./types.js";

/** Where the composer's wasm comes from: bytes, a compiled module, a URL or a Response. */
export type ComposeWasmSource = ComposeBindings.InitInput;

let composeSource: ComposeWasmSource | Promise<ComposeWasmSource> | undefined;
let loading: Promise<typeof ComposeBindings> | undefined;
/** The composer's wasm memory (for `pushView` output read in place). */
let memory: WebAssembly.Memory | undefined;

/**
 * Says where `smtp_compose_bg.wasm` is, for runtimes where it is not next to this file (Cloudflare Workers: pass the
 * imported `WebAssembly.Module`; the `slim` entrypoint). Optional elsewhere: it is found and loaded on first use.
 */
export function initCompose(source?: ComposeWasmSource | Promise<ComposeWasmSource>): Promise<void> {
  if (source !== undefined && loading === undefined) composeSource = source;
  return loadComposer().then(() => undefined);
}

/**
 * Registers where the composer's wasm comes from without loading it (an entrypoint's default, e.g. the Workers
 * bundle's compiled module; nothing may be instantiated at a Worker's top level).
 * @internal
 */
export function setComposeWasmSource(source: ComposeWasmSource): void {
  if (loading === undefined) composeSource ??= source;
}

function loadComposer(): Promise<typeof ComposeBindings> {
  loading ??= (async () => {
    const bindings = await import("./smtp_compose.js");
    const source = await composeSource;
    const file = () => new URL("./smtp_compose_bg.wasm", import.meta.url);
    memory = (await instantiateSideWasm(bindings, source, file)).memory;
    return bindings;
  })();
  const attempt = loading;
  attempt.catch(() => {
    if (loading === attempt) loading = undefined;
  });
  return attempt;
}

/** The options that make sendMail compose a message. */
const CONTENT_KEYS = [
  "cc", "bcc", "replyTo", "subject", "text", "html", "attachments", "headers", "messageId", "date", "inReplyTo",
  "references",
] as const;

function list(value: AddressLike | AddressLike[] | undefined): AddressLike[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof value === "object" && value !== null && typeof (value as ReadableStream).getReader === "function";
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** The chunks of a ReadableStream or an async iterable (a Node stream, read as fast as it is consumed). */
async function* chunksOf(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  if (!isReadableStream(source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

const encoder = new TextEncoder();

/** An attachment's content as it streams in: a stream (read once) or, for a file, how to read it (again). */
type Source = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

/** The options as the wasm reads them, the streams of streamed attachments by index, and the files to check. */
function rawOptions(options: ComposeOptions): {
  raw: RawComposeOptions;
  streams: Map<number, Source>;
  paths: Array<string | URL>;
} {
  const streams = new Map<number, Source>();
  const paths: Array<string | URL> = [];
  if (options.attachments !== undefined && !Array.isArray(options.attachments)) {
    throw new UsageError("attachments must be an array");
  }
  const attachments = (options.attachments ?? []).map((a: MailAttachment, index) => {
    if (typeof a !== "object" || a === null) throw new UsageError("each attachment must be an object");
    checkKeys(a, ATTACHMENT_KEYS, "attachment");
    const raw: RawComposeOptions["attachments"][number] = {};
    if (a.filename !== undefined) raw.filename = a.filename;
    if (a.contentType !== undefined) raw.contentType = a.contentType;
    if (a.cid !== undefined) raw.cid = a.cid;
    if (a.disposition !== undefined) raw.disposition = a.disposition;
    if (a.path !== undefined) {
      // A file, read while the message is sent.
      if (a.content !== undefined) throw new UsageError("an attachment takes content or path, not both");
      if (typeof a.path !== "string" && !(a.path instanceof URL)) {
        throw new UsageError("attachment path must be a string or a file: URL");
      }
      if (a.path instanceof URL && a.path.protocol !== "file:") {
        throw new UsageError(`attachment path must be a file: URL, not ${a.path.protocol}`);
      }
      checkText("attachment path", a.path);
      if (a.path === "") throw new UsageError("attachment path is empty");
      const path = a.path;
      paths.push(path);
      streams.set(index, () => fileChunks(path));
      raw.filename ??= baseName(a.path);
    } else if (typeof a.content === "string") raw.content = encoder.encode(a.content);
    else if (a.content instanceof Uint8Array) raw.content = a.content;
    else if (isReadableStream(a.content) || isAsyncIterable(a.content)) streams.set(index, a.content);
    else {
      throw new UsageError(
        "attachment content must be a string, a Uint8Array, a ReadableStream<Uint8Array> or an async iterable of " +
          "them (or give path: a file to read)",
      );
    }
    return raw;
  });
  const headers: Array<[string, string]> = [];
  if (options.headers !== undefined) {
    const entries = Array.isArray(options.headers) ? options.headers : Object.entries(options.headers);
    for (const entry of entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "string") {
        throw new UsageError("headers must map header names to string values");
      }
      headers.push([entry[0], entry[1]]);
    }
  }
  const date = options.date instanceof Date ? options.date.getTime() : options.date;
  const raw: RawComposeOptions = {
    from: options.from,
    to: list(options.to),
    cc: list(options.cc),
    bcc: list(options.bcc),
    replyTo: list(options.replyTo),
    attachments,
    headers,
    references: options.references === undefined ? [] : typeof options.references === "string" ? [options.references] : options.references,
    ...(options.subject !== undefined && { subject: options.subject }),
    ...(options.text !== undefined && { text: options.text }),
    ...(options.html !== undefined && { html: options.html }),
    ...(options.messageId !== undefined && { messageId: options.messageId }),
    ...(date !== undefined && { date }),
    ...(options.inReplyTo !== undefined && { inReplyTo: options.inReplyTo }),
  };
  return { raw, streams, paths };
}

function dkimKeys(dkim: DkimOptions | DkimOptions[]): DkimOptions[] {
  const keys = Array.isArray(dkim) ? dkim : [dkim];
  for (const key of keys) {
    if (typeof key !== "object" || key === null) throw new UsageError("dkim must be an object or an array of them");
    checkKeys(key, DKIM_KEYS, "dkim");
  }
  return keys;
}

/** WebCrypto RSA keys by PEM (PKCS#8 only; PKCS#1 keys are signed in the wasm). */
const rsaKeys = new Map<string, Promise<CryptoKey | undefined>>();

function webCryptoRsaKey(pem: string): Promise<CryptoKey | undefined> {
  let key = rsaKeys.get(pem);
  if (key === undefined) {
    const match = /-----BEGIN PRIVATE KEY-----([\s\S]*?)-----END PRIVATE KEY-----/.exec(pem);
    const subtle = globalThis.crypto?.subtle;
    if (match?.[1] === undefined || subtle === undefined) {
      key = Promise.resolve(undefined);
    } else {
      const der = Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
      key = subtle
        .importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"])
        .catch(() => undefined);
    }
    if (rsaKeys.size >= 8) rsaKeys.clear();
    rsaKeys.set(pem, key);
  }
  return key;
}

/**
 * The DKIM-Signature fields. The core hashes and builds them; RSA signatures are made with WebCrypto where it can
 * (native RSA is many times faster than RSA compiled to wasm), Ed25519 and PKCS#1 keys in the core.
 */
async function finishSignatures(signer: ComposeBindings.WasmDkimSigner, keys: DkimOptions[]): Promise<string> {
  const unsigned = signer.finishUnsigned();
  const signatures = await Promise.all(
    unsigned.map(async ({ algorithm, data }, i) => {
      const pem = keys[i]?.privateKey;
      if (algorithm !== "rsa-sha256" || pem === undefined) return undefined;
      const key = await webCryptoRsaKey(pem);
      if (key === undefined) return undefined;
      return new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data as Uint8Array<ArrayBuffer>));
    }),
  );
  return signer.complete(signatures);
}

function randomBytes(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

/** A composed message: its envelope and its bytes, produced as they are read. */
interface Composed {
  from: string;
  to: string[];
  /** The header holds raw UTF-8 (a non-ASCII address): the message needs SMTPUTF8 and 8BITMIME. */
  utf8Header: boolean;
  /** In memory when nothing was streamed (or when it had to be held for DKIM). */
  bytes?: Uint8Array;
  chunks?: AsyncIterable<Uint8Array>;
}

/**
 * `inPlace`: streamed output is yielded as views into the composer's memory, valid until the generator resumes (for
 * a consumer that copies each chunk before asking for the next, like sendMail's writer): no garbage per chunk.
 */
async function compose(options: ComposeOptions, inPlace = false): Promise<Composed> {
  const { raw, streams, paths } = rawOptions(options);
  const keys = options.dkim === undefined ? undefined : dkimKeys(options.dkim);
  // Every file is there before anything is composed (or a connection opened).
  await Promise.all(paths.map(checkFile));
  const bindings = await loadComposer();
  // The same time and randomness give the same bytes (boundaries, Message-ID, Date): a second pass over files
  // produces exactly what the first one hashed.
  const now = Date.now();
  const seed = randomBytes();
  let composer: ComposeBindings.WasmComposer;
  let signer: ComposeBindings.WasmDkimSigner | undefined;
  try {
    composer = new bindings.WasmComposer(raw, now, seed);
    if (keys !== undefined) signer = new bindings.WasmDkimSigner(keys, now);
  } catch (error) {
    throw toError(error);
  }
  const from = composer.envelopeFrom();
  const to = composer.envelopeTo();
  const utf8Header = composer.utf8Header();
  /**
   * The message's bytes from `composer`. `sizes`: the bytes of each streamed attachment, recorded (a first pass) or,
   * when already recorded, checked (a second pass: a file that changed in between would break the signature).
   */
  const produce = async function* (
    composer: ComposeBindings.WasmComposer,
    views: boolean,
    sizes?: Map<number, number>,
  ): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = composer.next();
        if (next === null) return;
        if (typeof next !== "number") {
          yield next;
          continue;
        }
        const stream = streams.get(next);
        if (stream === undefined) throw new UsageError(`attachment ${next} has no stream`);
        let size = 0;
        for await (const value of chunksOf(typeof stream === "function" ? stream() : stream)) {
          if (!(value instanceof Uint8Array)) throw new UsageError("attachment streams must yield Uint8Array chunks");
          size += value.byteLength;
          if (views && memory !== undefined) {
            const length = composer.pushView(value);
            if (length > 0) yield new Uint8Array(memory.buffer, composer.outputPtr(), length);
          } else {
            const out = composer.push(value);
            if (out.length > 0) yield out;
          }
        }
        const before = sizes?.get(next);
        if (before === undefined) sizes?.set(next, size);
        else if (before !== size) {
          throw new UsageError(
            `attachment ${next} changed while the message was signed (${before} bytes hashed, ${size} read to send)`,
          );
        }
        const tail = composer.end();
        if (tail.length > 0) yield tail;
      }
    } finally {
      composer.free();
    }
  };
  if (signer !== undefined && streams.size > 0 && [...streams.values()].every((s) => typeof s === "function")) {
    // DKIM over attachments that are all files: one pass hashes the message (nothing kept), the signature goes in
    // front, a second pass reads the files again and streams the same bytes. Memory stays bounded.
    const first = composer;
    const sizes = new Map<number, number>();
    let header: string;
    try {
      const scratch = new Scratch();
      // A view of the composer's memory is copied out before the signer (same wasm memory, which may grow) reads it.
      for await (const chunk of produce(first, true, sizes)) signer.update(scratch.copy(chunk));
      header = await finishSignatures(signer, keys ?? []);
    } catch (error) {
      throw toError(error);
    } finally {
      signer.free();
    }
    let second: ComposeBindings.WasmComposer;
    try {
      second = new bindings.WasmComposer(raw, now, seed);
    } catch (error) {
      throw toError(error);
    }
    const chunks = (async function* () {
      yield encoder.encode(header);
      yield* produce(second, inPlace, sizes);
    })();
    return { from, to, utf8Header, chunks };
  }
  if (streams.size === 0 || signer !== undefined) {
    // In memory: nothing streamed, or a signature that must precede the body it covers with a stream that cannot be
    // read twice (the encoded message is held, chunk by chunk, until the body hash is known).
    const chunks: Uint8Array[] = [];
    for await (const chunk of produce(composer, false)) {
      signer?.update(chunk);
      chunks.push(chunk);
    }
    if (signer !== undefined) {
      try {
        chunks.unshift(encoder.encode(await finishSignatures(signer, keys ?? [])));
      } catch (error) {
        throw toError(error);
      } finally {
        signer.free();
      }
    }
    return { from, to, utf8Header, bytes: concatBytes(chunks) };
  }
  return { from, to, utf8Header, chunks: produce(composer, inPlace) };
}

/** One buffer, grown as needed, that chunks are copied into (no garbage per chunk). */
class Scratch {
  #buffer = new Uint8Array(0);

  copy(chunk: Uint8Array): Uint8Array {
    if (this.#buffer.byteLength < chunk.byteLength) this.#buffer = new Uint8Array(Math.max(chunk.byteLength, 128 * 1024));
    this.#buffer.set(chunk);
    return this.#buffer.subarray(0, chunk.byteLength);
  }
}

function toStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

/**
 * Builds an RFC 5322 message (MIME, 7-bit clean) from addresses, subject, text, HTML and attachments, signed with
 * DKIM when `dkim` is given. Resolves with the bytes, or with `{ stream: true }` a ReadableStream that encodes
 * streamed attachments as they are read. Bcc addresses are never written into the message. Any CR or LF in a header
 * value, header name, address or filename is refused ({@link InvalidInputError}) before anything is produced.
 */
export function composeMessage(options: ComposeOptions): Promise<Uint8Array>;
export function composeMessage(options: ComposeOptions, output: { stream: true }): Promise<ReadableStream<Uint8Array>>;
export async function composeMessage(
  options: ComposeOptions,
  output?: { stream?: boolean },
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  if (typeof options !== "object" || options === null) throw new UsageError("composeMessage needs options");
  checkKeys(options, COMPOSE_KEYS, "composeMessage");
  const composed = await compose(options);
  if (output?.stream === true) {
    return toStream(composed.chunks ?? (async function* () { if (composed.bytes) yield composed.bytes; })());
  }
  if (composed.bytes !== undefined) return composed.bytes;
  const chunks: Uint8Array[] = [];
  for await (const chunk of composed.chunks ?? []) chunks.push(chunk);
  return concatBytes(chunks);
}

/** The address of `"Name <addr>"` or `{ address }` (for the envelope of a finished message). */
function envelopeAddress(value: AddressLike): string {
  if (typeof value !== "string") return value.address;
  const m = /<([^<>]*)>\s*$/.exec(value);
  return m?.[1] !== undefined ? m[1].trim() : value;
}

/** DKIM signatures for a finished message: the signature fields and the message after them. */
async function signRaw(message: MessageSource, dkim: DkimOptions | DkimOptions[]): Promise<Uint8Array> {
  const keys = dkimKeys(dkim);
  const bindings = await loadComposer();
  let signer: ComposeBindings.WasmDkimSigner;
  try {
    signer = new bindings.WasmDkimSigner(keys, Date.now());
  } catch (error) {
    throw toError(error);
  }
  const chunks: Uint8Array[] = [];
  try {
    if (typeof message === "string" || message instanceof Uint8Array) {
      chunks.push(typeof message === "string" ? encoder.encode(message) : message);
    } else if (isReadableStream(message)) {
      const reader = message.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } else {
      for await (const chunk of message) chunks.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    }
    for (const chunk of chunks) signer.update(chunk);
    chunks.unshift(encoder.encode(await finishSignatures(signer, keys)));
  } catch (error) {
    throw toError(error);
  } finally {
    signer.free();
  }
  return concatBytes(chunks);
}


/** Whether any of the addresses is not ASCII (then MAIL needs SMTPUTF8). */
function anyNonAscii(addresses: string[]): boolean {
  return addresses.some((a) => /[^\x00-\x7f]/.test(a));
}

/**
 * sendMail's `envelope` applied: each field given replaces what the headers gave (`to`, `cc` and `bcc` together
 * replace the recipients).
 */
function applyEnvelope(
  options: SendMailOptions,
  from: string,
  to: string[],
): { from: string; to: string[] } {
  const envelope = options.envelope;
  if (envelope === undefined) return { from, to };
  if (typeof envelope !== "object" || envelope === null) throw new UsageError("envelope must be an object");
  checkKeys(envelope, ENVELOPE_KEYS, "envelope");
  for (const key of ENVELOPE_KEYS) checkTexts(`envelope.${key}`, envelope[key]);
  if (envelope.from !== undefined) {
    if (Array.isArray(envelope.from)) throw new UsageError("envelope.from must be one address");
    from = envelopeAddress(envelope.from);
  }
  if (envelope.to !== undefined || envelope.cc !== undefined || envelope.bcc !== undefined) {
    to = [...list(envelope.to), ...list(envelope.cc), ...list(envelope.bcc)].map(envelopeAddress);
    if (to.length === 0) throw new UsageError("envelope names no recipient");
  }
  return { from, to };
}

/**
 * The MAIL options for a message that needs SMTPUTF8: `smtpUtf8` set, and for a header with raw UTF-8 `BODY=8BITMIME`
 * (so a server without them is found out at MAIL, before any byte of the message). Refuses options that say the
 * opposite.
 */
function withSmtpUtf8(given: MailOptions | undefined, utf8Header: boolean): MailOptions {
  if (given?.smtpUtf8 === false) {
    throw new UsageError("a non-ASCII address needs SMTPUTF8, but mailOptions.smtpUtf8 is false");
  }
  const out: MailOptions = { ...given, smtpUtf8: true };
  if (utf8Header) {
    if (given?.body === "7BIT") {
      throw new UsageError('a non-ASCII address makes the header 8-bit, but mailOptions.body is "7BIT"');
    }
    out.body ??= "8BITMIME";
  }
  return out;
}

/**
 * For sendMail: the envelope and the message, composed (and signed) when there is no `message`, signed when there
 * is one and `dkim` is set, passed through otherwise; `envelope` applied; the MAIL options, with SMTPUTF8 asked for
 * when an address is not ASCII. Runs before any connection is opened, so a refused value sends nothing.
 * @internal
 */
export async function prepareMessage(
  options: SendMailOptions,
): Promise<{ from: string; to: string[]; message: MessageSource; mailOptions: MailOptions | undefined }> {
  // sendMail has checked the keys (SEND_MAIL_KEYS holds COMPOSE_KEYS).
  let from: string;
  let to: string[];
  let message: MessageSource;
  let utf8Header = false;
  if (options.message !== undefined) {
    const extra = CONTENT_KEYS.filter((key) => options[key] !== undefined);
    if (extra.length > 0) {
      throw new UsageError(`message cannot be combined with ${extra.join(", ")} (they compose a message)`);
    }
    from = envelopeAddress(options.from);
    to = list(options.to).map(envelopeAddress);
    ({ from, to } = applyEnvelope(options, from, to));
    message = options.dkim === undefined ? options.message : await signRaw(options.message, options.dkim);
  } else {
    // The envelope is checked before the message is composed (and its files looked at).
    applyEnvelope(options, "", []);
    const composeOptions: ComposeOptions = { from: options.from, to: options.to };
    for (const key of COMPOSE_KEYS) {
      if (key !== "from" && key !== "to" && options[key] !== undefined) {
        (composeOptions as unknown as Record<string, unknown>)[key] = options[key];
      }
    }
    const composed = await compose(composeOptions, true);
    ({ from, to } = applyEnvelope(options, composed.from, composed.to));
    utf8Header = composed.utf8Header;
    message = composed.bytes ?? composed.chunks ?? new Uint8Array();
  }
  const utf8 = utf8Header || anyNonAscii([from, ...to]);
  const mailOptions = utf8 ? withSmtpUtf8(options.mailOptions, utf8Header) : options.mailOptions;
  return { from, to, message, mailOptions };
}
