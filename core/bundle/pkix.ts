/**
 * @module bundle/pkix
 * The X.509 readers the bundle kind checks need, as thin adapters over `core/pki` (strict DER
 * decoding, CSR proof of possession, `checkIssuedBy`/`checkCrlIssuedBy`) that report problems as
 * text for the kind checks' problem lists instead of throwing: PEM payload files (a file must be
 * nothing but PEM blocks), CSRs, certificates (as Node's X509Certificate, also strict DER) and
 * CRLs.
 *
 * Must never: accept a signature it did not verify, or read private key material.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { checkCrlIssuedBy, checkIssuedBy, parseCertificate, parseCrl, parseCsr, verifyCsrSignature, type CrlInfo as PkiCrlInfo, type CsrInfo as PkiCsrInfo } from '../pki/index.ts';

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
 * Parses a DER PKCS#10 CSR (core/pki, strict DER) and verifies its self-signature (proof of
 * possession); checks the key is one an intermediate may have. Returns a problem text instead of
 * throwing.
 */
export function readCsr(der: Buffer): CsrInfo | { problem: string } {
  let csr: PkiCsrInfo;
  try {
    csr = parseCsr(der, 'the CSR');
    verifyCsrSignature(csr, 'the CSR');
  } catch (e) {
    if (e instanceof CoreError && e.code === 'ERR_PKI_CSR_SIGNATURE_INVALID') return { problem: 'its signature does not verify (no proof of possession of the key)' };
    return { problem: e instanceof CoreError ? e.message.replace(/^the CSR /u, 'it ') : 'it is not a PKCS#10 certificate request' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: csr.spki, format: 'der', type: 'spki' });
  } catch {
    return { problem: 'its public key cannot be read' };
  }
  const described = describeKey(key);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!(described === 'EC P-256' || described === 'EC P-384' || (key.asymmetricKeyType === 'rsa' && bits >= 2048 && bits <= 8192))) {
    return { problem: `its key ${described} is not allowed (RSA 2048-8192, EC P-256 or P-384)` };
  }
  return { der, sha256: csr.sha256, spki: csr.spki, spkiSha256: csr.spkiSha256, key: described, subject: csr.subject.text };
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

/** A parsed CRL (signature checked when an issuer was given). */
export interface CrlInfo {
  readonly der: Buffer;
  readonly sha256: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly crlNumber: bigint | undefined;
  readonly revokedCount: number;
}

/**
 * Parses a DER CRL (version 2, core/pki). With `issuer`, also checks with `checkCrlIssuedBy` that
 * the CRL names that issuer, matches its key identifier, and verifies with its key
 * (`wrongIssuer` is set when that fails).
 */
export function readCrl(der: Buffer, issuer?: X509Certificate): CrlInfo | { problem: string; wrongIssuer?: boolean } {
  let crl: PkiCrlInfo;
  try {
    crl = parseCrl(der, 'the CRL');
  } catch (e) {
    return { problem: e instanceof CoreError ? e.message.replace(/^the CRL /u, 'it ') : 'it is not an X.509 CRL' };
  }
  if (crl.version !== 2) return { problem: 'it is not a version 2 CRL' };
  if (issuer !== undefined) {
    try {
      checkCrlIssuedBy(crl, parseCertificate(issuer.raw, 'the issuer'));
    } catch (e) {
      return { problem: e instanceof CoreError ? e.message : 'it was not issued by the pinned root', wrongIssuer: true };
    }
  }
  return { der, sha256: crl.sha256, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, crlNumber: crl.crlNumber, revokedCount: crl.revoked.length };
}

/**
 * Checks with core/pki's `checkIssuedBy` that `cert` was issued and signed by `issuer` (names,
 * authority key identifier, issuer may sign certificates, signature); true or a problem.
 */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): true | { problem: string } {
  try {
    checkIssuedBy(parseCertificate(cert.raw, 'the certificate'), parseCertificate(issuer.raw, 'the issuer'));
    return true;
  } catch (e) {
    return { problem: e instanceof CoreError ? e.message : 'it does not chain to the issuer' };
  }
}
