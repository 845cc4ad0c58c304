import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BundleState } from '../../../core/bundle/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { csrSha256, issue, makeCrl, makeCsr, makeRoot, snapshot, stockVerify } from './fixtures.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');
const DAY = 86_400_000;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: '', NEAM_CA_PIN: '', ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function ok(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = cli(args);
  expect(r.code, `${args.join(' ')}\n${r.stderr}${r.stdout}`).toBe(0);
  return r;
}
function json<T>(args: string[]): T {
  return (JSON.parse(ok([...args, '--json']).stdout) as { value: T }).value;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('neam-ca bundle (end to end through the CLI: SoftHSM offline, key file online)', () => {
  let t: { dir: string; cleanup(): void };
  let off: string;
  let on: string;
  let pin: string;
  let pass: string;
  let root: { dir: string; pem: string; der: Buffer };
  let csr: { pem: string };
  const offKey = (): string[] => ['--home', off, '--pin-file', pin];
  const onKey = (): string[] => ['--home', on, '--passphrase-file', pass];

  beforeAll(() => {
    t = tempDir('neam-bundle-cli-');
    off = join(t.dir, 'offline');
    on = join(t.dir, 'online');
    mkdirSync(off);
    mkdirSync(on);
    ok(['hsm', 'init-token', '--home', off, '--label', 'offline-hsm', '--generate-pins', join(off, 'pins')]);
    pin = join(off, 'pins', 'offline-hsm.pin');
    pass = join(on, 'passphrase');
    writeFileSync(pass, 'online transfer passphrase 7\n', { mode: 0o600 });
    root = makeRoot(join(t.dir, 'root'));
    csr = makeCsr(t.dir, 'intermediate-a');
  });
  afterAll(() => t.cleanup());

  it('identities, enrollment by spoken fingerprint, and an intermediate-request bundle that stock tools verify and the offline side imports once', () => {
    const offId = json<{ fingerprint: string }>(['bundle', 'identity', 'create', '--name', 'NEAM CA transfer: offline', '--token', 'offline-hsm', '--key-label', 'transfer', '--cert-out', join(off, 'offline.pem'), ...offKey()]);
    const onId = json<{ fingerprint: string }>(['bundle', 'identity', 'create', '--name', 'NEAM CA transfer: online', '--key-file', join(on, 'transfer.key'), '--cert-out', join(on, 'online.pem'), ...onKey()]);
    expect(ok(['bundle', 'identity', 'show', '--home', off]).stdout).toContain('read this aloud');
    const spoken = (fp: string): string => (fp.match(/../gu) ?? []).join(':').toUpperCase();
    // A wrong fingerprint is refused and nothing is pinned.
    const wrong = cli(['bundle', 'peer', 'add', '--home', off, '--name', 'online-ca', '--cert', join(on, 'online.pem'), '--fingerprint', spoken(offId.fingerprint)]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[ERR_BUNDLE_IDENTITY_INVALID]');
    ok(['bundle', 'peer', 'add', '--home', off, '--name', 'online-ca', '--cert', join(on, 'online.pem'), '--fingerprint', spoken(onId.fingerprint)]);
    ok(['bundle', 'peer', 'add', '--home', on, '--name', 'offline-root', '--cert', join(off, 'offline.pem'), '--fingerprint', offId.fingerprint, '--root-cert', join(root.dir, 'root.pem'), '--root-fingerprint', sha(root.der)]);
    expect(json<{ peers: Array<{ name: string; roots: unknown[] }> }>(['bundle', 'peer', 'list', '--home', on]).peers).toMatchObject([{ name: 'offline-root', roots: [{ fingerprint: sha(root.der) }] }]);

    const payload = join(on, 'req');
    mkdirSync(join(payload, 'csr'), { recursive: true });
    writeFileSync(join(payload, 'csr', 'intermediate-a.csr'), csr.pem);
    writeFileSync(join(payload, 'index.json'), JSON.stringify({ requests: [{ name: 'intermediate-a', csr: 'payload/csr/intermediate-a.csr', notBefore: new Date(Date.now() - 60_000).toISOString(), notAfter: new Date(Date.now() + 100 * DAY).toISOString() }] }));
    const bundle = join(t.dir, 'req.neambundle');
    const created = json<{ manifest: { sequence: number } }>(['bundle', 'create', '--kind', 'intermediate-request', '--to', 'offline-root', '--payload', payload, '--out', bundle, ...onKey()]);
    expect(created.manifest.sequence).toBe(1);
    expect(cli(['bundle', 'create', '--kind', 'intermediate-request', '--to', 'offline-root', '--payload', payload, '--out', bundle, ...onKey()]).stderr).toContain('[ERR_');
    stockVerify(readFileSync(bundle), Buffer.from(readFileSync(join(on, 'online.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s+/gu, ''), 'base64'), join(t.dir, 'oracle-1'));

    expect(ok(['bundle', 'inspect', bundle, '--home', off]).stdout).toMatch(/UNVERIFIED[\s\S]*pinned for 'online-ca', current/u);
    expect(ok(['bundle', 'verify', bundle, '--home', off]).stdout).toMatch(/^OK: intermediate-request bundle 1 from 'online-ca'/u);
    const imported = ok(['bundle', 'import', bundle, '--home', off, '--extract', join(off, 'req-1')]);
    expect(imported.stdout).toContain("Imported intermediate-request bundle 1 from 'online-ca'");
    expect(readFileSync(join(off, 'req-1', 'payload', 'csr', 'intermediate-a.csr'), 'utf8')).toBe(csr.pem);
    expect(ok(['bundle', 'import', bundle, '--home', off]).stdout).toMatch(/^Already imported on .*: nothing changed/u);
    const strict = cli(['bundle', 'import', bundle, '--home', off, '--require-new', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_BUNDLE_ALREADY_IMPORTED' } });
  });

  it('a tampered bundle fails verify and import with its code; no folder is extracted and the store is unchanged', () => {
    const bytes = Buffer.from(readFileSync(join(t.dir, 'req.neambundle')));
    const csrAt = bytes.indexOf(Buffer.from('-----BEGIN CERTIFICATE REQUEST-----'));
    bytes[csrAt + 100] = (bytes[csrAt + 100] ?? 0) ^ 0x01;
    const bad = join(t.dir, 'tampered.neambundle');
    writeFileSync(bad, bytes);
    const db = join(off, 'neam-ca.db');
    const readSnapshot = (): string => {
      const s = openStore(db, { readonly: true });
      try {
        return snapshot(s);
      } finally {
        s.close();
      }
    };
    const before = readSnapshot();
    const v = cli(['bundle', 'verify', bad, '--home', off]);
    expect(v.code).toBe(1);
    expect(v.stderr).toContain("[ERR_BUNDLE_FILE_HASH_MISMATCH]");
    const i = cli(['bundle', 'import', bad, '--home', off, '--extract', join(off, 'never')]);
    expect(i.code).toBe(1);
    expect(existsSync(join(off, 'never'))).toBe(false);
    expect(readSnapshot()).toBe(before);
  });

  it('the offline side signs an intermediate-issuance with its HSM key; the online side imports it and the CSR is answered; outbox, resend and retract', () => {
    const cert = issue(root, csr.pem, 'intermediate-a');
    const payload = join(off, 'iss');
    mkdirSync(join(payload, 'intermediates'), { recursive: true });
    writeFileSync(join(payload, 'root.pem'), root.pem);
    writeFileSync(join(payload, 'root.crl'), makeCrl(root));
    writeFileSync(join(payload, 'trust-bundle.pem'), root.pem);
    writeFileSync(join(payload, 'intermediates', 'a.pem'), cert);
    writeFileSync(join(payload, 'intermediates', 'a-chain.pem'), cert + root.pem);
    writeFileSync(
      join(payload, 'index.json'),
      JSON.stringify({ root: 'payload/root.pem', rootCrl: 'payload/root.crl', trustBundle: 'payload/trust-bundle.pem', certificates: [{ name: 'intermediate-a', certificate: 'payload/intermediates/a.pem', chain: 'payload/intermediates/a-chain.pem', csrSha256: csrSha256(csr.pem) }] }),
    );
    const out = join(t.dir, 'iss.neambundle');
    ok(['bundle', 'create', '--kind', 'intermediate-issuance', '--to', 'online-ca', '--payload', payload, '--out', out, ...offKey()]);
    stockVerify(readFileSync(out), Buffer.from(readFileSync(join(off, 'offline.pem'), 'utf8').replace(/-----[A-Z ]+-----|\s+/gu, ''), 'base64'), join(t.dir, 'oracle-2'));
    ok(['bundle', 'import', out, '--home', on]);
    const s = openStore(join(on, 'neam-ca.db'), { readonly: true });
    try {
      expect(new BundleState(s).sentCsrs('offline-root')[0]?.answeredBy).toMatch(/^[0-9a-f]{64}$/u);
    } finally {
      s.close();
    }
    expect(ok(['bundle', 'outbox', '--home', off]).stdout).toMatch(/online-ca\s+1\s+intermediate-issuance/u);
    ok(['bundle', 'resend', '--home', off, '--to', 'online-ca', '--sequence', '1', '--out', join(t.dir, 'again.neambundle')]);
    expect(readFileSync(join(t.dir, 'again.neambundle')).equals(readFileSync(out))).toBe(true);
    expect(cli(['bundle', 'retract', '--home', off, '--to', 'online-ca']).code).toBe(2);
  });

  it('refuses to bundle a private key (no output file), and never prints the PIN or passphrase', () => {
    const payload = join(on, 'bad');
    mkdirSync(payload);
    writeFileSync(join(payload, 'index.json'), JSON.stringify({ revocations: [{ certificate: 'payload/key.pem', reason: 'keyCompromise' }] }));
    writeFileSync(join(payload, 'key.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const out = join(t.dir, 'bad.neambundle');
    const r = cli(['bundle', 'create', '--kind', 'revocation-request', '--to', 'offline-root', '--payload', payload, '--out', out, ...onKey()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_BUNDLE_PRIVATE_KEY]');
    expect(r.stderr).not.toContain('BEGIN PRIVATE KEY');
    expect(existsSync(out)).toBe(false);
    const pinText = readFileSync(pin, 'utf8').trim();
    const wrong = join(on, 'wrong-pass');
    writeFileSync(wrong, 'not the passphrase at all', { mode: 0o600 });
    const w = cli(['bundle', 'create', '--kind', 'revocation-request', '--to', 'offline-root', '--payload', payload, '--out', out, '--home', on, '--passphrase-file', wrong]);
    expect(w.stderr).toContain('[ERR_SECRET_INVALID]');
    for (const text of [r.stdout, r.stderr, w.stdout, w.stderr]) {
      expect(text).not.toContain(pinText);
      expect(text).not.toContain('online transfer passphrase');
      expect(text).not.toContain('not the passphrase at all');
    }
  });

  it('the offline side rotates its HSM-held identity through the CLI; the online side imports the rotation and pins the new key', () => {
    const outDir = join(t.dir, 'rotation');
    mkdirSync(outDir);
    const r = json<{ fingerprint: string; bundles: Array<{ peer: string; path: string; sequence: number }> }>(['bundle', 'identity', 'rotate', '--name', 'NEAM CA transfer: offline 2', '--key-label', 'transfer-2', '--out-dir', outDir, ...offKey()]);
    expect(r.bundles).toMatchObject([{ peer: 'online-ca', sequence: 2 }]);
    const path = r.bundles[0]?.path ?? '';
    expect(ok(['bundle', 'import', path, '--home', on]).stdout).toContain('Imported identity-rotation bundle 2');
    const peers = json<{ peers: Array<{ pins: Array<{ fingerprint: string; status: string }> }> }>(['bundle', 'peer', 'list', '--home', on]).peers;
    expect(peers[0]?.pins.find((p) => p.status === 'current')?.fingerprint).toBe(r.fingerprint);
    expect(ok(['bundle', 'identity', 'show', '--home', off]).stdout).toMatch(/retired/u);
  });
});
