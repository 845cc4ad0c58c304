/**
 * @module util/canonical-json
 * RFC 8785 JSON Canonicalization Scheme (JCS), used wherever bytes are hashed or signed:
 * transcript records, approval statements, bundle manifests.
 */
import canonicalizeImpl from 'canonicalize';

import { CoreError } from '../errors.ts';

/** The canonical (RFC 8785) UTF-8 text of a JSON value. */
export function canonicalJson(value: unknown): string {
  const text = (canonicalizeImpl as unknown as (v: unknown) => string | undefined)(value);
  if (text === undefined) throw new CoreError('ERR_INPUT_INVALID', 'value cannot be canonicalised as JSON (undefined, a function, or a symbol)');
  return text;
}

/** The canonical bytes of a JSON value. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
