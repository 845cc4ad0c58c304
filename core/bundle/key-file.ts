/**
 * @module bundle/key-file
 * The passphrase-encrypted key file of an online transfer key (when it does not live in a token):
 * a JSON envelope `neam-transfer-key/1` holding the PKCS#8 DER encrypted with AES-256-GCM under a
 * key derived from the passphrase with scrypt (N=2^17, r=8, p=1 by default; files below N=2^15
 * are refused). The header (format, KDF parameters, IV, SPKI hash) is authenticated as AAD, so a
 * weakened KDF or swapped key is detected. Files are created exclusively with mode 0600.
 *
 * Must never: write the key unencrypted, keep the decrypted PKCS#8 or derived key after use, or
 * put the passphrase or key in an error.
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { CoreError } from '../errors.ts';
import { softwareSigner, type Signer } from '../crypto/signer.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import type { Secret } from '../util/secret.ts';

/** Envelope format name. */
export const KEY_FILE_FORMAT = 'neam-transfer-key/1';
/** Default scrypt cost (OWASP: N=2^17, r=8, p=1). */
export const DEFAULT_SCRYPT = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
/** Weakest scrypt cost a key file may use. */
export const MIN_SCRYPT_N = 2 ** 15;
/** Shortest passphrase accepted for a new key file. */
export const MIN_PASSPHRASE_LENGTH = 12;
const MAX_KEY_FILE = 16 * 1024;

interface Envelope {
  format: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  iv: string;
  spkiSha256: string;
  ciphertext: string;
  tag: string;
}

function header(e: Omit<Envelope, 'ciphertext' | 'tag'>): Buffer {
  return canonicalJsonBytes({ format: e.format, kdf: e.kdf, cipher: e.cipher, iv: e.iv, spkiSha256: e.spkiSha256 });
}

function derive(passphrase: Secret, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return passphrase.use((p) => scryptSync(p, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 }));
}

/**
 * Encrypts `privateKey` under `passphrase` and creates `path` (mode 0600, never overwriting).
 * @throws {CoreError} ERR_SECRET_INVALID (passphrase too short), ERR_ALREADY_EXISTS, ERR_IO
 */
export function writeEncryptedKeyFile(path: string, privateKey: KeyObject, passphrase: Secret, kdf: { N: number; r: number; p: number } = DEFAULT_SCRYPT): void {
  if (passphrase.use((b) => b.toString('utf8').length) < MIN_PASSPHRASE_LENGTH) {
    throw new CoreError('ERR_SECRET_INVALID', `the key file passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  if (kdf.N < MIN_SCRYPT_N) throw new TypeError(`scrypt N must be at least ${MIN_SCRYPT_N}`);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const base = {
    format: KEY_FILE_FORMAT,
    kdf: { name: 'scrypt' as const, N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm' as const,
    iv: iv.toString('base64'),
    spkiSha256: createHash('sha256').update(spki).digest('hex'),
  };
  const key = derive(passphrase, salt, kdf);
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(header(base));
    const ciphertext = Buffer.concat([c.update(pkcs8), c.final()]);
    const envelope: Envelope = { ...base, ciphertext: ciphertext.toString('base64'), tag: c.getAuthTag().toString('base64') };
    writeFileExclusive(path, `${JSON.stringify(envelope, null, 2)}\n`, 0o600);
  } finally {
    key.fill(0);
    pkcs8.fill(0);
  }
}

/**
 * Opens a key file and returns an ECDSA-SHA256 signer for its key.
 * @throws {CoreError} ERR_IO, ERR_SECRET_INVALID (wrong passphrase, damaged or weak file, loose permissions)
 */
export function loadKeyFileSigner(path: string, passphrase: Secret): Signer {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CoreError('ERR_IO', `cannot read the transfer key file ${path}`, { cause: e, details: { path } });
  }
  if (!st.isFile() || st.size > MAX_KEY_FILE) throw new CoreError('ERR_SECRET_INVALID', `${path} is not a transfer key file`, { details: { path } });
  if ((st.mode & 0o077) !== 0) throw new CoreError('ERR_SECRET_INVALID', `the transfer key file ${path} is readable by other users; run 'chmod 600 ${path}'`, { details: { path } });
  let e: Envelope;
  try {
    e = JSON.parse(readFileSync(path, 'utf8')) as Envelope;
  } catch (err) {
    throw new CoreError('ERR_SECRET_INVALID', `${path} is not a transfer key file (not JSON)`, { cause: err, details: { path } });
  }
  if (e.format !== KEY_FILE_FORMAT || e.kdf?.name !== 'scrypt' || e.cipher !== 'aes-256-gcm' || typeof e.kdf.salt !== 'string' || typeof e.iv !== 'string') {
    throw new CoreError('ERR_SECRET_INVALID', `${path} is not a ${KEY_FILE_FORMAT} key file`, { details: { path } });
  }
  if (!Number.isSafeInteger(e.kdf.N) || e.kdf.N < MIN_SCRYPT_N || e.kdf.N > 2 ** 22 || e.kdf.r !== 8 || e.kdf.p < 1 || e.kdf.p > 4) {
    throw new CoreError('ERR_SECRET_INVALID', `${path} uses scrypt parameters outside the accepted range (N ≥ ${MIN_SCRYPT_N}, r = 8)`, { details: { path } });
  }
  const key = derive(passphrase, Buffer.from(e.kdf.salt, 'base64'), e.kdf);
  let pkcs8: Buffer | undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(e.iv, 'base64'));
    d.setAAD(header(e));
    d.setAuthTag(Buffer.from(e.tag, 'base64'));
    pkcs8 = Buffer.concat([d.update(Buffer.from(e.ciphertext, 'base64')), d.final()]);
  } catch {
    throw new CoreError('ERR_SECRET_INVALID', `the passphrase is wrong or the key file ${path} was changed`, { details: { path } });
  } finally {
    key.fill(0);
  }
  try {
    const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const signer = softwareSigner(privateKey, 'ECDSA-SHA256');
    if (createHash('sha256').update(signer.spki).digest('hex') !== e.spkiSha256) throw new CoreError('ERR_SECRET_INVALID', `the key in ${path} does not match its header`, { details: { path } });
    return signer;
  } finally {
    pkcs8.fill(0);
  }
}
