/**
 * @module online/rate-limit
 * Token-bucket rate limits keyed by caller (node SPIFFE ID, or client address for attestation).
 * Pure arithmetic on `now`; the table is bounded (least recently used keys are dropped) so a flood
 * of distinct keys cannot exhaust memory.
 *
 * Must never: block or sleep; a refused request is answered at once with the time to wait.
 */

/** A rate: `ratePerSecond` sustained, `burst` at once. `ratePerSecond` 0 disables the limit. */
export interface RateSpec {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** Token buckets per key. */
export class RateLimiter {
  readonly #spec: RateSpec;
  readonly #max: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(spec: RateSpec, maxKeys = 100_000) {
    this.#spec = spec;
    this.#max = maxKeys;
  }

  /** True when the limit is off. */
  get disabled(): boolean {
    return this.#spec.ratePerSecond <= 0;
  }

  /** Takes one token for `key`; returns 0 when allowed, else the seconds to wait. */
  take(key: string, nowMs: number): number {
    if (this.disabled) return 0;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.#spec.burst, at: nowMs };
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
    } else {
      this.#buckets.delete(key);
      b.tokens = Math.min(this.#spec.burst, b.tokens + ((nowMs - b.at) / 1000) * this.#spec.ratePerSecond);
      b.at = nowMs;
    }
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#spec.ratePerSecond));
  }
}
