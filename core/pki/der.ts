/**
 * @module pki/der
 * A strict DER reader (X.690 §10): walks a TLV tree and refuses anything that is not the one
 * distinguished encoding: indefinite or non-minimal lengths, trailing bytes, non-minimal INTEGERs,
 * BOOLEANs other than 00/FF, truncated values, absurd nesting. It also slices the exact bytes of
 * sub-structures (the raw tbsCertificate / tbsCertList) without trusting any ASN.1 library.
 * Every decoding step costs time linear in its input: OBJECT IDENTIFIERs are bounded (at most
 * {@link MAX_OID_BYTES} octets, arcs of at most {@link MAX_OID_ARC_BYTES} octets) during the walk,
 * before any decoder turns them into numbers.
 *
 * Must never: accept BER, or return a slice that extends past its parent.
 */
import { CoreError } from '../errors.ts';

/** One decoded TLV. `header` and `value` are slices of the input (no copy). */
export interface Tlv {
  /** The identifier octet (single-byte tags only: X.509 uses no high tag numbers). */
  tag: number;
  /** True for constructed encodings (bit 6 of the identifier). */
  constructed: boolean;
  /** The complete TLV bytes. */
  bytes: Buffer;
  /** Value bytes. */
  value: Buffer;
}

/** Universal tags used by the PKI code. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Deepest nesting accepted (X.509 structures stay below 20). */
const MAX_DEPTH = 48;

function fail(what: string, message: string): never {
  throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: ${message}`);
}

/**
 * Reads one TLV at `offset` of `buf` (which may hold more after it).
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function readTlv(buf: Buffer, offset: number, what = 'the input'): Tlv {
  if (offset >= buf.length) fail(what, `truncated: expected a tag at byte ${offset} of ${buf.length}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) fail(what, `multi-byte tag at byte ${offset} (not used in X.509)`);
  let pos = offset + 1;
  if (pos >= buf.length) fail(what, `truncated: no length after the tag at byte ${offset}`);
  const first = buf[pos] as number;
  pos++;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    fail(what, `indefinite length at byte ${offset + 1} (BER, not DER)`);
  } else {
    const n = first & 0x7f;
    if (n > 4) fail(what, `length of ${n} octets at byte ${offset + 1} is too large`);
    if (pos + n > buf.length) fail(what, `truncated length at byte ${offset + 1}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[pos + i] as number);
    if ((buf[pos] as number) === 0) fail(what, `length with a leading zero octet at byte ${offset + 1} (not minimal)`);
    if (length < 0x80) fail(what, `long-form length ${length} at byte ${offset + 1} (DER requires the short form)`);
    pos += n;
  }
  if (pos + length > buf.length) fail(what, `truncated: a value of ${length} bytes at byte ${pos} runs past the end (${buf.length} bytes)`);
  return { tag, constructed: (tag & 0x20) !== 0, bytes: buf.subarray(offset, pos + length), value: buf.subarray(pos, pos + length) };
}

/** The TLVs directly inside a constructed value (which must be exactly filled by them). */
export function children(tlv: Tlv, what = 'the input'): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < tlv.value.length) {
    const c = readTlv(tlv.value, off, what);
    out.push(c);
    off += c.bytes.length;
  }
  return out;
}

function checkPrimitive(t: Tlv, what: string): void {
  switch (t.tag) {
    case TAG.BOOLEAN:
      if (t.value.length !== 1 || (t.value[0] !== 0x00 && t.value[0] !== 0xff)) fail(what, 'a BOOLEAN must be one octet 00 or FF');
      break;
    case TAG.INTEGER:
    case TAG.ENUMERATED:
      if (t.value.length === 0) fail(what, 'an INTEGER with no content');
      if (t.value.length > 1) {
        const a = t.value[0] as number;
        const b = t.value[1] as number;
        if ((a === 0x00 && b < 0x80) || (a === 0xff && b >= 0x80)) fail(what, 'an INTEGER that is not minimally encoded');
      }
      break;
    case TAG.NULL:
      if (t.value.length !== 0) fail(what, 'a NULL with content');
      break;
    case TAG.BIT_STRING:
      if (t.value.length === 0 || (t.value[0] as number) > 7 || (t.value.length === 1 && t.value[0] !== 0)) fail(what, 'a malformed BIT STRING');
      break;
    case TAG.OID: {
      const problem = oidProblem(t.value);
      if (problem !== undefined) fail(what, problem);
      break;
    }
    default:
      break;
  }
}

function walk(t: Tlv, depth: number, what: string): void {
  if (depth > MAX_DEPTH) fail(what, `nested deeper than ${MAX_DEPTH} levels`);
  if (t.constructed) {
    for (const c of children(t, what)) walk(c, depth + 1, what);
  } else {
    checkPrimitive(t, what);
  }
}

/**
 * Parses `der` as exactly one strict-DER TLV (nothing before or after it) and checks every
 * nested constructed value.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function parseDer(der: Uint8Array, what = 'the input'): Tlv {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  if (buf.length === 0) fail(what, 'it is empty');
  const top = readTlv(buf, 0, what);
  if (top.bytes.length !== buf.length) fail(what, `${buf.length - top.bytes.length} trailing byte(s) after the end of the structure`);
  walk(top, 0, what);
  return top;
}

/** Encodes a DER length. */
export function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Encodes one TLV. */
export function derTlv(tag: number, value: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);
}

/** A SEQUENCE of the given encoded elements. */
export function derSequence(elements: readonly Uint8Array[]): Buffer {
  return derTlv(TAG.SEQUENCE, Buffer.concat(elements));
}

/** A BIT STRING with no unused bits around `bytes`. */
export function derBitString(bytes: Uint8Array): Buffer {
  return derTlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));
}

/** Buffer view of an ArrayBuffer or typed array (no copy). */
export function buf(x: ArrayBuffer | Uint8Array): Buffer {
  return x instanceof Uint8Array ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x);
}

/**
 * Longest OBJECT IDENTIFIER accepted, in content octets. X.509 OIDs stay below 30 octets; the
 * bound keeps every OID decoder linear (a 256 KiB OID once took over a minute of BigInt work).
 */
export const MAX_OID_BYTES = 64;
/**
 * Longest arc accepted, in octets: 19 octets carry 133 bits, enough for the 128-bit UUID arcs of
 * ITU-T X.667 (`2.25.<uuid>`), the longest arcs in real use.
 */
export const MAX_OID_ARC_BYTES = 19;

/** What is wrong with OBJECT IDENTIFIER content octets (X.690 §8.19), or undefined. Linear. */
export function oidProblem(value: Buffer): string | undefined {
  if (value.length === 0) return 'an empty OBJECT IDENTIFIER';
  if (value.length > MAX_OID_BYTES) return `an OBJECT IDENTIFIER of ${value.length} octets; at most ${MAX_OID_BYTES} are accepted`;
  let arcBytes = 0;
  for (const byte of value) {
    if (arcBytes === 0 && byte === 0x80) return 'an OBJECT IDENTIFIER arc with a leading 0x80 (not minimal)';
    arcBytes++;
    if (arcBytes > MAX_OID_ARC_BYTES) return `an OBJECT IDENTIFIER arc of ${arcBytes} octets or more; at most ${MAX_OID_ARC_BYTES} are accepted`;
    if ((byte & 0x80) === 0) arcBytes = 0;
  }
  if (arcBytes !== 0) return 'a truncated OBJECT IDENTIFIER (malformed: its last octet continues)';
  return undefined;
}

/**
 * Decodes the value bytes of an OBJECT IDENTIFIER to dotted form (bounded: see {@link oidProblem}).
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function decodeOid(value: Buffer, what = 'the input'): string {
  const problem = oidProblem(value);
  if (problem !== undefined) fail(what, problem);
  const arcs: bigint[] = [];
  let acc = 0n;
  for (const byte of value) {
    acc = (acc << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(acc);
      acc = 0n;
    }
  }
  const first = arcs[0] as bigint;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

/** Encodes a dotted OID as a full DER TLV. */
export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => BigInt(a));
  if (arcs.length < 2) throw new TypeError(`not an OID: ${oid}`);
  const first = (arcs[0] as bigint) * 40n + (arcs[1] as bigint);
  const bytes: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] = (chunk[i] as number) | 0x80;
    bytes.push(...chunk);
  }
  return derTlv(TAG.OID, Buffer.from(bytes));
}

/**
 * Reads an element of a given tag, or fails naming what was expected.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function expectTag(t: Tlv | undefined, tag: number, what: string, field: string): Tlv {
  if (t === undefined) fail(what, `${field} is missing`);
  if (t.tag !== tag) fail(what, `${field} has tag 0x${t.tag.toString(16).padStart(2, '0')}, expected 0x${tag.toString(16).padStart(2, '0')}`);
  return t;
}

/** The content bytes of a BIT STRING with no unused bits. */
export function bitStringBytes(t: Tlv, what: string): Buffer {
  if (t.tag !== TAG.BIT_STRING) fail(what, 'expected a BIT STRING');
  if (t.value[0] !== 0) fail(what, 'a BIT STRING with unused bits where whole octets are required');
  return t.value.subarray(1);
}
