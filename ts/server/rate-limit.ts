/**
 * {@link createRateLimiter}: the generic cell rate algorithm (GCRA), as the seed's `throttled` package does it. Each
 * key (a client address) has a theoretical arrival time (TAT); an event is allowed while it keeps the TAT within
 * `burst + 1` emission intervals of now. One number per key, no timers; memory is bounded by `maxKeys`.
 * @module
 */

import type { RateLimiter } from "./types.js";

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained events per second allowed per key (for example `20 / 60` for 20 a minute). */
  rate: number;
  /** Events allowed at once above the rate (throttled's `MaxBurst`): `burst + 1` may arrive together. Default 0. */
  burst?: number;
  /** Keys remembered at most; the stalest are forgotten first. Default 100,000. */
  maxKeys?: number;
  /** The clock, in milliseconds (tests). Default `Date.now`. */
  now?: () => number;
}

/** A GCRA rate limiter keyed by string (the server uses the client's address). */
export interface GcraRateLimiter extends RateLimiter {
  take(key: string, quantity?: number): boolean;
  /** Milliseconds until `key` may take `quantity` again (0: now). */
  retryAfter(key: string, quantity?: number): number;
  /** Forgets every key. */
  clear(): void;
}

/** A rate limiter for {@link SmtpServerOptions.rateLimiter}: `rate` events per second per key, `burst` extra at once. */
export function createRateLimiter(options: RateLimiterOptions): GcraRateLimiter {
  if (typeof options !== "object" || options === null) throw new TypeError("createRateLimiter({ rate, burst })");
  for (const key of Object.keys(options)) {
    if (!["rate", "burst", "maxKeys", "now"].includes(key)) {
      throw new TypeError(`createRateLimiter: unknown option ${JSON.stringify(key)}`);
    }
  }
  const { rate } = options;
  const burst = options.burst ?? 0;
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  if (typeof rate !== "number" || !(rate > 0) || !Number.isFinite(rate)) {
    throw new TypeError("createRateLimiter: rate must be a positive number of events per second");
  }
  if (!Number.isInteger(burst) || burst < 0) throw new TypeError("createRateLimiter: burst must be a whole number >= 0");
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError("createRateLimiter: maxKeys must be >= 1");
  if (typeof now !== "function") throw new TypeError("createRateLimiter: now must be a function");

  const interval = 1000 / rate; // ms per event
  const tolerance = interval * (burst + 1);
  // key -> TAT (ms). Map iteration order is insertion order: re-inserting on update keeps the stalest first.
  const tats = new Map<string, number>();

  // Updates re-insert their key, so the first keys in the map are the ones least recently seen.
  const evict = (): void => {
    for (const key of tats.keys()) {
      if (tats.size < maxKeys) return;
      tats.delete(key);
    }
  };

  const check = (key: string, quantity: number): { next: number; wait: number } => {
    if (!Number.isInteger(quantity) || quantity < 1) throw new TypeError("rateLimiter.take: quantity must be >= 1");
    const t = now();
    const tat = Math.max(tats.get(key) ?? t, t);
    const next = tat + quantity * interval;
    return { next, wait: Math.max(0, next - tolerance - t) };
  };

  return {
    take(key: string, quantity = 1): boolean {
      const { next, wait } = check(key, quantity);
      if (wait > 0) return false;
      tats.delete(key);
      if (tats.size >= maxKeys) evict();
      tats.set(key, next);
      return true;
    },
    retryAfter(key: string, quantity = 1): number {
      return Math.ceil(check(key, quantity).wait);
    },
    clear(): void {
      tats.clear();
    },
  };
}
