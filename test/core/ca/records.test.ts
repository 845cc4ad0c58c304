import { afterEach, describe, expect, it } from 'vitest';

import { openCaStore, prepareCrl, prepareIntermediate, preparedFromJson, preparedToJson, revokeCertificate, signPrepared, PKI_MIGRATIONS } from '../../../core/ca/index.ts';
import { defaultProfile, parseCsr, profileSha256, verifyCsrSignature } from '../../../core/pki/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { caught } from '../pki/fixtures.ts';
import { createCa, hsmCsr, makeRoot, type CaFixture } from './helpers.ts';

const CEREMONY = { id: 'records', step: 'step-3', rehearsal: true };

describe('records, revocations, prepared files and CSRs', () => {
  let ca: CaFixture | undefined;
  afterEach(() => {
    ca?.close();
    ca = undefined;
  });

  it('buildCsr with an HSM key makes CSRs that OpenSSL and certtool verify (RSA, P-256, P-384)', () => {
    ca = createCa();
    for (const [spec, label] of [[{ type: 'RSA', bits: 2048 }, 'rsa'], [{ type: 'EC', curve: 'P-256' }, 'p256'], [{ type: 'EC', curve: 'P-384' }, 'p384']] as const) {
      const { pem } = hsmCsr(ca, spec, label);
      verifyCsrSignature(parseCsr(pem));
      const path = ca.file(`${label}.csr`, pem);
      const r = run('openssl', ['req', '-in', path, '-noout', '-verify', '-subject']);
      expect(r.status).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/verify OK/u);
      expect(r.stdout).toContain(`subject=CN = online ${label}`);
      expect(runOk('certtool', ['--crq-info', '--infile', path])).toMatch(/Self signature: verified/u);
    }
  });

  it('records every issuance with its ceremony; the tables are insert-only', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const rec = ca.store.certificate(root.issued.info.serial);
    expect(rec).toMatchObject({ role: 'root', profile: 'root', subject: root.issued.info.subject.text, spkiSha256: root.issued.info.spkiSha256, sha256: root.issued.info.sha256, isCa: true, ceremony: { id: 'test-root', rehearsal: true } });
    expect(rec?.pem).toBe(root.issued.pem);
    expect(ca.store.certificateBySha256(root.issued.info.sha256)?.serial).toBe(root.issued.info.serial);
    const db = ca.store.store.db;
    expect(() => db.prepare("UPDATE pki_certificates SET subject = 'CN=forged'").run()).toThrow(/insert-only/u);
    expect(() => db.prepare('DELETE FROM pki_certificates').run()).toThrow(/insert-only/u);
    expect(ca.store.store.version('pki')).toBe(PKI_MIGRATIONS.migrations.length);
    // Reopening applies nothing new and keeps the rows.
    const again = openCaStore(ca.store.store);
    expect(again.certificates()).toHaveLength(1);
  });

  it('revokeCertificate refuses unknown serials, roots, repeats and unsupported reasons', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'i');
    const p = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, now, random: ca.random, store: ca.store });
    const int = signPrepared(p, root.key.signer(p.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const r = (serial: string, reason = 'keyCompromise') => revokeCertificate(ca!.store, { serial, reason: reason as 'keyCompromise', revokedAt: now, now, ceremony: CEREMONY });
    expect(caught(() => r('01ff')).code).toBe('ERR_PKI_NOT_REVOCABLE');
    expect(caught(() => r(root.issued.info.serial)).message).toMatch(/self-signed \(root\)/u);
    expect(caught(() => r(int.info.serial, 'certificateHold')).code).toBe('ERR_INPUT_INVALID');
    const colon = int.info.serial.toUpperCase().match(/.{2}/gu)!.join(':');
    expect(r(colon)).toMatchObject({ serial: int.info.serial, reason: 'keyCompromise', ceremony: { id: 'records', step: 'step-3', rehearsal: true } });
    expect(caught(() => r(int.info.serial)).message).toMatch(/already revoked/u);
    expect(() => ca!.store.store.db.prepare('DELETE FROM pki_revocations').run()).toThrow(/pki_revocations is insert-only/u);
    expect(() => ca!.store.store.db.prepare("UPDATE pki_revocations SET reason = 'superseded'").run()).toThrow(/pki_revocations is insert-only/u);
  });

  it('a prepared certificate or CRL survives JSON (crash, review elsewhere) and is re-checked on load', () => {
    ca = createCa();
    const now = new Date();
    const root = makeRoot(ca, { now });
    const csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'i');
    const p = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, now, random: ca.random, store: ca.store });
    const json = JSON.parse(JSON.stringify(preparedToJson(p))) as Record<string, unknown>;
    const loaded = preparedFromJson(json);
    expect(loaded.tbsSha256).toBe(p.tbsSha256);
    expect(loaded.summary).toEqual(p.summary);
    if (loaded.kind !== 'certificate') throw new Error('expected a certificate');
    // Tampering is detected whichever part is changed.
    const tbs = Buffer.from(json['tbs'] as string, 'base64');
    tbs[tbs.length - 1] = (tbs[tbs.length - 1] as number) ^ 1;
    expect(caught(() => preparedFromJson({ ...json, tbs: tbs.toString('base64') })).code).toBe('ERR_PKI_TBS_MISMATCH');
    expect(caught(() => preparedFromJson({ ...json, profile: { ...(json['profile'] as object), validity: { duration: '900d', backdate: '0s' } } })).code).toBe('ERR_PKI_PROFILE_INVALID');
    expect(caught(() => preparedFromJson({ ...json, signerSpki: csr.key.spki.toString('base64') })).code).toBe('ERR_PKI_TBS_MISMATCH');
    expect(caught(() => preparedFromJson({ ...json, format: 'other' })).code).toBe('ERR_INPUT_INVALID');
    expect(caught(() => preparedFromJson('not json at all')).code).toBe('ERR_INPUT_INVALID');
    // The reloaded object signs like the original, given the approved digest and the expected
    // profile (the file's own claims prove nothing).
    expect(caught(() => signPrepared(loaded, root.key.signer(loaded.signatureAlgorithm), { store: ca!.store, ceremony: CEREMONY, now, expectTbsSha256: p.tbsSha256 })).code).toBe('ERR_PKI_PREPARED_UNVERIFIED');
    const issued = signPrepared(loaded, root.key.signer(loaded.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: p.tbsSha256, expectProfileSha256: profileSha256(defaultProfile('intermediate')) });
    expect(issued.info.tbsSha256).toBe(p.tbsSha256);
    // CRLs too.
    const crl = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now });
    const crlBack = preparedFromJson(JSON.parse(JSON.stringify(preparedToJson(crl))), { store: ca.store, profile: defaultProfile('crl-root'), expectTbsSha256: crl.tbsSha256 });
    expect(crlBack.kind).toBe('crl');
    const signedCrl = signPrepared(crlBack, root.key.signer(crlBack.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    expect(signedCrl.kind === 'crl' ? signedCrl.record.crlNumber : undefined).toBe(1);
  });

  it('a store from a newer NEAM CA is refused, not guessed at', () => {
    ca = createCa();
    const path = ca.store.store.path;
    ca.store.store.db.prepare("INSERT INTO schema_migrations (domain, version, description, applied_at) VALUES ('pki', 99, 'future', 'now')").run();
    const e = caught(() => openCaStore(openStore(path)));
    expect(e.code).toBe('ERR_STORE_FROM_FUTURE');
  });
});
