/**
 * The TCP listener of Node and Bun (`node:net`), and a {@link ServerTransport} straight over `net.Socket` (no web
 * streams in between). Reading is push-style ({@link ServerTransport.park}): the socket's `data` event calls the
 * driver, and the socket is paused whenever the driver did not ask for more before returning (a backend call or a
 * full message window in progress), which is the backpressure.
 * @module
 */

import { createServer, type Socket } from "node:net";

import type { ListenFunction } from "./runtime.js";
import { END_GRACE_MS, type ServerTransport } from "./transport.js";

/** A transport over an accepted socket. */
export function socketTransport(socket: Socket): ServerTransport {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: Error | null = null;
  let waiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void } | null = null;
  let sink: ((chunk: Uint8Array | null) => void) | null = null;
  let ending = false;

  socket.on("data", (data: Buffer) => {
    if (ending) return; // after end(): read and dropped, so the client's FIN is seen
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (sink !== null) {
      // Push mode: the driver handles the chunk now, on this event's stack. If it parked again before returning
      // (everything was answered at once), the socket keeps flowing; otherwise it waits for the driver.
      const s = sink;
      sink = null;
      s(chunk);
      if (sink === null) socket.pause();
      return;
    }
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w.resolve(chunk);
    } else {
      queue.push(chunk);
    }
    // One chunk at a time: the next 'data' only after the driver asked (read() resumes).
    socket.pause();
  });
  const finish = (): void => {
    ended = true;
    if (sink !== null) {
      // A transport error ends the session like an EOF (read() callers map its rejection the same way).
      const s = sink;
      sink = null;
      s(null);
    }
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      if (failure !== null) w.reject(failure);
      else w.resolve(null);
    }
  };
  socket.on("end", finish);
  socket.on("error", (error) => {
    failure = error;
  });
  socket.on("close", finish);

  return {
    read(): Promise<Uint8Array | null> {
      const next = queue.shift();
      if (next !== undefined) return Promise.resolve(next);
      if (ended) return failure !== null ? Promise.reject(failure) : Promise.resolve(null);
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        socket.resume();
      });
    },
    park(s: (chunk: Uint8Array | null) => void): Uint8Array | null | undefined {
      const next = queue.shift();
      if (next !== undefined) return next;
      if (ended) return null;
      sink = s;
      socket.resume();
      return undefined;
    },
    unpark(): void {
      if (sink === null) return;
      sink = null;
      socket.pause();
    },
    write(bytes: Uint8Array): Promise<void> | undefined {
      if (socket.destroyed || !socket.writable) return Promise.reject(failure ?? new Error("the connection is closed"));
      // Under the socket's high-water mark the bytes are queued and nothing is waited for: no promise and no
      // callback per reply (a write error closes the socket, which read() reports as the end of the stream).
      if (socket.write(bytes)) return undefined;
      // Over it: wait until the socket drained (or closed).
      return new Promise((resolve, reject) => {
        const onDrain = (): void => {
          socket.off("close", onClose);
          resolve();
        };
        const onClose = (): void => {
          socket.off("drain", onDrain);
          reject(failure ?? new Error("the connection is closed"));
        };
        socket.once("drain", onDrain);
        socket.once("close", onClose);
      });
    },
    end(): void {
      if (ending || socket.destroyed) return;
      ending = true;
      socket.end();
      // A client that never closes its side does not keep the socket.
      const timer = setTimeout(() => socket.destroy(), END_GRACE_MS);
      timer.unref();
      socket.once("close", () => clearTimeout(timer));
      socket.resume();
    },
    destroy(): void {
      socket.destroy();
    },
  };
}

/** Listens with `node:net` (Node, Bun). */
export const listenNode: ListenFunction = (where, onConnection) =>
  new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
      socket.setNoDelay(true);
      const transport = socketTransport(socket);
      socket.resume();
      onConnection(transport, {
        remoteAddress: socket.remoteAddress ?? "",
        remotePort: socket.remotePort ?? 0,
        localAddress: socket.localAddress ?? "",
        localPort: socket.localPort ?? 0,
      });
    });
    server.once("error", reject);
    server.listen(where.port, where.host, () => {
      server.off("error", reject);
      // Accept errors (EMFILE...) must not take the process down.
      server.on("error", (error) => console.error(`smtp-wasm/server: listener error: ${error.message}`));
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : where.port;
      resolve({
        address: { host: where.host, port },
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
