import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, MeshIndex, parseCases, parseInventory, PolicySet, runCases } from '../../../core/istio/index.ts';
import { fx } from './helpers.ts';

const index = new MeshIndex(parseInventory([{ file: 'inventory.yaml', text: readFileSync(fx('inventory.yaml'), 'utf8') }]).inventory, defaultConfig());
const base = { name: 'c', from: 'cluster.local/ns/web/sa/bff', to: 'shop/orders', port: 8080, method: 'GET', path: '/', expect: 'allow' };
const file = (cases: unknown[]): string => JSON.stringify({ cases });

function problems(text: string): Array<{ path: string; message: string }> {
  try {
    parseCases(text, 'cases.yaml', index);
  } catch (e) {
    if (!isCoreError(e, 'ERR_ISTIO_CASES_INVALID')) throw e;
    return (e.details?.['problems'] as Array<{ path: string; message: string }> | undefined) ?? [{ path: '', message: e.message }];
  }
  throw new Error('expected ERR_ISTIO_CASES_INVALID');
}

describe('policy test cases', () => {
  const invalid: Array<{ field: string; c: Record<string, unknown>; path: string; message: RegExp }> = [
    { field: 'to (not in the inventory)', c: { to: 'shop/ghost' }, path: 'cases.0.to', message: /not in the inventory/u },
    { field: 'to (format)', c: { to: 'orders' }, path: 'cases.0.to', message: /namespace\/workload/u },
    { field: 'from (not a principal)', c: { from: 'frontend' }, path: 'cases.0.from', message: /not an Istio principal/u },
    { field: 'port', c: { port: 70000 }, path: 'cases.0.port', message: /65535/u },
    { field: 'method', c: { method: 'GE T' }, path: 'cases.0.method', message: /./u },
    { field: 'path (relative)', c: { path: 'api' }, path: 'cases.0.path', message: /\//u },
    { field: 'path without method', c: { method: undefined }, path: 'cases.0.path', message: /needs a method/u },
    { field: 'expect', c: { expect: 'maybe' }, path: 'cases.0.expect', message: /allow|deny/u },
    { field: 'unknown key', c: { expected: 'allow' }, path: 'cases.0', message: /unknown field 'expected'/u },
  ];
  for (const v of invalid) it(`refuses ${v.field}`, () => {
    const p = problems(file([{ ...base, ...v.c }]));
    expect(p.find((x) => x.path === v.path)?.message ?? JSON.stringify(p)).toMatch(v.message);
  });
  it('refuses duplicate names, an empty file and non-YAML, reporting every problem at once', () => {
    expect(problems(file([base, base])).map((p) => p.message).join()).toMatch(/duplicate case name/u);
    expect(problems(file([])).map((p) => p.message).join()).toMatch(/at least one case/u);
    expect(() => parseCases('cases: [', 'x.yaml', index)).toThrow(/not valid YAML/u);
    expect(problems(file([{ ...base, to: 'shop/ghost' }, { ...base, name: 'd', port: 0 }]))).toHaveLength(2);
  });
  it('evaluates spiffe:// and bare principals alike, plaintext and TCP cases', () => {
    const cases = parseCases(file([base, { ...base, name: 'd', from: 'spiffe://cluster.local/ns/web/sa/bff' }, { ...base, name: 'p', from: 'plaintext', expect: 'deny' }, { ...base, name: 't', method: undefined, path: undefined, expect: 'deny' }]), 'c.yaml', index);
    const policies = new PolicySet([{ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'a', namespace: 'shop' }, spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'orders' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/bff'] } }], to: [{ operation: { methods: ['GET'] } }] }] } }], 'istio-system');
    const r = runCases(cases, policies, index);
    expect(r.map((x) => [x.name, x.actual, x.pass])).toEqual([
      ['c', 'allow', true],
      ['d', 'allow', true],
      ['p', 'deny', true],
      ['t', 'deny', true],
    ]);
    expect(r[3]?.request).toContain('(tcp)');
  });
});
