/**
 * The `files` operations through the real route (schema + handler): listing the ceremony-file
 * folders, reading one with every YAML problem and its line, and refusing anything outside the
 * folders, oversized, not YAML or not text. Refusal tables are named by what is wrong.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHandlers } from '../../electron/host/handlers/index.ts';
import { MAX_YAML_BYTES, yamlProblems } from '../../electron/host/handlers/files.ts';
import { createRouter, type Router } from '../../electron/host/router.ts';
import { contract } from '../../electron/ipc/contract.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { runOk } from '../helpers/tools.ts';
import { recordingLogger, testConfig, testDeps } from './helpers.ts';

describe('files operations', () => {
  let tmp: ReturnType<typeof tempDir>;
  let router: Router;
  let scripts: string;
  const call = (channel: string, request: unknown): Promise<unknown> => router.get(channel)!(request, { host: 'loopback' });

  beforeAll(() => {
    tmp = tempDir('neam-files-');
    scripts = join(tmp.dir, 'scripts');
    mkdirSync(join(scripts, 'sites', 'deeper', 'deepest', 'too-deep'), { recursive: true });
    writeFileSync(join(scripts, 'root.yaml'), 'ceremony-type: root\nname: r\n');
    writeFileSync(join(scripts, 'ALSO.YML'), 'a: 1\n');
    writeFileSync(join(scripts, 'notes.txt'), 'not yaml');
    writeFileSync(join(scripts, '.hidden.yaml'), 'a: 1\n');
    writeFileSync(join(scripts, 'sites', 'lab.yaml'), 'site: lab\n');
    writeFileSync(join(scripts, 'sites', 'deeper', 'deepest', 'x.yaml'), 'a: 1\n');
    writeFileSync(join(scripts, 'sites', 'deeper', 'deepest', 'too-deep', 'y.yaml'), 'a: 1\n');
    writeFileSync(join(scripts, 'big.yaml'), `a: "${'x'.repeat(MAX_YAML_BYTES)}"\n`);
    writeFileSync(join(scripts, 'latin1.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    writeFileSync(join(tmp.dir, 'outside.yaml'), 'secret: outside\n');
    symlinkSync(join(tmp.dir, 'outside.yaml'), join(scripts, 'link.yaml'));
    mkdirSync(join(scripts, 'dir.yaml'));
    const { logger } = recordingLogger();
    router = createRouter(contract, createHandlers(testDeps(testConfig({ scripts: [scripts, join(tmp.dir, 'missing')] }), logger)), logger);
  });
  afterAll(() => tmp.cleanup());

  it('lists YAML files up to three folders deep, without links, hidden files or other types', async () => {
    const r = (await call('files:listYaml', {})) as { ok: true; value: { roots: Array<{ id: string; files: Array<{ path: string }>; problem: string | null }> } };
    expect(r.ok).toBe(true);
    expect(r.value.roots[0]!.files.map((f) => f.path)).toEqual(['ALSO.YML', 'big.yaml', 'latin1.yaml', 'root.yaml', 'sites/deeper/deepest/x.yaml', 'sites/lab.yaml']);
    expect(r.value.roots[1]).toMatchObject({ id: 'r1', files: [], problem: expect.stringContaining('does not exist') });
  });

  it('reads a file with its size, SHA-256 (as sha256sum computes it) and no problems', async () => {
    const r = (await call('files:readYaml', { file: { root: 'r0', path: 'root.yaml' } })) as { ok: true; value: Record<string, unknown> };
    expect(r.value).toMatchObject({ text: 'ceremony-type: root\nname: r\n', documents: 1, problems: [], size: 28, displayPath: join(scripts, 'root.yaml') });
    expect(r.value['sha256']).toBe(runOk('sha256sum', [join(scripts, 'root.yaml')]).split(' ')[0]);
    const nested = (await call('files:readYaml', { file: { root: 'r0', path: 'sites/lab.yaml' } })) as { ok: boolean };
    expect(nested.ok).toBe(true);
  });

  it.each([
    ['file.root unknown', { root: 'r9', path: 'root.yaml' }, 'ERR_NOT_FOUND'],
    ['file.root malformed', { root: '../etc', path: 'root.yaml' }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path with ..', { root: 'r0', path: '../outside.yaml' }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path absolute', { root: 'r0', path: '/etc/passwd.yaml' }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path with a backslash', { root: 'r0', path: 'sites\\lab.yaml' }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path with NUL', { root: 'r0', path: 'root.yaml\0.txt' }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path too long', { root: 'r0', path: `${'a/'.repeat(300)}x.yaml` }, 'ERR_APP_REQUEST_INVALID'],
    ['file.path not YAML', { root: 'r0', path: 'notes.txt' }, 'ERR_APP_FORBIDDEN'],
    ['file.path a link out of the folder', { root: 'r0', path: 'link.yaml' }, 'ERR_APP_FORBIDDEN'],
    ['file.path a folder', { root: 'r0', path: 'dir.yaml' }, 'ERR_APP_FORBIDDEN'],
    ['file.path missing', { root: 'r0', path: 'gone.yaml' }, 'ERR_NOT_FOUND'],
    ['file.path oversized', { root: 'r0', path: 'big.yaml' }, 'ERR_INPUT_TOO_LARGE'],
    ['file.path not UTF-8', { root: 'r0', path: 'latin1.yaml' }, 'ERR_INPUT_INVALID'],
  ])('refuses %s', async (_name, file, code) => {
    const r = (await call('files:readYaml', { file })) as { ok: boolean; error?: { code: string; message: string } };
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe(code);
    expect(r.error?.message ?? '').not.toContain('secret: outside');
  });
});

describe('yamlProblems', () => {
  it.each([
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', [{ line: 3, message: /Map keys must be unique/u }]],
    ['an unclosed flow sequence', 'a: [1,\nb: 2\n', [{ line: 2, message: /./u }]],
    ['a tab indentation', 'a:\n\tb: 1\n', [{ line: 2, message: /./u }]],
    ['a second document (at its separator)', 'a: 1\n---\nb: 2\n', [{ line: 2, message: /exactly one YAML document/u }]],
    ['an empty file', '', [{ line: undefined, message: /the file is empty/u }]],
  ])('reports %s with its line', (_n, text, expected) => {
    const { problems } = yamlProblems(text);
    expect(problems.length).toBeGreaterThanOrEqual(expected.length);
    expected.forEach((e, i) => {
      expect(problems[i]!.line).toBe(e.line);
      expect(problems[i]!.message).toMatch(e.message);
      expect(problems[i]!.severity).toBe('error');
    });
  });

  it('reports every problem at once, in line order', () => {
    const { problems } = yamlProblems('a: 1\na: 2\nb: [\nc: 1\nc: 2\n');
    expect(problems.length).toBeGreaterThanOrEqual(2);
    const lines = problems.map((p) => p.line ?? 0);
    expect([...lines].sort((x, y) => x - y)).toEqual(lines);
  });

  it('accepts a clean document', () => {
    expect(yamlProblems('ceremony-type: root\nkey:\n  type: rsa-4096\n')).toEqual({ documents: 1, problems: [] });
  });
});
