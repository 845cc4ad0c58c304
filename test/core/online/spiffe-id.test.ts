import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { adminSpiffeId, identityKind, nodeSpiffeId, parseSpiffeId, parseTrustDomain, parseWorkloadSpiffeId } from '../../../core/online/spiffe-id.ts';

// Vectors from spiffe/go-spiffe spiffeid/id_test.go and the rules of spiffe/spiffe
// standards/SPIFFE-ID.md §2 (see shared/reference/spiffe-istio-anchors.md §1a, §2c).
const VALID = [
  'spiffe://trustdomain',
  'spiffe://trustdomain/path',
  'spiffe://trustdomain/.path',
  'spiffe://trustdomain/..path',
  'spiffe://trustdomain/...',
  'spiffe://example.org/ns/default/sa/web',
  'spiffe://a-b_c.d0/Upper/Case_Path-1.2',
  'spiffe://192.168.1.1/ipv4-is-just-a-name',
  `spiffe://example.org/${'a'.repeat(2048 - 'spiffe://example.org/'.length)}`,
];

const INVALID: Array<{ rule: string; input: string; reason: RegExp }> = [
  { rule: 'empty', input: '', reason: /cannot be empty/u },
  { rule: 'scheme missing', input: 's', reason: /scheme is missing or invalid/u },
  { rule: 'scheme one slash', input: 'spiffe:/', reason: /scheme is missing or invalid/u },
  { rule: 'scheme upper-case', input: 'Spiffe://trustdomain/path', reason: /scheme must be lower-case/u },
  { rule: 'scheme SPIFFE', input: 'SPIFFE://trustdomain/path', reason: /scheme must be lower-case/u },
  { rule: 'scheme other', input: 'https://trustdomain/path', reason: /scheme is missing or invalid/u },
  { rule: 'trust domain missing', input: 'spiffe://', reason: /trust domain is missing/u },
  { rule: 'trust domain missing before path', input: 'spiffe:///', reason: /trust domain is missing/u },
  { rule: 'trust domain missing with path', input: 'spiffe:///path', reason: /trust domain is missing/u },
  { rule: 'trust domain upper-case', input: 'spiffe://TrustDomain/path', reason: /trust domain must be lower-case/u },
  { rule: 'trust domain port', input: 'spiffe://trustdomain:8080/path', reason: /port is not allowed/u },
  { rule: 'trust domain userinfo', input: 'spiffe://user@trustdomain/path', reason: /userinfo .* not allowed/u },
  { rule: 'trust domain userinfo and password', input: 'spiffe://user:pw@trustdomain/path', reason: /userinfo .* not allowed/u },
  { rule: 'trust domain percent-encoding', input: 'spiffe://%62%61%64/path', reason: /percent-encoding is not allowed in the trust domain/u },
  { rule: 'trust domain emoji (encoded)', input: 'spiffe://%F0%9F%A4%AF/path', reason: /percent-encoding is not allowed in the trust domain/u },
  { rule: 'trust domain dollar', input: 'spiffe://trust$domain', reason: /trust domain characters are limited/u },
  { rule: 'trust domain IPv6', input: 'spiffe://[::1]/path', reason: /IP-literal \(IPv6 address\) is not allowed/u },
  { rule: 'trust domain non-ASCII', input: 'spiffe://tröst/path', reason: /trust domain characters are limited/u },
  { rule: 'trust domain too long', input: `spiffe://${'a'.repeat(256)}/path`, reason: /longer than 255 bytes/u },
  { rule: 'query', input: 'spiffe://trustdomain/path?query', reason: /query component is not allowed/u },
  { rule: 'query on trust domain', input: 'spiffe://trustdomain?x=1', reason: /query component is not allowed/u },
  { rule: 'fragment', input: 'spiffe://trustdomain/path#fragment', reason: /fragment component is not allowed/u },
  { rule: 'trailing slash on trust domain', input: 'spiffe://trustdomain/', reason: /trailing slash/u },
  { rule: 'trailing slash on path', input: 'spiffe://trustdomain/path/', reason: /trailing slash/u },
  { rule: 'empty segment', input: 'spiffe://trustdomain//', reason: /empty segments/u },
  { rule: 'empty leading segment', input: 'spiffe://trustdomain//path', reason: /empty segments/u },
  { rule: 'empty inner segment', input: 'spiffe://trustdomain/a//b', reason: /empty segments/u },
  { rule: 'dot segment', input: 'spiffe://trustdomain/.', reason: /dot segments/u },
  { rule: 'dot segment first', input: 'spiffe://trustdomain/./path', reason: /dot segments/u },
  { rule: 'dot segment inner', input: 'spiffe://trustdomain/path/./other', reason: /dot segments/u },
  { rule: 'dot-dot segment last', input: 'spiffe://trustdomain/path/..', reason: /dot segments/u },
  { rule: 'dot-dot segment alone', input: 'spiffe://trustdomain/..', reason: /dot segments/u },
  { rule: 'dot-dot segment first', input: 'spiffe://trustdomain/../path', reason: /dot segments/u },
  { rule: 'dot-dot segment inner', input: 'spiffe://trustdomain/path/../other', reason: /dot segments/u },
  { rule: 'path percent-encoding', input: 'spiffe://trustdomain/%62%61%64', reason: /percent-encoding is not allowed in the path/u },
  { rule: 'path dollar', input: 'spiffe://trustdomain/path$', reason: /path segment characters are limited/u },
  { rule: 'path space', input: 'spiffe://trustdomain/pa th', reason: /path segment characters are limited/u },
  { rule: 'path colon', input: 'spiffe://trustdomain/a:b', reason: /path segment characters are limited/u },
  { rule: 'path non-ASCII', input: 'spiffe://trustdomain/wörk', reason: /path segment characters are limited/u },
  { rule: 'longer than 2048 bytes', input: `spiffe://example.org/${'a'.repeat(2049 - 'spiffe://example.org/'.length)}`, reason: /longer than 2048 bytes/u },
];

describe('parseSpiffeId', () => {
  for (const id of VALID) {
    it(`accepts ${id.length > 60 ? `${id.slice(0, 40)}… (${id.length} bytes)` : id}`, () => {
      expect(parseSpiffeId(id).id).toBe(id);
    });
  }

  it('splits trust domain and path', () => {
    expect(parseSpiffeId('spiffe://example.org/ns/a')).toEqual({ id: 'spiffe://example.org/ns/a', trustDomain: 'example.org', path: '/ns/a' });
    expect(parseSpiffeId('spiffe://example.org')).toEqual({ id: 'spiffe://example.org', trustDomain: 'example.org', path: '' });
  });

  for (const c of INVALID) {
    it(`refuses ${c.rule}`, () => {
      try {
        parseSpiffeId(c.input);
        expect.unreachable(`accepted ${c.input}`);
      } catch (e) {
        expect(isCoreError(e, 'ERR_SPIFFE_ID_INVALID'), String(e)).toBe(true);
        expect((e as Error).message).toMatch(c.reason);
        expect((e as Error).message).toContain('is not a valid SPIFFE ID');
      }
    });
  }

  it('refuses every byte outside [a-z0-9._-] in the trust domain and outside [A-Za-z0-9._-] in the path', () => {
    for (let b = 0; b < 128; b++) {
      const ch = String.fromCharCode(b);
      const tdOk = /[a-z0-9._-]/u.test(ch);
      const pathOk = /[A-Za-z0-9._-]/u.test(ch);
      if (ch === '/') continue;
      let td = true;
      try {
        parseSpiffeId(`spiffe://tr${ch}ust/path`);
      } catch {
        td = false;
      }
      expect(td, `trust domain byte ${b}`).toBe(tdOk);
      let p = true;
      try {
        parseSpiffeId(`spiffe://trust/pa${ch}th`);
      } catch {
        p = false;
      }
      expect(p, `path byte ${b}`).toBe(pathOk);
    }
  });

  it('never normalises: the stored ID is the validated input', () => {
    expect(() => parseSpiffeId(' spiffe://example.org/a')).toThrow(/scheme/u);
    expect(() => parseSpiffeId('spiffe://example.org/a ')).toThrow(/path segment characters/u);
  });
});

describe('parseWorkloadSpiffeId', () => {
  it('requires a path and the trust domain', () => {
    expect(() => parseWorkloadSpiffeId('spiffe://example.org', 'example.org')).toThrow(/must have a path/u);
    expect(() => parseWorkloadSpiffeId('spiffe://other.org/w', 'example.org')).toThrow(/belongs to trust domain 'other.org', but this CA serves 'example.org'/u);
    expect(parseWorkloadSpiffeId('spiffe://example.org/w', 'example.org').path).toBe('/w');
  });
});

describe('identity kinds', () => {
  const td = 'example.org';
  it('classifies the reserved paths', () => {
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-ca/node/n1'))).toBe('node');
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-ca/admin/alice'))).toBe('admin');
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-ca/server'))).toBe('server');
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-ca'))).toBe('reserved');
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-ca/node/n1/x'))).toBe('reserved');
    expect(identityKind(parseSpiffeId('spiffe://example.org/neam-cax/w'))).toBe('workload');
    expect(identityKind(parseSpiffeId('spiffe://example.org/ns/default/sa/web'))).toBe('workload');
  });
  it('builds node and admin IDs from names', () => {
    expect(nodeSpiffeId(td, 'web-1').id).toBe('spiffe://example.org/neam-ca/node/web-1');
    expect(nodeSpiffeId(td, 'spiffe://example.org/neam-ca/node/web-1').id).toBe('spiffe://example.org/neam-ca/node/web-1');
    expect(() => nodeSpiffeId(td, 'spiffe://example.org/w')).toThrow(/node ID must have the form/u);
    expect(() => nodeSpiffeId(td, 'a/b')).toThrow(/node ID must have the form/u);
    expect(() => nodeSpiffeId(td, 'bad name')).toThrow(/path segment characters/u);
    expect(adminSpiffeId(td, 'alice').id).toBe('spiffe://example.org/neam-ca/admin/alice');
  });
  it('validates bare trust domains', () => {
    expect(parseTrustDomain('example.org')).toBe('example.org');
    expect(() => parseTrustDomain('Example.org')).toThrow(/lower-case/u);
    expect(() => parseTrustDomain('')).toThrow(/missing/u);
  });
});
