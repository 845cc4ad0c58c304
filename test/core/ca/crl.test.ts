import { afterEach, describe, expect, it } from 'vitest';

import { generateKeyPairSync } from 'node:crypto';

import { prepareCertificate, prepareCrl, prepareIntermediate, revokeCertificate, signPrepared, type IssuedCertificate } from '../../../core/ca/index.ts';
import { checkCrlIssuedBy, defaultProfile, parseCrl } from '../../../core/pki/index.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { caught } from '../pki/fixtures.ts';
import { createCa, hsmCsr, makeRoot, type CaFixture } from './helpers.ts';

const CEREMONY = { id: 'crl-ceremony', rehearsal: true };

describe('CRLs signed in the HSM', () => {
  let ca: CaFixture | undefined;
  afterEach(() => {
    ca?.close();
    ca = undefined;
  });

  function intermediate(c: CaFixture, root: ReturnType<typeof makeRoot>, label: string, now: Date): IssuedCertificate {
    const csr = hsmCsr(c, { type: 'RSA', bits: 2048 }, label);
    const p = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, now, random: c.random, store: c.store, subject: { commonName: `Intermediate ${label}` } });
    return signPrepared(p, root.key.signer(p.signatureAlgorithm), { store: c.store, ceremony: CEREMONY, now });
  }

  it('verify with `openssl crl -verify` and make `openssl verify -crl_check` reject a revoked intermediate; numbers are monotonic', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const int1 = intermediate(ca, root, 'one', now);
    const int2 = intermediate(ca, root, 'two', now);
    const int1Pem = ca.file('int1.pem', int1.pem);
    const int2Pem = ca.file('int2.pem', int2.pem);

    // CRL 1: nothing revoked; both intermediates pass a CRL check.
    const before = ca.fx.hsm.stats.signatures;
    const p1 = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now });
    expect(ca.fx.hsm.stats.signatures).toBe(before);
    expect(p1.crlNumber).toBe(1);
    const crl1 = signPrepared(p1, root.key.signer(p1.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const crl1Pem = ca.file('crl1.pem', crl1.pem);
    const v1 = run('openssl', ['crl', '-in', crl1Pem, '-CAfile', root.pemPath, '-noout', '-verify']);
    expect(v1.status).toBe(0);
    expect(`${v1.stdout}${v1.stderr}`).toMatch(/verify OK/u);
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crl1Pem, '-CAfile', root.pemPath, int1Pem]).trim()).toBe(`${int1Pem}: OK`);

    // Revoke intermediate 1, then CRL 2 lists it with its reason.
    revokeCertificate(ca.store, { serial: int1.info.serial, reason: 'keyCompromise', revokedAt: now, now, ceremony: CEREMONY });
    const stale = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now }); // also number 2
    const p2 = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now });
    expect(p2.crlNumber).toBe(2);
    expect(p2.summary.revoked).toEqual([{ serial: int1.info.serial, revocationDate: expect.any(String), reason: 'keyCompromise' }]);
    const crl2 = signPrepared(p2, root.key.signer(p2.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const crl2Pem = ca.file('crl2.pem', crl2.pem);
    const v = run('openssl', ['crl', '-in', crl2Pem, '-CAfile', root.pemPath, '-noout', '-verify']);
    expect(v.status).toBe(0);
    expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK/u);
    const text = runOk('openssl', ['crl', '-in', crl2Pem, '-noout', '-text']);
    expect(text).toMatch(/X509v3 CRL Number:\s+2/u);
    expect(text).toMatch(/Serial Number: [0-9A-F]+\s+Revocation Date: .*\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise/u);
    expect(text).toMatch(/X509v3 Authority Key Identifier:\s+[0-9A-F:]+/u);

    const revoked = run('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crl2Pem, '-CAfile', root.pemPath, int1Pem]);
    expect(revoked.status).not.toBe(0);
    expect(`${revoked.stdout}${revoked.stderr}`).toMatch(/certificate revoked/u);
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crl2Pem, '-CAfile', root.pemPath, int2Pem]).trim()).toBe(`${int2Pem}: OK`);

    // GnuTLS verifies the CRL signature too.
    expect(runOk('certtool', ['--verify-crl', '--load-ca-certificate', root.pemPath, '--infile', crl2Pem])).toMatch(/Verified/u);

    // A CRL prepared before number 2 was recorded is refused before the HSM is called.
    const sigs = ca.fx.hsm.stats.signatures;
    const e = caught(() => signPrepared(stale, root.key.signer(stale.signatureAlgorithm), { store: ca!.store, ceremony: CEREMONY, now }));
    expect(e.code).toBe('ERR_PKI_CRL_INVALID');
    expect(ca.fx.hsm.stats.signatures).toBe(sigs);
    expect(ca.store.crls(p2.signerSpkiSha256).map((c) => c.crlNumber)).toEqual([1, 2]);

    // The store's trigger also refuses a non-increasing number written directly.
    expect(() =>
      ca!.store.store.db
        .prepare("INSERT INTO pki_crls (issuer_spki_sha256, issuer, crl_number, this_update, next_update, revoked_count, sha256, tbs_sha256, profile, profile_sha256, pem, ceremony_id, rehearsal, issued_at) VALUES (?, 'x', 2, 'a', 'b', 0, 'dup', 't', 'p', 'h', 'pem', 'c', 0, 'now')")
        .run(p2.signerSpkiSha256),
    ).toThrow(/CRL number not greater|UNIQUE/u);
    // Recorded CRLs are insert-only: neither changed nor deleted (two rows here, so the row
    // triggers do fire).
    expect(() => ca!.store.store.db.prepare('UPDATE pki_crls SET crl_number = crl_number + 10').run()).toThrow(/pki_crls is insert-only/u);
    expect(() => ca!.store.store.db.prepare('DELETE FROM pki_crls').run()).toThrow(/pki_crls is insert-only/u);
    expect(ca.store.crls(p2.signerSpkiSha256).map((c) => c.crlNumber)).toEqual([1, 2]);
    expect(parseCrl(crl2.der).crlNumber).toBe(2n);
    // The oracle can fail: a CRL with an altered signature does not verify.
    const forged = Buffer.from(crl2.der);
    forged[forged.length - 3] = (forged[forged.length - 3] as number) ^ 0xff;
    const tampered = run('openssl', ['crl', '-inform', 'DER', '-in', ca.file('forged.crl', forged), '-CAfile', root.pemPath, '-noout', '-verify']);
    expect(`${tampered.stdout}${tampered.stderr}`).not.toMatch(/verify OK/u);
  });

  it("an intermediate's CRL (HSM key, crl-intermediate profile) makes OpenSSL refuse a revoked SVID", () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const csr = hsmCsr(ca, { type: 'EC', curve: 'P-256' }, 'int-ec');
    const pi = prepareIntermediate({ profile: defaultProfile('intermediate-ecdsa'), csr: csr.pem, issuerCertificate: root.issued.der, now, random: ca.random, store: ca.store });
    const int = signPrepared(pi, root.key.signer(pi.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const intPem = ca.file('int.pem', int.pem);
    const leaves = ['web', 'db'].map((name) => {
      const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
      const p = prepareCertificate({ profile: defaultProfile('workload-svid'), spki, issuerCertificate: int.der, sans: { uris: [`spiffe://example.org/${name}`] }, now, random: ca!.random, store: ca!.store });
      const leaf = signPrepared(p, csr.key.signer(p.signatureAlgorithm), { store: ca!.store, ceremony: CEREMONY, now });
      return { leaf, path: ca!.file(`${name}.pem`, leaf.pem) };
    });
    revokeCertificate(ca.store, { serial: leaves[0]!.leaf.info.serial, reason: 'keyCompromise', revokedAt: now, now, ceremony: CEREMONY });
    const pc = prepareCrl({ profile: defaultProfile('crl-intermediate'), issuerCertificate: int.der, store: ca.store, now });
    expect(pc.signatureAlgorithm).toBe('ECDSA-SHA256');
    const crl = signPrepared(pc, csr.key.signer(pc.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    checkCrlIssuedBy(crl.info, int.info);
    const crlPem = ca.file('int.crl', crl.pem);
    const v = run('openssl', ['crl', '-in', crlPem, '-CAfile', intPem, '-noout', '-verify']);
    expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK/u);
    const bad = run('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crlPem, '-CAfile', root.pemPath, '-untrusted', intPem, leaves[0]!.path]);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/certificate revoked/u);
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crlPem, '-CAfile', root.pemPath, '-untrusted', intPem, leaves[1]!.path])).toMatch(/OK/u);
    expect(runOk('certtool', ['--verify-crl', '--load-ca-certificate', intPem, '--infile', crlPem])).toMatch(/Verified/u);

    // Revocations kept elsewhere (the online CA's own tables) can be listed explicitly.
    const explicit = prepareCrl({ profile: defaultProfile('crl-intermediate'), issuerCertificate: int.der, store: ca.store, now, revoked: [{ serial: leaves[1]!.leaf.info.serial, revocationDate: now, reason: 'superseded' }] });
    expect(explicit.crlNumber).toBe(2);
    expect(explicit.summary.revoked.map((r) => r.serial)).toEqual([leaves[1]!.leaf.info.serial]);
    expect(caught(() => prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca!.store, now, revoked: [] })).code).toBe('ERR_PKI_CRL_INVALID');
  });

  it("a root CRL refuses to list a leaf (profile 'entries: ca-only'), with nothing signed", () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const int = intermediate(ca, root, 'one', now);
    revokeCertificate(ca.store, { serial: int.info.serial, reason: 'superseded', revokedAt: now, now, ceremony: CEREMONY });
    // Pretend the root had issued a non-CA certificate and revoked it: lint must refuse the CRL.
    ca.store.store.db
      .prepare("INSERT INTO pki_certificates (serial, sha256, tbs_sha256, role, subject, issuer, spki_sha256, issuer_spki_sha256, is_ca, not_before, not_after, profile, profile_sha256, pem, ceremony_id, rehearsal, issued_at) VALUES ('01aa', 'x', 't', 'leaf', 'CN=leaf', 'CN=root', 's', ?, 0, 'a', '2999-01-01T00:00:00Z', 'p', 'h', 'pem', 'c', 0, 'now')")
      .run(int.record.issuerSpkiSha256);
    revokeCertificate(ca.store, { serial: '01aa', reason: 'keyCompromise', revokedAt: now, now, ceremony: CEREMONY });
    const sigs = ca.fx.hsm.stats.signatures;
    const e = caught(() => prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca!.store, now }));
    expect(e.code).toBe('ERR_PKI_LINT_FAILED');
    expect(e.message).toMatch(/\[neam\.crl-ca-only\].*serial 01aa is not a CA certificate/u);
    expect(ca.fx.hsm.stats.signatures).toBe(sigs);
  });
});
