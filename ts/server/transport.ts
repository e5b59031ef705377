/**
 * What the connection driver needs from a transport: one pull-style read at a time (so not reading is the
 * backpressure), writes that resolve once the bytes left, a graceful end and an abrupt destroy. Made from any
 * {@link Duplex} here; the Node listener has a faster one over `net.Socket` (listen-node.ts).
 * @module
 */

import type { Duplex } from "../types.js";

/** A byte transport the server driver reads and writes. */
export interface ServerTransport {
  /** The next chunk, `null` at the end of the stream; rejects on a transport error. One read at a time. */
  read(): Promise<Uint8Array | null>;
  /**
   * Resolves once the bytes were handed to the transport (its backpressure). `undefined`: taken at once, nothing to
   * wait for (a socket under its high-water mark; a failure then shows as the end of the stream on `read`).
   */
  write(bytes: Uint8Array): Promise<void> | undefined;
  /**
   * Push-style reading, the alternative to {@link read} (the Node transport has it): the next chunk (`null` at the
   * end of the stream, or after a transport error) if one is already queued, else `undefined` and the transport
   * calls `sink` once, from its own event, when one arrives. While nothing is parked the transport does not read (the
   * backpressure). An idle connection then holds no pending promise and no suspended async function, only `sink`.
   */
  park?(sink: (chunk: Uint8Array | null) => void): Uint8Array | null | undefined;
  /** Cancels a {@link park} whose chunk has not arrived (the connection has something else to do first). */
  unpark?(): void;
  /** Ends the stream after what was written (FIN), then releases it. */
  end(): void;
  /** Drops the connection now. */
  destroy(): void;
}

/** How long a connection we ended may stay half-open before it is dropped. */
export const END_GRACE_MS = 5_000;

/** A transport over a {@link Duplex}: web streams both ways. */
export function duplexTransport(duplex: Duplex): ServerTransport {
  const reader = duplex.readable.getReader();
  const writer = duplex.writable.getWriter();
  let done = false;
  const release = (): void => {
    if (done) return;
    done = true;
    reader.cancel().catch(() => {});
    void duplex.close().catch(() => {});
  };
  return {
    async read(): Promise<Uint8Array | null> {
      const r = await reader.read();
      return r.done ? null : r.value;
    },
    write(bytes: Uint8Array): Promise<void> {
      return writer.write(bytes);
    },
    end(): void {
      if (done) return;
      // Close the writing side (flushes what is queued), then release everything; a peer that never closes its
      // side does not keep the connection.
      const timer = setTimeout(release, END_GRACE_MS);
      writer
        .close()
        .catch(() => {})
        .finally(() => {
          clearTimeout(timer);
          release();
        });
    },
    destroy(): void {
      writer.abort().catch(() => {});
      release();
    },
  };
}
