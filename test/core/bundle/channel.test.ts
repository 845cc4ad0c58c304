import { generateKeyPairSync } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CoreError } from '../../../core/errors.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { createBundle, importBundle, KindRegistry, retractLastSent } from '../../../core/bundle/index.ts';
import { expectCode, file, index, istioPayload, makeCrl, makeWorld, snapshot, type World } from './fixtures.ts';

const DAY = 86_400_000;

describe('channels: sequence, retraction of a refused bundle, sender checks, registered validators', () => {
  let w: World;
  beforeAll(() => {
    w = makeWorld();
  });
  afterAll(() => w.close());

  const crlBundle = (crl: Buffer): Parameters<typeof createBundle>[1] => ({ kind: 'crl', to: 'online-ca', files: [index({ crls: [{ name: 'root', crl: 'payload/root.crl' }] }), file('payload/root.crl', crl)], signer: w.offline.signer, now: w.now });

  it('a bundle refused by the receiver blocks the channel until the sender retracts it; the replacement takes its sequence number', () => {
    const older = makeCrl(w.root);
    const newer = makeCrl(w.root);
    importBundle(w.online.state, createBundle(w.offline.state, crlBundle(newer)).bytes, { now: w.now });
    const stale = createBundle(w.offline.state, crlBundle(older));
    expect(stale.manifest.sequence).toBe(2);
    expectCode(() => importBundle(w.online.state, stale.bytes, { now: w.now }), 'ERR_BUNDLE_KIND_INVALID');
    // Anything after it is a gap…
    const next = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    expect(expectCode(() => importBundle(w.online.state, next.bytes, { now: w.now }), 'ERR_BUNDLE_SEQUENCE_GAP').message).toContain('import the missing bundle(s) 2 first');
    // …so the sender retracts both (last first) and sends a good bundle as number 2.
    expect(retractLastSent(w.offline.state, 'online-ca', w.now).sequence).toBe(3);
    expect(retractLastSent(w.offline.state, 'online-ca', w.now).sequence).toBe(2);
    expect(w.offline.state.channel('online-ca', 'out').lastSequence).toBe(1);
    const replacement = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    expect(replacement.manifest).toMatchObject({ sequence: 2, previousManifestSha256: w.offline.state.sentAt('online-ca', 1)?.manifestSha256 });
    expect(importBundle(w.online.state, replacement.bytes, { now: w.now }).alreadyImported).toBe(false);
    // The retracted bundles stay in the outbox, marked.
    expect(w.offline.state.sentBundles('online-ca').filter((b) => b.retractedAt !== null).map((b) => b.sequence)).toEqual([2, 3]);
  });

  it('retracting with nothing sent is refused', () => {
    expectCode(() => retractLastSent(w.online.state, 'offline-root', w.now), 'ERR_NOT_FOUND');
  });

  it('the sender refuses an unknown peer, a key that is not its identity, and records nothing when writing fails', () => {
    const before = snapshot(w.offline.store);
    expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'nobody', files: istioPayload(), signer: w.offline.signer, now: w.now }), 'ERR_NOT_FOUND');
    const stranger = softwareSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ECDSA-SHA256');
    expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: stranger, now: w.now }), 'ERR_BUNDLE_IDENTITY_INVALID');
    let unwritten = 0;
    expectCode(
      () =>
        createBundle(w.offline.state, {
          kind: 'istio-manifests',
          to: 'online-ca',
          files: istioPayload(),
          signer: w.offline.signer,
          now: w.now,
          write: () => {
            throw new CoreError('ERR_IO', 'disk full');
          },
          unwrite: () => unwritten++,
        }),
      'ERR_IO',
    );
    expect(unwritten).toBe(0);
    expect(snapshot(w.offline.store)).toBe(before);
    expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now, lifetimeDays: 120 }), 'ERR_BUNDLE_MANIFEST_INVALID');
    expectCode(() => createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload().slice(1), signer: w.offline.signer, now: w.now }), 'ERR_BUNDLE_KIND_INVALID');
    expect(snapshot(w.offline.store)).toBe(before);
  });

  it("a sender whose transfer certificate expired is refused at the receiver (step 3), even if the bundle's own window is fine", () => {
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    const later = new Date(w.now.getTime() + 731 * DAY);
    expect(expectCode(() => importBundle(w.online.state, b.bytes, { now: later }), 'ERR_BUNDLE_IDENTITY_INVALID').message).toMatch(/expired on/u);
    importBundle(w.online.state, b.bytes, { now: w.now });
  });

  it('validators registered by other domains run after the built-in checks, see the channel, and refuse with their own code', () => {
    const seen: string[] = [];
    const kinds = KindRegistry.withDefaults().addValidator('istio-manifests', (ctx) => {
      seen.push(`${ctx.peer}:${ctx.manifest.sequence}:${(ctx.index as { manifests: unknown[] }).manifests.length}`);
      throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', 'PeerAuthentication must be STRICT in production');
    });
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    const before = snapshot(w.online.store);
    expect(expectCode(() => importBundle(w.online.state, b.bytes, { now: w.now, kinds }), 'ERR_ISTIO_MANIFEST_INVALID').message).toContain('STRICT');
    expect(seen).toEqual([`offline-root:${b.manifest.sequence}:1`]);
    expect(snapshot(w.online.store)).toBe(before);
    expect(importBundle(w.online.state, b.bytes, { now: w.now }).alreadyImported).toBe(false);
  });

  it('retracting a bundle the receiver did import makes its replacement a refused replay (the safe outcome)', () => {
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload(), signer: w.offline.signer, now: w.now });
    importBundle(w.online.state, b.bytes, { now: w.now });
    retractLastSent(w.offline.state, 'online-ca', w.now);
    const again = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: istioPayload({ 'payload/istio/x.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n' }), signer: w.offline.signer, now: w.now });
    expect(again.manifest.sequence).toBe(b.manifest.sequence);
    const before = snapshot(w.online.store);
    expect(expectCode(() => importBundle(w.online.state, again.bytes, { now: w.now }), 'ERR_BUNDLE_REPLAYED').message).toMatch(/replay or a conflicting copy/u);
    expect(snapshot(w.online.store)).toBe(before);
  });
});
