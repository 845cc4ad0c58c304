/**
 * @module electron/host/yaml-checker
 * Runs {@link checkYamlText} in a worker thread with a deadline, one file at a time: the main
 * process keeps answering the UI while a file is checked, and a file whose check takes longer than
 * the deadline (the YAML parser is superlinear on some hostile inputs) is refused and its worker
 * terminated, with a message for the person who picked it. The worker is started on first use and
 * replaced after a timeout or a crash; it never keeps the process alive.
 *
 * Must never: run the YAML parser on the calling thread, or wait on a check without a deadline.
 */
import { Worker } from 'node:worker_threads';

import { CoreError, type SerializedError } from '../../core/errors.ts';
import type { YamlCheck } from './yaml-check.ts';
import type { YamlCheckRequest } from './yaml-worker.ts';

/** Default deadline of one check. */
export const YAML_CHECK_TIMEOUT_MS = 10_000;

/** Options of {@link YamlChecker}. */
export interface YamlCheckerOptions {
  /** The worker script: `yaml-worker-dev.mjs` from source (registers tsx first), `yaml-worker.mjs` when bundled. */
  workerUrl: URL;
  /** Deadline of one check (default {@link YAML_CHECK_TIMEOUT_MS}). */
  timeoutMs?: number;
}

type Reply = { id: number; ok: true; result: YamlCheck } | { id: number; ok: false; error: SerializedError };

/** The checker: one worker, checks queued in order. */
export class YamlChecker {
  readonly #url: URL;
  readonly #timeoutMs: number;
  #worker: Worker | undefined;
  #next = 1;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: YamlCheckerOptions) {
    this.#url = options.workerUrl;
    this.#timeoutMs = options.timeoutMs ?? YAML_CHECK_TIMEOUT_MS;
  }

  /** The deadline of one check, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /**
   * Checks one file's text off the main thread.
   * @throws {CoreError} ERR_INPUT_INVALID when the check outlives the deadline or the worker fails
   */
  check(text: string, source: string, baseDir: string): Promise<YamlCheck> {
    const run = this.#queue.then(() => this.#run({ id: this.#next++, text, source, baseDir }));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker (the host is shutting down). */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) await w.terminate();
  }

  #spawn(): Worker {
    const w = new Worker(this.#url, { resourceLimits: { maxOldGenerationSizeMb: 512 }, stdout: false, stderr: false });
    w.unref();
    return w;
  }

  #run(request: YamlCheckRequest): Promise<YamlCheck> {
    this.#worker ??= this.#spawn();
    const worker = this.#worker;
    return new Promise<YamlCheck>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const discard = (): void => {
        if (this.#worker === worker) this.#worker = undefined;
        void worker.terminate();
      };
      const onMessage = (reply: Reply): void => {
        if (reply.id !== request.id) return;
        done();
        if (reply.ok) resolve(reply.result);
        else reject(new CoreError(reply.error.code, reply.error.message));
      };
      const onError = (): void => {
        done();
        discard();
        reject(new CoreError('ERR_INPUT_INVALID', `${request.source} could not be checked (the checker ran out of memory or failed); a ceremony script or site file is a short YAML file. Check that this is the right file`));
      };
      const onExit = (): void => onError();
      const timer = setTimeout(() => {
        done();
        discard();
        reject(new CoreError('ERR_INPUT_INVALID', `checking ${request.source} took longer than ${Math.round(this.#timeoutMs / 100) / 10} s and was stopped; a ceremony script or site file a person can review checks in well under a second. Check that this is the right file`));
      }, this.#timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(request);
    });
  }
}
