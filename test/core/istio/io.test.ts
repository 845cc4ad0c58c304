import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, finalState, InventoryBuilder, loadManifests, locateCrds, MeshIndex, readTextFile, TrafficReader, type IstioConfig } from '../../../core/istio/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';

describe('input files and manifests folders', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir('neam-istio-io-');
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('refuses oversized, binary and missing input files with their codes', () => {
    const d = dir();
    writeFileSync(join(d, 'big.yaml'), 'x'.repeat(2048));
    writeFileSync(join(d, 'bin.yaml'), Buffer.from([0x61, 0, 0x62]));
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isCoreError(e) ? e.code : 'not a CoreError';
      }
      return undefined;
    };
    expect(code(() => readTextFile(join(d, 'big.yaml'), 1024, 'inventory'))).toBe('ERR_INPUT_TOO_LARGE');
    expect(code(() => readTextFile(join(d, 'bin.yaml'), 1024, 'inventory'))).toBe('ERR_INPUT_INVALID');
    expect(code(() => readTextFile(join(d, 'none.yaml'), 1024, 'inventory'))).toBe('ERR_NOT_FOUND');
    expect(code(() => readTextFile(d, 1024, 'inventory'))).toBe('ERR_INPUT_INVALID');
  });

  it('loads a rollout tree in apply order, stops at --phase, and keeps broken documents as findings', () => {
    const d = dir();
    for (const p of ['01-observe', '02-permissive', '03-strict']) mkdirSync(join(d, p));
    const pa = (mode: string): string => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: ${mode} } }\n`;
    writeFileSync(join(d, '01-observe', 'istio-system.yaml'), pa('PERMISSIVE'));
    writeFileSync(join(d, '03-strict', 'istio-system.yaml'), pa('STRICT'));
    writeFileSync(join(d, '02-permissive', 'shop.yaml'), 'a: [\n---\nb: 1\n');
    writeFileSync(join(d, 'README.md'), '# not yaml');
    const all = loadManifests(d);
    expect(all.map((x) => `${x.file}:${x.error === undefined ? 'ok' : 'error'}`)).toEqual(['01-observe/istio-system.yaml:ok', '02-permissive/shop.yaml:error', '02-permissive/shop.yaml:ok', '03-strict/istio-system.yaml:ok']);
    const mode = (docs: ReturnType<typeof loadManifests>): unknown => (finalState(docs).find((x) => (x as { kind: string }).kind === 'PeerAuthentication') as { spec: { mtls: { mode: string } } }).spec.mtls.mode;
    expect(mode(all)).toBe('STRICT');
    expect(mode(loadManifests(d, { upTo: '02-permissive' }))).toBe('PERMISSIVE');
    expect(() => loadManifests(d, { upTo: '04-later' })).toThrow(/not a rollout folder/u);
    expect(() => loadManifests(join(d, 'nope'))).toThrow(/do not exist/u);
  });

  it('locates the CRDs from an explicit folder, the environment, or shared/istio-crds up the tree, and lists what it tried', () => {
    const d = dir();
    mkdirSync(join(d, 'shared', 'istio-crds'), { recursive: true });
    writeFileSync(join(d, 'shared', 'istio-crds', 'customresourcedefinitions.gen.yaml'), '');
    mkdirSync(join(d, 'a', 'b'), { recursive: true });
    expect(locateCrds(join(d, 'a', 'b'), {})).toMatchObject({ found: true, dir: join(d, 'shared', 'istio-crds') });
    expect(locateCrds(join(d, 'a'), { NEAM_CA_ISTIO_CRDS: join(d, 'a') })).toMatchObject({ found: false, tried: [join(d, 'a', 'customresourcedefinitions.gen.yaml')] });
  });

  it('counts an over-long access-log line as malformed with its line number, without buffering it', async () => {
    const cfg: IstioConfig = { ...defaultConfig(), limits: { ...defaultConfig().limits, maxLineBytes: 1024 } };
    const b = new InventoryBuilder();
    b.addText('kind: MeshInventory\nnamespaces:\n  a:\n    workloads:\n      w: { labels: { app: w } }\n', 'i.yaml');
    const reader = new TrafficReader(new MeshIndex(b.build(), cfg), cfg);
    async function* src(): AsyncGenerator<string> {
      yield 'x\n';
      for (let i = 0; i < 100; i++) yield 'y'.repeat(10_000);
      yield '\nz\n';
    }
    for await (const r of reader.read({ file: 'big.log', format: 'envoy', data: src() })) void r;
    expect(reader.stats().malformedExamples.map((m) => `${m.line}: ${m.reason}`)).toEqual(['1: not a JSON object (is the access log encoding JSON?)', '2: line longer than 1024 bytes (1000000 bytes)', '3: not a JSON object (is the access log encoding JSON?)']);
  });
});
