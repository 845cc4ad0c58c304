/**
 * @module online/entries
 * Registration entries: which SPIFFE ID (with which DNS names and lifetime) a node may obtain for
 * workloads matching the selectors. Validation reports every problem at once, naming the field;
 * SPIFFE IDs are checked to the spec, must belong to our trust domain, and may not use the paths
 * the CA reserves for itself (`/neam-ca/…`); the parent must be a node ID.
 *
 * Must never: store an entry that failed validation, or let an entry name a node, admin or
 * server identity.
 */
import { randomUUID } from 'node:crypto';

import { CoreError, formatProblems, isCoreError, type Problem } from '../errors.ts';
import { isConstraintError, type Database, type Store } from '../store/index.ts';
import { identityKind, NODE_PREFIX, parseWorkloadSpiffeId } from './spiffe-id.ts';

/** A registration entry. */
export interface Entry {
  readonly id: string;
  readonly spiffeId: string;
  readonly parentId: string;
  readonly selectors: readonly string[];
  readonly ttlSeconds: number;
  readonly dnsNames: readonly string[];
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** Input of {@link createEntry}. */
export interface EntrySpec {
  spiffeId?: unknown;
  parentId?: unknown;
  selectors?: unknown;
  ttlSeconds?: unknown;
  dnsNames?: unknown;
}

/** Limits entries are validated against. */
export interface EntryLimits {
  readonly trustDomain: string;
  /** Default SVID lifetime (seconds). */
  readonly defaultTtlSeconds: number;
  /** Largest SVID lifetime (seconds). */
  readonly maxTtlSeconds: number;
}

/** Shortest SVID lifetime an entry may ask for. */
export const MIN_TTL_SECONDS = 60;
const MAX_SELECTORS = 32;
const MAX_DNS_NAMES = 32;
const SELECTOR_RE = /^[a-z0-9_-]{1,32}:[\x21-\x7e][\x20-\x7e]{0,254}$/u;
const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/u;

/** The reason a DNS name is not acceptable in an SVID, or undefined. */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  if (name !== name.toLowerCase()) return 'must be lower-case';
  if (name.endsWith('.')) return 'must not end with a dot';
  const labels = name.split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] ?? '';
    if (i === 0 && l === '*' && labels.length > 2) continue;
    if (!LABEL_RE.test(l)) return `label '${l}' is not a valid DNS label (letters, digits and inner hyphens, 1-63 characters; a wildcard only as '*.' in front of two or more labels)`;
  }
  return undefined;
}

function normaliseSpec(spec: EntrySpec, limits: EntryLimits, partial: boolean): { value: Omit<Entry, 'id' | 'createdAtMs' | 'updatedAtMs'>; problems: Problem[]; spiffeProblem: boolean } {
  const problems: Problem[] = [];
  let spiffeProblem = false;
  const idField = (field: 'spiffeId' | 'parentId', raw: unknown): string => {
    if (raw === undefined && partial) return '';
    if (typeof raw !== 'string') {
      problems.push({ path: field, message: 'is required (a SPIFFE ID string)' });
      return '';
    }
    try {
      const id = parseWorkloadSpiffeId(raw, limits.trustDomain);
      const kind = identityKind(id);
      if (field === 'spiffeId' && kind !== 'workload') {
        problems.push({ path: field, message: `'${raw}' uses the path prefix /neam-ca/, which this CA reserves for its own node, admin and server identities` });
        spiffeProblem = true;
      }
      if (field === 'parentId' && kind !== 'node') {
        problems.push({ path: field, message: `'${raw}' is not a node ID; a parent must be spiffe://${limits.trustDomain}${NODE_PREFIX}NAME (the node that attested with a join token)` });
        spiffeProblem = true;
      }
      return id.id;
    } catch (e) {
      if (isCoreError(e, 'ERR_SPIFFE_ID_INVALID')) {
        problems.push({ path: field, message: e.message });
        spiffeProblem = true;
        return '';
      }
      throw e;
    }
  };
  const spiffeId = idField('spiffeId', spec.spiffeId);
  const parentId = idField('parentId', spec.parentId);
  let selectors: string[] = [];
  if (spec.selectors !== undefined) {
    if (!Array.isArray(spec.selectors) || spec.selectors.some((s) => typeof s !== 'string')) problems.push({ path: 'selectors', message: 'must be a list of strings' });
    else {
      selectors = spec.selectors as string[];
      if (selectors.length > MAX_SELECTORS) problems.push({ path: 'selectors', message: `at most ${MAX_SELECTORS} selectors` });
      selectors.forEach((s, i) => {
        if (!SELECTOR_RE.test(s)) problems.push({ path: `selectors.${i}`, message: `'${s}' is not a selector of the form type:value (type of a-z, 0-9, '_' or '-'; printable ASCII value up to 255 characters)` });
      });
      if (new Set(selectors).size !== selectors.length) problems.push({ path: 'selectors', message: 'lists a selector twice' });
    }
  }
  let ttlSeconds = limits.defaultTtlSeconds;
  if (spec.ttlSeconds !== undefined) {
    if (typeof spec.ttlSeconds !== 'number' || !Number.isInteger(spec.ttlSeconds)) problems.push({ path: 'ttlSeconds', message: 'must be a whole number of seconds' });
    else if (spec.ttlSeconds < MIN_TTL_SECONDS || spec.ttlSeconds > limits.maxTtlSeconds) problems.push({ path: 'ttlSeconds', message: `must be between ${MIN_TTL_SECONDS} and ${limits.maxTtlSeconds} seconds (got ${spec.ttlSeconds})` });
    else ttlSeconds = spec.ttlSeconds;
  }
  let dnsNames: string[] = [];
  if (spec.dnsNames !== undefined) {
    if (!Array.isArray(spec.dnsNames) || spec.dnsNames.some((s) => typeof s !== 'string')) problems.push({ path: 'dnsNames', message: 'must be a list of strings' });
    else {
      dnsNames = spec.dnsNames as string[];
      if (dnsNames.length > MAX_DNS_NAMES) problems.push({ path: 'dnsNames', message: `at most ${MAX_DNS_NAMES} DNS names` });
      dnsNames.forEach((d, i) => {
        const p = dnsNameProblem(d);
        if (p !== undefined) problems.push({ path: `dnsNames.${i}`, message: `'${d}' ${p}` });
      });
      if (new Set(dnsNames).size !== dnsNames.length) problems.push({ path: 'dnsNames', message: 'lists a name twice' });
    }
  }
  for (const k of Object.keys(spec)) {
    if (!['spiffeId', 'parentId', 'selectors', 'ttlSeconds', 'dnsNames'].includes(k)) problems.push({ path: k, message: 'is not a field of an entry (spiffeId, parentId, selectors, ttlSeconds, dnsNames)' });
  }
  return { value: { spiffeId, parentId, selectors, ttlSeconds, dnsNames }, problems, spiffeProblem };
}

function throwProblems(problems: Problem[], spiffeProblem: boolean): never {
  const code = spiffeProblem ? 'ERR_SPIFFE_ID_INVALID' : 'ERR_INPUT_INVALID';
  throw new CoreError(code, `the registration entry is invalid:\n${formatProblems(problems)}`, { details: { problems } });
}

/**
 * Validates an entry specification without storing it.
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID (when an ID is among the problems), ERR_INPUT_INVALID
 */
export function validateEntrySpec(spec: EntrySpec, limits: EntryLimits): Omit<Entry, 'id' | 'createdAtMs' | 'updatedAtMs'> {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new CoreError('ERR_INPUT_INVALID', 'the registration entry must be an object');
  const { value, problems, spiffeProblem } = normaliseSpec(spec, limits, false);
  if (problems.length > 0) throwProblems(problems, spiffeProblem);
  return value;
}

interface EntryRow {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: string;
  ttl_seconds: number;
  dns_names: string;
  created_at: number;
  updated_at: number;
}

function toEntry(r: EntryRow): Entry {
  return {
    id: r.id,
    spiffeId: r.spiffe_id,
    parentId: r.parent_id,
    selectors: JSON.parse(r.selectors) as string[],
    ttlSeconds: r.ttl_seconds,
    dnsNames: JSON.parse(r.dns_names) as string[],
    createdAtMs: r.created_at,
    updatedAtMs: r.updated_at,
  };
}

/**
 * Creates an entry.
 * @throws {CoreError} ERR_SPIFFE_ID_INVALID, ERR_INPUT_INVALID, ERR_ONLINE_ENTRY_EXISTS
 */
export function createEntry(store: Store, spec: EntrySpec, limits: EntryLimits, nowMs: number): Entry {
  const v = validateEntrySpec(spec, limits);
  const id = randomUUID();
  try {
    store.transaction((db) => {
      db.prepare('INSERT INTO online_entries (id, spiffe_id, parent_id, selectors, ttl_seconds, dns_names, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        id,
        v.spiffeId,
        v.parentId,
        JSON.stringify(v.selectors),
        v.ttlSeconds,
        JSON.stringify(v.dnsNames),
        nowMs,
        nowMs,
      );
    });
  } catch (e) {
    if (isConstraintError(e)) throw new CoreError('ERR_ONLINE_ENTRY_EXISTS', `an entry for ${v.spiffeId} under parent ${v.parentId} already exists; update or delete it instead`);
    throw e;
  }
  return getEntry(store.db, id);
}

/**
 * Updates an entry's selectors, TTL and DNS names (the SPIFFE ID and parent are its identity:
 * delete and create to change them).
 * @throws {CoreError} ERR_ONLINE_ENTRY_NOT_FOUND, ERR_INPUT_INVALID
 */
export function updateEntry(store: Store, id: string, changes: EntrySpec, limits: EntryLimits, nowMs: number): Entry {
  const current = getEntry(store.db, id);
  if (changes.spiffeId !== undefined || changes.parentId !== undefined) {
    throw new CoreError('ERR_INPUT_INVALID', "an entry's spiffeId and parentId cannot change; delete the entry and create a new one");
  }
  const merged = validateEntrySpec(
    { spiffeId: current.spiffeId, parentId: current.parentId, selectors: changes.selectors ?? current.selectors, ttlSeconds: changes.ttlSeconds ?? current.ttlSeconds, dnsNames: changes.dnsNames ?? current.dnsNames },
    limits,
  );
  store.transaction((db) => {
    db.prepare('UPDATE online_entries SET selectors = ?, ttl_seconds = ?, dns_names = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(merged.selectors), merged.ttlSeconds, JSON.stringify(merged.dnsNames), nowMs, id);
  });
  return getEntry(store.db, id);
}

/**
 * One entry.
 * @throws {CoreError} ERR_ONLINE_ENTRY_NOT_FOUND
 */
export function getEntry(db: Database, id: string): Entry {
  const r = db.prepare('SELECT * FROM online_entries WHERE id = ?').get(id) as EntryRow | undefined;
  if (r === undefined) throw new CoreError('ERR_ONLINE_ENTRY_NOT_FOUND', `no registration entry with id '${id}'; list them with 'neam-ca entry list'`);
  return toEntry(r);
}

/** Entries, optionally filtered by parent or SPIFFE ID, ordered by SPIFFE ID. */
export function listEntries(db: Database, filter: { parentId?: string; spiffeId?: string } = {}): Entry[] {
  const where: string[] = [];
  const args: string[] = [];
  if (filter.parentId !== undefined) {
    where.push('parent_id = ?');
    args.push(filter.parentId);
  }
  if (filter.spiffeId !== undefined) {
    where.push('spiffe_id = ?');
    args.push(filter.spiffeId);
  }
  const sql = `SELECT * FROM online_entries${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY spiffe_id, parent_id`;
  return (db.prepare(sql).all(...args) as EntryRow[]).map(toEntry);
}

/**
 * Deletes an entry (certificates already issued stay valid until they expire or are revoked).
 * @throws {CoreError} ERR_ONLINE_ENTRY_NOT_FOUND
 */
export function deleteEntry(store: Store, id: string): Entry {
  const e = getEntry(store.db, id);
  store.transaction((db) => db.prepare('DELETE FROM online_entries WHERE id = ?').run(id));
  return e;
}
