/**
 * @module bundle/manifest
 * The bundle manifest: its strict schema (unknown fields are errors), its canonical bytes
 * (RFC 8785 JSON, which is what `manifest.json` holds and what the CMS signature covers), its hash
 * (SHA-256 of those bytes, which the next bundle on the channel names as its predecessor), and the
 * media types a payload file may declare.
 *
 * Pure: no I/O, no clock (callers pass `now`).
 *
 * Must never: accept a manifest that is not byte-for-byte canonical (so two readers can never see
 * two different manifests in the same signed bytes: no duplicate keys, no whitespace games).
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';

import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { canonicalJson, canonicalJsonBytes } from '../util/canonical-json.ts';
import { nameProblem, PAYLOAD_PREFIX } from './paths.ts';

/** The manifest format this code writes and reads. */
export const BUNDLE_FORMAT_VERSION = 1;

/** Every bundle kind. `identity-rotation` carries a sender's new transfer certificate. */
export const BUNDLE_KINDS = ['intermediate-request', 'intermediate-issuance', 'crl', 'revocation-request', 'istio-manifests', 'identity-rotation'] as const;
/** A bundle kind. */
export type BundleKind = (typeof BUNDLE_KINDS)[number];

/** Longest allowed time between createdAt and expiresAt. */
export const MAX_BUNDLE_LIFETIME_DAYS = 90;
/** Default lifetime of a new bundle. */
export const DEFAULT_BUNDLE_LIFETIME_DAYS = 14;
/** Allowed clock difference between sender and receiver for createdAt. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Most payload files in one bundle. */
export const MAX_FILES = 256;

/** Media types a payload file may have, by file extension (the two must agree). */
export const MEDIA_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.json': 'application/json',
  '.csr': 'application/pkcs10',
  '.pem': 'application/pem-certificate-chain',
  '.crl': 'application/pkix-crl',
  '.yaml': 'application/yaml',
  '.txt': 'text/plain',
});

/** The media type for a payload path, from its extension, or undefined when not allowed. */
export function mediaTypeFor(path: string): string | undefined {
  return MEDIA_TYPES[extname(path).toLowerCase()];
}

const HEX64 = /^[0-9a-f]{64}$/u;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/u;

const hex64 = z.string().regex(HEX64, 'must be 64 lower-case hex digits (a SHA-256)');
const time = z
  .string()
  .regex(TIME, 'must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().slice(0, 19) === s.slice(0, 19), 'is not a real date and time');

const fileSchema = z.strictObject({
  path: z.string().superRefine((p, ctx) => {
    const problem = nameProblem(p);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    else if (!p.startsWith(PAYLOAD_PREFIX)) ctx.addIssue({ code: 'custom', message: 'payload files live under payload/' });
  }),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sha256: hex64,
  mediaType: z.string(),
});

/** The manifest schema (strict: unknown fields are errors). */
export const manifestSchema = z
  .strictObject({
    formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
    kind: z.enum(BUNDLE_KINDS),
    id: z.string().regex(UUID, 'must be a lower-case random (version 4) UUID'),
    sender: hex64,
    recipient: hex64,
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    previousManifestSha256: hex64.nullable(),
    createdAt: time,
    expiresAt: time,
    files: z.array(fileSchema).min(1).max(MAX_FILES),
  })
  .superRefine((m, ctx) => {
    if (m.sequence === 1 && m.previousManifestSha256 !== null) ctx.addIssue({ code: 'custom', path: ['previousManifestSha256'], message: 'must be null for the first bundle of a channel (sequence 1)' });
    if (m.sequence > 1 && m.previousManifestSha256 === null) ctx.addIssue({ code: 'custom', path: ['previousManifestSha256'], message: 'must name the previous manifest for sequence > 1' });
    if (m.sender === m.recipient) ctx.addIssue({ code: 'custom', path: ['recipient'], message: 'must differ from the sender' });
    const created = Date.parse(m.createdAt);
    const expires = Date.parse(m.expiresAt);
    if (expires <= created) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be after createdAt' });
    if (expires - created > MAX_BUNDLE_LIFETIME_DAYS * 86_400_000) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: `must be at most ${MAX_BUNDLE_LIFETIME_DAYS} days after createdAt` });
    const seen = new Set<string>();
    m.files.forEach((f, i) => {
      if (seen.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `'${f.path}' is listed twice` });
      seen.add(f.path);
      const expected = mediaTypeFor(f.path);
      if (expected === undefined) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `has an extension that is not allowed (use one of ${Object.keys(MEDIA_TYPES).join(' ')})` });
      else if (f.mediaType !== expected) ctx.addIssue({ code: 'custom', path: ['files', i, 'mediaType'], message: `must be ${expected} for a ${extname(f.path)} file` });
    });
  });

/** One payload file as the manifest lists it. */
export type ManifestFile = z.infer<typeof fileSchema>;
/** A bundle manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

/** Problems of a zod result as dotted paths. */
export function zodProblems(error: z.ZodError, prefix = ''): Problem[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.');
    if (i.code === 'unrecognized_keys') return { path, message: `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}` };
    return { path, message: i.message };
  });
}

/**
 * Parses `manifest.json`: UTF-8 JSON, byte-for-byte canonical (RFC 8785), valid against the
 * strict schema. Reports every schema problem at once.
 * @throws {CoreError} ERR_BUNDLE_MANIFEST_INVALID
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  const fail = (message: string, problems?: Problem[]): CoreError =>
    new CoreError('ERR_BUNDLE_MANIFEST_INVALID', problems === undefined ? `manifest.json ${message}` : `manifest.json ${message}:\n${formatProblems(problems)}`, {
      details: problems === undefined ? {} : { problems },
    });
  const text = Buffer.from(bytes).toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) throw fail('is not valid UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('is not JSON');
  }
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    throw fail('cannot be canonicalised');
  }
  if (canonical !== text) throw fail('is not in canonical form (RFC 8785 JSON: sorted keys, no whitespace, no duplicate keys)');
  const r = manifestSchema.safeParse(value);
  if (!r.success) throw fail('does not match the bundle manifest schema', zodProblems(r.error));
  return r.data;
}

/** The canonical bytes of a manifest (what `manifest.json` holds). */
export function manifestBytes(manifest: Manifest): Buffer {
  return canonicalJsonBytes(manifest);
}

/** SHA-256 (hex) of manifest bytes: the manifest's identity on its channel. */
export function manifestSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Builds and validates a manifest from its parts.
 * @throws {CoreError} ERR_BUNDLE_MANIFEST_INVALID
 */
export function makeManifest(fields: Omit<Manifest, 'formatVersion'>): Manifest {
  const m = { formatVersion: BUNDLE_FORMAT_VERSION, ...fields };
  const r = manifestSchema.safeParse(m);
  if (!r.success) {
    const problems = zodProblems(r.error);
    throw new CoreError('ERR_BUNDLE_MANIFEST_INVALID', `the new bundle's manifest would be invalid:\n${formatProblems(problems)}`, { details: { problems } });
  }
  return r.data;
}
