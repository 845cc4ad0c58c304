/**
 * @module ceremony/actions/common
 * Parameter building blocks shared by actions (output file names, key labels, references to
 * earlier steps, certificate subjects) and small formatting helpers.
 *
 * Must never: accept an output name that leaves the ceremony folder.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';


/** A plain file name inside the ceremony folder: no folders, no leading dot. */
export const outputName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u, 'must be a plain file name (letters, digits, ".", "_", "-"; no folders, not starting with ".")');

/** A key label the script creates (printable, safe as a file-name stem). */
export const keyLabel = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/u, 'must be 1-64 characters: letters, digits, ".", "_", "-"');

/** The id of an earlier step. */
export const stepRef = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/u, 'must be the id of an earlier step');

/** A certificate subject as reviewed in the script. */
export const subjectSchema = z.strictObject({
  'common-name': z.string().min(1).max(64),
  organization: z.string().min(1).max(64).optional(),
  'organizational-unit': z.string().min(1).max(64).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/u, 'must be a two-letter ISO 3166 country code in capitals')
    .optional(),
});

/** Hex SHA-256 of bytes. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A fingerprint in groups of four hex digits, for reading aloud. */
export function groupedHex(hex: string): string {
  return (hex.match(/.{1,4}/gu) ?? []).join(' ');
}

/** PEM armour. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${(b64.match(/.{1,64}/gu) ?? []).join('\n')}\n-----END ${label}-----\n`;
}
