import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { DEFAULT_LIMITS, nameProblem, readTar, writeTar } from '../../../core/bundle/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { expectCode, rawTar } from './fixtures.ts';

describe('bundle tar writer and reader', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };
  const entries = [
    { name: 'payload/b/x.pem', data: Buffer.from('second\n') },
    { name: 'manifest.json', data: Buffer.from('{"a":1}') },
    { name: 'payload/a.json', data: Buffer.alloc(1000, 0x61) },
    { name: 'manifest.json.p7s', data: Buffer.alloc(512, 7) },
  ];

  it('writes the same bytes for the same entries in any order, sorted by name', () => {
    const a = writeTar(entries, 1_800_000_000);
    const b = writeTar([...entries].reverse(), 1_800_000_000);
    expect(a.equals(b)).toBe(true);
    expect(readTar(a, DEFAULT_LIMITS).map((e) => e.name)).toEqual(['manifest.json', 'manifest.json.p7s', 'payload/a.json', 'payload/b/x.pem']);
    expect(a.length % 512).toBe(0);
  });

  it('GNU tar lists and extracts what we write, with mode 0644 and owner 0/0', () => {
    const d = dir();
    writeFileSync(join(d, 'b.tar'), writeTar(entries, 1_800_000_000));
    const list = runOk('tar', ['-tvf', join(d, 'b.tar'), '--numeric-owner'], { env: { ...process.env, TZ: 'UTC' } });
    expect(list).toMatch(/-rw-r--r-- 0\/0\s+7 2027-01-15 \d\d:\d\d payload\/b\/x\.pem/u);
    mkdirSync(join(d, 'x'));
    runOk('tar', ['-xf', join(d, 'b.tar'), '-C', join(d, 'x')]);
    expect(readFileSync(join(d, 'x', 'payload', 'b', 'x.pem'), 'utf8')).toBe('second\n');
    expect(readFileSync(join(d, 'x', 'payload', 'a.json')).length).toBe(1000);
  });

  it('reads an archive made by GNU tar --format=ustar with sorted names (including its 10 KiB record padding)', () => {
    const d = dir();
    const src = join(d, 'src');
    mkdirSync(join(src, 'payload', 'b'), { recursive: true });
    for (const e of entries) writeFileSync(join(src, e.name), e.data);
    const r = run('sh', ['-c', 'tar --format=ustar --owner=0 --group=0 --numeric-owner -cf ../g.tar $(find manifest.json manifest.json.p7s payload -type f | LC_ALL=C sort)'], { cwd: src });
    expect(r.status, r.stderr).toBe(0);
    const g = readFileSync(join(d, 'g.tar'));
    expect(g.length).toBe(10240);
    expect(readTar(g, DEFAULT_LIMITS).map((e) => [e.name, e.data.length])).toEqual([
      ['manifest.json', 7],
      ['manifest.json.p7s', 512],
      ['payload/a.json', 1000],
      ['payload/b/x.pem', 7],
    ]);
  });

  it('refuses what GNU tar writes by default for a folder: directory entries', () => {
    const d = dir();
    mkdirSync(join(d, 'payload'));
    writeFileSync(join(d, 'payload', 'a.json'), '{}');
    runOk('tar', ['-cf', 'g.tar', 'payload'], { cwd: d });
    expectCode(() => readTar(readFileSync(join(d, 'g.tar')), DEFAULT_LIMITS), 'ERR_BUNDLE_ENTRY_FORBIDDEN');
  });

  it('refuses names out of byte order, so one bundle has one archive form', () => {
    const e = expectCode(() => readTar(rawTar([{ name: 'payload/b.json', data: Buffer.from('1') }, { name: 'payload/a.json', data: Buffer.from('2') }]), DEFAULT_LIMITS), 'ERR_BUNDLE_ARCHIVE_INVALID');
    expect(e.message).toContain('byte order');
  });

  it('refuses a malformed checksum field even when its value is right', () => {
    const t = writeTar([{ name: 'payload/a.json', data: Buffer.from('1') }]);
    t[155] = 0; // "dddddd\0 " -> "dddddd\0\0"
    expectCode(() => readTar(t, DEFAULT_LIMITS), 'ERR_BUNDLE_ARCHIVE_INVALID');
  });

  it('the writer refuses names the reader would refuse', () => {
    for (const name of ['../x', '/abs', 'payload/../x', 'payload/.hidden', 'payload/', 'other/file.json', 'payload/a b.json', `payload/${'a'.repeat(120)}.json`]) {
      expect(nameProblem(name), name).toBeDefined();
      expectCode(() => writeTar([{ name, data: Buffer.from('x') }]), 'ERR_BUNDLE_PATH_FORBIDDEN');
    }
    expectCode(() => writeTar([{ name: 'payload/a.json', data: Buffer.from('1') }, { name: 'payload/a.json', data: Buffer.from('2') }]), 'ERR_BUNDLE_DUPLICATE_ENTRY');
  });

  it('the limits apply from headers: entry count, per-entry size and manifest size', () => {
    const limits = { ...DEFAULT_LIMITS, maxEntries: 3, maxEntryBytes: 100, maxManifestBytes: 10 };
    expectCode(() => readTar(rawTar(Array.from({ length: 4 }, (_, i) => ({ name: `payload/${i}.txt`, data: Buffer.from('x') }))), limits), 'ERR_BUNDLE_TOO_LARGE');
    expectCode(() => readTar(rawTar([{ name: 'payload/a.txt', data: Buffer.alloc(101) }]), limits), 'ERR_BUNDLE_TOO_LARGE');
    expectCode(() => readTar(rawTar([{ name: 'manifest.json', data: Buffer.alloc(11) }]), limits), 'ERR_BUNDLE_TOO_LARGE');
    expect(readTar(rawTar([{ name: 'payload/a.txt', data: Buffer.alloc(100) }]), limits)).toHaveLength(1);
  });

  it('a 2 GiB declared size is refused from the header without allocating for it', () => {
    const hostile = rawTar([{ name: 'payload/huge.txt', size: 2n ** 31n, data: Buffer.alloc(0) }], { end: false });
    expect(hostile.length).toBe(512);
    const before = process.memoryUsage().arrayBuffers;
    const e = expectCode(() => readTar(hostile, DEFAULT_LIMITS), 'ERR_BUNDLE_TOO_LARGE');
    expect(e.message).toContain('2 GiB');
    expect(e.message).toContain('it was not read');
    // Nothing near the declared size was allocated (a 2 GiB buffer would show here, or fail).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});
