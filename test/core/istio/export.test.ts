import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { istioBundlePayload, readGeneratedTree, writeTree, type OutputFile } from '../../../core/istio/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const f = (path: string, text: string, mediaType: OutputFile['mediaType'] = 'application/yaml'): OutputFile => ({ path, bytes: Buffer.from(text), mediaType });
const KEY = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n';

describe('istio-manifests bundle payload', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('packs each phase as payload/NN-phase/manifests.yaml with the README as comments, plus index.json, sorted', () => {
    const p = istioBundlePayload([f('01-observe/shop.yaml', '# h\n---\na: 1\n'), f('01-observe/README.md', '# Step 1\n\nText', 'text/markdown'), f('03-strict/istio-system.yaml', '---\nb: 2\n'), f('report.json', '{}\n', 'application/json'), f('README.md', '# x\n', 'text/markdown')]);
    expect(p.map((x) => [x.path, x.mediaType])).toEqual([
      ['payload/01-observe/manifests.yaml', 'application/yaml'],
      ['payload/03-strict/manifests.yaml', 'application/yaml'],
      ['payload/index.json', 'application/json'],
    ]);
    expect(p[0]?.bytes.toString()).toBe('# step 1: observe (access logging, explicit PERMISSIVE, authorization in dry-run)\n# # Step 1\n#\n# Text\n# h\n---\na: 1\n');
    expect(JSON.parse(p[2]?.bytes.toString() ?? '')).toEqual({ manifests: [{ path: 'payload/01-observe/manifests.yaml', description: expect.stringContaining('step 1') }, { path: 'payload/03-strict/manifests.yaml', description: expect.stringContaining('STRICT') }] });
    expect(p[0]?.sha256).toBe(createHash('sha256').update(p[0]?.bytes ?? '').digest('hex'));
  });

  it('splits a phase above 3 MiB at document boundaries', () => {
    const doc = `---\nkind: X\nmetadata: { name: n }\ndata: "${'x'.repeat(100_000)}"\n`;
    const p = istioBundlePayload([f('02-permissive/a.yaml', doc.repeat(40))]);
    expect(p.map((x) => x.path)).toEqual(['payload/02-permissive/manifests-2.yaml', 'payload/02-permissive/manifests.yaml', 'payload/index.json']);
    for (const x of p) expect(x.size).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(p.filter((x) => x.path.endsWith('.yaml')).map((x) => x.bytes.toString().split('\n---\n').length - 1 + (x.bytes.toString().startsWith('---') ? 1 : 0)).reduce((a, b) => a + b, 0)).toBe(40);
  });

  const refused: Array<{ field: string; file: OutputFile; code: 'ERR_ISTIO_PRIVATE_KEY_REFUSED' | 'ERR_ISTIO_MANIFEST_INVALID' }> = [
    { field: 'a PEM private key', file: f('00-plug-in-ca/cacerts.yaml', KEY), code: 'ERR_ISTIO_PRIVATE_KEY_REFUSED' },
    { field: 'a base64 private key in Secret data', file: f('00-plug-in-ca/cacerts.yaml', `data:\n  root-cert.pem: ${Buffer.from(KEY).toString('base64')}\n`), code: 'ERR_ISTIO_PRIVATE_KEY_REFUSED' },
    { field: 'a ca-key.pem Secret field', file: f('00-plug-in-ca/cacerts.yaml', 'data:\n  ca-key.pem: AAAA\n'), code: 'ERR_ISTIO_PRIVATE_KEY_REFUSED' },
    { field: 'an absolute path', file: f('/etc/passwd.yaml', 'x'), code: 'ERR_ISTIO_MANIFEST_INVALID' },
    { field: 'a .. segment', file: f('01/../../x.yaml', 'x'), code: 'ERR_ISTIO_MANIFEST_INVALID' },
    { field: 'an unknown file type', file: f('run.sh', 'x'), code: 'ERR_ISTIO_MANIFEST_INVALID' },
    { field: 'no rollout manifests at all', file: f('report.json', '{}', 'application/json'), code: 'ERR_ISTIO_MANIFEST_INVALID' },
  ];
  for (const c of refused) it(`refuses ${c.field}`, () => {
    try {
      istioBundlePayload([c.file]);
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isCoreError(e, c.code), String(e)).toBe(true);
      expect((e as Error).message).not.toContain('MHcCAQEEIB');
    }
  });

  it('writes a tree atomically, never over an existing folder, and reads it back for export', () => {
    const t = tempDir('neam-istio-out-');
    cleanups.push(t.cleanup);
    const out = join(t.dir, 'gen');
    const files = [f('01-observe/shop.yaml', 'a: 1\n'), f('README.md', '# x\n', 'text/markdown')];
    writeTree(out, files);
    expect(readGeneratedTree(out).map((x) => [x.path, x.bytes.toString()])).toEqual([['01-observe/shop.yaml', 'a: 1\n'], ['README.md', '# x\n']]);
    expect(() => writeTree(out, files)).toThrow(/already exists/u);
    // A failing write leaves neither the target nor a temporary folder behind.
    const bad = join(t.dir, 'bad');
    expect(() => writeTree(bad, [f('ok.yaml', 'x'), f('../escape.yaml', 'x')])).toThrow(/outside the output folder/u);
    expect(existsSync(bad)).toBe(false);
    expect(readdirSync(t.dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('refuses links and foreign files when reading a tree for export', () => {
    const t = tempDir('neam-istio-out-');
    cleanups.push(t.cleanup);
    mkdirSync(join(t.dir, 'g'));
    writeFileSync(join(t.dir, 'g', 'a.yaml'), 'x');
    symlinkSync('/etc/hostname', join(t.dir, 'g', 'b.yaml'));
    expect(() => readGeneratedTree(join(t.dir, 'g'))).toThrow(/symbolic link/u);
  });
});
