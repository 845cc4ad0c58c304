/**
 * @module online/ca-cert
 * The online CA's view of the CA certificates it receives from the ceremony (intermediates and
 * roots), read with core/pki's strict decoder: the exact subject bytes and key identifier the
 * issuance template needs, validity, key algorithm, and the CA extensions the import checks
 * (basicConstraints, keyUsage, name constraints, the SPIFFE trust-domain SAN). Also PEM splitting
 * of certificate files and the issued-by check, both from core/pki.
 *
 * Must never: trust a certificate because it parsed; the import decides what is acceptable.
 */
import { checkIssuedBy, keyIdentifier, parseCertificate, parsePem, PEM_LABEL, type CertificateInfo } from '../pki/index.ts';
import { CoreError } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
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
  /** The SKI extension, or the key identifier core/pki computes when it is absent (RFC 7093). */
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
  /** core/pki's decoded form. */
  readonly cert: CertificateInfo;
}

/**
 * Splits PEM text into DER certificates; anything but CERTIFICATE blocks (a private key above
 * all) is refused.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_INPUT_TOO_LARGE
 */
export function splitPemCertificates(text: string, what: string): Buffer[] {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/u.test(text)) throw new CoreError('ERR_PKI_PEM_INVALID', `${what} contains a private key; only certificates are accepted here`);
  const blocks = parsePem(text, { labels: [PEM_LABEL.certificate], source: what });
  if (blocks.length === 0) throw new CoreError('ERR_PKI_PEM_INVALID', `${what} holds no PEM certificate`);
  return blocks.map((b) => b.der);
}

function keyAlgorithmOf(c: CertificateInfo): CaKeyAlgorithm | 'other' {
  const k = c.publicKey;
  if (k.type === 'EC') return k.curve === 'P-256' ? 'ec-p256' : 'ec-p384';
  if (k.type === 'RSA' && (k.bits === 2048 || k.bits === 3072 || k.bits === 4096)) return `rsa-${k.bits}` as CaKeyAlgorithm;
  return 'other';
}

/** The signature algorithm an intermediate of `alg` uses for SVIDs and OCSP responses. */
export function signAlgorithmFor(alg: CaKeyAlgorithm): SignAlgorithm {
  if (alg === 'ec-p256') return 'ECDSA-SHA256';
  if (alg === 'ec-p384') return 'ECDSA-SHA384';
  return 'RSA-PKCS1-SHA256';
}

/**
 * Reads a DER (or PEM) certificate.
 * @throws {CoreError} ERR_PKI_CERT_INVALID
 */
export function readCaCertificate(der: Buffer, what = 'the certificate'): CaCertInfo {
  let c: CertificateInfo;
  try {
    c = parseCertificate(der, what);
  } catch (e) {
    throw new CoreError('ERR_PKI_CERT_INVALID', `${what} is not a valid DER X.509 certificate${e instanceof CoreError ? `: ${e.message}` : ''}`, { cause: e });
  }
  const usages = c.keyUsage?.usages ?? [];
  let selfSigned = false;
  if (c.selfIssued) {
    try {
      checkIssuedBy(c, c);
      selfSigned = true;
    } catch {
      selfSigned = false;
    }
  }
  return {
    der: c.der,
    sha256: c.sha256,
    subjectDer: c.subject.der,
    issuerDer: c.issuer.der,
    subject: c.subject.text,
    issuer: c.issuer.text,
    serialHex: c.serial,
    notBeforeMs: c.notBefore.getTime(),
    notAfterMs: c.notAfter.getTime(),
    spki: c.spki,
    keyAlgorithm: keyAlgorithmOf(c),
    ski: Buffer.from(c.subjectKeyIdentifier ?? keyIdentifier(c.spki), 'hex'),
    hasSkiExtension: c.subjectKeyIdentifier !== undefined,
    isCa: c.basicConstraints?.ca ?? false,
    pathLen: c.basicConstraints?.pathLen,
    keyCertSign: usages.includes('keyCertSign'),
    crlSign: usages.includes('cRLSign'),
    digitalSignature: usages.includes('digitalSignature'),
    uriSans: (c.subjectAltName?.names ?? []).filter((n) => n.type === 'uri').map((n) => n.value),
    permittedUris: c.nameConstraints === undefined ? undefined : c.nameConstraints.permitted.filter((n) => n.type === 'uri').map((n) => n.value),
    selfSigned,
    cert: c,
  };
}

/** True when `child` was issued by `parent` (names, key identifiers, CA flags and signature; core/pki). */
export function isSignedBy(child: CaCertInfo, parent: CaCertInfo): boolean {
  try {
    checkIssuedBy(child.cert, parent.cert);
    return true;
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
