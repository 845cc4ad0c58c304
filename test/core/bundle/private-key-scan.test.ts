import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createBundle, findPrivateKeyMaterial } from '../../../core/bundle/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { expectCode, file, index, istioPayload, makeWorld, snapshot, type World } from './fixtures.ts';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const b64 = (b: Buffer): string => b.toString('base64');
const certLike = (): Buffer => Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0xf0, 0xa0, 0x03, 0x02, 0x01, 0x02]), randomBytes(240)]);

describe('findPrivateKeyMaterial', () => {
  const positives: Array<[string, () => Buffer]> = [
    ['PEM PKCS#8 (PRIVATE KEY)', () => Buffer.from(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }))],
    ['PEM SEC1 (EC PRIVATE KEY)', () => Buffer.from(ec.privateKey.export({ type: 'sec1', format: 'pem' }))],
    ['PEM PKCS#1 (RSA PRIVATE KEY)', () => Buffer.from(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }))],
    ['PEM encrypted PKCS#8', () => Buffer.from(ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass phrase!' }))],
    ['PEM Ed25519 PKCS#8', () => Buffer.from(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }))],
    ['PEM OpenSSH', () => Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n')],
    ['PEM DSA', () => Buffer.from('-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQ==\n-----END DSA PRIVATE KEY-----\n')],
    ['PEM lower-case label', () => Buffer.from('-----begin private key-----\nAAAA\n-----end private key-----\n')],
    ['PGP private key block', () => Buffer.from('-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\n')],
    ['DER PKCS#8', () => ec.privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['DER SEC1', () => ec.privateKey.export({ type: 'sec1', format: 'der' })],
    ['DER PKCS#1 RSA', () => rsa.privateKey.export({ type: 'pkcs1', format: 'der' })],
    ['DER encrypted PKCS#8', () => ec.privateKey.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: 'pass phrase!' })],
    ['DER PKCS#8 embedded at an offset in other bytes', () => Buffer.concat([randomBytes(333), ec.privateKey.export({ type: 'pkcs8', format: 'der' }), randomBytes(100)])],
    ['DER SEC1 after a certificate-like structure', () => Buffer.concat([certLike(), ec.privateKey.export({ type: 'sec1', format: 'der' })])],
    ['base64 DER in a YAML value', () => Buffer.from(`data:\n  tls.crt: ${b64(ec.privateKey.export({ type: 'pkcs8', format: 'der' }))}\n`)],
    ['base64url DER in JSON', () => Buffer.from(JSON.stringify({ blob: ec.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64url') }))],
    ['base64 of a PEM private key (a Kubernetes Secret value)', () => Buffer.from(`data:\n  ca.pem: ${b64(Buffer.from(ec.privateKey.export({ type: 'sec1', format: 'pem' })))}\n`)],
    ['a key inside an innocently labelled PEM block', () => Buffer.from(`-----BEGIN CERTIFICATE-----\n${b64(rsa.privateKey.export({ type: 'pkcs1', format: 'der' })).replace(/(.{64})/gu, '$1\n')}\n-----END CERTIFICATE-----\n`)],
    ['JWK private key', () => Buffer.from(JSON.stringify(ec.privateKey.export({ format: 'jwk' })))],
    ['PuTTY key file', () => Buffer.from('PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n')],
  ];
  for (const [name, make] of positives) {
    it(`finds ${name}`, () => {
      const found = findPrivateKeyMaterial(make());
      expect(found, name).toBeDefined();
      // The description never carries the material.
      expect(found).not.toMatch(/[A-Za-z0-9+/]{40,}/u);
    });
  }

  it('finds a PKCS#12 file (made by OpenSSL)', () => {
    const t = tempDir();
    const d = join(t.dir, 'p12');
    writeFileSync(`${d}.key`, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    runOk('openssl', ['req', '-x509', '-new', '-key', `${d}.key`, '-subj', '/CN=p12', '-days', '1', '-out', `${d}.crt`]);
    runOk('openssl', ['pkcs12', '-export', '-inkey', `${d}.key`, '-in', `${d}.crt`, '-passout', 'pass:x', '-out', `${d}.p12`]);
    expect(findPrivateKeyMaterial(readFileSync(`${d}.p12`))).toBeDefined();
    t.cleanup();
  });

  const negatives: Array<[string, () => Buffer]> = [
    ['a public key PEM', () => Buffer.from(ec.publicKey.export({ type: 'spki', format: 'pem' }))],
    ['a public JWK', () => Buffer.from(JSON.stringify(ec.publicKey.export({ format: 'jwk' })))],
    ['a certificate-like DER blob', certLike],
    ['random bytes', () => randomBytes(65536)],
    ['ordinary YAML', () => Buffer.from(istioPayload()[1]?.data ?? '')],
    ['long base64 of random bytes', () => Buffer.from(b64(randomBytes(3000)))],
  ];
  for (const [name, make] of negatives) {
    it(`finds nothing in ${name}`, () => {
      expect(findPrivateKeyMaterial(make())).toBeUndefined();
    });
  }

  it('does not crash on a 16 MiB run of base64 characters (a regular expression would overflow the stack)', () => {
    expect(findPrivateKeyMaterial(Buffer.alloc(16 * 1024 * 1024, 0x41))).toBeUndefined();
  });

  it('stays linear on a hostile file of unterminated PEM headers', () => {
    const hostile = Buffer.from('-----BEGIN A-----\n'.repeat(200_000));
    const t = process.hrtime.bigint();
    expect(findPrivateKeyMaterial(hostile)).toBeUndefined();
    // Not a performance assertion: a quadratic scan would not finish within the test timeout.
    expect(process.hrtime.bigint() - t).toBeGreaterThan(0n);
  });
});

describe('creating a bundle with private key material fails and records nothing', () => {
  let w: World;
  beforeAll(() => {
    w = makeWorld();
  });
  afterAll(() => w.close());

  const payloads: Array<[string, () => Buffer]> = [
    ['PEM EC key in a text file', () => Buffer.from(`notes\n${ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString()}`)],
    ['DER PKCS#8 renamed .txt', () => ec.privateKey.export({ type: 'pkcs8', format: 'der' })],
    ['encrypted PKCS#8 PEM', () => Buffer.from(rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'passphrase 123' }))],
  ];
  for (const [name, make] of payloads) {
    it(`refuses ${name}`, () => {
      const before = snapshot(w.offline.store);
      const files = [...istioPayload().filter((f) => f.path !== 'payload/index.json'), file('payload/notes.txt', make())];
      const idx = index({ manifests: [{ path: 'payload/istio/peer-authentication.yaml' }] });
      const e = expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: [idx, ...files], signer: w.offline.signer, now: w.now, write: () => expect.unreachable() }), 'ERR_BUNDLE_PRIVATE_KEY');
      expect(e.message).toContain('payload/notes.txt');
      expect(snapshot(w.offline.store)).toBe(before);
    });
  }

  it('refuses an Istio Secret that carries a key file even when the value is not a key', () => {
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: cacerts\n  namespace: istio-system\ndata:\n  ca-cert.pem: QUJD\n  ca-key.pem: QUJD\n';
    const e = expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload({ 'payload/istio/cacerts.yaml': secret }), signer: w.offline.signer, now: w.now }), 'ERR_BUNDLE_PRIVATE_KEY');
    expect(e.message).toContain("'ca-key.pem'");
  });
});
