import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { runAsync } from './harness.ts';
import { createTestRoot, rootCrl, signIntermediate, type TestRoot } from './fixtures.ts';
import { freePort } from './harness.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');

describe('neam-ca online CLI (SoftHSM, real child processes, curl as the client)', () => {
  const tmp = tempDir('neam-online-cli-');
  const home = join(tmp.dir, 'home');
  const pin = join(home, 'pins', 'online.pin');
  let root: TestRoot;
  const cli = (...args: string[]): { code: number; stdout: string; stderr: string; json: { ok: boolean; value?: Record<string, unknown>; error?: { code: string; message: string } } } => {
    const r = spawnSync(process.execPath, [BIN, ...args, '--home', home], { encoding: 'utf8', timeout: 120_000 });
    let json = { ok: false };
    try {
      json = JSON.parse(r.stdout) as typeof json;
    } catch {
      // not a --json call
    }
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
  };

  beforeAll(() => {
    root = createTestRoot(join(tmp.dir, 'root'));
    expect(cli('hsm', 'init-token', '--label', 'online', '--generate-pins', join(home, 'pins')).code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('refuses to work before init, with the next step in the message', () => {
    const r = cli('status');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_ONLINE_NOT_INITIALIZED\].*neam-ca online init/u);
  });

  it('runs the operator flow: init, export CSRs, import the issuance, entries, tokens, admin certificate, status, serve, revoke', async () => {
    const init = cli('online', 'init', '--trust-domain', 'example.org', '--token', 'online', '--pin-file', pin, '--algorithm', 'ec-p256', '--windows', '2', '--start', new Date(Date.now() - 3_600_000).toISOString(), '--json');
    expect(init.code, init.stderr).toBe(0);
    expect((init.json.value?.['intermediates'] as unknown[]).length).toBe(2);
    const out = join(tmp.dir, 'req');
    const exp = cli('online', 'export-csrs', '--out', out, '--json');
    expect(exp.code, exp.stderr).toBe(0);
    // The intermediate-request payload layout (docs/bundle-format.md §7.1), ready for `neam-ca bundle create`.
    const req = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { requests: Array<{ name: string; notBefore: string; notAfter: string; csr: string }> };
    expect(req.requests.map((r) => r.csr)).toEqual(req.requests.map((r) => `payload/csr/${r.name}.csr`));
    expect(exp.json.value?.['next']).toMatch(/^neam-ca bundle create --kind intermediate-request --to PEER --payload /u);
    // Exporting again into the same folder never overwrites.
    expect(cli('online', 'export-csrs', '--out', out).stderr).toMatch(/ERR_ALREADY_EXISTS/u);
    const certArgs = req.requests.flatMap((r) => {
      const p = join(tmp.dir, `${r.name}.pem`);
      writeFileSync(p, signIntermediate(root, readFileSync(join(out, r.csr.replace(/^payload\//u, '')), 'utf8'), { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) }));
      return ['--cert', p];
    });
    const crlPath = join(tmp.dir, 'root.crl');
    writeFileSync(crlPath, rootCrl(root));
    const imp = cli('online', 'import-issuance', ...certArgs, '--root', root.certPath, '--root-crl', crlPath);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/Imported intermediate [0-9a-f]{16}/u);
    expect(cli('online', 'import-issuance', ...certArgs, '--root', root.certPath).stdout).toMatch(/already imported; unchanged/u);

    const bad = cli('entry', 'create', '--spiffe-id', 'spiffe://example.org/web/', '--parent', 'web-1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[ERR_SPIFFE_ID_INVALID\][\s\S]*spiffeId[\s\S]*trailing slash/u);
    const entry = cli('entry', 'create', '--spiffe-id', 'spiffe://example.org/web', '--parent', 'web-1', '--selector', 'unix:uid:1000', '--dns', 'web.example.org', '--ttl', '12h', '--json');
    expect(entry.code, entry.stderr).toBe(0);
    const entryId = entry.json.value?.['id'] as string;
    expect(entry.json.value).toMatchObject({ parentId: 'spiffe://example.org/neam-ca/node/web-1', ttlSeconds: 43_200 });
    expect(cli('entry', 'list').stdout).toContain(entryId);
    expect(cli('entry', 'show', entryId).stdout).toContain('web.example.org');
    expect(cli('entry', 'update', entryId, '--ttl', '1h', '--json').json.value?.['ttlSeconds']).toBe(3600);

    const tokenOut = join(tmp.dir, 'web-1.token');
    const tok = cli('token', 'create', '--node', 'web-1', '--out', tokenOut);
    expect(tok.code, tok.stderr).toBe(0);
    expect(statSync(tokenOut).mode & 0o777).toBe(0o600);
    expect(tok.stdout).not.toContain(readFileSync(tokenOut, 'utf8').trim());
    const printed = cli('token', 'create', '--node', 'web-2', '--ttl', '10m');
    expect(printed.stdout).toMatch(/^neamjt1_[A-Za-z0-9_-]{43}\n# node spiffe:\/\/example\.org\/neam-ca\/node\/web-2/u);

    const adminDir = join(tmp.dir, 'admin');
    const ac = cli('online', 'admin-cert', '--name', 'alice', '--out', adminDir, '--token', 'online', '--pin-file', pin);
    expect(ac.code, ac.stderr).toBe(0);
    expect(statSync(join(adminDir, 'alice.key')).mode & 0o777).toBe(0o600);

    const st = cli('status', '--json');
    expect(st.code, st.stdout).toBe(0);
    expect(st.json.value).toMatchObject({ trustDomain: 'example.org', entries: 1, joinTokens: { outstanding: 2 } });

    // serve as a real child process; curl (an independent TLS client) talks to it.
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', '--home', home, '--token', 'online', '--pin-file', pin, '--listen', `127.0.0.1:${port}`, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      for (let i = 0; i < 100 && !/online CA serving/u.test(log); i++) await new Promise((r) => setTimeout(r, 200));
      expect(log).toMatch(/online CA serving/u);
      const health = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), `https://localhost:${port}/healthz`]);
      expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok' });
      const noCert = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), `https://localhost:${port}/v1/admin/status`]);
      expect(JSON.parse(noCert.stdout)).toMatchObject({ error: { code: 'ERR_ONLINE_UNAUTHENTICATED' } });
      const status = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), '--cert', join(adminDir, 'alice.pem'), '--key', join(adminDir, 'alice.key'), `https://localhost:${port}/v1/admin/status`]);
      expect(JSON.parse(status.stdout)).toMatchObject({ trustDomain: 'example.org', entries: 1 });
      // A join token over curl, then revocation from the CLI while the server runs.
      const csrKey = join(tmp.dir, 'node.key');
      spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', csrKey, '-subj', '/', '-out', join(tmp.dir, 'node.csr')]);
      writeFileSync(join(tmp.dir, 'attest.json'), JSON.stringify({ token: readFileSync(tokenOut, 'utf8').trim(), csr: readFileSync(join(tmp.dir, 'node.csr'), 'utf8') }));
      const att = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), '-H', 'content-type: application/json', '--data-binary', `@${join(tmp.dir, 'attest.json')}`, `https://localhost:${port}/v1/attest`]);
      const node = JSON.parse(att.stdout) as { svid: string; chain: string; serial: string };
      writeFileSync(join(tmp.dir, 'node.pem'), node.svid + node.chain);
      const entries = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), '--cert', join(tmp.dir, 'node.pem'), '--key', csrKey, `https://localhost:${port}/v1/entries`]);
      expect(JSON.parse(entries.stdout).entries[0].id).toBe(entryId);
      const rv = cli('revoke', '--serial', node.serial, '--reason', 'keyCompromise');
      expect(rv.stdout).toContain(`Revoked ${node.serial}`);
      await new Promise((r) => setTimeout(r, 1500));
      const refused = await runAsync('curl', ['-sS', '--cacert', join(adminDir, 'bundle.pem'), '--cert', join(tmp.dir, 'node.pem'), '--key', csrKey, `https://localhost:${port}/v1/entries`]);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'ERR_ONLINE_UNAUTHENTICATED' } });
      expect(cli('node', 'list').stdout).toContain('spiffe://example.org/neam-ca/node/web-1');
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      expect(code).toBe(0);
    }
    expect(log).not.toContain(readFileSync(tokenOut, 'utf8').trim().slice(8));
    expect(cli('entry', 'delete', entryId).code).toBe(0);
  });
});
