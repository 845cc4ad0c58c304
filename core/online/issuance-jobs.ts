/**
 * @module online/issuance-jobs
 * The issuance job protocol shared by the main thread and the worker threads: the messages, and
 * the function that runs one job against compiled templates (prepare, and sign when the worker
 * holds the intermediate's software key; in token mode the TBS goes back to the main thread,
 * which signs it in the HSM). Structured cloning turns Buffers into Uint8Arrays; `asBuffer`
 * turns them back without copying.
 *
 * Must never: throw across the thread boundary; every failure becomes a serialised CoreError.
 */
import type { KeyObject } from 'node:crypto';

import { serializeError, type SerializedError } from '../errors.ts';
import { finishSvid, prepareSvid, signTbs, signTbsOffloaded, type PreparedSvid } from './issuance.ts';
import { compileTemplate, type IssuerProfile, type SvidTemplate } from './svid-template.ts';

/** An intermediate as sent to a worker: its profile and, for software keys, the key itself. */
export interface IssuerSpec {
  readonly profile: IssuerProfile;
  readonly key?: KeyObject | undefined;
}

/** One issuance request. */
export interface IssueJob {
  readonly id: number;
  readonly issuerId: string;
  readonly csrPem: string;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly ttlSeconds: number;
  readonly nowMs: number;
}

/** The result of a job. */
export type IssueJobResult =
  | { readonly id: number; readonly ok: true; readonly der: Uint8Array; readonly serialHex: string; readonly notBeforeMs: number; readonly notAfterMs: number; readonly spkiSha256: string }
  | { readonly id: number; readonly ok: true; readonly der?: undefined; readonly tbs: Uint8Array; readonly serial: Uint8Array; readonly notBeforeMs: number; readonly notAfterMs: number; readonly spkiSha256: string }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

/** Messages to a worker. */
export type ToWorker = { readonly type: 'issuers'; readonly issuers: readonly IssuerSpec[] } | { readonly type: 'jobs'; readonly jobs: readonly IssueJob[] };

/** A Buffer view of a (possibly structured-cloned) byte array. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Compiled issuers of one thread. */
export class IssuerSet {
  readonly #templates = new Map<string, { template: SvidTemplate; key: KeyObject | undefined }>();
  readonly #offload: boolean;

  /** `offload`: verify and sign on libuv's thread pool (for the main thread when there are no workers). */
  constructor(offload = false) {
    this.#offload = offload;
  }

  /** Replaces the set. */
  set(issuers: readonly IssuerSpec[]): void {
    this.#templates.clear();
    for (const i of issuers) {
      const p = i.profile;
      const profile: IssuerProfile = { ...p, subjectDer: asBuffer(p.subjectDer), ski: asBuffer(p.ski) };
      this.#templates.set(p.id, { template: compileTemplate(profile), key: i.key });
    }
  }

  /** The template of an intermediate. */
  template(id: string): SvidTemplate | undefined {
    return this.#templates.get(id)?.template;
  }

  /** Runs one job. */
  async run(job: IssueJob): Promise<IssueJobResult> {
    try {
      const t = this.#templates.get(job.issuerId);
      if (t === undefined) return { id: job.id, ok: false, error: { code: 'ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', message: `intermediate ${job.issuerId} is not loaded; retry` } };
      const prepared: PreparedSvid = await prepareSvid(t.template, { csrPem: job.csrPem, spiffeId: job.spiffeId, dnsNames: job.dnsNames, ttlSeconds: job.ttlSeconds, nowMs: job.nowMs }, undefined, this.#offload);
      if (t.key === undefined) {
        return { id: job.id, ok: true, tbs: prepared.tbs, serial: prepared.serial, notBeforeMs: prepared.notBeforeMs, notAfterMs: prepared.notAfterMs, spkiSha256: prepared.spkiSha256 };
      }
      const signature = this.#offload ? await signTbsOffloaded(t.template, t.key, prepared.tbs) : signTbs(t.template, t.key, prepared.tbs);
      const svid = finishSvid(t.template, prepared, signature);
      return { id: job.id, ok: true, der: svid.der, serialHex: svid.serialHex, notBeforeMs: svid.notBeforeMs, notAfterMs: svid.notAfterMs, spkiSha256: svid.spkiSha256 };
    } catch (e) {
      return { id: job.id, ok: false, error: serializeError(e) };
    }
  }
}
