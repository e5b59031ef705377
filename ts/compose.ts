/**
 * Composing and DKIM-signing messages: {@link composeMessage}, and the part of {@link sendMail} that turns
 * `subject`/`text`/`html`/`attachments`/`dkim` options into a message. The builder and the signer are Rust
 * (src/compose/, src/dkim/) in a second wasm, `smtp_compose_bg.wasm`, loaded on first use only, so programs that
 * send finished messages never download it.
 * @module
 */

import type * as ComposeBindings from "./smtp_compose.js";
import type { RawComposeOptions } from "./smtp_compose.js";
import { checkKeys, COMPOSE_KEYS } from "./checks.js";
import { toError, UsageError } from "./errors.js";
import { instantiateSideWasm } from "./side-wasm.js";
import type { AddressLike, ComposeOptions, DkimOptions, MailAttachment, MessageSource, SendMailOptions } from "./types.js";

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
const ATTACHMENT_KEYS = ["filename", "content", "contentType", "cid", "disposition"];
const DKIM_KEYS = ["domainName", "keySelector", "privateKey", "headerFieldNames", "canonicalization"];

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

/** The options as the wasm reads them, and the streams of streamed attachments by index. */
function rawOptions(options: ComposeOptions): {
  raw: RawComposeOptions;
  streams: Map<number, ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>>;
} {
  const streams = new Map<number, ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>>();
  const attachments = (options.attachments ?? []).map((a: MailAttachment, index) => {
    if (typeof a !== "object" || a === null) throw new UsageError("each attachment must be an object");
    checkKeys(a, ATTACHMENT_KEYS, "attachment");
    const raw: RawComposeOptions["attachments"][number] = {};
    if (a.filename !== undefined) raw.filename = a.filename;
    if (a.contentType !== undefined) raw.contentType = a.contentType;
    if (a.cid !== undefined) raw.cid = a.cid;
    if (a.disposition !== undefined) raw.disposition = a.disposition;
    if (typeof a.content === "string") raw.content = encoder.encode(a.content);
    else if (a.content instanceof Uint8Array) raw.content = a.content;
    else if (isReadableStream(a.content) || isAsyncIterable(a.content)) streams.set(index, a.content);
    else {
      throw new UsageError(
        "attachment content must be a string, a Uint8Array, a ReadableStream<Uint8Array> or an async iterable of them",
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
  return { raw, streams };
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
  /** In memory when nothing was streamed (or when it had to be held for DKIM). */
  bytes?: Uint8Array;
  chunks?: AsyncIterable<Uint8Array>;
}

/**
 * `inPlace`: streamed output is yielded as views into the composer's memory, valid until the generator resumes (for
 * a consumer that copies each chunk before asking for the next, like sendMail's writer): no garbage per chunk.
 */
async function compose(options: ComposeOptions, inPlace = false): Promise<Composed> {
  const { raw, streams } = rawOptions(options);
  const keys = options.dkim === undefined ? undefined : dkimKeys(options.dkim);
  const bindings = await loadComposer();
  let composer: ComposeBindings.WasmComposer;
  let signer: ComposeBindings.WasmDkimSigner | undefined;
  try {
    composer = new bindings.WasmComposer(raw, Date.now(), randomBytes());
    if (keys !== undefined) signer = new bindings.WasmDkimSigner(keys, Date.now());
  } catch (error) {
    throw toError(error);
  }
  const from = composer.envelopeFrom();
  const to = composer.envelopeTo();
  const produce = async function* (views: boolean): AsyncGenerator<Uint8Array> {
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
        for await (const value of chunksOf(stream)) {
          if (!(value instanceof Uint8Array)) throw new UsageError("attachment streams must yield Uint8Array chunks");
          if (views && memory !== undefined) {
            const length = composer.pushView(value);
            if (length > 0) yield new Uint8Array(memory.buffer, composer.outputPtr(), length);
          } else {
            const out = composer.push(value);
            if (out.length > 0) yield out;
          }
        }
        const tail = composer.end();
        if (tail.length > 0) yield tail;
      }
    } finally {
      composer.free();
    }
  };
  if (streams.size === 0 || signer !== undefined) {
    // In memory: nothing streamed, or a signature that must precede the body it covers (the encoded message is
    // held, chunk by chunk, until the body hash is known).
    const chunks: Uint8Array[] = [];
    for await (const chunk of produce(false)) {
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
    return { from, to, bytes: concat(chunks) };
  }
  return { from, to, chunks: produce(inPlace) };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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
  return concat(chunks);
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
  return concat(chunks);
}


/**
 * For sendMail: the envelope and the message, composed (and signed) when there is no `message`, signed when there
 * is one and `dkim` is set, passed through otherwise. Runs before any connection is opened, so a refused value
 * sends nothing.
 * @internal
 */
export async function prepareMessage(
  options: SendMailOptions,
): Promise<{ from: string; to: string | string[]; message: MessageSource }> {
  // sendMail has checked the keys (SEND_MAIL_KEYS holds COMPOSE_KEYS).
  if (options.message !== undefined) {
    const extra = CONTENT_KEYS.filter((key) => options[key] !== undefined);
    if (extra.length > 0) {
      throw new UsageError(`message cannot be combined with ${extra.join(", ")} (they compose a message)`);
    }
    const from = envelopeAddress(options.from);
    const to = Array.isArray(options.to) ? options.to.map(envelopeAddress) : envelopeAddress(options.to);
    if (options.dkim === undefined) return { from, to, message: options.message };
    return { from, to, message: await signRaw(options.message, options.dkim) };
  }
  const composeOptions: ComposeOptions = { from: options.from, to: options.to };
  for (const key of COMPOSE_KEYS) {
    if (key !== "from" && key !== "to" && options[key] !== undefined) {
      (composeOptions as unknown as Record<string, unknown>)[key] = options[key];
    }
  }
  const composed = await compose(composeOptions, true);
  return { from: composed.from, to: composed.to, message: composed.bytes ?? composed.chunks ?? new Uint8Array() };
}
