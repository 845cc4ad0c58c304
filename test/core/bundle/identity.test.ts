import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  BUNDLE_MIGRATIONS,
  BundleState,
  buildTransferCertificate,
  checkTransferCertificate,
  enrollPeer,
  fileIdentitySigner,
  formatFingerprint,
  generateFileIdentity,
  generateHsmIdentity,
  loadKeyFileSigner,
  normalizeFingerprint,
  pinRoot,
  recordIdentity,
  toPem,
  writeEncryptedKeyFile,
} from '../../../core/bundle/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { openStore } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { createSoftHsm, tempDir, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { expectCode, makeRoot, snapshot } from './fixtures.ts';

const KDF = { N: 2 ** 15, r: 8, p: 1 };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('transfer identities', () => {
  let hsm: SoftHsmFixture;
  let t: { dir: string; cleanup(): void };
  beforeAll(() => {
    hsm = createSoftHsm('transfer');
    t = tempDir();
  });
  afterAll(() => {
    hsm.close();
    t.cleanup();
  });
  const newState = (name: string): BundleState => new BundleState(openStore(join(t.dir, `${name}.db`), { migrations: [BUNDLE_MIGRATIONS] }));

  it('an HSM transfer key is generated inside the token (sensitive, never extractable) and signs its own 2-year certificate, which OpenSSL and GnuTLS accept', () => {
    const now = new Date();
    const g = generateHsmIdentity(hsm.session, { name: 'NEAM CA transfer: offline', keyLabel: 'tk-1', now });
    const priv = hsm.session.findKey('private', 'tk-1');
    expect(hsm.session.protection(priv)).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, local: true, sign: true, decrypt: false });
    const info = checkTransferCertificate(g.certificate, now);
    // core/pki's transfer profile: 2 calendar years.
    const twoYears = new Date(info.notBefore);
    twoYears.setUTCFullYear(twoYears.getUTCFullYear() + 2);
    expect(info.notAfter.toISOString()).toBe(twoYears.toISOString());
    expect(info.fingerprint).toBe(g.fingerprint);
    writeFileSync(join(t.dir, 'tk.pem'), toPem('CERTIFICATE', g.certificate));
    expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', join(t.dir, 'tk.pem'), join(t.dir, 'tk.pem')])).toContain('OK');
    expect(runOk('openssl', ['x509', '-in', join(t.dir, 'tk.pem'), '-noout', '-fingerprint', '-sha256']).toLowerCase().replace(/:/gu, '')).toContain(g.fingerprint);
    const gnutls = run('certtool', ['--certificate-info', '--infile', join(t.dir, 'tk.pem')]);
    expect(gnutls.status, gnutls.stderr).toBe(0);
    expect(gnutls.stdout).toMatch(/Basic Constraints \(critical\):\s+Certificate Authority \(CA\): FALSE/u);
    expect(gnutls.stdout).toMatch(/Key Usage \(critical\):\s+Digital signature\./u);
    expect(gnutls.stdout).toContain('Signature Algorithm: ECDSA-SHA256');
    // The label is refused a second time (boulder's rule: never reuse a key label).
    expectCode(() => generateHsmIdentity(hsm.session, { name: 'again', keyLabel: 'tk-1', now }), 'ERR_HSM_OBJECT_EXISTS');
  });

  it('a file transfer key is sealed (mode 0600, no key bytes in clear) and opens only with its passphrase', () => {
    const path = join(t.dir, 'online.key');
    const pass = Secret.fromString('a long enough passphrase');
    const g = generateFileIdentity({ name: 'online', path, passphrase: pass, now: new Date(), kdf: KDF });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('PRIVATE KEY');
    expect(JSON.parse(text)).toMatchObject({ format: 'neam-transfer-key/1', cipher: 'aes-256-gcm', kdf: { name: 'scrypt', N: KDF.N } });
    expect(loadKeyFileSigner(path, pass).spki.equals(g.signer.spki)).toBe(true);
    expect(expectCode(() => loadKeyFileSigner(path, Secret.fromString('the wrong passphrase')), 'ERR_SECRET_INVALID').message).toMatch(/passphrase is wrong/u);
    expect(expectCode(() => generateFileIdentity({ name: 'x', path, passphrase: pass, now: new Date(), kdf: KDF }), 'ERR_ALREADY_EXISTS').code).toBe('ERR_ALREADY_EXISTS');
    // A weakened KDF in the header is detected (authenticated header / minimum cost).
    const weak = JSON.parse(text) as { kdf: { N: number } };
    weak.kdf.N = 2 ** 10;
    writeFileSync(join(t.dir, 'weak.key'), JSON.stringify(weak), { mode: 0o600 });
    expectCode(() => loadKeyFileSigner(join(t.dir, 'weak.key'), pass), 'ERR_SECRET_INVALID');
    const swapped = JSON.parse(text) as { kdf: { N: number } };
    swapped.kdf.N = 2 ** 16;
    writeFileSync(join(t.dir, 'swapped.key'), JSON.stringify(swapped), { mode: 0o600 });
    expectCode(() => loadKeyFileSigner(join(t.dir, 'swapped.key'), pass), 'ERR_SECRET_INVALID');
    chmodSync(path, 0o644);
    expect(expectCode(() => loadKeyFileSigner(path, pass), 'ERR_SECRET_INVALID').message).toContain('chmod 600');
    chmodSync(path, 0o600);
    expectCode(() => writeEncryptedKeyFile(join(t.dir, 'short.key'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, Secret.fromString('short'), KDF), 'ERR_SECRET_INVALID');
    // The identity's signer refuses a key file that holds another key.
    const s = newState('file-id');
    const id = recordIdentity(s, g, new Date());
    expect(fileIdentitySigner(id, pass).spki.equals(g.signer.spki)).toBe(true);
    expectCode(() => recordIdentity(s, g, new Date()), 'ERR_ALREADY_EXISTS');
  });

  describe('enrollment pins a peer only when the fingerprint read aloud matches', () => {
    const now = new Date();
    const make = (opts: { now?: Date } = {}): Buffer => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return buildTransferCertificate({ signer: softwareSigner(privateKey, 'ECDSA-SHA256'), commonName: 'peer', now: opts.now ?? now, random: randomBytes });
    };
    const other = (key: string[], days = '30'): Buffer => {
      const d = join(t.dir, `o-${randomBytes(3).toString('hex')}`);
      runOk('openssl', ['req', '-x509', ...key, '-nodes', '-keyout', `${d}.key`, '-subj', '/CN=other', '-days', days, '-addext', 'basicConstraints=critical,CA:FALSE', '-outform', 'DER', '-out', `${d}.der`]);
      return readFileSync(`${d}.der`);
    };

    it('accepts the fingerprint as people read it (colons, spaces, upper case)', () => {
      const s = newState('enroll-ok');
      const cert = make();
      const spoken = formatFingerprint(sha(cert)).toUpperCase();
      expect(spoken).toMatch(/^([0-9A-F]{4} ){15}[0-9A-F]{4}$/u);
      const pin = enrollPeer(s, { name: 'online-ca', certificate: Buffer.from(toPem('CERTIFICATE', cert)), fingerprint: spoken, now });
      expect(pin).toMatchObject({ peer: 'online-ca', status: 'current', pinnedBy: 'enrollment', fingerprint: sha(cert) });
      expect(normalizeFingerprint(sha(cert).match(/../gu)?.join(':') ?? '')).toBe(sha(cert));
    });

    // Table named by the violated property.
    const cases: Array<[string, () => { cert: Buffer; fp?: string; name?: string }, string, RegExp?]> = [
      ['fingerprint (mismatch)', () => ({ cert: make(), fp: 'ab'.repeat(32) }), 'ERR_BUNDLE_IDENTITY_INVALID', /not the .* that was read aloud/u],
      ['fingerprint (not hex)', () => ({ cert: make(), fp: 'hello' }), 'ERR_INPUT_INVALID'],
      ['key (P-384)', () => ({ cert: other(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']) }), 'ERR_BUNDLE_IDENTITY_INVALID', /P-256/u],
      ['key (RSA)', () => ({ cert: other(['-newkey', 'rsa:2048']) }), 'ERR_BUNDLE_IDENTITY_INVALID', /P-256/u],
      ['validity (expired)', () => ({ cert: make({ now: new Date(now.getTime() - 800 * 86_400_000) }) }), 'ERR_BUNDLE_IDENTITY_INVALID', /expired/u],
      ['validity (over 2 years)', () => ({ cert: other(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '1000') }), 'ERR_BUNDLE_IDENTITY_INVALID', /more than 2 years/u],
      ['certificate (garbage)', () => ({ cert: randomBytes(200) }), 'ERR_BUNDLE_IDENTITY_INVALID'],
      ['name', () => ({ cert: make(), name: 'Bad Name!' }), 'ERR_INPUT_INVALID'],
    ];
    for (const [field, build, code, message] of cases) {
      it(`refuses: ${field}`, () => {
        const s = newState(`enroll-${randomBytes(3).toString('hex')}`);
        const before = snapshot(s.store);
        const c = build();
        const e = expectCode(() => enrollPeer(s, { name: c.name ?? 'peer', certificate: c.cert, fingerprint: c.fp ?? sha(c.cert), now: new Date() }), code as never);
        if (message !== undefined) expect(e.message).toMatch(message);
        expect(snapshot(s.store)).toBe(before);
      });
    }

    it('refuses a second peer with the same name or certificate, and our own certificate', () => {
      const s = newState('enroll-dup');
      const cert = make();
      enrollPeer(s, { name: 'a', certificate: cert, fingerprint: sha(cert), now });
      const c2 = make();
      expectCode(() => enrollPeer(s, { name: 'a', certificate: c2, fingerprint: sha(c2), now }), 'ERR_ALREADY_EXISTS');
      expectCode(() => enrollPeer(s, { name: 'b', certificate: cert, fingerprint: sha(cert), now }), 'ERR_ALREADY_EXISTS');
      const mine = generateHsmIdentity(hsm.session, { name: 'me', keyLabel: `tk-${randomBytes(3).toString('hex')}`, now });
      recordIdentity(s, mine, now);
      expectCode(() => enrollPeer(s, { name: 'c', certificate: mine.certificate, fingerprint: mine.fingerprint, now }), 'ERR_BUNDLE_IDENTITY_INVALID');
    });

    it('pins a root only for an enrolled peer, with the right fingerprint, and only a self-signed CA', () => {
      const s = newState('roots');
      const root = makeRoot(join(t.dir, `root-${randomBytes(3).toString('hex')}`));
      expectCode(() => pinRoot(s, { peer: 'nobody', certificate: root.der, fingerprint: sha(root.der), now }), 'ERR_NOT_FOUND');
      const cert = make();
      enrollPeer(s, { name: 'offline-root', certificate: cert, fingerprint: sha(cert), now });
      expectCode(() => pinRoot(s, { peer: 'offline-root', certificate: root.der, fingerprint: 'cd'.repeat(32), now }), 'ERR_BUNDLE_IDENTITY_INVALID');
      expectCode(() => pinRoot(s, { peer: 'offline-root', certificate: cert, fingerprint: sha(cert), now }), 'ERR_BUNDLE_IDENTITY_INVALID');
      expect(pinRoot(s, { peer: 'offline-root', certificate: Buffer.from(root.pem), fingerprint: sha(root.der), now }).fingerprint).toBe(sha(root.der));
      expectCode(() => pinRoot(s, { peer: 'offline-root', certificate: root.der, fingerprint: sha(root.der), now }), 'ERR_ALREADY_EXISTS');
    });
  });
});
