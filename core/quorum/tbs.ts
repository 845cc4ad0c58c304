/**
 * @module quorum/tbs
 * The to-be-signed bytes a quorum approves: a strict DER reader that finds the exact
 * `tbsCertificate` / `tbsCertList` inside a signed certificate or CRL (RFC 5280 §4.1, §5.1) so the
 * issued object can be compared byte for byte with what was approved, and a describer that decodes
 * TBS bytes locally into the fields a custodian reviews. A custodian's machine decodes the bytes
 * itself rather than trusting a description sent with the request.
 *
 * Must never: re-encode the TBS before hashing or comparing (the approved bytes are the original
 * bytes), or accept trailing data, indefinite lengths or truncated input.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { type AlgorithmIdentifier, NameConstraints, TBSCertificate, TBSCertList, Name as AsnName, type GeneralName } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

import { CoreError } from '../errors.ts';
import { parseDer } from '../pki/der.ts';
import { sha256 } from './schema.ts';

/** Largest TBS accepted (a CRL with many entries is the large case). */
export const MAX_TBS_BYTES = 1024 * 1024;

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function derError(what: string): CoreError {
  return new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER; it cannot be the certificate or CRL that was approved`);
}

/** Reads one DER TLV at `offset` (definite lengths only, single-byte tags). */
function readTlv(buf: Uint8Array, offset: number, limit: number, what: string): Tlv {
  if (offset + 2 > limit) throw derError(what);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw derError(what);
  const first = buf[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const n = first & 0x7f;
    // 0x80 is the indefinite form (BER only); more than 4 length bytes is not a real object here.
    if (n === 0 || n > 4 || offset + 2 + n > limit) throw derError(what);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[offset + 2 + i] as number);
    // DER requires the shortest length form.
    if (length < 0x80 || (buf[offset + 2] as number) === 0) throw derError(what);
    contentStart = offset + 2 + n;
  }
  const end = contentStart + length;
  if (end > limit) throw derError(what);
  return { tag, start: offset, contentStart, end };
}

/**
 * The exact TBS bytes inside a signed certificate or CRL: the first element of the outer
 * `SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }`.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function extractSignedTbs(signedDer: Uint8Array, what = 'the issued object'): Buffer {
  const buf = Buffer.from(signedDer.buffer, signedDer.byteOffset, signedDer.byteLength);
  const outer = readTlv(buf, 0, buf.length, what);
  if (outer.tag !== 0x30 || outer.end !== buf.length) throw derError(what);
  const tbs = readTlv(buf, outer.contentStart, outer.end, what);
  const alg = readTlv(buf, tbs.end, outer.end, what);
  const sig = readTlv(buf, alg.end, outer.end, what);
  if (tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03 || sig.end !== outer.end) throw derError(what);
  return Buffer.from(buf.subarray(tbs.start, tbs.end));
}

/**
 * Characters never shown to a reviewer as they are (a regular-expression class body): C0/C1
 * controls (terminal escapes, line tricks), zero-width characters, line/paragraph separators and
 * Unicode bidirectional controls, which can make text read differently from what it is
 * ("Trojan Source", CVE-2021-42574).
 */
export const UNSAFE_TEXT_CHARS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff';
const UNSAFE = new RegExp(`[${UNSAFE_TEXT_CHARS}]`, 'gu');

/** Replaces every unsafe character with a visible `\u{XXXX}` escape. */
export function escapeUnsafeText(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`);
}

/** One decoded field shown to a reviewer. */
export interface TbsField {
  label: string;
  value: string;
}

/** A locally decoded TBS. */
export interface TbsDescription {
  kind: 'certificate' | 'crl';
  /** One-line summary: the subject DN (certificate) or the issuer and CRL number (CRL). */
  subject: string;
  fields: TbsField[];
  tbsSha256: string;
}

const SIG_ALGS: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
};

const EXT_NAMES: Record<string, string> = {
  '2.5.29.14': 'Subject Key Identifier',
  '2.5.29.35': 'Authority Key Identifier',
  '2.5.29.19': 'Basic Constraints',
  '2.5.29.15': 'Key Usage',
  '2.5.29.37': 'Extended Key Usage',
  '2.5.29.17': 'Subject Alternative Name',
  '2.5.29.30': 'Name Constraints',
  '2.5.29.31': 'CRL Distribution Points',
  '2.5.29.32': 'Certificate Policies',
  '1.3.6.1.5.5.7.1.1': 'Authority Information Access',
  '2.5.29.20': 'CRL Number',
  '2.5.29.28': 'Issuing Distribution Point',
  '2.5.29.21': 'Reason Code',
  '2.5.29.27': 'Delta CRL Indicator',
};

function hexColon(data: ArrayBuffer | Uint8Array): string {
  return Buffer.from(data instanceof Uint8Array ? data : new Uint8Array(data)).toString('hex').replace(/(..)(?=.)/gu, '$1:');
}

function generalName(n: GeneralName): string {
  if (n.dNSName !== undefined) return `DNS:${n.dNSName}`;
  if (n.uniformResourceIdentifier !== undefined) return `URI:${n.uniformResourceIdentifier}`;
  if (n.rfc822Name !== undefined) return `email:${n.rfc822Name}`;
  if (n.iPAddress !== undefined) return `IP:${n.iPAddress}`;
  if (n.directoryName !== undefined) return `DirName:${new x509.Name(AsnConvert.serialize(n.directoryName)).toString()}`;
  if (n.registeredID !== undefined) return `RID:${n.registeredID}`;
  return 'other name';
}

/** The error for TBS bytes whose structure or an extension value cannot be decoded. */
function undecodable(what: string, detail: string): CoreError {
  return new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: ${detail}. Do not approve it; ask for the request to be prepared again`);
}

/**
 * Decodes one extension (the library parses the value on construction) and describes it. A known
 * extension whose value does not decode is refused, never shown half-decoded; an unknown one is
 * shown as bytes.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
function describeRawExtension(raw: ArrayBuffer, what: string): TbsField {
  let ext: x509.Extension;
  try {
    ext = x509.ExtensionFactory.create(raw);
  } catch {
    let oid = 'an extension';
    try {
      oid = `the ${EXT_NAMES[new x509.Extension(raw).type] ?? 'unknown'} extension`;
    } catch {
      // The outer Extension structure itself is broken: keep the generic wording.
    }
    throw undecodable(what, `${oid} cannot be decoded`);
  }
  return describeExtension(ext, what);
}

function describeExtension(ext: x509.Extension, what: string): TbsField {
  const name = EXT_NAMES[ext.type] ?? `Extension ${ext.type}`;
  const label = `${name}${ext.critical ? ' (critical)' : ''}`;
  let value: string;
  try {
    if (ext.type === '2.5.29.30') {
      const nc = AsnConvert.parse(ext.value, NameConstraints);
      const part = (subs: typeof nc.permittedSubtrees): string => (subs === undefined ? 'none' : [...subs].map((s) => generalName(s.base)).join(', '));
      value = `permitted: ${part(nc.permittedSubtrees)}; excluded: ${part(nc.excludedSubtrees)}`;
    } else if (ext.type === '2.5.29.20' || ext.type === '2.5.29.27') {
      const v = Buffer.from(ext.value);
      // INTEGER: tag 02, short length; show as hex and decimal when small.
      const body = v.subarray(2);
      value = body.length <= 6 ? `${parseInt(body.toString('hex') || '0', 16)} (0x${body.toString('hex')})` : `0x${body.toString('hex')}`;
    } else if (ext instanceof x509.BasicConstraintsExtension) {
      value = `CA: ${ext.ca ? 'TRUE' : 'FALSE'}${ext.pathLength === undefined ? '' : `, pathLen: ${ext.pathLength}`}`;
    } else if (ext instanceof x509.SubjectKeyIdentifierExtension) {
      value = ext.keyId.replace(/(..)(?=.)/gu, '$1:');
    } else if (ext instanceof x509.AuthorityKeyIdentifierExtension && ext.keyId !== undefined) {
      value = `keyid ${ext.keyId.replace(/(..)(?=.)/gu, '$1:')}`;
    } else {
      const lines = ext.toString('text').split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '');
      value = lines.join(' ');
    }
  } catch {
    if (EXT_NAMES[ext.type] !== undefined) throw undecodable(what, `its ${name} extension cannot be decoded`);
    value = `${Buffer.from(ext.value).length} bytes (not decoded): ${hexColon(Buffer.from(ext.value).subarray(0, 64))}`;
  }
  return { label, value };
}

function wrapForParsing(tbsDer: Buffer, signature: AlgorithmIdentifier): Buffer {
  const alg = Buffer.from(AsnConvert.serialize(signature));
  const body = Buffer.concat([tbsDer, alg, Buffer.from([0x03, 0x01, 0x00])]);
  const len = body.length < 0x80 ? Buffer.from([body.length]) : body.length < 0x100 ? Buffer.from([0x81, body.length]) : body.length < 0x10000 ? Buffer.from([0x82, body.length >> 8, body.length & 0xff]) : Buffer.from([0x83, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

function safeField(f: TbsField): TbsField {
  return { label: escapeUnsafeText(f.label), value: escapeUnsafeText(f.value) };
}

function keyDescription(spki: Buffer): string {
  try {
    // A copy typed Uint8Array<ArrayBuffer>: DOM's BufferSource (test/e2e's lib) refuses a Buffer.
    const k = new x509.PublicKey(new Uint8Array(spki));
    const alg = k.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
    if (alg.modulusLength !== undefined) return `RSA ${alg.modulusLength} bits`;
    if (alg.namedCurve !== undefined) return `EC ${alg.namedCurve}`;
    return alg.name;
  } catch {
    return 'unrecognised key type';
  }
}

/**
 * Decodes TBS bytes (a `tbsCertificate` or `tbsCertList`) into reviewable fields.
 * @throws {CoreError} ERR_PKI_DER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function describeTbs(tbs: Uint8Array): TbsDescription {
  if (tbs.length > MAX_TBS_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `the to-be-signed data is ${tbs.length} bytes, more than ${MAX_TBS_BYTES}`);
  const der = Buffer.from(tbs.buffer, tbs.byteOffset, tbs.byteLength);
  const top = readTlv(der, 0, der.length, 'the to-be-signed data');
  if (top.tag !== 0x30 || top.end !== der.length) throw derError('the to-be-signed data');
  // The strict walk first: DER only, and bounded OBJECT IDENTIFIERs before any library decodes one.
  parseDer(der, 'the to-be-signed data');
  try {
    return describeParsed(der);
  } catch (e) {
    // Only CoreErrors leave: a library exception on hostile bytes is a decoding failure, not a bug
    // to report as an internal error.
    if (e instanceof CoreError) throw e;
    throw undecodable('the to-be-signed data', 'a field cannot be decoded');
  }
}

function describeParsed(der: Buffer): TbsDescription {
  const tbsSha256 = sha256(der);
  let cert: TBSCertificate | undefined;
  try {
    cert = AsnConvert.parse(der, TBSCertificate);
  } catch {
    cert = undefined;
  }
  if (cert !== undefined) {
    let parsed: x509.X509Certificate;
    try {
      parsed = new x509.X509Certificate(new Uint8Array(wrapForParsing(der, cert.signature)));
    } catch {
      throw derError('the to-be-signed certificate');
    }
    const spki = Buffer.from(AsnConvert.serialize(cert.subjectPublicKeyInfo));
    const notBefore = parsed.notBefore;
    const notAfter = parsed.notAfter;
    const days = (notAfter.getTime() - notBefore.getTime()) / 86_400_000;
    const fields: TbsField[] = [
      { label: 'Object', value: 'X.509 certificate (tbsCertificate)' },
      { label: 'Version', value: `v${cert.version + 1}` },
      { label: 'Serial number', value: parsed.serialNumber.replace(/(..)(?=.)/gu, '$1:') },
      { label: 'Signature algorithm', value: SIG_ALGS[cert.signature.algorithm] ?? cert.signature.algorithm },
      { label: 'Issuer', value: parsed.issuer },
      { label: 'Subject', value: parsed.subject },
      { label: 'Not before', value: notBefore.toISOString() },
      { label: 'Not after', value: notAfter.toISOString() },
      { label: 'Validity', value: `${Number.isInteger(days) ? days : days.toFixed(2)} days` },
      { label: 'Public key', value: keyDescription(spki) },
      { label: 'Public key SHA-256 (SPKI)', value: sha256(spki) },
      ...(cert.extensions ?? []).map((e) => describeRawExtension(AsnConvert.serialize(e), 'the to-be-signed certificate')),
    ];
    return { kind: 'certificate', subject: escapeUnsafeText(parsed.subject === '' ? '(empty subject)' : parsed.subject), fields: fields.map(safeField), tbsSha256 };
  }
  let list: TBSCertList;
  try {
    list = AsnConvert.parse(der, TBSCertList);
  } catch {
    throw derError('the to-be-signed data (neither a tbsCertificate nor a tbsCertList)');
  }
  const issuer = new x509.Name(AsnConvert.serialize(list.issuer ?? new AsnName())).toString();
  const thisUpdate = list.thisUpdate.getTime();
  const nextUpdate = list.nextUpdate?.getTime();
  const entries = list.revokedCertificates ?? [];
  const exts = (list.crlExtensions ?? []).map((e) => AsnConvert.serialize(e));
  const fields: TbsField[] = [
    { label: 'Object', value: 'X.509 CRL (tbsCertList)' },
    { label: 'Version', value: list.version === undefined ? 'v1' : `v${list.version + 1}` },
    { label: 'Signature algorithm', value: SIG_ALGS[list.signature.algorithm] ?? list.signature.algorithm },
    { label: 'Issuer', value: issuer },
    { label: 'This update', value: thisUpdate.toISOString() },
    { label: 'Next update', value: nextUpdate === undefined ? '(none)' : nextUpdate.toISOString() },
    { label: 'Revoked certificates', value: String(entries.length) },
    ...entries.slice(0, 100).map((e, i) => ({
      label: `Revoked #${i + 1}`,
      value: `serial ${hexColon(e.userCertificate)} at ${e.revocationDate.getTime().toISOString()}`,
    })),
    ...(entries.length > 100 ? [{ label: 'Revoked (more)', value: `${entries.length - 100} more entries not listed` }] : []),
    ...exts.map((raw) => describeRawExtension(raw, 'the to-be-signed CRL')),
  ];
  const number = fields.find((f) => f.label.startsWith('CRL Number'))?.value;
  return { kind: 'crl', subject: escapeUnsafeText(`CRL of ${issuer}${number === undefined ? '' : ` number ${number}`}`), fields: fields.map(safeField), tbsSha256 };
}
