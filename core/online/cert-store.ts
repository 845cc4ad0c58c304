/**
 * @module online/cert-store
 * The record of every certificate the online CA issues (workload and node SVIDs, the server's and
 * administrators' certificates): insertion with group commit (many issuances share one
 * transaction and one fsync; a caller's promise resolves only once its record is durable, so no
 * certificate leaves the server unrecorded), revocation by serial or SPIFFE ID, status lookups for
 * OCSP and mTLS, the revoked list for CRLs, and the expiry counts for metrics.
 *
 * Must never: report a certificate as issued before its record is committed.
 */
import { close, fsync, open } from 'node:fs';
import { Worker } from 'node:worker_threads';

import type { Statement as BetterStatement } from 'better-sqlite3';

import { CoreError } from '../errors.ts';
import { normalizeSerial } from '../pki/index.ts';
import type { Database, Store } from '../store/index.ts';

/** What a certificate was issued for. */
export type CertKind = 'workload' | 'node' | 'server' | 'admin';

/** One issued certificate. */
export interface CertRecord {
  readonly serial: string;
  readonly issuerId: string;
  readonly kind: CertKind;
  readonly spiffeId: string;
  readonly entryId: string | null;
  readonly nodeId: string | null;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly issuedAtMs: number;
  readonly spkiSha256: string;
  readonly der: Buffer;
}

/** RFC 5280 §5.3.1 CRLReason codes we accept (certificateHold and removeFromCRL are not used). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
} as const;
/** A revocation reason name. */
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** Inserts one record (inside the caller's transaction). */
export function insertCert(db: Database, r: CertRecord): void {
  db.prepare(
    'INSERT INTO online_certs (serial, issuer_id, kind, spiffe_id, entry_id, node_id, not_before, not_after, issued_at, spki_sha256, der) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(r.serial, r.issuerId, r.kind, r.spiffeId, r.entryId, r.nodeId, r.notBeforeMs, r.notAfterMs, r.issuedAtMs, r.spkiSha256, r.der);
}

/**
 * Group commit of certificate records: `record()` queues a record and resolves once the
 * transaction holding it has committed. Records queued in the same turn of the event loop share
 * one transaction.
 */
export class CertRecorder implements CertSink {
  readonly #store: Store;
  #queue: Array<{ rec: CertRecord; resolve: () => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;
  #stmt: BetterStatement | undefined;
  /** Number of commits (for metrics and tests). */
  commits = 0;

  #syncTimer: NodeJS.Timeout | undefined;

  /**
   * `batched`: the connection commits without fsync (SQLite synchronous=NORMAL in WAL mode: safe
   * from corruption and process crashes) and the WAL is fsynced every 100 ms on libuv's thread
   * pool, so an OS crash or power loss loses at most the last 100 ms of records. This keeps the
   * whole issuance path on two threads (main and one worker).
   */
  constructor(store: Store, durability: 'full' | 'batched' = 'full') {
    this.#store = store;
    if (durability === 'batched' && store.path !== ':memory:') {
      store.db.pragma('synchronous = NORMAL');
      let dirty = false;
      let syncing = false;
      this.#markDirty = (): void => {
        dirty = true;
      };
      this.#syncTimer = setInterval(() => {
        if (!dirty || syncing) return;
        dirty = false;
        syncing = true;
        open(`${store.path}-wal`, 'r', (err, fd) => {
          if (err !== null) {
            syncing = false;
            return;
          }
          fsync(fd, () => close(fd, () => (syncing = false)));
        });
      }, 100);
      this.#syncTimer.unref();
    }
  }

  #markDirty = (): void => undefined;

  /** Queues `rec`; resolves when it is committed. */
  record(rec: CertRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ rec, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.flush();
    if (this.#syncTimer !== undefined) clearInterval(this.#syncTimer);
  }

  /** Commits everything queued now. */
  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    this.#stmt ??= this.#store.db.prepare(
      'INSERT INTO online_certs (serial, issuer_id, kind, spiffe_id, entry_id, node_id, not_before, not_after, issued_at, spki_sha256, der) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const stmt = this.#stmt;
    const insert = (r: CertRecord): void => {
      stmt.run(r.serial, r.issuerId, r.kind, r.spiffeId, r.entryId, r.nodeId, r.notBeforeMs, r.notAfterMs, r.issuedAtMs, r.spkiSha256, r.der);
    };
    try {
      this.#store.transaction(() => {
        for (const b of batch) insert(b.rec);
      });
      this.#markDirty();
      this.commits++;
      for (const b of batch) b.resolve();
    } catch {
      // One bad record (e.g. a serial collision) must not fail the others: retry one by one.
      for (const b of batch) {
        try {
          this.#store.transaction(() => insert(b.rec));
          this.#markDirty();
          this.commits++;
          b.resolve();
        } catch (e) {
          b.reject(new CoreError('ERR_STORE_FAILED', `the certificate ${b.rec.serial} could not be recorded, so it was not issued`, { cause: e }));
        }
      }
    }
  }
}

/** Something that durably records certificates. */
export interface CertSink {
  /** Resolves once `rec` is committed. */
  record(rec: CertRecord): Promise<void>;
  /** Commits or drains what is pending and releases resources. */
  close(): Promise<void>;
}

/**
 * Group commit on a dedicated writer thread with its own connection, so the fsync of each commit
 * never blocks the main thread's event loop. Falls back to {@link CertRecorder} for in-memory
 * databases.
 */
export class ThreadedCertRecorder implements CertSink {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  #outbox: Array<{ id: number; rec: Omit<CertRecord, 'der'> & { der: Uint8Array } }> = [];
  #next = 1;
  #closed = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (m: { type: 'committed'; ids: number[] } | { type: 'failed'; id: number; error: { code: string; message: string } } | { type: 'started' } | { type: 'closed' }) => {
      if (m.type === 'committed') {
        for (const id of m.ids) {
          this.#pending.get(id)?.resolve();
          this.#pending.delete(id);
        }
      } else if (m.type === 'failed') {
        this.#pending.get(m.id)?.reject(new CoreError('ERR_STORE_FAILED', 'the certificate could not be recorded, so it was not issued'));
        this.#pending.delete(m.id);
      }
    });
    worker.on('exit', () => {
      for (const p of this.#pending.values()) p.reject(new CoreError('ERR_ONLINE_UNAVAILABLE', 'the certificate writer stopped; the certificate was not issued'));
      this.#pending.clear();
    });
  }

  /** Starts the writer thread on the database file at `path` (see cert-writer-worker.ts for `durability`). */
  static start(path: string, durability: 'full' | 'batched' = 'full'): Promise<ThreadedCertRecorder> {
    return new Promise((resolve, reject) => {
      // A small young generation: the writer allocates little, and every MB counts in the server's RSS.
      const worker = new Worker(new URL('./cert-writer-worker.cjs', import.meta.url), { workerData: { path, durability }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      const onError = (e: unknown): void => reject(new CoreError('ERR_STORE_OPEN_FAILED', 'the certificate writer thread could not start', { cause: e }));
      worker.once('error', onError);
      worker.once('message', (m: { type: string }) => {
        if (m.type === 'started') {
          worker.off('error', onError);
          resolve(new ThreadedCertRecorder(worker));
        }
      });
    });
  }

  record(rec: CertRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new CoreError('ERR_ONLINE_UNAVAILABLE', 'the server is shutting down'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // An exact-size copy: a Buffer may be a slice of Node's shared pool, and cloning a view
      // copies its whole backing store. Records of one turn of the event loop travel together.
      this.#outbox.push({ id, rec: { ...rec, der: new Uint8Array(rec.der) } });
      if (this.#outbox.length === 1) {
        setImmediate(() => {
          const items = this.#outbox;
          this.#outbox = [];
          if (items.length > 0) this.#worker.postMessage({ type: 'records', items });
        });
      }
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 10_000);
      this.#worker.on('message', (m: { type: string }) => {
        if (m.type === 'closed') {
          clearTimeout(t);
          resolve();
        }
      });
      this.#worker.postMessage({ type: 'close' });
    });
    await this.#worker.terminate();
  }
}

/** Revocation status of one certificate. */
export interface CertStatus {
  readonly serial: string;
  readonly issuerId: string;
  readonly kind: CertKind;
  readonly spiffeId: string;
  readonly notAfterMs: number;
  readonly revokedAtMs: number | null;
  readonly reason: number | null;
}

/** The status of `serial` (lower-case hex), or undefined when we never issued it. */
export function certStatus(db: Database, serial: string): CertStatus | undefined {
  const r = db.prepare('SELECT serial, issuer_id, kind, spiffe_id, not_after, revoked_at, revocation_reason FROM online_certs WHERE serial = ?').get(serial) as
    | { serial: string; issuer_id: string; kind: CertKind; spiffe_id: string; not_after: number; revoked_at: number | null; revocation_reason: number | null }
    | undefined;
  if (r === undefined) return undefined;
  return { serial: r.serial, issuerId: r.issuer_id, kind: r.kind, spiffeId: r.spiffe_id, notAfterMs: r.not_after, revokedAtMs: r.revoked_at, reason: r.revocation_reason };
}

/** What to revoke. */
export type RevokeTarget = { serial: string } | { spiffeId: string };

/** Outcome of a revocation. */
export interface RevokeResult {
  readonly revoked: Array<{ serial: string; spiffeId: string; issuerId: string }>;
  readonly alreadyRevoked: string[];
  readonly expired: string[];
}

/**
 * Normalises a serial given by a person or a tool (`01:AB…`, `0x01ab…`, upper case) to the stored
 * form (core/pki's: lower-case hex octets without sign padding).
 * @throws {CoreError} ERR_INPUT_INVALID
 */
export function normaliseSerial(text: string): string {
  return normalizeSerial(text);
}

/**
 * Revokes a certificate by serial, or every unexpired certificate of a SPIFFE ID. Idempotent:
 * already revoked certificates are reported, not changed.
 * @throws {CoreError} ERR_NOT_FOUND when nothing matches, ERR_INPUT_INVALID
 */
export function revoke(store: Store, target: RevokeTarget, reason: RevocationReason, nowMs: number): RevokeResult {
  const code = REVOCATION_REASONS[reason];
  if (code === undefined) throw new CoreError('ERR_INPUT_INVALID', `unknown revocation reason '${String(reason)}'; use one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
  return store.transaction((db) => {
    const rows = (
      'serial' in target
        ? db.prepare('SELECT serial, spiffe_id, issuer_id, not_after, revoked_at FROM online_certs WHERE serial = ?').all(normaliseSerial(target.serial))
        : db.prepare('SELECT serial, spiffe_id, issuer_id, not_after, revoked_at FROM online_certs WHERE spiffe_id = ?').all(target.spiffeId)
    ) as Array<{ serial: string; spiffe_id: string; issuer_id: string; not_after: number; revoked_at: number | null }>;
    if (rows.length === 0) {
      throw new CoreError('ERR_NOT_FOUND', 'serial' in target ? `no certificate with serial ${target.serial} was issued by this CA` : `no certificate was issued to ${target.spiffeId}`);
    }
    const out: RevokeResult = { revoked: [], alreadyRevoked: [], expired: [] };
    const upd = db.prepare('UPDATE online_certs SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL');
    for (const r of rows) {
      if (r.revoked_at !== null) out.alreadyRevoked.push(r.serial);
      else if (r.not_after <= nowMs && !('serial' in target)) out.expired.push(r.serial);
      else {
        upd.run(nowMs, code, r.serial);
        out.revoked.push({ serial: r.serial, spiffeId: r.spiffe_id, issuerId: r.issuer_id });
      }
    }
    return out;
  });
}

/** Unexpired revoked certificates of an intermediate (for its CRL), oldest revocation first. */
export function revokedForIssuer(db: Database, issuerId: string, nowMs: number): Array<{ serial: string; revokedAtMs: number; reason: number }> {
  return (
    db.prepare('SELECT serial, revoked_at, revocation_reason FROM online_certs WHERE issuer_id = ? AND revoked_at IS NOT NULL AND not_after > ? ORDER BY revoked_at, serial').all(issuerId, nowMs) as Array<{
      serial: string;
      revoked_at: number;
      revocation_reason: number;
    }>
  ).map((r) => ({ serial: r.serial, revokedAtMs: r.revoked_at, reason: r.revocation_reason }));
}

/** Serials of unexpired revoked certificates (the server keeps them in memory for mTLS checks). */
export function revokedSerials(db: Database, nowMs: number): Set<string> {
  // INDEXED BY: the planner would otherwise walk every unexpired certificate by not_after.
  return new Set((db.prepare('SELECT serial FROM online_certs INDEXED BY online_certs_revoked WHERE revoked_at IS NOT NULL AND not_after > ?').all(nowMs) as Array<{ serial: string }>).map((r) => r.serial));
}

/** The newest unrevoked, unexpired notAfter of every workload and node identity. */
export function latestNotAfters(db: Database, nowMs: number): Map<string, number> {
  const rows = db.prepare("SELECT spiffe_id, MAX(not_after) AS latest FROM online_certs WHERE revoked_at IS NULL AND not_after > ? AND kind IN ('workload', 'node') GROUP BY spiffe_id").all(nowMs) as Array<{ spiffe_id: string; latest: number }>;
  return new Map(rows.map((r) => [r.spiffe_id, r.latest]));
}

/** How many of `latest` expire within each horizon (and have not expired yet). */
export function countExpiring(latest: ReadonlyMap<string, number>, nowMs: number, horizonsMs: readonly number[]): number[] {
  return horizonsMs.map((h) => {
    let n = 0;
    for (const t of latest.values()) if (t > nowMs && t <= nowMs + h) n++;
    return n;
  });
}

/**
 * Identities whose newest unrevoked certificate expires within each horizon (and has not
 * expired yet): the signal that an agent is not renewing.
 */
export function expiringIdentities(db: Database, nowMs: number, horizonsMs: readonly number[]): number[] {
  return countExpiring(latestNotAfters(db, nowMs), nowMs, horizonsMs);
}

/** Issued certificates, newest first, optionally for one SPIFFE ID. */
export function listCerts(db: Database, filter: { spiffeId?: string; limit?: number } = {}): Array<Omit<CertRecord, 'der'> & { revokedAtMs: number | null; reason: number | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 10_000);
  const rows = (
    filter.spiffeId === undefined
      ? db.prepare('SELECT * FROM online_certs ORDER BY issued_at DESC LIMIT ?').all(limit)
      : db.prepare('SELECT * FROM online_certs WHERE spiffe_id = ? ORDER BY issued_at DESC LIMIT ?').all(filter.spiffeId, limit)
  ) as Array<{
    serial: string;
    issuer_id: string;
    kind: CertKind;
    spiffe_id: string;
    entry_id: string | null;
    node_id: string | null;
    not_before: number;
    not_after: number;
    issued_at: number;
    spki_sha256: string;
    revoked_at: number | null;
    revocation_reason: number | null;
  }>;
  return rows.map((r) => ({
    serial: r.serial,
    issuerId: r.issuer_id,
    kind: r.kind,
    spiffeId: r.spiffe_id,
    entryId: r.entry_id,
    nodeId: r.node_id,
    notBeforeMs: r.not_before,
    notAfterMs: r.not_after,
    issuedAtMs: r.issued_at,
    spkiSha256: r.spki_sha256,
    revokedAtMs: r.revoked_at,
    reason: r.revocation_reason,
  }));
}

/** Counts for status: issued in the last 24 h, unexpired, revoked and unexpired. */
export function certCounts(db: Database, nowMs: number): { issuedLast24h: number; valid: number; revokedUnexpired: number } {
  const one = (sql: string, ...a: number[]): number => (db.prepare(sql).get(...a) as { n: number }).n;
  return {
    issuedLast24h: one('SELECT COUNT(*) AS n FROM online_certs WHERE issued_at > ?', nowMs - 86_400_000),
    valid: one('SELECT COUNT(*) AS n FROM online_certs WHERE not_after > ? AND revoked_at IS NULL', nowMs),
    revokedUnexpired: one('SELECT COUNT(*) AS n FROM online_certs WHERE not_after > ? AND revoked_at IS NOT NULL', nowMs),
  };
}
