/**
 * @module pki/extensions
 * Strict decoders for the X.509 extensions NEAM CA writes or must understand (RFC 5280 §4.2 and
 * §5.2–5.3): basicConstraints, keyUsage, extKeyUsage, subject/authority key identifiers,
 * subjectAltName, nameConstraints, CRL distribution points, authority information access, CRL
 * number, reason code, invalidity date, issuing distribution point. Independent of the ASN.1
 * library that builds them, so the linter cross-checks the builder.
 *
 * Must never: return a partially decoded extension; malformed content throws.
 */
import { CoreError } from '../errors.ts';
import { children, decodeOid, expectTag, parseDer, TAG, type Tlv } from './der.ts';
import { decodeName } from './name.ts';
import { ACCESS, EKU, EXT, oidName } from './oids.ts';
import { decodeX509Time } from './time.ts';

/** Key usage bit names in bit order (RFC 5280 §4.2.1.3). */
export const KEY_USAGES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const;

/** A key usage name. */
export type KeyUsageName = (typeof KEY_USAGES)[number];

/** CRL reason codes (RFC 5280 §5.3.1); 7 is unused. */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

/** A CRL reason name. */
export type CrlReasonName = keyof typeof CRL_REASONS;

/** One GeneralName (RFC 5280 §4.2.1.6). */
export interface GeneralNameInfo {
  type: 'dns' | 'uri' | 'email' | 'ip' | 'dn' | 'other';
  value: string;
}

/** One raw extension. */
export interface ExtensionInfo {
  oid: string;
  /** Readable name or the OID. */
  name: string;
  critical: boolean;
  /** extnValue contents (the DER inside the OCTET STRING). */
  value: Buffer;
}

/** A decoded name-constraints extension. */
export interface NameConstraintsInfo {
  critical: boolean;
  permitted: GeneralNameInfo[];
  excluded: GeneralNameInfo[];
}

function bad(what: string, message: string): never {
  throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: ${message}`);
}

function ia5(t: Tlv, what: string): string {
  for (const b of t.value) if (b > 0x7e || b < 0x20) bad(what, 'an IA5String name with non-printable or non-ASCII characters');
  return t.value.toString('latin1');
}

function formatIp(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) return (b.toString('hex').match(/.{4}/gu) ?? []).map((g) => g.replace(/^0+(?=.)/u, '')).join(':');
  // name-constraint form: address + mask
  if (b.length === 8) return `${[...b.subarray(0, 4)].join('.')}/${[...b.subarray(4)].join('.')}`;
  return `#${b.toString('hex')}`;
}

/** Decodes one GeneralName TLV. */
export function decodeGeneralName(t: Tlv, what: string): GeneralNameInfo {
  switch (t.tag) {
    case 0x81:
      return { type: 'email', value: ia5(t, what) };
    case 0x82:
      return { type: 'dns', value: ia5(t, what) };
    case 0x86:
      return { type: 'uri', value: ia5(t, what) };
    case 0x87:
      return { type: 'ip', value: formatIp(t.value) };
    case 0xa4: {
      const [inner] = children(t, what);
      if (inner === undefined) bad(what, 'an empty directoryName');
      return { type: 'dn', value: decodeName(inner, what).text };
    }
    case 0xa0: {
      const [typeId] = children(t, what);
      return { type: 'other', value: typeId === undefined ? 'otherName' : `otherName:${decodeOid(typeId.value, what)}` };
    }
    default:
      return { type: 'other', value: `[${t.tag & 0x1f}]` };
  }
}

/** Readable form of a general name (`URI:spiffe://…`, `DNS:…`). */
export function formatGeneralName(n: GeneralNameInfo): string {
  const prefix = { dns: 'DNS', uri: 'URI', email: 'email', ip: 'IP', dn: 'DirName', other: 'other' }[n.type];
  return `${prefix}:${n.value}`;
}

function seqOf(value: Buffer, what: string, field: string): Tlv[] {
  return children(expectTag(parseDer(value, what), TAG.SEQUENCE, what, field), what);
}

/** basicConstraints (RFC 5280 §4.2.1.9). */
export function decodeBasicConstraints(value: Buffer, what: string): { ca: boolean; pathLen?: number } {
  const items = seqOf(value, what, 'basicConstraints');
  let ca = false;
  let pathLen: number | undefined;
  let i = 0;
  if (items[i]?.tag === TAG.BOOLEAN) {
    ca = (items[i] as Tlv).value[0] === 0xff;
    if (!ca) bad(what, 'basicConstraints encodes cA FALSE explicitly (DER omits DEFAULT values)');
    i++;
  }
  if (items[i]?.tag === TAG.INTEGER) {
    const v = (items[i] as Tlv).value;
    if (((v[0] as number) & 0x80) !== 0 || v.length > 4) bad(what, 'basicConstraints pathLenConstraint is negative or too large');
    pathLen = v.readUIntBE(0, v.length);
    i++;
  }
  if (i !== items.length) bad(what, 'basicConstraints has unexpected content');
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

/** keyUsage (RFC 5280 §4.2.1.3). */
export function decodeKeyUsage(value: Buffer, what: string): KeyUsageName[] {
  const t = expectTag(parseDer(value, what), TAG.BIT_STRING, what, 'keyUsage');
  const unused = t.value[0] as number;
  const bytes = t.value.subarray(1);
  if (bytes.length === 0) bad(what, 'keyUsage with no bits set');
  if (bytes.length > 2) bad(what, 'keyUsage longer than 9 bits');
  const last = bytes[bytes.length - 1] as number;
  // DER (X.690 §11.2.2): trailing zero bits of a named bit list are removed.
  if (last === 0 || (last & ((1 << unused) - 1)) !== 0 || (last & (1 << unused)) === 0) bad(what, 'keyUsage is not minimally encoded (DER removes trailing zero bits)');
  const out: KeyUsageName[] = [];
  KEY_USAGES.forEach((name, bit) => {
    const byte = bytes[bit >> 3];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) out.push(name);
  });
  return out;
}

/** extKeyUsage (RFC 5280 §4.2.1.12): purpose names, or dotted OIDs for unknown purposes. */
export function decodeExtKeyUsage(value: Buffer, what: string): string[] {
  const items = seqOf(value, what, 'extKeyUsage');
  if (items.length === 0) bad(what, 'an empty extKeyUsage');
  return items.map((t) => {
    const oid = decodeOid(expectTag(t, TAG.OID, what, 'KeyPurposeId').value, what);
    const known = Object.entries(EKU).find(([, v]) => v === oid);
    return known === undefined ? oid : known[0];
  });
}

/** subjectKeyIdentifier: hex. */
export function decodeSubjectKeyIdentifier(value: Buffer, what: string): string {
  const t = expectTag(parseDer(value, what), TAG.OCTET_STRING, what, 'subjectKeyIdentifier');
  if (t.value.length === 0) bad(what, 'an empty subjectKeyIdentifier');
  return t.value.toString('hex');
}

/** authorityKeyIdentifier (RFC 5280 §4.2.1.1). */
export function decodeAuthorityKeyIdentifier(value: Buffer, what: string): { keyIdentifier?: string; hasIssuerAndSerial: boolean } {
  const items = seqOf(value, what, 'authorityKeyIdentifier');
  let keyIdentifier: string | undefined;
  let hasIssuerAndSerial = false;
  for (const t of items) {
    if (t.tag === 0x80) keyIdentifier = t.value.toString('hex');
    else if (t.tag === 0xa1 || t.tag === 0x82) hasIssuerAndSerial = true;
    else bad(what, `authorityKeyIdentifier has an unexpected field [${t.tag & 0x1f}]`);
  }
  return keyIdentifier === undefined ? { hasIssuerAndSerial } : { keyIdentifier, hasIssuerAndSerial };
}

/** GeneralNames (subjectAltName, issuerAltName). */
export function decodeGeneralNames(value: Buffer, what: string): GeneralNameInfo[] {
  const items = seqOf(value, what, 'GeneralNames');
  if (items.length === 0) bad(what, 'an empty GeneralNames');
  return items.map((t) => decodeGeneralName(t, what));
}

/** nameConstraints (RFC 5280 §4.2.1.10). */
export function decodeNameConstraints(value: Buffer, critical: boolean, what: string): NameConstraintsInfo {
  const items = seqOf(value, what, 'nameConstraints');
  const out: NameConstraintsInfo = { critical, permitted: [], excluded: [] };
  if (items.length === 0) bad(what, 'nameConstraints with neither permitted nor excluded subtrees (RFC 5280 §4.2.1.10)');
  for (const t of items) {
    if (t.tag !== 0xa0 && t.tag !== 0xa1) bad(what, 'nameConstraints has an unexpected field');
    const list = t.tag === 0xa0 ? out.permitted : out.excluded;
    const subtrees = children(t, what);
    if (subtrees.length === 0) bad(what, 'an empty GeneralSubtrees');
    for (const st of subtrees) {
      const parts = children(expectTag(st, TAG.SEQUENCE, what, 'GeneralSubtree'), what);
      if (parts.length !== 1) bad(what, 'a GeneralSubtree with minimum or maximum (RFC 5280 requires them absent)');
      list.push(decodeGeneralName(parts[0] as Tlv, what));
    }
  }
  return out;
}

/** cRLDistributionPoints: the URIs of the fullName forms. */
export function decodeCrlDistributionPoints(value: Buffer, what: string): string[] {
  const uris: string[] = [];
  for (const dp of seqOf(value, what, 'cRLDistributionPoints')) {
    for (const f of children(expectTag(dp, TAG.SEQUENCE, what, 'DistributionPoint'), what)) {
      if (f.tag !== 0xa0) continue;
      for (const dpn of children(f, what)) {
        if (dpn.tag !== 0xa0) continue;
        for (const gn of children(dpn, what)) {
          const n = decodeGeneralName(gn, what);
          if (n.type === 'uri') uris.push(n.value);
        }
      }
    }
  }
  return uris;
}

/** authorityInfoAccess: caIssuers and OCSP URIs. */
export function decodeAuthorityInfoAccess(value: Buffer, what: string): { caIssuers: string[]; ocsp: string[] } {
  const out = { caIssuers: [] as string[], ocsp: [] as string[] };
  for (const ad of seqOf(value, what, 'authorityInfoAccess')) {
    const [m, loc] = children(expectTag(ad, TAG.SEQUENCE, what, 'AccessDescription'), what);
    const method = decodeOid(expectTag(m, TAG.OID, what, 'accessMethod').value, what);
    if (loc === undefined) bad(what, 'an AccessDescription without a location');
    const n = decodeGeneralName(loc, what);
    if (n.type !== 'uri') continue;
    if (method === ACCESS.caIssuers) out.caIssuers.push(n.value);
    else if (method === ACCESS.ocsp) out.ocsp.push(n.value);
  }
  return out;
}

/** A positive INTEGER's hex (lower case, as encoded without a sign-padding zero). */
export function integerHex(t: Tlv): string {
  const v = t.value;
  return (v.length > 1 && v[0] === 0 ? v.subarray(1) : v).toString('hex');
}

/** cRLNumber: a non-negative INTEGER (RFC 5280 §5.2.3), as bigint. */
export function decodeCrlNumber(value: Buffer, what: string): bigint {
  const t = expectTag(parseDer(value, what), TAG.INTEGER, what, 'cRLNumber');
  if (((t.value[0] as number) & 0x80) !== 0) bad(what, 'a negative cRLNumber');
  if (t.value.length > 21 || (t.value.length === 21 && t.value[0] !== 0)) bad(what, 'a cRLNumber longer than 20 octets (RFC 5280 §5.2.3)');
  return BigInt(`0x${t.value.toString('hex')}`);
}

/** reasonCode. */
export function decodeReasonCode(value: Buffer, what: string): CrlReasonName | `unknown(${number})` {
  const t = expectTag(parseDer(value, what), TAG.ENUMERATED, what, 'reasonCode');
  const n = t.value.readIntBE(0, Math.min(t.value.length, 6));
  const name = (Object.keys(CRL_REASONS) as CrlReasonName[]).find((k) => CRL_REASONS[k] === n);
  return name ?? `unknown(${n})`;
}

/** invalidityDate (GeneralizedTime). */
export function decodeInvalidityDate(value: Buffer, what: string): Date {
  const t = expectTag(parseDer(value, what), TAG.GENERALIZED_TIME, what, 'invalidityDate');
  return decodeX509Time(t.tag, t.value, what);
}

/** issuingDistributionPoint (RFC 5280 §5.2.5). */
export interface IssuingDistributionPointInfo {
  uris: string[];
  onlyContainsUserCerts: boolean;
  onlyContainsCACerts: boolean;
  indirectCRL: boolean;
  onlySomeReasons: boolean;
  onlyContainsAttributeCerts: boolean;
}

/** Decodes issuingDistributionPoint. */
export function decodeIssuingDistributionPoint(value: Buffer, what: string): IssuingDistributionPointInfo {
  const out: IssuingDistributionPointInfo = { uris: [], onlyContainsUserCerts: false, onlyContainsCACerts: false, indirectCRL: false, onlySomeReasons: false, onlyContainsAttributeCerts: false };
  for (const t of seqOf(value, what, 'issuingDistributionPoint')) {
    const flag = t.value[0] === 0xff;
    if ([0x81, 0x82, 0x84, 0x85].includes(t.tag) && (t.value.length !== 1 || !flag)) bad(what, 'issuingDistributionPoint encodes a FALSE default explicitly');
    if (t.tag === 0xa0) {
      for (const dpn of children(t, what)) if (dpn.tag === 0xa0) for (const gn of children(dpn, what)) {
        const n = decodeGeneralName(gn, what);
        if (n.type === 'uri') out.uris.push(n.value);
      }
    } else if (t.tag === 0x81) out.onlyContainsUserCerts = true;
    else if (t.tag === 0x82) out.onlyContainsCACerts = true;
    else if (t.tag === 0x83 || t.tag === 0xa3) out.onlySomeReasons = true;
    else if (t.tag === 0x84) out.indirectCRL = true;
    else if (t.tag === 0x85) out.onlyContainsAttributeCerts = true;
    else bad(what, 'issuingDistributionPoint has an unexpected field');
  }
  return out;
}

/**
 * Decodes an Extensions SEQUENCE into raw extensions, refusing duplicates (RFC 5280 §4.2).
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function decodeExtensionList(t: Tlv, what: string): ExtensionInfo[] {
  const out: ExtensionInfo[] = [];
  const items = children(expectTag(t, TAG.SEQUENCE, what, 'Extensions'), what);
  if (items.length === 0) bad(what, 'an empty Extensions sequence (omit the field instead)');
  for (const e of items) {
    const parts = children(expectTag(e, TAG.SEQUENCE, what, 'Extension'), what);
    const oid = decodeOid(expectTag(parts[0], TAG.OID, what, 'extnID').value, what);
    let critical = false;
    let i = 1;
    if (parts[i]?.tag === TAG.BOOLEAN) {
      critical = (parts[i] as Tlv).value[0] === 0xff;
      if (!critical) bad(what, `extension ${oidName(oid)} encodes critical FALSE explicitly (DER omits DEFAULT values)`);
      i++;
    }
    const v = expectTag(parts[i], TAG.OCTET_STRING, what, `extension ${oidName(oid)} value`);
    if (parts.length !== i + 1) bad(what, `extension ${oidName(oid)} has unexpected content`);
    if (out.some((x) => x.oid === oid)) bad(what, `extension ${oidName(oid)} appears twice (RFC 5280 §4.2)`);
    out.push({ oid, name: oidName(oid), critical, value: Buffer.from(v.value) });
  }
  return out;
}

/** The extension OIDs the decoders above understand. */
export const KNOWN_EXTENSIONS: ReadonlySet<string> = new Set<string>([
  EXT.basicConstraints,
  EXT.keyUsage,
  EXT.extKeyUsage,
  EXT.subjectKeyIdentifier,
  EXT.authorityKeyIdentifier,
  EXT.subjectAltName,
  EXT.nameConstraints,
  EXT.crlDistributionPoints,
  EXT.authorityInfoAccess,
]);
