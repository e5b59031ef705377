/**
 * TCP for Node and Bun (`node:net`), as a {@link Duplex} of web streams. Nagle is off (`setNoDelay`): the driver
 * coalesces each flight of commands into one write, and waiting for delayed ACKs costs ~40 ms per round trip.
 * @module
 */

import { connect as netConnect, type Socket } from "node:net";

import { DIRECT_READ, DIRECT_WRITE, type DirectReadSink, REUSES_WRITTEN_CHUNKS } from "./driver.js";
import { checkKeys } from "./checks.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";
import { REMOTE_ADDRESS } from "./peer.js";
import { DEFAULT_CONNECT_TIMEOUT, type ConnectTcpOptions } from "./runtime.js";
import type { Duplex } from "./types.js";

/** Opens a TCP connection with `node:net` (Node, Bun). */
export function connectTcp(host: string, port: number, options: ConnectTcpOptions = {}): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    checkKeys(options, ["timeout", "signal"], "connectTcp options");
    options.signal?.throwIfAborted();
    const socket = netConnect({ host, port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off("error", onError);
      socket.off("connect", onConnect);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(
        new ConnectionClosedError(`could not connect to ${host}:${port}: ${error.message}`, {
          phase: "connect",
          cause: error,
        }),
      );
    };
    const onConnect = (): void => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socketDuplex(socket));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(options.signal?.reason);
    };
    socket.once("error", onError);
    socket.once("connect", onConnect);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new TimeoutError(`connecting to ${host}:${port} timed out`, { phase: "connect" }));
    }, options.timeout ?? DEFAULT_CONNECT_TIMEOUT);
  });
}

/** A Duplex over a connected `net.Socket` (or `tls.TLSSocket`, though TLS belongs inside the wasm). */
export function socketDuplex(socket: Socket): Duplex {
  let failure: Error | undefined;
  socket.on("error", (error) => {
    failure = error;
  });

  // The socket is read either through a ReadableStream or directly by the driver (DIRECT_READ), whichever is asked
  // for first; until then it stays paused (no 'data' listener), so nothing is lost.
  let readable: ReadableStream<Uint8Array> | undefined;
  let direct = false;
  // A socket that closed before either reader was attached (its 'close' has been emitted): the reader is told so.
  let closed = false;
  socket.once("close", () => {
    closed = true;
  });
  const makeReadable = (): ReadableStream<Uint8Array> =>
    new ReadableStream<Uint8Array>(
      {
        start(controller) {
          socket.on("data", (data: Buffer) => {
            try {
              controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
            } catch {
              // Cancelled by the reader while data was in flight: nobody reads it any more (and a throw here would
              // escape as an uncaught exception from the socket's event handler).
              return;
            }
            if ((controller.desiredSize ?? 1) <= 0) socket.pause();
          });
          socket.on("end", () => {
            try {
              controller.close();
            } catch {
              // Already cancelled.
            }
          });
          const onClose = (): void => {
            try {
              if (failure !== undefined) controller.error(failure);
              else controller.close();
            } catch {
              // Already closed or cancelled.
            }
          };
          if (closed) onClose();
          else socket.on("close", onClose);
        },
        pull() {
          socket.resume();
        },
        cancel() {
          socket.destroy();
        },
      },
      { highWaterMark: 16 },
    );
  const readDirectly = (sink: DirectReadSink): void => {
    if (readable !== undefined || direct) throw new Error("the socket is already being read");
    direct = true;
    let ended = false;
    socket.on("data", (data: Buffer) => {
      if (!ended) sink.data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    socket.on("end", () => {
      if (ended) return;
      ended = true;
      sink.end();
    });
    const onClose = (): void => {
      if (ended) return;
      ended = true;
      if (failure !== undefined) sink.error(failure);
      else sink.end();
    };
    // Already closed: reported after this call returns, like an event would be.
    if (closed) queueMicrotask(onClose);
    else socket.on("close", onClose);
  };

  // Resolves once the chunk was handed to the kernel (the write callback), not as soon as Node buffered it: the
  // driver reuses its write buffers after that (REUSES_WRITTEN_CHUNKS), and it is the backpressure too. The driver
  // calls it directly (DIRECT_WRITE); the writable below goes through it as well.
  const write = (chunk: Uint8Array): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (socket.destroyed || !socket.writable) {
        reject(failure ?? new ConnectionClosedError("the connection is closed"));
        return;
      }
      socket.write(chunk, (error) => {
        if (error) reject(failure ?? error);
        else resolve();
      });
    });

  const writable = new WritableStream<Uint8Array>({
    write,
    close() {
      return new Promise<void>((resolve) => {
        if (socket.destroyed) resolve();
        else socket.end(() => resolve());
      });
    },
    abort() {
      socket.destroy();
    },
  });

  return {
    get readable(): ReadableStream<Uint8Array> {
      if (direct) throw new Error("the socket is read directly");
      readable ??= makeReadable();
      return readable;
    },
    writable,
    close(): Promise<void> {
      socket.destroy();
      return Promise.resolve();
    },
    [REUSES_WRITTEN_CHUNKS]: true,
    [DIRECT_WRITE]: write,
    [DIRECT_READ]: readDirectly,
    [REMOTE_ADDRESS]: socket.remoteAddress,
  } as Duplex;
}
