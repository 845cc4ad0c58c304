/**
 * @module agent/storm
 * A deterministic simulation of many workloads renewing against a server that may be down for a
 * while: shows how jitter spreads renewal requests, and that the backoff keeps every certificate
 * valid through an outage shorter than the margin between renewal and expiry. Pure (seeded PRNG);
 * used by a test and by `npm run bench -- storm`.
 */
import { backoffDelay, renewalDueAt, type RotationPolicy } from './rotation.ts';

/** A small, fast, seeded PRNG (mulberry32): reproducible simulations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Simulation inputs (ms). */
export interface StormInput {
  workloads: number;
  lifetime: number;
  policy: RotationPolicy;
  /** Server unreachable in [downFrom, downUntil) relative to the common issuance time. */
  downFrom?: number;
  downUntil?: number;
  /** How long to simulate (default 2 lifetimes). */
  horizon?: number;
  seed: number;
}

/** Simulation results. */
export interface StormResult {
  /** Highest number of renewal requests in any one second. */
  peakPerSecond: number;
  /** Requests made (successful and failed). */
  requests: number;
  /** Failed requests (server down). */
  failures: number;
  /** Certificates that expired before a successor was issued. */
  expiries: number;
  /** Smallest remaining validity (ms) at the moment a successor was issued. */
  minMarginAtRenewal: number;
}

interface Item {
  notBefore: number;
  notAfter: number;
  next: number;
  attempt: number;
}

/**
 * Runs the simulation: all certificates are issued at t = 0; each renews at its jittered due time;
 * a request while the server is down fails and is retried after a full-jitter backoff.
 */
export function simulateStorm(input: StormInput): StormResult {
  const rnd = seededRandom(input.seed);
  const horizon = input.horizon ?? 2 * input.lifetime;
  const down = (t: number): boolean => input.downFrom !== undefined && input.downUntil !== undefined && t >= input.downFrom && t < input.downUntil;
  const items: Item[] = [];
  for (let i = 0; i < input.workloads; i++) {
    items.push({ notBefore: 0, notAfter: input.lifetime, next: renewalDueAt(0, input.lifetime, input.policy, rnd()), attempt: 0 });
  }
  const perSecond = new Map<number, number>();
  let requests = 0;
  let failures = 0;
  let expiries = 0;
  let minMargin = Number.POSITIVE_INFINITY;
  // Event loop over a binary heap keyed by `next`.
  const heap = new MinHeap<Item>((a, b) => a.next - b.next);
  items.forEach((it) => heap.push(it));
  while (heap.size > 0) {
    const it = heap.pop()!;
    const t = it.next;
    if (t > horizon) break;
    requests++;
    const sec = Math.floor(t / 1000);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
    if (down(t)) {
      failures++;
      it.next = t + Math.max(1, backoffDelay(it.attempt, input.policy, rnd()));
      it.attempt++;
      if (it.next >= it.notAfter && t < it.notAfter) expiries++;
      heap.push(it);
      continue;
    }
    if (t >= it.notAfter) {
      // Already counted as expired when the retry crossed notAfter.
    } else {
      minMargin = Math.min(minMargin, it.notAfter - t);
    }
    it.notBefore = t;
    it.notAfter = t + input.lifetime;
    it.attempt = 0;
    it.next = renewalDueAt(it.notBefore, it.notAfter, input.policy, rnd());
    heap.push(it);
  }
  return { peakPerSecond: Math.max(0, ...perSecond.values()), requests, failures, expiries, minMarginAtRenewal: minMargin };
}

class MinHeap<T> {
  readonly #a: T[] = [];
  readonly #cmp: (x: T, y: T) => number;
  constructor(cmp: (x: T, y: T) => number) {
    this.#cmp = cmp;
  }
  get size(): number {
    return this.#a.length;
  }
  push(v: T): void {
    const a = this.#a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.#a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.#cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.#cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
