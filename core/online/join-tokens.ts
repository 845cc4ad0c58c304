/**
 * @module online/join-tokens
 * Join tokens for node attestation: 256-bit random, single use, expiring, bound to the node ID the
 * agent will receive. Only the SHA-256 of a token is stored (a token has full entropy, so a plain
 * hash is enough: nothing to brute-force); the token itself is shown once, to the administrator
 * who created it. Consumption happens inside the attestation transaction, so a token is spent
 * exactly when a node SVID is recorded.
 *
 * Must never: store, log or return a token after creating it; accept a used or expired token.
 */
import { createHash, randomBytes } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { Database, Store } from '../store/index.ts';
import { Secret } from '../util/secret.ts';

/** Token prefix (version 1). */
export const TOKEN_PREFIX = 'neamjt1_';
const TOKEN_RE = /^neamjt1_[A-Za-z0-9_-]{43}$/u;
/** Default token lifetime (seconds). */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** Largest token lifetime (seconds). */
export const MAX_TOKEN_TTL_SECONDS = 7 * 86_400;

/** A stored token (no plaintext). */
export interface JoinTokenInfo {
  readonly hash: string;
  readonly nodeId: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly usedAtMs: number | null;
  readonly usedBySerial: string | null;
}

/** The SHA-256 (hex) under which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Creates a token for `nodeId` (already validated).
 * @throws {CoreError} ERR_INPUT_INVALID for a TTL out of range
 */
export function createJoinToken(store: Store, nodeId: string, ttlSeconds: number, nowMs: number, random: (n: number) => Buffer = randomBytes): { token: Secret; nodeId: string; expiresAtMs: number; hash: string } {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > MAX_TOKEN_TTL_SECONDS) {
    throw new CoreError('ERR_INPUT_INVALID', `a join token lives between 60 seconds and ${MAX_TOKEN_TTL_SECONDS / 86_400} days (got ${ttlSeconds} s)`);
  }
  const text = `${TOKEN_PREFIX}${random(32).toString('base64url')}`;
  const hash = hashToken(text);
  const expiresAtMs = nowMs + ttlSeconds * 1000;
  store.transaction((db) => db.prepare('INSERT INTO online_join_tokens (hash, node_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hash, nodeId, nowMs, expiresAtMs));
  return { token: Secret.fromString(text), nodeId, expiresAtMs, hash };
}

/**
 * Checks that a token exists, is unused and unexpired, and returns its record (read only).
 * @throws {CoreError} ERR_ONLINE_TOKEN_INVALID, ERR_ONLINE_TOKEN_USED, ERR_ONLINE_TOKEN_EXPIRED
 */
export function checkJoinToken(db: Database, token: string, nowMs: number): JoinTokenInfo {
  if (typeof token !== 'string' || !TOKEN_RE.test(token)) throw new CoreError('ERR_ONLINE_TOKEN_INVALID', 'the join token is not in the expected format; use the token printed by `neam-ca token create`');
  const r = db.prepare('SELECT * FROM online_join_tokens WHERE hash = ?').get(hashToken(token)) as
    | { hash: string; node_id: string; created_at: number; expires_at: number; used_at: number | null; used_by_serial: string | null }
    | undefined;
  if (r === undefined) throw new CoreError('ERR_ONLINE_TOKEN_INVALID', 'the join token is not known to this CA; ask an administrator for a new one');
  if (r.used_at !== null) throw new CoreError('ERR_ONLINE_TOKEN_USED', 'the join token was already used; tokens are single-use, ask an administrator for a new one');
  if (r.expires_at <= nowMs) throw new CoreError('ERR_ONLINE_TOKEN_EXPIRED', `the join token expired at ${new Date(r.expires_at).toISOString()}; ask an administrator for a new one`);
  return { hash: r.hash, nodeId: r.node_id, createdAtMs: r.created_at, expiresAtMs: r.expires_at, usedAtMs: r.used_at, usedBySerial: r.used_by_serial };
}

/**
 * Spends a token inside the caller's transaction (re-checking it, so two concurrent attestations
 * cannot both succeed).
 * @throws {CoreError} as {@link checkJoinToken}
 */
export function consumeJoinToken(db: Database, token: string, nowMs: number, serial: string): JoinTokenInfo {
  const info = checkJoinToken(db, token, nowMs);
  const r = db.prepare('UPDATE online_join_tokens SET used_at = ?, used_by_serial = ? WHERE hash = ? AND used_at IS NULL').run(nowMs, serial, info.hash);
  if (r.changes !== 1) throw new CoreError('ERR_ONLINE_TOKEN_USED', 'the join token was already used; tokens are single-use, ask an administrator for a new one');
  return info;
}

/** Tokens (hashes only), newest first. */
export function listJoinTokens(db: Database): JoinTokenInfo[] {
  return (
    db.prepare('SELECT * FROM online_join_tokens ORDER BY created_at DESC').all() as Array<{ hash: string; node_id: string; created_at: number; expires_at: number; used_at: number | null; used_by_serial: string | null }>
  ).map((r) => ({ hash: r.hash, nodeId: r.node_id, createdAtMs: r.created_at, expiresAtMs: r.expires_at, usedAtMs: r.used_at, usedBySerial: r.used_by_serial }));
}
