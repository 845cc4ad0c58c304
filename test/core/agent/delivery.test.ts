import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';

import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';

import { currentGeneration, deliverSvid, removeDelivery } from '../../../core/agent/delivery.ts';
import { isCoreError } from '../../../core/errors.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const REPO = join(import.meta.dirname, '../../..');

/**
 * `core/agent/delivery.ts` and the modules it imports, as plain JavaScript in `dir`, so a process
 * running as another user can load it without reading the checkout (CI clones into a 0700 folder).
 * Returns the path of delivery's module.
 */
function deliveryAsJs(dir: string): string {
  const todo = ['core/agent/delivery.ts'];
  const done = new Set<string>();
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(join(REPO, file), 'utf8');
    for (const m of source.matchAll(/from '(\.{1,2}\/[^']+\.ts)'/gu)) todo.push(join(dirname(file), m[1]!));
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true } }).outputText;
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file.replace(/\.ts$/u, '.js')), js);
  }
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return join(dir, 'core/agent/delivery.js');
}

/** A key pair and a fake "certificate" that names the public key, so readers can check pairing. */
function pair(i: number): { certChainPem: string; keyPem: string; bundlePem: string; spki: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { certChainPem: `cert ${i} for ${spki}\n`, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), bundlePem: `bundle ${i}\n`, spki };
}

describe('atomic SVID delivery', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const root = (): string => {
    const t = tempDir('neam-agent-');
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('delivers through a link to a generation folder; key 0600; previous generation kept, older pruned', () => {
    const r = root();
    deliverSvid(r, 'web', pair(1));
    const g1 = currentGeneration(r, 'web')!;
    expect(lstatSync(join(r, 'web')).isSymbolicLink()).toBe(true);
    expect(statSync(join(r, 'web', 'svid.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(r, 'web', 'bundle.pem'), 'utf8')).toBe('bundle 1\n');
    deliverSvid(r, 'web', pair(2));
    deliverSvid(r, 'web', pair(3));
    const gens = readdirSync(r).filter((e) => e.startsWith('.web.g')).sort();
    expect(gens).toHaveLength(2);
    expect(gens.some((g) => join(r, g) === g1)).toBe(false);
    expect(readFileSync(join(r, 'web', 'bundle.pem'), 'utf8')).toBe('bundle 3\n');
  });

  it('a concurrent reader never sees a certificate with the wrong key', async () => {
    const r = root();
    deliverSvid(r, 'api', pair(0));
    const reader = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const fs = require('node:fs'); const crypto = require('node:crypto');
       let reads = 0, mismatches = 0; const end = Date.now() + workerData.ms;
       while (Date.now() < end) {
         try {
           const dir = fs.realpathSync(workerData.path);
           const cert = fs.readFileSync(dir + '/svid.pem', 'utf8');
           const key = fs.readFileSync(dir + '/svid.key', 'utf8');
           const spki = crypto.createPublicKey(crypto.createPrivateKey(key)).export({ type: 'spki', format: 'der' }).toString('base64');
           if (!cert.includes(spki)) mismatches++;
           reads++;
         } catch (e) { if (e.code !== 'ENOENT') throw e; }
       }
       parentPort.postMessage({ reads, mismatches });`,
      { eval: true, workerData: { path: join(r, 'api'), ms: 1500 } },
    );
    const result = new Promise<{ reads: number; mismatches: number }>((res, rej) => {
      reader.once('message', res);
      reader.once('error', rej);
    });
    const start = Date.now();
    let deliveries = 0;
    while (Date.now() - start < 1400) {
      deliverSvid(r, 'api', pair(++deliveries));
      await new Promise((res) => setImmediate(res));
    }
    const { reads, mismatches } = await result;
    console.log(`delivery: ${deliveries} rotations, ${reads} reads by a concurrent reader, ${mismatches} mismatched pairs`);
    expect(deliveries).toBeGreaterThan(20);
    expect(reads).toBeGreaterThan(100);
    expect(mismatches).toBe(0);
  });

  it('removeDelivery removes the link and every generation', () => {
    const r = root();
    deliverSvid(r, 'gone', pair(1));
    deliverSvid(r, 'gone', pair(2));
    deliverSvid(r, 'stays', pair(1));
    removeDelivery(r, 'gone');
    expect(readdirSync(r).filter((e) => e.includes('gone'))).toEqual([]);
    expect(currentGeneration(r, 'stays')).toBeDefined();
  });

  it('refuses names that are not one plain path segment, and a folder it does not manage', () => {
    const r = root();
    for (const bad of ['../etc', '.hidden', 'a/b', '', 'x'.repeat(200)]) {
      try {
        deliverSvid(r, bad, pair(1));
        expect.unreachable(bad);
      } catch (e) {
        expect(isCoreError(e, 'ERR_AGENT_CONFIG_INVALID'), bad).toBe(true);
      }
    }
    mkdirSync(join(r, 'manual'));
    try {
      deliverSvid(r, 'manual', pair(1));
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_AGENT_STATE_INVALID')).toBe(true);
    }
  });

  it('on a full disk (64 KiB tmpfs) the delivery fails with ERR_AGENT_DISK_FULL and the valid files stay', () => {
    const r = root();
    const mnt = join(r, 'tiny');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    if (m.status !== 0) throw new Error(`this test mounts a tmpfs and must run as root: ${m.stderr.toString()}`);
    try {
      const first = pair(1);
      deliverSvid(mnt, 'w', first);
      // Fill the disk.
      let i = 0;
      try {
        for (;;) writeFileSync(join(mnt, `fill-${i++}`), Buffer.alloc(4096));
      } catch {
        // full
      }
      try {
        deliverSvid(mnt, 'w', pair(2));
        expect.unreachable();
      } catch (e) {
        expect(isCoreError(e, 'ERR_AGENT_DISK_FULL'), String(e)).toBe(true);
      }
      expect(readFileSync(join(mnt, 'w', 'svid.pem'), 'utf8')).toBe(first.certChainPem);
      const key = createPrivateKey(readFileSync(join(mnt, 'w', 'svid.key')));
      expect(createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64')).toBe(first.spki);
      expect(readdirSync(mnt).filter((e) => e.startsWith('.w.g'))).toHaveLength(1);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('with an owner, the folder, files and link belong to UID:GID before the swap: that user reads the key, its group only the certificates, others nothing', () => {
    const r = root();
    chmodSync(r, 0o755);
    deliverSvid(r, 'owned', pair(1), { uid: 4321, gid: 4322 });
    const gen = currentGeneration(r, 'owned') ?? '';
    expect(statSync(gen)).toMatchObject({ uid: 4321, gid: 4322 });
    expect(statSync(gen).mode & 0o777).toBe(0o750);
    expect(lstatSync(join(r, 'owned'))).toMatchObject({ uid: 4321, gid: 4322 });
    for (const [f, mode] of [['svid.key', 0o600], ['svid.pem', 0o644], ['bundle.pem', 0o644]] as const) {
      const st = statSync(join(gen, f));
      expect([st.uid, st.gid, st.mode & 0o777], f).toEqual([4321, 4322, mode]);
    }
    // Real permission checks by the kernel, as other users (setpriv drops root).
    const cat = (uid: number, gid: number, file: string): number | null => spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'cat', join(r, 'owned', file)]).status;
    expect(cat(4321, 4322, 'svid.key')).toBe(0);
    expect(cat(4323, 4322, 'svid.pem')).toBe(0);
    expect(cat(4323, 4322, 'svid.key')).not.toBe(0);
    expect(cat(4324, 4324, 'svid.pem')).not.toBe(0);
  });

  it('an owner needs root: an agent without it gets ERR_AGENT_WRITE_FAILED saying so, and nothing is left half-delivered', () => {
    const r = root();
    chmodSync(r, 0o755);
    const w = join(r, 'w');
    mkdirSync(w);
    chownSync(w, 4321, 4321);
    const lib = join(r, 'lib');
    const script = join(lib, 'deliver.js');
    writeFileSync(
      script,
      `import { deliverSvid } from ${JSON.stringify(deliveryAsJs(lib))};
try { deliverSvid(process.argv[2], 'x', { certChainPem: 'c', keyPem: 'k', bundlePem: 'b' }, { uid: 0, gid: 0 }); console.log('delivered'); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`,
    );
    const out = spawnSync('setpriv', ['--reuid=4321', '--regid=4321', '--clear-groups', process.execPath, script, w], { encoding: 'utf8', cwd: r });
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ code: 'ERR_AGENT_WRITE_FAILED', message: "cannot give the SVID files of 'x' to 0:0 (EPERM); setting an owner needs an agent running as root (or with CAP_CHOWN). The previous SVID files are still in place" });
    expect(readdirSync(w)).toEqual([]);
  });
});
