/**
 * @module online/der
 * The minimal strict DER reader and writer of the issuance fast path: read one TLV with a
 * definite, minimally encoded length that stays inside its parent, and encode lengths and TLVs.
 * The generic ASN.1 schema library is too slow for thousands of certificates a second; this
 * module is the small, exhaustively tested replacement for exactly the structures the online CA
 * reads (PKCS#10 requests) and writes (X.509-SVID TBS certificates).
 *
 * Must never: accept indefinite lengths, non-minimal length encodings, high tag numbers or a TLV
 * that runs past its parent (X.690 §10.1 for DER).
 */
import { CoreError, type CoreErrorCode } from '../errors.ts';

/** One decoded TLV: the value is `buf[valueStart, end)`. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

/** Error raised by the reader; callers turn it into their own code and context. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/**
 * Reads the TLV at `offset`, which must end at or before `limit`.
 * @throws {DerError} on any DER violation
 */
export function readTlv(buf: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated at byte ${offset}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at byte ${offset}`);
  let first = buf[offset + 1] as number;
  let pos = offset + 2;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError(`indefinite length at byte ${offset}`);
    if (n > 4) throw new DerError(`length of ${n} bytes at byte ${offset} is too large`);
    if (pos + n > limit) throw new DerError(`truncated length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[pos + i] as number);
    first = buf[pos] as number;
    if (first === 0 || length < 0x80) throw new DerError(`non-minimal length encoding at byte ${offset}`);
    pos += n;
  }
  const end = pos + length;
  if (end > limit) throw new DerError(`value at byte ${offset} runs past its end (${length} bytes declared)`);
  return { tag, start: offset, valueStart: pos, end };
}

/** Reads a TLV and checks its tag. @throws {DerError} */
export function expectTlv(buf: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, offset, limit);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

/** The encoded DER length octets of `n`. */
export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  if (n < 0x1000000) return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  throw new RangeError(`DER length ${n} is too large`);
}

/** A TLV from its tag and value parts. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  return Buffer.concat([Buffer.from([tag]), encodeLength(len), ...parts], 1 + (len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 4) + len);
}

/** A SEQUENCE of the parts. */
export function seq(...parts: Uint8Array[]): Buffer {
  return tlv(0x30, ...parts);
}

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new TypeError(`invalid OID ${dotted}`);
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const bytes: number[] = [];
    let v = arc;
    do {
      bytes.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < bytes.length - 1; i++) bytes[i] = (bytes[i] as number) | 0x80;
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}

/** An IA5String/implicitly tagged string of ASCII text. */
export function ascii(tag: number, text: string): Buffer {
  return tlv(tag, Buffer.from(text, 'latin1'));
}

/** Converts a DerError into a CoreError with `code` and a prefix naming the input. */
export function derFailure(e: unknown, code: CoreErrorCode, what: string): never {
  if (e instanceof DerError) throw new CoreError(code, `${what} is not valid DER: ${e.message}`);
  throw e;
}
