/**
 * @module online/nodes
 * Attested nodes: recording an attestation (the join token is spent, the node is recorded and its
 * node SVID is recorded, all in one transaction, so a token is never spent without a certificate
 * nor a certificate issued without spending the token), listing nodes, and evicting a node (its
 * node SVIDs are revoked and it may not renew until an administrator issues a new join token).
 *
 * Must never: record a node SVID whose token check failed.
 */
import { CoreError } from '../errors.ts';
import type { Database, Store } from '../store/index.ts';
import { insertCert, revoke, type CertRecord } from './cert-store.ts';
import { consumeJoinToken } from './join-tokens.ts';

/** A node as recorded. */
export interface NodeInfo {
  readonly spiffeId: string;
  readonly attestedAtMs: number;
  readonly lastSeenAtMs: number;
  readonly evictedAtMs: number | null;
}

/**
 * Spends the token, records the node and its SVID, atomically.
 * @throws {CoreError} ERR_ONLINE_TOKEN_INVALID, ERR_ONLINE_TOKEN_USED, ERR_ONLINE_TOKEN_EXPIRED, ERR_ONLINE_FORBIDDEN
 */
export function recordAttestation(store: Store, token: string, nowMs: number, cert: CertRecord): void {
  store.transaction((db) => {
    const info = consumeJoinToken(db, token, nowMs, cert.serial);
    if (info.nodeId !== cert.spiffeId) throw new CoreError('ERR_ONLINE_FORBIDDEN', 'the node SVID does not name the node the join token was created for');
    db.prepare('INSERT INTO online_nodes (spiffe_id, attested_at, last_seen_at, evicted_at) VALUES (?, ?, ?, NULL) ON CONFLICT(spiffe_id) DO UPDATE SET attested_at = excluded.attested_at, last_seen_at = excluded.last_seen_at, evicted_at = NULL').run(
      cert.spiffeId,
      nowMs,
      nowMs,
    );
    insertCert(db, cert);
  });
}

/** Every node. */
export function listNodes(db: Database): NodeInfo[] {
  return (db.prepare('SELECT * FROM online_nodes ORDER BY spiffe_id').all() as Array<{ spiffe_id: string; attested_at: number; last_seen_at: number; evicted_at: number | null }>).map((r) => ({
    spiffeId: r.spiffe_id,
    attestedAtMs: r.attested_at,
    lastSeenAtMs: r.last_seen_at,
    evictedAtMs: r.evicted_at,
  }));
}

/** IDs of evicted nodes. */
export function evictedNodes(db: Database): Set<string> {
  return new Set((db.prepare('SELECT spiffe_id FROM online_nodes WHERE evicted_at IS NOT NULL').all() as Array<{ spiffe_id: string }>).map((r) => r.spiffe_id));
}

/** Records that a node was seen (renewal, entry listing). */
export function touchNode(db: Database, nodeId: string, nowMs: number): void {
  db.prepare('UPDATE online_nodes SET last_seen_at = ? WHERE spiffe_id = ?').run(nowMs, nodeId);
}

/**
 * Evicts a node: marks it evicted and revokes its unexpired node SVIDs (reason
 * cessationOfOperation unless given).
 * @throws {CoreError} ERR_NOT_FOUND
 */
export function evictNode(store: Store, nodeId: string, nowMs: number): { revokedSerials: string[] } {
  const r = store.db.prepare('UPDATE online_nodes SET evicted_at = ? WHERE spiffe_id = ? AND evicted_at IS NULL').run(nowMs, nodeId);
  if (r.changes === 0) {
    const exists = store.db.prepare('SELECT 1 FROM online_nodes WHERE spiffe_id = ?').get(nodeId);
    if (exists === undefined) throw new CoreError('ERR_NOT_FOUND', `no attested node ${nodeId}`);
  }
  try {
    return { revokedSerials: revoke(store, { spiffeId: nodeId }, 'cessationOfOperation', nowMs).revoked.map((x) => x.serial) };
  } catch (e) {
    if (e instanceof CoreError && e.code === 'ERR_NOT_FOUND') return { revokedSerials: [] };
    throw e;
  }
}
