/**
 * What an entrypoint tells the shared code about its runtime: how to open TCP by default.
 * @module
 */

import { UsageError } from "./errors.js";
import type { Duplex } from "./types.js";

/** How long `connectTcp` waits for the connection by default (milliseconds). */
export const DEFAULT_CONNECT_TIMEOUT = 60_000;

/** Options of the runtime's own `connectTcp`. */
export interface ConnectTcpOptions {
  /** Gives up after this many milliseconds. Default 60 s. */
  timeout?: number;
  signal?: AbortSignal;
}

export type ConnectTcp = (host: string, port: number, options?: ConnectTcpOptions) => Promise<Duplex>;

let defaultConnect: ConnectTcp | undefined;

/** Registers the runtime's TCP (called by the entrypoints). */
export function setDefaultConnect(connect: ConnectTcp): void {
  defaultConnect = connect;
}

/** The runtime's TCP, or a UsageError saying what to do instead. */
export function runtimeConnect(): ConnectTcp {
  if (defaultConnect === undefined) {
    throw new UsageError(
      "this runtime cannot open TCP connections by itself (a browser?): pass `connect`, for example " +
        "(host, port) => connectWebSocket(`wss://bridge.example/${host}:${port}`)",
    );
  }
  return defaultConnect;
}
