/**
 * Checking {@link SmtpServerOptions} once, loudly: an unknown key (a typo such as `maxRecipent`) or a wrong type is a
 * TypeError at construction, never a setting silently ignored.
 * @module
 */

import { type Network, parseNetwork } from "./cidr.js";
import type { ServerExtensions } from "./core.js";
import type { Backend, RateLimiter, ServerTranscriptLine, SmtpServerOptions, TlsCertificate } from "./types.js";

/** The options with every default filled in (`extensions` as the core takes them). */
export interface ResolvedOptions {
  backend: Backend;
  domain: string;
  tls: TlsCertificate | null;
  lmtp: boolean;
  maxRecipients: number;
  maxMessageBytes: number;
  maxLineLength: number;
  allowInsecureAuth: boolean;
  authDisabled: boolean;
  strict: boolean;
  extensions: ServerExtensions;
  proxyNetworks: Network[];
  secureNets: Network[];
  /** The same, as given (for the core). */
  secureNetsText: string[];
  rateLimiter: RateLimiter | null;
  readTimeout: number;
  writeTimeout: number;
  maxConnections: number;
  debug: ((line: ServerTranscriptLine) => void) | null;
}

/** The documented defaults. */
export const DEFAULTS = {
  domain: "localhost",
  maxRecipients: 100,
  maxMessageBytes: 25 * 1024 * 1024,
  maxLineLength: 2000,
  readTimeout: 5 * 60_000,
  writeTimeout: 5 * 60_000,
  maxConnections: 1000,
} as const;

const KEYS: ReadonlySet<string> = new Set([
  "backend",
  "domain",
  "tls",
  "lmtp",
  "maxRecipients",
  "maxMessageBytes",
  "maxLineLength",
  "allowInsecureAuth",
  "authDisabled",
  "strict",
  "enableSmtpUtf8",
  "enableRequireTls",
  "enableBinaryMime",
  "enableDsn",
  "enableRrvs",
  "enableDeliverBy",
  "minimumDeliverByTime",
  "enableMtPriority",
  "mtPriorityProfile",
  "secureNets",
  "proxyProtocol",
  "rateLimiter",
  "readTimeout",
  "writeTimeout",
  "maxConnections",
  "debug",
]);

const MT_PRIORITY_PROFILES = ["MIXER", "STANAG4406", "NSEP"] as const;

const BACKEND_KEYS = ["login", "anonymousLogin", "generateSid", "allowProxy"] as const;

function fail(message: string): never {
  throw new TypeError(`SmtpServer: ${message}`);
}

function bool(options: Record<string, unknown>, key: string): boolean {
  const v = options[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") fail(`option ${key} must be a boolean`);
  return v;
}

function count(options: Record<string, unknown>, key: string, fallback: number): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    fail(`option ${key} must be a whole number >= 0 (0 = no limit)`);
  }
  return v;
}

/** `{ cert, key }` checked to be PEM (the core checks the rest: parsing, key type, that the two belong together). */
function certificate(t: object, where: string): TlsCertificate {
  const { cert, key } = t as Record<string, unknown>;
  if (typeof cert !== "string" || !cert.includes("-----BEGIN CERTIFICATE-----")) {
    fail(`option ${where}.cert must be a PEM certificate chain, leaf first`);
  }
  if (typeof key !== "string" || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    fail(`option ${where}.key must be a PEM private key`);
  }
  return { cert, key };
}

/** Validates and completes the options; throws a TypeError naming the first problem. */
export function resolveOptions(input: SmtpServerOptions): ResolvedOptions {
  if (typeof input !== "object" || input === null) fail("new SmtpServer({ backend, ... }) needs an options object");
  const options = input as unknown as Record<string, unknown>;
  const unknown = Object.keys(options).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) {
    fail(`unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  }

  const backend = options["backend"];
  if (typeof backend !== "object" || backend === null) fail("option backend is required (an object)");
  for (const key of BACKEND_KEYS) {
    const fn = (backend as Record<string, unknown>)[key];
    if (fn !== undefined && typeof fn !== "function") fail(`backend.${key} must be a function`);
  }
  const b = backend as Backend;
  if (b.login === undefined && b.anonymousLogin === undefined) {
    fail("the backend needs login() (AUTH) or anonymousLogin() (MAIL without AUTH), or both");
  }

  const domain = options["domain"] ?? DEFAULTS.domain;
  if (typeof domain !== "string" || !/^[\x21-\x7e]{1,255}$/.test(domain)) {
    fail("option domain must be a host name (printable ASCII, no spaces)");
  }

  let tls: TlsCertificate | null = null;
  if (options["tls"] !== undefined) {
    const t = options["tls"];
    if (typeof t !== "object" || t === null) fail("option tls must be { cert, key } (PEM strings)");
    const extra = Object.keys(t).filter((k) => k !== "cert" && k !== "key" && k !== "sni");
    if (extra.length > 0) fail(`unknown tls option ${JSON.stringify(extra[0])}`);
    tls = certificate(t, "tls");
    const sni = (t as Record<string, unknown>)["sni"];
    if (sni !== undefined) {
      if (typeof sni !== "object" || sni === null || Array.isArray(sni)) {
        fail('option tls.sni must be { "host.name": { cert, key }, ... }');
      }
      tls.sni = Object.fromEntries(
        Object.entries(sni).map(([name, pair]) => {
          if (typeof pair !== "object" || pair === null) fail(`option tls.sni[${JSON.stringify(name)}] must be { cert, key }`);
          const extraKey = Object.keys(pair).find((k) => k !== "cert" && k !== "key");
          if (extraKey !== undefined) fail(`unknown tls.sni[${JSON.stringify(name)}] option ${JSON.stringify(extraKey)}`);
          return [name, certificate(pair, `tls.sni[${JSON.stringify(name)}]`)];
        }),
      );
    }
  }

  const networks = (key: string): { text: string[]; parsed: Network[] } => {
    const input = options[key] ?? [];
    if (!Array.isArray(input)) fail(`option ${key} must be an array of CIDR strings`);
    const text = (input as unknown[]).map((n) => n as string);
    return { text, parsed: text.map((n) => parseNetwork(n)) };
  };
  const secureNets = networks("secureNets");
  const proxyNetworks = networks("proxyProtocol").parsed;

  const rateLimiter = options["rateLimiter"] ?? null;
  if (rateLimiter !== null && (typeof rateLimiter !== "object" || typeof (rateLimiter as RateLimiter).take !== "function")) {
    fail("option rateLimiter must have take(key, quantity?) (see createRateLimiter)");
  }

  const debug = options["debug"] ?? null;
  if (debug !== null && typeof debug !== "function") fail("option debug must be a function");

  const profile = options["mtPriorityProfile"] ?? null;
  if (profile !== null && !MT_PRIORITY_PROFILES.includes(profile as never)) {
    fail(`option mtPriorityProfile must be one of ${MT_PRIORITY_PROFILES.join(", ")}`);
  }

  const maxLineLength = count(options, "maxLineLength", DEFAULTS.maxLineLength);
  if (maxLineLength !== 0 && maxLineLength < 512) fail("option maxLineLength must be at least 512 (RFC 5321 4.5.3.1.4)");

  return {
    backend: b,
    domain,
    tls,
    lmtp: bool(options, "lmtp"),
    maxRecipients: count(options, "maxRecipients", DEFAULTS.maxRecipients),
    maxMessageBytes: count(options, "maxMessageBytes", DEFAULTS.maxMessageBytes),
    maxLineLength,
    allowInsecureAuth: bool(options, "allowInsecureAuth"),
    authDisabled: bool(options, "authDisabled"),
    strict: bool(options, "strict"),
    extensions: {
      enableSmtpUtf8: bool(options, "enableSmtpUtf8"),
      enableRequireTls: bool(options, "enableRequireTls"),
      enableBinaryMime: bool(options, "enableBinaryMime"),
      enableDsn: bool(options, "enableDsn"),
      enableRrvs: bool(options, "enableRrvs"),
      enableDeliverBy: bool(options, "enableDeliverBy"),
      minimumDeliverByTime: count(options, "minimumDeliverByTime", 0),
      enableMtPriority: bool(options, "enableMtPriority"),
      mtPriorityProfile: profile as ServerExtensions["mtPriorityProfile"],
    },
    proxyNetworks,
    secureNets: secureNets.parsed,
    secureNetsText: secureNets.text,
    rateLimiter: rateLimiter as RateLimiter | null,
    readTimeout: count(options, "readTimeout", DEFAULTS.readTimeout),
    writeTimeout: count(options, "writeTimeout", DEFAULTS.writeTimeout),
    maxConnections: count(options, "maxConnections", DEFAULTS.maxConnections),
    debug: debug as ((line: ServerTranscriptLine) => void) | null,
  };
}
