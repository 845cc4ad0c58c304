/**
 * @module hsm/key-spec
 * Parsing of key type names used on the command line and in scripts (`rsa-4096`, `ec-p256`).
 */
import { CoreError } from '../errors.ts';
import type { KeySpec } from './types.ts';

const SPECS: Record<string, KeySpec> = {
  'rsa-2048': { type: 'RSA', bits: 2048 },
  'rsa-3072': { type: 'RSA', bits: 3072 },
  'rsa-4096': { type: 'RSA', bits: 4096 },
  'ec-p256': { type: 'EC', curve: 'P-256' },
  'ec-p384': { type: 'EC', curve: 'P-384' },
};

/** The accepted key type names. */
export const KEY_SPEC_NAMES = Object.keys(SPECS);

/**
 * Parses `rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384` (case-insensitive, `rsa4096` and `p256` accepted).
 * @throws {CoreError} ERR_INPUT_INVALID
 */
export function parseKeySpec(name: string): KeySpec {
  const n = name.toLowerCase().replace(/^rsa(\d)/u, 'rsa-$1').replace(/^p-?(\d)/u, 'ec-p$1').replace(/^ec-?p-?(\d)/u, 'ec-p$1');
  const spec = SPECS[n];
  if (spec === undefined) throw new CoreError('ERR_INPUT_INVALID', `unknown key type '${name}'; use one of ${KEY_SPEC_NAMES.join(', ')}`);
  return spec;
}
