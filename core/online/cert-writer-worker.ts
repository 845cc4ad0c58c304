/**
 * @module online/cert-writer-worker
 * Body of the certificate-record writer thread: its own SQLite connection to the online database,
 * inserting the records the main thread sends in group commits (everything that arrived while the
 * previous commit was being fsynced goes into the next one) and acknowledging each record once
 * its transaction has committed. Keeping the fsync off the main thread keeps TLS and HTTP
 * responsive while the disk syncs.
 *
 * Durability `full` (default): every commit is fsynced before its records are acknowledged.
 * Durability `batched`: commits are acknowledged once in the WAL (SQLite synchronous=NORMAL:
 * safe from corruption and from a crash of the process), and the WAL is fsynced every 100 ms, so
 * an OS crash or power loss can lose at most the last 100 ms of records (the semantics of
 * PostgreSQL's synchronous_commit=off).
 *
 * Must never: acknowledge a record before its transaction committed.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

import { serializeError } from '../errors.ts';
import { openStore } from '../store/index.ts';
import { asBuffer } from './issuance-jobs.ts';
import type { CertRecord } from './cert-store.ts';

const port = parentPort;
if (port === null) throw new TypeError('cert-writer-worker must run in a worker thread');
const data = workerData as { path: string; durability: 'full' | 'batched' };
const store = openStore(data.path);
/** How often the WAL is fsynced in `batched` mode. */
const SYNC_INTERVAL_MS = 100;
let syncTimer: NodeJS.Timeout | undefined;
let markDirty = (): void => undefined;
if (data.durability === 'batched') {
  store.db.pragma('synchronous = NORMAL');
  let dirty = false;
  syncTimer = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    try {
      const fd = openSync(`${data.path}-wal`, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // The WAL was checkpointed and truncated away: nothing left to sync.
    }
  }, SYNC_INTERVAL_MS);
  markDirty = (): void => {
    dirty = true;
  };
}
const stmt = store.db.prepare(
  'INSERT INTO online_certs (serial, issuer_id, kind, spiffe_id, entry_id, node_id, not_before, not_after, issued_at, spki_sha256, der) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
let queue: Array<{ id: number; rec: CertRecord }> = [];
let scheduled = false;

function insert(r: CertRecord): void {
  stmt.run(r.serial, r.issuerId, r.kind, r.spiffeId, r.entryId, r.nodeId, r.notBeforeMs, r.notAfterMs, r.issuedAtMs, r.spkiSha256, asBuffer(r.der));
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  try {
    store.transaction(() => {
      for (const b of batch) insert(b.rec);
    });
    markDirty();
    port?.postMessage({ type: 'committed', ids: batch.map((b) => b.id) });
  } catch {
    // Isolate the failing record(s): retry one by one.
    for (const b of batch) {
      try {
        store.transaction(() => insert(b.rec));
        markDirty();
        port?.postMessage({ type: 'committed', ids: [b.id] });
      } catch (e) {
        port?.postMessage({ type: 'failed', id: b.id, error: serializeError(e) });
      }
    }
  }
}

port.on('message', (m: { type: 'records'; items: Array<{ id: number; rec: CertRecord }> } | { type: 'close' }) => {
  if (m.type === 'close') {
    flush();
    if (syncTimer !== undefined) clearInterval(syncTimer);
    store.close();
    port.postMessage({ type: 'closed' });
    return;
  }
  for (const item of m.items) queue.push(item);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
port.postMessage({ type: 'started' });
