/**
 * @module online/ca-cert
 * Reading the CA certificates the online side receives from the ceremony (intermediates and
 * roots): the exact subject bytes and key identifiers the issuance template needs, validity,
 * key algorithm, and the CA extensions the import checks (basicConstraints, keyUsage, name
 * constraints, the SPIFFE trust-domain SAN). Also PEM splitting for certificate files.
 *
 * Must never: trust a certificate because it parsed; the import decides what is acceptable.
 */
import { createHash, createPublicKey, verify as nodeVerify, X509Certificate } from 'node:crypto';

import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  NameConstraints,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';

import { CoreError } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { DerError, expectTlv, readTlv } from './der.ts';
import type { IssuerProfile } from './svid-template.ts';

/** Key algorithms of CA certificates we can use or chain to. */
export type CaKeyAlgorithm = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/** What the online CA needs to know about a CA certificate. */
export interface CaCertInfo {
  readonly der: Buffer;
  readonly sha256: string;
  /** DER of the subject Name. */
  readonly subjectDer: Buffer;
  readonly issuerDer: Buffer;
  readonly subject: string;
  readonly issuer: string;
  readonly serialHex: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly spki: Buffer;
  readonly keyAlgorithm: CaKeyAlgorithm | 'other';
  /** The SKI extension, or the RFC 5280 method-1 hash when the extension is absent. */
  readonly ski: Buffer;
  readonly hasSkiExtension: boolean;
  readonly isCa: boolean;
  readonly pathLen: number | undefined;
  readonly keyCertSign: boolean;
  readonly crlSign: boolean;
  readonly digitalSignature: boolean;
  readonly uriSans: string[];
  /** Permitted URI name-constraint subtrees (e.g. `example.org`), if the extension is present. */
  readonly permittedUris: string[] | undefined;
  readonly selfSigned: boolean;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/gu;

/**
 * Splits PEM text into DER certificates; refuses anything other than CERTIFICATE blocks and
 * whitespace, and private keys outright.
 * @throws {CoreError} ERR_PKI_PEM_INVALID
 */
export function splitPemCertificates(text: string, what: string): Buffer[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/u.test(text)) throw new CoreError('ERR_PKI_PEM_INVALID', `${what} contains a private key; only certificates are accepted here`);
  const out: Buffer[] = [];
  const leftover = text.replace(PEM_CERT_RE, (_m, b64: string) => {
    const clean = b64.replace(/\s+/gu, '');
    const der = Buffer.from(clean, 'base64');
    if (der.toString('base64') !== clean) throw new CoreError('ERR_PKI_PEM_INVALID', `${what} holds a certificate whose base64 is not valid`);
    out.push(der);
    return '';
  });
  if (leftover.trim() !== '') throw new CoreError('ERR_PKI_PEM_INVALID', `${what} holds text other than PEM CERTIFICATE blocks`);
  if (out.length === 0) throw new CoreError('ERR_PKI_PEM_INVALID', `${what} holds no PEM certificate`);
  return out;
}

function keyAlgorithmOf(spki: Buffer): CaKeyAlgorithm | 'other' {
  try {
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const d = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType === 'ec') {
      if (d?.namedCurve === 'prime256v1') return 'ec-p256';
      if (d?.namedCurve === 'secp384r1') return 'ec-p384';
      return 'other';
    }
    if (key.asymmetricKeyType === 'rsa') {
      if (d?.modulusLength === 2048) return 'rsa-2048';
      if (d?.modulusLength === 3072) return 'rsa-3072';
      if (d?.modulusLength === 4096) return 'rsa-4096';
    }
    return 'other';
  } catch {
    return 'other';
  }
}

/** The signature algorithm an intermediate of `alg` uses for SVIDs, CRLs and OCSP. */
export function signAlgorithmFor(alg: CaKeyAlgorithm): SignAlgorithm {
  if (alg === 'ec-p256') return 'ECDSA-SHA256';
  if (alg === 'ec-p384') return 'ECDSA-SHA384';
  return 'RSA-PKCS1-SHA256';
}

/**
 * Reads a DER certificate.
 * @throws {CoreError} ERR_PKI_CERT_INVALID
 */
export function readCaCertificate(der: Buffer, what = 'the certificate'): CaCertInfo {
  let cert: Certificate;
  let raw: { subjectDer: Buffer; issuerDer: Buffer; spki: Buffer };
  let x509: X509Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
    const outer = expectTlv(der, 0, der.length, 0x30, 'Certificate');
    if (outer.end !== der.length) throw new DerError('trailing data after the certificate');
    const tbs = expectTlv(der, outer.valueStart, outer.end, 0x30, 'tbsCertificate');
    let p = tbs.valueStart;
    let t = readTlv(der, p, tbs.end);
    if (t.tag === 0xa0) p = t.end;
    const serial = expectTlv(der, p, tbs.end, 0x02, 'serialNumber');
    const sigAlg = expectTlv(der, serial.end, tbs.end, 0x30, 'signature');
    const issuer = expectTlv(der, sigAlg.end, tbs.end, 0x30, 'issuer');
    const validity = expectTlv(der, issuer.end, tbs.end, 0x30, 'validity');
    const subject = expectTlv(der, validity.end, tbs.end, 0x30, 'subject');
    t = expectTlv(der, subject.end, tbs.end, 0x30, 'subjectPublicKeyInfo');
    raw = { subjectDer: der.subarray(subject.start, subject.end), issuerDer: der.subarray(issuer.start, issuer.end), spki: der.subarray(t.start, t.end) };
    x509 = new X509Certificate(der);
  } catch (e) {
    throw new CoreError('ERR_PKI_CERT_INVALID', `${what} is not a valid DER X.509 certificate${e instanceof DerError ? `: ${e.message}` : ''}`, { cause: e });
  }
  const tbs = cert.tbsCertificate;
  const ext = (id: string): ArrayBuffer | undefined => tbs.extensions?.find((e) => e.extnID === id)?.extnValue.buffer;
  const bcRaw = ext(id_ce_basicConstraints);
  const bc = bcRaw === undefined ? undefined : AsnConvert.parse(bcRaw, BasicConstraints);
  const kuRaw = ext(id_ce_keyUsage);
  const ku = kuRaw === undefined ? 0 : AsnConvert.parse(kuRaw, KeyUsage).toNumber();
  const skiRaw = ext(id_ce_subjectKeyIdentifier);
  const sanRaw = ext(id_ce_subjectAltName);
  const ncRaw = ext(id_ce_nameConstraints);
  let ski: Buffer;
  if (skiRaw !== undefined) {
    ski = Buffer.from(AsnConvert.parse(skiRaw, SubjectKeyIdentifier).buffer);
  } else {
    const bits = Buffer.from(tbs.subjectPublicKeyInfo.subjectPublicKey);
    ski = createHash('sha1').update(bits).digest();
  }
  const uriSans = sanRaw === undefined ? [] : AsnConvert.parse(sanRaw, SubjectAlternativeName).flatMap((g) => (g.uniformResourceIdentifier === undefined ? [] : [g.uniformResourceIdentifier]));
  const permittedUris =
    ncRaw === undefined ? undefined : (AsnConvert.parse(ncRaw, NameConstraints).permittedSubtrees ?? []).flatMap((s) => (s.base.uniformResourceIdentifier === undefined ? [] : [s.base.uniformResourceIdentifier]));
  let selfSigned = false;
  if (raw.subjectDer.equals(raw.issuerDer)) {
    try {
      selfSigned = x509.verify(x509.publicKey);
    } catch {
      selfSigned = false;
    }
  }
  return {
    der,
    sha256: createHash('sha256').update(der).digest('hex'),
    subjectDer: raw.subjectDer,
    issuerDer: raw.issuerDer,
    subject: x509.subject.replace(/\n/gu, ', '),
    issuer: x509.issuer.replace(/\n/gu, ', '),
    serialHex: x509.serialNumber.toLowerCase(),
    notBeforeMs: Date.parse(x509.validFrom),
    notAfterMs: Date.parse(x509.validTo),
    spki: raw.spki,
    keyAlgorithm: keyAlgorithmOf(raw.spki),
    ski,
    hasSkiExtension: skiRaw !== undefined,
    isCa: bc?.cA ?? false,
    pathLen: bc?.pathLenConstraint,
    keyCertSign: (ku & KeyUsageFlags.keyCertSign) !== 0,
    crlSign: (ku & KeyUsageFlags.cRLSign) !== 0,
    digitalSignature: (ku & KeyUsageFlags.digitalSignature) !== 0,
    uriSans,
    permittedUris,
    selfSigned,
  };
}

/** True when `child` carries a valid signature by `parent`'s key. */
export function isSignedBy(child: CaCertInfo, parent: CaCertInfo): boolean {
  try {
    return new X509Certificate(child.der).verify(createPublicKey({ key: parent.spki, format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}

/** Verifies a signature over `data` with an SPKI (used for CRLs). */
export function verifyWithSpki(hash: string, data: Buffer, spki: Buffer, signature: Buffer): boolean {
  try {
    return nodeVerify(hash, data, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}

/**
 * The template input for an intermediate.
 * @throws {CoreError} ERR_ONLINE_INTERMEDIATE_INVALID for a key algorithm we cannot sign with
 */
export function issuerProfile(id: string, info: CaCertInfo, urls: { ocspUrl?: string | undefined; crlUrl?: string | undefined } = {}): IssuerProfile {
  if (info.keyAlgorithm === 'other' || info.keyAlgorithm === 'rsa-3072' || info.keyAlgorithm === 'rsa-4096') {
    throw new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', `intermediate ${id} has a key this online CA does not sign with (${info.keyAlgorithm}); use RSA-2048, P-256 or P-384`);
  }
  return {
    id,
    subjectDer: info.subjectDer,
    ski: info.ski,
    notBeforeMs: info.notBeforeMs,
    notAfterMs: info.notAfterMs,
    signatureAlgorithm: signAlgorithmFor(info.keyAlgorithm),
    ocspUrl: urls.ocspUrl,
    crlUrl: urls.crlUrl,
  };
}
