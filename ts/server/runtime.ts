/**
 * What an entrypoint of `smtp-wasm/server` tells the shared code about its runtime: how to listen for TCP, and how to
 * make cores (the server wasm). Tests register their own core factory through {@link CORE_FACTORY}.
 * @module
 */

import type { RawServerConfig, ServerCoreFactory } from "./core.js";
import type { ServerTransport } from "./transport.js";
import type { ListenAddress } from "./types.js";

/** Where a connection accepted by a listener comes from. */
export interface AcceptedInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

/** A bound listener. */
export interface Listener {
  address: ListenAddress;
  /** Stops accepting (open connections are the server's business). */
  close(): Promise<void>;
}

/** Binds a TCP listener with the runtime's API and hands every accepted connection over. */
export type ListenFunction = (
  where: { host: string; port: number },
  onConnection: (transport: ServerTransport, info: AcceptedInfo) => void,
) => Promise<Listener>;

/** Makes the core factory for one server's configuration (loads the wasm first). */
export type CoreFactoryMaker = (config: RawServerConfig) => ServerCoreFactory | Promise<ServerCoreFactory>;

let listenImpl: ListenFunction | undefined;
let coreMaker: CoreFactoryMaker | undefined;

/** Registers the runtime's listener (called by the entrypoints). */
export function setListen(fn: ListenFunction): void {
  listenImpl = fn;
}

/** The runtime's listener, if it has one. */
export function runtimeListen(): ListenFunction | undefined {
  return listenImpl;
}

/** Registers how cores are made (the entrypoints: the server wasm). */
export function setCoreFactoryMaker(fn: CoreFactoryMaker): void {
  coreMaker = fn;
}

/** How cores are made, if registered. */
export function runtimeCoreFactoryMaker(): CoreFactoryMaker | undefined {
  return coreMaker;
}

/**
 * @internal An options key (a symbol, so it is no option name) through which tests give a server their own
 * {@link CoreFactoryMaker} instead of the wasm.
 */
export const CORE_FACTORY = Symbol.for("smtp-wasm.server.coreFactory");
