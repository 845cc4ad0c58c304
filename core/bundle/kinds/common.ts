/**
 * @module bundle/kinds/common
 * Shared pieces of the kind checks: index field schemas, a problem collector that throws once
 * with every problem of a code, and readers for PEM payload files.
 *
 * Must never: include file content in a message (paths, fields and fingerprints only).
 */
import type { X509Certificate } from 'node:crypto';

import { z } from 'zod';

import { CoreError, formatProblems, type CoreErrorCode, type Problem } from '../../errors.ts';
import { nameProblem, PAYLOAD_PREFIX } from '../paths.ts';
import { parsePem, readCertificate, type PemBlock } from '../pkix.ts';

/** A short name: lower-case letters, digits and dashes. */
export const nameField = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/u, 'must be 1-63 lower-case letters, digits or dashes');

/** A payload path field. */
export const pathField = z.string().superRefine((p, ctx) => {
  const problem = nameProblem(p);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  else if (!p.startsWith(PAYLOAD_PREFIX)) ctx.addIssue({ code: 'custom', message: 'must name a file under payload/' });
});

/** An RFC 3339 UTC time field. */
export const timeField = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/u, 'must be an RFC 3339 UTC time like 2027-01-31T12:00:00Z')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a real date');

/** A SHA-256 hex field. */
export const sha256Field = z.string().regex(/^[0-9a-f]{64}$/u, 'must be 64 lower-case hex digits (a SHA-256)');

/** Collects problems per error code and throws the first non-empty code, in the order added. */
export class Problems {
  readonly #byCode = new Map<CoreErrorCode, Problem[]>();
  readonly #kind: string;

  constructor(kind: string) {
    this.#kind = kind;
  }

  /** Adds a problem under `code` (default ERR_BUNDLE_KIND_INVALID). */
  add(path: string, message: string, code: CoreErrorCode = 'ERR_BUNDLE_KIND_INVALID'): void {
    const list = this.#byCode.get(code) ?? [];
    list.push({ path, message });
    this.#byCode.set(code, list);
  }

  /** True when nothing was added. */
  get empty(): boolean {
    return this.#byCode.size === 0;
  }

  /**
   * Throws for the highest-priority code with problems (order of `priority`, then insertion).
   * @throws {CoreError} the collected code
   */
  throwIfAny(priority: readonly CoreErrorCode[] = []): void {
    const codes = [...priority.filter((c) => this.#byCode.has(c)), ...[...this.#byCode.keys()].filter((c) => !priority.includes(c))];
    const code = codes[0];
    if (code === undefined) return;
    const problems = this.#byCode.get(code) ?? [];
    throw new CoreError(code, `the ${this.#kind} payload is not acceptable:\n${formatProblems(problems)}`, { details: { problems } });
  }
}

/** Reads a payload file as PEM blocks of one label; adds a problem and returns [] on failure. */
export function pemFile(files: ReadonlyMap<string, Buffer>, path: string, label: string, problems: Problems, field: string): PemBlock[] {
  const data = files.get(path);
  if (data === undefined) {
    problems.add(field, `${path} is missing`);
    return [];
  }
  const parsed = parsePem(data.toString('utf8'));
  if ('problem' in parsed) {
    problems.add(field, `${path}: ${parsed.problem}`);
    return [];
  }
  const wrong = parsed.blocks.find((b) => b.label !== label);
  if (wrong !== undefined) {
    problems.add(field, `${path} holds a PEM "${wrong.label}" block; only "${label}" blocks are allowed`);
    return [];
  }
  return parsed.blocks;
}

/** Reads a payload file holding exactly one PEM certificate. */
export function oneCertificate(files: ReadonlyMap<string, Buffer>, path: string, problems: Problems, field: string): X509Certificate | undefined {
  const blocks = pemFile(files, path, 'CERTIFICATE', problems, field);
  if (blocks.length === 0) return undefined;
  if (blocks.length !== 1) {
    problems.add(field, `${path} must hold exactly one certificate (found ${blocks.length})`);
    return undefined;
  }
  const x = readCertificate((blocks[0] as PemBlock).der);
  if ('problem' in x) {
    problems.add(field, `${path}: ${x.problem}`);
    return undefined;
  }
  return x;
}

/** An X509Certificate's validity as Dates. */
export function validityOf(x: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}

/** One-line subject. */
export function subjectOf(x: X509Certificate): string {
  return x.subject.replace(/\n/gu, ', ');
}
