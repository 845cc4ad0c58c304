/**
 * @module quorum/shares
 * The activation secret and its shares: splitting and combining with the audited
 * `shamir-secret-sharing` library (GF(2^8), one x-coordinate byte appended to each share), the
 * commitments that let anyone check a share or the rebuilt secret without learning it, and the
 * PIN text the token receives.
 *
 * Commitments are HMAC-SHA256 keyed with the secret value over a canonical (RFC 8785) context, so a
 * commitment from one ceremony or quorum generation never matches another's. The secret and each
 * share carry at least 256 bits of entropy, so a commitment cannot be inverted by guessing. The
 * token's user PIN and security officer's PIN are both derived from the one secret (HKDF-SHA256
 * under distinct labels), so M custodians govern both and nobody else knows either.
 *
 * Must never: implement Shamir's scheme itself, keep an unwiped copy of a share or the secret, or
 * return the secret in any form other than a {@link Secret}.
 */
import { createHmac, hkdfSync } from 'node:crypto';

import { combine, split } from 'shamir-secret-sharing';

import { CoreError } from '../errors.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { constantTimeEqual, Secret } from '../util/secret.ts';

/** Length of the activation secret in bytes (256 bits). */
export const ACTIVATION_SECRET_BYTES = 32;
/** Length of one share: the secret's length plus the x-coordinate byte. */
export const SHARE_BYTES = ACTIVATION_SECRET_BYTES + 1;
/** Largest number of custodians a quorum may have (the library allows 255; people do not). */
export const MAX_CUSTODIANS = 32;

/** Context a share commitment is bound to. */
export interface ShareContext {
  ceremony: string;
  quorumId: string;
  custodian: string;
  shareIndex: number;
}

/** Copies into a plain Uint8Array (the library refuses Buffer subclasses) and runs `fn`, then wipes the copies. */
function withPlainCopies<T>(secrets: readonly Secret[], fn: (copies: Uint8Array[]) => Promise<T>): Promise<T> {
  const copies = secrets.map((s) => s.use((b) => new Uint8Array(b)));
  return fn(copies).finally(() => {
    for (const c of copies) c.fill(0);
  });
}

/**
 * Splits `secret` into `total` shares of which any `threshold` rebuild it.
 * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID when 2 ≤ threshold ≤ total ≤ 32 does not hold
 */
export async function splitSecret(secret: Secret, total: number, threshold: number): Promise<Secret[]> {
  if (!Number.isInteger(threshold) || !Number.isInteger(total) || threshold < 2 || threshold > total || total > MAX_CUSTODIANS) {
    throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `a quorum needs 2 ≤ M ≤ N ≤ ${MAX_CUSTODIANS} (got M=${String(threshold)}, N=${String(total)})`, { details: { threshold, total } });
  }
  const shares = await withPlainCopies([secret], ([plain]) => split(plain as Uint8Array, total, threshold));
  return shares.map((s) => Secret.fromBytes(Buffer.from(s.buffer, s.byteOffset, s.byteLength)));
}

/**
 * Rebuilds the secret from shares (any `threshold` or more of one split). Shares with a repeated
 * x-coordinate are refused; shares from different splits give a wrong value, which the caller
 * detects with {@link verifyActivationCommitment}.
 * @throws {CoreError} ERR_QUORUM_SHARE_DUPLICATE, ERR_QUORUM_NOT_MET (fewer than 2 shares)
 */
export async function combineShares(shares: readonly Secret[]): Promise<Secret> {
  if (shares.length < 2) throw new CoreError('ERR_QUORUM_NOT_MET', 'at least two shares are needed to rebuild the activation secret');
  const xs = new Set(shares.map(shareX));
  if (xs.size !== shares.length) throw new CoreError('ERR_QUORUM_SHARE_DUPLICATE', 'two of the shares are the same share; each custodian\'s share may be entered once');
  const out = await withPlainCopies(shares, (copies) => combine(copies));
  return Secret.fromBytes(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
}

/** The x-coordinate of a share (its last byte; 1..255, distinct within one split). */
export function shareX(share: Secret): number {
  return share.use((b) => b[b.length - 1] ?? 0);
}

/** HMAC-SHA256(key, JCS(context)) in hex. */
function commit(key: Secret, context: Record<string, unknown>): string {
  return key.use((k) => createHmac('sha256', k).update(canonicalJsonBytes(context)).digest('hex'));
}

/** The commitment to an activation secret, published in the roster and every custodian file. */
export function activationCommitment(secret: Secret, ceremony: string, quorumId: string): string {
  return commit(secret, { purpose: 'neam-ca/quorum/activation-commitment/v1', ceremony, quorumId });
}

/** The commitment to one custodian's share, published in the roster. */
export function shareCommitment(share: Secret, ctx: ShareContext): string {
  return commit(share, { purpose: 'neam-ca/quorum/share-commitment/v1', ceremony: ctx.ceremony, quorumId: ctx.quorumId, custodian: ctx.custodian, shareIndex: ctx.shareIndex });
}

/** Constant-time comparison of two hex commitments. */
export function commitmentsEqual(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** True when `secret` matches the published commitment. */
export function verifyActivationCommitment(secret: Secret, ceremony: string, quorumId: string, expected: string): boolean {
  return commitmentsEqual(activationCommitment(secret, ceremony, quorumId), expected);
}

/**
 * The token user PIN of a roster without a `derivation` (the first version of the format): the
 * unpadded base64url text (RFC 4648 §5) of the secret's 32 bytes, 43 ASCII characters. Rosters
 * made now derive both token PINs with {@link deriveTokenPin}. Returned as a new {@link Secret};
 * the caller wipes it after login.
 */
export function activationPin(secret: Secret): Secret {
  // Encoded by hand into a buffer we own, so no unwipeable JS string of the PIN is created here.
  return Secret.fromBytes(secret.use((b) => base64urlBytes(b)));
}

/** The token users whose PIN the activation secret can govern. */
export type TokenPinRole = 'user' | 'so';

/** HKDF `info` label of each token PIN (docs/quorum.md). */
export const TOKEN_PIN_LABELS: Readonly<Record<TokenPinRole, string>> = {
  user: 'neam-ca/quorum/token-pin/v1/user',
  so: 'neam-ca/quorum/token-pin/v1/so',
};

/**
 * A token PIN derived from the activation secret: HKDF-SHA256 (RFC 5869) with IKM = the 32-byte
 * secret, an empty salt, info = the UTF-8 label of the role ({@link TOKEN_PIN_LABELS}), 32 bytes
 * of output, encoded as unpadded base64url (43 ASCII characters). The user PIN and the security
 * officer's PIN are independent: knowing one (e.g. from a PIN-logging driver) reveals neither the
 * other nor the secret. Returned as a new {@link Secret}; the caller wipes it.
 */
export function deriveTokenPin(secret: Secret, role: TokenPinRole): Secret {
  const okm = Buffer.from(secret.use((ikm) => hkdfSync('sha256', ikm, Buffer.alloc(0), Buffer.from(TOKEN_PIN_LABELS[role], 'utf8'), 32)));
  try {
    return Secret.fromBytes(base64urlBytes(okm));
  } finally {
    okm.fill(0);
  }
}

/** How a roster turns the secret into token PINs (its `pin` member). */
export interface PinSpec {
  encoding: 'base64url';
  secretBytes: 32;
  derivation?: 'hkdf-sha256';
  pins?: readonly TokenPinRole[];
}

/** True when the roster's secret also governs the security officer's PIN. */
export function governsSoPin(spec: PinSpec): boolean {
  return spec.derivation === 'hkdf-sha256' && (spec.pins ?? []).includes('so');
}

/**
 * The token PINs an activation secret stands for under a roster's pin spec: the user PIN always,
 * the SO PIN when the roster governs it. The caller wipes both.
 */
export function tokenPinsFor(secret: Secret, spec: PinSpec): { user: Secret; so?: Secret } {
  if (spec.derivation === undefined) return { user: activationPin(secret) };
  const user = deriveTokenPin(secret, 'user');
  return governsSoPin(spec) ? { user, so: deriveTokenPin(secret, 'so') } : { user };
}

const B64URL = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', 'ascii');

/** Unpadded base64url (RFC 4648 §5) of `data`, as ASCII bytes. */
export function base64urlBytes(data: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil((data.length * 4) / 3));
  let o = 0;
  for (let i = 0; i < data.length; i += 3) {
    const b0 = data[i] as number;
    const b1 = i + 1 < data.length ? (data[i + 1] as number) : 0;
    const b2 = i + 2 < data.length ? (data[i + 2] as number) : 0;
    const n = (b0 << 16) | (b1 << 8) | b2;
    out[o++] = B64URL[(n >> 18) & 63] as number;
    out[o++] = B64URL[(n >> 12) & 63] as number;
    if (i + 1 < data.length) out[o++] = B64URL[(n >> 6) & 63] as number;
    if (i + 2 < data.length) out[o++] = B64URL[n & 63] as number;
  }
  return out.subarray(0, o);
}

/** Every `k`-subset of `0..n-1`, in lexicographic order (used to prove every quorum rebuilds the secret). */
export function* subsets(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  if (k > n || k <= 0) return;
  for (;;) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i] = (idx[i] as number) + 1;
    for (let j = i + 1; j < k; j++) idx[j] = (idx[j - 1] as number) + 1;
  }
}

/** Number of k-subsets of n (small n only). */
export function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}
