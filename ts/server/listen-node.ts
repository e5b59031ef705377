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

/** The transport of a socket, for the listeners below (which Node calls with the socket as `this`). */
const TRANSPORT = Symbol("smtp-wasm transport");
type TransportSocket = Socket & { [TRANSPORT]: SocketTransport };

// Shared listeners instead of closures per connection, and a class instead of an object of closures: an idle server
// holds thousands of these, and every closure is a heap object per connection.
function onData(this: TransportSocket, data: Buffer): void {
  this[TRANSPORT].data(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
function onEnd(this: TransportSocket): void {
  this[TRANSPORT].finish();
}
function onError(this: TransportSocket, error: Error): void {
  this[TRANSPORT].failure = error;
}

/** A transport over an accepted socket. */
class SocketTransport implements ServerTransport {
  /** Chunks that arrived while nobody asked (before the first read, or racing a pause). */
  private queue: Uint8Array[] | null = null;
  private ended = false;
  failure: Error | null = null;
  private waiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void } | null = null;
  private sink: ((chunk: Uint8Array | null) => void) | null = null;
  private ending = false;

  constructor(private readonly socket: Socket) {
    (socket as TransportSocket)[TRANSPORT] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onEnd);
  }

  data(chunk: Uint8Array): void {
    if (this.ending) return; // after end(): read and dropped, so the client's FIN is seen
    const sink = this.sink;
    if (sink !== null) {
      // Push mode: the driver handles the chunk now, on this event's stack. If it parked again before returning
      // (everything was answered at once), the socket keeps flowing; otherwise it waits for the driver.
      this.sink = null;
      sink(chunk);
      if (this.sink === null) this.socket.pause();
      return;
    }
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      waiter.resolve(chunk);
    } else {
      (this.queue ??= []).push(chunk);
    }
    // One chunk at a time: the next 'data' only after the driver asked (read() and park() resume).
    this.socket.pause();
  }

  finish(): void {
    this.ended = true;
    const sink = this.sink;
    if (sink !== null) {
      // A transport error ends the session like an EOF (read() callers map its rejection the same way).
      this.sink = null;
      sink(null);
    }
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      if (this.failure !== null) waiter.reject(this.failure);
      else waiter.resolve(null);
    }
  }

  read(): Promise<Uint8Array | null> {
    const next = this.queue?.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.ended) return this.failure !== null ? Promise.reject(this.failure) : Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.resume();
    });
  }

  park(sink: (chunk: Uint8Array | null) => void): Uint8Array | null | undefined {
    const next = this.queue?.shift();
    if (next !== undefined) return next;
    if (this.ended) return null;
    this.sink = sink;
    this.socket.resume();
    return undefined;
  }

  unpark(): void {
    if (this.sink === null) return;
    this.sink = null;
    this.socket.pause();
  }

  write(bytes: Uint8Array): Promise<void> | undefined {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return Promise.reject(this.failure ?? new Error("the connection is closed"));
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
        reject(this.failure ?? new Error("the connection is closed"));
      };
      socket.once("drain", onDrain);
      socket.once("close", onClose);
    });
  }

  end(): void {
    const socket = this.socket;
    if (this.ending || socket.destroyed) return;
    this.ending = true;
    socket.end();
    // A client that never closes its side does not keep the socket.
    const timer = setTimeout(() => socket.destroy(), END_GRACE_MS);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
    socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A transport over an accepted socket. */
export function socketTransport(socket: Socket): ServerTransport {
  return new SocketTransport(socket);
}

/** Listens with `node:net` (Node, Bun). */
export const listenNode: ListenFunction = (where, onConnection) =>
  new Promise((resolve, reject) => {
    // allowHalfOpen: a client that sends its commands and then shuts its side down (`printf ... | nc -N`, a script
    // that half-closes) still gets the replies; by default Node would end our side at its FIN, and the replies to a
    // pipelined batch (held until a backend call answered) were lost while the message was delivered. The driver
    // ends the socket itself once the session is over.
    const server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => {
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
