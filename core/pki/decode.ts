/**
 * @module pki/decode
 * Reading certificates, CSRs (PKCS#10) and CRLs: strict PEM/DER in, decoded fields out (subject,
 * issuer, serial, validity, public key and its SHA-256, key identifiers, basic constraints, key
 * usage, EKU, SANs, name constraints, signature algorithm, fingerprint, and the exact raw
 * to-be-signed bytes), plus signature verification against a given public key. The decoder is
 * this file's own strict DER walker, not the ASN.1 library that builds certificates, so each
 * checks the other.
 *
 * Must never: accept trailing bytes, BER, or a structure it only half understands.
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { bitStringBytes, children, decodeOid, expectTag, parseDer, TAG, type Tlv } from './der.ts';
import {
  decodeAuthorityInfoAccess,
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeCrlDistributionPoints,
  decodeCrlNumber,
  decodeExtensionList,
  decodeExtKeyUsage,
  decodeGeneralNames,
  decodeInvalidityDate,
  decodeIssuingDistributionPoint,
  decodeKeyUsage,
  decodeNameConstraints,
  decodeReasonCode,
  decodeSubjectKeyIdentifier,
  integerHex,
  type CrlReasonName,
  type ExtensionInfo,
  type GeneralNameInfo,
  type IssuingDistributionPointInfo,
  type KeyUsageName,
  type NameConstraintsInfo,
} from './extensions.ts';
import { decodeSpki, signAlgorithmOfIdentifier, spkiSha256, type PublicKeyInfo } from './keys.ts';
import { decodeName, type NameInfo } from './name.ts';
import { EXT, oidName, PKCS9, SIG_ALG } from './oids.ts';
import { PEM_LABEL, readPemOrDer } from './pem.ts';
import { decodeX509Time } from './time.ts';

/** A decoded AlgorithmIdentifier. */
export interface AlgorithmInfo {
  oid: string;
  /** Readable name (`sha256WithRSAEncryption`) or the OID. */
  name: string;
  /** Exact DER of the AlgorithmIdentifier. */
  der: Buffer;
  /** The HSM-port algorithm when it is exactly one NEAM CA signs with. */
  sign?: SignAlgorithm;
}

/** Decoded fields of a tbsCertificate. */
export interface TbsCertificateInfo {
  /** Exact DER of the tbsCertificate (what the issuer signs). */
  tbsDer: Buffer;
  /** SHA-256 of {@link tbsDer}, lower-case hex: what custodians approve. */
  tbsSha256: string;
  /** 1, 2 or 3. */
  version: number;
  /** Serial number, lower-case hex without a sign-padding zero octet. */
  serial: string;
  /** Octets of the serial INTEGER as encoded (sign padding included; RFC 5280 allows ≤ 20). */
  serialOctets: number;
  serialNegative: boolean;
  /** The signature algorithm named inside the TBS. */
  signature: AlgorithmInfo;
  issuer: NameInfo;
  subject: NameInfo;
  notBefore: Date;
  notAfter: Date;
  /** 0x17 UTCTime or 0x18 GeneralizedTime, for the RFC 5280 encoding rule. */
  notBeforeTag: number;
  notAfterTag: number;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  /** SHA-256 of the SPKI DER, hex. */
  spkiSha256: string;
  publicKey: PublicKeyInfo;
  hasUniqueIds: boolean;
  /** Every extension, raw, in order. */
  extensions: ExtensionInfo[];
  basicConstraints?: { critical: boolean; ca: boolean; pathLen?: number };
  keyUsage?: { critical: boolean; usages: KeyUsageName[] };
  extKeyUsage?: { critical: boolean; usages: string[] };
  subjectKeyIdentifier?: string;
  authorityKeyIdentifier?: { critical: boolean; keyIdentifier?: string; hasIssuerAndSerial: boolean };
  subjectAltName?: { critical: boolean; names: GeneralNameInfo[] };
  nameConstraints?: NameConstraintsInfo;
  crlDistributionPoints?: string[];
  authorityInfoAccess?: { caIssuers: string[]; ocsp: string[] };
}

/** A decoded certificate. */
export interface CertificateInfo extends TbsCertificateInfo {
  /** The certificate DER. */
  der: Buffer;
  /** SHA-256 fingerprint of the DER, lower-case hex. */
  sha256: string;
  /** The outer signatureAlgorithm. */
  signatureAlgorithm: AlgorithmInfo;
  signatureValue: Buffer;
  /** Issuer and subject names are byte-identical (self-issued; a root is also self-signed). */
  selfIssued: boolean;
}

/** A decoded PKCS#10 certification request. */
export interface CsrInfo {
  der: Buffer;
  sha256: string;
  /** The signed certificationRequestInfo DER. */
  infoDer: Buffer;
  version: number;
  subject: NameInfo;
  spki: Buffer;
  spkiSha256: string;
  publicKey: PublicKeyInfo;
  signatureAlgorithm: AlgorithmInfo;
  signatureValue: Buffer;
  /** Extensions the requester asked for (PKCS#9 extensionRequest). NEAM CA never copies them. */
  requestedExtensions: ExtensionInfo[];
  /** Other attribute types present (names or OIDs). */
  otherAttributes: string[];
}

/** One entry of a CRL. */
export interface RevokedEntryInfo {
  serial: string;
  serialOctets: number;
  revocationDate: Date;
  revocationDateTag: number;
  reason?: CrlReasonName | `unknown(${number})`;
  invalidityDate?: Date;
  extensions: ExtensionInfo[];
}

/** Decoded fields of a tbsCertList. */
export interface TbsCertListInfo {
  tbsDer: Buffer;
  tbsSha256: string;
  /** 1 or 2. */
  version: number;
  signature: AlgorithmInfo;
  issuer: NameInfo;
  thisUpdate: Date;
  thisUpdateTag: number;
  nextUpdate?: Date;
  nextUpdateTag?: number;
  revoked: RevokedEntryInfo[];
  extensions: ExtensionInfo[];
  crlNumber?: bigint;
  authorityKeyIdentifier?: { critical: boolean; keyIdentifier?: string; hasIssuerAndSerial: boolean };
  issuingDistributionPoint?: IssuingDistributionPointInfo & { critical: boolean };
}

/** A decoded CRL. */
export interface CrlInfo extends TbsCertListInfo {
  der: Buffer;
  sha256: string;
  signatureAlgorithm: AlgorithmInfo;
  signatureValue: Buffer;
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function decodeAlgorithm(t: Tlv | undefined, what: string, field: string): AlgorithmInfo {
  const seq = expectTag(t, TAG.SEQUENCE, what, field);
  const parts = children(seq, what);
  const oid = decodeOid(expectTag(parts[0], TAG.OID, what, `${field} OID`).value, what);
  const der = Buffer.from(seq.bytes);
  const sign = signAlgorithmOfIdentifier(der);
  return sign === undefined ? { oid, name: oidName(oid), der } : { oid, name: oidName(oid), der, sign };
}

function decodeTime(t: Tlv | undefined, what: string, field: string): { date: Date; tag: number } {
  if (t === undefined || (t.tag !== TAG.UTC_TIME && t.tag !== TAG.GENERALIZED_TIME)) {
    throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: ${field} is not a UTCTime or GeneralizedTime`);
  }
  return { date: decodeX509Time(t.tag, t.value, what), tag: t.tag };
}

function serialOf(t: Tlv | undefined, what: string, field: string): { serial: string; serialOctets: number; serialNegative: boolean } {
  const s = expectTag(t, TAG.INTEGER, what, field);
  return { serial: integerHex(s), serialOctets: s.value.length, serialNegative: ((s.value[0] as number) & 0x80) !== 0 };
}

function applyCertExtension(info: TbsCertificateInfo, e: ExtensionInfo, what: string): void {
  const w = `${what} (extension ${e.name})`;
  switch (e.oid) {
    case EXT.basicConstraints:
      info.basicConstraints = { critical: e.critical, ...decodeBasicConstraints(e.value, w) };
      break;
    case EXT.keyUsage:
      info.keyUsage = { critical: e.critical, usages: decodeKeyUsage(e.value, w) };
      break;
    case EXT.extKeyUsage:
      info.extKeyUsage = { critical: e.critical, usages: decodeExtKeyUsage(e.value, w) };
      break;
    case EXT.subjectKeyIdentifier:
      info.subjectKeyIdentifier = decodeSubjectKeyIdentifier(e.value, w);
      break;
    case EXT.authorityKeyIdentifier:
      info.authorityKeyIdentifier = { critical: e.critical, ...decodeAuthorityKeyIdentifier(e.value, w) };
      break;
    case EXT.subjectAltName:
      info.subjectAltName = { critical: e.critical, names: decodeGeneralNames(e.value, w) };
      break;
    case EXT.nameConstraints:
      info.nameConstraints = decodeNameConstraints(e.value, e.critical, w);
      break;
    case EXT.crlDistributionPoints:
      info.crlDistributionPoints = decodeCrlDistributionPoints(e.value, w);
      break;
    case EXT.authorityInfoAccess:
      info.authorityInfoAccess = decodeAuthorityInfoAccess(e.value, w);
      break;
    default:
      break;
  }
}

/**
 * Decodes tbsCertificate DER (as built before signing, or sliced from a certificate).
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function parseTbsCertificate(tbsDer: Uint8Array, what = 'the tbsCertificate'): TbsCertificateInfo {
  const top = parseDer(tbsDer, what);
  return decodeTbsCertificate(top, what);
}

function decodeTbsCertificate(top: Tlv, what: string): TbsCertificateInfo {
  const items = children(expectTag(top, TAG.SEQUENCE, what, 'tbsCertificate'), what);
  let i = 0;
  let version = 1;
  if (items[0]?.tag === 0xa0) {
    const [v] = children(items[0], what);
    const vt = expectTag(v, TAG.INTEGER, what, 'version');
    if (vt.value.length !== 1 || (vt.value[0] as number) > 2) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: unknown certificate version`);
    version = (vt.value[0] as number) + 1;
    if (version === 1) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: version v1 is encoded explicitly (DER omits the DEFAULT)`);
    i = 1;
  }
  const serial = serialOf(items[i], what, 'serialNumber');
  const signature = decodeAlgorithm(items[i + 1], what, 'signature');
  const issuer = decodeName(expectTag(items[i + 2], TAG.SEQUENCE, what, 'issuer'), what);
  const validity = children(expectTag(items[i + 3], TAG.SEQUENCE, what, 'validity'), what);
  if (validity.length !== 2) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: validity must hold notBefore and notAfter`);
  const nb = decodeTime(validity[0], what, 'notBefore');
  const na = decodeTime(validity[1], what, 'notAfter');
  const subject = decodeName(expectTag(items[i + 4], TAG.SEQUENCE, what, 'subject'), what);
  const spkiT = expectTag(items[i + 5], TAG.SEQUENCE, what, 'subjectPublicKeyInfo');
  const spki = Buffer.from(spkiT.bytes);
  const info: TbsCertificateInfo = {
    tbsDer: Buffer.from(top.bytes),
    tbsSha256: sha256Hex(top.bytes),
    version,
    ...serial,
    signature,
    issuer,
    subject,
    notBefore: nb.date,
    notAfter: na.date,
    notBeforeTag: nb.tag,
    notAfterTag: na.tag,
    spki,
    spkiSha256: spkiSha256(spki),
    publicKey: decodeSpki(spki),
    hasUniqueIds: false,
    extensions: [],
  };
  let j = i + 6;
  while (j < items.length && (items[j]?.tag === 0x81 || items[j]?.tag === 0x82)) {
    info.hasUniqueIds = true;
    j++;
  }
  if (j < items.length && items[j]?.tag === 0xa3) {
    if (version !== 3) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: extensions in a v${version} certificate`);
    const [extSeq] = children(items[j] as Tlv, what);
    info.extensions = decodeExtensionList(expectTag(extSeq, TAG.SEQUENCE, what, 'extensions'), what);
    for (const e of info.extensions) applyCertExtension(info, e, what);
    j++;
  }
  if (j !== items.length) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: unexpected fields after the extensions`);
  return info;
}

/** Max input sizes. */
const MAX_CERT = 64 * 1024;
const MAX_CSR = 64 * 1024;
const MAX_CRL = 32 * 1024 * 1024;

/**
 * Parses a certificate from PEM (`CERTIFICATE`) or DER.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_PKI_DER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseCertificate(input: string | Uint8Array, source = 'the certificate'): CertificateInfo {
  const { der } = readPemOrDer(input, [PEM_LABEL.certificate], { source, maxBytes: MAX_CERT });
  const top = parseDer(der, source);
  const parts = children(expectTag(top, TAG.SEQUENCE, source, 'Certificate'), source);
  if (parts.length !== 3) throw new CoreError('ERR_PKI_DER_INVALID', `${source} is not valid DER: a Certificate has three parts, found ${parts.length} (is this a CSR or CRL?)`);
  const tbs = decodeTbsCertificate(expectTag(parts[0], TAG.SEQUENCE, source, 'tbsCertificate'), source);
  const signatureAlgorithm = decodeAlgorithm(parts[1], source, 'signatureAlgorithm');
  const signatureValue = bitStringBytes(expectTag(parts[2], TAG.BIT_STRING, source, 'signatureValue'), source);
  return {
    ...tbs,
    der: Buffer.from(der),
    sha256: sha256Hex(der),
    signatureAlgorithm,
    signatureValue: Buffer.from(signatureValue),
    selfIssued: tbs.issuer.der.equals(tbs.subject.der),
  };
}

/**
 * Parses a PKCS#10 CSR from PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or DER.
 * Does not verify its signature: see {@link verifyCsrSignature}.
 * @throws {CoreError} ERR_PKI_CSR_INVALID (a valid DER structure that is not a CSR), ERR_PKI_PEM_INVALID,
 *   ERR_PKI_DER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseCsr(input: string | Uint8Array, source = 'the CSR'): CsrInfo {
  const { der } = readPemOrDer(input, [PEM_LABEL.csr, 'NEW CERTIFICATE REQUEST'], { source, maxBytes: MAX_CSR });
  const top = parseDer(der, source);
  const parts = children(expectTag(top, TAG.SEQUENCE, source, 'CertificationRequest'), source);
  if (parts.length !== 3) throw new CoreError('ERR_PKI_CSR_INVALID', `${source} is not a PKCS#10 request: expected three parts, found ${parts.length}`);
  const infoT = expectTag(parts[0], TAG.SEQUENCE, source, 'certificationRequestInfo');
  const info = children(infoT, source);
  const v = expectTag(info[0], TAG.INTEGER, source, 'version');
  if (v.value.length !== 1 || v.value[0] !== 0) throw new CoreError('ERR_PKI_CSR_INVALID', `${source} is not a PKCS#10 request: version must be 0 (v1)`);
  const subject = decodeName(expectTag(info[1], TAG.SEQUENCE, source, 'subject'), source);
  const spkiT = expectTag(info[2], TAG.SEQUENCE, source, 'subjectPKInfo');
  const spki = Buffer.from(spkiT.bytes);
  const requestedExtensions: ExtensionInfo[] = [];
  const otherAttributes: string[] = [];
  if (info[3] !== undefined) {
    if (info[3].tag !== 0xa0) throw new CoreError('ERR_PKI_CSR_INVALID', `${source} is not a PKCS#10 request: attributes must be [0]`);
    for (const attr of children(info[3], source)) {
      const [typeT, values] = children(expectTag(attr, TAG.SEQUENCE, source, 'Attribute'), source);
      const oid = decodeOid(expectTag(typeT, TAG.OID, source, 'attribute type').value, source);
      const vals = children(expectTag(values, TAG.SET, source, 'attribute values'), source);
      if (oid === PKCS9.extensionRequest) {
        if (vals.length !== 1) throw new CoreError('ERR_PKI_CSR_INVALID', `${source} has an extensionRequest with ${vals.length} values (one expected)`);
        requestedExtensions.push(...decodeExtensionList(vals[0] as Tlv, source));
      } else {
        otherAttributes.push(oid === PKCS9.challengePassword ? 'challengePassword' : oid);
      }
    }
    if (info.length > 4) throw new CoreError('ERR_PKI_CSR_INVALID', `${source} is not a PKCS#10 request: unexpected fields`);
  }
  const signatureAlgorithm = decodeAlgorithm(parts[1], source, 'signatureAlgorithm');
  const signatureValue = bitStringBytes(expectTag(parts[2], TAG.BIT_STRING, source, 'signature'), source);
  return {
    der: Buffer.from(der),
    sha256: sha256Hex(der),
    infoDer: Buffer.from(infoT.bytes),
    version: 1,
    subject,
    spki,
    spkiSha256: spkiSha256(spki),
    publicKey: decodeSpki(spki),
    signatureAlgorithm,
    signatureValue: Buffer.from(signatureValue),
    requestedExtensions,
    otherAttributes,
  };
}

/**
 * Decodes tbsCertList DER.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function parseTbsCertList(tbsDer: Uint8Array, what = 'the tbsCertList'): TbsCertListInfo {
  return decodeTbsCertList(parseDer(tbsDer, what), what);
}

function decodeTbsCertList(top: Tlv, what: string): TbsCertListInfo {
  const items = children(expectTag(top, TAG.SEQUENCE, what, 'tbsCertList'), what);
  let i = 0;
  let version = 1;
  if (items[0]?.tag === TAG.INTEGER) {
    const v = items[0].value;
    if (v.length !== 1 || v[0] !== 1) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: CRL version must be v2 (1) when present`);
    version = 2;
    i = 1;
  }
  const signature = decodeAlgorithm(items[i], what, 'signature');
  const issuer = decodeName(expectTag(items[i + 1], TAG.SEQUENCE, what, 'issuer'), what);
  const thisUpdate = decodeTime(items[i + 2], what, 'thisUpdate');
  let j = i + 3;
  let nextUpdate: { date: Date; tag: number } | undefined;
  if (items[j]?.tag === TAG.UTC_TIME || items[j]?.tag === TAG.GENERALIZED_TIME) {
    nextUpdate = decodeTime(items[j], what, 'nextUpdate');
    j++;
  }
  const revoked: RevokedEntryInfo[] = [];
  if (items[j]?.tag === TAG.SEQUENCE) {
    const entries = children(items[j] as Tlv, what);
    if (entries.length === 0) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: an empty revokedCertificates list (omit it instead, RFC 5280 §5.1.2.6)`);
    for (const entry of entries) {
      const f = children(expectTag(entry, TAG.SEQUENCE, what, 'revoked entry'), what);
      const s = serialOf(f[0], what, 'userCertificate');
      const rd = decodeTime(f[1], what, 'revocationDate');
      const e: RevokedEntryInfo = { serial: s.serial, serialOctets: s.serialOctets, revocationDate: rd.date, revocationDateTag: rd.tag, extensions: [] };
      if (f[2] !== undefined) {
        e.extensions = decodeExtensionList(f[2], what);
        for (const x of e.extensions) {
          if (x.oid === EXT.crlReason) e.reason = decodeReasonCode(x.value, what);
          else if (x.oid === EXT.invalidityDate) e.invalidityDate = decodeInvalidityDate(x.value, what);
        }
      }
      if (f.length > 3) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: unexpected fields in a revoked entry`);
      revoked.push(e);
    }
    j++;
  }
  const info: TbsCertListInfo = {
    tbsDer: Buffer.from(top.bytes),
    tbsSha256: sha256Hex(top.bytes),
    version,
    signature,
    issuer,
    thisUpdate: thisUpdate.date,
    thisUpdateTag: thisUpdate.tag,
    revoked,
    extensions: [],
  };
  if (nextUpdate !== undefined) {
    info.nextUpdate = nextUpdate.date;
    info.nextUpdateTag = nextUpdate.tag;
  }
  if (items[j]?.tag === 0xa0) {
    if (version !== 2) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: extensions in a v1 CRL`);
    const [extSeq] = children(items[j] as Tlv, what);
    info.extensions = decodeExtensionList(expectTag(extSeq, TAG.SEQUENCE, what, 'crlExtensions'), what);
    for (const e of info.extensions) {
      if (e.oid === EXT.crlNumber) info.crlNumber = decodeCrlNumber(e.value, what);
      else if (e.oid === EXT.authorityKeyIdentifier) info.authorityKeyIdentifier = { critical: e.critical, ...decodeAuthorityKeyIdentifier(e.value, what) };
      else if (e.oid === EXT.issuingDistributionPoint) info.issuingDistributionPoint = { critical: e.critical, ...decodeIssuingDistributionPoint(e.value, what) };
    }
    j++;
  }
  if (j !== items.length) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: unexpected fields in the tbsCertList`);
  return info;
}

/**
 * Parses a CRL from PEM (`X509 CRL`) or DER.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_PKI_DER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseCrl(input: string | Uint8Array, source = 'the CRL'): CrlInfo {
  const { der } = readPemOrDer(input, [PEM_LABEL.crl], { source, maxBytes: MAX_CRL });
  const top = parseDer(der, source);
  const parts = children(expectTag(top, TAG.SEQUENCE, source, 'CertificateList'), source);
  if (parts.length !== 3) throw new CoreError('ERR_PKI_DER_INVALID', `${source} is not valid DER: a CertificateList has three parts, found ${parts.length}`);
  const tbs = decodeTbsCertList(expectTag(parts[0], TAG.SEQUENCE, source, 'tbsCertList'), source);
  const signatureAlgorithm = decodeAlgorithm(parts[1], source, 'signatureAlgorithm');
  const signatureValue = bitStringBytes(expectTag(parts[2], TAG.BIT_STRING, source, 'signature'), source);
  return { ...tbs, der: Buffer.from(der), sha256: sha256Hex(der), signatureAlgorithm, signatureValue: Buffer.from(signatureValue) };
}

/** What kind of object DER holds, judged from its structure. */
export type ObjectKind = 'certificate' | 'csr' | 'crl';

/**
 * Tells a certificate, CSR and CRL apart by structure (for `inspect`).
 * @throws {CoreError} ERR_PKI_DER_INVALID when it is none of them
 */
export function detectKind(der: Uint8Array, source = 'the input'): ObjectKind {
  const top = parseDer(der, source);
  const parts = top.tag === TAG.SEQUENCE ? children(top, source) : [];
  const inner = parts[0]?.tag === TAG.SEQUENCE ? children(parts[0], source) : [];
  if (parts.length === 3 && inner.length > 0) {
    if (inner[0]?.tag === 0xa0) return 'certificate';
    if (inner[0]?.tag === TAG.INTEGER && inner[3]?.tag === 0xa0 && inner[2]?.tag === TAG.SEQUENCE) return 'csr';
    if (inner[0]?.tag === TAG.INTEGER && inner[1]?.tag === TAG.SEQUENCE && inner[2]?.tag === TAG.SEQUENCE && (inner[3]?.tag === TAG.UTC_TIME || inner[3]?.tag === TAG.GENERALIZED_TIME)) return 'crl';
    if (inner[0]?.tag === TAG.SEQUENCE && (inner[2]?.tag === TAG.UTC_TIME || inner[2]?.tag === TAG.GENERALIZED_TIME)) return 'crl';
    if (inner[0]?.tag === TAG.INTEGER && inner[1]?.tag === TAG.SEQUENCE && inner[3]?.tag === TAG.SEQUENCE) return 'certificate';
  }
  throw new CoreError('ERR_PKI_DER_INVALID', `${source} is valid DER but not a certificate, CSR or CRL`);
}

const VERIFY_HASH: Record<string, { hash: string; key: 'RSA' | 'EC' }> = {
  [SIG_ALG.sha256WithRSAEncryption]: { hash: 'sha256', key: 'RSA' },
  [SIG_ALG.sha384WithRSAEncryption]: { hash: 'sha384', key: 'RSA' },
  [SIG_ALG.sha512WithRSAEncryption]: { hash: 'sha512', key: 'RSA' },
  [SIG_ALG.ecdsaWithSHA256]: { hash: 'sha256', key: 'EC' },
  [SIG_ALG.ecdsaWithSHA384]: { hash: 'sha384', key: 'EC' },
  [SIG_ALG.ecdsaWithSHA512]: { hash: 'sha512', key: 'EC' },
};

/** Outcome of a signature check. */
export type SignatureCheck = { ok: true } | { ok: false; reason: 'invalid' | 'unsupported-algorithm' | 'key-mismatch'; message: string };

/**
 * Verifies `signature` over `data` with the key in `spki`, under the algorithm in `alg`
 * (RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512; SHA-1, MD5 and others are refused).
 */
export function checkSignature(alg: AlgorithmInfo, spki: Uint8Array, data: Uint8Array, signature: Uint8Array): SignatureCheck {
  const entry = VERIFY_HASH[alg.oid];
  if (entry === undefined) return { ok: false, reason: 'unsupported-algorithm', message: `signature algorithm ${alg.name} is not accepted (use SHA-256 or stronger with RSA PKCS#1 v1.5 or ECDSA)` };
  const key = decodeSpki(spki);
  // An EC key on a curve we do not issue for is still an EC key; node can verify its signature.
  const keyType = key.type === 'unsupported' ? key.algorithm : key.type;
  if (keyType !== entry.key) return { ok: false, reason: 'key-mismatch', message: `signature algorithm ${alg.name} does not fit the ${keyType} key` };
  let ok: boolean;
  try {
    ok = nodeVerify(entry.hash, data, createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }), signature);
  } catch {
    ok = false;
  }
  return ok ? { ok: true } : { ok: false, reason: 'invalid', message: 'the signature does not verify with the public key' };
}

/**
 * Verifies a CSR's self-signature (proof of possession of the private key).
 * @throws {CoreError} ERR_PKI_CSR_SIGNATURE_INVALID (bad signature or unaccepted algorithm)
 */
export function verifyCsrSignature(csr: CsrInfo, source = 'the CSR'): void {
  const r = checkSignature(csr.signatureAlgorithm, csr.spki, csr.infoDer, csr.signatureValue);
  if (!r.ok) {
    throw new CoreError('ERR_PKI_CSR_SIGNATURE_INVALID', `${source} is refused: ${r.message}. The request was altered or not signed by the key it contains; ask for a new CSR`, {
      details: { reason: r.reason, csrSha256: csr.sha256 },
    });
  }
}
