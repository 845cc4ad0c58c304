import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultProfile, DEFAULT_PROFILE_INPUTS, DEFAULT_PROFILE_NAMES } from '../../../core/pki/default-profiles.ts';
import { parseProfile, profileForTrustDomain, profileFromObject, profileSha256, validateProfile, type CertificateProfile } from '../../../core/pki/profile.ts';
import { caught } from './fixtures.ts';

const DOCS = join(import.meta.dirname, '../../../docs/profiles');

describe('profiles', () => {
  it('the built-in profiles are valid and carry the platform defaults', () => {
    for (const name of DEFAULT_PROFILE_NAMES) expect(defaultProfile(name).name).toBe(name);
    const root = defaultProfile('root');
    expect(root).toMatchObject({ role: 'root', subjectKey: ['rsa-4096'], signatureHash: 'SHA-256', validity: { duration: '10y' }, basicConstraints: { critical: true, ca: true, pathLen: 1 }, keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] } });
    expect(root.extKeyUsage).toBeUndefined();
    const int = defaultProfile('intermediate');
    expect(int).toMatchObject({ subjectKey: ['rsa-2048'], validity: { duration: '90d' }, basicConstraints: { pathLen: 0 }, keyUsage: { usages: ['keyCertSign', 'cRLSign'] }, nameConstraints: { critical: true, permittedUris: ['example.org'] }, authorityKeyIdentifier: true, subjectKeyIdentifier: true });
    expect(defaultProfile('intermediate-ecdsa').subjectKey).toEqual(['ec-p256']);
    expect(defaultProfile('workload-svid')).toMatchObject({ role: 'leaf', subjectKey: ['ec-p256'], validity: { duration: '24h' }, keyUsage: { usages: ['digitalSignature'] } });
    expect(defaultProfile('transfer')).toMatchObject({ role: 'self-signed', subjectKey: ['ec-p256'], validity: { duration: '2y' }, keyUsage: { critical: true, usages: ['digitalSignature'] } });
    expect(caught(() => defaultProfile('nope')).code).toBe('ERR_PKI_PROFILE_INVALID');
  });

  it('docs/profiles/*.yaml say exactly what the built-in profiles say', () => {
    for (const name of DEFAULT_PROFILE_NAMES) {
      const fromFile = parseProfile(readFileSync(join(DOCS, `${name}.yaml`), 'utf8'), `${name}.yaml`);
      expect(fromFile, name).toEqual(defaultProfile(name));
      expect(profileSha256(fromFile)).toBe(profileSha256(defaultProfile(name)));
    }
  });

  it('reads JSON as well as YAML', () => {
    expect(parseProfile(JSON.stringify(DEFAULT_PROFILE_INPUTS['root']))).toEqual(defaultProfile('root'));
  });

  // Validation table: each case is named by the violated field.
  const base = DEFAULT_PROFILE_INPUTS['intermediate'] as Record<string, unknown>;
  const cases: Array<{ field: string; change: (p: Record<string, unknown>) => void; path: string; message: RegExp }> = [
    { field: 'unknownTopLevel', change: (p) => (p['unknownTopLevel'] = 1), path: 'unknownTopLevel', message: /not a known field/u },
    { field: 'keyUsage.unknown', change: (p) => ((p['keyUsage'] as Record<string, unknown>)['extra'] = true), path: 'keyUsage.extra', message: /not a known field/u },
    { field: 'name', change: (p) => (p['name'] = 'Bad Name'), path: 'name', message: /lower-case letters/u },
    { field: 'kind', change: (p) => (p['kind'] = 'cert'), path: 'kind', message: /kind must be 'certificate' or 'crl'/u },
    { field: 'role', change: (p) => (p['role'] = 'ca'), path: 'role', message: /must be 'root', 'intermediate'/u },
    { field: 'subjectKey', change: (p) => (p['subjectKey'] = ['rsa-1024']), path: 'subjectKey.0', message: /must be one of rsa-2048/u },
    { field: 'subjectKey (empty)', change: (p) => (p['subjectKey'] = []), path: 'subjectKey', message: /at least one key type/u },
    { field: 'signatureHash', change: (p) => (p['signatureHash'] = 'SHA-1'), path: 'signatureHash', message: /SHA-256, SHA-384 or SHA-512/u },
    { field: 'serialBytes', change: (p) => (p['serialBytes'] = 4), path: 'serialBytes', message: /64 bits/u },
    { field: 'validity.duration', change: (p) => (p['validity'] = { duration: '90 days' }), path: 'validity.duration', message: /whole number and a unit/u },
    { field: 'trustDomain', change: (p) => (p['trustDomain'] = 'Example.ORG:443'), path: 'trustDomain', message: /SPIFFE trust domain/u },
    { field: 'keyUsage.usages', change: (p) => (p['keyUsage'] = { critical: true, usages: ['certSign'] }), path: 'keyUsage.usages.0', message: /must be one of digitalSignature/u },
    { field: 'keyUsage.usages (duplicate)', change: (p) => (p['keyUsage'] = { critical: true, usages: ['cRLSign', 'cRLSign'] }), path: 'keyUsage.usages', message: /twice/u },
    { field: 'basicConstraints.pathLen', change: (p) => (p['basicConstraints'] = { critical: true, ca: true, pathLen: -1 }), path: 'basicConstraints.pathLen', message: /./u },
    { field: 'subjectAltName.critical', change: (p) => (p['subjectAltName'] = { critical: 'yes' }), path: 'subjectAltName.critical', message: /true, false or 'if-subject-empty'/u },
    { field: 'nameConstraints.permittedUris', change: (p) => (p['nameConstraints'] = { critical: true, permittedUris: ['spiffe://example.org'] }), path: 'nameConstraints.permittedUris.0', message: /host/u },
    { field: 'crlDistributionPoints', change: (p) => (p['crlDistributionPoints'] = ['ftp://x/crl']), path: 'crlDistributionPoints.0', message: /http/u },
    { field: 'subject.country', change: (p) => (p['subject'] = { country: 'Germany' }), path: 'subject.country', message: /two-letter/u },
    { field: 'subject.commonName', change: (p) => (p['subject'] = { commonName: 'x'.repeat(65) }), path: 'subject.commonName', message: /at most 64/u },
  ];
  for (const c of cases) {
    it(`refuses a profile with an invalid ${c.field}`, () => {
      const p = structuredClone(base);
      c.change(p);
      const r = validateProfile(p);
      expect(r.ok).toBe(false);
      const problems = r.ok ? [] : r.problems;
      const hit = problems.find((x) => x.path === c.path && c.message.test(x.message));
      expect(hit, JSON.stringify(problems)).toBeDefined();
      expect(caught(() => profileFromObject(p, 'test')).code).toBe('ERR_PKI_PROFILE_INVALID');
    });
  }

  it('lists every problem at once, with YAML line numbers', () => {
    const yaml = ['name: x', 'kind: certificate', 'role: leaf', 'subjectKey: [ec-p256]', 'signatureHash: SHA-256', 'validity: { duration: 1d }', 'subjectKeyIdentifier: true', 'authorityKeyIdentifier: yes please', 'colour: blue', 'keyUsage:', '  critical: true', '  usages: [digitalSignature]', '  wat: 1'].join('\n');
    const e = caught(() => parseProfile(yaml, 'p.yaml'));
    expect(e.code).toBe('ERR_PKI_PROFILE_INVALID');
    const problems = (e.details?.['problems'] ?? []) as Array<{ path: string; line?: number }>;
    expect(problems.map((p) => [p.path, p.line])).toEqual(
      expect.arrayContaining([
        ['authorityKeyIdentifier', 8],
        ['colour', 9],
        ['keyUsage.wat', 13],
      ]),
    );
    expect(e.message).toContain('p.yaml');
    expect(e.message).toMatch(/colour \(line 9\): is not a known field/u);
  });

  it('refuses duplicate keys and YAML aliases', () => {
    const dup = caught(() => parseProfile('name: a\nname: b\n'));
    expect(dup.code).toBe('ERR_PKI_PROFILE_INVALID');
    expect(dup.message).toMatch(/unique|duplicate/iu);
    const alias = caught(() => parseProfile('a: &x [1]\nb: *x\n'));
    expect(alias.code).toBe('ERR_PKI_PROFILE_INVALID');
  });

  it('refuses an oversized profile', () => {
    expect(caught(() => parseProfile(`# ${'x'.repeat(70_000)}\n`)).code).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('profileForTrustDomain rewrites the trust domain, its SAN and its name constraint', () => {
    const p = profileForTrustDomain(defaultProfile('intermediate'), 'prod.acme.test');
    expect(p.trustDomain).toBe('prod.acme.test');
    expect(p.subjectAltName?.uris).toEqual(['spiffe://prod.acme.test']);
    expect(p.nameConstraints?.permittedUris).toEqual(['prod.acme.test']);
    expect(profileSha256(p)).not.toBe(profileSha256(defaultProfile('intermediate')));
    expect(caught(() => profileForTrustDomain(defaultProfile('intermediate') as CertificateProfile, 'BAD TD')).code).toBe('ERR_PKI_PROFILE_INVALID');
  });
});
