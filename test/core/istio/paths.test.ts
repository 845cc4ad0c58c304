import { describe, expect, it } from 'vitest';

import { generalisePath, matchPath, matchString, normalisePath, type GeneraliseOptions } from '../../../core/istio/paths.ts';
import { pathTemplateError } from '../../../core/istio/semantic.ts';

const G: GeneraliseOptions = { mode: 'generalise', idPatterns: [], maxLength: 2048 };

describe('path generalisation', () => {
  const table: Array<[string, string | null, GeneraliseOptions?]> = [
    ['/api/orders', '/api/orders'],
    ['/api/orders/12345', '/api/orders/{*}'],
    ['/api/orders/12345/status', '/api/orders/{*}/status'],
    ['/api/cart/5f0c6a1e-8d2b-4c3a-9e1f-0a1b2c3d4e5f/items', '/api/cart/{*}/items'],
    ['/sessions/0123456789abcdef0123456789abcdef', '/sessions/{*}'],
    ['/internal/users/by-email/ann@example.com', '/internal/users/by-email/{*}'],
    ['/static/app.55a9b8c7.js', '/static/{*}'],
    ['/v1/charges/ch_3MtwBwLkdIwHu7ix28a3tqPa', '/v1/charges/{*}'],
    ['/api/orders?user=7&x=1', '/api/orders'],
    ['/a/./b/../c', '/a/c'],
    ['/', '/'],
    ['/users/42/', '/users/{*}/'],
    ['/a//42', '/a/*'],
    ['/files/a*b', '/files/*'],
    ['*', null],
    ['http://evil.example/x', null],
    ['/api/orders/12345', '/api/orders/12345', { mode: 'exact', idPatterns: [], maxLength: 2048 }],
    ['/api/orders/12345', null, { mode: 'none', idPatterns: [], maxLength: 2048 }],
    ['/tenants/acme/items', '/tenants/{*}/items', { mode: 'generalise', idPatterns: [/^acme|globex$/u], maxLength: 2048 }],
    [`/long/${'x'.repeat(3000)}`, '/long/*'],
  ];
  for (const [raw, want, opts] of table) it(`${raw.slice(0, 60)} → ${String(want)}`, () => expect(generalisePath(raw, opts ?? G)).toBe(want));

  it('every generalised pattern matches the path it came from and is a valid Istio path (property over generated paths)', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = ['api', 'v1', '42', '00ff00ff00ff00ff', '', 'a b', '%41', 'x*y', '{id}', 'ü', '..', '.', 'k=v', '@me', 'name.tar.gz'];
    for (let i = 0; i < 3000; i++) {
      const n = 1 + Math.floor(rnd() * 6);
      const raw = `/${Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('/')}`;
      const g = generalisePath(raw, G);
      expect(g, raw).not.toBeNull();
      expect(matchPath(g as string, normalisePath(raw)), `${raw} → ${g}`).toBe(true);
      if ((g as string).includes('{')) expect(pathTemplateError(g as string), `${raw} → ${g}`).toBeUndefined();
    }
  });
});

describe('Istio path and string matching', () => {
  const paths: Array<[string, string, boolean]> = [
    ['/foo/{*}', '/foo/bar', true],
    ['/foo/{*}', '/foo/bar/baz', false],
    ['/foo/{**}/', '/foo/bar/', true],
    ['/foo/{**}/', '/foo/bar/baz.txt', true],
    ['/foo/{**}/', '/foo//', true],
    ['/foo/{**}/', '/foo/bar', false],
    ['/foo/{*}/bar/{**}', '/foo/buzz/bar/', true],
    ['/foo/{*}/bar/{**}', '/foo/buzz/bar/baz', true],
    ['/admin/*', '/admin/users', true],
    ['/admin/*', '/admin', false],
    ['*/suffix', '/a/b/suffix', true],
    ['*', '/anything', true],
    ['/exact', '/exact/', false],
  ];
  for (const [p, v, want] of paths) it(`${p} ${want ? 'matches' : 'does not match'} ${v}`, () => expect(matchPath(p, v)).toBe(want));
  it('strings: * needs a value; prefix and suffix wildcards; exact otherwise', () => {
    expect(matchString('*', '')).toBe(false);
    expect(matchString('*', 'x')).toBe(true);
    expect(matchString('cluster.local/ns/a/*', 'cluster.local/ns/a/sa/b')).toBe(true);
    expect(matchString('*/sa/b', 'cluster.local/ns/a/sa/b')).toBe(true);
    expect(matchString('GET', 'get')).toBe(false);
  });
});
