/**
 * Runtime-neutral transports: {@link fromSocket} wraps anything with `readable` and `writable` streams (a Cloudflare
 * Workers socket, a Deno.Conn, a WebTransport stream...), {@link connectWebSocket} reaches a TCP server through a
 * WebSocket-to-TCP bridge such as websockify. Only ciphertext crosses either once TLS is up.
 * @module
 */

import { checkKeys } from "./checks.js";
import { ConnectionClosedError, TimeoutError, UsageError } from "./errors.js";
import { REMOTE_ADDRESS } from "./peer.js";
import type { Duplex } from "./types.js";

/** Anything with a byte stream each way; `close()` is called when the session ends, if present. */
export interface SocketLike {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close?: () => unknown;
}

/** A Duplex over a Cloudflare Workers `Socket` (made with `secureTransport: "off"`), a `Deno.Conn`, or any pair. */
export function fromSocket(socket: SocketLike): Duplex {
  if (
    typeof socket !== "object" ||
    socket === null ||
    typeof socket.readable?.getReader !== "function" ||
    typeof socket.writable?.getWriter !== "function"
  ) {
    throw new UsageError("fromSocket needs an object with readable and writable streams");
  }
  let closed = false;
  // A Deno.Conn knows the address it connected to (a Workers socket does not: it never counts as loopback).
  const remote = (socket as { remoteAddr?: { hostname?: unknown } }).remoteAddr?.hostname;
  const duplex: Duplex & { [REMOTE_ADDRESS]?: unknown } = {
    [REMOTE_ADDRESS]: remote,
    readable: socket.readable,
    writable: socket.writable,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (typeof socket.close === "function") {
        try {
          await socket.close();
        } catch {
          // Already closed.
        }
        return;
      }
      // No close(): end what is not locked by a reader or writer any more.
      if (!socket.writable.locked) await socket.writable.close().catch(() => {});
      if (!socket.readable.locked) await socket.readable.cancel().catch(() => {});
    },
  };
  return duplex;
}

/** The WebSocket constructor shape {@link connectWebSocket} needs (the global one, or `ws` in Node 20). */
export interface WebSocketConstructor {
  new (url: string | URL, protocols?: string | string[]): WebSocketLike;
}

/** The part of the WebSocket API {@link connectWebSocket} uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  send(data: Uint8Array | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
}

export interface ConnectWebSocketOptions {
  /** A WebSocket implementation, when the runtime has no global one (Node 20: the `ws` package). */
  WebSocket?: WebSocketConstructor;
  /** Gives up opening after this many milliseconds. Default 60 s. */
  timeout?: number;
  signal?: AbortSignal;
}

/** bufferedAmount above which writes wait. */
const WS_HIGH_WATER = 1024 * 1024;

/**
 * Opens a WebSocket to a WebSocket-to-TCP bridge (websockify and the like) and returns a Duplex over it. Requests
 * the `binary` subprotocol by default, as websockify expects.
 */
export async function connectWebSocket(
  url: string | URL,
  protocols: string | string[] = ["binary"],
  options: ConnectWebSocketOptions = {},
): Promise<Duplex> {
  const Ctor =
    options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ctor === undefined) {
    throw new UsageError(
      "this runtime has no global WebSocket: pass one as options.WebSocket (in Node 20, the ws package)",
    );
  }
  checkKeys(options, ["WebSocket", "timeout", "signal"], "connectWebSocket options");
  options.signal?.throwIfAborted();
  const ws = new Ctor(url, protocols);
  ws.binaryType = "arraybuffer";

  const queue: Uint8Array[] = [];
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let ended: { error?: unknown } | undefined;

  const onMessage = (event: { data: unknown }): void => {
    // After the stream ended (cancelled by the reader, closed by us), frames still in flight have nowhere to go:
    // enqueueing on a closed stream would throw inside the WebSocket's event handler and crash the process.
    if (ended !== undefined) return;
    const data = event.data;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      // Text frames are not part of the binary subprotocol.
      fail(new ConnectionClosedError("the WebSocket bridge sent a text frame; use the binary subprotocol"));
      return;
    }
    if (controller === undefined) {
      queue.push(bytes);
      return;
    }
    try {
      controller.enqueue(bytes);
    } catch {
      // The stream was closed or errored from the reading side in the meantime: nobody reads this any more.
    }
  };
  const fail = (error: unknown): void => {
    if (ended !== undefined) return;
    ended = { error };
    controller?.error(error);
    try {
      ws.close();
    } catch {
      // Already closing.
    }
  };
  const onClose = (event: { code?: number; reason?: string }): void => {
    if (ended !== undefined) return;
    ended = {};
    if (event.code !== undefined && event.code !== 1000 && event.code !== 1005) {
      const error = new ConnectionClosedError(
        `the WebSocket closed with code ${event.code}${event.reason ? `: ${event.reason}` : ""}`,
        { cause: closeCause(event) },
      );
      ended.error = error;
      controller?.error(error);
    } else {
      controller?.close();
    }
  };

  await new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cleanup = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      ws.removeEventListener("open", onOpen);
      ws.removeEventListener("error", onError);
      ws.removeEventListener("close", onEarlyClose);
      options.signal?.removeEventListener("abort", onAbort);
    };
    const onOpen = (): void => {
      cleanup();
      resolve();
    };
    const onError = (): void => {
      cleanup();
      reject(new ConnectionClosedError(`could not open the WebSocket to ${String(url)}`, { phase: "connect" }));
    };
    const onEarlyClose = (event: { code?: number; reason?: string }): void => {
      cleanup();
      reject(
        new ConnectionClosedError(
          `the WebSocket to ${String(url)} closed while opening (code ${event.code}` +
            `${event.reason ? `: ${event.reason}` : ""})`,
          { phase: "connect", cause: closeCause(event) },
        ),
      );
    };
    const onAbort = (): void => {
      cleanup();
      ws.close();
      reject(options.signal?.reason);
    };
    ws.addEventListener("open", onOpen);
    ws.addEventListener("error", onError);
    ws.addEventListener("close", onEarlyClose as (event: never) => void);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(() => {
      cleanup();
      ws.close();
      reject(new TimeoutError(`opening the WebSocket to ${String(url)} timed out`, { phase: "connect" }));
    }, options.timeout ?? 60_000);
  });

  ws.addEventListener("message", onMessage as (event: never) => void);
  ws.addEventListener("close", onClose as (event: never) => void);
  ws.addEventListener("error", (() => fail(new ConnectionClosedError("the WebSocket failed"))) as (e: never) => void);

  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      for (const bytes of queue.splice(0)) c.enqueue(bytes);
      if (ended !== undefined) {
        if (ended.error !== undefined) c.error(ended.error);
        else c.close();
      }
    },
    cancel() {
      ended ??= {};
      ws.close(1000);
    },
  });

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (ended !== undefined || ws.readyState !== 1) {
        throw ended?.error ?? new ConnectionClosedError("the WebSocket is closed");
      }
      ws.send(chunk);
      // WebSocket has no write backpressure signal but bufferedAmount: wait while too much is queued.
      while (ws.bufferedAmount > WS_HIGH_WATER && ended === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    close() {
      ws.close(1000);
    },
    abort() {
      ws.close(1000);
    },
  });

  return {
    readable,
    writable,
    async close(): Promise<void> {
      ended ??= {};
      try {
        ws.close(1000);
      } catch {
        // Already closed.
      }
    },
  };
}

/** What a WebSocket close event says, kept as an error's `cause`: `{ code, reason }`. */
function closeCause(event: { code?: number; reason?: string }): { code: number | undefined; reason: string } {
  return { code: event.code, reason: event.reason ?? "" };
}
