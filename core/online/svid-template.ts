/**
 * @module online/svid-template
 * The X.509-SVID certificate template of the issuance fast path. For each intermediate the fixed
 * parts of the tbsCertificate (version, signature algorithm, issuer name, the constant extensions,
 * the authority key identifier and the revocation URLs) are encoded once; per certificate only the
 * serial, validity, public key, subject key identifier and subjectAltName are filled in. The
 * profile follows the X509-SVID specification (spiffe/spiffe `standards/X509-SVID.md`):
 * - exactly one URI SAN (§2), with DNS names and IP addresses allowed beside it; the subject is
 *   empty, so the SAN extension is critical (§3.1, RFC 5280 §4.2.1.6);
 * - basicConstraints CA:FALSE, critical (§4.1);
 * - keyUsage digitalSignature only, critical (§4.3);
 * - extKeyUsage serverAuth and clientAuth (§4.4);
 * - SKI (RFC 7093 method 1: the leftmost 160 bits of SHA-256 of the key, as core/pki makes them)
 *   and AKI = the intermediate's SKI.
 *
 * Must never: encode anything the caller did not validate, or sign (signing is the caller's).
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

import type { SignAlgorithm } from '../hsm/types.ts';
import { ascii, oid, seq, tlv } from './der.ts';

/** The intermediate a template is compiled for. */
export interface IssuerProfile {
  /** Our id of the intermediate. */
  readonly id: string;
  /** DER of the intermediate's subject Name (becomes the SVID's issuer, byte for byte). */
  readonly subjectDer: Buffer;
  /** The intermediate's subject key identifier (becomes the SVID's AKI). */
  readonly ski: Buffer;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** How the intermediate signs. */
  readonly signatureAlgorithm: SignAlgorithm;
  /** OCSP responder URL for the AIA extension, when published. */
  readonly ocspUrl?: string | undefined;
  /** CRL URL for the CRL distribution points extension, when published. */
  readonly crlUrl?: string | undefined;
}

/** A compiled template: the pre-encoded fixed parts. */
export interface SvidTemplate {
  readonly issuer: IssuerProfile;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** `[0] v3` followed by nothing: the serial comes next. */
  readonly head: Buffer;
  /** signature AlgorithmIdentifier + issuer Name (between serial and validity). */
  readonly sigAlgAndIssuer: Buffer;
  /** AlgorithmIdentifier of the outer certificate. */
  readonly sigAlg: Buffer;
  /** Empty subject. */
  readonly subject: Buffer;
  /** Constant extensions in order: basicConstraints, keyUsage, extKeyUsage, AKI, [AIA], [CRLDP]. */
  readonly fixedExtensions: Buffer;
}

/** The per-certificate values. */
export interface SvidFields {
  /** Positive serial: the 0x01 prefix octet and 16 random octets (core/pki's serial form). */
  readonly serial: Buffer;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** SubjectPublicKeyInfo DER (already validated). */
  readonly spki: Buffer;
  /** Where the subjectPublicKey BIT STRING's contents start inside `spki` (after the unused-bits byte). */
  readonly keyBitsOffset: number;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
}

const SIG_ALG_DER: Partial<Record<SignAlgorithm, Buffer>> = {
  'ECDSA-SHA256': seq(oid('1.2.840.10045.4.3.2')),
  'ECDSA-SHA384': seq(oid('1.2.840.10045.4.3.3')),
  'RSA-PKCS1-SHA256': seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00])),
  'RSA-PKCS1-SHA384': seq(oid('1.2.840.113549.1.1.12'), Buffer.from([0x05, 0x00])),
  'RSA-PKCS1-SHA512': seq(oid('1.2.840.113549.1.1.13'), Buffer.from([0x05, 0x00])),
};
/** The DER AlgorithmIdentifier of a signature algorithm. */
export function signatureAlgorithmDer(alg: SignAlgorithm): Buffer {
  const der = SIG_ALG_DER[alg];
  if (der === undefined) throw new TypeError(`unsupported signature algorithm ${alg}`);
  return der;
}

const HASH_OF: Record<SignAlgorithm, 'sha256' | 'sha384' | 'sha512'> = {
  'ECDSA-SHA256': 'sha256',
  'ECDSA-SHA384': 'sha384',
  'RSA-PKCS1-SHA256': 'sha256',
  'RSA-PKCS1-SHA384': 'sha384',
  'RSA-PKCS1-SHA512': 'sha512',
};

const CRITICAL = Buffer.from([0x01, 0x01, 0xff]);
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), CRITICAL, tlv(0x04, value)) : seq(oid(id), tlv(0x04, value));
}

/** basicConstraints CA:FALSE (an empty SEQUENCE: DER omits the default), critical. */
const BASIC_CONSTRAINTS = extension('2.5.29.19', true, seq());
/** keyUsage digitalSignature (bit 0), critical. */
const KEY_USAGE = extension('2.5.29.15', true, Buffer.from([0x03, 0x02, 0x07, 0x80]));
/** extKeyUsage serverAuth + clientAuth. */
const EXT_KEY_USAGE = extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')));
const SAN_OID = oid('2.5.29.17');
const SKI_OID = oid('2.5.29.14');
const VERSION_3 = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02]);

/**
 * Compiles the template for an intermediate.
 * @throws {TypeError} for an unsupported signature algorithm (a programming error)
 */
export function compileTemplate(issuer: IssuerProfile): SvidTemplate {
  const sigAlg = SIG_ALG_DER[issuer.signatureAlgorithm];
  if (sigAlg === undefined) throw new TypeError(`unsupported intermediate signature algorithm ${issuer.signatureAlgorithm}`);
  const fixed: Buffer[] = [BASIC_CONSTRAINTS, KEY_USAGE, EXT_KEY_USAGE, extension('2.5.29.35', false, seq(tlv(0x80, issuer.ski)))];
  if (issuer.ocspUrl !== undefined) {
    // authorityInfoAccess: id-ad-ocsp, uniformResourceIdentifier (RFC 5280 §4.2.2.1)
    fixed.push(extension('1.3.6.1.5.5.7.1.1', false, seq(seq(oid('1.3.6.1.5.5.7.48.1'), ascii(0x86, issuer.ocspUrl)))));
  }
  if (issuer.crlUrl !== undefined) {
    // cRLDistributionPoints: DistributionPoint { distributionPoint [0] { fullName [0] { URI } } } (RFC 5280 §4.2.1.13)
    fixed.push(extension('2.5.29.31', false, seq(seq(tlv(0xa0, tlv(0xa0, ascii(0x86, issuer.crlUrl)))))));
  }
  return {
    issuer,
    hash: HASH_OF[issuer.signatureAlgorithm],
    head: VERSION_3,
    sigAlgAndIssuer: Buffer.concat([sigAlg, issuer.subjectDer]),
    sigAlg,
    subject: seq(),
    fixedExtensions: Buffer.concat(fixed),
  };
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5), whole seconds, `Z`. */
export function encodeTime(ms: number): Buffer {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return ascii(0x17, `${two(y % 100)}${rest}`);
  return ascii(0x18, `${String(y).padStart(4, '0')}${rest}`);
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map((x) => Number(x)));
  if (isIPv6(ip)) {
    const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const out = Buffer.alloc(16);
    words.forEach((w, i) => out.writeUInt16BE(parseInt(w, 16), i * 2));
    return out;
  }
  throw new TypeError(`not an IP address: ${ip}`);
}

/** The subjectAltName extension value (critical: the subject is empty). */
function sanExtension(spiffeId: string, dnsNames: readonly string[], ips: readonly string[]): Buffer {
  const names: Buffer[] = [ascii(0x86, spiffeId)];
  for (const d of dnsNames) names.push(ascii(0x82, d));
  for (const ip of ips) names.push(tlv(0x87, ipBytes(ip)));
  return seq(SAN_OID, CRITICAL, tlv(0x04, seq(...names)));
}

/** The leftmost 160 bits of SHA-256 of the subjectPublicKey bits (RFC 7093 §2 method 1). */
export function keyIdentifier(spki: Buffer, keyBitsOffset: number): Buffer {
  return createHash('sha256').update(spki.subarray(keyBitsOffset)).digest().subarray(0, 20);
}

/** Builds the DER tbsCertificate for one SVID. */
export function buildTbs(t: SvidTemplate, f: SvidFields): Buffer {
  const serial = tlv(0x02, f.serial);
  const validity = seq(encodeTime(f.notBeforeMs), encodeTime(f.notAfterMs));
  const ski = seq(SKI_OID, tlv(0x04, tlv(0x04, keyIdentifier(f.spki, f.keyBitsOffset))));
  const extensions = tlv(0xa3, seq(t.fixedExtensions, ski, sanExtension(f.spiffeId, f.dnsNames, f.ipAddresses ?? [])));
  return seq(t.head, serial, t.sigAlgAndIssuer, validity, t.subject, f.spki, extensions);
}

/** Wraps a tbsCertificate and its signature into the DER Certificate. */
export function assembleCertificate(t: SvidTemplate, tbs: Buffer, signature: Buffer): Buffer {
  return seq(tbs, t.sigAlg, tlv(0x03, Buffer.from([0]), signature));
}

/** PEM text of a DER certificate. */
export function certificatePem(der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}
