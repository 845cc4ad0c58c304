/**
 * @module pki/keys
 * Public keys as the PKI engine sees them: decode a SubjectPublicKeyInfo strictly, describe it
 * (`RSA-2048`, `EC P-256`), refuse weak or unsupported keys with a reason a person can act on
 * (RSA below 2048 bits, exponent other than 65537, small factors, Fermat-close primes; curves
 * other than P-256 and P-384), compute key identifiers (RFC 7093 §2 method 1) and map an issuer
 * key plus a hash to the signature algorithm (name, AlgorithmIdentifier DER, HSM mechanism).
 *
 * Must never: touch private keys.
 */
import { createHash, createPublicKey } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { KEY_SPEC_NAMES } from '../hsm/key-spec.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { bitStringBytes, children, decodeOid, derSequence, derTlv, encodeOid, expectTag, parseDer, TAG } from './der.ts';
import { CURVE, KEY_ALG, oidName, SIG_ALG } from './oids.ts';

/** A decoded public key. */
export type PublicKeyInfo =
  | { type: 'RSA'; bits: number; exponent: number | string; modulus: Buffer }
  | { type: 'EC'; curve: 'P-256' | 'P-384'; point: Buffer }
  | { type: 'unsupported'; algorithm: string; detail: string };

/** Key spec names accepted in profiles (`rsa-2048`, `ec-p256`, …; see core/hsm/key-spec.ts). */
export type KeySpecName = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ec-p256' | 'ec-p384';

/** Every accepted key spec name. */
export const KEY_SPECS: readonly KeySpecName[] = KEY_SPEC_NAMES as KeySpecName[];

/** Hash names used in profiles. */
export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';

const WHAT = 'the public key (SubjectPublicKeyInfo)';

/**
 * Decodes a SubjectPublicKeyInfo DER. Unknown algorithms and curves decode as `unsupported`
 * (so they can be described and refused with a reason); malformed DER throws.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function decodeSpki(spki: Uint8Array): PublicKeyInfo {
  const top = parseDer(spki, WHAT);
  const [alg, bits] = children(expectTag(top, TAG.SEQUENCE, WHAT, 'SubjectPublicKeyInfo'), WHAT);
  const algParts = children(expectTag(alg, TAG.SEQUENCE, WHAT, 'algorithm'), WHAT);
  const oid = decodeOid(expectTag(algParts[0], TAG.OID, WHAT, 'algorithm OID').value, WHAT);
  const keyBytes = bitStringBytes(expectTag(bits, TAG.BIT_STRING, WHAT, 'subjectPublicKey'), WHAT);
  if (oid === KEY_ALG.rsaEncryption) {
    const params = algParts[1];
    if (params === undefined || params.tag !== TAG.NULL) {
      throw new CoreError('ERR_PKI_DER_INVALID', `${WHAT} is not valid DER: rsaEncryption parameters must be NULL (RFC 3279 §2.3.1)`);
    }
    const rsa = parseDer(keyBytes, 'the RSA public key');
    const [n, e] = children(expectTag(rsa, TAG.SEQUENCE, 'the RSA public key', 'RSAPublicKey'), 'the RSA public key');
    const modulus = expectTag(n, TAG.INTEGER, 'the RSA public key', 'modulus').value;
    const exp = expectTag(e, TAG.INTEGER, 'the RSA public key', 'publicExponent').value;
    if (((modulus[0] as number) & 0x80) !== 0 || ((exp[0] as number) & 0x80) !== 0) {
      return { type: 'unsupported', algorithm: 'RSA', detail: 'a negative modulus or exponent' };
    }
    const m = modulus[0] === 0 ? modulus.subarray(1) : modulus;
    const bitsLen = m.length === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0] as number));
    const e0 = exp[0] === 0 ? exp.subarray(1) : exp;
    // Only small exponents become numbers: converting a hostile megabyte-long one to decimal is
    // superlinear, and it is refused anyway (only 65537 is accepted).
    const exponent = e0.length <= 6 ? Number(BigInt(`0x${e0.toString('hex') || '0'}`)) : `a ${e0.length}-octet value`;
    return { type: 'RSA', bits: bitsLen, exponent, modulus: Buffer.from(m) };
  }
  if (oid === KEY_ALG.ecPublicKey) {
    const params = algParts[1];
    if (params === undefined || params.tag !== TAG.OID) {
      return { type: 'unsupported', algorithm: 'EC', detail: 'explicit or missing curve parameters (only named curves are accepted, RFC 5480 §2.1.1)' };
    }
    const curveOid = decodeOid(params.value, WHAT);
    const curve = curveOid === CURVE['P-256'] ? 'P-256' : curveOid === CURVE['P-384'] ? 'P-384' : undefined;
    if (curve === undefined) return { type: 'unsupported', algorithm: 'EC', detail: `curve ${oidName(curveOid)}` };
    const expected = curve === 'P-256' ? 65 : 97;
    if (keyBytes.length !== expected || keyBytes[0] !== 0x04) {
      return { type: 'unsupported', algorithm: 'EC', detail: `a ${curve} point that is not uncompressed (${keyBytes.length} bytes)` };
    }
    return { type: 'EC', curve, point: Buffer.from(keyBytes) };
  }
  return { type: 'unsupported', algorithm: oidName(oid), detail: `algorithm ${oidName(oid)}` };
}

/** `RSA-2048`, `EC P-256`, or the unsupported algorithm. */
export function describeKey(key: PublicKeyInfo): string {
  if (key.type === 'RSA') return `RSA-${key.bits}`;
  if (key.type === 'EC') return `EC ${key.curve}`;
  return `unsupported (${key.detail})`;
}

/** The key spec name of a key (`rsa-2048`, `ec-p256`), when it is one. */
export function keySpecName(key: PublicKeyInfo): KeySpecName | undefined {
  if (key.type === 'RSA') {
    const n = `rsa-${key.bits}`;
    return (KEY_SPECS as readonly string[]).includes(n) ? (n as KeySpecName) : undefined;
  }
  if (key.type === 'EC') return key.curve === 'P-256' ? 'ec-p256' : 'ec-p384';
  return undefined;
}

const SMALL_PRIMES: bigint[] = (() => {
  const out: bigint[] = [];
  for (let n = 2; n < 2000; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) out.push(BigInt(n));
  }
  return out;
})();

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(`0x1${'0'.repeat(Math.ceil(n.toString(16).length / 2))}`);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Problems with an RSA modulus a CA must refuse (Boulder goodkey: small factors, Fermat). */
function rsaModulusProblem(modulus: Buffer): string | undefined {
  const n = BigInt(`0x${modulus.toString('hex')}`);
  for (const p of SMALL_PRIMES) if (n % p === 0n) return `the modulus is divisible by ${p}`;
  // Fermat's method finds p, q when |p − q| is small; a few rounds catch broken generators.
  let a = isqrt(n);
  if (a * a < n) a += 1n;
  for (let i = 0; i < 100; i++) {
    const b2 = a * a - n;
    const b = isqrt(b2);
    if (b * b === b2) return 'the modulus factors by Fermat\'s method (its primes are too close)';
    a += 1n;
  }
  return undefined;
}

/** What a key must satisfy. Defaults: RSA 2048–8192 with e = 65537; EC P-256 or P-384. */
export interface KeyPolicy {
  /** When given, only these key specs are accepted (profile `subjectKey`). */
  allowed?: readonly KeySpecName[];
}

/**
 * Checks a public key against NEAM CA's key rules and the optional allow-list. Returns the
 * decoded key.
 * @throws {CoreError} ERR_PKI_KEY_WEAK (too small, bad exponent, factorable), ERR_PKI_KEY_UNSUPPORTED
 *   (algorithm, curve or size not accepted), ERR_PKI_DER_INVALID
 */
export function checkPublicKey(spki: Uint8Array, policy: KeyPolicy = {}, whose = 'the key'): PublicKeyInfo {
  const key = decodeSpki(spki);
  const problem = publicKeyProblem(key, policy);
  if (problem !== undefined) throw new CoreError(problem.code, `${whose} is refused: ${problem.message}`, { details: { key: describeKey(key) } });
  return key;
}

/** Like {@link checkPublicKey} but returns the problem instead of throwing (for the linter). */
export function publicKeyProblem(key: PublicKeyInfo, policy: KeyPolicy = {}): { code: 'ERR_PKI_KEY_WEAK' | 'ERR_PKI_KEY_UNSUPPORTED'; message: string } | undefined {
  if (key.type === 'unsupported') {
    const hint = key.algorithm === 'EC' ? 'use an EC key on P-256 or P-384' : 'use RSA (2048 bits or more) or EC P-256/P-384';
    return { code: 'ERR_PKI_KEY_UNSUPPORTED', message: `${key.detail} is not accepted; ${hint}` };
  }
  if (key.type === 'RSA') {
    if (key.bits < 2048) return { code: 'ERR_PKI_KEY_WEAK', message: `RSA-${key.bits} is too small; RSA keys must have at least 2048 bits` };
    if (key.bits > 8192) return { code: 'ERR_PKI_KEY_UNSUPPORTED', message: `RSA-${key.bits} is larger than the 8192 bits accepted` };
    if (key.exponent !== 65537) return { code: 'ERR_PKI_KEY_WEAK', message: `the RSA public exponent is ${String(key.exponent)}; only 65537 is accepted` };
    const modProblem = rsaModulusProblem(key.modulus);
    if (modProblem !== undefined) return { code: 'ERR_PKI_KEY_WEAK', message: modProblem };
    try {
      createPublicKey({ key: { kty: 'RSA', n: key.modulus.toString('base64url'), e: 'AQAB' }, format: 'jwk' });
    } catch {
      return { code: 'ERR_PKI_KEY_UNSUPPORTED', message: 'the RSA key cannot be loaded' };
    }
  } else {
    try {
      const n = key.curve === 'P-256' ? 32 : 48;
      createPublicKey({ key: { kty: 'EC', crv: key.curve, x: key.point.subarray(1, 1 + n).toString('base64url'), y: key.point.subarray(1 + n).toString('base64url') }, format: 'jwk' });
    } catch {
      return { code: 'ERR_PKI_KEY_WEAK', message: `the point is not on curve ${key.curve}` };
    }
  }
  const spec = keySpecName(key);
  if (policy.allowed !== undefined && (spec === undefined || !policy.allowed.includes(spec))) {
    return { code: 'ERR_PKI_KEY_UNSUPPORTED', message: `${describeKey(key)} is not allowed by the profile (allowed: ${policy.allowed.join(', ')})` };
  }
  return undefined;
}

/**
 * Key identifier of RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the
 * subjectPublicKey BIT STRING value (without tag, length and unused-bits octet). Hex.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function keyIdentifier(spki: Uint8Array): string {
  const top = parseDer(spki, WHAT);
  const [, bits] = children(top, WHAT);
  const keyBytes = bitStringBytes(expectTag(bits, TAG.BIT_STRING, WHAT, 'subjectPublicKey'), WHAT);
  return createHash('sha256').update(keyBytes).digest().subarray(0, 20).toString('hex');
}

/** SHA-256 of the SPKI DER, hex (the key fingerprint used across NEAM CA). */
export function spkiSha256(spki: Uint8Array): string {
  return createHash('sha256').update(spki).digest('hex');
}

/** A signature algorithm with its encodings. */
export interface SignatureAlgorithmInfo {
  /** Name used by the HSM port (`RSA-PKCS1-SHA256`, `ECDSA-SHA256`, …). */
  sign: SignAlgorithm;
  /** Readable name (`sha256WithRSAEncryption`). */
  name: string;
  oid: string;
  /** The complete AlgorithmIdentifier DER (RSA with NULL parameters, ECDSA without). */
  der: Buffer;
  /** node:crypto digest name. */
  hash: 'sha256' | 'sha384' | 'sha512';
}

const SIG_TABLE: Record<SignAlgorithm, { oid: string; name: string; rsa: boolean; hash: 'sha256' | 'sha384' | 'sha512' }> = {
  'RSA-PKCS1-SHA256': { oid: SIG_ALG.sha256WithRSAEncryption, name: 'sha256WithRSAEncryption', rsa: true, hash: 'sha256' },
  'RSA-PKCS1-SHA384': { oid: SIG_ALG.sha384WithRSAEncryption, name: 'sha384WithRSAEncryption', rsa: true, hash: 'sha384' },
  'RSA-PKCS1-SHA512': { oid: SIG_ALG.sha512WithRSAEncryption, name: 'sha512WithRSAEncryption', rsa: true, hash: 'sha512' },
  'ECDSA-SHA256': { oid: SIG_ALG.ecdsaWithSHA256, name: 'ecdsa-with-SHA256', rsa: false, hash: 'sha256' },
  'ECDSA-SHA384': { oid: SIG_ALG.ecdsaWithSHA384, name: 'ecdsa-with-SHA384', rsa: false, hash: 'sha384' },
};

/** Encodings of a {@link SignAlgorithm}. */
export function signatureAlgorithm(sign: SignAlgorithm): SignatureAlgorithmInfo {
  const e = SIG_TABLE[sign];
  const der = e.rsa ? derSequence([encodeOid(e.oid), derTlv(TAG.NULL, Buffer.alloc(0))]) : derSequence([encodeOid(e.oid)]);
  return { sign, name: e.name, oid: e.oid, der, hash: e.hash };
}

/** The {@link SignAlgorithm} whose AlgorithmIdentifier is exactly `der`, if any. */
export function signAlgorithmOfIdentifier(der: Uint8Array): SignAlgorithm | undefined {
  const b = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  for (const s of Object.keys(SIG_TABLE) as SignAlgorithm[]) if (signatureAlgorithm(s).der.equals(b)) return s;
  return undefined;
}

/**
 * The signature algorithm an issuer key uses with `hash` (RSA → PKCS#1 v1.5, EC → ECDSA).
 * @throws {CoreError} ERR_PKI_KEY_UNSUPPORTED
 */
export function signAlgorithmFor(issuerSpki: Uint8Array, hash: HashName): SignAlgorithm {
  const key = decodeSpki(issuerSpki);
  const h = hash.replace('-', '');
  if (key.type === 'RSA') return `RSA-PKCS1-${h}` as SignAlgorithm;
  if (key.type === 'EC') {
    if (hash === 'SHA-512') throw new CoreError('ERR_PKI_KEY_UNSUPPORTED', `ECDSA with SHA-512 is not supported by the HSM port; use SHA-256 (P-256) or SHA-384 (P-384)`);
    return `ECDSA-${h}` as SignAlgorithm;
  }
  throw new CoreError('ERR_PKI_KEY_UNSUPPORTED', `the issuer key (${key.detail}) cannot sign certificates here`);
}

/** True when a signature algorithm fits the key type (RSA key ↔ RSA-PKCS1, EC key ↔ ECDSA). */
export function algorithmFitsKey(sign: SignAlgorithm, key: PublicKeyInfo): boolean {
  return SIG_TABLE[sign].rsa ? key.type === 'RSA' : key.type === 'EC';
}
