import { describe, expect, it } from 'vitest';

import {
  addDuration,
  buildTbsCertificate,
  buildTbsCertList,
  defaultProfile,
  encodeName,
  issuerFromCertificate,
  lintTbsCertificate,
  lintTbsCertList,
  newSerial,
  profileExtensions,
  profileFromObject,
  DEFAULT_PROFILE_INPUTS,
  type CertificateProfile,
  type CrlProfile,
  type ExtensionSpec,
  type IssuerInfo,
  type LintProblem,
  type RevokedEntry,
  type SubjectSpec,
} from '../../../core/pki/index.ts';
import type { Signer } from '../../../core/crypto/signer.ts';
import { profileWith, rnd, softHierarchy, softKey } from './fixtures.ts';
import { generateKeyPairSync } from 'node:crypto';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const { root, intermediate } = softHierarchy(NOW);
const rootIssuer = issuerFromCertificate(root.cert);
const intIssuer = issuerFromCertificate(intermediate.cert);
const leafKey = softKey('ec-p256');
const intKey = softKey('rsa-2048');

interface Case {
  /** Rule (or field) the case violates; also the test name. */
  rule: string;
  profile: CertificateProfile;
  /** Lint against this profile instead (conformance cases). */
  lintProfile?: CertificateProfile;
  issuer: IssuerInfo | 'self';
  /** Lint against this issuer instead (the TBS is built with `issuer`). */
  lintIssuer?: IssuerInfo;
  signer: Signer;
  subjectKey?: Buffer;
  subject?: SubjectSpec;
  serial?: string;
  notBefore?: Date;
  notAfter?: Date;
  sans?: { uris?: string[]; dnsNames?: string[] };
  extraExtensions?: ExtensionSpec[];
  patch?: (tbs: Buffer) => Buffer;
  /** Lint for a signature at this time (signing-time rules). */
  signingTime?: Date;
}

function lintCase(c: Case): LintProblem[] {
  const subject = c.subject ?? c.profile.subject;
  const subjectDer = encodeName(subject);
  const spki = c.subjectKey ?? (c.issuer === 'self' ? c.signer.spki : c.profile.subjectKey[0]?.startsWith('ec') === true ? leafKey.signer.spki : intKey.signer.spki);
  const notBefore = c.notBefore ?? NOW;
  let tbs = buildTbsCertificate({
    serial: c.serial ?? newSerial(rnd, c.profile.serialBytes),
    signatureAlgorithm: c.signer.algorithm,
    issuerName: c.issuer === 'self' ? subjectDer : c.issuer.subjectDer,
    subjectName: subjectDer,
    notBefore,
    notAfter: c.notAfter ?? addDuration(notBefore, c.profile.validity.duration),
    spki,
    extensions: [
      ...profileExtensions(c.profile, { spki, subjectEmpty: Object.keys(subject).length === 0, ...(c.issuer === 'self' ? {} : { issuerKeyIdentifier: c.issuer.keyIdentifier }), ...(c.sans === undefined ? {} : { sans: c.sans }) }),
      ...(c.extraExtensions ?? []),
    ],
  });
  if (c.patch !== undefined) tbs = c.patch(tbs);
  return lintTbsCertificate(tbs, { profile: c.lintProfile ?? c.profile, issuer: c.lintIssuer ?? c.issuer, now: NOW, ...(c.sans === undefined ? {} : { expected: { sans: c.sans } }), ...(c.signingTime === undefined ? {} : { signingTime: c.signingTime }) });
}

const svid = (o: Record<string, unknown> = {}): CertificateProfile => profileWith('workload-svid', o);
const int = (o: Record<string, unknown> = {}): CertificateProfile => profileWith('intermediate', o);
const rootP = (o: Record<string, unknown> = {}): CertificateProfile => profileWith('root', { subjectKey: ['rsa-2048'], ...o });
const SPIFFE = { uris: ['spiffe://example.org/ns/prod/sa/web'] };
const leafCase = (o: Partial<Case>): Case => ({ rule: '', profile: svid(), issuer: intIssuer, signer: intermediate.signer, sans: SPIFFE, ...o });
const intCase = (o: Partial<Case>): Case => ({ rule: '', profile: int(), issuer: rootIssuer, signer: root.signer, ...o });

describe('lintTbsCertificate', () => {
  it('passes the default profiles as built (root, intermediate RSA and ECDSA, SVID, transfer)', () => {
    expect(lintCase({ rule: '', profile: rootP(), issuer: 'self', signer: root.signer })).toEqual([]);
    expect(lintCase(intCase({}))).toEqual([]);
    expect(lintCase(intCase({ profile: profileWith('intermediate-ecdsa', {}) }))).toEqual([]);
    expect(lintCase(leafCase({}))).toEqual([]);
    const t = softKey('ec-p256');
    expect(lintCase({ rule: '', profile: defaultProfile('transfer'), issuer: 'self', signer: t.signer })).toEqual([]);
  });

  // Each case is named by the rule it must trigger.
  const cases: Case[] = [
    leafCase({ rule: 'rfc5280.keycertsign-requires-ca', profile: svid({ keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign'] } }) }),
    leafCase({ rule: 'x509svid.leaf-no-cert-or-crl-sign', profile: svid({ keyUsage: { critical: true, usages: ['digitalSignature', 'cRLSign'] } }) }),
    intCase({ rule: 'rfc5280.ca-basic-constraints-critical', profile: int({ basicConstraints: { critical: false, ca: true, pathLen: 0 } }) }),
    intCase({ rule: 'rfc5280.ca-requires-keycertsign', profile: int({ keyUsage: { critical: true, usages: ['cRLSign'] } }) }),
    intCase({ rule: 'neam.ca-key-usage-critical', profile: int({ keyUsage: { critical: false, usages: ['keyCertSign', 'cRLSign'] } }) }),
    intCase({ rule: 'neam.intermediate-trust-domain-constraint', profile: int({ nameConstraints: undefined }) }),
    intCase({ rule: 'rfc5280.name-constraints-critical', profile: int({ nameConstraints: { critical: false, permittedUris: ['example.org'] } }) }),
    intCase({ rule: 'x509svid.signing-no-digital-signature', profile: int({ keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign', 'cRLSign'] } }) }),
    intCase({ rule: 'rfc5280.ca-ski', profile: int({ subjectKeyIdentifier: false }) }),
    intCase({ rule: 'rfc5280.aki-required', profile: int({ authorityKeyIdentifier: false }) }),
    intCase({ rule: 'rfc5280.pathlen-within-issuer', profile: int({ basicConstraints: { critical: true, ca: true, pathLen: 1 } }) }),
    intCase({ rule: 'rfc5280.pathlen-within-issuer', issuer: intIssuer, signer: intermediate.signer, profile: profileWith('intermediate-ecdsa', { signatureHash: 'SHA-256' }) }),
    intCase({ rule: 'neam.validity-within-issuer', profile: int({ validity: { duration: '20y' } }) }),
    intCase({ rule: 'profile.validity-duration', notAfter: addDuration(NOW, '91d') }),
    intCase({ rule: 'neam.not-expired', notBefore: new Date(NOW.getTime() - 100 * 86_400_000), notAfter: new Date(NOW.getTime() - 10 * 86_400_000), profile: int({ validity: { duration: '90d' } }), issuer: { ...rootIssuer, notBefore: new Date(0) } }),
    intCase({ rule: 'neam.backdated', notBefore: new Date(NOW.getTime() - 30 * 86_400_000), issuer: { ...rootIssuer, notBefore: new Date(0) } }),
    intCase({ rule: 'neam.subject-differs-from-issuer', subject: { organization: 'NEAM CA', commonName: 'NEAM Root CA' } }),
    intCase({ rule: 'rfc5280.ca-subject', subject: {}, profile: int({ subject: {} }) }),
    intCase({ rule: 'profile.signature-hash', lintProfile: int({ signatureHash: 'SHA-384' }) }),
    intCase({ rule: 'profile.key-usage', lintProfile: int({ keyUsage: { critical: true, usages: ['keyCertSign'] } }) }),
    intCase({ rule: 'profile.criticality', lintProfile: int({ basicConstraints: { critical: false, ca: true, pathLen: 0 } }) }),
    intCase({ rule: 'profile.name-constraints', lintProfile: int({ nameConstraints: { critical: true, permittedUris: ['other.org'] } }) }),
    intCase({ rule: 'profile.subject-key', lintProfile: int({ subjectKey: ['rsa-4096'] }) }),
    intCase({ rule: 'profile.unexpected-extension', extraExtensions: [{ oid: '2.5.29.32', critical: false, value: Buffer.from('3000', 'hex') }] }),
    intCase({ rule: 'der.decode', extraExtensions: [{ oid: '2.5.29.15', critical: true, value: Buffer.from('03020106', 'hex') }] }),
    intCase({ rule: 'profile.serial-size', serial: '01020304' }),
    intCase({ rule: 'neam.serial-entropy', serial: '01020304' }),
    intCase({ rule: 'rfc5280.serial-positive', patch: (tbs) => Buffer.from(tbs.toString('hex').replace(/^(30820[0-9a-f]{3}a003020102021101)/u, (m) => `${m.slice(0, -2)}81`), 'hex') }),
    intCase({ rule: 'neam.key-strength', subjectKey: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }) }),
    intCase({ rule: 'rfc5280.issuer-name', lintIssuer: { ...rootIssuer, subjectDer: encodeName({ commonName: 'Someone Else' }), subject: 'CN=Someone Else' } }),
    intCase({ rule: 'rfc5280.aki-matches-issuer', lintIssuer: { ...rootIssuer, keyIdentifier: '00'.repeat(20) } }),
    intCase({ rule: 'rfc5280.issuer-is-ca', lintIssuer: { ...rootIssuer, ca: false } }),
    intCase({ rule: 'rfc5280.signature-fits-issuer-key', lintIssuer: { ...rootIssuer, spki: leafKey.signer.spki } }),
    leafCase({ rule: 'rfc5280.pathlen-requires-ca', profile: svid({ basicConstraints: { critical: true, ca: false, pathLen: 0 } }) }),
    leafCase({ rule: 'rfc5280.name-constraints-ca-only', profile: svid({ nameConstraints: { critical: true, permittedUris: ['example.org'] } }) }),
    leafCase({ rule: 'rfc8813.ec-no-encipherment', profile: svid({ keyUsage: { critical: true, usages: ['digitalSignature', 'keyEncipherment'] } }) }),
    leafCase({ rule: 'rfc5280.empty-subject-san-critical', profile: svid({ subjectAltName: { critical: false, requested: { uris: 1 }, spiffe: true } }) }),
    leafCase({ rule: 'x509svid.one-uri-san', profile: svid({ subjectAltName: { critical: true, requested: { uris: 2 }, spiffe: true } }), sans: { uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] } }),
    leafCase({ rule: 'x509svid.spiffe-id', sans: { uris: ['spiffe://example.org/a/../b'] } }),
    leafCase({ rule: 'x509svid.spiffe-id', sans: { uris: ['spiffe://example.org'] } }),
    leafCase({ rule: 'rfc5280.name-constraints', sans: { uris: ['spiffe://other.org/ns/x'] } }),
    leafCase({ rule: 'profile.subject-alt-name-count', profile: svid({ subjectAltName: { critical: 'if-subject-empty', requested: { uris: 1, dnsNames: 0 }, spiffe: true } }), sans: { uris: ['spiffe://example.org/a'], dnsNames: ['a.example.org'] } }),
    leafCase({ rule: 'x509svid.leaf-digital-signature', profile: svid({ keyUsage: { critical: true, usages: ['keyAgreement'] } }) }),
    leafCase({ rule: 'neam.role-not-ca', profile: svid({ basicConstraints: { critical: true, ca: true } }) }),
    { rule: 'neam.root-no-eku', profile: rootP({ extKeyUsage: { critical: false, usages: ['serverAuth'] } }), issuer: 'self', signer: root.signer },
    { rule: 'neam.role-ca', profile: rootP({ basicConstraints: { critical: true, ca: false } }), issuer: 'self', signer: root.signer },
    // Signing-time rules: a preparation time after signing, or too long before it.
    intCase({ rule: 'neam.prepared-after-signing', signingTime: new Date(NOW.getTime() - 3_600_000) }),
    intCase({ rule: 'neam.prepared-too-long-ago', signingTime: new Date(NOW.getTime() + 8 * 86_400_000) }),
    leafCase({ rule: 'neam.not-expired', signingTime: new Date(NOW.getTime() + 25 * 3_600_000) }),
    // The root signs intermediate CA certificates and CRLs, nothing else (design §2).
    leafCase({ rule: 'neam.root-issues-only-intermediates', issuer: rootIssuer, signer: root.signer }),
    { rule: 'neam.root-issues-only-intermediates', profile: profileWith('transfer', {}), issuer: rootIssuer, signer: root.signer, subjectKey: leafKey.signer.spki },
  ];
  for (const c of cases) {
    it(`refuses what breaks ${c.rule}${c.lintProfile === undefined ? '' : ' (profile conformance)'}`, () => {
      const problems = lintCase(c);
      expect(problems.map((p) => p.rule), JSON.stringify(problems, null, 1)).toContain(c.rule);
      for (const p of problems) expect(p.message.length).toBeGreaterThan(10);
    });
  }

  it('an issuer that is not self-issued may issue leaves; a self-issued root may not (neam.root-issues-only-intermediates)', () => {
    expect(rootIssuer.selfIssued).toBe(true);
    expect(intIssuer.selfIssued).toBe(false);
    expect(lintCase(leafCase({})).map((p) => p.rule)).not.toContain('neam.root-issues-only-intermediates');
    expect(lintCase(intCase({})).map((p) => p.rule)).not.toContain('neam.root-issues-only-intermediates');
    const byRoot = lintCase(leafCase({ issuer: rootIssuer, signer: root.signer }));
    const problem = byRoot.find((p) => p.rule === 'neam.root-issues-only-intermediates');
    expect(problem?.message).toMatch(/the root signs only intermediate CA certificates and CRLs; this is a leaf \(not a CA\) certificate/u);
  });

  it('returns every problem of a broken certificate, not just the first', () => {
    const problems = lintCase(leafCase({ profile: svid({ keyUsage: { critical: false, usages: ['keyCertSign', 'keyEncipherment'] }, nameConstraints: { critical: false, permittedUris: ['example.org'] } }) }));
    expect(new Set(problems.map((p) => p.rule))).toEqual(
      new Set(['rfc5280.keycertsign-requires-ca', 'rfc8813.ec-no-encipherment', 'rfc5280.name-constraints-ca-only', 'rfc5280.name-constraints-critical', 'x509svid.leaf-no-cert-or-crl-sign', 'x509svid.leaf-digital-signature', 'x509svid.key-usage-critical']),
    );
  });
});

describe('lintTbsCertList', () => {
  const crlProfile = defaultProfile('crl-root');
  const caSerial = root.cert.serial === intermediate.cert.serial ? 'x' : intermediate.cert.serial;
  const crl = (o: { profile?: CrlProfile; issuer?: IssuerInfo; thisUpdate?: Date; nextUpdate?: Date; revoked?: RevokedEntry[]; crlNumber?: bigint; aki?: boolean; idp?: boolean; previous?: bigint; isCa?: boolean; sign?: Signer } = {}): LintProblem[] => {
    const issuer = o.issuer ?? rootIssuer;
    const thisUpdate = o.thisUpdate ?? NOW;
    const tbs = buildTbsCertList({
      signatureAlgorithm: (o.sign ?? root.signer).algorithm,
      issuerName: issuer.subjectDer,
      thisUpdate,
      nextUpdate: o.nextUpdate ?? addDuration(thisUpdate, '365d'),
      revoked: o.revoked ?? [{ serial: caSerial, revocationDate: thisUpdate, reason: 'keyCompromise' }],
      crlNumber: o.crlNumber ?? 5n,
      ...(o.aki === false ? {} : { authorityKeyIdentifier: issuer.keyIdentifier }),
      ...(o.idp === true ? { issuingDistributionPoint: { uris: [], onlyContainsCACerts: true, onlyContainsUserCerts: false } } : {}),
    });
    return lintTbsCertList(tbs, { profile: o.profile ?? crlProfile, issuer, now: NOW, previousCrlNumber: o.previous ?? 4n, entryIsCa: () => o.isCa ?? true });
  };

  it('passes a root CRL built from the default profile', () => {
    expect(crl()).toEqual([]);
  });

  const cases: Array<{ rule: string; run: () => LintProblem[] }> = [
    { rule: 'neam.crl-number-monotonic', run: () => crl({ crlNumber: 4n }) },
    { rule: 'rfc5280.crl-aki', run: () => crl({ aki: false }) },
    { rule: 'profile.crl-validity', run: () => crl({ nextUpdate: addDuration(NOW, '400d') }) },
    { rule: 'neam.crl-ca-only', run: () => crl({ isCa: false }) },
    { rule: 'rfc5280.crl-reason', run: () => crl({ revoked: [{ serial: caSerial, revocationDate: NOW, reason: 'certificateHold' }] }) },
    { rule: 'neam.crl-entry-date', run: () => crl({ revoked: [{ serial: caSerial, revocationDate: addDuration(NOW, '1d'), reason: 'superseded' }] }) },
    { rule: 'rfc5280.crl-issuer-crlsign', run: () => crl({ issuer: { ...rootIssuer, keyUsage: ['keyCertSign'] } }) },
    { rule: 'neam.crl-within-issuer', run: () => crl({ issuer: { ...rootIssuer, notAfter: addDuration(NOW, '30d') } }) },
    { rule: 'profile.unexpected-extension', run: () => crl({ idp: true }) },
    { rule: 'neam.crl-this-update-future', run: () => crl({ thisUpdate: addDuration(NOW, '1d') }) },
    { rule: 'profile.signature-hash', run: () => crl({ profile: profileFromObject({ ...DEFAULT_PROFILE_INPUTS['crl-root'], signatureHash: 'SHA-512' }) as CrlProfile }) },
  ];
  for (const c of cases) {
    it(`refuses a CRL that breaks ${c.rule}`, () => {
      const problems = c.run();
      expect(problems.map((p) => p.rule), JSON.stringify(problems, null, 1)).toContain(c.rule);
    });
  }
});
