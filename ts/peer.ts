/**
 * What a transport knows about the address it actually connected to. The cleartext-AUTH exception for the local
 * machine is decided on this address (together with the server's name), never on a name the caller passed alone,
 * and never for a WebSocket bridge or another relay (they set nothing here, so they never count as loopback).
 * @module
 */

import type { Duplex } from "./types.js";

/**
 * Set on a {@link Duplex} by a direct TCP transport to the remote IP address it is connected to (`"127.0.0.1"`,
 * `"::1"`, `"192.0.2.7"`), as the socket reports it.
 */
export const REMOTE_ADDRESS = Symbol.for("smtp-wasm.remoteAddress");

/** Whether `address` is an IPv4 loopback (127.0.0.0/8), `::1`, or an IPv4-mapped loopback (`::ffff:127.x.y.z`). */
export function isLoopbackAddress(address: unknown): boolean {
  if (typeof address !== "string") return false;
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const v4 = bare.toLowerCase().startsWith("::ffff:") ? bare.slice(7) : bare;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(bare.toLowerCase());
}

/** Whether `duplex` is a direct TCP connection to a loopback address. */
export function connectedToLoopback(duplex: Duplex): boolean {
  return isLoopbackAddress((duplex as { [REMOTE_ADDRESS]?: unknown })[REMOTE_ADDRESS]);
}
