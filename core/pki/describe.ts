/**
 * @module pki/describe
 * Human- and machine-readable views of decoded certificates, CSRs and CRLs: plain JSON summaries
 * (strings and numbers only, safe to put in an approval statement, a transcript record or
 * `--json` output) and aligned text for the ceremony screen and `neam-ca inspect`.
 *
 * Must never: omit a field that changes what a certificate permits (criticality, pathLen, name
 * constraints, key usage), since reviewers approve what they read here.
 */
import type { CertificateInfo, CrlInfo, CsrInfo, TbsCertificateInfo, TbsCertListInfo } from './decode.ts';
import { decodeBasicConstraints, decodeExtKeyUsage, decodeGeneralNames, decodeKeyUsage, formatGeneralName, type ExtensionInfo } from './extensions.ts';
import { describeKey } from './keys.ts';
import { EXT } from './oids.ts';
import { describeSpan, isoSeconds } from './time.ts';

/** JSON view of a tbsCertificate (and, when given a certificate, its fingerprint and signature). */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** Readable length of the validity period. */
  validity: string;
  publicKey: string;
  spkiSha256: string;
  signatureAlgorithm: string;
  basicConstraints?: string;
  keyUsage?: string;
  extKeyUsage?: string;
  subjectAltName?: string[];
  nameConstraints?: { critical: boolean; permitted: string[]; excluded: string[] };
  subjectKeyIdentifier?: string;
  authorityKeyIdentifier?: string;
  crlDistributionPoints?: string[];
  authorityInfoAccess?: { caIssuers: string[]; ocsp: string[] };
  /** Extensions not listed above (name, critical). */
  otherExtensions: string[];
  tbsSha256: string;
  /** Only for signed certificates. */
  sha256?: string;
  selfSigned?: boolean;
}

function crit(c: boolean): string {
  return c ? 'critical, ' : '';
}

/** JSON summary of a decoded tbsCertificate or certificate. */
export function summarizeCertificate(c: TbsCertificateInfo | CertificateInfo): CertificateSummary {
  const s: CertificateSummary = {
    subject: c.subject.text,
    issuer: c.issuer.text,
    serial: c.serial,
    notBefore: isoSeconds(c.notBefore),
    notAfter: isoSeconds(c.notAfter),
    validity: describeSpan(c.notAfter.getTime() - c.notBefore.getTime()),
    publicKey: describeKey(c.publicKey),
    spkiSha256: c.spkiSha256,
    signatureAlgorithm: c.signature.name,
    otherExtensions: [],
    tbsSha256: c.tbsSha256,
  };
  if (c.basicConstraints !== undefined) s.basicConstraints = `${crit(c.basicConstraints.critical)}CA:${c.basicConstraints.ca ? 'TRUE' : 'FALSE'}${c.basicConstraints.pathLen === undefined ? '' : `, pathLen:${c.basicConstraints.pathLen}`}`;
  if (c.keyUsage !== undefined) s.keyUsage = `${crit(c.keyUsage.critical)}${c.keyUsage.usages.join(', ')}`;
  if (c.extKeyUsage !== undefined) s.extKeyUsage = `${crit(c.extKeyUsage.critical)}${c.extKeyUsage.usages.join(', ')}`;
  if (c.subjectAltName !== undefined) s.subjectAltName = [...(c.subjectAltName.critical ? ['(critical)'] : []), ...c.subjectAltName.names.map(formatGeneralName)];
  if (c.nameConstraints !== undefined) s.nameConstraints = { critical: c.nameConstraints.critical, permitted: c.nameConstraints.permitted.map(formatGeneralName), excluded: c.nameConstraints.excluded.map(formatGeneralName) };
  if (c.subjectKeyIdentifier !== undefined) s.subjectKeyIdentifier = c.subjectKeyIdentifier;
  if (c.authorityKeyIdentifier?.keyIdentifier !== undefined) s.authorityKeyIdentifier = c.authorityKeyIdentifier.keyIdentifier;
  if (c.crlDistributionPoints !== undefined) s.crlDistributionPoints = c.crlDistributionPoints;
  if (c.authorityInfoAccess !== undefined) s.authorityInfoAccess = c.authorityInfoAccess;
  const shown = new Set<string>([EXT.basicConstraints, EXT.keyUsage, EXT.extKeyUsage, EXT.subjectAltName, EXT.nameConstraints, EXT.subjectKeyIdentifier, EXT.authorityKeyIdentifier, EXT.crlDistributionPoints, EXT.authorityInfoAccess]);
  s.otherExtensions = c.extensions.filter((e) => !shown.has(e.oid)).map((e) => `${e.name}${e.critical ? ' (critical)' : ''}`);
  if ('sha256' in c) {
    s.sha256 = c.sha256;
    s.selfSigned = c.selfIssued;
    s.signatureAlgorithm = c.signatureAlgorithm.name;
  }
  return s;
}

function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/.{2}/gu) ?? []).join(':');
}

function lines(rows: Array<[string, string | undefined]>): string {
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const w = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(w + 2)}${v}`).join('\n');
}

/** Text view of a certificate summary. */
export function formatCertificate(s: CertificateSummary, title = 'Certificate'): string {
  return `${title}\n${lines([
    ['Subject', s.subject === '' ? '(empty)' : s.subject],
    ['Issuer', s.issuer === '' ? '(empty)' : s.issuer],
    ['Serial', colonHex(s.serial)],
    ['Not before', s.notBefore],
    ['Not after', `${s.notAfter} (${s.validity})`],
    ['Public key', `${s.publicKey}, SHA-256(SPKI) ${s.spkiSha256}`],
    ['Signature', s.signatureAlgorithm],
    ['Basic constraints', s.basicConstraints],
    ['Key usage', s.keyUsage],
    ['Extended key usage', s.extKeyUsage],
    ['Subject alt names', s.subjectAltName?.join(', ')],
    ['Name constraints', s.nameConstraints === undefined ? undefined : `${s.nameConstraints.critical ? 'critical, ' : ''}permitted: ${s.nameConstraints.permitted.join(', ') || '(none)'}; excluded: ${s.nameConstraints.excluded.join(', ') || '(none)'}`],
    ['Subject key id', s.subjectKeyIdentifier === undefined ? undefined : colonHex(s.subjectKeyIdentifier)],
    ['Authority key id', s.authorityKeyIdentifier === undefined ? undefined : colonHex(s.authorityKeyIdentifier)],
    ['CRL distribution', s.crlDistributionPoints?.join(', ')],
    ['CA issuers', s.authorityInfoAccess?.caIssuers.join(', ') || undefined],
    ['OCSP', s.authorityInfoAccess?.ocsp.join(', ') || undefined],
    ['Other extensions', s.otherExtensions.length === 0 ? undefined : s.otherExtensions.join(', ')],
    ['Self-signed', s.selfSigned === undefined ? undefined : s.selfSigned ? 'yes' : 'no'],
    ['SHA-256(TBS)', s.tbsSha256],
    ['SHA-256', s.sha256],
  ])}`;
}

/** Readable description of a raw extension (used for CSR extension requests). */
export function describeExtension(e: ExtensionInfo): string {
  try {
    switch (e.oid) {
      case EXT.basicConstraints: {
        const bc = decodeBasicConstraints(e.value, 'extension');
        return `basicConstraints ${bc.ca ? 'CA:TRUE' : 'CA:FALSE'}${bc.pathLen === undefined ? '' : `, pathLen:${bc.pathLen}`}`;
      }
      case EXT.keyUsage:
        return `keyUsage ${decodeKeyUsage(e.value, 'extension').join(', ')}`;
      case EXT.extKeyUsage:
        return `extKeyUsage ${decodeExtKeyUsage(e.value, 'extension').join(', ')}`;
      case EXT.subjectAltName:
        return `subjectAltName ${decodeGeneralNames(e.value, 'extension').map(formatGeneralName).join(', ')}`;
      default:
        return e.name;
    }
  } catch {
    return `${e.name} (undecodable)`;
  }
}

/** JSON view of a CSR. */
export interface CsrSummary {
  subject: string;
  publicKey: string;
  spkiSha256: string;
  signatureAlgorithm: string;
  /** What the requester asked for; NEAM CA never copies it into a certificate. */
  requestedExtensions: string[];
  otherAttributes: string[];
  sha256: string;
}

/** JSON summary of a CSR. */
export function summarizeCsr(c: CsrInfo): CsrSummary {
  return {
    subject: c.subject.text,
    publicKey: describeKey(c.publicKey),
    spkiSha256: c.spkiSha256,
    signatureAlgorithm: c.signatureAlgorithm.name,
    requestedExtensions: c.requestedExtensions.map((e) => `${describeExtension(e)}${e.critical ? ' (critical)' : ''}`),
    otherAttributes: c.otherAttributes,
    sha256: c.sha256,
  };
}

/** Text view of a CSR summary. */
export function formatCsr(s: CsrSummary, signature?: string): string {
  return `Certificate request (PKCS#10)\n${lines([
    ['Subject', s.subject === '' ? '(empty)' : s.subject],
    ['Public key', `${s.publicKey}, SHA-256(SPKI) ${s.spkiSha256}`],
    ['Signature', `${s.signatureAlgorithm}${signature === undefined ? '' : ` (${signature})`}`],
    ['Requested extensions', s.requestedExtensions.length === 0 ? undefined : `${s.requestedExtensions.join('; ')} (never copied into a certificate)`],
    ['Other attributes', s.otherAttributes.length === 0 ? undefined : s.otherAttributes.join(', ')],
    ['SHA-256', s.sha256],
  ])}`;
}

/** JSON view of a tbsCertList or CRL. */
export interface CrlSummary {
  issuer: string;
  thisUpdate: string;
  nextUpdate?: string;
  crlNumber?: string;
  authorityKeyIdentifier?: string;
  signatureAlgorithm: string;
  revoked: Array<{ serial: string; revocationDate: string; reason?: string; invalidityDate?: string }>;
  issuingDistributionPoint?: string;
  otherExtensions: string[];
  tbsSha256: string;
  sha256?: string;
}

/** JSON summary of a decoded tbsCertList or CRL. */
export function summarizeCrl(c: TbsCertListInfo | CrlInfo): CrlSummary {
  const s: CrlSummary = {
    issuer: c.issuer.text,
    thisUpdate: isoSeconds(c.thisUpdate),
    signatureAlgorithm: c.signature.name,
    revoked: c.revoked.map((r) => ({
      serial: r.serial,
      revocationDate: isoSeconds(r.revocationDate),
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      ...(r.invalidityDate === undefined ? {} : { invalidityDate: isoSeconds(r.invalidityDate) }),
    })),
    otherExtensions: c.extensions.filter((e) => e.oid !== EXT.crlNumber && e.oid !== EXT.authorityKeyIdentifier && e.oid !== EXT.issuingDistributionPoint).map((e) => `${e.name}${e.critical ? ' (critical)' : ''}`),
    tbsSha256: c.tbsSha256,
  };
  if (c.nextUpdate !== undefined) s.nextUpdate = isoSeconds(c.nextUpdate);
  if (c.crlNumber !== undefined) s.crlNumber = c.crlNumber.toString();
  if (c.authorityKeyIdentifier?.keyIdentifier !== undefined) s.authorityKeyIdentifier = c.authorityKeyIdentifier.keyIdentifier;
  const idp = c.issuingDistributionPoint;
  if (idp !== undefined) {
    s.issuingDistributionPoint = [idp.critical ? 'critical' : '', idp.onlyContainsCACerts ? 'only CA certificates' : '', idp.onlyContainsUserCerts ? 'only user certificates' : '', ...idp.uris].filter(Boolean).join(', ');
  }
  if ('sha256' in c) {
    s.sha256 = c.sha256;
    s.signatureAlgorithm = c.signatureAlgorithm.name;
  }
  return s;
}

/** Text view of a CRL summary. */
export function formatCrl(s: CrlSummary, title = 'Certificate revocation list'): string {
  const head = lines([
    ['Issuer', s.issuer],
    ['CRL number', s.crlNumber],
    ['This update', s.thisUpdate],
    ['Next update', s.nextUpdate],
    ['Signature', s.signatureAlgorithm],
    ['Authority key id', s.authorityKeyIdentifier === undefined ? undefined : colonHex(s.authorityKeyIdentifier)],
    ['Issuing dist. point', s.issuingDistributionPoint],
    ['Other extensions', s.otherExtensions.length === 0 ? undefined : s.otherExtensions.join(', ')],
    ['Revoked', String(s.revoked.length)],
    ['SHA-256(TBS)', s.tbsSha256],
    ['SHA-256', s.sha256],
  ]);
  const entries = s.revoked.map((r) => `  ${colonHex(r.serial)}  revoked ${r.revocationDate}${r.reason === undefined ? '' : `  reason ${r.reason}`}${r.invalidityDate === undefined ? '' : `  invalid since ${r.invalidityDate}`}`);
  return [`${title}`, head, ...(entries.length > 0 ? ['Revoked certificates:', ...entries] : [])].join('\n');
}
