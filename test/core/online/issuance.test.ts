import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { softwareSigner } from '../../../core/crypto/signer.ts';
import { issuerProfile, readCaCertificate, signAlgorithmFor } from '../../../core/online/ca-cert.ts';
import { buildCsr, issuerFromCertificate, keyIdentifier, parseCertificate, PEM_LABEL, toPem } from '../../../core/pki/index.ts';
import { lintSvid, selfCheckTemplate } from '../../../core/online/svid-lint.ts';
import { issueSvid, NOT_BEFORE_CUSHION_MS } from '../../../core/online/issuance.ts';
import { certificatePem, compileTemplate, type SvidTemplate } from '../../../core/online/svid-template.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { createTestRoot, makeCsr, pemToDer, signIntermediate, type TestRoot } from './fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TD = 'example.org';

interface Intermediate {
  key: KeyObject;
  pem: string;
  template: SvidTemplate;
}

function makeIntermediate(root: TestRoot, alg: 'ec-p256' | 'rsa-2048' | 'ec-p384', window: { startMs: number; endMs: number }, extensions = 'v3_int'): Intermediate {
  const key = alg === 'rsa-2048' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : generateKeyPairSync('ec', { namedCurve: alg === 'ec-p256' ? 'prime256v1' : 'secp384r1' }).privateKey;
  const csr = buildCsr({ subject: { organization: TD, commonName: 'NEAM CA online intermediate test' }, signer: softwareSigner(key, signAlgorithmFor(alg)) }).der;
  // An independent implementation accepts our intermediate CSR.
  expect(runOk('openssl', ['req', '-verify', '-noout'], { input: toPem(PEM_LABEL.csr, csr) }) + '').toBeDefined();
  const pem = signIntermediate(root, toPem(PEM_LABEL.csr, csr), window, extensions);
  const info = readCaCertificate(pemToDer(pem));
  return { key, pem, template: compileTemplate(issuerProfile('int1', info, { ocspUrl: 'http://ca.example.org:8080/ocsp', crlUrl: 'http://ca.example.org:8080/crl/int1.crl' })) };
}

describe('SVID issuance fast path', () => {
  const tmp = tempDir('neam-issuance-');
  let root: TestRoot;
  const now = Date.now();
  let ec: Intermediate;
  let rsa: Intermediate;

  beforeAll(() => {
    root = createTestRoot(join(tmp.dir, 'root'));
    ec = makeIntermediate(root, 'ec-p256', { startMs: now - HOUR, endMs: now + 90 * DAY });
    rsa = makeIntermediate(root, 'rsa-2048', { startMs: now - HOUR, endMs: now + 90 * DAY });
  });
  afterAll(() => tmp.cleanup());

  function verify(leafPem: string, intPem: string, purpose: string): { status: number | null; out: string } {
    const dir = tempDir('neam-verify-');
    try {
      writeFileSync(join(dir.dir, 'leaf.pem'), leafPem);
      writeFileSync(join(dir.dir, 'int.pem'), intPem);
      const r = run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', root.certPath, '-untrusted', join(dir.dir, 'int.pem'), join(dir.dir, 'leaf.pem')]);
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    } finally {
      dir.cleanup();
    }
  }

  for (const alg of ['ec-p256', 'rsa-2048'] as const) {
    it(`issues an X509-SVID that openssl verify -x509_strict accepts for sslclient and sslserver (${alg} intermediate)`, async () => {
      const int = alg === 'ec-p256' ? ec : rsa;
      const csr = makeCsr({ uris: ['spiffe://example.org/ns/default/sa/web'], dnsNames: ['web.default.svc'] });
      const svid = await issueSvid(int.template, int.key, { csrPem: csr.pem, spiffeId: 'spiffe://example.org/ns/default/sa/web', dnsNames: ['web.default.svc'], ttlSeconds: 86_400, nowMs: now });
      const leafPem = certificatePem(svid.der);
      for (const purpose of ['sslclient', 'sslserver']) {
        const r = verify(leafPem, int.pem, purpose);
        expect(r.out, r.out).toMatch(/leaf\.pem: OK/u);
        expect(r.status).toBe(0);
      }
      // GnuTLS as a second verifier of the whole chain.
      const dir = tempDir('neam-certtool-');
      try {
        writeFileSync(join(dir.dir, 'chain.pem'), leafPem + int.pem + root.pem);
        const ct = run('certtool', ['--verify-chain', '--infile', join(dir.dir, 'chain.pem')]);
        expect(`${ct.stdout}${ct.stderr}`).toMatch(/Chain verification output: Verified/u);
      } finally {
        dir.cleanup();
      }
    });
  }

  it('follows the X509-SVID profile exactly', async () => {
    const csr = makeCsr();
    const svid = await issueSvid(ec.template, ec.key, { csrPem: csr.pem, spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 86_400, nowMs: now });
    const cert = new x509.X509Certificate(svid.der);
    expect(cert.subject).toBe('');
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.critical).toBe(true);
    expect(san?.names.items.map((n) => `${n.type}:${n.value}`)).toEqual(['url:spiffe://example.org/w']);
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(false);
    expect(bc?.critical).toBe(true);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.critical).toBe(true);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const intCert = new x509.X509Certificate(ec.pem);
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(intCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    // RFC 7093 method 1, as core/pki computes key identifiers.
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toBe(keyIdentifier(cert.publicKey.rawData.byteLength === 91 ? Buffer.from(cert.publicKey.rawData) : Buffer.alloc(0)));
    expect(cert.publicKey.rawData.byteLength).toBe(91);
    // Serial: core/pki's form, 0x01 then 16 random octets (≥ 64 random bits).
    expect(svid.serialHex).toMatch(/^01[0-9a-f]{32}$/u);
    expect(new X509Certificate(svid.der).serialNumber.toLowerCase()).toBe(svid.serialHex);
    // Validity: backdated by the cushion, 24 h of life.
    expect(svid.notBeforeMs).toBe(Math.floor((now - NOT_BEFORE_CUSHION_MS) / 1000) * 1000);
    expect(svid.notAfterMs).toBe(Math.floor((now + DAY) / 1000) * 1000);
    const text = runOk('openssl', ['x509', '-noout', '-text'], { input: certificatePem(svid.der) });
    expect(text).toMatch(/OCSP - URI:http:\/\/ca\.example\.org:8080\/ocsp/u);
    expect(text).toMatch(/URI:http:\/\/ca\.example\.org:8080\/crl\/int1\.crl/u);
  });

  it('serials differ and carry 128 random bits', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const svid = await issueSvid(ec.template, ec.key, { csrPem: makeCsr().pem, spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 3600, nowMs: now });
      seen.add(svid.serialHex);
    }
    expect(seen.size).toBe(50);
  });

  it('caps the lifetime at the intermediate notAfter', async () => {
    const short = makeIntermediate(root, 'ec-p256', { startMs: now - HOUR, endMs: now + 2 * HOUR });
    const svid = await issueSvid(short.template, short.key, { csrPem: makeCsr().pem, spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 86_400, nowMs: now });
    expect(svid.notAfterMs).toBe(short.template.issuer.notAfterMs);
    const r = verify(certificatePem(svid.der), short.pem, 'sslclient');
    expect(r.out).toMatch(/OK/u);
  });

  it('refuses to issue outside the intermediate validity', async () => {
    await expect(issueSvid(ec.template, ec.key, { csrPem: makeCsr().pem, spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 3600, nowMs: now + 91 * DAY })).rejects.toMatchObject({ code: 'ERR_ONLINE_NO_ACTIVE_INTERMEDIATE' });
  });

  it('a leaf outside the trust domain is rejected by OpenSSL because of the name constraint', async () => {
    const svid = await issueSvid(ec.template, ec.key, { csrPem: makeCsr().pem, spiffeId: 'spiffe://other.org/w', dnsNames: [], ttlSeconds: 3600, nowMs: now });
    const r = verify(certificatePem(svid.der), ec.pem, 'sslclient');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/permitted subtree violation/u);
  });

  it('issues with a P-384 workload key and a P-384 intermediate', async () => {
    const p384 = makeIntermediate(root, 'ec-p384', { startMs: now - HOUR, endMs: now + 30 * DAY });
    const svid = await issueSvid(p384.template, p384.key, { csrPem: makeCsr({ curve: 'P-384', hash: 'sha384' }).pem, spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 3600, nowMs: now });
    expect(verify(certificatePem(svid.der), p384.pem, 'sslserver').out).toMatch(/leaf\.pem: OK/u);
  });
});

describe('the fast path agrees with the PKI engine', () => {
  const tmp = tempDir('neam-issuance-lint-');
  afterAll(() => tmp.cleanup());
  it('issued SVIDs pass core/pki lint for the workload-svid profile', async () => {
    const root = createTestRoot(join(tmp.dir, 'root'));
    const now = Date.now();
    const int = makeIntermediate(root, 'ec-p256', { startMs: now - HOUR, endMs: now + 90 * DAY });
    const svid = await issueSvid(int.template, int.key, { csrPem: makeCsr({ uris: ['spiffe://example.org/ns/a/sa/b'], dnsNames: ['b.a.svc'] }).pem, spiffeId: 'spiffe://example.org/ns/a/sa/b', dnsNames: ['b.a.svc'], ttlSeconds: 86_400, nowMs: now });
    const cert = parseCertificate(svid.der);
    expect(lintSvid(cert.tbsDer, issuerFromCertificate(parseCertificate(int.pem)), int.template, TD, { spiffeId: 'spiffe://example.org/ns/a/sa/b', dnsNames: ['b.a.svc'] }, now)).toEqual([]);
    // The self-check every template runs before it issues, and a lint that can fail: a
    // certificate for another trust domain is refused by the same linter.
    expect(() => selfCheckTemplate(int.template, issuerFromCertificate(parseCertificate(int.pem)), TD, now)).not.toThrow();
    const other = await issueSvid(int.template, int.key, { csrPem: makeCsr().pem, spiffeId: 'spiffe://other.org/x', dnsNames: [], ttlSeconds: 86_400, nowMs: now });
    const problems = lintSvid(parseCertificate(other.der).tbsDer, issuerFromCertificate(parseCertificate(int.pem)), int.template, TD, { spiffeId: 'spiffe://other.org/x', dnsNames: [] }, now);
    expect(problems.length).toBeGreaterThan(0);
  });
});
