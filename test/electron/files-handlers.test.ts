/**
 * The `files` operations through the real route (schema + handler): listing the ceremony-file
 * folders, reading one with every YAML problem and its line, the ceremony engine's validation of a
 * script or site file (dotted paths and lines), and refusing anything outside the folders,
 * oversized, not YAML or not text. Refusal tables are named by what is wrong. Review finding L5: the
 * check runs off the main thread with a deadline and returns at most 200 problems with the total.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHandlers } from '../../electron/host/handlers/index.ts';
import { MAX_REPORTED_PROBLEMS, MAX_YAML_BYTES, yamlProblems } from '../../electron/host/handlers/files.ts';
import { createRouter, type Router } from '../../electron/host/router.ts';
import { YamlChecker } from '../../electron/host/yaml-checker.ts';
import { contract } from '../../electron/ipc/contract.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { runOk } from '../helpers/tools.ts';
import { recordingLogger, testConfig, testDeps, YAML_WORKER } from './helpers.ts';

const REPO = new URL('../../', import.meta.url).pathname;

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
    writeFileSync(join(scripts, 'shipped-root.yaml'), readFileSync(join(REPO, 'ceremony-scripts/root.yaml')));
    writeFileSync(join(scripts, 'site-ok.yaml'), readFileSync(join(REPO, 'test/fixtures/ceremonies/site.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(tmp.dir, 'ca')));
    writeFileSync(join(scripts, 'site-bad.yaml'), 'version: 1\nhsm:\n  modul: /x.so\n  token-label: t\noutput-dir: /tmp/ca\nparticipants: []\n');
    writeFileSync(join(scripts, 'plain.yaml'), 'a: 1\n');
    // Review finding L5: thousands of problems in a file just under the limit.
    writeFileSync(join(scripts, 'many-errors.yaml'), 'a: 1\n'.repeat(Math.floor((MAX_YAML_BYTES - 16) / 5)));
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
    expect(r.value.roots[0]!.files.map((f) => f.path)).toEqual(['ALSO.YML', 'big.yaml', 'latin1.yaml', 'many-errors.yaml', 'plain.yaml', 'root.yaml', 'shipped-root.yaml', 'site-bad.yaml', 'site-ok.yaml', 'sites/deeper/deepest/x.yaml', 'sites/lab.yaml']);
    expect(r.value.roots[1]).toMatchObject({ id: 'r1', files: [], problem: expect.stringContaining('does not exist') });
  });

  it('reads a file with its size and SHA-256 (as sha256sum computes it)', async () => {
    const r = (await call('files:readYaml', { file: { root: 'r0', path: 'root.yaml' } })) as { ok: true; value: Record<string, unknown> };
    expect(r.value).toMatchObject({ text: 'ceremony-type: root\nname: r\n', documents: 1, size: 28, displayPath: join(scripts, 'root.yaml') });
    expect(r.value['sha256']).toBe(runOk('sha256sum', [join(scripts, 'root.yaml')]).split(' ')[0]);
    const nested = (await call('files:readYaml', { file: { root: 'r0', path: 'sites/lab.yaml' } })) as { ok: boolean };
    expect(nested.ok).toBe(true);
  });

  it('checks a ceremony script with the engine: every problem with its dotted path and line', async () => {
    const r = (await call('files:readYaml', { file: { root: 'r0', path: 'root.yaml' } })) as { ok: true; value: { kind: string; valid: boolean; problems: Array<{ path: string; line?: number; message: string }> } };
    expect(r.value.kind).toBe('script');
    expect(r.value.valid).toBe(false);
    expect(r.value.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'name', line: 2, message: expect.stringMatching(/unknown/iu) }),
        expect.objectContaining({ path: 'version', message: expect.any(String) }),
        expect.objectContaining({ path: 'steps', message: expect.any(String) }),
      ]),
    );
  });

  it('accepts the shipped root ceremony script and a valid site file', async () => {
    const script = (await call('files:readYaml', { file: { root: 'r0', path: 'shipped-root.yaml' } })) as { ok: true; value: Record<string, unknown> };
    expect(script.value).toMatchObject({ kind: 'script', valid: true, problems: [], problemsTotal: 0 });
    const site = (await call('files:readYaml', { file: { root: 'r0', path: 'site-ok.yaml' } })) as { ok: true; value: Record<string, unknown> };
    expect(site.value).toMatchObject({ kind: 'site', valid: true, problems: [], problemsTotal: 0 });
  });

  it.each([
    ['hsm.modul (a misspelt key)', 'site-bad.yaml', 'site', { path: 'hsm.modul', line: 3 }],
    ['participants (empty)', 'site-bad.yaml', 'site', { path: 'participants', line: 6 }],
    ['(no ceremony keys)', 'plain.yaml', 'yaml', { path: '', line: 1 }],
  ])('names %s with its line', async (_name, path, kind, problem) => {
    const r = (await call('files:readYaml', { file: { root: 'r0', path } })) as { ok: true; value: { kind: string; valid: boolean; problems: Array<Record<string, unknown>> } };
    expect(r.value.kind).toBe(kind);
    expect(r.value.valid).toBe(false);
    expect(r.value.problems).toEqual(expect.arrayContaining([expect.objectContaining(problem)]));
  });

  it('returns at most 200 problems of a many-errors file, with the total, without stalling the main thread (L5)', async () => {
    const order: string[] = [];
    const reading = call('files:readYaml', { file: { root: 'r0', path: 'many-errors.yaml' } }).then((r) => {
      order.push('readYaml');
      return r as { ok: boolean; value?: { problems: unknown[]; problemsTotal: number }; error?: { code: string } };
    });
    // While the worker parses, the main thread answers other calls.
    await call('app:info', {}).then(() => order.push('app:info'));
    const r = await reading;
    expect(order).toEqual(['app:info', 'readYaml']);
    if (r.ok) {
      expect(r.value!.problems).toHaveLength(MAX_REPORTED_PROBLEMS);
      expect(r.value!.problemsTotal).toBeGreaterThan(10_000);
    } else {
      // A loaded machine may hit the deadline instead: bounded either way, and said so.
      expect(r.error?.code).toBe('ERR_INPUT_INVALID');
    }
  });

  it('stops a check that outlives its deadline, says so, and checks the next file normally (L5)', async () => {
    const { logger } = recordingLogger();
    const yaml = new YamlChecker({ workerUrl: YAML_WORKER, timeoutMs: 1 });
    const slow = createRouter(contract, createHandlers(testDeps(testConfig({ scripts: [scripts] }), logger, undefined, { yaml })), logger);
    const r = (await slow.get('files:readYaml')!({ file: { root: 'r0', path: 'many-errors.yaml' } }, { host: 'loopback' })) as { ok: boolean; error?: { code: string; message: string } };
    expect(r).toEqual({ ok: false, error: { code: 'ERR_INPUT_INVALID', message: expect.stringMatching(/took longer than .* and was stopped/u) } });
    const patient = new YamlChecker({ workerUrl: YAML_WORKER });
    const ok = await patient.check('version: 1\n', 'x.yaml', '/tmp');
    expect(ok.kind).toBe('yaml');
    await yaml.close();
    await patient.close();
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
    ['file.path oversized (over 256 KiB)', { root: 'r0', path: 'big.yaml' }, 'ERR_INPUT_TOO_LARGE'],
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
