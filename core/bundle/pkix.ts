/**
 * @module bundle/pkix
 * The few X.509 readers the bundle kind checks need: strict PEM blocks, PKCS#10 CSRs (parsed and
 * proof-of-possession verified), certificates (Node's X509Certificate), and CRLs (parsed and
 * signature-checked against an issuer). Parsing is strict DER: an object whose re-encoding differs
 * from its input is refused, so every reader of the same bytes sees the same object.
 *
 * Isolated here until `core/pki` lands on main with its own readers and linting; then these
 * become thin calls to it.
 *
 * Must never: accept a signature it did not verify, or read private key material.
 */
import { createHash, createPublicKey, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';

import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { Certificate, CertificateList } from '@peculiar/asn1-x509';

/** A PEM block: its label and DER. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/gu;

/**
 * Parses text made only of PEM blocks and whitespace. Returns undefined (with a reason) when
 * anything else is present, a block is malformed, or its base64 does not round-trip.
 */
export function parsePem(text: string): { blocks: PemBlock[] } | { problem: string } {
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (text.slice(last, m.index).trim() !== '') return { problem: 'it holds text outside PEM blocks' };
    const body = (m[2] ?? '').replace(/\r?\n/gu, '');
    const der = Buffer.from(body, 'base64');
    if (der.toString('base64') !== body || der.length === 0) return { problem: `its ${m[1] ?? ''} block is not valid base64` };
    blocks.push({ label: m[1] ?? '', der });
    last = (m.index ?? 0) + m[0].length;
  }
  if (text.slice(last).trim() !== '') return { problem: 'it holds text outside PEM blocks' };
  if (blocks.length === 0) return { problem: 'it holds no PEM block' };
  return { blocks };
}

/** Encodes DER as a PEM block. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/gu, '$1\n').replace(/\n$/u, '')}\n-----END ${label}-----\n`;
}

/** SHA-256 hex of bytes. */
export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

const SIG_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
};

/** Describes a public key: `RSA-2048`, `EC P-256`, … */
export function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'rsa') return `RSA-${key.asymmetricKeyDetails?.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') {
    const c = key.asymmetricKeyDetails?.namedCurve;
    return `EC ${c === 'prime256v1' ? 'P-256' : c === 'secp384r1' ? 'P-384' : (c ?? '?')}`;
  }
  return key.asymmetricKeyType ?? 'unknown';
}

/** A parsed, signature-checked CSR. */
export interface CsrInfo {
  readonly der: Buffer;
  readonly sha256: string;
  readonly spki: Buffer;
  readonly spkiSha256: string;
  readonly key: string;
  readonly subject: string;
}

/**
 * Parses a DER PKCS#10 CSR and verifies its self-signature (proof of possession).
 * Returns a problem text instead of throwing.
 */
export function readCsr(der: Buffer): CsrInfo | { problem: string } {
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch {
    return { problem: 'it is not a PKCS#10 certificate request' };
  }
  if (!Buffer.from(AsnConvert.serialize(csr)).equals(der)) return { problem: 'it is not DER-encoded' };
  if (csr.certificationRequestInfo.version !== 0) return { problem: `it has version ${csr.certificationRequestInfo.version}` };
  const hash = SIG_HASH[csr.signatureAlgorithm.algorithm];
  if (hash === undefined) return { problem: `its signature algorithm ${csr.signatureAlgorithm.algorithm} is not allowed (RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512)` };
  const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch {
    return { problem: 'its public key cannot be read' };
  }
  const tbs = csr.certificationRequestInfoRaw === undefined ? Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo)) : Buffer.from(csr.certificationRequestInfoRaw);
  let ok: boolean;
  try {
    ok = nodeVerify(hash, tbs, key, Buffer.from(csr.signature));
  } catch {
    ok = false;
  }
  if (!ok) return { problem: 'its signature does not verify (no proof of possession of the key)' };
  const described = describeKey(key);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!(described === 'EC P-256' || described === 'EC P-384' || (key.asymmetricKeyType === 'rsa' && bits >= 2048 && bits <= 8192))) {
    return { problem: `its key ${described} is not allowed (RSA 2048-8192, EC P-256 or P-384)` };
  }
  const subject = csr.certificationRequestInfo.subject
    .map((rdn) => rdn.map((atv) => `${atv.type}=${atv.value.toString()}`).join('+'))
    .join(', ');
  return { der, sha256: sha256Hex(der), spki, spkiSha256: sha256Hex(spki), key: described, subject };
}

/** Parses a DER certificate, or returns a problem text. */
export function readCertificate(der: Buffer): X509Certificate | { problem: string } {
  try {
    const x = new X509Certificate(der);
    if (!x.raw.equals(der)) return { problem: 'it is not DER-encoded' };
    return x;
  } catch {
    return { problem: 'it is not an X.509 certificate' };
  }
}

/** SPKI DER of a certificate's key. */
export function spkiOf(x: X509Certificate): Buffer {
  return x.publicKey.export({ type: 'spki', format: 'der' });
}

/** Reads a DER INTEGER's content octets as a non-negative bigint (or undefined). */
function derIntegerValue(b: Buffer): bigint | undefined {
  if (b.length < 3 || b[0] !== 0x02) return undefined;
  const len = b[1] ?? 0;
  if (len >= 0x80 || 2 + len !== b.length || len === 0) return undefined;
  const body = b.subarray(2);
  if (((body[0] ?? 0) & 0x80) !== 0) return undefined;
  return body.length === 0 ? 0n : BigInt(`0x${body.toString('hex')}`);
}

/** A parsed, signature-checked CRL. */
export interface CrlInfo {
  readonly der: Buffer;
  readonly sha256: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly crlNumber: bigint | undefined;
  readonly revokedCount: number;
}

/**
 * Parses a DER CRL (v2). With `issuer`, also checks that the CRL names that issuer and that its
 * signature verifies with the issuer's key (`wrongIssuer` is set when either fails).
 */
export function readCrl(der: Buffer, issuer?: X509Certificate): CrlInfo | { problem: string; wrongIssuer?: boolean } {
  let crl: CertificateList;
  try {
    crl = AsnConvert.parse(der, CertificateList);
  } catch {
    return { problem: 'it is not an X.509 CRL' };
  }
  if (!Buffer.from(AsnConvert.serialize(crl)).equals(der)) return { problem: 'it is not DER-encoded' };
  if (crl.tbsCertList.version !== 1) return { problem: 'it is not a version 2 CRL' };
  const hash = SIG_HASH[crl.signatureAlgorithm.algorithm];
  if (hash === undefined) return { problem: `its signature algorithm ${crl.signatureAlgorithm.algorithm} is not allowed` };
  if (issuer !== undefined) {
    const issuerName = Buffer.from(AsnConvert.serialize(crl.tbsCertList.issuer));
    const expected = subjectDer(issuer);
    if (expected === undefined || !issuerName.equals(expected)) return { problem: `it was issued by another CA than '${issuer.subject.replace(/\n/gu, ', ')}'`, wrongIssuer: true };
    const tbs = crl.tbsCertListRaw === undefined ? Buffer.from(AsnConvert.serialize(crl.tbsCertList)) : Buffer.from(crl.tbsCertListRaw);
    let ok: boolean;
    try {
      ok = nodeVerify(hash, tbs, issuer.publicKey, Buffer.from(crl.signature));
    } catch {
      ok = false;
    }
    if (!ok) return { problem: `its signature does not verify with the key of '${issuer.subject.replace(/\n/gu, ', ')}'`, wrongIssuer: true };
  }
  const numberExt = crl.tbsCertList.crlExtensions?.find((e) => e.extnID === '2.5.29.20');
  const crlNumber = numberExt === undefined ? undefined : derIntegerValue(Buffer.from(numberExt.extnValue.buffer));
  if (numberExt !== undefined && crlNumber === undefined) return { problem: 'its CRL number is malformed' };
  return {
    der,
    sha256: sha256Hex(der),
    thisUpdate: crl.tbsCertList.thisUpdate.getTime(),
    nextUpdate: crl.tbsCertList.nextUpdate?.getTime(),
    crlNumber,
    revokedCount: crl.tbsCertList.revokedCertificates?.length ?? 0,
  };
}

/** The DER of a certificate's subject Name. */
function subjectDer(x: X509Certificate): Buffer | undefined {
  try {
    const c = AsnConvert.parse(x.raw, Certificate);
    return Buffer.from(AsnConvert.serialize(c.tbsCertificate.subject));
  } catch {
    return undefined;
  }
}

/**
 * Checks that `cert` was issued and signed by `issuer` (names and signature); true or a problem.
 */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): true | { problem: string } {
  if (cert.issuer !== issuer.subject) return { problem: `it was issued by '${cert.issuer.replace(/\n/gu, ', ')}', not by the pinned root` };
  let ok: boolean;
  try {
    ok = cert.verify(issuer.publicKey);
  } catch {
    ok = false;
  }
  return ok ? true : { problem: 'its signature does not verify with the pinned root key' };
}
