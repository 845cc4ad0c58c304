/**
 * @module pki/profile
 * Certificate and CRL profiles as data: a strict schema (zod; unknown fields are errors, every
 * problem is reported with its dotted path and, for YAML, its line), parsing from YAML or JSON,
 * the canonical profile digest, and re-targeting a profile to another SPIFFE trust domain.
 * Profiles describe *what* to issue; whether the result obeys RFC 5280 and X509-SVID is the
 * linter's job (see lint.ts), so a structurally valid but unwise profile is still refused before
 * anything is signed.
 *
 * Must never: accept a field it does not know, or fill in an algorithm or extension silently.
 */
import { createHash } from 'node:crypto';

import { LineCounter, parseDocument, isMap, isNode, type Document } from 'yaml';
import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { KEY_USAGES } from './extensions.ts';
import { KEY_SPECS, type KeySpecName } from './keys.ts';
import { SUBJECT_KEYS, subjectProblems } from './name.ts';
import { EKU } from './oids.ts';
import { isDuration } from './time.ts';

const ProfileName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/u, { error: 'must be 1-63 lower-case letters, digits and dashes, starting with a letter or digit' });
const Duration = z.string().refine(isDuration, { error: 'must be a whole number and a unit y, d, h, m or s (e.g. 90d)' });
const Hash = z.enum(['SHA-256', 'SHA-384', 'SHA-512'], { error: 'must be SHA-256, SHA-384 or SHA-512' });
const TrustDomain = z.string().regex(/^[a-z0-9._-]{1,255}$/u, { error: 'must be a SPIFFE trust domain name: lower-case letters, digits, dots, dashes and underscores (e.g. example.org)' });
const HttpUrl = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.hash === '' && /^[\x21-\x7e]+$/u.test(s);
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL without credentials or fragment (RFC 5280 §4.2.1.13 recommends http)' },
);
const UriSan = z.string().refine(
  (s) => {
    try {
      const u = new URL(s);
      return u.protocol.length > 1 && /^[\x21-\x7e]+$/u.test(s);
    } catch {
      return false;
    }
  },
  { error: 'must be an absolute URI (e.g. spiffe://example.org)' },
);
const DnsName = z.string().regex(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/u, { error: 'must be a lower-case DNS name' });
const ConstraintHost = z.string().regex(/^\.?[a-z0-9]([a-z0-9._-]{0,253})?$/u, { error: 'must be a host (example.org) or a domain with a leading dot (.example.org), RFC 5280 §4.2.1.10' });

function unique<T extends z.ZodType>(item: T) {
  return z.array(item).refine((a) => new Set(a.map((x) => JSON.stringify(x))).size === a.length, { error: 'lists a value twice' });
}

const SubjectSchema = z.strictObject(Object.fromEntries(SUBJECT_KEYS.map((k) => [k, z.string()])) as Record<(typeof SUBJECT_KEYS)[number], z.ZodString>).partial();

const CertificateProfileSchema = z.strictObject({
  name: ProfileName,
  kind: z.literal('certificate'),
  description: z.string().max(1000).optional(),
  role: z.enum(['root', 'intermediate', 'leaf', 'self-signed'], { error: "must be 'root', 'intermediate', 'leaf' or 'self-signed'" }),
  trustDomain: TrustDomain.optional(),
  subjectKey: unique(z.enum(KEY_SPECS as [KeySpecName, ...KeySpecName[]], { error: `must be one of ${KEY_SPECS.join(', ')}` })).min(1, { error: 'must allow at least one key type' }),
  signatureHash: Hash,
  serialBytes: z.number().int().min(8, { error: 'must be at least 8 (64 bits of entropy)' }).max(19, { error: 'must be at most 19 (serials are at most 20 octets)' }).default(16),
  validity: z.strictObject({ duration: Duration, backdate: Duration.default('0s') }),
  subject: SubjectSchema.default({}),
  basicConstraints: z.strictObject({ critical: z.boolean(), ca: z.boolean(), pathLen: z.number().int().min(0).max(16).optional() }).optional(),
  keyUsage: z.strictObject({ critical: z.boolean(), usages: unique(z.enum(KEY_USAGES, { error: `must be one of ${KEY_USAGES.join(', ')}` })).min(1) }).optional(),
  extKeyUsage: z
    .strictObject({
      critical: z.boolean(),
      usages: unique(z.enum(Object.keys(EKU) as [keyof typeof EKU, ...(keyof typeof EKU)[]], { error: `must be one of ${Object.keys(EKU).join(', ')}` })).min(1),
    })
    .optional(),
  subjectKeyIdentifier: z.boolean(),
  authorityKeyIdentifier: z.boolean(),
  subjectAltName: z
    .strictObject({
      critical: z.union([z.boolean(), z.literal('if-subject-empty')], { error: "must be true, false or 'if-subject-empty'" }),
      uris: unique(UriSan).default([]),
      dnsNames: unique(DnsName).default([]),
      requested: z.strictObject({ uris: z.number().int().min(0).max(100).default(0), dnsNames: z.number().int().min(0).max(100).default(0) }).default({ uris: 0, dnsNames: 0 }),
      spiffe: z.boolean().default(false),
    })
    .optional(),
  nameConstraints: z
    .strictObject({
      critical: z.boolean(),
      permittedUris: unique(ConstraintHost).default([]),
      excludedUris: unique(ConstraintHost).default([]),
      permittedDnsNames: unique(ConstraintHost).default([]),
      excludedDnsNames: unique(ConstraintHost).default([]),
    })
    .optional(),
  crlDistributionPoints: unique(HttpUrl).min(1).optional(),
  authorityInfoAccess: z.strictObject({ caIssuers: unique(HttpUrl).default([]), ocsp: unique(HttpUrl).default([]) }).optional(),
});

const CrlProfileSchema = z.strictObject({
  name: ProfileName,
  kind: z.literal('crl'),
  description: z.string().max(1000).optional(),
  signatureHash: Hash,
  validity: z.strictObject({ nextUpdate: Duration, backdate: Duration.default('0s') }),
  authorityKeyIdentifier: z.boolean(),
  entries: z.enum(['ca-only', 'any'], { error: "must be 'ca-only' (a root's CRL lists only CA certificates) or 'any'" }),
  omitExpired: z.boolean().default(false),
  issuingDistributionPoint: z
    .strictObject({ uris: unique(HttpUrl).default([]), onlyContainsCACerts: z.boolean().default(false), onlyContainsUserCerts: z.boolean().default(false) })
    .optional(),
});

const ProfileSchema = z.discriminatedUnion('kind', [CertificateProfileSchema, CrlProfileSchema], { error: "kind must be 'certificate' or 'crl'" });

/** A certificate profile (validated, defaults filled in). */
export type CertificateProfile = z.output<typeof CertificateProfileSchema>;
/** A CRL profile (validated, defaults filled in). */
export type CrlProfile = z.output<typeof CrlProfileSchema>;
/** Any profile. */
export type Profile = CertificateProfile | CrlProfile;
/** Profile input as written (defaults optional). */
export type ProfileInput = z.input<typeof ProfileSchema>;

function issuesToProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: [...path, k].join('.'), message: 'is not a known field (check the spelling; unknown fields are refused)' });
    } else {
      out.push({ path: path.join('.'), message: issue.message.replace(/^Invalid input: /u, '') });
    }
  }
  return out;
}

/** Problems beyond the schema: subject attribute rules. */
function semanticProblems(p: Profile): Problem[] {
  if (p.kind !== 'certificate') return [];
  return subjectProblems(p.subject, 'subject');
}

/**
 * Validates a profile object (from JSON/YAML or code). Returns every problem at once.
 */
export function validateProfile(input: unknown): { ok: true; profile: Profile } | { ok: false; problems: Problem[] } {
  const r = ProfileSchema.safeParse(input);
  if (!r.success) return { ok: false, problems: issuesToProblems(r.error.issues) };
  const problems = semanticProblems(r.data);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, profile: r.data };
}

function profileError(source: string, problems: Problem[]): CoreError {
  return new CoreError('ERR_PKI_PROFILE_INVALID', `the profile ${source} is invalid:\n${formatProblems(problems)}`, { details: { source, problems } });
}

/**
 * Validates a profile object, throwing with every problem.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID
 */
export function profileFromObject(input: unknown, source = '(object)'): Profile {
  const r = validateProfile(input);
  if (!r.ok) throw profileError(source, r.problems);
  return r.profile;
}

function lineOf(doc: Document, lc: LineCounter, path: string): number | undefined {
  const parts = path === '' ? [] : path.split('.').map((s) => (/^\d+$/u.test(s) ? Number(s) : s));
  for (let n = parts.length; n >= 0; n--) {
    const sub = parts.slice(0, n);
    const node = sub.length === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      // For an unknown key, point at the key itself when the parent is a map.
      if (n === parts.length - 1 && isMap(node)) {
        const key = parts[n];
        const pair = node.items.find((it) => isNode(it.key) && (it.key as { value?: unknown }).value === key);
        if (pair !== undefined && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]).line;
      }
      return lc.linePos(node.range[0]).line;
    }
  }
  return undefined;
}

/** Largest profile text accepted. */
const MAX_PROFILE_BYTES = 64 * 1024;

/**
 * Parses a profile from YAML or JSON text (JSON is YAML). Duplicate keys, aliases, unknown fields
 * and every schema violation are reported together, with line numbers.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseProfile(text: string, source = '(text)'): Profile {
  if (Buffer.byteLength(text, 'utf8') > MAX_PROFILE_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `the profile ${source} is larger than ${MAX_PROFILE_BYTES} bytes`);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    throw profileError(
      source,
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message, line: e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line })),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    throw profileError(source, [{ path: '', message: `cannot be read: ${e instanceof Error ? e.message.split('\n')[0] : 'aliases are not allowed'}` }]);
  }
  const r = validateProfile(data);
  if (!r.ok) {
    const withLines = r.problems.map((p) => {
      const line = lineOf(doc, lc, p.path);
      return line === undefined ? p : { ...p, line };
    });
    throw profileError(source, withLines);
  }
  return r.profile;
}

/** SHA-256 of the profile's canonical JSON (RFC 8785), hex: binds a signature to the exact profile. */
export function profileSha256(profile: Profile): string {
  return createHash('sha256').update(canonicalJson(profile)).digest('hex');
}

/**
 * A copy of a certificate profile for another trust domain: `trustDomain`, URI name constraints
 * naming the old domain, and `spiffe://old` SAN URIs are rewritten.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID
 */
export function profileForTrustDomain(profile: CertificateProfile, trustDomain: string): CertificateProfile {
  const old = profile.trustDomain;
  const copy = structuredClone(profile) as CertificateProfile;
  copy.trustDomain = trustDomain;
  if (old !== undefined) {
    if (copy.nameConstraints !== undefined) {
      copy.nameConstraints.permittedUris = copy.nameConstraints.permittedUris.map((h) => (h === old ? trustDomain : h === `.${old}` ? `.${trustDomain}` : h));
    }
    if (copy.subjectAltName !== undefined) {
      copy.subjectAltName.uris = copy.subjectAltName.uris.map((u) => (u === `spiffe://${old}` ? `spiffe://${trustDomain}` : u.startsWith(`spiffe://${old}/`) ? `spiffe://${trustDomain}/${u.slice(`spiffe://${old}/`.length)}` : u));
    }
  }
  const r = profileFromObject(copy, `${profile.name} (trust domain ${trustDomain})`);
  if (r.kind !== 'certificate') throw new TypeError('unreachable: certificate profile expected');
  return r;
}

/**
 * Narrows a profile to a certificate profile.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID
 */
export function asCertificateProfile(p: Profile, role?: CertificateProfile['role']): CertificateProfile {
  if (p.kind !== 'certificate') throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${p.name}' is a CRL profile; a certificate profile is needed here`);
  if (role !== undefined && p.role !== role) throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${p.name}' has role '${p.role}'; this operation needs a '${role}' profile`);
  return p;
}

/**
 * Narrows a profile to a CRL profile.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID
 */
export function asCrlProfile(p: Profile): CrlProfile {
  if (p.kind !== 'crl') throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${p.name}' is a certificate profile; a CRL profile is needed here`);
  return p;
}
