/**
 * @module pki/name
 * Distinguished names: build the DER of a subject from a {@link SubjectSpec} (one attribute per
 * RDN, in the order C, ST, L, O, OU, CN, serialNumber; countryName and serialNumber as
 * PrintableString, everything else UTF8String as RFC 5280 §4.1.2.6 requires of new
 * certificates), decode names, and print them in RFC 4514 form (most specific first).
 *
 * Must never: produce a value longer than its X.520 upper bound or with control characters.
 */
import { CoreError, type Problem } from '../errors.ts';
import { children, decodeOid, derTlv, encodeOid, expectTag, parseDer, TAG, type Tlv } from './der.ts';
import { DN_ATTR, dnAttrName } from './oids.ts';

/** The subject attributes NEAM CA writes. */
export interface SubjectSpec {
  country?: string;
  state?: string;
  locality?: string;
  organization?: string;
  organizationalUnit?: string;
  commonName?: string;
  serialNumber?: string;
}

/** Order of attributes in an encoded name (most significant first), with bounds (RFC 5280 App. A). */
const FIELDS: ReadonlyArray<{ key: keyof SubjectSpec; oid: string; printable: boolean; max: number }> = [
  { key: 'country', oid: DN_ATTR.C, printable: true, max: 2 },
  { key: 'state', oid: DN_ATTR.ST, printable: false, max: 128 },
  { key: 'locality', oid: DN_ATTR.L, printable: false, max: 128 },
  { key: 'organization', oid: DN_ATTR.O, printable: false, max: 64 },
  { key: 'organizationalUnit', oid: DN_ATTR.OU, printable: false, max: 64 },
  { key: 'commonName', oid: DN_ATTR.CN, printable: false, max: 64 },
  { key: 'serialNumber', oid: DN_ATTR.serialNumber, printable: true, max: 64 },
];

/** The keys of {@link SubjectSpec}, in encoding order. */
export const SUBJECT_KEYS: ReadonlyArray<keyof SubjectSpec> = FIELDS.map((f) => f.key);

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/u;

/** Problems with a subject spec (each with the attribute as path under `prefix`). */
export function subjectProblems(spec: SubjectSpec, prefix = 'subject'): Problem[] {
  const problems: Problem[] = [];
  for (const f of FIELDS) {
    const v = spec[f.key];
    if (v === undefined) continue;
    const path = `${prefix}.${f.key}`;
    if (v.length === 0) problems.push({ path, message: 'must not be empty (omit the attribute instead)' });
    else if ([...v].length > f.max) problems.push({ path, message: `is ${[...v].length} characters; at most ${f.max} allowed (RFC 5280 Appendix A)` });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/u.test(v)) problems.push({ path, message: 'contains control characters' });
    if (v !== v.trim()) problems.push({ path, message: 'has leading or trailing spaces' });
    if (f.printable && !PRINTABLE.test(v)) problems.push({ path, message: 'may only contain PrintableString characters (letters, digits, space and \'()+,-./:=?)' });
    if (f.key === 'country' && !/^[A-Z]{2}$/u.test(v)) problems.push({ path, message: 'must be a two-letter ISO 3166 code in capitals (e.g. DE)' });
  }
  return problems;
}

/**
 * DER of the Name for a subject spec (an empty SEQUENCE when the spec is empty).
 * @throws {CoreError} ERR_INPUT_INVALID when the spec has problems
 */
export function encodeName(spec: SubjectSpec): Buffer {
  const problems = subjectProblems(spec);
  if (problems.length > 0) throw new CoreError('ERR_INPUT_INVALID', `the subject is invalid:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`, { details: { problems } });
  const rdns: Buffer[] = [];
  for (const f of FIELDS) {
    const v = spec[f.key];
    if (v === undefined) continue;
    const value = derTlv(f.printable ? TAG.PRINTABLE_STRING : TAG.UTF8_STRING, Buffer.from(v, 'utf8'));
    const atv = derTlv(TAG.SEQUENCE, Buffer.concat([encodeOid(f.oid), value]));
    rdns.push(derTlv(TAG.SET, atv));
  }
  return derTlv(TAG.SEQUENCE, Buffer.concat(rdns));
}

/** One attribute of a decoded name. */
export interface NameAttribute {
  /** Short name (`CN`) or dotted OID. */
  type: string;
  oid: string;
  value: string;
  /** The ASN.1 string type tag of the value. */
  valueTag: number;
}

/** A decoded name. */
export interface NameInfo {
  /** RFC 4514 text, most specific first (`CN=Root,O=Example,C=DE`); empty for an empty name. */
  text: string;
  /** Exact DER of the Name. */
  der: Buffer;
  /** RDNs in encoded order (most significant first); each RDN's attributes. */
  rdns: NameAttribute[][];
}

const STRING_TAGS = new Set([TAG.UTF8_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING, 0x14 /* Teletex */, 0x1c /* Universal */, 0x1e /* BMP */]);

function decodeString(t: Tlv): string {
  if (t.tag === 0x1e) {
    const b = Buffer.from(t.value);
    return b.swap16().toString('utf16le');
  }
  if (t.tag === 0x14) return t.value.toString('latin1');
  return t.value.toString('utf8');
}

/**
 * Decodes a Name from its TLV (already strictly parsed).
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function decodeName(t: Tlv, what: string): NameInfo {
  expectTag(t, TAG.SEQUENCE, what, 'Name');
  const rdns: NameAttribute[][] = [];
  for (const set of children(t, what)) {
    expectTag(set, TAG.SET, what, 'RelativeDistinguishedName');
    const attrs: NameAttribute[] = [];
    const items = children(set, what);
    if (items.length === 0) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: an empty RelativeDistinguishedName`);
    for (const atv of items) {
      const [typeT, valueT] = children(expectTag(atv, TAG.SEQUENCE, what, 'AttributeTypeAndValue'), what);
      const oid = decodeOid(expectTag(typeT, TAG.OID, what, 'attribute type').value, what);
      if (valueT === undefined) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: an attribute without a value`);
      const value = STRING_TAGS.has(valueT.tag as never) ? decodeString(valueT) : `#${valueT.bytes.toString('hex')}`;
      attrs.push({ type: dnAttrName(oid), oid, value, valueTag: valueT.tag });
    }
    rdns.push(attrs);
  }
  return { text: formatRdns(rdns), der: Buffer.from(t.bytes), rdns };
}

/** Decodes Name DER. */
export function decodeNameDer(der: Uint8Array, what = 'the name'): NameInfo {
  return decodeName(parseDer(der, what), what);
}

function escapeValue(v: string): string {
  // RFC 4514 §2.4
  let out = v.replace(/[\\,+"<>;=]/gu, (c) => `\\${c}`);
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatRdns(rdns: NameAttribute[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${a.value.startsWith('#') && a.type === a.oid ? a.value : escapeValue(a.value)}`).join('+'))
    .join(',');
}

/** The subject spec a decoded name corresponds to, when it only uses attributes NEAM CA writes. */
export function nameToSpec(name: NameInfo): SubjectSpec | undefined {
  const spec: SubjectSpec = {};
  for (const rdn of name.rdns) {
    if (rdn.length !== 1) return undefined;
    const a = rdn[0] as NameAttribute;
    const f = FIELDS.find((x) => x.oid === a.oid);
    if (f === undefined || spec[f.key] !== undefined) return undefined;
    spec[f.key] = a.value;
  }
  return spec;
}
