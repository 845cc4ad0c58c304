/**
 * @module quorum/schema
 * Shared building blocks of the quorum file formats (custodian files, rosters, approval requests
 * and approvals): strict field schemas (hex, canonical base64, identifiers, RFC 3339 times), the
 * limits every reader enforces before parsing, and one function that turns bytes into a validated
 * document while reporting every problem at once with its dotted path.
 *
 * Must never: echo the content of a rejected document into an error (it may hold sealed data);
 * problems name fields, not values.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { CoreError, formatProblems, type CoreErrorCode, type Problem } from '../errors.ts';

/** Lower-case hex of exactly `bytes` bytes. */
export const hexBytes = (bytes: number): z.ZodString => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'u'), `must be ${bytes * 2} lower-case hex digits`);

/** Canonical standard base64 (RFC 4648 §4, with padding) of `min`..`max` decoded bytes. */
export const base64Bytes = (min: number, max: number): z.ZodType<string> =>
  z
    .string()
    .max(Math.ceil(max / 3) * 4)
    .refine((s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u.test(s) && Buffer.from(s, 'base64').toString('base64') === s, 'must be canonical base64')
    .refine((s) => {
      const n = Buffer.from(s, 'base64').length;
      return n >= min && n <= max;
    }, `must decode to ${min === max ? `${min}` : `${min} to ${max}`} bytes`);

/** A ceremony identifier: 1-128 characters, letters, digits, `.`, `_`, `:`, `-`, starting with a letter or digit. */
export const CEREMONY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/u;
/** A custodian name: 1-64 characters, Unicode letters and digits, spaces, `.`, `_`, `'`, `-`; starts with a letter or digit; NFC. */
export const CUSTODIAN_NAME = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} ._'-]{0,63}$/u;

/** Schema of a ceremony id. */
export const ceremonyId = z.string().regex(CEREMONY_ID, 'must be 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
/** Schema of a custodian name. */
export const custodianName = z
  .string()
  .regex(CUSTODIAN_NAME, "must be 1-64 letters, digits, spaces, '.', '_', \"'\" or '-', starting with a letter or digit")
  .refine((s) => s === s.normalize('NFC') && s === s.trim(), 'must be in Unicode NFC without leading or trailing spaces');
/** Schema of a quorum id (16 random bytes, hex). */
export const quorumId = hexBytes(16);
/** Schema of an RFC 3339 UTC timestamp with milliseconds as `Date.toISOString()` writes it. */
export const isoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/u, 'must be an RFC 3339 UTC time like 2027-01-31T12:00:00.000Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, 'must be a real date and time');
/** Schema of a SHA-256 digest in lower-case hex. */
export const sha256Hex = hexBytes(32);

/** Normalises a custodian name for comparisons (NFC, trimmed, case-folded). */
export function nameKey(name: string): string {
  return name.normalize('NFC').trim().toLowerCase();
}

/** Lower-case hex SHA-256. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Converts zod issues to {@link Problem}s with dotted paths; messages never include values. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], prefix = ''): Problem[] {
  return issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((s) => s !== '').join('.');
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')}` : i.message;
    return { path, message };
  });
}

/** What a reader is reading, for messages and codes. */
export interface DocumentKind {
  /** e.g. 'custodian file'. */
  what: string;
  /** Code for an invalid document. */
  code: CoreErrorCode;
  /** Largest acceptable size in bytes. */
  maxBytes: number;
}

/**
 * Parses bytes (or text) as a JSON document of the given schema: refuses oversized input before
 * parsing, invalid UTF-8 or JSON, and reports every schema problem at once.
 * @throws {CoreError} ERR_INPUT_TOO_LARGE, or `kind.code` with the problems listed
 */
export function parseDocument<T>(input: Uint8Array | string, schema: z.ZodType<T>, kind: DocumentKind, source?: string): T {
  const where = source === undefined ? `the ${kind.what}` : `the ${kind.what} ${source}`;
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (size > kind.maxBytes) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `${where} is ${size} bytes, more than the ${kind.maxBytes} a ${kind.what} can be; is this the right file?`, { details: { size, limit: kind.maxBytes } });
  }
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new CoreError(kind.code, `${where} is not UTF-8 text; is this the right file?`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CoreError(kind.code, `${where} is not valid JSON (truncated or damaged?); is this the right file?`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = issuesToProblems(parsed.error.issues);
    throw new CoreError(kind.code, `${where} is not a valid ${kind.what}:\n${formatProblems(problems)}`, { details: { problems } });
  }
  return parsed.data;
}
