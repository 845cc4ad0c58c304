/**
 * @module online/worker-pool
 * The pool of issuance worker threads that spreads the CPU-bound part of issuance (CSR parsing and
 * verification, TBS building, signing) over the cores, while the main thread keeps TLS, HTTP,
 * authorisation and the database. Jobs go to the worker with the fewest outstanding jobs; a
 * worker that dies fails its outstanding jobs with ERR_ONLINE_UNAVAILABLE and is replaced. With
 * zero workers, jobs run on the main thread (tests, and small deployments).
 *
 * Must never: hand a job's result to the wrong caller, or keep a key in a terminated worker's
 * message queue (keys are only sent with the issuer set).
 */
import { Worker } from 'node:worker_threads';

import { CoreError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { IssuerSet, type IssueJob, type IssueJobResult, type IssuerSpec, type ToWorker } from './issuance-jobs.ts';

type Pending = { resolve: (r: IssueJobResult) => void; worker: number };

interface Slot {
  worker: Worker;
  outstanding: number;
  ready: boolean;
  /** Jobs queued in this turn of the event loop, sent together. */
  outbox: IssueJob[];
}

const WORKER_URL = new URL('./issuance-worker.cjs', import.meta.url);

/** Issuance workers. */
export class IssuancePool {
  readonly #log: Logger;
  readonly #slots: Slot[] = [];
  readonly #pending = new Map<number, Pending>();
  // Without workers, jobs run here with verification and signing on libuv's thread pool.
  readonly #inline = new IssuerSet(true);
  #issuers: readonly IssuerSpec[] = [];
  #nextId = 1;
  #closed = false;

  private constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts `size` workers (0: run jobs inline) and waits until they are ready. */
  static async start(size: number, issuers: readonly IssuerSpec[], log: Logger): Promise<IssuancePool> {
    const pool = new IssuancePool(log);
    pool.#issuers = issuers;
    pool.#inline.set(issuers);
    await Promise.all(Array.from({ length: size }, (_, i) => pool.#spawn(i)));
    return pool;
  }

  /** Number of worker threads. */
  get size(): number {
    return this.#slots.length;
  }

  /** Jobs waiting for a worker's answer. */
  get outstanding(): number {
    return this.#pending.size;
  }

  #spawn(index: number): Promise<void> {
    return new Promise((resolve, reject) => {
      // A bounded young generation keeps the server's RSS predictable under load (V8 otherwise grows
      // it to tens of MB per thread); issuance garbage is short-lived and small.
      const worker = new Worker(WORKER_URL, { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
      const slot: Slot = { worker, outstanding: 0, ready: false, outbox: [] };
      this.#slots[index] = slot;
      let started = false;
      worker.on('message', (m: { type: 'started' } | { type: 'ready' } | { type: 'results'; results: IssueJobResult[] }) => {
        if (m.type === 'started') {
          started = true;
          worker.postMessage({ type: 'issuers', issuers: this.#issuers } satisfies ToWorker);
        } else if (m.type === 'ready') {
          if (!slot.ready) {
            slot.ready = true;
            resolve();
          }
        } else {
          for (const result of m.results) {
            const p = this.#pending.get(result.id);
            if (p !== undefined) {
              this.#pending.delete(result.id);
              slot.outstanding--;
              p.resolve(result);
            }
          }
        }
      });
      worker.on('error', (e) => {
        this.#log.error('issuance worker failed', { worker: index, error: e });
        if (!started) reject(new CoreError('ERR_ONLINE_UNAVAILABLE', 'an issuance worker thread could not start', { cause: e }));
      });
      worker.on('exit', (code) => {
        for (const [id, p] of this.#pending) {
          if (p.worker === index) {
            this.#pending.delete(id);
            p.resolve({ id, ok: false, error: { code: 'ERR_ONLINE_UNAVAILABLE', message: 'the issuance worker stopped while handling this request; retry' } });
          }
        }
        if (!this.#closed) {
          this.#log.warn('issuance worker exited; starting a replacement', { worker: index, exitCode: code });
          this.#spawn(index).catch((e: unknown) => this.#log.error('replacement issuance worker failed to start', { worker: index, error: e }));
        }
      });
    });
  }

  /** Replaces the intermediates on every worker (and inline). */
  setIssuers(issuers: readonly IssuerSpec[]): void {
    this.#issuers = issuers;
    this.#inline.set(issuers);
    for (const s of this.#slots) if (s.ready) s.worker.postMessage({ type: 'issuers', issuers } satisfies ToWorker);
  }

  /** Runs a job on the least busy worker (or inline). */
  run(job: Omit<IssueJob, 'id'>): Promise<IssueJobResult> {
    const id = this.#nextId++;
    const full: IssueJob = { ...job, id };
    let best: Slot | undefined;
    let bestIndex = -1;
    this.#slots.forEach((s, i) => {
      if (s.ready && (best === undefined || s.outstanding < best.outstanding)) {
        best = s;
        bestIndex = i;
      }
    });
    if (best === undefined) return this.#inline.run(full);
    const slot: Slot = best;
    slot.outstanding++;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve, worker: bestIndex });
      slot.outbox.push(full);
      if (slot.outbox.length === 1) {
        // Jobs that arrive in the same turn of the event loop travel in one message.
        setImmediate(() => {
          const jobs = slot.outbox;
          slot.outbox = [];
          if (jobs.length > 0) slot.worker.postMessage({ type: 'jobs', jobs } satisfies ToWorker);
        });
      }
    });
  }

  /** The inline issuer set (the main thread uses its templates to finish token-signed SVIDs). */
  get inline(): IssuerSet {
    return this.#inline;
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    for (const [id, p] of this.#pending) p.resolve({ id, ok: false, error: { code: 'ERR_ONLINE_UNAVAILABLE', message: 'the server is shutting down' } });
    this.#pending.clear();
  }
}
