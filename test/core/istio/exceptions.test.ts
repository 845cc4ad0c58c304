import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, MeshIndex, parseExceptions, parseExpiry, parseInventory } from '../../../core/istio/index.ts';
import { fx, NOW } from './helpers.ts';

const index = new MeshIndex(parseInventory([{ file: 'inventory.yaml', text: readFileSync(fx('inventory.yaml'), 'utf8') }]).inventory, defaultConfig());
const config = defaultConfig();
const one = (fields: Record<string, unknown>): string => JSON.stringify({ exceptions: [{ id: 'x', namespace: 'legacy', workload: 'billing', mode: 'PERMISSIVE', justification: 'a batch outside the mesh, migration in progress', approver: 'sec@example.com', expires: '2027-01-15', ...fields }] });

function fails(text: string, code: 'ERR_ISTIO_EXCEPTION_INVALID' | 'ERR_ISTIO_EXCEPTION_EXPIRED'): string {
  try {
    parseExceptions(text, 'ex.yaml', index, config, NOW);
  } catch (e) {
    if (isCoreError(e, code)) return e.message;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

describe('mTLS exceptions', () => {
  it('accepts the fixture and keeps justification, approver and expiry', () => {
    const ex = parseExceptions(readFileSync(fx('exceptions.yaml'), 'utf8'), 'exceptions.yaml', index, config, NOW);
    expect(ex).toMatchObject([{ id: 'legacy-billing', namespace: 'legacy', workload: 'billing', mode: 'PERMISSIVE', approver: 'security-team@example.com', ticket: 'LEG-42' }]);
    expect(ex[0]?.expiresAt.toISOString()).toBe('2027-01-31T00:00:00.000Z');
  });
  it('refuses expired exceptions with ERR_ISTIO_EXCEPTION_EXPIRED, naming each with its approver and expiry', () => {
    const msg = fails(readFileSync(fx('exceptions-expired.yaml'), 'utf8'), 'ERR_ISTIO_EXCEPTION_EXPIRED');
    expect(msg).toContain("exception 'legacy-billing' (legacy/billing, PERMISSIVE, approved by security-team@example.com) expired at 2026-11-15T00:00:00.000Z");
    expect(msg).toContain("exception 'notify-sms-port'");
    expect(msg).toMatch(/exceptions-expired|ex\.yaml/u);
    expect(msg).toContain('nothing was generated');
  });
  it('an exception expiring exactly now is expired', () => {
    fails(one({ expires: NOW.toISOString() }), 'ERR_ISTIO_EXCEPTION_EXPIRED');
  });
  const invalid: Array<{ field: string; fields: Record<string, unknown>; message: RegExp }> = [
    { field: 'justification', fields: { justification: 'because' }, message: /at least 20 characters/u },
    { field: 'approver', fields: { approver: '' }, message: /approver must be named/u },
    { field: 'expires (format)', fields: { expires: '31/01/2027' }, message: /not an ISO 8601 date/u },
    { field: 'expires (impossible date)', fields: { expires: '2027-02-30' }, message: /not an ISO 8601 date/u },
    { field: 'expires (beyond maxExceptionDays)', fields: { expires: '2028-01-01' }, message: /more than maxExceptionDays \(90\)/u },
    { field: 'mode', fields: { mode: 'STRICT' }, message: /PERMISSIVE|DISABLE/u },
    { field: 'namespace (root)', fields: { namespace: 'istio-system', workload: undefined }, message: /excluded from generation/u },
    { field: 'namespace (unknown)', fields: { namespace: 'nope', workload: undefined }, message: /not in the inventory/u },
    { field: 'workload', fields: { workload: 'ghost' }, message: /legacy\/ghost" is not in the inventory/u },
    { field: 'ports (without workload)', fields: { workload: undefined, ports: [8080] }, message: /ports need a workload/u },
    { field: 'id', fields: { id: 'Not An Id' }, message: /DNS-1123 label/u },
    { field: 'unknown key', fields: { aprover: 'x' }, message: /unknown field 'aprover'/u },
  ];
  for (const c of invalid) it(`refuses ${c.field}`, () => expect(fails(one(c.fields), 'ERR_ISTIO_EXCEPTION_INVALID')).toMatch(c.message));
  it('refuses two exceptions for the same namespace or workload (one PeerAuthentication each)', () => {
    const e = { namespace: 'legacy', mode: 'PERMISSIVE', justification: 'a batch outside the mesh, migration in progress', approver: 'sec', expires: '2027-01-15' };
    expect(fails(JSON.stringify({ exceptions: [{ id: 'a', ...e }, { id: 'b', ...e }] }), 'ERR_ISTIO_EXCEPTION_INVALID')).toMatch(/covers the same namespace/u);
    expect(fails(JSON.stringify({ exceptions: [{ id: 'a', ...e }, { id: 'a', ...e, workload: 'billing' }] }), 'ERR_ISTIO_EXCEPTION_INVALID')).toMatch(/duplicate exception id/u);
  });
  it('an invalid file lists the expired ones too, under ERR_ISTIO_EXCEPTION_INVALID', () => {
    const text = JSON.stringify({ exceptions: [JSON.parse(one({ expires: '2026-01-01' })).exceptions[0], { ...JSON.parse(one({})).exceptions[0], id: 'y', justification: 'short' }] });
    const msg = fails(text, 'ERR_ISTIO_EXCEPTION_INVALID');
    expect(msg).toMatch(/expired at 2026-01-01/u);
    expect(msg).toMatch(/at least 20 characters/u);
  });
  it('parses expiries: dates as midnight UTC, date-times only with a zone', () => {
    expect(parseExpiry('2027-01-31')?.toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(parseExpiry('2027-01-31T12:00:00+02:00')?.toISOString()).toBe('2027-01-31T10:00:00.000Z');
    expect(parseExpiry('2027-01-31T12:00:00')).toBeUndefined();
    expect(parseExpiry('tomorrow')).toBeUndefined();
  });
});
