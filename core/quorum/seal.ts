/**
 * @module quorum/seal
 * Passphrase sealing for custodian files: scrypt (RFC 7914) turns a custodian's passphrase into a
 * 256-bit key, and AES-256-GCM (NIST SP 800-38D) seals each secret item under it with a fresh
 * 96-bit nonce and associated data that binds the item to its ceremony, quorum, custodian and
 * share index. Parameters are stated in the file and bounded on reading, so a hostile file cannot
 * make the reader allocate gigabytes, and a weak one is refused.
 *
 * Must never: keep a derived key after use, return plaintext from a failed authentication, or put
 * a passphrase, key or plaintext in an error.
 */
import { createCipheriv, createDecipheriv, scrypt as scryptCallback } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { Secret } from '../util/secret.ts';

/** scrypt cost parameters as stored in a custodian file. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/**
 * Production parameters: N = 2^17, r = 8, p = 1, i.e. 128 MiB of memory (128·N·r bytes) and about
 * 0.35 s per derivation on the reference 2-core machine (docs/quorum.md has the measurement).
 * An attacker pays the same 128 MiB per guess.
 */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/**
 * Bounds accepted when reading or writing a file. The floor (N = 2^14, 16 MiB) is the lowest cost
 * we ever accept (fast test fixtures use it); the ceiling keeps a hostile file from exhausting memory.
 */
export const SCRYPT_BOUNDS = Object.freeze({ minN: 2 ** 14, maxN: 2 ** 20, minR: 8, maxR: 32, minP: 1, maxP: 16, maxMemoryBytes: 1024 * 1024 * 1024 });

/** Length of the scrypt salt in bytes. */
export const SALT_BYTES = 16;
/** AES-GCM nonce length in bytes (the 96-bit length SP 800-38D recommends). */
export const NONCE_BYTES = 12;
/** AES-GCM tag length in bytes. */
export const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Memory scrypt needs for these parameters (128·N·r bytes, plus slack for p lanes). */
export function scryptMemory(params: ScryptParams): number {
  return 128 * params.N * params.r * (1 + params.p);
}

/**
 * Problems with scrypt parameters, as readable sentences (empty when acceptable).
 */
export function scryptParamProblems(params: ScryptParams): string[] {
  const out: string[] = [];
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || N < SCRYPT_BOUNDS.minN || N > SCRYPT_BOUNDS.maxN || (N & (N - 1)) !== 0) {
    out.push(`N must be a power of two between 2^14 and 2^20 (found ${String(N)})`);
  }
  if (!Number.isSafeInteger(r) || r < SCRYPT_BOUNDS.minR || r > SCRYPT_BOUNDS.maxR) out.push(`r must be an integer between ${SCRYPT_BOUNDS.minR} and ${SCRYPT_BOUNDS.maxR} (found ${String(r)})`);
  if (!Number.isSafeInteger(p) || p < SCRYPT_BOUNDS.minP || p > SCRYPT_BOUNDS.maxP) out.push(`p must be an integer between ${SCRYPT_BOUNDS.minP} and ${SCRYPT_BOUNDS.maxP} (found ${String(p)})`);
  if (out.length === 0 && scryptMemory(params) > SCRYPT_BOUNDS.maxMemoryBytes) out.push('N·r needs more than 1 GiB of memory');
  return out;
}

/**
 * Derives the 32-byte sealing key from a passphrase (already normalised, see quorum/passphrase)
 * with scrypt. Runs off the main thread (libuv pool) so a UI stays responsive.
 * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID when the parameters are out of bounds
 */
export async function deriveSealingKey(passphrase: Secret, salt: Uint8Array, params: ScryptParams): Promise<Secret> {
  const problems = scryptParamProblems(params);
  if (problems.length > 0) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `scrypt parameters refused: ${problems.join('; ')}`);
  if (salt.length !== SALT_BYTES) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `the scrypt salt must be ${SALT_BYTES} bytes (found ${salt.length})`);
  const key = await passphrase.use(
    (pw) =>
      new Promise<Buffer>((resolve, reject) => {
        scryptCallback(pw, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: scryptMemory(params) + 16 * 1024 * 1024 }, (err, derived) => {
          if (err === null) resolve(derived);
          else reject(new CoreError('ERR_QUORUM_PARAMS_INVALID', 'scrypt could not run with these parameters (not enough memory?)', { cause: err }));
        });
      }),
  );
  return Secret.fromBytes(key);
}

/** One AES-256-GCM sealed item: nonce and ciphertext‖tag. */
export interface SealedItem {
  nonce: Buffer;
  /** Ciphertext followed by the 16-byte tag. */
  ciphertext: Buffer;
}

/**
 * Seals `plaintext` under `key` with associated data `aad` and the given 12-byte `nonce` (fresh
 * random per item; the caller supplies randomness so this stays pure).
 */
export function sealItem(key: Secret, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): SealedItem {
  if (nonce.length !== NONCE_BYTES) throw new TypeError(`AES-GCM nonce must be ${NONCE_BYTES} bytes`);
  return key.use((k) => {
    const cipher = createCipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { nonce: Buffer.from(nonce), ciphertext: ct };
  });
}

/**
 * Opens a sealed item. Returns `undefined` when authentication fails (wrong key, or the nonce,
 * ciphertext, tag or associated data changed); never returns unauthenticated plaintext.
 * The returned plaintext is a fresh buffer owned by a {@link Secret}.
 */
export function openItem(key: Secret, aad: Uint8Array, item: SealedItem): Secret | undefined {
  if (item.nonce.length !== NONCE_BYTES || item.ciphertext.length < TAG_BYTES) return undefined;
  return key.use((k) => {
    const body = item.ciphertext.subarray(0, item.ciphertext.length - TAG_BYTES);
    const tag = item.ciphertext.subarray(item.ciphertext.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', k, item.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const out = decipher.update(body);
    try {
      const last = decipher.final();
      if (last.length === 0) return Secret.fromBytes(out);
      const joined = Buffer.concat([out, last]);
      out.fill(0);
      return Secret.fromBytes(joined);
    } catch {
      out.fill(0);
      return undefined;
    }
  });
}
