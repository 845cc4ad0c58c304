import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { crds, fx, REPO } from './helpers.ts';
import { makePki, type TestPki } from './pki.ts';

const BIN = join(REPO, 'bin/neam-ca.mjs');
function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NEAM_CA_ISTIO_CRDS: dirname(crds().file), ...env }, timeout: 120_000, cwd: REPO });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const INPUTS = ['--inventory', fx('inventory.yaml'), '--config', fx('config.yaml'), '--access-log', fx('access-log.jsonl'), '--metrics', fx('metrics.json')];

describe('neam-ca istio (CLI)', () => {
  let dir: string;
  let cleanup: () => void;
  let pki: TestPki;
  let out: string;
  beforeAll(() => {
    const t = tempDir('neam-istio-cli-');
    dir = t.dir;
    cleanup = t.cleanup;
    pki = makePki(dir);
    writeFileSync(join(dir, 'ca-cert.pem'), pki.intermediate);
    writeFileSync(join(dir, 'cert-chain.pem'), pki.intermediate + pki.root);
    writeFileSync(join(dir, 'root-cert.pem'), pki.root);
    writeFileSync(join(dir, 'ca-key.pem'), pki.intermediateKey);
    // The fixture's exceptions are valid at the fixture's clock; the OpenSSL PKI is valid from the
    // real clock: two runs, each at its own time.
    out = join(dir, 'out');
    const r = cli(['istio', 'generate', ...INPUTS, '--exceptions', fx('exceptions.yaml'), '--now', '2026-12-01T00:00:00Z', '--out', out]);
    if (r.code !== 0) throw new Error(`generate failed: ${r.stderr}${r.stdout}`);
    const c = cli(['istio', 'generate', ...INPUTS, '--ca-cert', join(dir, 'ca-cert.pem'), '--cert-chain', join(dir, 'cert-chain.pem'), '--root-cert', join(dir, 'root-cert.pem'), '--out', join(dir, 'with-ca')]);
    if (c.code !== 0) throw new Error(`generate with cacerts failed: ${c.stderr}${c.stdout}`);
  });
  afterAll(() => cleanup());

  it('every istio command has --help', () => {
    for (const c of ['generate', 'validate', 'test', 'replay']) {
      const r = cli(['istio', c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toContain(`Usage: neam-ca istio ${c}`);
    }
  });

  it('generate writes the rollout with the cacerts Secret (certificates only; OpenSSL verifies the chain)', () => {
    const secret = parseAllDocuments(readFileSync(join(dir, 'with-ca/00-plug-in-ca/cacerts.yaml'), 'utf8'))[0]?.toJS() as { data: Record<string, string>; metadata: { namespace: string } };
    expect(secret.metadata.namespace).toBe('istio-system');
    expect(Object.keys(secret.data)).toEqual(['ca-cert.pem', 'cert-chain.pem', 'root-cert.pem']);
    for (const [k, v] of Object.entries(secret.data)) writeFileSync(join(dir, `s-${k}`), Buffer.from(v, 'base64'));
    const v = run('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 's-root-cert.pem'), '-untrusted', join(dir, 's-cert-chain.pem'), join(dir, 's-ca-cert.pem')]);
    expect(v.status, v.stderr).toBe(0);
    expect(readFileSync(join(dir, 'with-ca/00-plug-in-ca/README.md'), 'utf8')).toMatch(/It holds no private key/u);
    for (const p of ['01-observe/README.md', '02-permissive/README.md', '03-strict/README.md']) expect(readFileSync(join(out, p), 'utf8')).toMatch(/## Roll back/u);
  });

  it('generate refuses a private key, an expired exception, an existing output and missing inputs', () => {
    const key = cli(['istio', 'generate', ...INPUTS, '--ca-cert', join(dir, 'ca-key.pem'), '--cert-chain', join(dir, 'cert-chain.pem'), '--root-cert', join(dir, 'root-cert.pem'), '--out', join(dir, 'k'), '--json']);
    expect(key.code).toBe(1);
    expect(JSON.parse(key.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_ISTIO_PRIVATE_KEY_REFUSED' } });
    expect(key.stdout).not.toContain(pki.intermediateKey.split('\n')[1]);
    const expired = cli(['istio', 'generate', ...INPUTS, '--exceptions', fx('exceptions-expired.yaml'), '--now', '2026-12-01T00:00:00Z', '--out', join(dir, 'e')]);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toContain('[ERR_ISTIO_EXCEPTION_EXPIRED]');
    expect(cli(['istio', 'generate', ...INPUTS, '--out', out]).stderr).toContain('[ERR_ALREADY_EXISTS]');
    const usage = cli(['istio', 'generate', '--out', join(dir, 'u')]);
    expect(usage.code).toBe(2);
  });

  it('test prints expected vs actual and exits 0 when all match, 1 with ERR_ISTIO_POLICY_MISMATCH otherwise', () => {
    const ok = cli(['istio', 'test', '--manifests', out, '--cases', fx('cases.yaml'), '--inventory', fx('inventory.yaml'), '--config', fx('config.yaml')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/RESULT\s+CASE\s+REQUEST\s+EXPECTED\s+ACTUAL\s+DECIDED BY/u);
    expect(ok.stdout).toContain('All 22 cases match.');
    const wrong = join(dir, 'wrong-cases.yaml');
    writeFileSync(wrong, 'cases:\n  - { name: expects the impossible, from: plaintext, to: shop/orders, port: 8080, method: GET, path: /, expect: allow }\n');
    const bad = cli(['istio', 'test', '--manifests', out, '--cases', wrong, '--inventory', fx('inventory.yaml'), '--config', fx('config.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL\s+expects the impossible/u);
    expect(bad.stderr).toContain('[ERR_ISTIO_POLICY_MISMATCH]');
    expect(bad.stderr).toContain('plaintext rejected: mTLS STRICT');
    // The same cases against the rollout up to step 2 (still PERMISSIVE): the plaintext request reaches authorization.
    const p2 = cli(['istio', 'test', '--manifests', out, '--phase', '02-permissive', '--cases', wrong, '--inventory', fx('inventory.yaml'), '--config', fx('config.yaml'), '--json']);
    expect(JSON.parse(p2.stdout).error.details.results[0].decidedBy).toMatch(/no rule of .* matched/u);
  });

  it('replay exits 0 on the traffic the rollout came from and 1 with the would-be-denied requests otherwise', () => {
    const ok = cli(['istio', 'replay', '--manifests', out, '--inventory', fx('inventory.yaml'), '--config', fx('config.yaml'), '--access-log', fx('access-log.jsonl'), '--metrics', fx('metrics.json'), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).value).toMatchObject({ denied: 0, groups: [] });
    const extra = join(dir, 'extra.log');
    writeFileSync(extra, `${JSON.stringify({ method: 'DELETE', path: '/api/orders/7', upstream_cluster: 'inbound|8080||', requested_server_name: 'outbound_.80_._.orders.shop.svc.cluster.local', downstream_peer_uri_san: 'spiffe://cluster.local/ns/web/sa/bff' })}\nnot json\n`);
    const bad = cli(['istio', 'replay', '--manifests', out, '--inventory', fx('inventory.yaml'), '--config', fx('config.yaml'), '--access-log', extra]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/1\s+cluster\.local\/ns\/web\/sa\/bff\s+shop\/orders\s+8080\s+DELETE\s+\/api\/orders\/7/u);
    expect(bad.stdout).toContain('extra.log:2: not a JSON object');
    expect(bad.stderr).toContain('1 of 1 observed request(s) would be denied');
  });

  it('validate passes the generated rollout and fails a broken manifest, listing every problem', () => {
    const ok = cli(['istio', 'validate', out]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: deny-admin, namespace: shop }\nspec:\n  action: DENY\n  rules:\n    - to: [{ operation: { paths: [/admin/*] } }]\n      from: [{ source: { principals: ["spiffe://cluster.local/ns/a/sa/b"] } }]\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: s, namespace: shop }\nspec: { egress: [{ hosts: ["shop/ord*.shop.svc.cluster.local"] }], bogus: 1 }\n');
    const bad = cli(['istio', 'validate', broken]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/broken\.yaml:1 AuthorizationPolicy shop\/deny-admin WARNING spec\.rules\[0\]: DENY rule uses HTTP attributes without ports/u);
    expect(bad.stdout).toMatch(/can never match/u);
    expect(bad.stdout).toMatch(/partial wildcard/u);
    expect(bad.stdout).toMatch(/unknown field "spec\.bogus"/u);
    expect(bad.stderr).toContain('[ERR_ISTIO_MANIFEST_INVALID]');
  });

  it('export signs the rollout as an istio-manifests bundle for an enrolled peer; the peer verifies it', () => {
    const pass = join(dir, 'passphrase');
    writeFileSync(pass, 'istio export test passphrase 9\n', { mode: 0o600 });
    const a = join(dir, 'home-a');
    const b = join(dir, 'home-b');
    const id = (home: string, name: string): { fingerprint: string } => {
      const r = cli(['bundle', 'identity', 'create', '--home', home, '--name', name, '--key-file', join(dir, `${name}.key`), '--passphrase-file', pass, '--cert-out', join(dir, `${name}.pem`), '--json']);
      if (r.code !== 0) throw new Error(r.stdout + r.stderr);
      return (JSON.parse(r.stdout) as { value: { fingerprint: string } }).value;
    };
    const fa = id(a, 'offline');
    const fb = id(b, 'online');
    expect(cli(['bundle', 'peer', 'add', '--home', a, '--name', 'online-ca', '--cert', join(dir, 'online.pem'), '--fingerprint', fb.fingerprint]).code).toBe(0);
    expect(cli(['bundle', 'peer', 'add', '--home', b, '--name', 'offline', '--cert', join(dir, 'offline.pem'), '--fingerprint', fa.fingerprint]).code).toBe(0);
    const bundle = join(dir, 'istio.neambundle');
    const r = cli(['istio', 'export', '--from', out, '--to', 'online-ca', '--out', bundle, '--home', a, '--passphrase-file', pass]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/istio-manifests for 'online-ca', sequence 1/u);
    const v = cli(['bundle', 'verify', bundle, '--home', b, '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('payload/02-permissive/manifests.yaml');
    // The receiving CLI runs the Istio domain's check on import (Istio's rules and the CRD schemas).
    const imp = cli(['bundle', 'import', bundle, '--home', b, '--extract', join(dir, 'received')]);
    expect(imp.code, imp.stdout + imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`Istio manifests checked; CRD schemas: ${crds().file}.`);
    // A validly signed bundle carrying an invalid manifest is refused at import by the Istio check.
    const forged = join(dir, 'forged-payload');
    cpSync(join(dir, 'received', 'payload'), forged, { recursive: true });
    const strict = join(forged, '03-strict', 'manifests.yaml');
    writeFileSync(strict, readFileSync(strict, 'utf8').replace('mode: STRICT', 'mode: STRICTEST'));
    const forgedBundle = join(dir, 'forged.neambundle');
    const made = cli(['bundle', 'create', '--kind', 'istio-manifests', '--to', 'online-ca', '--payload', forged, '--out', forgedBundle, '--home', a, '--passphrase-file', pass]);
    expect(made.code, made.stdout + made.stderr).toBe(0);
    const refused = cli(['bundle', 'import', forgedBundle, '--home', b, '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_ISTIO_MANIFEST_INVALID' } });
    expect(refused.stdout).toContain('STRICTEST');
    // A copy of the tree with a private key planted in it is refused before anything is signed.
    const tampered = join(dir, 'tampered');
    cpSync(out, tampered, { recursive: true });
    writeFileSync(join(tampered, '02-permissive', 'zz.yaml'), `x: |\n  ${pki.intermediateKey.split('\n').join('\n  ')}\n`);
    const key = cli(['istio', 'export', '--from', tampered, '--to', 'online-ca', '--out', join(dir, 'key.neambundle'), '--home', a, '--passphrase-file', pass]);
    expect(key.code).toBe(1);
    expect(key.stderr).toContain('[ERR_ISTIO_PRIVATE_KEY_REFUSED]');
    expect(key.stderr).not.toContain(pki.intermediateKey.split('\n')[1]);
    expect(existsSync(join(dir, 'key.neambundle'))).toBe(false);
  });

  it('validate fails clearly, instead of passing, when the CRDs cannot be found', () => {
    const r = cli(['istio', 'validate', out], { NEAM_CA_ISTIO_CRDS: '/nonexistent-crds' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_ISTIO_CRDS_NOT_FOUND]');
    expect(r.stderr).toContain('/nonexistent-crds/customresourcedefinitions.gen.yaml');
    expect(r.stderr).toContain('NEAM_CA_ISTIO_CRDS=DIR');
  });
});
