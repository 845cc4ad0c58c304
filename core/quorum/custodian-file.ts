/**
 * @module quorum/custodian-file
 * The custodian file (format `neam-ca/custodian-file`, version 1): what one custodian carries on
 * their own medium. Public, readable fields (ceremony, quorum id and generation, custodian name,
 * share index, approval public key, activation commitment, KDF parameters) and two sealed items:
 * the custodian's Shamir share and the PKCS#8 of their ECDSA P-256 approval key, each AES-256-GCM
 * under a scrypt key from the custodian's passphrase, with the ceremony, quorum, custodian, share
 * index and file version as associated data. The whole document is signed by the approval key,
 * so a changed byte anywhere is detected before a passphrase is asked for, and a failed decryption
 * of a file vouched for by the roster (or the custodian's pinned approval-key fingerprint) can only
 * mean a wrong passphrase; without either, the message says that integrity cannot be confirmed.
 * docs/quorum.md specifies the format.
 *
 * Must never: write a share or private key unsealed, accept a file whose signature fails, or
 * report a tampered file as a wrong passphrase (or the reverse).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

import { z } from 'zod';

import { CoreError } from '../errors.ts';
import { softwareSigner, verifySignature, type Signer } from '../crypto/signer.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { constantTimeEqual, type Secret } from '../util/secret.ts';
import { normalizePassphrase } from './passphrase.ts';
import { checkCustodianFile, type Roster } from './roster.ts';
import { base64Bytes, ceremonyId, custodianName, isoTime, parseDocument, quorumId, sha256, sha256Hex } from './schema.ts';
import { DEFAULT_SCRYPT, deriveSealingKey, NONCE_BYTES, openItem, SALT_BYTES, scryptParamProblems, sealItem, TAG_BYTES, type ScryptParams, type SealedItem } from './seal.ts';
import { MAX_CUSTODIANS, SHARE_BYTES } from './shares.ts';

/** Value of the `format` field. */
export const CUSTODIAN_FILE_FORMAT = 'neam-ca/custodian-file';
/** The version this code writes and reads. */
export const CUSTODIAN_FILE_VERSION = 1;
/** Largest custodian file accepted. */
export const MAX_CUSTODIAN_FILE_BYTES = 16 * 1024;

/** Random bytes (the caller's source: the host CSPRNG, or mixed with the HSM's RNG). */
export type RandomSource = (length: number) => Buffer;

const sealedItemSchema = z.strictObject({
  alg: z.literal('A256GCM'),
  nonce: base64Bytes(NONCE_BYTES, NONCE_BYTES),
  ciphertext: base64Bytes(TAG_BYTES + 1, 4096),
});

/** Schema of a custodian file (strict: unknown fields are errors). */
export const custodianFileSchema = z
  .strictObject({
    format: z.literal(CUSTODIAN_FILE_FORMAT),
    version: z.literal(CUSTODIAN_FILE_VERSION),
    ceremony: ceremonyId,
    quorumId,
    generation: z.int().min(1).max(1_000_000),
    threshold: z.int().min(2).max(MAX_CUSTODIANS),
    total: z.int().min(2).max(MAX_CUSTODIANS),
    custodian: custodianName,
    shareIndex: z.int().min(1).max(MAX_CUSTODIANS),
    createdAt: isoTime,
    approvalKey: z.strictObject({
      alg: z.literal('ECDSA-P256-SHA256'),
      spki: base64Bytes(91, 91),
      sha256: sha256Hex,
    }),
    activationCommitment: sha256Hex,
    kdf: z.strictObject({
      alg: z.literal('scrypt'),
      N: z.int(),
      r: z.int(),
      p: z.int(),
      salt: base64Bytes(SALT_BYTES, SALT_BYTES),
    }),
    sealed: z.strictObject({ share: sealedItemSchema, approvalKey: sealedItemSchema }),
    signature: z.strictObject({ alg: z.literal('ECDSA-SHA256'), value: base64Bytes(8, 72) }),
  })
  .superRefine((f, ctx) => {
    if (f.threshold > f.total) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'must not exceed total' });
    if (f.shareIndex > f.total) ctx.addIssue({ code: 'custom', path: ['shareIndex'], message: 'must not exceed total' });
    for (const p of scryptParamProblems(f.kdf)) ctx.addIssue({ code: 'custom', path: ['kdf'], message: p });
    if (sha256(Buffer.from(f.approvalKey.spki, 'base64')) !== f.approvalKey.sha256) ctx.addIssue({ code: 'custom', path: ['approvalKey', 'sha256'], message: 'is not the SHA-256 of approvalKey.spki' });
    if (!isP256Spki(Buffer.from(f.approvalKey.spki, 'base64'))) ctx.addIssue({ code: 'custom', path: ['approvalKey', 'spki'], message: 'is not an ECDSA P-256 public key' });
  });

/** A parsed custodian file (JSON field for field). */
export type CustodianFile = z.infer<typeof custodianFileSchema>;
/** The public identity a custodian file claims (no sealed material). */
export type CustodianFileHeader = Omit<CustodianFile, 'kdf' | 'sealed' | 'signature'>;

/** True when `spki` is a well-formed ECDSA P-256 SubjectPublicKeyInfo. */
export function isP256Spki(spki: Buffer): boolean {
  try {
    const k = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    return k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
}

/**
 * Parses and validates a custodian file (structure, bounds, key form); does not check the
 * signature or open anything.
 * @throws {CoreError} ERR_QUORUM_CUSTODIAN_FILE_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseCustodianFile(input: Uint8Array | string, source?: string): CustodianFile {
  return parseDocument(input, custodianFileSchema, { what: 'custodian file', code: 'ERR_QUORUM_CUSTODIAN_FILE_INVALID', maxBytes: MAX_CUSTODIAN_FILE_BYTES }, source);
}

/** The file's text as written to the custodian's medium (pretty JSON, trailing newline). */
export function serializeCustodianFile(file: CustodianFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The bytes the file signature covers: RFC 8785 JSON of the file without `signature`. */
export function custodianFileSignedBytes(file: Omit<CustodianFile, 'signature'> & { signature?: unknown }): Buffer {
  const { signature: _omit, ...rest } = file;
  return canonicalJsonBytes(rest);
}

/** The associated data of one sealed item (RFC 8785 JSON; docs/quorum.md). */
export function sealedItemAad(header: Pick<CustodianFile, 'ceremony' | 'quorumId' | 'generation' | 'custodian' | 'shareIndex'>, item: 'share' | 'approval-key'): Buffer {
  return canonicalJsonBytes({
    format: CUSTODIAN_FILE_FORMAT,
    version: CUSTODIAN_FILE_VERSION,
    ceremony: header.ceremony,
    quorumId: header.quorumId,
    generation: header.generation,
    custodian: header.custodian,
    shareIndex: header.shareIndex,
    item,
  });
}

/** A new ECDSA P-256 approval key pair. */
export function generateApprovalKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** SPKI DER of a private or public key. */
export function spkiOf(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

/** Input to {@link sealCustodianFile}. */
export interface SealCustodianFileInput {
  header: Omit<CustodianFileHeader, 'format' | 'version' | 'approvalKey'>;
  share: Secret;
  approvalKey: KeyObject;
  /** The custodian's passphrase (already checked against the rules; not wiped here). */
  passphrase: Secret;
  kdf?: ScryptParams;
  random: RandomSource;
}

/**
 * Seals a share and an approval key under a passphrase and signs the result with the approval key.
 * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID (KDF parameters), ERR_QUORUM_PASSPHRASE_WEAK (not UTF-8)
 */
export async function sealCustodianFile(input: SealCustodianFileInput): Promise<CustodianFile> {
  const { header } = input;
  if (input.share.length !== SHARE_BYTES) throw new TypeError(`a share must be ${SHARE_BYTES} bytes`);
  const kdf = input.kdf ?? DEFAULT_SCRYPT;
  const salt = input.random(SALT_BYTES);
  const normalized = normalizePassphrase(input.passphrase);
  let key: Secret;
  try {
    key = await deriveSealingKey(normalized, salt, kdf);
  } finally {
    normalized.wipe();
  }
  const pkcs8 = input.approvalKey.export({ type: 'pkcs8', format: 'der' });
  let share: SealedItem;
  let approval: SealedItem;
  try {
    share = input.share.use((s) => sealItem(key, input.random(NONCE_BYTES), sealedItemAad(header, 'share'), s));
    approval = sealItem(key, input.random(NONCE_BYTES), sealedItemAad(header, 'approval-key'), pkcs8);
  } finally {
    key.wipe();
    pkcs8.fill(0);
  }
  const spki = spkiOf(input.approvalKey);
  const unsigned: Omit<CustodianFile, 'signature'> = {
    format: CUSTODIAN_FILE_FORMAT,
    version: CUSTODIAN_FILE_VERSION,
    ceremony: header.ceremony,
    quorumId: header.quorumId,
    generation: header.generation,
    threshold: header.threshold,
    total: header.total,
    custodian: header.custodian,
    shareIndex: header.shareIndex,
    createdAt: header.createdAt,
    approvalKey: { alg: 'ECDSA-P256-SHA256', spki: spki.toString('base64'), sha256: sha256(spki) },
    activationCommitment: header.activationCommitment,
    kdf: { alg: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString('base64') },
    sealed: {
      share: { alg: 'A256GCM', nonce: share.nonce.toString('base64'), ciphertext: share.ciphertext.toString('base64') },
      approvalKey: { alg: 'A256GCM', nonce: approval.nonce.toString('base64'), ciphertext: approval.ciphertext.toString('base64') },
    },
  };
  const signature = softwareSigner(input.approvalKey, 'ECDSA-SHA256').sign(custodianFileSignedBytes(unsigned));
  return { ...unsigned, signature: { alg: 'ECDSA-SHA256', value: signature.toString('base64') } };
}

/**
 * Verifies the file's signature with `spki` (the roster's pinned key for this custodian) or, when
 * absent, with the key the file names (self-consistency only).
 */
export function custodianFileSignatureValid(file: CustodianFile, spki?: Buffer): boolean {
  const key = spki ?? Buffer.from(file.approvalKey.spki, 'base64');
  return verifySignature('ECDSA-SHA256', key, custodianFileSignedBytes(file), Buffer.from(file.signature.value, 'base64'));
}

/**
 * What vouches for a custodian file's integrity when it is opened. The file's own signature only
 * proves self-consistency: a complete forgery (new salt, the forger's approval key, re-signed with
 * it) verifies too. The roster's pinned key, or the custodian's own record of their approval-key
 * fingerprint (printed at enrolment), tells a forgery from a wrong passphrase.
 */
export interface CustodianFileTrust {
  /** The current roster: the file is checked against it before anything is derived. */
  roster?: Roster;
  /**
   * SHA-256 of the custodian's approval public key (SPKI DER), hex, as printed at enrolment and
   * in the roster (colons, spaces and upper case accepted).
   */
  approvalKeySha256?: string;
}

/**
 * Normalises a pinned approval-key fingerprint (hex, colons/spaces allowed) to lower-case hex.
 * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID when it is not 64 hex digits
 */
export function normalizeApprovalKeySha256(text: string): string {
  const hex = text.replace(/[\s:]/gu, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/u.test(hex)) {
    throw new CoreError('ERR_QUORUM_PARAMS_INVALID', 'the approval-key fingerprint must be the SHA-256 printed at enrolment: 64 hex digits (colons and spaces allowed)');
  }
  return hex;
}

/**
 * Checks a custodian file against what vouches for it (before any passphrase is asked); returns
 * true when its integrity is confirmed, false when nothing vouches for it.
 * @throws {CoreError} ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_FOREIGN, ERR_QUORUM_PARAMS_INVALID
 */
export function checkCustodianFileTrust(file: CustodianFile, source: string | undefined, trust: CustodianFileTrust | undefined): boolean {
  let confirmed = false;
  if (trust?.roster !== undefined) {
    checkCustodianFile(trust.roster, file, source);
    confirmed = true;
  }
  if (trust?.approvalKeySha256 !== undefined) {
    const pinned = normalizeApprovalKeySha256(trust.approvalKeySha256);
    if (!constantTimeEqual(Buffer.from(pinned, 'utf8'), Buffer.from(file.approvalKey.sha256, 'utf8'))) {
      throw tampered(file, source, `its approval key (SHA-256 ${file.approvalKey.sha256}) is not the approval key pinned for this custodian (SHA-256 ${pinned}); someone replaced the file`);
    }
    confirmed = true;
  }
  return confirmed;
}

/** What {@link openCustodianFile} unseals. */
export interface OpenedCustodianFile {
  /** The Shamir share (when asked for). */
  share?: Secret;
  /** The approval private key (when asked for). */
  approvalKey?: KeyObject;
}

/**
 * Opens a custodian file with its passphrase. With `trust` (the roster, or the custodian's pinned
 * approval-key fingerprint) the file is checked against it first, and a failed decryption is
 * reported as a wrong passphrase of an intact file; without, the file is only checked against the
 * key it names itself, so a failed decryption may also be a forgery and the message says so.
 * @throws {CoreError} ERR_QUORUM_SHARE_TAMPERED (signature, pinned key, or the opened content is not
 *   what the file claims), ERR_QUORUM_SHARE_FOREIGN (roster of another quorum),
 *   ERR_QUORUM_PASSPHRASE_INCORRECT, ERR_QUORUM_PARAMS_INVALID
 */
export async function openCustodianFile(file: CustodianFile, passphrase: Secret, want: { share?: boolean; approvalKey?: boolean }, source?: string, trust?: CustodianFileTrust): Promise<OpenedCustodianFile> {
  const who = `custodian '${file.custodian}'${source === undefined ? '' : ` (${source})`}`;
  const integrityConfirmed = checkCustodianFileTrust(file, source, trust);
  if (!custodianFileSignatureValid(file)) throw tampered(file, source, 'its signature does not verify');
  const normalized = normalizePassphrase(passphrase);
  let key: Secret;
  try {
    key = await deriveSealingKey(normalized, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  } finally {
    normalized.wipe();
  }
  const result: OpenedCustodianFile = {};
  try {
    // Both items are sealed under the same key: opening the approval key first proves the
    // passphrase even when only the share is wanted.
    const pkcs8 = openItem(key, sealedItemAad(file, 'approval-key'), decodeItem(file.sealed.approvalKey));
    if (pkcs8 === undefined) {
      throw new CoreError(
        'ERR_QUORUM_PASSPHRASE_INCORRECT',
        integrityConfirmed
          ? `the passphrase for ${who} is not correct; the file is intact, so check the passphrase and try again`
          : `the passphrase for ${who} did not open the file. Without the roster or your approval-key fingerprint this machine cannot confirm that this file is genuine: either the passphrase is wrong or the file was replaced. Try again; if it still fails, check the file with --roster FILE or --approval-key-sha256 HEX (the fingerprint printed at your enrolment)`,
        { details: { custodian: file.custodian, integrityConfirmed } },
      );
    }
    try {
      const approvalKey = pkcs8.use((der) => {
        try {
          return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        } catch {
          return undefined;
        }
      });
      if (approvalKey === undefined || !spkiOf(approvalKey).equals(Buffer.from(file.approvalKey.spki, 'base64'))) {
        throw tampered(file, source, 'its sealed approval key does not match the public key it names');
      }
      if (want.approvalKey === true) result.approvalKey = approvalKey;
    } finally {
      pkcs8.wipe();
    }
    if (want.share === true) {
      const share = openItem(key, sealedItemAad(file, 'share'), decodeItem(file.sealed.share));
      if (share === undefined) throw tampered(file, source, 'its sealed share does not open although the passphrase is right');
      if (share.length !== SHARE_BYTES) {
        share.wipe();
        throw tampered(file, source, `its share has ${share.length} bytes instead of ${SHARE_BYTES}`);
      }
      result.share = share;
    }
    return result;
  } catch (e) {
    result.share?.wipe();
    throw e;
  } finally {
    key.wipe();
  }
}

function decodeItem(item: { nonce: string; ciphertext: string }): SealedItem {
  return { nonce: Buffer.from(item.nonce, 'base64'), ciphertext: Buffer.from(item.ciphertext, 'base64') };
}

/**
 * Unlocks a custodian's approval key as a {@link Signer} (ECDSA P-256, SHA-256), e.g. to co-sign a
 * ceremony transcript as a witness. Only the approval key is unsealed; the share is not touched.
 * `trust` as for {@link openCustodianFile}.
 * @throws {CoreError} ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_FOREIGN, ERR_QUORUM_PASSPHRASE_INCORRECT,
 *   ERR_QUORUM_PARAMS_INVALID
 */
export async function custodianSigner(file: CustodianFile, passphrase: Secret, source?: string, trust?: CustodianFileTrust): Promise<Signer> {
  const { approvalKey } = await openCustodianFile(file, passphrase, { approvalKey: true }, source, trust);
  return softwareSigner(approvalKey as KeyObject, 'ECDSA-SHA256');
}

/** The error for a custodian file that was changed after enrolment. */
export function tampered(file: Pick<CustodianFile, 'custodian'>, source: string | undefined, reason: string): CoreError {
  return new CoreError(
    'ERR_QUORUM_SHARE_TAMPERED',
    `the custodian file of '${file.custodian}'${source === undefined ? '' : ` (${source})`} was changed after enrolment: ${reason}. Do not use it; ask the custodian for their original medium`,
    { details: { custodian: file.custodian } },
  );
}

/** The public identity of a custodian file (for the roster and for display). */
export function custodianFileHeader(file: CustodianFile): CustodianFileHeader {
  const { kdf: _k, sealed: _s, signature: _g, ...header } = file;
  return header;
}
