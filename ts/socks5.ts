/**
 * SOCKS5 (RFC 1928) with username/password authentication (RFC 1929), over any {@link Duplex}: the proxy is reached
 * with the runtime's own TCP (Node, Bun, Deno, Workers) or whatever `connect` opens, and the handshake runs on its
 * byte streams, so it works wherever smtp-wasm does (go-smtp's `DialWithSocks5`). The target's name is sent to the
 * proxy unresolved, so the proxy resolves it. TLS runs inside the wasm as always: the proxy sees only ciphertext once
 * STARTTLS or implicit TLS is up.
 * @module
 */

import { checkKeys, checkText } from "./checks.js";
import { ConnectionClosedError, InvalidInputError, TimeoutError } from "./errors.js";
import { DEFAULT_CONNECT_TIMEOUT, runtimeConnect } from "./runtime.js";
import type { Duplex } from "./types.js";

/** Where the SOCKS5 proxy is and how to log in to it. */
export interface Socks5Options {
  /** The proxy's host. */
  host: string;
  /** The proxy's port (commonly 1080). */
  port: number;
  /** RFC 1929 username; with `password`, the only method offered. Without both, no authentication is offered. */
  username?: string;
  /** RFC 1929 password. */
  password?: string;
  /** How to reach the proxy; default: the runtime's own TCP. */
  connect?: (host: string, port: number) => Promise<Duplex>;
  /** Gives up on the whole handshake (connecting included) after this many ms. Default 60 s. */
  timeout?: number;
  signal?: AbortSignal;
}

const SOCKS_KEYS = ["host", "port", "username", "password", "connect", "timeout", "signal"] as const;

/** RFC 1928 section 6: what a non-zero REP means. */
const REPLIES: Record<number, string> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

const encoder = new TextEncoder();

/**
 * Opens a connection to `host`:`port` through the SOCKS5 proxy `proxy`, for `sendMail`'s `connect` or
 * `SmtpClient.connect`: `connect: (host, port) => connectSocks5({ host: "127.0.0.1", port: 1080 }, host, port)`.
 * Fails with a ConnectionClosedError (phase `"connect"`) when the proxy refuses, with a TimeoutError after `timeout`.
 */
export async function connectSocks5(proxy: Socks5Options, host: string, port: number): Promise<Duplex> {
  checkKeys(proxy, SOCKS_KEYS, "SOCKS5 options");
  checkText("host", host);
  checkText("username", proxy.username);
  checkText("password", proxy.password);
  const user = proxy.username === undefined ? undefined : encoder.encode(proxy.username);
  const pass = proxy.password === undefined ? undefined : encoder.encode(proxy.password);
  if ((user === undefined) !== (pass === undefined)) {
    throw new InvalidInputError("SOCKS5 needs both a username and a password, or neither", { field: "username" });
  }
  if ((user?.byteLength ?? 1) < 1 || (user?.byteLength ?? 0) > 255 || (pass?.byteLength ?? 1) < 1 || (pass?.byteLength ?? 0) > 255) {
    throw new InvalidInputError("SOCKS5 usernames and passwords are 1 to 255 bytes (RFC 1929)", { field: "username" });
  }
  const address = targetAddress(host);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError(`port must be 1..65535, not ${port}`, { field: "port" });
  }
  proxy.signal?.throwIfAborted();

  const timeout = proxy.timeout ?? DEFAULT_CONNECT_TIMEOUT;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  let duplex: Duplex | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`the SOCKS5 proxy ${proxy.host}:${proxy.port} did not connect us in time`, { phase: "connect" })),
      timeout,
    );
    if (proxy.signal !== undefined) {
      onAbort = () => reject(proxy.signal?.reason);
      proxy.signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  const opening = (async (): Promise<Duplex> => {
    const open = proxy.connect ?? ((h: string, p: number) => runtimeConnect()(h, p, { timeout }));
    duplex = await open(proxy.host, proxy.port);
    return handshake(duplex, proxy, user, pass, address, port);
  })();
  try {
    return await Promise.race([opening, guard]);
  } catch (error) {
    opening.then((d) => d.close()).catch(() => {});
    await duplex?.close().catch(() => {});
    throw error;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onAbort !== undefined) proxy.signal?.removeEventListener("abort", onAbort);
  }
}

/** The DST.ADDR of a CONNECT: ATYP and the address bytes (IPv4, IPv6, or the name for the proxy to resolve). */
function targetAddress(host: string): Uint8Array {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(bare);
  if (v4 !== null && v4.slice(1).every((n) => Number(n) <= 255)) {
    return Uint8Array.of(1, ...v4.slice(1).map(Number));
  }
  if (bare.includes(":")) {
    const v6 = parseIpv6(bare);
    if (v6 === null) throw new InvalidInputError(`not an IPv6 address: ${host}`, { field: "host" });
    return Uint8Array.of(4, ...v6);
  }
  const name = encoder.encode(bare);
  if (name.byteLength < 1 || name.byteLength > 255 || /[\s\0]/.test(bare)) {
    throw new InvalidInputError(`a SOCKS5 host name is 1 to 255 bytes without spaces: ${JSON.stringify(host)}`, { field: "host" });
  }
  return Uint8Array.of(3, name.byteLength, ...name);
}

function parseIpv6(text: string): number[] | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Reads exactly what is asked from a stream, keeping what comes after it. */
class ExactReader {
  #buffer = new Uint8Array(0);
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async read(n: number): Promise<Uint8Array> {
    while (this.#buffer.byteLength < n) {
      const { value, done } = await this.reader.read();
      if (done) throw new ConnectionClosedError("the SOCKS5 proxy closed the connection during its handshake", { phase: "connect" });
      const joined = new Uint8Array(this.#buffer.byteLength + value.byteLength);
      joined.set(this.#buffer);
      joined.set(value, this.#buffer.byteLength);
      this.#buffer = joined;
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  /** What was read past the handshake (the server's first bytes, if they came in the same segment). */
  rest(): Uint8Array {
    return this.#buffer;
  }
}

async function handshake(
  duplex: Duplex,
  proxy: Socks5Options,
  user: Uint8Array | undefined,
  pass: Uint8Array | undefined,
  address: Uint8Array,
  port: number,
): Promise<Duplex> {
  const where = `the SOCKS5 proxy ${proxy.host}:${proxy.port}`;
  const reader = duplex.readable.getReader();
  const writer = duplex.writable.getWriter();
  const input = new ExactReader(reader);
  const fail = (message: string): never => {
    throw new ConnectionClosedError(`${where}: ${message}`, { phase: "connect" });
  };
  // Greeting: the one method we will use.
  const method = user === undefined ? 0x00 : 0x02;
  await writer.write(Uint8Array.of(5, 1, method));
  const chosen = await input.read(2);
  if (chosen[0] !== 5) fail("not a SOCKS5 proxy");
  if (chosen[1] === 0xff) {
    fail(user === undefined ? "it requires authentication (give username and password)" : "it does not accept username/password authentication");
  }
  if (chosen[1] !== method) fail(`it chose a method that was not offered (${chosen[1]})`);
  if (user !== undefined && pass !== undefined) {
    await writer.write(Uint8Array.of(1, user.byteLength, ...user, pass.byteLength, ...pass));
    const status = await input.read(2);
    if (status[1] !== 0) fail("it refused the username or password");
  }
  await writer.write(Uint8Array.of(5, 1, 0, ...address, port >> 8, port & 0xff));
  const head = await input.read(4);
  if (head[0] !== 5) fail("not a SOCKS5 reply");
  const rep = head[1] ?? 1;
  if (rep !== 0) fail(`it could not connect to the server: ${REPLIES[rep] ?? `reply ${rep}`}`);
  // BND.ADDR and BND.PORT: read and ignored.
  const atyp = head[3];
  const length = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? ((await input.read(1))[0] ?? 0) : fail(`an unknown address type ${atyp}`);
  await input.read(length + 2);

  const early = input.rest();
  writer.releaseLock();
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      if (early.byteLength > 0) controller.enqueue(early);
    },
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { readable, writable: duplex.writable, close: () => duplex.close() };
}
