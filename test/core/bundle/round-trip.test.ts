import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  createBundle,
  enrollPeer,
  extractBundle,
  fileIdentitySigner,
  generateFileIdentity,
  generateHsmIdentity,
  hsmIdentitySigner,
  importBundle,
  inspectBundle,
  readBundleFile,
  rotateIdentity,
  toPem,
  unpackBundle,
  verifyBundle,
  writeBundleFile,
  type BuiltBundle,
} from '../../../core/bundle/index.ts';
import type { Signer } from '../../../core/crypto/signer.ts';
import { Secret } from '../../../core/util/secret.ts';
import { run, runOk } from '../../helpers/tools.ts';
import {
  craft,
  csrSha256,
  expectCode,
  file,
  index,
  issuancePayload,
  issue,
  istioPayload,
  makeCrl,
  makeCsr,
  makeWorld,
  ONLINE_PASSPHRASE,
  requestPayload,
  snapshot,
  stockVerify,
  type World,
} from './fixtures.ts';

const DAY = 86_400_000;

describe('bundle round trip for every kind (offline key in SoftHSM, online key in an encrypted file)', () => {
  let w: World;
  let csrA: { pem: string; keyPath: string };
  let csrB: { pem: string; keyPath: string };
  let certA: string;
  let onlineSigner: Signer;
  let n = 0;
  const oracleDir = (): string => join(w.dir, `oracle-${++n}`);

  beforeAll(() => {
    w = makeWorld();
    onlineSigner = w.online.signer;
    const csrDir = join(w.dir, 'csr');
    mkdirSync(csrDir);
    csrA = makeCsr(csrDir, 'intermediate-a');
    csrB = makeCsr(csrDir, 'intermediate-b', 'ec');
  });
  afterAll(() => w.close());

  it('intermediate-request (online → offline): stock tools verify it, the offline side imports it, the online side records the CSRs it sent', () => {
    const files = requestPayload([
      { name: 'intermediate-a', csrPem: csrA.pem, notBefore: new Date(w.now.getTime() - 60_000), notAfter: new Date(w.now.getTime() + 100 * DAY) },
      { name: 'intermediate-b', csrPem: csrB.pem, notBefore: new Date(w.now.getTime() - 60_000), notAfter: new Date(w.now.getTime() + 100 * DAY) },
    ]);
    const b = createBundle(w.online.state, { kind: 'intermediate-request', to: 'offline-root', files, signer: onlineSigner, now: w.now });
    expect(b.manifest).toMatchObject({ formatVersion: 1, kind: 'intermediate-request', sequence: 1, previousManifestSha256: null, sender: w.online.identity.fingerprint, recipient: w.offline.identity.fingerprint });
    const stock = stockVerify(b.bytes, w.online.certDer, oracleDir());
    expect(stock.sums).toContain('payload/csr/intermediate-a.csr: OK');
    expect(stock.files).toContain('payload/index.json');
    const r = importBundle(w.offline.state, b.bytes, { now: w.now });
    expect(r).toMatchObject({ alreadyImported: false, peer: 'online-ca', manifestSha256: b.manifestSha256 });
    const received = w.offline.state.receivedFiles(b.manifestSha256);
    expect(received.map((f) => f.path)).toEqual(['payload/csr/intermediate-a.csr', 'payload/csr/intermediate-b.csr', 'payload/index.json']);
    expect(received[0]?.data.toString()).toBe(csrA.pem);
    const sent = w.online.state.sentCsrs('offline-root');
    expect(sent.map((s) => [s.name, s.csrSha256, s.answeredBy])).toEqual([
      ['intermediate-a', csrSha256(csrA.pem), null],
      ['intermediate-b', csrSha256(csrB.pem), null],
    ]);
    expect(w.online.state.channel('offline-root', 'out')).toMatchObject({ lastSequence: 1, lastManifestSha256: b.manifestSha256 });
    expect(w.offline.state.channel('online-ca', 'in')).toMatchObject({ lastSequence: 1, lastManifestSha256: b.manifestSha256 });
  });

  it('intermediate-issuance (offline → online, signed inside SoftHSM): chains to the pinned root, answers our CSR; stock tools agree', () => {
    certA = issue(w.root, csrA.pem, 'intermediate-a', 90);
    const files = issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'intermediate-a', pem: certA, csrPem: csrA.pem }]);
    const before = w.hsm.hsm.stats.signatures;
    const b = createBundle(w.offline.state, { kind: 'intermediate-issuance', to: 'online-ca', files, signer: w.offline.signer, now: w.now });
    expect(w.hsm.hsm.stats.signatures).toBeGreaterThan(before);
    stockVerify(b.bytes, w.offline.certDer, oracleDir());
    // The issued certificate itself verifies with OpenSSL against the root.
    const d = oracleDir();
    mkdirSync(d);
    writeFileSync(join(d, 'a.pem'), certA);
    writeFileSync(join(d, 'root.pem'), w.root.pem);
    expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', join(d, 'root.pem'), join(d, 'a.pem')])).toContain('OK');
    const r = importBundle(w.online.state, b.bytes, { now: w.now });
    expect(r.alreadyImported).toBe(false);
    const a = w.online.state.sentCsrs('offline-root').find((s) => s.name === 'intermediate-a');
    expect(a?.answeredBy).toMatch(/^[0-9a-f]{64}$/u);
    expect(w.online.state.crlNumber(w.online.state.rootPins('offline-root')[0]?.fingerprint ?? '')?.crlNumber).toBe(0x1000n);
  });

  it('crl (offline → online): the newer root CRL imports and its number is recorded', () => {
    makeCrl(w.root); // an intermediate CRL number that never travels
    const crl = makeCrl(w.root);
    const b = createBundle(w.offline.state, { kind: 'crl', to: 'online-ca', files: [index({ crls: [{ name: 'root', crl: 'payload/root.crl' }] }), file('payload/root.crl', crl)], signer: w.offline.signer, now: w.now });
    stockVerify(b.bytes, w.offline.certDer, oracleDir());
    importBundle(w.online.state, b.bytes, { now: w.now });
    const root = w.online.state.rootPins('offline-root')[0]?.fingerprint ?? '';
    expect(w.online.state.crlNumber(root)?.crlNumber).toBe(0x1002n);
  });

  it('revocation-request (online → offline), chained to the previous manifest', () => {
    const files = [index({ revocations: [{ certificate: 'payload/revoke/intermediate-a.pem', reason: 'superseded', comment: 'replaced by the next window' }] }), file('payload/revoke/intermediate-a.pem', certA)];
    const b = createBundle(w.online.state, { kind: 'revocation-request', to: 'offline-root', files, signer: onlineSigner, now: w.now });
    expect(b.manifest.sequence).toBe(2);
    expect(b.manifest.previousManifestSha256).toBe(w.online.state.sentAt('offline-root', 1)?.manifestSha256);
    stockVerify(b.bytes, w.online.certDer, oracleDir());
    expect(importBundle(w.offline.state, b.bytes, { now: w.now }).alreadyImported).toBe(false);
  });

  it('istio-manifests (offline → online)', () => {
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    expect(b.manifest.sequence).toBe(3);
    stockVerify(b.bytes, w.offline.certDer, oracleDir());
    expect(importBundle(w.online.state, b.bytes, { now: w.now }).alreadyImported).toBe(false);
    expect(w.online.state.receivedBundles({ kind: 'istio-manifests' })).toHaveLength(1);
  });

  it('importing the same bundle again changes nothing and says so (or refuses with requireNew)', () => {
    const b = w.online.state.sentAt('offline-root', 2);
    if (b === undefined) throw new Error('missing');
    const before = snapshot(w.offline.store);
    const again = importBundle(w.offline.state, b.bundle, { now: new Date(w.now.getTime() + 60_000) });
    expect(again).toMatchObject({ alreadyImported: true, manifestSha256: b.manifestSha256 });
    expect(again.importedAt).toBe(w.offline.state.received(b.manifestSha256)?.importedAt);
    expect(snapshot(w.offline.store)).toBe(before);
    const e = expectCode(() => importBundle(w.offline.state, b.bundle, { now: w.now, requireNew: true }), 'ERR_BUNDLE_ALREADY_IMPORTED');
    expect(e.message).toContain('nothing changed');
    expect(snapshot(w.offline.store)).toBe(before);
    // verify() reports it as well, without changing anything.
    expect(verifyBundle(b.bundle, w.offline.state, { now: w.now }).alreadyImported).toBe(true);
  });

  it('the online side rotates its identity: the rotation bundle is signed by the old key, then only the new key is trusted', () => {
    const pass = Secret.fromString(ONLINE_PASSPHRASE);
    const next = generateFileIdentity({ name: 'NEAM CA transfer: online 2', path: join(w.dir, 'online-transfer-2.key'), passphrase: pass, now: w.now, kdf: { N: 2 ** 15, r: 8, p: 1 } });
    const out: BuiltBundle[] = [];
    const rotated = rotateIdentity(w.online.state, { next, currentSigner: onlineSigner, now: w.now, write: (_peer, b) => out.push(b) });
    expect(rotated.identity.fingerprint).toBe(next.fingerprint);
    expect(out).toHaveLength(1);
    const bundle = out[0] as BuiltBundle;
    expect(bundle.manifest).toMatchObject({ kind: 'identity-rotation', sender: w.online.identity.fingerprint, sequence: 3 });
    stockVerify(bundle.bytes, w.online.certDer, oracleDir());
    importBundle(w.offline.state, bundle.bytes, { now: w.now });
    const pins = w.offline.state.pins('online-ca');
    expect(pins.map((p) => [p.fingerprint, p.status])).toEqual(
      expect.arrayContaining([
        [next.fingerprint, 'current'],
        [w.online.identity.fingerprint, 'retired'],
      ]),
    );
    expect(pins.find((p) => p.status === 'current')?.pinnedBy).toBe(`rotation:${bundle.manifestSha256}`);
    const oldSigner = onlineSigner;
    onlineSigner = fileIdentitySigner(rotated.identity, pass);
    pass.wipe();
    // The new key is trusted now…
    const files = [index({ revocations: [{ certificate: 'payload/revoke/a.pem', reason: 'keyCompromise' }] }), file('payload/revoke/a.pem', certA)];
    const next4 = createBundle(w.online.state, { kind: 'revocation-request', to: 'offline-root', files, signer: onlineSigner, now: w.now });
    stockVerify(next4.bytes, next.certificate, oracleDir());
    // …and the retired one is not, even for a well-formed next bundle.
    const before = snapshot(w.offline.store);
    const forged = craft({ ...w.online, signer: oldSigner, identity: { ...w.online.identity }, certDer: w.online.certDer }, w.offline, files, { kind: 'revocation-request', sequence: 4, previousManifestSha256: bundle.manifestSha256 });
    const e = expectCode(() => importBundle(w.offline.state, forged.bytes, { now: w.now }), 'ERR_BUNDLE_SIGNER_NOT_PINNED');
    expect(e.message).toContain('retired');
    expect(snapshot(w.offline.store)).toBe(before);
    importBundle(w.offline.state, next4.bytes, { now: w.now });
  });

  it('the offline side rotates its HSM-held identity, and a bundle to its retired identity is still accepted during the grace period', () => {
    const next = generateHsmIdentity(w.hsm.session, { name: 'NEAM CA transfer: offline 2', keyLabel: 'transfer-offline-2', now: w.now });
    const out: BuiltBundle[] = [];
    rotateIdentity(w.offline.state, { next, currentSigner: w.offline.signer, now: w.now, write: (_p, b) => out.push(b) });
    const rotation = out[0] as BuiltBundle;
    stockVerify(rotation.bytes, w.offline.certDer, oracleDir());
    // A bundle the online side made before learning of the rotation (addressed to the old identity):
    const files = [index({ revocations: [{ certificate: 'payload/revoke/a.pem', reason: 'cessationOfOperation' }] }), file('payload/revoke/a.pem', certA)];
    const late = createBundle(w.online.state, { kind: 'revocation-request', to: 'offline-root', files, signer: onlineSigner, now: w.now });
    expect(late.manifest.recipient).toBe(w.offline.identity.fingerprint);
    expect(importBundle(w.offline.state, late.bytes, { now: w.now }).alreadyImported).toBe(false);
    importBundle(w.online.state, rotation.bytes, { now: w.now });
    expect(w.online.state.currentPin('offline-root')?.fingerprint).toBe(next.fingerprint);
    // The new HSM key signs the next bundle; the online side and OpenSSL accept it.
    const newSigner = hsmIdentitySigner(w.offline.state.currentIdentity() ?? w.offline.identity, w.hsm.session);
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: newSigner, now: w.now });
    expect(b.manifest.sender).toBe(next.fingerprint);
    stockVerify(b.bytes, next.certificate, oracleDir());
    importBundle(w.online.state, b.bytes, { now: w.now });
    // The old HSM key can no longer create bundles here.
    expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now }), 'ERR_BUNDLE_IDENTITY_INVALID');
  });

  it('a bundle made with third-party tools only (openssl cms -sign, GNU tar --format=ustar) imports', () => {
    // A stand-in online side whose key openssl holds: enroll its certificate on a copy of the offline store.
    const d = oracleDir();
    mkdirSync(join(d, 'src', 'payload', 'istio'), { recursive: true });
    runOk('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(d, 'k.pem')]);
    runOk('openssl', ['req', '-x509', '-new', '-key', join(d, 'k.pem'), '-subj', '/O=Third party/CN=transfer', '-days', '700', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature', '-out', join(d, 'c.pem')]);
    const certDer = Buffer.from(readFileSync(join(d, 'c.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s+/gu, ''), 'base64');
    const offline = w.reopen(w.offline);
    const fp = runOk('openssl', ['x509', '-in', join(d, 'c.pem'), '-noout', '-fingerprint', '-sha256']).split('=')[1]?.trim() ?? '';
    // enrollPeer takes the fingerprint as people read it (colons, upper case).
    enrollPeer(offline.state, { name: 'third-party', certificate: readFileSync(join(d, 'c.pem')), fingerprint: fp, now: new Date() });
    const files = istioPayload();
    for (const f of files) writeFileSync(join(d, 'src', f.path), f.data);
    const sha = (b: Buffer): string => runOk('sha256sum', [], { input: b }).split(' ')[0] ?? '';
    const created = new Date(Math.floor(w.now.getTime() / 1000) * 1000);
    const manifest = {
      createdAt: created.toISOString().replace('.000Z', 'Z'),
      expiresAt: new Date(created.getTime() + 7 * DAY).toISOString().replace('.000Z', 'Z'),
      files: files.map((f) => ({ mediaType: f.path.endsWith('.json') ? 'application/json' : 'application/yaml', path: f.path, sha256: sha(f.data), size: f.data.length })).sort((a, b) => (a.path < b.path ? -1 : 1)),
      formatVersion: 1,
      id: '8f1c2d3e-4b5a-4c6d-9e7f-0a1b2c3d4e5f',
      kind: 'istio-manifests',
      previousManifestSha256: null,
      recipient: offline.state.currentIdentity()?.fingerprint,
      sender: sha(certDer),
      sequence: 1,
    };
    // jq -cS gives RFC 8785 form for this manifest (ASCII strings, integers, sorted keys).
    writeFileSync(join(d, 'm.json'), JSON.stringify(manifest));
    const canonical = runOk('jq', ['-cjS', '.', join(d, 'm.json')]);
    writeFileSync(join(d, 'src', 'manifest.json'), canonical);
    runOk('openssl', ['cms', '-sign', '-binary', '-nosmimecap', '-md', 'sha256', '-outform', 'DER', '-signer', join(d, 'c.pem'), '-inkey', join(d, 'k.pem'), '-in', join(d, 'src', 'manifest.json'), '-out', join(d, 'src', 'manifest.json.p7s')]);
    const tarred = join(d, 'third.neambundle');
    run('sh', ['-c', `tar --format=ustar --owner=0 --group=0 --numeric-owner --mode=0644 -cf ${tarred} manifest.json manifest.json.p7s $(find payload -type f | sort)`], { cwd: join(d, 'src') });
    const bytes = readBundleFile(tarred);
    const r = importBundle(offline.state, bytes, { now: new Date() });
    expect(r).toMatchObject({ alreadyImported: false, peer: 'third-party' });
  });

  it('bundle files: written exclusively, read back with the size checked first, inspected without trust, extracted atomically', () => {
    const b = w.offline.state.sentBundles('online-ca')[0];
    if (b === undefined) throw new Error('missing');
    const path = join(w.dir, 'out.neambundle');
    writeBundleFile(path, b.bundle);
    expectCode(() => writeBundleFile(path, b.bundle), 'ERR_ALREADY_EXISTS');
    expect(readBundleFile(path).equals(b.bundle)).toBe(true);
    expectCode(() => readBundleFile(path, { maxBundleBytes: 1024, maxEntries: 10, maxEntryBytes: 1024, maxManifestBytes: 1024, maxSignatureBytes: 1024 }), 'ERR_BUNDLE_TOO_LARGE');
    const report = inspectBundle(b.bundle, w.online.state);
    expect(report.signatureMatchesEmbeddedCertificate).toBe(true);
    expect(report.pinned).toEqual({ peer: 'offline-root', status: 'retired' });
    expect(report.manifestProblem).toBeUndefined();
    const v = unpackBundle(b.bundle);
    const target = join(w.dir, 'extracted');
    extractBundle(v, target);
    expect(readFileSync(join(target, 'payload', 'root.pem'), 'utf8')).toBe(w.root.pem);
    expectCode(() => extractBundle(v, target), 'ERR_ALREADY_EXISTS');
    expect(existsSync(join(w.dir, '.extracted.staging'))).toBe(false);
    expect(toPem('X', Buffer.from('a')).startsWith('-----BEGIN X-----')).toBe(true);
  });
});
