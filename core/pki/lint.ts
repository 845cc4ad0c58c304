/**
 * @module pki/lint
 * The pre- and post-signing linter. It decodes the exact tbsCertificate / tbsCertList bytes with
 * NEAM CA's own strict decoder and checks them against two rule sets, returning every problem:
 * - conformance to the profile and the request (algorithms, key, validity, subject, each
 *   extension and its criticality, serial size, SKI/AKI values, SANs, name constraints), and
 * - standards that hold whatever the profile says (RFC 5280, RFC 8813, X509-SVID, and house rules
 *   such as "a root's CRL lists only CA certificates").
 * Each problem names its rule (`rfc5280.keycertsign-requires-ca`), the field, and the reason.
 *
 * Must never: throw for a lint finding (findings are returned), call an HSM, or read the clock.
 */
import { CoreError } from '../errors.ts';
import { decodeNameDer, nameToSpec, subjectProblems } from './name.ts';
import { parseTbsCertificate, parseTbsCertList, type CertificateInfo, type TbsCertificateInfo, type TbsCertListInfo } from './decode.ts';
import { formatGeneralName, KNOWN_EXTENSIONS, type GeneralNameInfo, type KeyUsageName } from './extensions.ts';
import { algorithmFitsKey, decodeSpki, describeKey, keyIdentifier, publicKeyProblem, type HashName } from './keys.ts';
import { EXT } from './oids.ts';
import type { CertificateProfile, CrlProfile } from './profile.ts';
import { SERIAL_PREFIX } from './serial.ts';
import { addDuration, isoSeconds, parseDuration, subtractDuration, x509TimeTag } from './time.ts';

/** One lint finding. */
export interface LintProblem {
  /** Rule id: `profile.*` (conformance), `rfc5280.*`, `rfc8813.*`, `x509svid.*`, `neam.*`. */
  rule: string;
  /** Field of the TBS the rule looked at (`extensions.keyUsage`, `validity.notAfter`). */
  path: string;
  /** What is wrong and why. */
  message: string;
}

/** What the linter knows about the issuer (from its certificate, or the subject for self-signed). */
export interface IssuerInfo {
  /** RFC 4514 text of the issuer's subject. */
  subject: string;
  /** The issuer's subject Name DER (must equal the TBS issuer byte for byte). */
  subjectDer: Buffer;
  spki: Buffer;
  /** Key identifier to put in AKI: the issuer certificate's SKI, else computed (RFC 7093). */
  keyIdentifier: string;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  pathLen?: number;
  /** Key usages of the issuer certificate (undefined when it has no keyUsage extension). */
  keyUsage?: KeyUsageName[];
  /** Name constraints in force from the issuer certificate. */
  nameConstraints?: { permitted: GeneralNameInfo[]; excluded: GeneralNameInfo[] };
  /** SHA-256 of the issuer certificate DER, when there is one. */
  certificateSha256?: string;
  /**
   * True when the issuer certificate is self-issued (issuer name = subject name): a root. The root
   * signs intermediate CA certificates and CRLs, nothing else (design §2).
   */
  selfIssued?: boolean;
}

/** Issuer info from a decoded issuer certificate. */
export function issuerFromCertificate(cert: CertificateInfo): IssuerInfo {
  const info: IssuerInfo = {
    subject: cert.subject.text,
    subjectDer: cert.subject.der,
    spki: cert.spki,
    keyIdentifier: cert.subjectKeyIdentifier ?? keyIdentifier(cert.spki),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ca: cert.basicConstraints?.ca ?? false,
    certificateSha256: cert.sha256,
    selfIssued: cert.selfIssued,
  };
  if (cert.basicConstraints?.pathLen !== undefined) info.pathLen = cert.basicConstraints.pathLen;
  if (cert.keyUsage !== undefined) info.keyUsage = cert.keyUsage.usages;
  if (cert.nameConstraints !== undefined) info.nameConstraints = { permitted: cert.nameConstraints.permitted, excluded: cert.nameConstraints.excluded };
  return info;
}

/** Context of a certificate lint. */
export interface CertificateLintContext {
  profile: CertificateProfile;
  /** The issuer, or `'self'` for a self-signed certificate (root, transfer). */
  issuer: IssuerInfo | 'self';
  /** The time of preparation; validity and backdating are judged against it. */
  now: Date;
  /**
   * The time of signing, when linting for a signature: the certificate must not be expired then,
   * and the preparation time must lie before it by at most {@link maxSigningDelayMs} (so a
   * preparation time claimed in the past cannot license backdating).
   */
  signingTime?: Date;
  /** Longest accepted time between preparation and signing (default {@link DEFAULT_MAX_SIGNING_DELAY_MS}). */
  maxSigningDelayMs?: number;
  /** What the request asked for; each given field must match exactly. */
  expected?: {
    serial?: string;
    subjectDer?: Buffer;
    spki?: Buffer;
    notBefore?: Date;
    notAfter?: Date;
    sans?: { uris?: readonly string[]; dnsNames?: readonly string[] };
  };
}

/** Tolerance for clocks when judging "in the future" and "backdated". */
const CLOCK_TOLERANCE_MS = 5 * 60_000;

/**
 * Default longest time between preparing and signing (7 days): approvals are collected within
 * their 24-hour default validity, asynchronous ones over a weekend. A longer approval window
 * (at most 30 days) passes a larger value.
 */
export const DEFAULT_MAX_SIGNING_DELAY_MS = 7 * 86_400_000;

/** The signing-time rules shared by certificates and CRLs: preparation before signing, not too long before. */
function signingTimeProblems(ctx: { now: Date; signingTime?: Date; maxSigningDelayMs?: number }, add: (rule: string, path: string, message: string) => void): void {
  if (ctx.signingTime === undefined) return;
  const delay = ctx.signingTime.getTime() - ctx.now.getTime();
  const max = ctx.maxSigningDelayMs ?? DEFAULT_MAX_SIGNING_DELAY_MS;
  if (delay < -CLOCK_TOLERANCE_MS) add('neam.prepared-after-signing', '', `it was prepared at ${isoSeconds(ctx.now)}, after the signing time ${isoSeconds(ctx.signingTime)}`);
  if (delay > max) add('neam.prepared-too-long-ago', '', `it was prepared at ${isoSeconds(ctx.now)}, ${describeDelay(delay)} before the signing time ${isoSeconds(ctx.signingTime)}; at most ${describeDelay(max)} may pass`);
}

/** "20 days", "5 hours", "12 minutes". */
export function describeDelay(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute']];
  for (const [size, name] of units) {
    if (ms >= size) {
      const n = Math.floor(ms / size);
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${Math.max(0, Math.floor(ms / 1000))} seconds`;
}

const HASH_OF_SIGN = { 'RSA-PKCS1-SHA256': 'SHA-256', 'RSA-PKCS1-SHA384': 'SHA-384', 'RSA-PKCS1-SHA512': 'SHA-512', 'ECDSA-SHA256': 'SHA-256', 'ECDSA-SHA384': 'SHA-384' } as const;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function list(a: readonly string[]): string {
  return a.length === 0 ? '(none)' : a.join(', ');
}

/** SPIFFE ID syntax (SPIFFE-ID §2) and trust domain; returns the problem or undefined. */
export function spiffeIdProblem(uri: string, trustDomain: string | undefined, requirePath: boolean): string | undefined {
  const m = /^spiffe:\/\/([^/?#]*)(\/[^?#]*)?$/u.exec(uri);
  if (m === null) return `'${uri}' is not a SPIFFE ID (spiffe://trust-domain/path, no query or fragment)`;
  const td = m[1] as string;
  const path = m[2] ?? '';
  if (!/^[a-z0-9._-]+$/u.test(td)) return `'${uri}' has an invalid trust domain (lower-case letters, digits, '.', '-', '_' only; no port or user info)`;
  if (trustDomain !== undefined && td !== trustDomain) return `'${uri}' is in trust domain '${td}', not '${trustDomain}'`;
  if (requirePath && path === '') return `'${uri}' has no path; a workload SPIFFE ID needs one (X509-SVID §2)`;
  if (!requirePath && path !== '') return `'${uri}' has a path; a signing certificate may only carry the trust domain's ID (X509-SVID §3)`;
  if (path !== '') {
    if (path.endsWith('/')) return `'${uri}' ends with '/'`;
    for (const seg of path.slice(1).split('/')) {
      if (seg === '' || seg === '.' || seg === '..' || !/^[A-Za-z0-9._-]+$/u.test(seg)) return `'${uri}' has an invalid path segment '${seg}' (letters, digits, '.', '-', '_'; no empty, '.' or '..' segments)`;
    }
  }
  return undefined;
}

function uriHost(uri: string): string | undefined {
  try {
    const u = new URL(uri);
    return u.hostname === '' ? undefined : u.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** RFC 5280 §4.2.1.10 matching for URI and DNS constraints (host or leading-dot domain). */
function hostMatches(host: string, constraint: string, kind: 'uri' | 'dns'): boolean {
  const c = constraint.toLowerCase();
  if (c.startsWith('.')) return host.endsWith(c);
  if (kind === 'dns') return host === c || host.endsWith(`.${c}`);
  return host === c;
}

function nameConstraintProblems(names: GeneralNameInfo[], nc: NonNullable<IssuerInfo['nameConstraints']>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (n.type !== 'uri' && n.type !== 'dns') continue;
    const host = n.type === 'uri' ? uriHost(n.value) : n.value.toLowerCase();
    const permitted = nc.permitted.filter((p) => p.type === n.type);
    const excluded = nc.excluded.filter((p) => p.type === n.type);
    if (host === undefined) {
      if (permitted.length > 0) out.push(`${formatGeneralName(n)} has no host, so it cannot satisfy the issuer's permitted ${n.type.toUpperCase()} subtrees`);
      continue;
    }
    if (permitted.length > 0 && !permitted.some((p) => hostMatches(host, p.value, n.type as 'uri' | 'dns'))) {
      out.push(`${formatGeneralName(n)} is outside the issuer's permitted subtrees (${permitted.map((p) => p.value).join(', ')})`);
    }
    if (excluded.some((p) => hostMatches(host, p.value, n.type as 'uri' | 'dns'))) out.push(`${formatGeneralName(n)} is inside the issuer's excluded subtrees`);
  }
  return out;
}

function checkSignatureAlgorithm(tbs: { signature: { name: string; sign?: keyof typeof HASH_OF_SIGN } }, hash: HashName, issuerSpki: Buffer, add: (rule: string, path: string, message: string) => void): void {
  const sign = tbs.signature.sign;
  if (sign === undefined) {
    add('neam.signature-algorithm', 'signature', `signature algorithm ${tbs.signature.name} is not one NEAM CA signs with (RSA PKCS#1 v1.5 or ECDSA with SHA-256/384/512, RSA parameters NULL, ECDSA parameters absent)`);
    return;
  }
  if (HASH_OF_SIGN[sign] !== hash) add('profile.signature-hash', 'signature', `signature algorithm ${tbs.signature.name} uses ${HASH_OF_SIGN[sign]}; the profile requires ${hash}`);
  const issuerKey = decodeSpki(issuerSpki);
  if (!algorithmFitsKey(sign, issuerKey)) add('rfc5280.signature-fits-issuer-key', 'signature', `signature algorithm ${tbs.signature.name} cannot be made by the issuer's ${describeKey(issuerKey)} key`);
}

/**
 * Lints tbsCertificate bytes against a profile and the standards. Returns every problem (empty
 * when the certificate may be signed). Undecodable bytes are one problem, not an exception.
 */
export function lintTbsCertificate(tbsDer: Uint8Array, ctx: CertificateLintContext): LintProblem[] {
  let tbs: TbsCertificateInfo;
  try {
    tbs = parseTbsCertificate(tbsDer);
  } catch (e) {
    return [{ rule: 'der.decode', path: '', message: e instanceof CoreError ? e.message : 'the tbsCertificate cannot be decoded' }];
  }
  const problems: LintProblem[] = [];
  const add = (rule: string, path: string, message: string): void => {
    problems.push({ rule, path, message });
  };
  const p = ctx.profile;
  const self = ctx.issuer === 'self';
  const issuer: IssuerInfo =
    ctx.issuer === 'self'
      ? { subject: tbs.subject.text, subjectDer: tbs.subject.der, spki: tbs.spki, keyIdentifier: keyIdentifier(tbs.spki), notBefore: tbs.notBefore, notAfter: tbs.notAfter, ca: tbs.basicConstraints?.ca ?? false }
      : ctx.issuer;
  const isCa = tbs.basicConstraints?.ca === true;
  const usages = tbs.keyUsage?.usages ?? [];

  // --- version, serial, unique ids
  if (tbs.version !== 3) add('rfc5280.version', 'version', `version is v${tbs.version}; certificates with extensions must be v3 (RFC 5280 §4.1.2.1)`);
  if (tbs.serialNegative || /^0*$/u.test(tbs.serial)) add('rfc5280.serial-positive', 'serialNumber', 'the serial number must be a positive integer (RFC 5280 §4.1.2.2)');
  if (tbs.serialOctets > 20) add('rfc5280.serial-length', 'serialNumber', `the serial number is ${tbs.serialOctets} octets; at most 20 are allowed (RFC 5280 §4.1.2.2)`);
  const serialBytes = tbs.serial.length / 2;
  if (serialBytes !== 1 + p.serialBytes || !tbs.serial.startsWith(SERIAL_PREFIX.toString(16).padStart(2, '0'))) {
    add('profile.serial-size', 'serialNumber', `the serial number has ${serialBytes} octets; the profile makes serials of a 0x01 octet plus ${p.serialBytes} random octets (${p.serialBytes * 8} bits from the HSM RNG)`);
  }
  if (serialBytes - 1 < 8) add('neam.serial-entropy', 'serialNumber', 'the serial number carries fewer than 64 random bits (CA/B Baseline Requirements §7.1)');
  if (ctx.expected?.serial !== undefined && ctx.expected.serial !== tbs.serial) add('neam.serial-expected', 'serialNumber', `the serial number is ${tbs.serial}, not the ${ctx.expected.serial} that was drawn for it`);
  if (tbs.hasUniqueIds) add('rfc5280.no-unique-ids', 'issuerUniqueID', 'unique identifiers must not be generated by conforming CAs (RFC 5280 §4.1.2.8)');

  // --- algorithms and names
  checkSignatureAlgorithm(tbs, p.signatureHash, issuer.spki, add);
  if (!tbs.issuer.der.equals(issuer.subjectDer)) {
    add('rfc5280.issuer-name', 'issuer', `the issuer name '${tbs.issuer.text}' is not byte-identical to the issuer's subject '${issuer.subject}' (RFC 5280 §4.1.2.4, path building compares names)`);
  }
  if (self && !tbs.issuer.der.equals(tbs.subject.der)) add('rfc5280.self-signed-names', 'issuer', 'a self-signed certificate must have issuer = subject');

  // --- validity
  const span = tbs.notAfter.getTime() - tbs.notBefore.getTime();
  if (span <= 0) add('rfc5280.validity-order', 'validity', `notAfter (${isoSeconds(tbs.notAfter)}) is not after notBefore (${isoSeconds(tbs.notBefore)})`);
  if (tbs.notBeforeTag !== x509TimeTag(tbs.notBefore)) add('rfc5280.time-encoding', 'validity.notBefore', 'dates through 2049 must be UTCTime and from 2050 GeneralizedTime (RFC 5280 §4.1.2.5)');
  if (tbs.notAfterTag !== x509TimeTag(tbs.notAfter)) add('rfc5280.time-encoding', 'validity.notAfter', 'dates through 2049 must be UTCTime and from 2050 GeneralizedTime (RFC 5280 §4.1.2.5)');
  const backdate = parseDuration(p.validity.backdate);
  const maxNotAfter = addDuration(addDuration(tbs.notBefore, backdate), p.validity.duration);
  if (tbs.notAfter.getTime() > maxNotAfter.getTime()) {
    add('profile.validity-duration', 'validity.notAfter', `the certificate is valid until ${isoSeconds(tbs.notAfter)}, beyond the profile's ${p.validity.duration} from ${isoSeconds(tbs.notBefore)}${p.validity.backdate === '0s' ? '' : ` (plus ${p.validity.backdate} backdating)`}`);
  }
  if (!self) {
    if (tbs.notAfter.getTime() > issuer.notAfter.getTime()) add('neam.validity-within-issuer', 'validity.notAfter', `notAfter ${isoSeconds(tbs.notAfter)} is after the issuer's notAfter ${isoSeconds(issuer.notAfter)}`);
    if (tbs.notBefore.getTime() < issuer.notBefore.getTime()) add('neam.validity-within-issuer', 'validity.notBefore', `notBefore ${isoSeconds(tbs.notBefore)} is before the issuer's notBefore ${isoSeconds(issuer.notBefore)}`);
  }
  if (tbs.notAfter.getTime() <= ctx.now.getTime()) add('neam.not-expired', 'validity.notAfter', `the certificate would already be expired at ${isoSeconds(ctx.now)}`);
  if (ctx.signingTime !== undefined && tbs.notAfter.getTime() <= ctx.signingTime.getTime() && tbs.notAfter.getTime() > ctx.now.getTime()) {
    add('neam.not-expired', 'validity.notAfter', `the certificate would already be expired at the signing time ${isoSeconds(ctx.signingTime)}`);
  }
  signingTimeProblems(ctx, add);
  const earliest = subtractDuration(ctx.now, backdate).getTime() - CLOCK_TOLERANCE_MS;
  if (tbs.notBefore.getTime() < earliest) add('neam.backdated', 'validity.notBefore', `notBefore ${isoSeconds(tbs.notBefore)} is further in the past than the profile's backdating (${p.validity.backdate}) allows`);
  if (ctx.expected?.notBefore !== undefined && ctx.expected.notBefore.getTime() !== tbs.notBefore.getTime()) add('neam.validity-expected', 'validity.notBefore', `notBefore is ${isoSeconds(tbs.notBefore)}, not the requested ${isoSeconds(ctx.expected.notBefore)}`);
  if (ctx.expected?.notAfter !== undefined && ctx.expected.notAfter.getTime() !== tbs.notAfter.getTime()) add('neam.validity-expected', 'validity.notAfter', `notAfter is ${isoSeconds(tbs.notAfter)}, not the requested ${isoSeconds(ctx.expected.notAfter)}`);

  // --- subject
  const subjectEmpty = tbs.subject.rdns.length === 0;
  if (ctx.expected?.subjectDer !== undefined && !ctx.expected.subjectDer.equals(tbs.subject.der)) {
    add('profile.subject', 'subject', `the subject '${tbs.subject.text}' is not the requested '${decodeNameDer(ctx.expected.subjectDer).text}'`);
  }
  const spec = nameToSpec(tbs.subject);
  if (spec === undefined) add('neam.subject-attributes', 'subject', `the subject '${tbs.subject.text}' uses attributes or multi-valued RDNs NEAM CA does not issue`);
  else for (const sp of subjectProblems(spec)) add('rfc5280.subject-attribute', sp.path, sp.message);
  if (isCa && subjectEmpty) add('rfc5280.ca-subject', 'subject', 'a CA certificate must have a non-empty subject (RFC 5280 §4.1.2.6)');
  if (!self && p.role === 'intermediate' && tbs.subject.der.equals(issuer.subjectDer)) add('neam.subject-differs-from-issuer', 'subject', 'the intermediate would have the same name as its issuer (self-issued); give it its own name');
  if (subjectEmpty && tbs.subjectAltName?.critical !== true) add('rfc5280.empty-subject-san-critical', 'extensions.subjectAltName', 'with an empty subject, subjectAltName must be present and critical (RFC 5280 §4.2.1.6; OpenSSL -x509_strict refuses otherwise)');

  // --- subject key
  const keyProblem = publicKeyProblem(tbs.publicKey, { allowed: p.subjectKey });
  if (keyProblem !== undefined) add(keyProblem.code === 'ERR_PKI_KEY_WEAK' ? 'neam.key-strength' : 'profile.subject-key', 'subjectPublicKeyInfo', keyProblem.message);
  if (ctx.expected?.spki !== undefined && !ctx.expected.spki.equals(tbs.spki)) add('neam.spki-expected', 'subjectPublicKeyInfo', 'the public key is not the one requested (CSR or HSM key)');

  // --- extensions: nothing unknown, nothing the profile did not ask for
  for (const e of tbs.extensions) {
    if (!KNOWN_EXTENSIONS.has(e.oid)) add('profile.unexpected-extension', `extensions.${e.name}`, `extension ${e.name}${e.critical ? ' (critical)' : ''} is not part of the profile`);
  }
  const want = (present: boolean, name: string, has: boolean): boolean => {
    if (present && !has) add('profile.extension-missing', `extensions.${name}`, `the profile requires ${name}, which is missing`);
    if (!present && has) add('profile.unexpected-extension', `extensions.${name}`, `${name} is present but the profile does not include it`);
    return present && has;
  };

  // basicConstraints
  const bc = tbs.basicConstraints;
  if (want(p.basicConstraints !== undefined, 'basicConstraints', bc !== undefined) && bc !== undefined && p.basicConstraints !== undefined) {
    if (bc.critical !== p.basicConstraints.critical) add('profile.criticality', 'extensions.basicConstraints', `basicConstraints is ${bc.critical ? '' : 'not '}critical; the profile says ${p.basicConstraints.critical ? 'critical' : 'not critical'}`);
    if (bc.ca !== p.basicConstraints.ca) add('profile.basic-constraints', 'extensions.basicConstraints.cA', `cA is ${String(bc.ca)}; the profile says ${String(p.basicConstraints.ca)}`);
    if (bc.pathLen !== p.basicConstraints.pathLen) add('profile.basic-constraints', 'extensions.basicConstraints.pathLenConstraint', `pathLenConstraint is ${bc.pathLen ?? 'absent'}; the profile says ${p.basicConstraints.pathLen ?? 'absent'}`);
  }
  // keyUsage
  const ku = tbs.keyUsage;
  if (want(p.keyUsage !== undefined, 'keyUsage', ku !== undefined) && ku !== undefined && p.keyUsage !== undefined) {
    if (ku.critical !== p.keyUsage.critical) add('profile.criticality', 'extensions.keyUsage', `keyUsage is ${ku.critical ? '' : 'not '}critical; the profile says ${p.keyUsage.critical ? 'critical' : 'not critical'}`);
    if (!sameSet(ku.usages, p.keyUsage.usages)) add('profile.key-usage', 'extensions.keyUsage', `keyUsage is ${list(ku.usages)}; the profile says ${list(p.keyUsage.usages)}`);
  }
  // extKeyUsage
  const eku = tbs.extKeyUsage;
  if (want(p.extKeyUsage !== undefined, 'extKeyUsage', eku !== undefined) && eku !== undefined && p.extKeyUsage !== undefined) {
    if (eku.critical !== p.extKeyUsage.critical) add('profile.criticality', 'extensions.extKeyUsage', `extKeyUsage is ${eku.critical ? '' : 'not '}critical; the profile says ${p.extKeyUsage.critical ? 'critical' : 'not critical'}`);
    if (!sameSet(eku.usages, p.extKeyUsage.usages)) add('profile.ext-key-usage', 'extensions.extKeyUsage', `extKeyUsage is ${list(eku.usages)}; the profile says ${list(p.extKeyUsage.usages)}`);
  }
  // SKI
  const skiExt = tbs.extensions.find((e) => e.oid === EXT.subjectKeyIdentifier);
  if (want(p.subjectKeyIdentifier, 'subjectKeyIdentifier', tbs.subjectKeyIdentifier !== undefined)) {
    if (skiExt?.critical === true) add('rfc5280.ski-not-critical', 'extensions.subjectKeyIdentifier', 'subjectKeyIdentifier must not be critical (RFC 5280 §4.2.1.2)');
    if (tbs.subjectKeyIdentifier !== keyIdentifier(tbs.spki)) add('neam.ski-value', 'extensions.subjectKeyIdentifier', 'subjectKeyIdentifier is not the RFC 7093 method-1 identifier of the subject key');
  }
  // AKI
  const aki = tbs.authorityKeyIdentifier;
  if (want(p.authorityKeyIdentifier, 'authorityKeyIdentifier', aki !== undefined) && aki !== undefined) {
    if (aki.critical) add('rfc5280.aki-not-critical', 'extensions.authorityKeyIdentifier', 'authorityKeyIdentifier must not be critical (RFC 5280 §4.2.1.1)');
    if (aki.keyIdentifier !== issuer.keyIdentifier) add('rfc5280.aki-matches-issuer', 'extensions.authorityKeyIdentifier', `authorityKeyIdentifier ${aki.keyIdentifier ?? '(none)'} is not the issuer's key identifier ${issuer.keyIdentifier}`);
    if (aki.hasIssuerAndSerial) add('profile.aki-form', 'extensions.authorityKeyIdentifier', 'authorityKeyIdentifier must carry only keyIdentifier');
  }
  // SAN
  const san = tbs.subjectAltName;
  const fixedUris = p.subjectAltName?.uris ?? [];
  const fixedDns = p.subjectAltName?.dnsNames ?? [];
  const expUris = [...fixedUris, ...(ctx.expected?.sans?.uris ?? [])];
  const expDns = [...fixedDns, ...(ctx.expected?.sans?.dnsNames ?? [])];
  const sanUris = san?.names.filter((n) => n.type === 'uri').map((n) => n.value) ?? [];
  const sanDns = san?.names.filter((n) => n.type === 'dns').map((n) => n.value) ?? [];
  const sanOther = san?.names.filter((n) => n.type !== 'uri' && n.type !== 'dns') ?? [];
  if (san !== undefined && p.subjectAltName === undefined) add('profile.unexpected-extension', 'extensions.subjectAltName', 'subjectAltName is present but the profile does not include it');
  if (san === undefined && expUris.length + expDns.length > 0) add('profile.extension-missing', 'extensions.subjectAltName', `subjectAltName is missing; expected ${list([...expUris, ...expDns])}`);
  if (san !== undefined) {
    if (!sameSet(sanUris, expUris) || !sameSet(sanDns, expDns) || sanOther.length > 0) {
      add('profile.subject-alt-name', 'extensions.subjectAltName', `subjectAltName is ${list(san.names.map(formatGeneralName))}; expected ${list([...expUris.map((u) => `URI:${u}`), ...expDns.map((d) => `DNS:${d}`)])}`);
    }
    const requestedUris = sanUris.length - fixedUris.length;
    const requestedDns = sanDns.length - fixedDns.length;
    if (p.subjectAltName !== undefined && (requestedUris > p.subjectAltName.requested.uris || requestedDns > p.subjectAltName.requested.dnsNames)) {
      add('profile.subject-alt-name-count', 'extensions.subjectAltName', `the profile allows at most ${p.subjectAltName.requested.uris} requested URI and ${p.subjectAltName.requested.dnsNames} DNS names`);
    }
    const wantCritical = p.subjectAltName === undefined ? subjectEmpty : p.subjectAltName.critical === 'if-subject-empty' ? subjectEmpty : p.subjectAltName.critical;
    if (san.critical !== wantCritical) add('profile.criticality', 'extensions.subjectAltName', `subjectAltName is ${san.critical ? '' : 'not '}critical; expected ${wantCritical ? 'critical' : 'not critical'}`);
  }
  // name constraints
  const nc = tbs.nameConstraints;
  if (want(p.nameConstraints !== undefined, 'nameConstraints', nc !== undefined) && nc !== undefined && p.nameConstraints !== undefined) {
    const pick = (names: GeneralNameInfo[], type: 'uri' | 'dns'): string[] => names.filter((n) => n.type === type).map((n) => n.value);
    if (nc.critical !== p.nameConstraints.critical) add('profile.criticality', 'extensions.nameConstraints', `nameConstraints is ${nc.critical ? '' : 'not '}critical; the profile says ${p.nameConstraints.critical ? 'critical' : 'not critical'}`);
    if (
      !sameSet(pick(nc.permitted, 'uri'), p.nameConstraints.permittedUris) ||
      !sameSet(pick(nc.excluded, 'uri'), p.nameConstraints.excludedUris) ||
      !sameSet(pick(nc.permitted, 'dns'), p.nameConstraints.permittedDnsNames) ||
      !sameSet(pick(nc.excluded, 'dns'), p.nameConstraints.excludedDnsNames) ||
      [...nc.permitted, ...nc.excluded].some((n) => n.type !== 'uri' && n.type !== 'dns')
    ) {
      add('profile.name-constraints', 'extensions.nameConstraints', `nameConstraints permit ${list(nc.permitted.map(formatGeneralName))} and exclude ${list(nc.excluded.map(formatGeneralName))}, not what the profile says`);
    }
  }
  // CRL DP and AIA
  if (want(p.crlDistributionPoints !== undefined, 'cRLDistributionPoints', tbs.crlDistributionPoints !== undefined) && tbs.crlDistributionPoints !== undefined && !sameSet(tbs.crlDistributionPoints, p.crlDistributionPoints ?? [])) {
    add('profile.crl-distribution-points', 'extensions.cRLDistributionPoints', `cRLDistributionPoints are ${list(tbs.crlDistributionPoints)}; the profile says ${list(p.crlDistributionPoints ?? [])}`);
  }
  const aiaWanted = p.authorityInfoAccess !== undefined && p.authorityInfoAccess.caIssuers.length + p.authorityInfoAccess.ocsp.length > 0;
  const aia = tbs.authorityInfoAccess;
  if (want(aiaWanted, 'authorityInfoAccess', aia !== undefined) && aia !== undefined && p.authorityInfoAccess !== undefined) {
    if (!sameSet(aia.caIssuers, p.authorityInfoAccess.caIssuers) || !sameSet(aia.ocsp, p.authorityInfoAccess.ocsp)) add('profile.authority-info-access', 'extensions.authorityInfoAccess', 'authorityInfoAccess URLs differ from the profile');
  }
  for (const e of tbs.extensions) {
    if ((e.oid === EXT.crlDistributionPoints || e.oid === EXT.authorityInfoAccess) && e.critical) {
      add('rfc5280.not-critical', `extensions.${e.name}`, `${e.name} must not be critical (RFC 5280 §4.2.1.13, §4.2.2.1)`);
    }
  }

  // --- standards (whatever the profile says)
  if (isCa && bc?.critical !== true) add('rfc5280.ca-basic-constraints-critical', 'extensions.basicConstraints', 'a CA certificate must mark basicConstraints critical (RFC 5280 §4.2.1.9)');
  if (bc?.pathLen !== undefined && !(isCa && usages.includes('keyCertSign'))) add('rfc5280.pathlen-requires-ca', 'extensions.basicConstraints.pathLenConstraint', 'pathLenConstraint is only meaningful with cA TRUE and keyCertSign (RFC 5280 §4.2.1.9)');
  if (usages.includes('keyCertSign') && !isCa) add('rfc5280.keycertsign-requires-ca', 'extensions.keyUsage', 'keyCertSign is asserted but basicConstraints cA is not TRUE; a non-CA certificate must not sign certificates (RFC 5280 §4.2.1.9)');
  if (isCa && !usages.includes('keyCertSign')) add('rfc5280.ca-requires-keycertsign', 'extensions.keyUsage', 'a CA certificate must have keyUsage with keyCertSign (RFC 5280 §4.2.1.3)');
  if (isCa && ku !== undefined && !ku.critical) add('neam.ca-key-usage-critical', 'extensions.keyUsage', 'a CA certificate\'s keyUsage must be critical (RFC 5280 §4.2.1.3 SHOULD; NEAM CA requires it)');
  if (isCa && tbs.subjectKeyIdentifier === undefined) add('rfc5280.ca-ski', 'extensions.subjectKeyIdentifier', 'a CA certificate must carry subjectKeyIdentifier (RFC 5280 §4.2.1.2)');
  if (!self && aki?.keyIdentifier === undefined) add('rfc5280.aki-required', 'extensions.authorityKeyIdentifier', 'a certificate that is not self-signed must carry authorityKeyIdentifier with keyIdentifier (RFC 5280 §4.2.1.1)');
  if (tbs.publicKey.type === 'EC' && (usages.includes('keyEncipherment') || usages.includes('dataEncipherment'))) add('rfc8813.ec-no-encipherment', 'extensions.keyUsage', 'an EC key must not assert keyEncipherment or dataEncipherment (RFC 8813 §3)');
  if ((usages.includes('encipherOnly') || usages.includes('decipherOnly')) && !usages.includes('keyAgreement')) add('rfc5280.encipher-decipher-only', 'extensions.keyUsage', 'encipherOnly/decipherOnly require keyAgreement (RFC 5280 §4.2.1.3)');
  if (nc !== undefined && !isCa) add('rfc5280.name-constraints-ca-only', 'extensions.nameConstraints', 'nameConstraints may only appear in CA certificates (RFC 5280 §4.2.1.10)');
  if (nc !== undefined && !nc.critical) add('rfc5280.name-constraints-critical', 'extensions.nameConstraints', 'nameConstraints must be critical (RFC 5280 §4.2.1.10)');
  if (san !== undefined && san.names.length === 0) add('rfc5280.san-nonempty', 'extensions.subjectAltName', 'subjectAltName must hold at least one name');

  // Role rules
  if ((p.role === 'root' || p.role === 'intermediate') && !isCa) add('neam.role-ca', 'extensions.basicConstraints', `a ${p.role} certificate must be a CA (basicConstraints cA TRUE)`);
  if ((p.role === 'leaf' || p.role === 'self-signed') && isCa) add('neam.role-not-ca', 'extensions.basicConstraints', `a ${p.role} certificate must not be a CA`);
  if ((p.role === 'leaf' || p.role === 'self-signed') && (usages.includes('keyCertSign') || usages.includes('cRLSign'))) {
    add('x509svid.leaf-no-cert-or-crl-sign', 'extensions.keyUsage', `a ${p.role} certificate must not assert keyCertSign or cRLSign (RFC 5280 §4.2.1.3, X509-SVID §4.3)`);
  }
  if (p.role === 'root' && tbs.extKeyUsage !== undefined) add('neam.root-no-eku', 'extensions.extKeyUsage', 'a root certificate carries no extKeyUsage (it would constrain every certificate below it in some validators)');
  if (p.role === 'root' && !self) add('neam.root-self-signed', 'issuer', 'a root certificate must be self-signed');
  if (p.role === 'intermediate' && self) add('neam.intermediate-issued', 'issuer', 'an intermediate must be issued by a root, not self-signed');
  if (p.role === 'intermediate' && p.trustDomain !== undefined) {
    const permittedUris = nc?.permitted.filter((n) => n.type === 'uri').map((n) => n.value) ?? [];
    if (nc === undefined || permittedUris.length !== 1 || permittedUris[0] !== p.trustDomain) {
      add('neam.intermediate-trust-domain-constraint', 'extensions.nameConstraints', `an intermediate of trust domain '${p.trustDomain}' must carry a critical URI name constraint permitting exactly '${p.trustDomain}'`);
    }
  }

  // Issuer chain rules
  if (!self && issuer.selfIssued === true && issuer.ca && (p.role !== 'intermediate' || !isCa)) {
    // Design §2: the offline root signs intermediate CA certificates and its CRL, nothing else.
    add('neam.root-issues-only-intermediates', 'issuer', `the root signs only intermediate CA certificates and CRLs; this is a ${p.role}${isCa ? '' : ' (not a CA)'} certificate. Issue it from an intermediate`);
  }
  if (!self) {
    if (!issuer.ca) add('rfc5280.issuer-is-ca', 'issuer', `the issuer '${issuer.subject}' is not a CA`);
    if (issuer.keyUsage !== undefined && !issuer.keyUsage.includes('keyCertSign')) add('rfc5280.issuer-keycertsign', 'issuer', `the issuer '${issuer.subject}' may not sign certificates (no keyCertSign)`);
    if (isCa && issuer.pathLen !== undefined) {
      if (issuer.pathLen === 0) add('rfc5280.pathlen-within-issuer', 'extensions.basicConstraints', `the issuer has pathLenConstraint 0, so it cannot issue a CA certificate`);
      else if (bc?.pathLen === undefined || bc.pathLen >= issuer.pathLen) add('rfc5280.pathlen-within-issuer', 'extensions.basicConstraints.pathLenConstraint', `pathLenConstraint must be below the issuer's ${issuer.pathLen}`);
    }
    if (issuer.nameConstraints !== undefined && san !== undefined) {
      for (const m of nameConstraintProblems(san.names, issuer.nameConstraints)) add('rfc5280.name-constraints', 'extensions.subjectAltName', `${m} (RFC 5280 §4.2.1.10; relying parties would reject the certificate)`);
    }
  }

  // X509-SVID rules for SPIFFE profiles
  if (p.subjectAltName?.spiffe === true) {
    const requirePath = p.role === 'leaf';
    if (p.role === 'leaf' && sanUris.length !== 1) add('x509svid.one-uri-san', 'extensions.subjectAltName', `an X509-SVID must carry exactly one URI SAN, found ${sanUris.length} (X509-SVID §2)`);
    for (const u of sanUris) {
      const m = spiffeIdProblem(u, p.trustDomain, requirePath);
      if (m !== undefined) add('x509svid.spiffe-id', 'extensions.subjectAltName', m);
    }
    if (p.role === 'leaf') {
      if (!usages.includes('digitalSignature')) add('x509svid.leaf-digital-signature', 'extensions.keyUsage', 'a leaf SVID must assert digitalSignature (X509-SVID §4.3)');
      if (ku === undefined || !ku.critical) add('x509svid.key-usage-critical', 'extensions.keyUsage', 'an SVID\'s keyUsage must be present and critical (X509-SVID §4.3)');
    } else if (isCa && usages.includes('digitalSignature')) {
      add('x509svid.signing-no-digital-signature', 'extensions.keyUsage', 'a signing certificate should not assert digitalSignature (X509-SVID Appendix A: digitalSignature is set iff leaf)');
    }
  }
  return problems;
}

/** Context of a CRL lint. */
export interface CrlLintContext {
  profile: CrlProfile;
  issuer: IssuerInfo;
  /** Time of preparation. */
  now: Date;
  /** Time of signing (see {@link CertificateLintContext.signingTime}). */
  signingTime?: Date;
  /** Longest accepted time between preparation and signing (default {@link DEFAULT_MAX_SIGNING_DELAY_MS}). */
  maxSigningDelayMs?: number;
  /** The issuer's last recorded CRL number; the new one must be greater. */
  previousCrlNumber?: bigint;
  /** For `entries: ca-only`: whether each revoked serial is a CA certificate of this issuer. */
  entryIsCa?: (serial: string) => boolean | undefined;
  /** What the request asked for; each given field must match exactly. */
  expected?: { crlNumber?: bigint; serials?: readonly string[]; thisUpdate?: Date; nextUpdate?: Date };
}

const ALLOWED_REASONS = new Set(['keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn']);

/**
 * Lints tbsCertList bytes against a CRL profile, the issuer and RFC 5280 §5. Returns every problem.
 */
export function lintTbsCertList(tbsDer: Uint8Array, ctx: CrlLintContext): LintProblem[] {
  let tbs: TbsCertListInfo;
  try {
    tbs = parseTbsCertList(tbsDer);
  } catch (e) {
    return [{ rule: 'der.decode', path: '', message: e instanceof CoreError ? e.message : 'the tbsCertList cannot be decoded' }];
  }
  const problems: LintProblem[] = [];
  const add = (rule: string, path: string, message: string): void => {
    problems.push({ rule, path, message });
  };
  const p = ctx.profile;
  const issuer = ctx.issuer;
  if (tbs.version !== 2) add('rfc5280.crl-version', 'version', 'CRLs with extensions must be v2 (RFC 5280 §5.1.2.1)');
  checkSignatureAlgorithm(tbs, p.signatureHash, issuer.spki, add);
  if (!tbs.issuer.der.equals(issuer.subjectDer)) add('rfc5280.issuer-name', 'issuer', `the CRL issuer '${tbs.issuer.text}' is not byte-identical to the issuer's subject '${issuer.subject}'`);
  if (!issuer.ca) add('rfc5280.crl-issuer-ca', 'issuer', `the issuer '${issuer.subject}' is not a CA`);
  if (issuer.keyUsage !== undefined && !issuer.keyUsage.includes('cRLSign')) add('rfc5280.crl-issuer-crlsign', 'issuer', `the issuer '${issuer.subject}' may not sign CRLs (no cRLSign in its keyUsage, RFC 5280 §4.2.1.3)`);

  // times
  if (tbs.thisUpdateTag !== x509TimeTag(tbs.thisUpdate)) add('rfc5280.time-encoding', 'thisUpdate', 'dates through 2049 must be UTCTime and from 2050 GeneralizedTime (RFC 5280 §5.1.2.4)');
  if (tbs.nextUpdate === undefined) add('rfc5280.crl-next-update', 'nextUpdate', 'conforming CAs must include nextUpdate (RFC 5280 §5.1.2.5)');
  else {
    if (tbs.nextUpdateTag !== x509TimeTag(tbs.nextUpdate)) add('rfc5280.time-encoding', 'nextUpdate', 'dates through 2049 must be UTCTime and from 2050 GeneralizedTime (RFC 5280 §5.1.2.5)');
    if (tbs.nextUpdate.getTime() <= tbs.thisUpdate.getTime()) add('rfc5280.crl-update-order', 'nextUpdate', 'nextUpdate must be after thisUpdate');
    const max = addDuration(addDuration(tbs.thisUpdate, p.validity.backdate), p.validity.nextUpdate);
    if (tbs.nextUpdate.getTime() > max.getTime()) add('profile.crl-validity', 'nextUpdate', `nextUpdate ${isoSeconds(tbs.nextUpdate)} is beyond the profile's ${p.validity.nextUpdate} after thisUpdate`);
    if (tbs.nextUpdate.getTime() > issuer.notAfter.getTime()) add('neam.crl-within-issuer', 'nextUpdate', `nextUpdate ${isoSeconds(tbs.nextUpdate)} is after the issuer's notAfter ${isoSeconds(issuer.notAfter)}`);
    if (tbs.nextUpdate.getTime() <= ctx.now.getTime()) add('neam.crl-not-stale', 'nextUpdate', 'the CRL would already be stale');
    else if (ctx.signingTime !== undefined && tbs.nextUpdate.getTime() <= ctx.signingTime.getTime()) add('neam.crl-not-stale', 'nextUpdate', `the CRL would already be stale at the signing time ${isoSeconds(ctx.signingTime)}`);
  }
  signingTimeProblems(ctx, add);
  if (tbs.thisUpdate.getTime() > ctx.now.getTime() + CLOCK_TOLERANCE_MS) add('neam.crl-this-update-future', 'thisUpdate', `thisUpdate ${isoSeconds(tbs.thisUpdate)} is in the future`);
  if (tbs.thisUpdate.getTime() < subtractDuration(ctx.now, p.validity.backdate).getTime() - CLOCK_TOLERANCE_MS) add('neam.backdated', 'thisUpdate', `thisUpdate ${isoSeconds(tbs.thisUpdate)} is further in the past than the profile allows`);
  if (tbs.thisUpdate.getTime() < issuer.notBefore.getTime()) add('neam.crl-within-issuer', 'thisUpdate', 'thisUpdate is before the issuer\'s notBefore');
  if (ctx.expected?.thisUpdate !== undefined && ctx.expected.thisUpdate.getTime() !== tbs.thisUpdate.getTime()) add('neam.crl-expected', 'thisUpdate', 'thisUpdate is not the requested time');
  if (ctx.expected?.nextUpdate !== undefined && ctx.expected.nextUpdate.getTime() !== tbs.nextUpdate?.getTime()) add('neam.crl-expected', 'nextUpdate', 'nextUpdate is not the requested time');

  // extensions
  const known = new Set<string>([EXT.crlNumber, EXT.authorityKeyIdentifier, EXT.issuingDistributionPoint]);
  for (const e of tbs.extensions) if (!known.has(e.oid)) add('profile.unexpected-extension', `crlExtensions.${e.name}`, `CRL extension ${e.name} is not part of the profile`);
  const numExt = tbs.extensions.find((e) => e.oid === EXT.crlNumber);
  if (tbs.crlNumber === undefined) add('rfc5280.crl-number', 'crlExtensions.cRLNumber', 'conforming CAs must include cRLNumber (RFC 5280 §5.2.3)');
  else {
    if (numExt?.critical === true) add('rfc5280.crl-number', 'crlExtensions.cRLNumber', 'cRLNumber must not be critical');
    if (tbs.crlNumber <= 0n) add('rfc5280.crl-number', 'crlExtensions.cRLNumber', 'cRLNumber must be positive');
    if (ctx.previousCrlNumber !== undefined && tbs.crlNumber <= ctx.previousCrlNumber) add('neam.crl-number-monotonic', 'crlExtensions.cRLNumber', `cRLNumber ${tbs.crlNumber} is not greater than the issuer's last CRL number ${ctx.previousCrlNumber} (RFC 5280 §5.2.3)`);
    if (ctx.expected?.crlNumber !== undefined && tbs.crlNumber !== ctx.expected.crlNumber) add('neam.crl-expected', 'crlExtensions.cRLNumber', `cRLNumber is ${tbs.crlNumber}, not the reserved ${ctx.expected.crlNumber}`);
  }
  const aki = tbs.authorityKeyIdentifier;
  if (aki === undefined) {
    add('rfc5280.crl-aki', 'crlExtensions.authorityKeyIdentifier', 'CRLs must carry authorityKeyIdentifier (RFC 5280 §5.2.1)');
  } else {
    if (!p.authorityKeyIdentifier) add('profile.unexpected-extension', 'crlExtensions.authorityKeyIdentifier', 'the profile does not include authorityKeyIdentifier');
    if (aki.critical) add('rfc5280.aki-not-critical', 'crlExtensions.authorityKeyIdentifier', 'authorityKeyIdentifier must not be critical');
    if (aki.keyIdentifier !== issuer.keyIdentifier) add('rfc5280.aki-matches-issuer', 'crlExtensions.authorityKeyIdentifier', `authorityKeyIdentifier ${aki.keyIdentifier ?? '(none)'} is not the issuer's key identifier ${issuer.keyIdentifier}`);
  }
  const idp = tbs.issuingDistributionPoint;
  if (p.issuingDistributionPoint === undefined && idp !== undefined) add('profile.unexpected-extension', 'crlExtensions.issuingDistributionPoint', 'the profile does not include issuingDistributionPoint');
  if (p.issuingDistributionPoint !== undefined) {
    if (idp === undefined) add('profile.extension-missing', 'crlExtensions.issuingDistributionPoint', 'the profile requires issuingDistributionPoint');
    else {
      if (!idp.critical) add('rfc5280.idp-critical', 'crlExtensions.issuingDistributionPoint', 'issuingDistributionPoint must be critical (RFC 5280 §5.2.5)');
      if (idp.onlyContainsCACerts !== p.issuingDistributionPoint.onlyContainsCACerts || idp.onlyContainsUserCerts !== p.issuingDistributionPoint.onlyContainsUserCerts || !sameSet(idp.uris, p.issuingDistributionPoint.uris)) {
        add('profile.issuing-distribution-point', 'crlExtensions.issuingDistributionPoint', 'issuingDistributionPoint differs from the profile');
      }
    }
  }

  // entries
  const seen = new Set<string>();
  tbs.revoked.forEach((e, i) => {
    const path = `revokedCertificates.${i}`;
    if (seen.has(e.serial)) add('rfc5280.crl-entry-unique', path, `serial ${e.serial} is listed twice`);
    seen.add(e.serial);
    if (e.revocationDate.getTime() > tbs.thisUpdate.getTime()) add('neam.crl-entry-date', `${path}.revocationDate`, `serial ${e.serial} is revoked at ${isoSeconds(e.revocationDate)}, after thisUpdate`);
    if (e.revocationDateTag !== x509TimeTag(e.revocationDate)) add('rfc5280.time-encoding', `${path}.revocationDate`, 'wrong time encoding');
    if (e.reason !== undefined && !ALLOWED_REASONS.has(e.reason)) add('rfc5280.crl-reason', `${path}.reasonCode`, `reason ${e.reason} is not used by NEAM CA (omit 'unspecified'; certificateHold and removeFromCRL are not supported)`);
    for (const x of e.extensions) {
      if (x.oid !== EXT.crlReason && x.oid !== EXT.invalidityDate) add('profile.unexpected-extension', `${path}.${x.name}`, `CRL entry extension ${x.name} is not used by NEAM CA`);
      if (x.critical) add('rfc5280.crl-entry-extension-critical', `${path}.${x.name}`, 'CRL entry extensions are not critical here');
    }
    if (p.entries === 'ca-only') {
      const isCa = ctx.entryIsCa?.(e.serial);
      if (isCa !== true) add('neam.crl-ca-only', path, `serial ${e.serial} is ${isCa === false ? 'not a CA certificate' : 'not a certificate this issuer is known to have issued'}; this CRL profile lists only CA certificates`);
    }
  });
  if (ctx.expected?.serials !== undefined && !sameSet([...seen], [...ctx.expected.serials])) add('neam.crl-expected', 'revokedCertificates', 'the revoked serials are not the ones requested');
  return problems;
}

/** Formats lint problems one per line: `[rule] path: message`. */
export function formatLintProblems(problems: readonly LintProblem[]): string {
  return problems.map((p) => `  - [${p.rule}] ${p.path === '' ? '(tbs)' : p.path}: ${p.message}`).join('\n');
}

/**
 * Throws when there are lint problems, listing every one.
 * @throws {CoreError} ERR_PKI_LINT_FAILED
 */
export function assertLintClean(problems: readonly LintProblem[], what: string, stage: 'before signing' | 'after signing'): void {
  if (problems.length === 0) return;
  const outcome = stage === 'before signing' ? 'nothing was signed' : 'the signed object was discarded and nothing was recorded';
  throw new CoreError('ERR_PKI_LINT_FAILED', `${what} failed the lint ${stage} (${problems.length} problem${problems.length === 1 ? '' : 's'}); ${outcome}:\n${formatLintProblems(problems)}`, {
    details: { stage, problems },
  });
}
