/**
 * @module online/spiffe-id
 * SPIFFE ID parsing and validation to the SPIFFE-ID specification (spiffe/spiffe
 * `standards/SPIFFE-ID.md` §2): lower-case `spiffe` scheme, a non-empty lower-case trust domain
 * of `[a-z0-9._-]` without userinfo or port, a path of non-empty segments of `[A-Za-z0-9._-]`
 * without `.`/`..` segments or a trailing slash, no query, no fragment, no percent-encoding, and at
 * most 2048 bytes in all. Errors name the rule that was broken. Also owns the paths this CA
 * reserves for its own identities (`/neam-ca/…`: nodes, admins, the server).
 *
 * Must never: accept an ID by normalising it (case-folding, decoding); what is stored and signed
 * is exactly what was validated.
 */
import { CoreError } from '../errors.ts';

/** Maximum length of a SPIFFE ID in bytes (SPIFFE-ID §2.3). */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** Maximum length of a trust domain name (RFC 3986 host limit, SPIFFE-ID §2.3). */
export const MAX_TRUST_DOMAIN_BYTES = 255;

/** A validated SPIFFE ID. */
export interface SpiffeId {
  /** The full ID, exactly as given (`spiffe://example.org/ns/a/sa/b`). */
  readonly id: string;
  /** The trust domain (`example.org`). */
  readonly trustDomain: string;
  /** The path including its leading slash, or '' for a trust-domain ID. */
  readonly path: string;
}

const SCHEME = 'spiffe://';
const TD_CHAR = /^[a-z0-9._-]$/u;
const PATH_CHAR = /^[A-Za-z0-9._-]$/u;

function invalid(input: string, reason: string): CoreError {
  const shown = input.length > 120 ? `${input.slice(0, 117)}...` : input;
  return new CoreError('ERR_SPIFFE_ID_INVALID', `'${shown}' is not a valid SPIFFE ID: ${reason}`, { details: { reason } });
}

/** The reason a trust domain name is invalid, or undefined when it is valid. */
export function trustDomainProblem(td: string): string | undefined {
  if (td === '') return 'trust domain is missing';
  if (Buffer.byteLength(td, 'utf8') > MAX_TRUST_DOMAIN_BYTES) return `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`;
  if (td.startsWith('[')) return 'an IP-literal (IPv6 address) is not allowed as the trust domain';
  if (td.includes('@')) return 'userinfo (user@) is not allowed in the trust domain';
  if (td.includes(':')) return 'a port is not allowed in the trust domain';
  if (td.includes('%')) return 'percent-encoding is not allowed in the trust domain';
  for (const ch of td) {
    if (ch >= 'A' && ch <= 'Z') return 'trust domain must be lower-case';
    if (!TD_CHAR.test(ch)) return `trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores (found '${ch}')`;
  }
  return undefined;
}

/**
 * Parses and validates a SPIFFE ID (a trust-domain ID `spiffe://td` is valid here; use
 * {@link parseWorkloadSpiffeId} where a path is required).
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID with the violated rule in the message
 */
export function parseSpiffeId(input: string): SpiffeId {
  if (typeof input !== 'string') throw new TypeError('parseSpiffeId expects a string');
  if (input === '') throw invalid(input, 'cannot be empty');
  if (Buffer.byteLength(input, 'utf8') > MAX_SPIFFE_ID_BYTES) throw invalid(input, `longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
  if (!input.startsWith(SCHEME)) {
    if (input.toLowerCase().startsWith(SCHEME)) throw invalid(input, "scheme must be lower-case 'spiffe://'");
    throw invalid(input, "scheme is missing or invalid (must start with 'spiffe://')");
  }
  if (input.includes('?')) throw invalid(input, 'a query component is not allowed');
  if (input.includes('#')) throw invalid(input, 'a fragment component is not allowed');
  const rest = input.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw invalid(input, tdProblem);
  if (path !== '') {
    const problem = pathProblem(path);
    if (problem !== undefined) throw invalid(input, problem);
  }
  return { id: input, trustDomain, path };
}

/** The reason a SPIFFE ID path (with leading slash) is invalid, or undefined. */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'path must have a leading slash';
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] ?? '';
    if (seg === '') return i === segments.length - 1 ? 'path cannot have a trailing slash' : 'path cannot contain empty segments';
    if (seg === '.' || seg === '..') return 'path cannot contain dot segments';
    if (seg.includes('%')) return 'percent-encoding is not allowed in the path';
    for (const ch of seg) {
      if (!PATH_CHAR.test(ch)) return `path segment characters are limited to letters, numbers, dots, dashes, and underscores (found '${ch}')`;
    }
  }
  return undefined;
}

/**
 * Parses a SPIFFE ID that names a workload or node: it must have a non-root path (X509-SVID §3.1)
 * and, when `trustDomain` is given, belong to it.
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID
 */
export function parseWorkloadSpiffeId(input: string, trustDomain?: string): SpiffeId {
  const id = parseSpiffeId(input);
  if (id.path === '') throw invalid(input, 'a workload SPIFFE ID must have a path (spiffe://trust-domain/path); the bare trust-domain ID names the CA');
  if (trustDomain !== undefined && id.trustDomain !== trustDomain) {
    throw invalid(input, `it belongs to trust domain '${id.trustDomain}', but this CA serves '${trustDomain}'`);
  }
  return id;
}

/**
 * Validates a bare trust domain name (`example.org`).
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID
 */
export function parseTrustDomain(input: string): string {
  const p = trustDomainProblem(input);
  if (p !== undefined) throw new CoreError('ERR_SPIFFE_ID_INVALID', `'${input}' is not a valid trust domain: ${p}`, { details: { reason: p } });
  return input;
}

/** The path prefix this CA reserves for its own identities; entries may not use it. */
export const RESERVED_PREFIX = '/neam-ca';
/** Path prefix of node identities (attested agents). */
export const NODE_PREFIX = '/neam-ca/node/';
/** Path prefix of administrator identities. */
export const ADMIN_PREFIX = '/neam-ca/admin/';
/** Path of the server's own identity. */
export const SERVER_PATH = '/neam-ca/server';

/** What a SPIFFE ID of our trust domain is, by its path. */
export type IdentityKind = 'node' | 'admin' | 'server' | 'reserved' | 'workload';

/** Classifies a validated ID's path. */
export function identityKind(id: SpiffeId): IdentityKind {
  if (id.path.startsWith(NODE_PREFIX) && id.path.length > NODE_PREFIX.length && !id.path.slice(NODE_PREFIX.length).includes('/')) return 'node';
  if (id.path.startsWith(ADMIN_PREFIX) && id.path.length > ADMIN_PREFIX.length && !id.path.slice(ADMIN_PREFIX.length).includes('/')) return 'admin';
  if (id.path === SERVER_PATH) return 'server';
  if (id.path === RESERVED_PREFIX || id.path.startsWith(`${RESERVED_PREFIX}/`)) return 'reserved';
  return 'workload';
}

/**
 * The node ID for `name`: either a full `spiffe://td/neam-ca/node/NAME` or a bare NAME.
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID
 */
export function nodeSpiffeId(trustDomain: string, nameOrId: string): SpiffeId {
  const id = nameOrId.startsWith('spiffe:') || nameOrId.includes('://') ? parseWorkloadSpiffeId(nameOrId, trustDomain) : parseWorkloadSpiffeId(`${SCHEME}${trustDomain}${NODE_PREFIX}${nameOrId}`, trustDomain);
  if (identityKind(id) !== 'node') throw invalid(id.id, `a node ID must have the form spiffe://${trustDomain}${NODE_PREFIX}NAME`);
  return id;
}

/**
 * The admin ID for a bare NAME or a full ID.
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID
 */
export function adminSpiffeId(trustDomain: string, nameOrId: string): SpiffeId {
  const id = nameOrId.includes('://') ? parseWorkloadSpiffeId(nameOrId, trustDomain) : parseWorkloadSpiffeId(`${SCHEME}${trustDomain}${ADMIN_PREFIX}${nameOrId}`, trustDomain);
  if (identityKind(id) !== 'admin') throw invalid(id.id, `an admin ID must have the form spiffe://${trustDomain}${ADMIN_PREFIX}NAME`);
  return id;
}
