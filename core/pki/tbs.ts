/**
 * @module pki/tbs
 * Builders of the exact to-be-signed bytes: tbsCertificate (RFC 5280 §4.1) and tbsCertList
 * (§5.1), encoded with @peculiar/asn1-x509, plus the mapping from a certificate profile to its
 * extensions. Pure: every input (serial, times, keys, names) is a parameter. The bytes built here
 * are what the linter checks, what custodians approve (by SHA-256) and what the HSM signs.
 *
 * Must never: copy an extension from a CSR, or read the clock or a random source.
 */
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AlgorithmIdentifier,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  CRLReason,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  InvalidityDate,
  IssuingDistributionPoint,
  KeyIdentifier,
  KeyUsage,
  Name,
  NameConstraints,
  RevokedCertificate,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

import type { SignAlgorithm } from '../hsm/types.ts';
import { buf, parseDer } from './der.ts';
import { CRL_REASONS, KEY_USAGES, type CrlReasonName, type KeyUsageName } from './extensions.ts';
import { keyIdentifier, signatureAlgorithm } from './keys.ts';
import { ACCESS, EKU, EXT } from './oids.ts';
import type { CertificateProfile } from './profile.ts';
import { serialIntegerBytes } from './serial.ts';
import { wholeSeconds } from './time.ts';

/** One extension to encode: its OID, criticality and DER value. */
export interface ExtensionSpec {
  oid: string;
  critical: boolean;
  /** DER of the extension value (the content of extnValue). */
  value: Buffer;
}

/** Everything a tbsCertificate holds. */
export interface TbsCertificateParams {
  /** Positive serial, hex. */
  serial: string;
  signatureAlgorithm: SignAlgorithm;
  /** Issuer Name DER (the issuer certificate's subject bytes, or the subject for self-signed). */
  issuerName: Buffer;
  subjectName: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** Subject public key (SubjectPublicKeyInfo DER). */
  spki: Buffer;
  extensions: readonly ExtensionSpec[];
}

function ext(oid: string, critical: boolean, value: object): ExtensionSpec {
  return { oid, critical, value: buf(AsnConvert.serialize(value)) };
}

function algorithmIdentifier(sign: SignAlgorithm): AlgorithmIdentifier {
  return AsnConvert.parse(signatureAlgorithm(sign).der, AlgorithmIdentifier);
}

function toExtensions(list: readonly ExtensionSpec[]): Extension[] {
  return list.map((e) => new Extension({ extnID: e.oid, critical: e.critical, extnValue: new OctetString(e.value) }));
}

function x509Time(d: Date): Time {
  // peculiar chooses UTCTime through 2049 and GeneralizedTime after (RFC 5280 §4.1.2.5).
  return new Time(wholeSeconds(d));
}

/**
 * Encodes a tbsCertificate (v3). The result is strict DER (checked here).
 * @throws {CoreError} ERR_PKI_DER_INVALID if an input (name, SPKI) is not DER
 */
export function buildTbsCertificate(p: TbsCertificateParams): Buffer {
  parseDer(p.issuerName, 'the issuer name');
  parseDer(p.subjectName, 'the subject name');
  parseDer(p.spki, 'the subject public key');
  const serialBytes = serialIntegerBytes(p.serial);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialBytes.buffer.slice(serialBytes.byteOffset, serialBytes.byteOffset + serialBytes.byteLength) as ArrayBuffer,
    signature: algorithmIdentifier(p.signatureAlgorithm),
    issuer: AsnConvert.parse(p.issuerName, Name),
    validity: new Validity({ notBefore: wholeSeconds(p.notBefore), notAfter: wholeSeconds(p.notAfter) }),
    subject: AsnConvert.parse(p.subjectName, Name),
    subjectPublicKeyInfo: AsnConvert.parse(p.spki, SubjectPublicKeyInfo),
  });
  tbs.validity.notBefore = x509Time(p.notBefore);
  tbs.validity.notAfter = x509Time(p.notAfter);
  if (p.extensions.length > 0) tbs.extensions = new Extensions(toExtensions(p.extensions));
  const der = buf(AsnConvert.serialize(tbs));
  parseDer(der, 'the built tbsCertificate');
  return der;
}

function keyUsageFlags(usages: readonly KeyUsageName[]): number {
  return usages.reduce((acc, u) => acc | (1 << KEY_USAGES.indexOf(u)), 0);
}

function uriName(uri: string): GeneralName {
  return new GeneralName({ uniformResourceIdentifier: uri });
}

function subtrees(uris: readonly string[], dns: readonly string[]): GeneralSubtrees {
  return new GeneralSubtrees([...uris.map((u) => new GeneralSubtree({ base: uriName(u) })), ...dns.map((d) => new GeneralSubtree({ base: new GeneralName({ dNSName: d }) }))]);
}

/** Inputs to {@link profileExtensions} besides the profile. */
export interface ProfileExtensionInput {
  /** Subject public key. */
  spki: Buffer;
  /** Issuer key identifier (hex) for AKI; for self-signed certificates the subject's own. */
  issuerKeyIdentifier?: string;
  /** True when the subject name is empty (SAN must then be critical, RFC 5280 §4.2.1.6). */
  subjectEmpty: boolean;
  /** SANs requested for this issuance (leaves), appended after the profile's fixed ones. */
  sans?: { uris?: readonly string[]; dnsNames?: readonly string[] };
}

/**
 * The extensions a profile asks for, in a fixed order: basicConstraints, keyUsage, extKeyUsage,
 * subjectKeyIdentifier, authorityKeyIdentifier, subjectAltName, nameConstraints,
 * cRLDistributionPoints, authorityInfoAccess. Whether the result is acceptable is the linter's call.
 */
export function profileExtensions(profile: CertificateProfile, input: ProfileExtensionInput): ExtensionSpec[] {
  const out: ExtensionSpec[] = [];
  const bc = profile.basicConstraints;
  if (bc !== undefined) {
    out.push(ext(EXT.basicConstraints, bc.critical, new BasicConstraints(bc.pathLen === undefined ? { cA: bc.ca } : { cA: bc.ca, pathLenConstraint: bc.pathLen })));
  }
  if (profile.keyUsage !== undefined) out.push(ext(EXT.keyUsage, profile.keyUsage.critical, new KeyUsage(keyUsageFlags(profile.keyUsage.usages))));
  if (profile.extKeyUsage !== undefined) out.push(ext(EXT.extKeyUsage, profile.extKeyUsage.critical, new ExtendedKeyUsage(profile.extKeyUsage.usages.map((u) => EKU[u]))));
  if (profile.subjectKeyIdentifier) out.push(ext(EXT.subjectKeyIdentifier, false, new SubjectKeyIdentifier(Buffer.from(keyIdentifier(input.spki), 'hex'))));
  if (profile.authorityKeyIdentifier) {
    const kid = input.issuerKeyIdentifier ?? keyIdentifier(input.spki);
    out.push(ext(EXT.authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(Buffer.from(kid, 'hex')) })));
  }
  const san = profile.subjectAltName;
  const uris = [...(san?.uris ?? []), ...(input.sans?.uris ?? [])];
  const dns = [...(san?.dnsNames ?? []), ...(input.sans?.dnsNames ?? [])];
  if (uris.length + dns.length > 0) {
    const critical = san === undefined ? input.subjectEmpty : san.critical === 'if-subject-empty' ? input.subjectEmpty : san.critical;
    out.push(ext(EXT.subjectAltName, critical, new SubjectAlternativeName([...uris.map(uriName), ...dns.map((d) => new GeneralName({ dNSName: d }))])));
  }
  const nc = profile.nameConstraints;
  if (nc !== undefined) {
    const permitted = nc.permittedUris.length + nc.permittedDnsNames.length > 0 ? subtrees(nc.permittedUris, nc.permittedDnsNames) : undefined;
    const excluded = nc.excludedUris.length + nc.excludedDnsNames.length > 0 ? subtrees(nc.excludedUris, nc.excludedDnsNames) : undefined;
    out.push(ext(EXT.nameConstraints, nc.critical, new NameConstraints({ ...(permitted === undefined ? {} : { permittedSubtrees: permitted }), ...(excluded === undefined ? {} : { excludedSubtrees: excluded }) })));
  }
  if (profile.crlDistributionPoints !== undefined) {
    out.push(
      ext(
        EXT.crlDistributionPoints,
        false,
        new CRLDistributionPoints(profile.crlDistributionPoints.map((u) => new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [uriName(u)] }) }))),
      ),
    );
  }
  const aia = profile.authorityInfoAccess;
  if (aia !== undefined && aia.caIssuers.length + aia.ocsp.length > 0) {
    out.push(
      ext(
        EXT.authorityInfoAccess,
        false,
        new AuthorityInfoAccessSyntax([
          ...aia.ocsp.map((u) => new AccessDescription({ accessMethod: ACCESS.ocsp, accessLocation: uriName(u) })),
          ...aia.caIssuers.map((u) => new AccessDescription({ accessMethod: ACCESS.caIssuers, accessLocation: uriName(u) })),
        ]),
      ),
    );
  }
  return out;
}

/** One revoked certificate for a CRL. */
export interface RevokedEntry {
  serial: string;
  revocationDate: Date;
  /** Omitted from the entry when `unspecified` (RFC 5280 §5.3.1 says to omit rather than use 0). */
  reason?: CrlReasonName;
  invalidityDate?: Date;
}

/** Options of an issuing distribution point extension (RFC 5280 §5.2.5; always critical). */
export interface IssuingDistributionPointSpec {
  uris: readonly string[];
  onlyContainsCACerts: boolean;
  onlyContainsUserCerts: boolean;
}

/** Everything a tbsCertList holds. */
export interface TbsCertListParams {
  signatureAlgorithm: SignAlgorithm;
  /** Issuer Name DER (the issuer certificate's subject bytes). */
  issuerName: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: readonly RevokedEntry[];
  /** cRLNumber (RFC 5280 §5.2.3), positive. */
  crlNumber: bigint;
  /** Issuer key identifier (hex) for the AKI extension; omitted when undefined. */
  authorityKeyIdentifier?: string;
  issuingDistributionPoint?: IssuingDistributionPointSpec;
}

function bigintBytes(n: bigint): ArrayBuffer {
  let hex = n.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let b = Buffer.from(hex, 'hex');
  if (((b[0] as number) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * Encodes a tbsCertList (v2). Entries are ordered by revocation date, then serial.
 * @throws {CoreError} ERR_PKI_DER_INVALID if the issuer name is not DER
 */
export function buildTbsCertList(p: TbsCertListParams): Buffer {
  parseDer(p.issuerName, 'the issuer name');
  const entries = [...p.revoked].sort((a, b) => a.revocationDate.getTime() - b.revocationDate.getTime() || a.serial.localeCompare(b.serial));
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: algorithmIdentifier(p.signatureAlgorithm),
    issuer: AsnConvert.parse(p.issuerName, Name),
    thisUpdate: x509Time(p.thisUpdate),
    nextUpdate: x509Time(p.nextUpdate),
  });
  if (entries.length > 0) {
    tbs.revokedCertificates = entries.map((e) => {
      const exts: ExtensionSpec[] = [];
      if (e.reason !== undefined && e.reason !== 'unspecified') exts.push(ext(EXT.crlReason, false, new CRLReason(CRL_REASONS[e.reason])));
      if (e.invalidityDate !== undefined) exts.push(ext(EXT.invalidityDate, false, new InvalidityDate(wholeSeconds(e.invalidityDate))));
      const s = serialIntegerBytes(e.serial);
      return new RevokedCertificate({
        userCertificate: s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer,
        revocationDate: x509Time(e.revocationDate),
        ...(exts.length > 0 ? { crlEntryExtensions: toExtensions(exts) } : {}),
      });
    });
  }
  const crlExts: ExtensionSpec[] = [];
  if (p.authorityKeyIdentifier !== undefined) {
    crlExts.push(ext(EXT.authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(Buffer.from(p.authorityKeyIdentifier, 'hex')) })));
  }
  crlExts.push({ oid: EXT.crlNumber, critical: false, value: encodeCrlNumber(p.crlNumber) });
  if (p.issuingDistributionPoint !== undefined) {
    const idp = p.issuingDistributionPoint;
    crlExts.push(
      ext(
        EXT.issuingDistributionPoint,
        true,
        new IssuingDistributionPoint({
          ...(idp.uris.length > 0 ? { distributionPoint: new DistributionPointName({ fullName: idp.uris.map(uriName) }) } : {}),
          onlyContainsCACerts: idp.onlyContainsCACerts,
          onlyContainsUserCerts: idp.onlyContainsUserCerts,
        }),
      ),
    );
  }
  tbs.crlExtensions = toExtensions(crlExts);
  const der = buf(AsnConvert.serialize(tbs));
  parseDer(der, 'the built tbsCertList');
  return der;
}

/** DER INTEGER of a CRL number (peculiar's CRLNumber is limited to JS numbers). */
function encodeCrlNumber(n: bigint): Buffer {
  const content = Buffer.from(bigintBytes(n));
  return Buffer.concat([Buffer.from([0x02, content.length]), content]);
}
