/**
 * @module quorum/passphrase
 * Custodian passphrase rules and normalisation. A passphrase is typed twice at enrolment (the
 * second entry must match, compared in constant time), must be long enough to resist an offline
 * guessing attack on a stolen custodian file (together with scrypt's cost), and is normalised to
 * Unicode NFC before key derivation so that the same words typed on another keyboard or operating
 * system give the same key.
 *
 * Must never: echo, log or include a passphrase (or any part of it) in an error message.
 */
import { CoreError } from '../errors.ts';
import { Secret } from '../util/secret.ts';

/** Minimum length in Unicode code points (after NFC). */
export const MIN_PASSPHRASE_CHARS = 12;
/** Maximum length in UTF-8 bytes. */
export const MAX_PASSPHRASE_BYTES = 1024;
/** Minimum number of distinct characters (refuses `aaaaaaaaaaaa`, `abababababab`). */
export const MIN_DISTINCT_CHARS = 5;

/** C0 controls, DEL and C1 controls. */
function isControl(c: string): boolean {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x20 || (n >= 0x7f && n <= 0x9f);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(secret: Secret): string {
  try {
    return secret.use((b) => decoder.decode(b));
  } catch {
    throw new CoreError('ERR_QUORUM_PASSPHRASE_WEAK', 'the passphrase is not valid UTF-8 text; type it again');
  }
}

/**
 * The NFC-normalised UTF-8 bytes of a passphrase, as a new {@link Secret} (the caller wipes both).
 * Used for key derivation at enrolment and at every unlock.
 * @throws {CoreError} ERR_QUORUM_PASSPHRASE_WEAK when the bytes are not UTF-8
 */
export function normalizePassphrase(passphrase: Secret): Secret {
  return Secret.fromBytes(Buffer.from(decode(passphrase).normalize('NFC'), 'utf8'));
}

/**
 * Checks a new passphrase against the rules (length, distinct characters, no control characters,
 * no leading/trailing whitespace, not the custodian's name) and that `confirmation` matches.
 * Reports every broken rule at once. Neither secret is wiped.
 * @throws {CoreError} ERR_QUORUM_PASSPHRASE_MISMATCH when the two entries differ;
 *   ERR_QUORUM_PASSPHRASE_WEAK when a rule is broken
 */
export function checkNewPassphrase(passphrase: Secret, confirmation: Secret, custodianName: string): void {
  const a = normalizePassphrase(passphrase);
  let b: Secret;
  try {
    b = normalizePassphrase(confirmation);
  } catch (e) {
    a.wipe();
    throw e;
  }
  try {
    if (!a.equals(b)) {
      throw new CoreError('ERR_QUORUM_PASSPHRASE_MISMATCH', `the two passphrase entries for custodian '${custodianName}' differ; type the passphrase twice, identically`);
    }
    const text = decode(a);
    const problems: string[] = [];
    const chars = [...text];
    if (chars.length < MIN_PASSPHRASE_CHARS) problems.push(`use at least ${MIN_PASSPHRASE_CHARS} characters (a few unrelated words work well)`);
    if (a.length > MAX_PASSPHRASE_BYTES) problems.push(`use at most ${MAX_PASSPHRASE_BYTES} bytes`);
    if (new Set(chars).size < MIN_DISTINCT_CHARS) problems.push(`use at least ${MIN_DISTINCT_CHARS} different characters`);
    // Control characters (C0, DEL, C1) cannot be typed reliably and hint at a paste accident.
    if (chars.some(isControl)) problems.push('do not use control characters (tabs, line breaks)');
    if (text !== text.trim()) problems.push('do not start or end with a space (it is invisible when typed)');
    if (text.trim().toLowerCase() === custodianName.trim().toLowerCase()) problems.push('do not use your name');
    if (problems.length > 0) {
      throw new CoreError('ERR_QUORUM_PASSPHRASE_WEAK', `the passphrase for custodian '${custodianName}' is not acceptable: ${problems.join('; ')}`, {
        details: { custodian: custodianName, rules: problems },
      });
    }
  } finally {
    a.wipe();
    b.wipe();
  }
}
