/**
 * @module online/key-seal
 * Software intermediate keys sealed at rest: the PKCS#8 private key is encrypted with AES-256-GCM
 * under a key-encryption key (KEK) that lives in the online token (sensitive, never extractable),
 * with additional data binding the ciphertext to the intermediate's id and public key, so a
 * sealed key cannot be swapped between records. Unsealing happens only in memory, when the server
 * starts; the plaintext buffer is zeroed as soon as the key object exists.
 *
 * Must never: write, log or return plaintext key bytes; keep a plaintext buffer after use.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { HsmSession, KeyRef } from '../hsm/types.ts';

/** Default label of the online KEK in the token. */
export const DEFAULT_KEK_LABEL = 'neam-ca-online-kek';

/** A sealed private key. */
export interface SealedKey {
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
}

/** The additional authenticated data for intermediate `id` with public key `spki`. */
export function sealAad(id: string, spki: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`neam-ca/online/intermediate-key/v1\0${id}\0`, 'utf8'), createHash('sha256').update(spki).digest()]);
}

/**
 * Finds the KEK by label, or generates it (AES-256, sensitive, not extractable) when `create`.
 * @throws {CoreError} ERR_HSM_OBJECT_NOT_FOUND, ERR_HSM_OBJECT_AMBIGUOUS and other HSM codes
 */
export function findOrCreateKek(session: HsmSession, label: string, create: boolean): KeyRef {
  const found = session.findKeys({ label, class: 'secret' });
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length > 1) throw new CoreError('ERR_HSM_OBJECT_AMBIGUOUS', `the token holds ${found.length} secret keys labelled '${label}'; keep exactly one KEK`);
  if (!create) {
    throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `the key-encryption key '${label}' is not on token '${session.token.label}'; the sealed intermediate keys cannot be opened without it (is this the right token?)`);
  }
  return session.generateAesKey(256, { label });
}

/**
 * Seals a software private key under the KEK. The DER buffer is zeroed afterwards.
 * @throws {CoreError} HSM codes
 */
export function sealPrivateKey(session: HsmSession, kek: KeyRef, key: KeyObject, aad: Buffer): SealedKey {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  try {
    const iv = session.random(12);
    const ciphertext = session.encryptAesGcm(kek, iv, aad, pkcs8);
    return { iv, ciphertext };
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * Unseals a private key and checks it matches `spki`.
 * @throws {CoreError} ERR_ONLINE_INTERMEDIATE_INVALID when the ciphertext does not open or the key does not match
 */
export function unsealPrivateKey(session: HsmSession, kek: KeyRef, sealed: SealedKey, aad: Buffer, spki: Buffer, what: string): KeyObject {
  let plain: Buffer | undefined;
  try {
    plain = session.decryptAesGcm(kek, sealed.iv, aad, sealed.ciphertext);
  } catch (e) {
    throw new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', `the sealed key of ${what} does not open with the token's key-encryption key (wrong token, or the database was altered)`, { cause: e });
  }
  try {
    const key = createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' });
    const pub = createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!pub.equals(spki)) throw new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', `the sealed key of ${what} does not match its recorded public key`);
    return key;
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', `the sealed key of ${what} is not a valid private key`, { cause: e });
  } finally {
    plain.fill(0);
  }
}
