import { readFileSync } from 'node:fs';

import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

import { CelError, compileCel, parseDuration } from '../../../core/istio/cel.ts';
import { crds } from './helpers.ts';

describe('CEL interpreter (the x-kubernetes-validations subset of Istio CRDs)', () => {
  const cases: Array<{ name: string; rule: string; self: unknown; want: unknown }> = [
    { name: 'has on present field', rule: 'has(self.a)', self: { a: 1 }, want: true },
    { name: 'has on absent field', rule: 'has(self.a)', self: {}, want: false },
    { name: 'ternary counting for one-of', rule: '(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) <= 1', self: { a: 1, b: 2 }, want: false },
    { name: 'all over map keys', rule: 'self.all(key, !key.contains("*"))', self: { 'a*': 'x' }, want: false },
    { name: 'all over empty map', rule: 'self.all(key, key.size() != 0)', self: {}, want: true },
    { name: 'int of numeric map keys', rule: 'self.all(key, 0 < int(key) && int(key) <= 65535)', self: { '80': {}, '443': {} }, want: true },
    { name: 'int range', rule: 'self.all(key, 0 < int(key) && int(key) <= 65535)', self: { '0': {} }, want: false },
    { name: 'exists_one for unique port numbers', rule: 'self.all(l1, self.exists_one(l2, l1.number == l2.number))', self: [{ number: 1 }, { number: 1 }], want: false },
    { name: 'exists', rule: '(has(self.addresses) ? self.addresses : []).exists(k, k.contains("/"))', self: { addresses: ['1.2.3.4/16'] }, want: true },
    { name: 'in list', rule: 'self in ["", "HTTP", "HTTPS"]', self: 'HTTP', want: true },
    { name: 'in list miss', rule: 'self in ["", "HTTP", "HTTPS"]', self: 'FTP', want: false },
    { name: 'substring and startsWith', rule: 'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true', self: 'unix://relative', want: false },
    { name: 'matches (RE2 subset)', rule: 'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))', self: { '@': 80 }, want: false },
    { name: 'duration compare', rule: "duration(self) >= duration('1ms')", self: '300s', want: true },
    { name: 'duration below 1ms', rule: "duration(self) >= duration('1ms')", self: '500us', want: false },
    { name: 'url scheme', rule: 'url(self).getScheme() in ["http", "https"]', self: 'https://example.com/jwks', want: true },
    { name: 'isURL of a fragment-only string', rule: 'isURL(self)', self: '#%blah$#@', want: false },
    { name: 'map literal size', rule: '(has(self.m) ? self.m : {}).size() > 0', self: {}, want: false },
    { name: 'string concatenation', rule: 'isURL("http://" + self)', self: 'example.com/x', want: true },
    { name: '|| absorbs an error on the other side', rule: 'has(self.a) || self.b.c == 1', self: { a: 1 }, want: true },
  ];
  for (const c of cases) it(`evaluates: ${c.name}`, () => expect(compileCel(c.rule).evaluate(c.self)).toBe(c.want));

  const errors: Array<{ name: string; rule: string; self: unknown; message: RegExp }> = [
    { name: 'int of a non-number', rule: 'self.all(key, 0 < int(key))', self: { acd: {} }, message: /type conversion error from 'string' to 'int'/u },
    { name: 'invalid duration', rule: "duration(self) >= duration('1ms')", self: 'apple', message: /invalid duration/u },
    { name: 'missing key', rule: 'self.a == 1', self: {}, message: /no such key: a/u },
    { name: 'url of a relative string', rule: 'url(self).getScheme() == "http"', self: 'relative/path', message: /URL parse error/u },
  ];
  for (const c of errors) it(`reports an evaluation error: ${c.name}`, () => expect(() => compileCel(c.rule).evaluate(c.self)).toThrow(c.message));

  it('refuses syntax outside the subset instead of guessing', () => {
    expect(() => compileCel('self.map(x, x + 1)')).not.toThrow(); // parses as a call…
    expect(() => compileCel('self.map(x, x + 1)').evaluate([1])).toThrow(CelError); // …and fails clearly
    expect(() => compileCel('self ==')).toThrow(CelError);
  });

  it('parses Go durations like Kubernetes does', () => {
    expect(parseDuration('1h30m').nanos).toBe(5_400_000_000_000n);
    expect(parseDuration('1.5s').nanos).toBe(1_500_000_000n);
    expect(parseDuration('0').nanos).toBe(0n);
    expect(() => parseDuration('10')).toThrow(CelError);
  });

  it('compiles every one of the distinct rules in the Istio 1.30 CRD file', () => {
    const text = readFileSync(crds().file, 'utf8');
    const rules = new Set<string>();
    const walk = (s: unknown): void => {
      if (Array.isArray(s)) return s.forEach(walk);
      if (typeof s !== 'object' || s === null) return;
      const o = s as Record<string, unknown>;
      for (const v of (o['x-kubernetes-validations'] as Array<{ rule: string }> | undefined) ?? []) rules.add(v.rule);
      Object.values(o).forEach(walk);
    };
    for (const d of parseAllDocuments(text)) walk(d.toJS());
    expect(rules.size).toBe(36);
    for (const r of rules) expect(() => compileCel(r), r).not.toThrow();
  });
});
