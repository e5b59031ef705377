/**
 * The PROXY protocol (HAProxy, versions 1 and 2) in front of a connection from a trusted load balancer: the header is
 * read and parsed (by the core's codec, src/codec/proxy.rs) before the session starts, so the session, the rate
 * limiter and the backend see the client the proxy names. Bytes the client sent after the header in the same read
 * are handed to the session first.
 * @module
 */

import type { RawProxyHeader } from "./core.js";
import type { ServerTransport } from "./transport.js";

/** The header's limit, as the codec's (`MAX_V2_HEADER`): a peer that sends more without a header is refused. */
const MAX_HEADER = 4096;

/** Why a connection from a trusted proxy was closed before its session. */
export class ProxyHeaderError extends Error {
  override name = "ProxyHeaderError";
  /** The peer closed before sending anything (a proxy's plain TCP health check): nothing worth reporting. */
  readonly quiet: boolean;
  constructor(message: string, quiet = false) {
    super(message);
    this.quiet = quiet;
  }
}

/**
 * Reads the header within `timeoutMs` (0: no limit): the header, and the transport to hand the session (the bytes
 * after the header come first). Rejects with a {@link ProxyHeaderError} (nothing to reply: the peer is a proxy that
 * sent no valid header, or went away); the caller drops the connection.
 */
export async function readProxyHeader(
  transport: ServerTransport,
  parse: (input: Uint8Array) => RawProxyHeader | undefined,
  timeoutMs: number,
): Promise<{ header: RawProxyHeader; transport: ServerTransport }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    if (timeoutMs > 0) {
      timer = setTimeout(() => reject(new ProxyHeaderError("no PROXY protocol header in time")), timeoutMs);
    }
  });
  try {
    let input = new Uint8Array(0);
    for (;;) {
      let header: RawProxyHeader | undefined;
      try {
        header = parse(input);
      } catch (error) {
        throw new ProxyHeaderError((error as { message?: string }).message ?? String(error));
      }
      if (header !== undefined) {
        const rest = input.subarray(header.consumed);
        return { header, transport: rest.byteLength > 0 ? withFirstChunk(transport, rest) : transport };
      }
      if (input.byteLength > MAX_HEADER) throw new ProxyHeaderError("no PROXY protocol header in the first 4096 bytes");
      const chunk = await Promise.race([transport.read(), expired]);
      if (chunk === null) {
        throw new ProxyHeaderError("the connection closed before its PROXY protocol header", input.byteLength === 0);
      }
      const joined = new Uint8Array(input.byteLength + chunk.byteLength);
      joined.set(input);
      joined.set(chunk, input.byteLength);
      input = joined;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** `transport`, whose next read (or park) gives `first` before anything from the network. */
function withFirstChunk(transport: ServerTransport, first: Uint8Array): ServerTransport {
  let pending: Uint8Array | null = first;
  const take = (): Uint8Array | null => {
    const chunk = pending;
    pending = null;
    return chunk;
  };
  const wrapped: ServerTransport = {
    read: () => (pending !== null ? Promise.resolve(take()) : transport.read()),
    write: (bytes) => transport.write(bytes),
    end: () => transport.end(),
    destroy: () => transport.destroy(),
  };
  const park = transport.park?.bind(transport);
  const unpark = transport.unpark?.bind(transport);
  if (park !== undefined) wrapped.park = (sink) => (pending !== null ? take() : park(sink));
  if (unpark !== undefined) wrapped.unpark = unpark;
  return wrapped;
}
