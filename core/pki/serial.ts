/**
 * @module pki/serial
 * Certificate serial numbers: a fixed 0x01 octet followed by `bytes` random octets from the
 * caller's random source (the HSM RNG in production). The prefix keeps the INTEGER positive and
 * minimally encoded whatever the random octets are (Boulder does the same), and the random part
 * carries the entropy: 16 octets = 128 bits by default, never below 8 octets = 64 bits (CA/B BR
 * §7.1). Uniqueness is checked against the store by the CA layer.
 *
 * Must never: draw randomness itself; the source is a parameter so the code stays pure.
 */
import { CoreError } from '../errors.ts';

/** A random source: returns `length` random bytes (e.g. `(n) => session.random(n)`). */
export type RandomSource = (length: number) => Uint8Array;

/** The fixed first octet of every serial NEAM CA makes. */
export const SERIAL_PREFIX = 0x01;

/**
 * A new serial number as lower-case hex (prefix octet + `bytes` random octets).
 * @throws {CoreError} ERR_INTERNAL when the source returns the wrong length or all zeros
 */
export function newSerial(random: RandomSource, bytes = 16): string {
  if (!Number.isInteger(bytes) || bytes < 8 || bytes > 19) throw new TypeError(`serial random part must be 8-19 bytes, got ${bytes}`);
  const r = random(bytes);
  if (r.length !== bytes) throw new CoreError('ERR_INTERNAL', `internal error (please report this as a bug): the random source returned ${r.length} bytes, ${bytes} requested`);
  if (r.every((b) => b === 0)) throw new CoreError('ERR_INTERNAL', 'internal error (please report this as a bug): the random source returned only zero bytes');
  return Buffer.concat([Buffer.from([SERIAL_PREFIX]), Buffer.from(r)]).toString('hex');
}

/** Normalises serial hex from people or tools (`01:AB…`, `0x01ab…`, upper case) to our form. */
export function normalizeSerial(text: string): string {
  const t = text.trim().toLowerCase().replace(/^0x/u, '').replace(/[:\s]/gu, '');
  if (!/^[0-9a-f]+$/u.test(t) || t.length > 42) throw new CoreError('ERR_INPUT_INVALID', `'${text}' is not a certificate serial number in hex`);
  const stripped = t.replace(/^(00)+(?=[0-9a-f]{2})/u, '');
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}

/** The DER INTEGER content octets for a positive serial hex (adds a sign-padding zero if needed). */
export function serialIntegerBytes(serialHex: string): Buffer {
  const b = Buffer.from(serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex, 'hex');
  return ((b[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b;
}
