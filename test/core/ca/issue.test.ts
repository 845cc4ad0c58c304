import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { prepareCertificate, prepareIntermediate, prepareRoot, prepareSelfSigned, signPrepared } from '../../../core/ca/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import {
  addDuration,
  assembleCertificate,
  buildTbsCertificate,
  defaultProfile,
  encodeName,
  issuerFromCertificate,
  newSerial,
  parseCertificate,
  profileExtensions,
  toPem,
} from '../../../core/pki/index.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { caught } from '../pki/fixtures.ts';
import { createCa, hsmCsr, hsmKey, makeRoot, type CaFixture } from './helpers.ts';

const CEREMONY = { id: 'test-ceremony', step: 'sign', rehearsal: true };

describe('root and intermediate issuance on SoftHSM, checked by OpenSSL and GnuTLS', () => {
  let ca: CaFixture | undefined;
  afterEach(() => {
    ca?.close();
    ca = undefined;
  });

  it('issues the default RSA-4096 root, an RSA-2048 intermediate and SVIDs; OpenSSL and certtool accept them, and a leaf outside the trust domain is refused by the name constraint', () => {
    ca = createCa();
    const now = new Date();
    // Root: RSA-4096 generated inside the token, the real default profile.
    const rootKey = hsmKey(ca, { type: 'RSA', bits: 4096 }, 'root');
    const before = ca.fx.hsm.stats.signatures;
    const preparedRoot = prepareRoot({ profile: defaultProfile('root'), spki: rootKey.spki, now, random: ca.random, store: ca.store });
    expect(ca.fx.hsm.stats.signatures).toBe(before); // prepare never touches the key
    expect(preparedRoot.tbsSha256).toMatch(/^[0-9a-f]{64}$/u);
    expect(preparedRoot.summary).toMatchObject({ publicKey: 'RSA-4096', signatureAlgorithm: 'sha256WithRSAEncryption', basicConstraints: 'critical, CA:TRUE, pathLen:1', keyUsage: 'critical, keyCertSign, cRLSign', validity: expect.stringMatching(/^365[23] days$/u) });
    const root = signPrepared(preparedRoot, rootKey.signer(preparedRoot.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    expect(ca.fx.hsm.stats.signatures).toBe(before + 1);
    expect(root.info.tbsSha256).toBe(preparedRoot.tbsSha256);
    const rootPem = ca.file('root.pem', root.pem);
    expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', rootPem, rootPem]).trim()).toBe(`${rootPem}: OK`);
    const rootText = runOk('openssl', ['x509', '-in', rootPem, '-noout', '-text']);
    expect(rootText).toContain('Public-Key: (4096 bit)');
    expect(rootText).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/u);
    expect(rootText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/u);
    expect(rootText).not.toContain('Extended Key Usage');

    // Intermediate: RSA-2048 key in the HSM of the online side, CSR built with it.
    const csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'int-1');
    const preparedInt = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.der, now, random: ca.random, store: ca.store, subject: { commonName: 'NEAM Intermediate CA 1' } });
    const int = signPrepared(preparedInt, rootKey.signer(preparedInt.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: preparedInt.tbsSha256 });
    const intPem = ca.file('int.pem', int.pem);
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', rootPem, intPem]).trim()).toBe(`${intPem}: OK`);
    const intText = runOk('openssl', ['x509', '-in', intPem, '-noout', '-text']);
    expect(intText).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/u);
    expect(intText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/u);
    expect(intText).toMatch(/Name Constraints: critical\s+Permitted:\s+URI:example\.org/u);
    expect(intText).toMatch(/Authority Key Identifier:\s+[0-9A-F:]+/u);
    expect(int.info.notAfter.getTime() - int.info.notBefore.getTime()).toBe(90 * 86_400_000);
    const chain = ca.file('chain.pem', `${int.pem}${root.pem}`);
    expect(runOk('certtool', ['--verify-chain', '--infile', chain])).toMatch(/Chain verification output: Verified\. The certificate is trusted\./u);
    expect(runOk('certtool', ['--verify', '--load-ca-certificate', rootPem, '--infile', intPem])).toMatch(/Verified/u);

    // A workload SVID signed by the intermediate's HSM key, for a SPIFFE ID inside the trust domain.
    const workload = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const workloadSpki = workload.publicKey.export({ type: 'spki', format: 'der' });
    const svid = prepareCertificate({ profile: defaultProfile('workload-svid'), spki: workloadSpki, issuerCertificate: int.der, sans: { uris: ['spiffe://example.org/ns/prod/sa/web'] }, now, random: ca.random, store: ca.store });
    const leaf = signPrepared(svid, csr.key.signer(svid.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const leafPem = ca.file('leaf.pem', leaf.pem);
    for (const purpose of ['sslclient', 'sslserver']) {
      expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', rootPem, '-untrusted', intPem, leafPem]).trim()).toBe(`${leafPem}: OK`);
    }
    expect(runOk('certtool', ['--verify-chain', '--infile', ca.file('leaf-chain.pem', `${leaf.pem}${int.pem}${root.pem}`)])).toMatch(/Chain verification output: Verified/u);

    // Outside the trust domain: our linter refuses it before the HSM is called…
    const sigs = ca.fx.hsm.stats.signatures;
    const c = ca;
    const bad = caught(() => prepareCertificate({ profile: defaultProfile('workload-svid'), spki: workloadSpki, issuerCertificate: int.der, sans: { uris: ['spiffe://other.org/ns/prod/sa/web'] }, now, random: c.random, store: c.store }));
    expect(bad.code).toBe('ERR_PKI_LINT_FAILED');
    expect(bad.message).toMatch(/\[rfc5280\.name-constraints\].*outside the issuer's permitted subtrees \(example\.org\)/u);
    expect(ca.fx.hsm.stats.signatures).toBe(sigs);
    // …and were it signed anyway (bypassing the CA layer), OpenSSL refuses it because of the constraint.
    const issuer = issuerFromCertificate(int.info);
    const profile = defaultProfile('workload-svid');
    const tbs = buildTbsCertificate({
      serial: newSerial(ca.random),
      signatureAlgorithm: 'RSA-PKCS1-SHA256',
      issuerName: issuer.subjectDer,
      subjectName: encodeName({}),
      notBefore: now,
      notAfter: addDuration(now, '24h'),
      spki: workloadSpki,
      extensions: profileExtensions(profile, { spki: workloadSpki, issuerKeyIdentifier: issuer.keyIdentifier, subjectEmpty: true, sans: { uris: ['spiffe://other.org/ns/prod/sa/web'] } }),
    });
    const outside = ca.file('outside.pem', toPem('CERTIFICATE', assembleCertificate(tbs, 'RSA-PKCS1-SHA256', csr.key.signer('RSA-PKCS1-SHA256').sign(tbs))));
    const refused = run('openssl', ['verify', '-x509_strict', '-CAfile', rootPem, '-untrusted', intPem, outside]);
    expect(refused.status).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/permitted subtree violation/u);

    // Everything issued is recorded with its ceremony.
    expect(ca.store.certificates().map((c) => [c.role, c.profile, c.ceremony.id])).toEqual([
      ['root', 'root', 'test-ceremony'],
      ['intermediate', 'intermediate', 'test-ceremony'],
      ['leaf', 'workload-svid', 'test-ceremony'],
    ]);
  });

  it('issues an ECDSA P-256 intermediate (the profile option); OpenSSL and certtool accept it', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const csr = hsmCsr(ca, { type: 'EC', curve: 'P-256' }, 'int-ec');
    const prepared = prepareIntermediate({ profile: defaultProfile('intermediate-ecdsa'), csr: csr.pem, issuerCertificate: root.issued.pem, now, random: ca.random, store: ca.store });
    expect(prepared.summary.publicKey).toBe('EC P-256');
    const int = signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const intPem = ca.file('int.pem', int.pem);
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', root.pemPath, intPem]).trim()).toBe(`${intPem}: OK`);
    expect(runOk('certtool', ['--verify-chain', '--infile', ca.file('chain.pem', `${int.pem}${root.issued.pem}`)])).toMatch(/Verified\. The certificate is trusted/u);
    // The ECDSA intermediate signs an SVID that both oracles accept (ECDSA signature from the token).
    const w = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const svid = prepareCertificate({ profile: defaultProfile('workload-svid'), spki: w, issuerCertificate: int.der, sans: { uris: ['spiffe://example.org/db'] }, now, random: ca.random, store: ca.store });
    expect(svid.signatureAlgorithm).toBe('ECDSA-SHA256');
    const leaf = signPrepared(svid, csr.key.signer('ECDSA-SHA256'), { store: ca.store, ceremony: CEREMONY, now });
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', root.pemPath, '-untrusted', intPem, ca.file('leaf.pem', leaf.pem)])).toMatch(/OK/u);
    expect(runOk('certtool', ['--verify-chain', '--infile', ca.file('c2.pem', `${leaf.pem}${int.pem}${root.issued.pem}`)])).toMatch(/Verified/u);
  });

  it('supports a requested future notBefore (staggered intermediates), capped by the root', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'int-q2');
    const notBefore = addDuration(now, '83d');
    const prepared = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, notBefore, now, random: ca.random, store: ca.store, subject: { commonName: 'NEAM Intermediate CA 2027-Q2' } });
    const int = signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    expect(int.info.notBefore.toISOString()).toBe(new Date(Math.floor(notBefore.getTime() / 1000) * 1000).toISOString());
    expect(int.info.notAfter.getTime() - int.info.notBefore.getTime()).toBe(90 * 86_400_000);
    const intPem = ca.file('int.pem', int.pem);
    const early = run('openssl', ['verify', '-x509_strict', '-CAfile', root.pemPath, intPem]);
    expect(`${early.stdout}${early.stderr}`).toMatch(/certificate is not yet valid/u);
    const at = String(Math.floor(addDuration(notBefore, '1d').getTime() / 1000));
    expect(runOk('openssl', ['verify', '-x509_strict', '-attime', at, '-CAfile', root.pemPath, intPem])).toMatch(/OK/u);

    // A root that ends in 30 days caps the default validity (and says so); an explicit notAfter
    // beyond it is refused.
    const short = createShortRoot(ca, now);
    const capped = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: short.der, now, random: ca.random, store: ca.store, subject: { commonName: 'Capped' } });
    expect(capped.summary.notAfter).toBe(short.info.notAfter.toISOString().replace('.000', ''));
    expect(capped.notes.join(' ')).toMatch(/validity capped at the issuer's notAfter/u);
  });

  it('creates a self-signed transfer identity (P-256 in the HSM) that OpenSSL accepts as its own trust anchor', () => {
    ca = createCa();
    const now = new Date();
    const key = hsmKey(ca, { type: 'EC', curve: 'P-256' }, 'transfer');
    const prepared = prepareSelfSigned({ profile: defaultProfile('transfer'), spki: key.spki, now, random: ca.random, store: ca.store, subject: { commonName: 'NEAM CA transfer (offline)' } });
    const t = signPrepared(prepared, key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const p = ca.file('transfer.pem', t.pem);
    expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', p, p]).trim()).toBe(`${p}: OK`);
    const info = runOk('certtool', ['--certificate-info', '--infile', p]);
    expect(info).toMatch(/Basic Constraints \(critical\):\s+Certificate Authority \(CA\): FALSE/u);
    expect(info).toMatch(/Key Usage \(critical\):\s+Digital signature\./u);
    expect(t.info.notAfter.getUTCFullYear() - t.info.notBefore.getUTCFullYear()).toBe(2);
    expect(t.record.role).toBe('self-signed');
  });

  function createShortRoot(c: CaFixture, now: Date) {
    const k = hsmKey(c, { type: 'RSA', bits: 2048 }, 'short-root');
    const prepared = prepareRoot({ profile: { ...defaultProfile('root'), subjectKey: ['rsa-2048'], validity: { duration: '30d', backdate: '0s' }, subject: { commonName: 'Short Root' } }, spki: k.spki, now, random: c.random, store: c.store });
    return signPrepared(prepared, k.signer(prepared.signatureAlgorithm), { store: c.store, ceremony: CEREMONY, now });
  }
});

// A software signer is also a Signer: the same code path issues from unsealed online keys.
describe('signPrepared with a software signer', () => {
  it('works with core/crypto softwareSigner (online intermediates unsealed in memory)', () => {
    const ca = createCa();
    try {
      const now = new Date();
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const signer = softwareSigner(privateKey, 'RSA-PKCS1-SHA256');
      const prepared = prepareRoot({ profile: { ...defaultProfile('root'), subjectKey: ['rsa-2048'] }, spki: signer.spki, now, random: ca.random, store: ca.store });
      const root = signPrepared(prepared, signer, { store: ca.store, ceremony: CEREMONY, now });
      expect(parseCertificate(root.pem).sha256).toBe(root.info.sha256);
      expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', join(ca.dir, 'r.pem'), ca.file('r.pem', root.pem)])).toMatch(/OK/u);
    } finally {
      ca.close();
    }
  });
});
