/**
 * @module ceremony/site
 * The site file: the machine details and the people of one ceremony day (PKCS#11 module path,
 * token label and serial, output folder, participants and their roles), kept apart from the
 * reviewed script so the plan is never edited on the day. Read with the same strictness as
 * scripts, and checked against a script's roles (minimum and maximum counts).
 *
 * Must never: hold a PIN, passphrase or share (there is no field for one), or do I/O.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { dotted, parseStrictYaml, schemaProblems } from './strict-yaml.ts';
import type { CeremonyScript, Participant, SiteConfig } from './types.ts';

/** Largest site file accepted. */
export const MAX_SITE_BYTES = 64 * 1024;

const siteSchema = z.strictObject({
  version: z.literal(1),
  site: z.string().min(1).max(200).optional(),
  hsm: z.strictObject({
    module: z.string().min(1).max(4096),
    'token-label': z.string().regex(/^[\x20-\x7e]{1,32}$/u, 'must be 1-32 printable ASCII characters (PKCS#11 token labels are 32 bytes)').refine((s) => s === s.trim(), 'must not start or end with a space'),
    'token-serial': z.string().regex(/^[\x21-\x7e]{1,16}$/u, 'must be 1-16 printable ASCII characters (PKCS#11 serials are 16 bytes); quote it in YAML').optional(),
  }),
  'output-dir': z.string().min(1).max(4096),
  'reference-clock': z.string().min(1).max(200).optional(),
  participants: z
    .array(
      z.strictObject({
        name: z
          .string()
          .min(1)
          .max(100)
          .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters')
          .refine((s) => s === s.trim(), 'must not start or end with a space'),
        roles: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/u, 'role names are lower-case letters, digits and "-"')).min(1).max(10),
      }),
    )
    .min(1)
    .max(100),
});

/** The outcome of validating a site file. */
export type SiteValidation = { ok: true; site: SiteConfig } | { ok: false; problems: Problem[] };

/**
 * Validates a site file's text. Relative paths are resolved against `baseDir` (the site file's
 * folder). Never throws for bad input.
 */
export function validateSite(input: string | Uint8Array, source: string, baseDir: string): SiteValidation {
  const yaml = parseStrictYaml(input, { what: 'site file', maxBytes: MAX_SITE_BYTES });
  const problems: Problem[] = [...yaml.problems];
  if (yaml.value === undefined || yaml.value === null || problems.length > 0) return { ok: false, problems };
  const r = schemaProblems(siteSchema, yaml.value, yaml);
  problems.push(...r.problems);
  const raw = yaml.value as { participants?: unknown };
  if (Array.isArray(raw.participants)) {
    const seen = new Map<string, number>();
    raw.participants.forEach((p, i) => {
      const name = typeof p === 'object' && p !== null ? (p as { name?: unknown }).name : undefined;
      if (typeof name !== 'string') return;
      const folded = name.normalize('NFC').toLowerCase();
      const prev = seen.get(folded);
      if (prev !== undefined) problems.push({ path: dotted(['participants', i, 'name']), line: yaml.line(['participants', i, 'name']), message: `'${name}' is listed twice (also participants.${prev}); list each person once with all their roles` });
      else seen.set(folded, i);
      const roles = (p as { roles?: unknown }).roles;
      if (Array.isArray(roles)) {
        roles.forEach((role, j) => {
          if (roles.indexOf(role) !== j) problems.push({ path: dotted(['participants', i, 'roles', j]), line: yaml.line(['participants', i, 'roles', j]), message: `role '${String(role)}' is listed twice` });
        });
      }
    });
  }
  if (r.data === undefined || problems.length > 0) return { ok: false, problems };
  const d = r.data;
  const site: SiteConfig = {
    version: 1,
    hsm: {
      module: isAbsolute(d.hsm.module) ? d.hsm.module : resolve(baseDir, d.hsm.module),
      tokenLabel: d.hsm['token-label'],
    },
    outputDir: isAbsolute(d['output-dir']) ? d['output-dir'] : resolve(baseDir, d['output-dir']),
    participants: d.participants.map((p): Participant => ({ name: p.name.normalize('NFC'), roles: p.roles })),
    sha256: yaml.sha256,
    source,
  };
  if (d.site !== undefined) site.site = d.site;
  if (d.hsm['token-serial'] !== undefined) site.hsm.tokenSerial = d.hsm['token-serial'];
  if (d['reference-clock'] !== undefined) site.referenceClock = d['reference-clock'];
  return { ok: true, site };
}

/**
 * Parses a site file or throws with every problem.
 * @throws {CoreError} ERR_CEREMONY_SITE_INVALID
 */
export function parseSite(input: string | Uint8Array, source: string, baseDir: string): SiteConfig {
  const v = validateSite(input, source, baseDir);
  if (!v.ok) {
    throw new CoreError('ERR_CEREMONY_SITE_INVALID', `${source} is not a valid site file (${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}):\n${formatProblems(v.problems)}`, {
      details: { source, problems: v.problems.map((p) => ({ ...p })) },
    });
  }
  return v.site;
}

/** Participants holding `role`. */
export function holders(site: Pick<SiteConfig, 'participants'>, role: string): Participant[] {
  return site.participants.filter((p) => p.roles.includes(role));
}

/**
 * Problems with the roster for this script: each role's holders within [min, max]. Pure.
 * Paths point into the site file (`participants`) since that is what the administrator fixes.
 */
export function rosterProblems(script: Pick<CeremonyScript, 'roles'>, site: Pick<SiteConfig, 'participants'>): Problem[] {
  const problems: Problem[] = [];
  for (const [role, spec] of Object.entries(script.roles)) {
    const count = holders(site, role).length;
    if (count < spec.min) problems.push({ path: 'participants', message: `the script needs at least ${spec.min} participant(s) with the role '${role}'; the site file lists ${count}${count === 0 ? '' : ` (${holders(site, role).map((p) => p.name).join(', ')})`}` });
    if (spec.max !== undefined && count > spec.max) problems.push({ path: 'participants', message: `the script allows at most ${spec.max} participant(s) with the role '${role}'; the site file lists ${count}` });
  }
  return problems;
}
