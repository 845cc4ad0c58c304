/**
 * @module online/status
 * The status report of the online CA (for `neam-ca status` and the admin API): trust domain,
 * intermediates with their windows and state, which one is active and why, signed coverage left
 * with the warning when the next ceremony is due, trust anchors, entries, nodes, outstanding join
 * tokens, certificate counts and the latest CRL of each intermediate.
 *
 * Must never: include a key, token or PIN.
 */
import { spkiSha256 } from '../pki/index.ts';
import type { Database } from '../store/index.ts';
import { certCounts, expiringIdentities } from './cert-store.ts';
import { issuedIntermediates, listIntermediates, listRoots, type IntermediateState } from './intermediates.ts';
import { readSettings } from './settings.ts';
import { coverage, DAY_MS, selectActive } from './windows.ts';

/** The report. */
export interface StatusReport {
  trustDomain: string;
  keyStore: string;
  keyAlgorithm: string;
  token: { label: string; serial: string };
  now: string;
  active: { id: string; mode: 'full' | 'capped'; notAfter: string } | null;
  coverage: { until: string; daysLeft: number; warningDays: number; warning: string | null };
  intermediates: Array<{ id: string; state: IntermediateState; batch: number; requestedWindow: [string, string]; notBefore: string | null; notAfter: string | null; active: boolean }>;
  roots: Array<{ sha256: string; subject: string; notAfter: string }>;
  bundleSequence: number;
  entries: number;
  nodes: { total: number; evicted: number };
  joinTokens: { outstanding: number };
  certificates: { issuedLast24h: number; valid: number; revokedUnexpired: number; expiringWithin: { '24h': number; '12h': number; '6h': number } };
  crls: Array<{ issuerId: string; number: number; thisUpdate: string; nextUpdate: string; revoked: number }>;
  warnings: string[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Collects the status from the database. */
export function collectStatus(db: Database, nowMs: number, opts: { maxSvidTtlSeconds: number; coverageWarningSeconds: number }): StatusReport {
  const s = readSettings(db);
  const all = listIntermediates(db);
  const issued = issuedIntermediates(db);
  const maxTtlMs = opts.maxSvidTtlSeconds * 1000;
  const act = selectActive(issued, nowMs, maxTtlMs);
  const cov = coverage(issued, nowMs, maxTtlMs);
  const warningDays = opts.coverageWarningSeconds / 86_400;
  const warnings: string[] = [];
  let covWarning: string | null = null;
  if (cov.daysLeft < warningDays) {
    covWarning = `signed coverage ends ${new Date(cov.endMs).toISOString()} (${cov.daysLeft.toFixed(1)} days left, threshold ${warningDays} days): schedule the next intermediate ceremony (neam-ca online prepare, then export-csrs)`;
    warnings.push(covWarning);
  }
  if (act === undefined) warnings.push('no intermediate is valid now: the server cannot issue certificates');
  else if (act.mode === 'capped') warnings.push(`intermediate ${act.active.id} expires within the maximum SVID lifetime; SVIDs are capped at its notAfter ${new Date(act.active.notAfterMs).toISOString()}`);
  const pending = all.filter((i) => i.state === 'generated' || i.state === 'requested');
  if (pending.length > 0) warnings.push(`${pending.length} intermediate(s) await their certificates from the ceremony (${pending.map((p) => p.id).join(', ')})`);
  const one = (sql: string, ...a: number[]): number => (db.prepare(sql).get(...a) as { n: number }).n;
  const expiring = expiringIdentities(db, nowMs, [24 * 3_600_000, 12 * 3_600_000, 6 * 3_600_000]);
  const hasPki = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pki_crls'").get() !== undefined;
  const crls = hasPki
    ? issued.flatMap((i) => {
        const r = db.prepare('SELECT crl_number, this_update, next_update, revoked_count FROM pki_crls WHERE issuer_spki_sha256 = ? ORDER BY crl_number DESC LIMIT 1').get(spkiSha256(i.spki)) as
          | { crl_number: number; this_update: string; next_update: string; revoked_count: number }
          | undefined;
        return r === undefined ? [] : [{ issuerId: i.id, number: r.crl_number, thisUpdate: r.this_update, nextUpdate: r.next_update, revoked: r.revoked_count }];
      })
    : [];
  return {
    trustDomain: s.trustDomain,
    keyStore: s.keyStore,
    keyAlgorithm: s.keyAlgorithm,
    token: { label: s.tokenLabel, serial: s.tokenSerial },
    now: new Date(nowMs).toISOString(),
    active: act === undefined ? null : { id: act.active.id, mode: act.mode, notAfter: new Date(act.active.notAfterMs).toISOString() },
    coverage: { until: new Date(cov.endMs).toISOString(), daysLeft: Math.round(cov.daysLeft * 10) / 10, warningDays, warning: covWarning },
    intermediates: all.map((i) => ({
      id: i.id,
      state: i.state,
      batch: i.batch,
      requestedWindow: [new Date(i.windowStartMs).toISOString(), new Date(i.windowEndMs).toISOString()],
      notBefore: iso(i.notBeforeMs),
      notAfter: iso(i.notAfterMs),
      active: act?.active.id === i.id,
    })),
    roots: listRoots(db).map((r) => ({ sha256: r.sha256, subject: r.subject, notAfter: new Date(r.notAfterMs).toISOString() })),
    bundleSequence: s.bundleSequence,
    entries: one('SELECT COUNT(*) AS n FROM online_entries'),
    nodes: { total: one('SELECT COUNT(*) AS n FROM online_nodes'), evicted: one('SELECT COUNT(*) AS n FROM online_nodes WHERE evicted_at IS NOT NULL') },
    joinTokens: { outstanding: one('SELECT COUNT(*) AS n FROM online_join_tokens WHERE used_at IS NULL AND expires_at > ?', nowMs) },
    certificates: { ...certCounts(db, nowMs), expiringWithin: { '24h': expiring[0] ?? 0, '12h': expiring[1] ?? 0, '6h': expiring[2] ?? 0 } },
    crls,
    warnings,
  };
}

/** Days as a number rounded for display. */
export function daysBetween(fromMs: number, toMs: number): number {
  return Math.round(((toMs - fromMs) / DAY_MS) * 10) / 10;
}
