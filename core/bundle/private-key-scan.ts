/**
 * @module bundle/private-key-scan
 * Finds private key material in a payload file so that a bundle can never carry a key across the
 * air gap: PEM blocks of every private-key kind (PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC,
 * DSA, OpenSSH, PGP, any `… PRIVATE KEY` label), DER private keys anywhere in the bytes (PKCS#8
 * PrivateKeyInfo/OneAsymmetricKey, SEC1 ECPrivateKey, PKCS#1 RSAPrivateKey: candidates are
 * confirmed by actually parsing them as keys), encrypted PKCS#8 and PKCS#12 key bags (by their
 * algorithm identifiers), JWK private keys, PuTTY key files, and all of these again inside base64
 * runs (a DER key in a YAML Secret or JSON string) and inside PEM blocks with innocent labels.
 *
 * Must never: log, return or include in an error any part of what it found (only what kind of
 * key and where, by offset).
 */
import { createPrivateKey } from 'node:crypto';

const PEM_PRIVATE = /-----BEGIN [A-Z0-9 ]{0,64}PRIVATE KEY[A-Z0-9 ]{0,64}-----/iu;
const PUTTY = /PuTTY-User-Key-File-\d+:/u;
const JWK_KTY = /"kty"\s*:/u;
const JWK_PRIVATE = /"(?:d|p|q|dp|dq|qi|k)"\s*:\s*"[A-Za-z0-9_-]{16,}/u;
/** Shortest base64 run worth decoding (a P-256 PKCS#8 key is 138 bytes, 184 base64 characters). */
const MIN_BASE64_RUN = 64;
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/gu;
const PEM_END = /-----END ([A-Z0-9 ]{1,64})-----/gu;

// DER OBJECT IDENTIFIER encodings (tag, length, value) of encrypted-key containers.
const KEY_CONTAINER_OIDS: ReadonlyArray<{ bytes: Buffer; what: string }> = [
  { bytes: Buffer.from('06092a864886f70d01050d', 'hex'), what: 'an encrypted PKCS#8 private key (PBES2)' },
  { bytes: Buffer.from('060b2a864886f70d010c0a0101', 'hex'), what: 'a PKCS#12 key bag' },
  { bytes: Buffer.from('060b2a864886f70d010c0a0102', 'hex'), what: 'a PKCS#12 shrouded key bag' },
  { bytes: Buffer.from('060a2a864886f70d010c0103', 'hex'), what: 'a PKCS#12 password-encrypted key (pbeWithSHAAnd3-KeyTripleDES-CBC)' },
];

/** At most this many DER candidates are confirmed per buffer; more is itself suspicious. */
const MAX_CANDIDATES = 4096;

function derLengthAt(b: Buffer, i: number): { header: number; length: number } | undefined {
  const first = b[i + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return { header: 2, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4 || i + 2 + n > b.length) return undefined;
  let len = 0;
  for (let k = 0; k < n; k++) len = len * 256 + (b[i + 2 + k] ?? 0);
  return { header: 2 + n, length: len };
}

function isPrivateKeyDer(der: Buffer): string | undefined {
  const attempts: Array<['pkcs8' | 'sec1' | 'pkcs1', string]> = [
    ['pkcs8', 'a PKCS#8 private key'],
    ['sec1', 'a SEC1 EC private key'],
    ['pkcs1', 'a PKCS#1 RSA private key'],
  ];
  for (const [type, what] of attempts) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return what;
    } catch (e) {
      // An encrypted PKCS#8 structure asks for a passphrase: that is a key too.
      if ((e as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') return 'an encrypted PKCS#8 private key';
    }
  }
  return undefined;
}

function scanDer(b: Buffer): string | undefined {
  for (const c of KEY_CONTAINER_OIDS) if (b.includes(c.bytes)) return c.what;
  let candidates = 0;
  for (let i = b.indexOf(0x30); i !== -1 && i < b.length - 6; i = b.indexOf(0x30, i + 1)) {
    const h = derLengthAt(b, i);
    if (h === undefined || i + h.header + h.length > b.length || h.length < 8) continue;
    const c = i + h.header;
    // Every private key structure starts with a small version INTEGER: 0 (PKCS#8 v1, PKCS#1),
    // 1 (SEC1, OneAsymmetricKey v2).
    if (b[c] !== 0x02 || b[c + 1] !== 0x01 || (b[c + 2] !== 0x00 && b[c + 2] !== 0x01)) continue;
    if (++candidates > MAX_CANDIDATES) return 'an unusually dense run of key-like DER structures';
    const found = isPrivateKeyDer(b.subarray(i, c + h.length));
    if (found !== undefined) return `${found} at byte ${i}`;
  }
  return undefined;
}

/**
 * Describes the first private key material found in `data` (e.g. `a PEM "EC PRIVATE KEY" block`),
 * or undefined when there is none. The description never contains the material itself.
 */
export function findPrivateKeyMaterial(data: Buffer): string | undefined {
  const text = data.toString('latin1');
  const pem = PEM_PRIVATE.exec(text);
  if (pem !== null) return `a PEM "${pem[0].replace(/-----(BEGIN )?/gu, '')}" block`;
  if (PUTTY.test(text)) return 'a PuTTY private key file';
  if (JWK_KTY.test(text) && JWK_PRIVATE.test(text)) return 'a JWK with private key members';
  const der = scanDer(data);
  if (der !== undefined) return der;
  for (const block of pemBodies(text)) {
    const body = Buffer.from(block.body.replace(/[^A-Za-z0-9+/=]/gu, ''), 'base64');
    const inner = scanDer(body);
    if (inner !== undefined) return `${inner} inside a PEM "${block.label}" block`;
  }
  for (const run of base64Runs(data)) {
    const decoded = Buffer.from(data.subarray(run.start, run.end).toString('latin1').replace(/-/gu, '+').replace(/_/gu, '/'), 'base64');
    const inner = findPrivateKeyMaterialNoBase64(decoded);
    if (inner !== undefined) return `${inner} inside base64 text at byte ${run.start}`;
  }
  return undefined;
}

function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x2d || c === 0x5f;
}

/**
 * Runs of base64 (or base64url) characters of at least {@link MIN_BASE64_RUN}, by a plain loop:
 * a regular expression with a counted quantifier overflows V8's stack on a multi-megabyte run.
 */
function* base64Runs(data: Buffer): Generator<{ start: number; end: number }> {
  let start = -1;
  for (let i = 0; i <= data.length; i++) {
    const inRun = i < data.length && isBase64Char(data[i] ?? 0);
    if (inRun && start === -1) start = i;
    else if (!inRun && start !== -1) {
      if (i - start >= MIN_BASE64_RUN) yield { start, end: i };
      start = -1;
    }
  }
}

/**
 * Every PEM block body, in linear time: END markers are indexed once per label, and each BEGIN is
 * paired with the next END of its label (a hostile file of unterminated BEGINs stays linear).
 */
function* pemBodies(text: string): Generator<{ label: string; body: string }> {
  const ends = new Map<string, number[]>();
  for (const m of text.matchAll(PEM_END)) {
    const list = ends.get(m[1] ?? '') ?? [];
    list.push(m.index ?? 0);
    ends.set(m[1] ?? '', list);
  }
  const cursor = new Map<string, number>();
  for (const m of text.matchAll(PEM_BEGIN)) {
    const label = m[1] ?? '';
    const list = ends.get(label);
    if (list === undefined) continue;
    const start = (m.index ?? 0) + m[0].length;
    let k = cursor.get(label) ?? 0;
    while (k < list.length && (list[k] ?? 0) < start) k++;
    cursor.set(label, k);
    const end = list[k];
    if (end === undefined) continue;
    yield { label, body: text.slice(start, end) };
  }
}

/** Same as {@link findPrivateKeyMaterial} on decoded bytes, without another base64 round. */
function findPrivateKeyMaterialNoBase64(data: Buffer): string | undefined {
  const text = data.toString('latin1');
  const pem = PEM_PRIVATE.exec(text);
  if (pem !== null) return `a PEM "${pem[0].replace(/-----(BEGIN )?/gu, '')}" block`;
  if (JWK_KTY.test(text) && JWK_PRIVATE.test(text)) return 'a JWK with private key members';
  return scanDer(data);
}
