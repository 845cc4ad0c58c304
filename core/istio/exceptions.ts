/**
 * @module istio/exceptions
 * Time-boxed mTLS exceptions: the only way a namespace, workload or port leaves mesh-wide STRICT.
 * Each exception names its scope, the mode (PERMISSIVE or DISABLE), a justification, an approver
 * and an expiry; an expired exception refuses the whole generation (ERR_ISTIO_EXCEPTION_EXPIRED),
 * and an expiry further away than `maxExceptionDays` is invalid, so exceptions cannot quietly
 * become permanent.
 *
 * Must never: read the clock (`now` is a parameter), or accept overlapping exceptions (Istio would
 * silently apply only the oldest PeerAuthentication).
 */
import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import type { IstioConfig } from './config.ts';
import type { MeshIndex } from './inventory.ts';
import { parseYamlSourced, zodProblems } from './yaml-source.ts';

/** A validated mTLS exception. */
export interface MtlsException {
  id: string;
  namespace: string;
  /** Workload name (`namespace/workload` scope), or undefined for the whole namespace. */
  workload?: string;
  /** Workload ports (only with a workload: Istio's portLevelMtls requires a selector). */
  ports: number[];
  mode: 'PERMISSIVE' | 'DISABLE';
  justification: string;
  approver: string;
  ticket?: string;
  /** ISO 8601 expiry as written, and as an instant. */
  expires: string;
  expiresAt: Date;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$/u;

/** Parses an ISO 8601 date (midnight UTC) or date-time with a zone; undefined when invalid. */
export function parseExpiry(text: string): Date | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  if (m[4] !== undefined && m[7] === undefined) return undefined;
  const d = new Date(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : text.replace(' ', 'T'));
  if (Number.isNaN(d.getTime())) return undefined;
  // Reject rolled-over dates such as 2027-02-30.
  if (m[4] === undefined && d.toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) return undefined;
  return d;
}

const ExceptionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9](?:[-a-z0-9]{0,40}[a-z0-9])?$/u, 'must be a short DNS-1123 label (it becomes part of a resource name)'),
  namespace: z.string().min(1),
  workload: z.string().min(1).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
  mode: z.enum(['PERMISSIVE', 'DISABLE']),
  justification: z.string().trim().min(20, 'a justification of at least 20 characters is required: why plaintext must be accepted, and what ends it'),
  approver: z.string().trim().min(3, 'the approver must be named'),
  ticket: z.string().trim().min(1).optional(),
  expires: z.string().min(1),
});

const FileSchema = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.literal('MtlsExceptions').optional(),
  exceptions: z.array(z.unknown()),
});

/**
 * Parses and validates the exceptions file against the inventory, at `now`.
 * @throws {CoreError} ERR_ISTIO_EXCEPTION_INVALID listing every problem; ERR_ISTIO_EXCEPTION_EXPIRED
 *   when the only problems are expired exceptions (each named, with its approver and expiry).
 */
export function parseExceptions(text: string, file: string, index: MeshIndex, config: IstioConfig, now: Date): MtlsException[] {
  const src = parseYamlSourced(text, file, 'ERR_ISTIO_EXCEPTION_INVALID');
  const top = FileSchema.safeParse(src.value ?? { exceptions: [] });
  if (!top.success) throw new CoreError('ERR_ISTIO_EXCEPTION_INVALID', `${file}: the exceptions file is invalid:\n${formatProblems(zodProblems(top.error, src))}`, { details: { file } });
  const problems: Problem[] = [];
  const expired: Problem[] = [];
  const out: MtlsException[] = [];
  const at = (path: PropertyKey[], message: string): Problem => {
    const line = src.lineOf(path);
    return line === undefined ? { path: path.map(String).join('.'), message } : { path: path.map(String).join('.'), message, line };
  };
  const maxUntil = now.getTime() + config.maxExceptionDays * 86_400_000;
  top.data.exceptions.forEach((raw, i) => {
    const base: PropertyKey[] = ['exceptions', i];
    const r = ExceptionSchema.safeParse(raw);
    if (!r.success) {
      problems.push(...zodProblems(r.error, src, base));
      return;
    }
    const e = r.data;
    const expiresAt = parseExpiry(e.expires);
    let ok = true;
    if (expiresAt === undefined) {
      problems.push(at([...base, 'expires'], `"${e.expires}" is not an ISO 8601 date (2027-01-31) or date-time with a zone (2027-01-31T12:00:00Z)`));
      ok = false;
    } else if (expiresAt.getTime() <= now.getTime()) {
      expired.push(at([...base, 'expires'], `exception '${e.id}' (${e.namespace}${e.workload === undefined ? '' : `/${e.workload}`}, ${e.mode}, approved by ${e.approver}) expired at ${expiresAt.toISOString()}; renew it with a new approval and expiry, or remove it`));
      ok = false;
    } else if (expiresAt.getTime() > maxUntil) {
      problems.push(at([...base, 'expires'], `exception '${e.id}' expires ${expiresAt.toISOString()}, more than maxExceptionDays (${config.maxExceptionDays}) from now; exceptions are time-boxed`));
      ok = false;
    }
    if (index.isExcluded(e.namespace)) {
      problems.push(at([...base, 'namespace'], `namespace "${e.namespace}" is excluded from generation (root or system namespace); an exception there has no effect`));
      ok = false;
    } else if (!index.inventory.namespaces.some((n) => n.name === e.namespace)) {
      problems.push(at([...base, 'namespace'], `namespace "${e.namespace}" is not in the inventory`));
      ok = false;
    }
    if (e.workload !== undefined && index.workload(`${e.namespace}/${e.workload}`) === undefined) {
      problems.push(at([...base, 'workload'], `workload "${e.namespace}/${e.workload}" is not in the inventory`));
      ok = false;
    }
    if (e.ports !== undefined && e.workload === undefined) {
      problems.push(at([...base, 'ports'], 'ports need a workload: Istio only accepts port-level mTLS on a PeerAuthentication with a selector'));
      ok = false;
    }
    if (ok && expiresAt !== undefined) {
      const x: MtlsException = { id: e.id, namespace: e.namespace, ports: [...new Set(e.ports ?? [])].sort((a, b) => a - b), mode: e.mode, justification: e.justification, approver: e.approver, expires: e.expires, expiresAt };
      if (e.workload !== undefined) x.workload = e.workload;
      if (e.ticket !== undefined) x.ticket = e.ticket;
      out.push(x);
    }
  });
  const ids = new Map<string, number>();
  const scopes = new Map<string, string>();
  top.data.exceptions.forEach((raw, i) => {
    const r = ExceptionSchema.safeParse(raw);
    if (!r.success) return;
    const e = r.data;
    if (ids.has(e.id)) problems.push(at(['exceptions', i, 'id'], `duplicate exception id '${e.id}' (also exceptions.${ids.get(e.id)})`));
    else ids.set(e.id, i);
    // One namespace-wide PeerAuthentication per namespace, one per workload: Istio applies only the
    // oldest when there are several, so overlapping exceptions are refused.
    const scope = `${e.namespace}/${e.workload ?? ''}`;
    const prev = scopes.get(scope);
    if (prev !== undefined) problems.push(at(['exceptions', i], `exception '${e.id}' covers the same ${e.workload === undefined ? 'namespace' : 'workload'} as '${prev}'; combine them (one PeerAuthentication per ${e.workload === undefined ? 'namespace' : 'workload'})`));
    else scopes.set(scope, e.id);
  });
  if (problems.length > 0) {
    const all = [...problems, ...expired];
    throw new CoreError('ERR_ISTIO_EXCEPTION_INVALID', `${file}: the mTLS exceptions are invalid:\n${formatProblems(all)}`, { details: { file, problems: all } });
  }
  if (expired.length > 0) {
    throw new CoreError('ERR_ISTIO_EXCEPTION_EXPIRED', `${file}: ${expired.length} mTLS exception(s) expired; nothing was generated:\n${formatProblems(expired)}`, { details: { file, expired: expired.map((p) => p.message) } });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
