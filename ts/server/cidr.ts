/**
 * `secureNets`: parsing CIDRs and matching client addresses (IPv4, IPv6, and IPv4-mapped IPv6 as Node reports
 * clients of a dual-stack listener: `::ffff:127.0.0.1`). Addresses become 16-byte arrays (IPv4 as mapped IPv6).
 * @module
 */

/** A parsed network: its first 16 bytes and prefix length (IPv4 prefixes are shifted by 96). */
export interface Network {
  bytes: Uint8Array;
  prefix: number;
}

function parseV4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** An IP address as 16 bytes (IPv4 mapped into IPv6), or `null` when it is not an address. */
export function parseIp(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const v4 = parseV4(s);
  if (v4 !== null) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  if (!s.includes(":")) return null;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const t = parseV4(tail);
    if (t === null) return null;
    s = `${s.slice(0, lastColon + 1)}${((t[0]! << 8) | t[1]!).toString(16)}:${((t[2]! << 8) | t[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (head === null || rest === null) return null;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses `"10.0.0.0/8"`, `"::1/128"` or a single address; throws a TypeError naming the bad entry. */
export function parseNetwork(text: string): Network {
  if (typeof text !== "string") throw new TypeError("secureNets: every entry must be a string");
  const slash = text.indexOf("/");
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseIp(addr);
  if (bytes === null) throw new TypeError(`secureNets: ${JSON.stringify(text)} is not an IP address or CIDR`);
  const isV4 = parseV4(addr.trim()) !== null;
  const max = isV4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) {
      throw new TypeError(`secureNets: ${JSON.stringify(text)} has a bad prefix length`);
    }
    prefix = Number(p);
  }
  return { bytes, prefix: isV4 ? prefix + 96 : prefix };
}

/** Whether `address` lies in any of `networks`. */
export function inNetworks(address: string, networks: readonly Network[]): boolean {
  if (networks.length === 0) return false;
  const ip = parseIp(address);
  if (ip === null) return false;
  return networks.some(({ bytes, prefix }) => {
    const full = prefix >> 3;
    for (let i = 0; i < full; i++) if (ip[i] !== bytes[i]) return false;
    const bits = prefix & 7;
    if (bits === 0) return true;
    const mask = (0xff << (8 - bits)) & 0xff;
    return ((ip[full] ?? 0) & mask) === ((bytes[full] ?? 0) & mask);
  });
}
