/**
 * Signing never trusts the context a prepared object carries (security review H2): the issuer
 * certificate is resolved from the CA store (or verified up to a root recorded there, or to a
 * trust anchor the caller passes), a prepared file's profile counts only when an expected profile
 * or digest is supplied from outside, the lint is also run against the signing time, and the CRL
 * entry facts come from the store. Each refusal makes no HSM signature and writes no row.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openCaStore, preparedFromJson, preparedToJson, prepareCrl, prepareIntermediate, signPrepared, type PreparedCertificate, type PreparedCrl } from '../../../core/ca/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import {
  assembleCertificate,
  buildTbsCertificate,
  buildTbsCertList,
  defaultProfile,
  encodeName,
  newSerial,
  parseCertificate,
  parseTbsCertificate,
  parseTbsCertList,
  profileExtensions,
  profileSha256,
  summarizeCertificate,
  summarizeCrl,
  toPem,
} from '../../../core/pki/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { caught, profileWith } from '../pki/fixtures.ts';
import { createCa, expectRefused, hsmCsr, makeRoot, testRootProfile, type CaFixture } from './helpers.ts';

const CEREMONY = { id: 'issuer-trust', rehearsal: true };
const DAY = 86_400_000;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('signing trusts no issuer certificate, profile or time a prepared object carries', () => {
  let ca: CaFixture;
  let root: ReturnType<typeof makeRoot>;
  let csr: ReturnType<typeof hsmCsr>;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  beforeEach(() => {
    ca = createCa();
    // A root that expires in 30 days: an intermediate (90 days) must be capped at its notAfter.
    root = makeRoot(ca, { profile: testRootProfile({ validity: { duration: '30d', backdate: '0s' } }), now: new Date(now.getTime() - DAY) });
    csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'online-1');
  });
  afterEach(() => ca.close());

  const refused = (fn: () => unknown, code: string, message?: RegExp): string => expectRefused(ca, fn, code, message);

  const intermediate = (o: { now?: Date; issuer?: Uint8Array } = {}): PreparedCertificate =>
    prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: o.issuer ?? root.issued.der, now: o.now ?? now, random: ca.random, store: ca.store });

  /**
   * The review's forgery: the root's subject and public key (and so its key identifier), notAfter
   * 2099, "issued" by a throwaway name and signed by a throwaway key. Not self-issued, so no
   * self-signature is checked; its key is the root's, so the root key would be asked to sign.
   */
  function forgedIssuer(): Buffer {
    const throwaway = softwareSigner(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'RSA-PKCS1-SHA256');
    const info = root.issued.info;
    const tbs = buildTbsCertificate({
      serial: newSerial(ca.random, 16),
      signatureAlgorithm: 'RSA-PKCS1-SHA256',
      issuerName: encodeName({ commonName: 'Throwaway' }),
      subjectName: info.subject.der,
      notBefore: info.notBefore,
      notAfter: new Date('2099-01-01T00:00:00Z'),
      spki: info.spki,
      extensions: profileExtensions(testRootProfile(), { spki: info.spki, subjectEmpty: false }),
    });
    const der = assembleCertificate(tbs, 'RSA-PKCS1-SHA256', throwaway.sign(tbs));
    expect(parseCertificate(der).selfIssued).toBe(false);
    return der;
  }

  /** An intermediate TBS that outlives the real root (90 days from now), as a forged-issuer lint would accept. */
  function outlivingPrepared(forged: Buffer): PreparedCertificate {
    const legit = intermediate();
    const profile = defaultProfile('intermediate');
    const spki = legit.expected.spki as Buffer;
    const serial = newSerial(ca.random, profile.serialBytes);
    const tbsDer = buildTbsCertificate({
      serial,
      signatureAlgorithm: legit.signatureAlgorithm,
      issuerName: root.issued.info.subject.der,
      subjectName: legit.expected.subjectDer as Buffer,
      notBefore: now,
      notAfter: new Date(now.getTime() + 90 * DAY),
      spki,
      extensions: profileExtensions(profile, { spki, subjectEmpty: false, issuerKeyIdentifier: root.issued.info.subjectKeyIdentifier as string }),
    });
    const tbs = parseTbsCertificate(tbsDer);
    expect(tbs.notAfter.getTime()).toBeGreaterThan(root.issued.info.notAfter.getTime());
    return Object.freeze({ ...legit, tbsDer, tbsSha256: sha256(tbsDer), serial, summary: summarizeCertificate(tbs), issuerCertificate: forged, expected: { serial, subjectDer: legit.expected.subjectDer as Buffer, spki } });
  }

  it('prepareIntermediate refuses a forged issuer (root subject and key, notAfter 2099, throwaway signature): ERR_PKI_CHAIN_INVALID', () => {
    const message = refused(() => intermediate({ issuer: forgedIssuer() }), 'ERR_PKI_CHAIN_INVALID');
    expect(message).toMatch(/is not a certificate recorded in this CA's store, and it does not verify up to a root recorded there/u);
  });

  it('signPrepared refuses a prepared intermediate that outlives the root through a forged issuer; OpenSSL would have accepted it', () => {
    const prepared = outlivingPrepared(forgedIssuer());
    refused(() => signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: prepared.tbsSha256 }), 'ERR_PKI_CHAIN_INVALID');
    // The bytes themselves are what the forgery was for: with the real root resolved from the
    // store, the lint names the problem even when the real root is given as the issuer.
    const honest = { ...prepared, issuerCertificate: root.issued.der };
    const message = refused(() => signPrepared(honest, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_PKI_LINT_FAILED');
    expect(message).toMatch(/neam\.validity-within-issuer/u);
    // What the attack would have produced passes `openssl verify -x509_strict` (it does not check
    // that an intermediate ends before its issuer): that is why our lint must see the real root.
    const sig = root.key.signer(prepared.signatureAlgorithm).sign(prepared.tbsDer);
    const der = assembleCertificate(prepared.tbsDer, prepared.signatureAlgorithm, sig);
    const out = runOk('openssl', ['verify', '-x509_strict', '-CAfile', ca.file('root.pem', root.issued.pem), ca.file('outliving.pem', toPem('CERTIFICATE', der))]);
    expect(out).toContain('OK');
  });

  it('preparedFromJson resolves the issuer from the store when given one; signPrepared does so regardless', () => {
    const json = preparedToJson(outlivingPrepared(forgedIssuer()));
    refused(() => preparedFromJson(json, { store: ca.store }), 'ERR_PKI_CHAIN_INVALID');
    const loaded = preparedFromJson(json) as PreparedCertificate;
    refused(
      () => signPrepared(loaded, root.key.signer(loaded.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: loaded.tbsSha256, expectProfileSha256: profileSha256(defaultProfile('intermediate')) }),
      'ERR_PKI_CHAIN_INVALID',
    );
  });

  it('an issuer that is not recorded is accepted when it verifies up to a trust anchor the caller passes (the online CA: its root from the pinned bundle)', () => {
    // A second CA store that knows nothing (the online side): the root is its trust anchor.
    const other = { store: openCaStore(openStore(join(ca.dir, 'online.sqlite'))), random: ca.random };
    try {
      const p = prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, now, random: ca.random, store: ca.store });
      const int = signPrepared(p, root.key.signer(p.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
      const crlIn = (trustAnchors?: Uint8Array[]): PreparedCrl =>
        prepareCrl({ profile: defaultProfile('crl-intermediate'), issuerCertificate: int.der, store: other.store, now, revoked: [], ...(trustAnchors === undefined ? {} : { trustAnchors }) });
      expect(caught(() => crlIn()).code).toBe('ERR_PKI_CHAIN_INVALID');
      const crl = crlIn([root.issued.der]);
      const signer = csr.key.signer(crl.signatureAlgorithm);
      expect(caught(() => signPrepared(crl, signer, { store: other.store, ceremony: CEREMONY, now })).code).toBe('ERR_PKI_CHAIN_INVALID');
      const issued = signPrepared(crl, signer, { store: other.store, ceremony: CEREMONY, now, trustAnchors: [root.issued.der] });
      expect(issued.record.crlNumber).toBe(1);
      // A forged anchor chain does not help: the forgery does not verify with the anchor's key.
      expect(caught(() => prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: forgedIssuer(), now, random: other.random, store: other.store, trustAnchors: [root.issued.der] })).code).toBe('ERR_PKI_CHAIN_INVALID');
    } finally {
      other.store.store.close();
    }
  });

  it('a prepared file\'s own profile and digest do not count: signing needs the approved TBS digest and an expected profile', () => {
    // A TBS built with a weaker profile (no name constraint), carried in a file with that profile
    // and its matching digest: self-consistent, so only an outside expectation can refuse it.
    const weak = profileWith('intermediate', { extKeyUsage: { critical: false, usages: ['codeSigning'] } });
    const legit = intermediate();
    const spki = legit.expected.spki as Buffer;
    const serial = newSerial(ca.random, weak.serialBytes);
    const tbsDer = buildTbsCertificate({
      serial,
      signatureAlgorithm: legit.signatureAlgorithm,
      issuerName: root.issued.info.subject.der,
      subjectName: legit.expected.subjectDer as Buffer,
      notBefore: parseTbsCertificate(legit.tbsDer).notBefore,
      notAfter: parseTbsCertificate(legit.tbsDer).notAfter,
      spki,
      extensions: profileExtensions(weak, { spki, subjectEmpty: false, issuerKeyIdentifier: root.issued.info.subjectKeyIdentifier as string }),
    });
    const json = { ...preparedToJson(legit), profile: weak, profileSha256: profileSha256(weak), tbs: tbsDer.toString('base64'), tbsSha256: sha256(tbsDer), serial, expected: { serial } };
    const loaded = preparedFromJson(json) as PreparedCertificate;
    const signer = root.key.signer(loaded.signatureAlgorithm);
    const base = { store: ca.store, ceremony: CEREMONY, now };
    const m1 = refused(() => signPrepared(loaded, signer, base), 'ERR_PKI_PREPARED_UNVERIFIED');
    expect(m1).toMatch(/expectTbsSha256/u);
    refused(() => signPrepared(loaded, signer, { ...base, expectTbsSha256: loaded.tbsSha256 }), 'ERR_PKI_PREPARED_UNVERIFIED', /expectProfileSha256/u);
    refused(() => signPrepared({ ...loaded }, signer, { ...base, expectTbsSha256: loaded.tbsSha256 }), 'ERR_PKI_PREPARED_UNVERIFIED');
    refused(() => signPrepared(loaded, signer, { ...base, expectTbsSha256: loaded.tbsSha256, expectProfileSha256: profileSha256(defaultProfile('intermediate')) }), 'ERR_PKI_PROFILE_INVALID');
    refused(() => preparedFromJson(json, { profile: defaultProfile('intermediate') }), 'ERR_PKI_PROFILE_INVALID', /not the profile 'intermediate'/u);
    refused(() => preparedFromJson(json, { expectTbsSha256: '00'.repeat(32) }), 'ERR_PKI_TBS_MISMATCH');

    // The genuine file, loaded against the named profile, signs with the approved digest.
    const genuine = preparedFromJson(preparedToJson(legit), { profile: defaultProfile('intermediate'), store: ca.store }) as PreparedCertificate;
    const issued = signPrepared(genuine, root.key.signer(genuine.signatureAlgorithm), { ...base, expectTbsSha256: legit.tbsSha256 });
    expect(issued.info.tbsSha256).toBe(legit.tbsSha256);
  });

  it('a root CRL\'s "is a CA" facts come from the store, not from the prepared object', () => {
    const p = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now });
    // A TBS listing a serial this root never issued, with a forged entryIsCa claiming it is a CA.
    const stranger = newSerial(ca.random, 16);
    const thisUpdate = parseTbsCertList(p.tbsDer).thisUpdate;
    const tbsDer = buildTbsCertList({
      signatureAlgorithm: p.signatureAlgorithm,
      issuerName: root.issued.info.subject.der,
      thisUpdate,
      nextUpdate: parseTbsCertList(p.tbsDer).nextUpdate as Date,
      revoked: [{ serial: stranger, revocationDate: thisUpdate, reason: 'keyCompromise' }],
      crlNumber: BigInt(p.crlNumber),
      authorityKeyIdentifier: root.issued.info.subjectKeyIdentifier as string,
    });
    const forged: PreparedCrl = Object.freeze({ ...p, tbsDer, tbsSha256: sha256(tbsDer), summary: summarizeCrl(parseTbsCertList(tbsDer)), entryIsCa: { [stranger]: true } });
    const message = refused(() => signPrepared(forged, root.key.signer(p.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_PKI_LINT_FAILED');
    expect(message).toMatch(/neam\.crl-ca-only.*not a certificate this issuer is known to have issued/u);
  });
});

describe('signPrepared also lints against the signing time (backdating through `now`)', () => {
  let ca: CaFixture;
  let root: ReturnType<typeof makeRoot>;
  let csr: ReturnType<typeof hsmCsr>;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  beforeEach(() => {
    ca = createCa();
    root = makeRoot(ca, { now: new Date(now.getTime() - 60 * DAY) });
    csr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'online-1');
  });
  afterEach(() => ca.close());

  const preparedAt = (at: Date): PreparedCertificate => prepareIntermediate({ profile: defaultProfile('intermediate'), csr: csr.pem, issuerCertificate: root.issued.der, now: at, random: ca.random, store: ca.store });

  it('a preparation claimed 20 days before signing is refused (ERR_PKI_VALIDITY_INVALID); nothing is signed or recorded', () => {
    const early = preparedAt(new Date(now.getTime() - 20 * DAY));
    const sigs = ca.fx.hsm.stats.signatures;
    const e = caught(() => signPrepared(early, root.key.signer(early.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }));
    expect(e.code).toBe('ERR_PKI_VALIDITY_INVALID');
    expect(e.message).toMatch(/was prepared 20 days before signing; at most 7 days may pass between preparation and signing/u);
    expect(ca.fx.hsm.stats.signatures).toBe(sigs);
    expect(ca.counts().certificates).toBe(1);
  });

  it('a preparation after the signing time is refused; one within the window signs, and the window is the caller\'s to widen', () => {
    const future = preparedAt(new Date(now.getTime() + DAY));
    expect(caught(() => signPrepared(future, root.key.signer(future.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now })).message).toMatch(/was prepared after the signing time/u);
    const recent = preparedAt(new Date(now.getTime() - 2 * 3_600_000));
    expect(signPrepared(recent, root.key.signer(recent.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }).kind).toBe('certificate');
    const slow = preparedAt(new Date(now.getTime() - 20 * DAY));
    expect(signPrepared(slow, root.key.signer(slow.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, maxPreparedAgeMs: 30 * DAY }).kind).toBe('certificate');
  });
});
