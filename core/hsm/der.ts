/**
 * @module hsm/der
 * The few DER encodings the HSM adapter needs to turn token attributes and raw mechanism output
 * into standard forms: SubjectPublicKeyInfo from RSA/EC public attributes, and ECDSA signatures
 * from PKCS#11's raw r‖s (PKCS#11 v2.40 §2.3.1) to the DER `Ecdsa-Sig-Value` of RFC 3279 §2.2.3.
 *
 * Must never: handle private key material.
 */
import { createPublicKey } from 'node:crypto';

import { CoreError } from '../errors.ts';

/** DER of the namedCurve OIDs (RFC 5480 §2.1.1.1). */
export const EC_PARAMS = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
} as const;

/** Which curve an encoded CKA_EC_PARAMS names, if one we support. */
export function curveOfParams(params: Buffer): 'P-256' | 'P-384' | undefined {
  if (params.equals(EC_PARAMS['P-256'])) return 'P-256';
  if (params.equals(EC_PARAMS['P-384'])) return 'P-384';
  return undefined;
}

const COORD_LEN = { 'P-256': 32, 'P-384': 48 } as const;

function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function derInteger(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  let body = unsigned.subarray(i);
  if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/** Converts a raw r‖s ECDSA signature to DER. */
export function ecdsaRawToDer(raw: Buffer): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) {
    throw new CoreError('ERR_HSM_FAILED', `the token returned an ECDSA signature of odd length ${raw.length}`);
  }
  const half = raw.length / 2;
  const body = Buffer.concat([derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Unwraps CKA_EC_POINT (a DER OCTET STRING around the uncompressed point; some tokens omit the wrapper). */
export function unwrapEcPoint(value: Buffer, curve: 'P-256' | 'P-384'): Buffer {
  const pointLen = 1 + 2 * COORD_LEN[curve];
  if (value.length === pointLen && value[0] === 0x04) return value;
  if (value[0] === 0x04) {
    const lenByte = value[1] ?? 0;
    const hdr = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
    const point = value.subarray(hdr);
    if (point.length === pointLen && point[0] === 0x04) return point;
  }
  throw new CoreError('ERR_HSM_FAILED', 'the token returned an EC point that is not an uncompressed point on the key\'s curve');
}

/** SPKI DER for an RSA public key from CKA_MODULUS / CKA_PUBLIC_EXPONENT. */
export function rsaSpki(modulus: Buffer, exponent: Buffer): Buffer {
  const key = createPublicKey({ key: { kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') }, format: 'jwk' });
  return key.export({ type: 'spki', format: 'der' });
}

/** SPKI DER for an EC public key from the uncompressed point. */
export function ecSpki(curve: 'P-256' | 'P-384', point: Buffer): Buffer {
  const n = COORD_LEN[curve];
  const key = createPublicKey({
    key: { kty: 'EC', crv: curve, x: point.subarray(1, 1 + n).toString('base64url'), y: point.subarray(1 + n).toString('base64url') },
    format: 'jwk',
  });
  return key.export({ type: 'spki', format: 'der' });
}
