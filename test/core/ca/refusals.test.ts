import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { prepareCertificate, prepareIntermediate, prepareRoot, prepareSelfSigned, signPrepared, type PreparedCertificate } from '../../../core/ca/index.ts';
import type { Signer } from '../../../core/crypto/signer.ts';
import { defaultProfile, parsePemOne, parseProfile, parseCertificate, toPem, DEFAULT_PROFILE_INPUTS, type CertificateProfile } from '../../../core/pki/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { caught, opensslCsr, profileWith } from '../pki/fixtures.ts';
import { createCa, expectRefused, hsmCsr, hsmKey, makeRoot, type CaFixture } from './helpers.ts';

const CEREMONY = { id: 'refusals', rehearsal: true };

describe('refusals: nothing is signed and nothing is written when a check fails', () => {
  let ca: CaFixture;
  let root: ReturnType<typeof makeRoot>;
  let goodCsr: string;
  const now = new Date();
  beforeEach(() => {
    ca = createCa();
    root = makeRoot(ca, { now });
    goodCsr = hsmCsr(ca, { type: 'RSA', bits: 2048 }, 'online-1').pem;
  });
  afterEach(() => ca.close());

  const refused = (fn: () => unknown, code: string, message?: RegExp): string => expectRefused(ca, fn, code, message);

  const intermediate = (o: { csr?: string | Uint8Array; profile?: CertificateProfile; notBefore?: Date; notAfter?: Date; issuer?: string | Uint8Array; random?: (n: number) => Buffer } = {}): PreparedCertificate =>
    prepareIntermediate({
      profile: o.profile ?? defaultProfile('intermediate'),
      csr: o.csr ?? goodCsr,
      issuerCertificate: o.issuer ?? root.issued.der,
      now,
      random: o.random ?? ca.random,
      store: ca.store,
      ...(o.notBefore === undefined ? {} : { notBefore: o.notBefore }),
      ...(o.notAfter === undefined ? {} : { notAfter: o.notAfter }),
    });

  // Bad input table: each case is named by what is wrong with the request.
  const cases: Array<{ name: string; code: string; message: RegExp; setup?: () => Buffer; run: (input?: Buffer) => unknown }> = [
    {
      name: 'CSR signature altered',
      code: 'ERR_PKI_CSR_SIGNATURE_INVALID',
      message: /the CSR is refused: the signature does not verify/u,
      run: () => {
        const der = Buffer.from(parsePemOne(goodCsr, 'CERTIFICATE REQUEST'));
        der[der.length - 10] = (der[der.length - 10] as number) ^ 0x55;
        return intermediate({ csr: der });
      },
    },
    { name: 'CSR key RSA-1024', code: 'ERR_PKI_KEY_WEAK', message: /RSA-1024 is too small/u, run: () => intermediate({ csr: opensslCsr(ca.dir, 'weak', ['-newkey', 'rsa:1024']) }) },
    { name: 'CSR key on an unknown curve (secp256k1)', code: 'ERR_PKI_KEY_UNSUPPORTED', message: /curve secp256k1 is not accepted/u, run: () => intermediate({ csr: opensslCsr(ca.dir, 'k1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']) }) },
    { name: 'CSR key on P-521', code: 'ERR_PKI_KEY_UNSUPPORTED', message: /curve P-521/u, run: () => intermediate({ csr: opensslCsr(ca.dir, 'p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']) }) },
    { name: 'CSR key type not in the profile (EC for the RSA profile)', code: 'ERR_PKI_KEY_UNSUPPORTED', message: /EC P-256 is not allowed by the profile \(allowed: rsa-2048\)/u, run: () => intermediate({ csr: opensslCsr(ca.dir, 'ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']) }) },
    { name: 'CSR is garbage DER', code: 'ERR_PKI_DER_INVALID', message: /not valid DER/u, run: () => intermediate({ csr: Buffer.from('3082ffff0000deadbeef', 'hex') }) },
    { name: 'CSR DER truncated', code: 'ERR_PKI_DER_INVALID', message: /truncated|runs past/u, run: () => intermediate({ csr: parsePemOne(goodCsr, 'CERTIFICATE REQUEST').subarray(0, 200) }) },
    { name: 'CSR PEM with trailing junk', code: 'ERR_PKI_PEM_INVALID', message: /outside any BEGIN\/END block/u, run: () => intermediate({ csr: `${goodCsr}-----junk\n` }) },
    { name: 'CSR given as a certificate', code: 'ERR_PKI_PEM_INVALID', message: /'CERTIFICATE' block; expected 'CERTIFICATE REQUEST'/u, run: () => intermediate({ csr: root.issued.pem }) },
    { name: 'CSR oversized', code: 'ERR_INPUT_TOO_LARGE', message: /more than the limit/u, run: () => intermediate({ csr: Buffer.alloc(200_000, 0x30) }) },
    { name: 'notAfter beyond the root', code: 'ERR_PKI_VALIDITY_INVALID', message: /beyond the issuer's notAfter/u, run: () => intermediate({ notBefore: new Date(root.issued.info.notAfter.getTime() - 30 * 86_400_000), notAfter: new Date(root.issued.info.notAfter.getTime() + 86_400_000) }) },
    { name: 'notAfter beyond the profile', code: 'ERR_PKI_VALIDITY_INVALID', message: /beyond the profile 'intermediate' maximum of 90d/u, run: () => intermediate({ notAfter: new Date(now.getTime() + 100 * 86_400_000) }) },
    { name: 'notBefore after the root expires', code: 'ERR_PKI_VALIDITY_INVALID', message: /not before the issuer's notAfter/u, run: () => intermediate({ notBefore: new Date(root.issued.info.notAfter.getTime() + 86_400_000) }) },
    { name: 'notBefore in the past (backdating)', code: 'ERR_PKI_VALIDITY_INVALID', message: /in the past/u, run: () => intermediate({ notBefore: new Date(now.getTime() - 7 * 86_400_000) }) },
    { name: 'profile with unknown fields', code: 'ERR_PKI_PROFILE_INVALID', message: /copyExtensionsFromCsr \(line \d+\): is not a known field/u, run: () => intermediate({ profile: parseProfile(`${JSON.stringify(DEFAULT_PROFILE_INPUTS['intermediate']).slice(0, -1)},\n"copyExtensionsFromCsr": true}`, 'bad.json') as CertificateProfile }) },
    { name: 'profile of the wrong role', code: 'ERR_PKI_PROFILE_INVALID', message: /has role 'root'; this operation needs a 'intermediate' profile/u, run: () => intermediate({ profile: defaultProfile('root') }) },
    { name: 'issuer that is not a CA', code: 'ERR_PKI_CHAIN_INVALID', message: /is not a CA that may sign certificates/u, setup: () => makeTransfer(), run: (transfer) => intermediate({ issuer: transfer }) },
    {
      name: 'root certificate altered (self-signature no longer verifies)',
      code: 'ERR_PKI_CHAIN_INVALID',
      message: /claims to be self-signed but its signature does not verify/u,
      run: () => {
        const der = Buffer.from(root.issued.der);
        der[der.length - 20] = (der[der.length - 20] as number) ^ 0x01;
        return intermediate({ issuer: der });
      },
    },
    {
      name: 'serial collision (random source repeats a recorded serial)',
      code: 'ERR_PKI_SERIAL_COLLISION',
      message: /already recorded; nothing was signed/u,
      run: () => intermediate({ random: () => Buffer.from(root.issued.info.serial.slice(2), 'hex') }),
    },
  ];
  for (const c of cases) {
    it(`prepareIntermediate refuses: ${c.name}`, () => {
      const input = c.setup?.();
      refused(() => c.run(input), c.code, c.message);
    });
  }

  /** A self-signed transfer identity (CA:FALSE): not an issuer. */
  function makeTransfer(): Buffer {
    const k = hsmKey(ca, { type: 'EC', curve: 'P-256' }, 'xfer');
    const p = prepareSelfSigned({ profile: defaultProfile('transfer'), spki: k.spki, now, random: ca.random, store: ca.store });
    return signPrepared(p, k.signer(p.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }).der;
  }

  it('a CSR asking for CA:TRUE, a path length and extra SANs gets none of them: only the profile decides', () => {
    const csr = opensslCsr(ca.dir, 'greedy', ['-newkey', 'rsa:2048'], '/CN=evil root', ['basicConstraints=critical,CA:TRUE,pathlen:5', 'subjectAltName=DNS:evil.example.com,URI:spiffe://evil.org', 'keyUsage=critical,digitalSignature,keyCertSign,cRLSign', 'nameConstraints=critical,permitted;URI:evil.org']);
    const prepared = intermediate({ csr });
    expect(prepared.notes.join('\n')).toMatch(/the CSR asked for basicConstraints CA:TRUE, pathLen:5; subjectAltName DNS:evil\.example\.com, URI:spiffe:\/\/evil\.org; keyUsage digitalSignature, keyCertSign, cRLSign; nameConstraints: ignored/u);
    expect(prepared.csr?.requestedExtensions.length).toBe(4);
    const issued = signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
    const text = runOk('openssl', ['x509', '-in', ca.file('greedy.pem', issued.pem), '-noout', '-text']);
    expect(text).not.toContain('evil');
    expect(text).toMatch(/CA:TRUE, pathlen:0/u);
    expect(text).toMatch(/Subject: O = NEAM CA, CN = NEAM Intermediate CA/u);
    expect(text).toMatch(/URI:spiffe:\/\/example\.org\n/u);
    expect(issued.info.keyUsage?.usages).toEqual(['keyCertSign', 'cRLSign']);
  });

  it('prepareCertificate refuses to have the root issue anything but an intermediate CA', () => {
    const spki = hsmKey(ca, { type: 'EC', curve: 'P-256' }, 'leaf-by-root').spki;
    const leaf = refused(
      () => prepareCertificate({ profile: defaultProfile('workload-svid'), spki, issuerCertificate: root.issued.der, sans: { uris: ['spiffe://example.org/web'] }, now, random: ca.random, store: ca.store }),
      'ERR_PKI_PROFILE_INVALID',
    );
    expect(leaf).toMatch(/the root 'CN=NEAM Root CA,O=NEAM CA' signs only intermediate CA certificates and CRLs; profile 'workload-svid' has role 'leaf'/u);
    refused(() => prepareCertificate({ profile: defaultProfile('workload-svid'), spki, issuerCertificate: root.issued.der, sans: { dnsNames: ['a.example.org'] }, now, random: ca.random, store: ca.store }), 'ERR_PKI_PROFILE_INVALID', /signs only intermediate CA certificates/u);
    // The same key as an intermediate from a CSR is fine (the root's one job).
    expect(intermediate().profile.role).toBe('intermediate');
  });

  it('the linter catches a broken profile (keyCertSign on a leaf) before the HSM is called', () => {
    const leafKeyCertSign = profileWith('workload-svid', { keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign'] } });
    const int = signPrepared(intermediate(), root.key.signer('RSA-PKCS1-SHA256'), { store: ca.store, ceremony: CEREMONY, now });
    const spki = hsmKey(ca, { type: 'EC', curve: 'P-256' }, 'workload').spki;
    const message = refused(
      () => prepareCertificate({ profile: leafKeyCertSign, spki, issuerCertificate: int.der, sans: { uris: ['spiffe://example.org/web'] }, now, random: ca.random, store: ca.store }),
      'ERR_PKI_LINT_FAILED',
      /failed the lint before signing \(2 problems\); nothing was signed/u,
    );
    expect(message).toMatch(/\[rfc5280\.keycertsign-requires-ca\] extensions\.keyUsage: keyCertSign is asserted but basicConstraints cA is not TRUE/u);
    expect(message).toMatch(/\[x509svid\.leaf-no-cert-or-crl-sign\]/u);
  });

  it('a root profile that breaks RFC 5280 (CA without keyCertSign, basicConstraints not critical) is refused before signing', () => {
    const bad = profileWith('root', { subjectKey: ['rsa-2048'], basicConstraints: { critical: false, ca: true, pathLen: 1 }, keyUsage: { critical: true, usages: ['cRLSign'] } });
    const key = hsmKey(ca, { type: 'RSA', bits: 2048 }, 'root-2');
    const message = refused(() => prepareRoot({ profile: bad, spki: key.spki, now, random: ca.random, store: ca.store }), 'ERR_PKI_LINT_FAILED');
    expect(message).toMatch(/rfc5280\.ca-basic-constraints-critical/u);
    expect(message).toMatch(/rfc5280\.ca-requires-keycertsign/u);
    expect(message).toMatch(/rfc5280\.pathlen-requires-ca/u);
  });

  describe('signPrepared guards (between prepare and sign nothing may change)', () => {
    let prepared: PreparedCertificate;
    beforeEach(() => {
      prepared = intermediate();
    });

    it('refuses prepared bytes that were altered after preparation', () => {
      const tampered = { ...prepared, tbsDer: Buffer.from(prepared.tbsDer) };
      tampered.tbsDer[tampered.tbsDer.length - 1] = (tampered.tbsDer[tampered.tbsDer.length - 1] as number) ^ 1;
      refused(() => signPrepared(tampered, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_PKI_TBS_MISMATCH', /changed after it was prepared/u);
    });

    it('refuses when the approved digest is not the digest of the prepared bytes', () => {
      refused(() => signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: '00'.repeat(32) }), 'ERR_PKI_TBS_MISMATCH', /not the approved ones/u);
    });

    it('refuses an altered prepared object whose digest was recomputed (re-lint catches the changed profile)', () => {
      const weaker = { ...prepared, profile: { ...prepared.profile, validity: { duration: '1d', backdate: '0s' } } };
      refused(() => signPrepared(weaker, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_PKI_LINT_FAILED', /profile\.validity-duration/u);
      refused(() => signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectProfileSha256: 'ab'.repeat(32) }), 'ERR_PKI_PROFILE_INVALID');
    });

    it("refuses a signing key that is not the issuer's", () => {
      const other = hsmKey(ca, { type: 'RSA', bits: 2048 }, 'not-root');
      refused(() => signPrepared(prepared, other.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_HSM_KEY_MISMATCH', /is not the issuer's key/u);
    });

    it('refuses a signature that does not verify, and records nothing (one HSM signature was made and discarded)', () => {
      const real = root.key.signer(prepared.signatureAlgorithm);
      const lying: Signer = { algorithm: real.algorithm, spki: real.spki, sign: (data) => real.sign(Buffer.concat([Buffer.from(data), Buffer.from([0])])) };
      const sigs = ca.fx.hsm.stats.signatures;
      const counts = ca.counts();
      const e = caught(() => signPrepared(prepared, lying, { store: ca.store, ceremony: CEREMONY, now }));
      expect(e.code).toBe('ERR_PKI_SIGNATURE_INVALID');
      expect(ca.fx.hsm.stats.signatures).toBe(sigs + 1);
      expect(ca.counts()).toEqual(counts);
    });

    it('signs the approved bytes exactly once; signing the same prepared object again is a serial collision', () => {
      const issued = signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: prepared.tbsSha256 });
      expect(issued.info.tbsDer.equals(prepared.tbsDer)).toBe(true);
      expect(parseCertificate(toPem('CERTIFICATE', issued.der)).tbsSha256).toBe(prepared.tbsSha256);
      refused(() => signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now }), 'ERR_PKI_SERIAL_COLLISION');
    });

    it('refuses to sign a certificate that would already be expired at signing time', () => {
      refused(() => signPrepared(prepared, root.key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now: new Date(now.getTime() + 100 * 86_400_000) }), 'ERR_PKI_VALIDITY_INVALID', /would be expired at signing time/u);
    });
  });
});
