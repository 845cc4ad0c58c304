
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createBundle, importBundle, KindRegistry, type PayloadFile } from '../../../core/bundle/index.ts';
import { generateRollout, istioBundlePayload, istioManifestsValidator, type OutputFile } from '../../../core/istio/index.ts';
import { expectCode, makeWorld, snapshot, stockVerify, type World } from '../bundle/fixtures.ts';
import { crds, fx, NOW } from './helpers.ts';

describe('the generated rollout travels as a signed istio-manifests bundle', () => {
  let w: World;
  let files: OutputFile[];
  beforeAll(async () => {
    w = makeWorld();
    files = (await generateRollout({ inventory: [fx('inventory.yaml')], accessLogs: [fx('access-log.jsonl')], metrics: [fx('metrics.json')], config: fx('config.yaml'), exceptions: fx('exceptions.yaml') }, NOW, crds())).files;
  });
  afterAll(() => w.close());

  it('is accepted by the bundle domain, verifies with stock OpenSSL, and passes the Istio validator on import', () => {
    const payload: PayloadFile[] = istioBundlePayload(files).map((p) => ({ path: p.path, data: p.bytes }));
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: payload, signer: w.offline.signer, now: w.now });
    expect(b.manifest.files.map((x) => x.path)).toEqual(['payload/01-observe/manifests.yaml', 'payload/02-permissive/manifests.yaml', 'payload/03-strict/manifests.yaml', 'payload/index.json']);
    const stock = stockVerify(b.bytes, w.offline.certDer, w.dir);
    expect(stock.files).toEqual(expect.arrayContaining(['payload/02-permissive/manifests.yaml']));
    const kinds = KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(crds().set));
    const r = importBundle(w.online.state, b.bytes, { now: w.now, kinds });
    expect(r.alreadyImported).toBe(false);
  });

  it('a tampered manifest inside a validly signed bundle is refused by the Istio validator, and nothing is recorded', () => {
    const payload: PayloadFile[] = istioBundlePayload(files).map((p) => ({ path: p.path, data: p.bytes }));
    const bad = payload.map((p) => (p.path.endsWith('03-strict/manifests.yaml') ? { path: p.path, data: Buffer.from(p.data.toString().replace('mode: STRICT', 'mode: STRICTEST')) } : p));
    const b = createBundle(w.offline.state, { kind: 'istio-manifests', to: 'online-ca', files: bad, signer: w.offline.signer, now: w.now });
    const kinds = KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(crds().set));
    const before = snapshot(w.online.store);
    expect(expectCode(() => importBundle(w.online.state, b.bytes, { now: w.now, kinds }), 'ERR_ISTIO_MANIFEST_INVALID').message).toMatch(/Unsupported value: "STRICTEST"/u);
    expect(snapshot(w.online.store)).toBe(before);
  });

  it('the phase README travels as comments in its manifests file', () => {
    const p = istioBundlePayload(files).find((x) => x.path === 'payload/03-strict/manifests.yaml');
    expect(p?.bytes.toString()).toMatch(/^# step 3: mesh-wide STRICT mTLS\n# # Step 3: STRICT mutual TLS mesh-wide/u);
  });
});
