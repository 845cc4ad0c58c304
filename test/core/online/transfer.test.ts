import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { bundleState, BUNDLE_MIGRATIONS, createBundle, enrollPeer, generateFileIdentity, importBundle, pinRoot, recordIdentity, type BundleState, type PayloadFile } from '../../../core/bundle/index.ts';
import type { Signer } from '../../../core/crypto/signer.ts';
import { initOnline, listIntermediates } from '../../../core/online/intermediates.ts';
import { openOnlineStore } from '../../../core/online/settings.ts';
import { exportRequestPayload, importTransferBundle } from '../../../core/online/transfer.ts';
import { openStore, type Store } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { createSoftHsm, tempDir } from '../../helpers/softhsm.ts';
import { createTestRoot, revokeWithRoot, rootCrl, signIntermediate, type TestRoot } from './fixtures.ts';

const DAY = 86_400_000;
const KDF = { N: 2 ** 15, r: 8, p: 1 };

interface World {
  online: Store;
  onlineState: BundleState;
  onlineSigner: Signer;
  offline: Store;
  offlineState: BundleState;
  offlineSigner: Signer;
  root: TestRoot;
  now: Date;
}

describe('intermediates over signed transfer bundles (core/bundle)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).reverse().forEach((c) => c()));

  function world(): World {
    const tmp = tempDir('neam-transfer-');
    const hsm = createSoftHsm('online');
    const online = openOnlineStore(join(tmp.dir, 'online.db'));
    const offline = openStore(join(tmp.dir, 'offline.db'), { migrations: [BUNDLE_MIGRATIONS] });
    cleanups.push(tmp.cleanup, () => hsm.close(), () => online.close(), () => offline.close());
    const now = new Date();
    initOnline(online, hsm.session, { trustDomain: 'example.org', keyStore: 'sealed', keyAlgorithm: 'ec-p256', windows: 2, windowDays: 90, overlapDays: 7, startMs: now.getTime() - DAY, nowMs: now.getTime(), maxSvidTtlSeconds: 86_400 });
    const onlineState = bundleState(online);
    const offlineState = bundleState(offline);
    const pass = Secret.fromString('online transfer passphrase 1');
    const onId = generateFileIdentity({ name: 'NEAM CA transfer: online', path: join(tmp.dir, 'online.key'), passphrase: pass, now, kdf: KDF });
    const offId = generateFileIdentity({ name: 'NEAM CA transfer: offline', path: join(tmp.dir, 'offline.key'), passphrase: pass, now, kdf: KDF });
    const on = recordIdentity(onlineState, onId, now);
    const off = recordIdentity(offlineState, offId, now);
    enrollPeer(onlineState, { name: 'offline-root', certificate: off.certificate, fingerprint: off.fingerprint, now });
    enrollPeer(offlineState, { name: 'online-ca', certificate: on.certificate, fingerprint: on.fingerprint, now });
    const root = createTestRoot(join(tmp.dir, 'root'));
    pinRoot(onlineState, { peer: 'offline-root', certificate: root.der, fingerprint: createHash('sha256').update(root.der).digest('hex'), now });
    return { online, onlineState, onlineSigner: onId.signer, offline, offlineState, offlineSigner: offId.signer, root, now };
  }

  /** The online CA exports its CSRs, signs the request bundle; the offline side imports it and answers. */
  function roundTrip(w: World, extension = 'v3_int'): { issuance: Buffer; csrs: Array<{ name: string; pem: string }> } {
    const payload = exportRequestPayload(w.online);
    const request = createBundle(w.onlineState, { kind: 'intermediate-request', to: 'offline-root', files: payload.files.map((f) => ({ path: `payload/${f.path}`, data: f.data })), signer: w.onlineSigner, now: w.now });
    importBundle(w.offlineState, request.bytes, { now: w.now });
    const index = JSON.parse(payload.files[0]?.data.toString('utf8') ?? '{}') as { requests: Array<{ name: string; csr: string; notBefore: string; notAfter: string }> };
    const csrs = index.requests.map((r) => ({ name: r.name, pem: payload.files.find((f) => `payload/${f.path}` === r.csr)?.data.toString('utf8') ?? '', window: { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) } }));
    const certs = csrs.map((c) => ({ ...c, cert: signIntermediate(w.root, c.pem, c.window, extension) }));
    const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[A-Z ]+-----/gu, '').replace(/\s+/gu, ''), 'base64');
    const files: PayloadFile[] = [
      {
        path: 'payload/index.json',
        data: Buffer.from(
          JSON.stringify({
            root: 'payload/root.pem',
            rootCrl: 'payload/root.crl',
            trustBundle: 'payload/trust-bundle.pem',
            certificates: certs.map((c) => ({ name: c.name, certificate: `payload/intermediates/${c.name}.pem`, chain: `payload/intermediates/${c.name}-chain.pem`, csrSha256: createHash('sha256').update(der(c.pem)).digest('hex') })),
          }),
        ),
      },
      { path: 'payload/root.pem', data: Buffer.from(w.root.pem) },
      { path: 'payload/root.crl', data: rootCrl(w.root) },
      { path: 'payload/trust-bundle.pem', data: Buffer.from(w.root.pem) },
      ...certs.flatMap((c) => [
        { path: `payload/intermediates/${c.name}.pem`, data: Buffer.from(c.cert) },
        { path: `payload/intermediates/${c.name}-chain.pem`, data: Buffer.from(c.cert + w.root.pem) },
      ]),
    ];
    const issuance = createBundle(w.offlineState, { kind: 'intermediate-issuance', to: 'online-ca', files, signer: w.offlineSigner, now: w.now });
    return { issuance: issuance.bytes, csrs: certs.map((c) => ({ name: c.name, pem: c.cert })) };
  }

  const received = (s: Store): number => (s.db.prepare('SELECT COUNT(*) AS n FROM bundle_received').get() as { n: number }).n;

  it('exports the CSRs as an intermediate-request bundle and imports the answering issuance bundle, once', () => {
    const w = world();
    const { issuance } = roundTrip(w);
    const r = importTransferBundle(w.online, issuance, w.now.getTime());
    expect(r.bundle.alreadyImported).toBe(false);
    expect(r.issuance?.imported).toHaveLength(2);
    expect(r.issuance?.rootsAdded).toHaveLength(1);
    expect(r.issuance?.rootCrlsImported).toBe(1);
    expect(listIntermediates(w.online.db).map((i) => i.state)).toEqual(['issued', 'issued']);
    const again = importTransferBundle(w.online, issuance, w.now.getTime());
    expect(again.bundle.alreadyImported).toBe(true);
    expect(again.issuance).toBeUndefined();
    expect(received(w.online)).toBe(1);
  });

  it('refuses a bundle our own checks reject, and records neither the bundle nor the certificates', () => {
    const w = world();
    // Signed by the pinned root and answering our CSRs, but constrained to another trust domain.
    const { issuance } = roundTrip(w, 'v3_int_wrongtd');
    expect(() => importTransferBundle(w.online, issuance, w.now.getTime())).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_INTERMEDIATE_INVALID' }));
    expect(received(w.online)).toBe(0);
    expect(listIntermediates(w.online.db).map((i) => i.state)).toEqual(['requested', 'requested']);
    expect((w.online.db.prepare('SELECT COUNT(*) AS n FROM online_roots').get() as { n: number }).n).toBe(0);
  });

  it('refuses bundles of other kinds, and a forged or replayed issuance, leaving the state alone', () => {
    const w = world();
    const { issuance } = roundTrip(w);
    const istio = createBundle(w.offlineState, {
      kind: 'istio-manifests',
      to: 'online-ca',
      files: [
        { path: 'payload/index.json', data: Buffer.from(JSON.stringify({ manifests: [{ path: 'payload/istio/pa.yaml' }] })) },
        { path: 'payload/istio/pa.yaml', data: Buffer.from('apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n') },
      ],
      signer: w.offlineSigner,
      now: w.now,
    });
    // The issuance (sequence 1) first; the istio bundle (sequence 2) is refused by kind.
    importTransferBundle(w.online, issuance, w.now.getTime());
    expect(() => importTransferBundle(w.online, istio.bytes, w.now.getTime())).toThrow(expect.objectContaining({ code: 'ERR_BUNDLE_KIND_INVALID' }));
    expect(received(w.online)).toBe(1);
    const tampered = Buffer.from(issuance);
    tampered[tampered.length - 2000] = (tampered[tampered.length - 2000] as number) ^ 1;
    expect(() => importTransferBundle(w.online, tampered, w.now.getTime())).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_BUNDLE_/u) }));
    expect(received(w.online)).toBe(1);
  });

  it('imports a root CRL bundle and retires an intermediate it revokes', () => {
    const w = world();
    const { issuance, csrs } = roundTrip(w);
    importTransferBundle(w.online, issuance, w.now.getTime());
    revokeWithRoot(w.root, csrs[1]?.pem ?? '');
    const crl = createBundle(w.offlineState, {
      kind: 'crl',
      to: 'online-ca',
      files: [
        { path: 'payload/index.json', data: Buffer.from(JSON.stringify({ crls: [{ name: 'root', crl: 'payload/root.crl' }] })) },
        { path: 'payload/root.crl', data: rootCrl(w.root) },
      ],
      signer: w.offlineSigner,
      now: w.now,
    });
    const r = importTransferBundle(w.online, crl.bytes, w.now.getTime());
    expect(r.rootCrlsImported).toBe(1);
    expect(listIntermediates(w.online.db).map((i) => i.state)).toEqual(['issued', 'retired']);
  });
});
