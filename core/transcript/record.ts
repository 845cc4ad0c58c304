/**
 * @module transcript/record
 * The transcript record: its schema, its one byte encoding (RFC 8785 canonical JSON, one record
 * per line, `\n`-terminated), its hash (SHA-256 of exactly those bytes without the newline) and the
 * checks every record's `data` must pass before it is written (plain JSON only, bounded size and
 * depth, well-formed strings, never a private key). Pure functions only.
 *
 * Must never: accept a value whose canonical form does not parse back to the same bytes (the chain
 * would then depend on a JSON parser's whims), or let a PEM private key into a record.
 */
import { createHash } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { canonicalJson } from '../util/canonical-json.ts';

/** Format identifier written into every opening record. */
export const TRANSCRIPT_FORMAT = 'neam-ca-transcript/1';

/**
 * `prev` of the very first record of a CA's history (no previous ceremony): 64 zeros. Every later
 * ceremony's first record carries the hash of the previous transcript's last record instead.
 */
export const GENESIS_PREV = '0'.repeat(64);

/** Largest record line in bytes (including the newline). Certificates in PEM fit many times over. */
export const MAX_RECORD_BYTES = 1024 * 1024;

/** Largest transcript file verify or resume will read. */
export const MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024;

/** Deepest nesting of objects and arrays allowed in a record. */
export const MAX_DATA_DEPTH = 32;

/** Record types the writer itself writes; `append` refuses them. */
export const RESERVED_TYPES = ['transcript.opened', 'transcript.resumed', 'transcript.closed'] as const;

/** A record type the writer reserves for itself. */
export type ReservedType = (typeof RESERVED_TYPES)[number];

/** JSON values a record may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** One signature of the closing record (outside the signed body). */
export interface ClosingSignature {
  /** SHA-256 (hex) of the signer's SubjectPublicKeyInfo DER; names the signer in `data.signers`. */
  spkiSha256: string;
  /** The signature (base64 of DER `Ecdsa-Sig-Value` for ECDSA, PKCS#1 v1.5 for RSA). */
  signature: string;
}

/**
 * One transcript record as it appears on its line (keys are written in RFC 8785 order).
 * `seq` is 1-based: record N is on line N of an untouched file.
 */
export interface TranscriptRecord {
  /** 1-based position in this transcript. */
  seq: number;
  /** UTC time of writing, `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
  time: string;
  /** Who did it (a participant's name, or `neam-ca` for the software). */
  actor: string;
  /** The actor's ceremony role (`administrator`, `custodian`, `witness`, `auditor`, `system`, …). */
  role: string;
  /** What happened, dotted lower-case (`step.started`, `key.generated`, …). */
  type: string;
  /** Details; JSON object. */
  data: JsonObject;
  /** True for every record of a rehearsal. */
  rehearsal: boolean;
  /** SHA-256 (hex) of the previous record's line; record 1: previous transcript's head or {@link GENESIS_PREV}. */
  prev: string;
  /** Only on the closing record (`transcript.closed`): signatures over the record without this member. */
  signatures?: ClosingSignature[];
}

const RECORD_KEYS = ['seq', 'time', 'actor', 'role', 'type', 'data', 'rehearsal', 'prev'] as const;
const HEX64 = /^[0-9a-f]{64}$/u;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/u;
const TYPE = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*$/u;
const ROLE = /^[a-z][a-z0-9-]*$/u;
// C0 and C1 controls, line and paragraph separators, bidi overrides: nothing that could make the
// printed name differ from the recorded one.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/u;

/** True when `s` is 64 lower-case hex digits (a SHA-256 as the transcript writes it). */
export function isSha256Hex(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s);
}

/** SHA-256 (hex) of bytes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when `s` is printable text of 1..max characters (no control or bidi characters). */
export function isPrintableText(s: unknown, max: number): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= max && !UNPRINTABLE.test(s) && !LONE_SURROGATE.test(s) && s.trim() === s;
}

/** Formats a time the way records carry it; refuses dates outside years 0000–9999. */
export function formatRecordTime(d: Date): string {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new TypeError('transcript time is an invalid Date');
  const s = d.toISOString();
  if (!TIME.test(s)) throw new TypeError(`transcript time ${s} is outside the years 0000-9999`);
  return s;
}

/** True when `s` is a record time that names a real instant (`2026-02-30…` is refused). */
export function isRecordTime(s: unknown): s is string {
  if (typeof s !== 'string' || !TIME.test(s)) return false;
  const t = Date.parse(s);
  return Number.isFinite(t) && new Date(t).toISOString() === s;
}

/**
 * Checks a value destined for a record's `data` (or any member of it): plain JSON objects, arrays,
 * strings, finite numbers, booleans and null; depth at most {@link MAX_DATA_DEPTH}; strings without
 * lone surrogates (RFC 8785 needs I-JSON); no PEM private key anywhere. Iterative, so hostile
 * nesting cannot exhaust the stack. Returns problems as `path: message`.
 */
export function dataProblems(value: unknown, rootPath = 'data'): string[] {
  const problems: string[] = [];
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: rootPath, depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0 && problems.length < 20) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push(`${path}: ${String(v)} is not a JSON number`);
      continue;
    }
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) problems.push(`${path}: holds a lone UTF-16 surrogate (not valid Unicode text)`);
      else if (PEM_PRIVATE_KEY.test(v)) problems.push(`${path}: holds a PEM private key; a transcript never carries private key material`);
      continue;
    }
    if (typeof v !== 'object') {
      problems.push(`${path}: a ${typeof v} is not a JSON value`);
      continue;
    }
    if (seen.has(v)) {
      problems.push(`${path}: is a circular reference`);
      continue;
    }
    seen.add(v);
    if (depth >= MAX_DATA_DEPTH) {
      problems.push(`${path}: nested deeper than ${MAX_DATA_DEPTH} levels`);
      continue;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      problems.push(`${path}: a ${(v as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain'} object is not plain JSON; convert it (Buffer to base64 or hex, Date to an ISO string)`);
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      if (LONE_SURROGATE.test(k)) problems.push(`${path}: a key holds a lone UTF-16 surrogate`);
      else if (item === undefined) problems.push(`${path}.${k}: is undefined (omit the key or use null)`);
      else stack.push({ v: item, path: `${path}.${k}`, depth: depth + 1 });
    }
  }
  return problems;
}

/** The record without its signatures: the closing record's signed body. */
export function recordBody(record: TranscriptRecord): Omit<TranscriptRecord, 'signatures'> {
  const { signatures: _signatures, ...body } = record;
  return body;
}

/**
 * The line text of a record (canonical JSON, no newline). Checks the record first.
 * @throws {CoreError} ERR_INPUT_INVALID when the record breaks the schema; ERR_INPUT_TOO_LARGE when
 * its line would exceed {@link MAX_RECORD_BYTES}
 */
export function encodeRecord(record: TranscriptRecord): string {
  const problems = [...recordProblems(record), ...dataProblems(record.data)];
  if (problems.length > 0) {
    throw new CoreError('ERR_INPUT_INVALID', `transcript record ${record.seq} cannot be written:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { details: { seq: record.seq, problems } });
  }
  const text = canonicalJson(record);
  const bytes = Buffer.byteLength(text, 'utf8') + 1;
  if (bytes > MAX_RECORD_BYTES) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `transcript record ${record.seq} (${record.type}) would be ${bytes} bytes; records are at most ${MAX_RECORD_BYTES} bytes. Record a digest of large outputs instead of their content`, {
      details: { seq: record.seq, bytes, max: MAX_RECORD_BYTES },
    });
  }
  return text;
}

/**
 * Schema problems of a parsed record (everything but the contents of `data`, which
 * {@link dataProblems} checks). Unknown and missing members are problems; `signatures` belongs to
 * the closing record only.
 */
export function recordProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['is not a JSON object'];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  const allowed = new Set<string>([...RECORD_KEYS, ...(r['type'] === 'transcript.closed' ? ['signatures'] : [])]);
  for (const k of Object.keys(r)) if (!allowed.has(k)) problems.push(`unknown member '${k}'`);
  for (const k of allowed) if (!Object.hasOwn(r, k)) problems.push(`missing member '${k}'`);
  const seq = r['seq'];
  if (Object.hasOwn(r, 'seq') && !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1)) problems.push('seq: must be a whole number from 1');
  if (Object.hasOwn(r, 'time') && !isRecordTime(r['time'])) problems.push('time: must be a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ');
  if (Object.hasOwn(r, 'actor') && !isPrintableText(r['actor'], 200)) problems.push('actor: must be printable text of 1-200 characters without surrounding spaces');
  if (Object.hasOwn(r, 'role') && !(typeof r['role'] === 'string' && r['role'].length <= 64 && ROLE.test(r['role']))) problems.push('role: must be lower-case letters, digits and dashes (at most 64)');
  if (Object.hasOwn(r, 'type') && !(typeof r['type'] === 'string' && r['type'].length <= 64 && TYPE.test(r['type']))) problems.push('type: must be dotted lower-case words (at most 64 characters)');
  const data = r['data'];
  if (Object.hasOwn(r, 'data') && (typeof data !== 'object' || data === null || Array.isArray(data))) problems.push('data: must be a JSON object');
  if (Object.hasOwn(r, 'rehearsal') && typeof r['rehearsal'] !== 'boolean') problems.push('rehearsal: must be true or false');
  if (Object.hasOwn(r, 'prev') && !isSha256Hex(r['prev'])) problems.push('prev: must be 64 lower-case hex digits');
  if (r['type'] === 'transcript.closed' && Object.hasOwn(r, 'signatures')) {
    const sigs = r['signatures'];
    if (!Array.isArray(sigs) || sigs.length === 0 || sigs.length > 64) problems.push('signatures: must be a list of 1-64 signatures');
    else {
      sigs.forEach((s: unknown, i) => {
        if (typeof s !== 'object' || s === null || Array.isArray(s)) return problems.push(`signatures[${i}]: must be an object`);
        const o = s as Record<string, unknown>;
        const keys = Object.keys(o);
        if (keys.length !== 2 || !isSha256Hex(o['spkiSha256']) || !isBase64(o['signature'], 2048)) problems.push(`signatures[${i}]: must be exactly {spkiSha256: 64 hex, signature: base64}`);
        return undefined;
      });
    }
  }
  return problems;
}

/** Strict base64 (RFC 4648 §4, padded, canonical), at most `maxBytes` decoded. */
export function isBase64(s: unknown, maxBytes: number): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length % 4 !== 0 || s.length > Math.ceil(maxBytes / 3) * 4) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/u.test(s)) return false;
  return Buffer.from(s, 'base64').toString('base64') === s;
}

/** Outcome of decoding one line. */
export type DecodedLine = { ok: true; record: TranscriptRecord; hash: string } | { ok: false; problem: string; hash: string };

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes one line (without its newline): strict UTF-8, size limit, JSON, schema, data checks, and
 * byte-exact canonical form (so any change to any byte changes either the record or its hash).
 * Never throws.
 */
export function decodeLine(bytes: Uint8Array): DecodedLine {
  const hash = sha256Hex(bytes);
  if (bytes.length + 1 > MAX_RECORD_BYTES) return { ok: false, problem: `is ${bytes.length} bytes long; records are at most ${MAX_RECORD_BYTES} bytes`, hash };
  if (bytes.length === 0) return { ok: false, problem: 'is empty', hash };
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { ok: false, problem: 'is not valid UTF-8', hash };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'is not JSON', hash };
  }
  const problems = recordProblems(value);
  if (problems.length === 0) problems.push(...dataProblems((value as TranscriptRecord).data));
  if (problems.length > 0) return { ok: false, problem: `is not a valid record: ${problems.slice(0, 5).join('; ')}`, hash };
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    return { ok: false, problem: 'cannot be canonicalised', hash };
  }
  if (canonical !== text) return { ok: false, problem: 'is not in canonical form (RFC 8785): its bytes were edited or re-encoded', hash };
  return { ok: true, record: value as TranscriptRecord, hash };
}

/** Hash of a record as written: SHA-256 of its canonical line without the newline. */
export function recordHash(record: TranscriptRecord): string {
  return sha256Hex(canonicalJson(record));
}
