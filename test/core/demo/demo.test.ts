/**
 * The README's main job, run the way a user runs it: `node bin/neam-ca.mjs demo --out DIR` (what
 * `npm run demo` runs) as a child process into a temporary folder. Its artefacts are then checked
 * here independently of the demo's own stage 7: OpenSSL (`verify -x509_strict`, `crl -verify`,
 * `cms -verify`) and GnuTLS (`certtool --verify-chain`) on the chains, CRLs and bundles, the
 * transcripts through the CLI, the mTLS evidence, the layout against docs/demo.md, and that no
 * secret leaked into its logs. A second run into the same folder must refuse; a SIGINT while the
 * server and the agent run, and a stage that fails (a curl that fails, put first on PATH), must
 * leave no process behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';

const REPO = join(import.meta.dirname, '../../..');
const BIN = join(REPO, 'bin/neam-ca.mjs');
const DEMO_TIMEOUT = 240_000;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the demo as a child; `onStderr` sees its progress as it comes. */
function startDemo(out: string, onStderr?: (all: string, pid: number) => void, env: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<Finished> } {
  const child = spawn(process.execPath, [BIN, 'demo', '--out', out], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, child.pid ?? 0);
  });
  const done = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { pid: child.pid ?? 0, done };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `text` (pgrep -f), without pgrep itself. */
function processesMentioning(text: string): string[] {
  const r = spawnSync('pgrep', ['-af', text], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.includes('pgrep'));
}

/**
 * Paths of the layout tree in docs/demo.md: one entry per line, two spaces of indentation per
 * level under its folder (an entry ending in `/`), then two or more spaces and the description;
 * `<…>` placeholders are wildcards.
 */
function documentedLayout(): string[] {
  const doc = readFileSync(join(REPO, 'docs/demo.md'), 'utf8');
  const block = /## Output layout[\s\S]*?```text\nDIR\/\n([\s\S]*?)```/u.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/demo.md has no layout block (## Output layout, ```text, DIR/)');
  const stack: string[] = [];
  const paths: string[] = [];
  for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
    const depth = (line.length - line.trimStart().length) / 2 - 1;
    if (!Number.isInteger(depth) || depth < 0 || depth > stack.length) throw new Error(`docs/demo.md layout: bad indentation in '${line}'`);
    const entry = line.trim().split(/\s{2,}/u)[0] as string;
    stack.length = depth;
    const full = [...stack, entry].join('');
    paths.push(full);
    if (entry.endsWith('/')) stack.push(entry);
  }
  return paths;
}

/** Does `pattern` (relative, `<x>` = one path segment part, trailing `/` = folder) exist under `root`? */
function existsLike(root: string, pattern: string): boolean {
  const folder = pattern.endsWith('/');
  const segs = pattern.replace(/\/$/u, '').split('/');
  const walk = (dir: string, i: number): boolean => {
    if (i === segs.length) return true;
    const seg = segs[i] as string;
    const re = new RegExp(`^${seg.replace(/[.+?^${}()|[\]\\]/gu, '\\$&').replace(/<[a-z]+>/gu, '[^/]+')}$`, 'u');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return false;
    }
    return names.some((n) => {
      if (!re.test(n)) return false;
      const p = join(dir, n);
      if (i === segs.length - 1) return folder ? statSync(p).isDirectory() : statSync(p).isFile();
      return statSync(p).isDirectory() && walk(p, i + 1);
    });
  };
  return walk(root, 0);
}

const splitPem = (text: string): string[] => text.split(/(?<=-----END CERTIFICATE-----\n)/u).filter((p) => p.includes('BEGIN CERTIFICATE'));

describe('npm run demo, end to end (SoftHSM, SQLite, real processes)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let out = '';
  let work = '';
  let first: Finished;
  let summary: { ok: boolean; stages: Array<{ stage: number; seconds: number }>; totalSeconds: number; processes: Array<{ name: string; pid: number }>; paths: Record<string, string> };
  const ceremony = (kind: 'root' | 'intermediate'): string => {
    const base = join(out, 'offline/ca/rehearsal/ceremonies');
    const found = readdirSync(base).filter((n) => n.endsWith(`-${kind}-rehearsal`));
    expect(found).toHaveLength(1);
    return join(base, found[0] as string);
  };

  beforeAll(async () => {
    tmp = tempDir('neam-demo-');
    out = join(tmp.dir, 'demo-out');
    work = join(tmp.dir, 'checks');
    mkdirSync(work);
    first = await startDemo(out).done;
    if (first.code !== 0) console.error(first.stderr.slice(-6000));
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as typeof summary;
  }, DEMO_TIMEOUT);
  afterAll(() => tmp?.cleanup());

  it('completes, printing each of the 7 stages with its duration, then the summary with paths', () => {
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    for (let n = 1; n <= 7; n++) expect(first.stderr).toContain(`[${n}/7] `);
    expect(first.stderr.match(/^ {6}done in \d+\.\d s$/gmu)).toHaveLength(7);
    expect(first.stdout).toMatch(/NEAM CA demo completed in \d+\.\d s/u);
    expect(first.stdout).toContain(join(out, 'transfer'));
    expect(first.stdout).toContain('neam-ca status --home');
    expect(summary.ok).toBe(true);
    expect(summary.stages.map((s) => s.stage)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // The issue's budget (3 minutes on the 2-core machine); the real measure is printed per stage.
    console.log(`demo stage times (s): ${summary.stages.map((s) => `${s.stage}: ${s.seconds}`).join(', ')}; total ${summary.totalSeconds}`);
  });

  it('leaves the layout docs/demo.md documents', () => {
    const paths = documentedLayout();
    expect(paths.length).toBeGreaterThan(40);
    const missing = paths.filter((p) => !existsLike(out, p));
    expect(missing).toEqual([]);
  });

  it('root → intermediate → SVID chains verify with OpenSSL (-x509_strict) and GnuTLS', () => {
    const root = join(ceremony('root'), 'root.pem');
    expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', root, root])).toContain(': OK');
    expect(runOk('openssl', ['x509', '-in', root, '-noout', '-text'])).toMatch(/Public-Key: \(4096 bit\)[\s\S]*CA:TRUE, pathlen:1/u);
    const inter = ceremony('intermediate');
    const intermediates = readdirSync(inter).filter((n) => /^intermediate-.*(?<!-chain)\.pem$/u.test(n));
    expect(intermediates).toHaveLength(4);
    for (const name of ['orders', 'storefront']) {
      const parts = splitPem(readFileSync(join(out, 'node/workloads', name, 'svid.pem'), 'utf8'));
      expect(parts).toHaveLength(2);
      const leaf = join(work, `${name}-leaf.pem`);
      const chain = join(work, `${name}-chain.pem`);
      writeFileSync(leaf, parts[0] as string);
      writeFileSync(chain, parts[1] as string);
      // The SVID's issuer is one of the ceremony's intermediates, which chains to the root.
      const issuer = intermediates.find((i) => readFileSync(join(inter, i), 'utf8') === parts[1]);
      expect(issuer, `${name}'s chain is an intermediate of the ceremony`).toBeDefined();
      expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', root, join(inter, issuer as string)])).toContain(': OK');
      for (const purpose of ['sslclient', 'sslserver']) {
        expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', root, '-untrusted', chain, leaf]), `${name} ${purpose}`).toContain(': OK');
      }
      const text = runOk('openssl', ['x509', '-in', leaf, '-noout', '-ext', 'subjectAltName,basicConstraints,keyUsage,extendedKeyUsage']);
      expect(text).toMatch(new RegExp(`URI:spiffe://example\\.org/ns/[a-z]+/sa/${name}`, 'u'));
      expect(text).toMatch(/CA:FALSE[\s\S]*Digital Signature[\s\S]*TLS Web Server Authentication, TLS Web Client Authentication/u);
      // GnuTLS, a second implementation, on leaf + intermediate + root.
      const full = join(work, `${name}-full.pem`);
      writeFileSync(full, `${parts[0] as string}${parts[1] as string}${readFileSync(root, 'utf8')}`);
      expect(runOk('certtool', ['--verify-chain', '--infile', full])).toMatch(/Chain verification output: Verified/u);
      // The delivered key is the certificate's key, and 0600.
      expect(statSync(join(out, 'node/workloads', name, 'svid.key')).mode & 0o777).toBe(0o600);
      expect(runOk('openssl', ['pkey', '-in', join(out, 'node/workloads', name, 'svid.key'), '-pubout'])).toBe(runOk('openssl', ['x509', '-in', leaf, '-noout', '-pubkey']));
    }
  });

  it("CRLs verify with openssl crl -verify, and with the server's CRLs the revoked SVID fails as revoked", () => {
    const root = join(ceremony('root'), 'root.pem');
    expect(runOk('openssl', ['crl', '-in', join(ceremony('intermediate'), 'root.crl'), '-CAfile', root, '-noout', '-verify', '-crlnumber'])).toMatch(/crlNumber=0x02/u);
    // Every CRL the online CA published (root + each intermediate), each against its issuer.
    const crls = readFileSync(join(out, 'node/workloads/orders/crls.pem'), 'utf8').split(/(?<=-----END X509 CRL-----\n)/u).filter((p) => p.includes('BEGIN X509 CRL'));
    expect(crls.length).toBeGreaterThanOrEqual(2);
    const issuers = join(work, 'issuers.pem');
    const inter = ceremony('intermediate');
    writeFileSync(issuers, readFileSync(root, 'utf8') + readdirSync(inter).filter((n) => /^intermediate-.*(?<!-chain)\.pem$/u.test(n)).map((n) => readFileSync(join(inter, n), 'utf8')).join(''));
    crls.forEach((c, i) => {
      const f = join(work, `crl-${i}.pem`);
      writeFileSync(f, c);
      expect(runOk('openssl', ['crl', '-in', f, '-CAfile', issuers, '-noout', '-verify']).trim()).toBe('');
    });
    const revoked = splitPem(readFileSync(join(out, 'mtls/revoked-svid/svid.pem'), 'utf8'));
    writeFileSync(join(work, 'revoked-leaf.pem'), revoked[0] as string);
    writeFileSync(join(work, 'revoked-chain.pem'), revoked[1] as string);
    const crlFile = join(out, 'node/workloads/orders/crls.pem');
    const r = run('openssl', ['verify', '-x509_strict', '-crl_check_all', '-CRLfile', crlFile, '-CAfile', root, '-untrusted', join(work, 'revoked-chain.pem'), join(work, 'revoked-leaf.pem')]);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('certificate revoked');
    // The same CRLs accept the unrevoked storefront SVID.
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check_all', '-CRLfile', crlFile, '-CAfile', root, '-untrusted', join(work, 'storefront-chain.pem'), join(work, 'storefront-leaf.pem')])).toContain(': OK');
  });

  it('every bundle verifies with stock openssl cms -verify against its sender, and its payload hashes match', () => {
    const bundles = [
      { file: '1-intermediate-request.neambundle', sender: 'online-transfer.pem', kind: 'intermediate-request' },
      { file: '2-intermediate-issuance.neambundle', sender: 'offline-transfer.pem', kind: 'intermediate-issuance' },
      { file: '3-istio-manifests.neambundle', sender: 'online-transfer.pem', kind: 'istio-manifests' },
    ];
    expect(readdirSync(join(out, 'transfer')).filter((n) => n.endsWith('.neambundle')).sort()).toEqual(bundles.map((b) => b.file));
    for (const b of bundles) {
      const dir = join(work, b.file);
      mkdirSync(dir);
      runOk('tar', ['-xf', join(out, 'transfer', b.file), '-C', dir]);
      const v = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'manifest.json.p7s'), '-content', join(dir, 'manifest.json'), '-CAfile', join(out, 'transfer', b.sender), '-purpose', 'any', '-out', '/dev/null']);
      expect(v.status, `${b.file}: ${v.stderr}`).toBe(0);
      expect(v.stderr).toContain('Verification successful');
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { kind: string; files: Array<{ path: string; sha256: string; size: number }> };
      expect(m.kind).toBe(b.kind);
      for (const f of m.files) expect(createHash('sha256').update(readFileSync(join(dir, f.path))).digest('hex'), `${b.file} ${f.path}`).toBe(f.sha256);
      // No private key travels in a bundle.
      for (const f of m.files) expect(readFileSync(join(dir, f.path), 'utf8'), f.path).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/u);
      // The wrong sender's certificate does not verify it.
      const other = b.sender === 'online-transfer.pem' ? 'offline-transfer.pem' : 'online-transfer.pem';
      expect(run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'manifest.json.p7s'), '-content', join(dir, 'manifest.json'), '-CAfile', join(out, 'transfer', other), '-purpose', 'any', '-out', '/dev/null']).status).not.toBe(0);
    }
  });

  it('both transcripts verify through the CLI as one chain from genesis, pinned to the offline transfer key', () => {
    const spki = runOk('sh', ['-c', `openssl x509 -in '${join(out, 'transfer/offline-transfer.pem')}' -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`]).slice(0, 64);
    const t1 = join(ceremony('root'), 'transcript.jsonl');
    const t2 = join(ceremony('intermediate'), 'transcript.jsonl');
    const v = spawnSync(process.execPath, [BIN, 'transcript', 'verify', t1, t2, '--genesis', '--pin-transfer', spki], { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout.match(/^OK {2}/gmu)).toHaveLength(2);
    expect(v.stdout).toContain('[pinned]');
    // Out of order, the chain is refused.
    expect(spawnSync(process.execPath, [BIN, 'transcript', 'verify', t2, t1, '--genesis'], { encoding: 'utf8' }).status).toBe(1);
    // The printable records exist and say VERIFIED.
    for (const r of ['root-ceremony.html', 'intermediate-ceremony.html']) expect(readFileSync(join(out, 'reports', r), 'utf8')).toContain('VERIFIED');
  });

  it('the mTLS exchange: the server verified the client SVID; the revoked one was refused by the server as revoked', () => {
    const ok = readFileSync(join(out, 'mtls/1-storefront-to-orders.html'), 'utf8');
    expect(ok).toContain('Client certificate');
    expect(ok).toContain('URI:spiffe://example.org/ns/web/sa/storefront');
    expect(readFileSync(join(out, 'mtls/4-storefront-to-orders.html'), 'utf8')).toContain('URI:spiffe://example.org/ns/web/sa/storefront');
    expect(readFileSync(join(out, 'logs/5-orders-s_server-2.log'), 'utf8')).toContain('certificate revoked');
    expect(readFileSync(join(out, 'mtls/3-revoked-reports-to-orders.html.curl.txt'), 'utf8')).toMatch(/alert certificate revoked/u);
    expect(existsSync(join(out, 'mtls/3-revoked-reports-to-orders.html'))).toBe(false);
    // The revoked serial is in the second server's CRLs and not in the first's.
    const serial = runOk('openssl', ['x509', '-in', join(out, 'mtls/revoked-svid/svid.pem'), '-noout', '-serial']).trim().replace(/^serial=/u, '');
    const listed = (f: string): boolean =>
      readFileSync(f, 'utf8')
        .split(/(?<=-----END X509 CRL-----\n)/u)
        .filter((c) => c.includes('BEGIN X509 CRL'))
        .some((c) => runOk('openssl', ['crl', '-noout', '-text'], { input: c }).includes(`Serial Number: ${serial}`));
    expect(listed(join(out, 'mtls/orders-server-2/crls.pem'))).toBe(true);
    expect(listed(join(out, 'mtls/orders-server-1/crls.pem'))).toBe(false);
  });

  it('stage 6: the manifests were validated against Istio\'s CRD schemas, every observed request replays as allowed, every policy case matches', () => {
    // This repository's tests need the CRDs (test/core/istio/helpers.ts fails without them), so the
    // demo must have found them too and not fallen back to Istio's webhook rules alone.
    expect(first.stderr).toContain("validated against Istio's CRD schemas, CEL and webhook rules: 0 errors");
    expect(first.stderr).not.toContain('CRD schemas were not found');
    const replay = readFileSync(join(out, 'istio', 'replay.txt'), 'utf8');
    const m = /^(\d+) requests replayed: (\d+) allowed, 0 denied$/mu.exec(replay);
    expect(m, replay.slice(0, 500)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(m![2]).toBe(m![1]);
    const cases = readFileSync(join(out, 'istio', 'policy-test.txt'), 'utf8').trim().split('\n');
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(cases.filter((c) => !c.startsWith('ok  '))).toEqual([]);
    expect(cases.filter((c) => /^ok {4}deny /u.test(c)).length).toBeGreaterThan(0);
    // Every rollout phase's manifests are there as YAML.
    expect(readdirSync(join(out, 'istio', 'rollout')).filter((d) => /^\d\d-/u.test(d)).length).toBeGreaterThanOrEqual(2);
  });

  it('keeps secrets out of the logs and output, and in 0600 files under DEMO-ONLY-secrets/', () => {
    const secretsDir = join(out, 'DEMO-ONLY-secrets');
    expect(statSync(secretsDir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(secretsDir)) expect(statSync(join(secretsDir, f)).mode & 0o777, f).toBe(0o600);
    const answers = readFileSync(join(secretsDir, 'root-answers.yaml'), 'utf8');
    const secrets = [...answers.matchAll(/passphrase: (.+)$/gmu), ...answers.matchAll(/so-pin: (.+)$/gmu)].map((m) => (m[1] as string).replace(/^["']|["']$/gu, ''));
    secrets.push(readFileSync(join(secretsDir, 'online-token.pin'), 'utf8'), readFileSync(join(secretsDir, 'online-transfer.passphrase'), 'utf8'), readFileSync(join(out, 'node/join-token'), 'utf8').trim());
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    const scanned = [first.stdout, first.stderr, ...readdirSync(join(out, 'logs')).map((f) => readFileSync(join(out, 'logs', f), 'utf8')), readFileSync(join(out, 'summary.json'), 'utf8'), readFileSync(join(ceremony('root'), 'transcript.jsonl'), 'utf8'), readFileSync(join(ceremony('intermediate'), 'transcript.jsonl'), 'utf8')];
    for (const s of secrets) for (const text of scanned) expect(text.includes(s), 'a secret leaked').toBe(false);
    expect(statSync(join(out, 'node/join-token')).mode & 0o777).toBe(0o600);
  });

  it('stopped every process it started', () => {
    expect(summary.processes.length).toBeGreaterThanOrEqual(4);
    expect(summary.processes.filter((p) => alive(p.pid))).toEqual([]);
    expect(processesMentioning(out)).toEqual([]);
  });

  it('a second run into the same folder refuses, says so (naming the folder and --out), exit 1, and changes nothing', async () => {
    const before = readFileSync(join(out, 'summary.json'));
    const again = await startDemo(out).done;
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ERR_DEMO_OUTPUT_EXISTS');
    expect(again.stderr).toContain(out);
    expect(again.stderr).toContain('--out');
    expect(again.stderr).not.toContain('[1/7]');
    expect(readFileSync(join(out, 'summary.json')).equals(before)).toBe(true);
  }, DEMO_TIMEOUT);
});

describe('the demo stops every process it started, on Ctrl-C and on failure', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  afterAll(() => tmp?.cleanup());
  let intOut = '';
  let failOut = '';
  let interrupted: Finished;
  let failed: Finished;
  let sent = false;
  let children: string[] = [];
  let failChildren: string[] = [];

  /** The demo's children whose command line names its output folder (the online CA, the agent, …). */
  const childrenOf = (pid: number, out: string): string[] => spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter((p) => p !== '' && readCmdline(p).includes(out));

  beforeAll(async () => {
    tmp = tempDir('neam-demo-stop-');
    intOut = join(tmp.dir, 'interrupted');
    failOut = join(tmp.dir, 'failed');
    // A curl that fails (the workloads' client): stage 5 fails while the server and agent run.
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'curl'), '#!/bin/sh\necho "curl: (7) simulated failure" >&2\nexit 7\n', { mode: 0o755 });
    const a = startDemo(intOut, (text, pid) => {
      if (sent || !/agent \(pid \d+\) running/u.test(text)) return;
      sent = true;
      // The demo's children at this moment (online CA, agent, maybe a TLS server), then Ctrl-C.
      children = childrenOf(pid, intOut);
      process.kill(pid, 'SIGINT');
    });
    const b = startDemo(failOut, (text, pid) => {
      if (failChildren.length === 0 && /\[5\/7\]/u.test(text)) failChildren = childrenOf(pid, failOut);
    }, { PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    [interrupted, failed] = await Promise.all([a.done, b.done]);
  }, DEMO_TIMEOUT);

  it('SIGINT while the server and the agent run: every process stopped, exit 130, the report says interrupted', () => {
    expect(sent, interrupted.stderr.slice(-3000)).toBe(true);
    expect(children.length, 'the online CA and the agent were running').toBeGreaterThanOrEqual(2);
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain('Interrupted: every process the demo started was stopped');
    expect(children.filter((p) => alive(Number(p)))).toEqual([]);
    expect(processesMentioning(intOut)).toEqual([]);
    const summary = JSON.parse(readFileSync(join(intOut, 'summary.json'), 'utf8')) as { ok: boolean; error: { code: string }; processes: Array<{ pid: number }> };
    expect(summary.ok).toBe(false);
    expect(summary.error.code).toBe('ERR_DEMO_INTERRUPTED');
    expect(summary.processes.filter((p) => alive(p.pid))).toEqual([]);
  });

  it('a failing stage: exit 1 naming the check and its evidence, every process stopped, the report says which stage', () => {
    expect(failed.code, failed.stderr.slice(-3000)).toBe(1);
    expect(failed.stderr).toMatch(/neam-ca: error \[ERR_DEMO_CHECK_FAILED\]: storefront → orders over mutual TLS failed \(curl exit 7/u);
    expect(failed.stderr).toContain(`The demo failed; the output so far is in ${failOut}`);
    expect(failChildren.length, 'the online CA and the agent were running when stage 5 began').toBeGreaterThanOrEqual(2);
    expect(failChildren.filter((p) => alive(Number(p)))).toEqual([]);
    expect(processesMentioning(failOut)).toEqual([]);
    const summary = JSON.parse(readFileSync(join(failOut, 'summary.json'), 'utf8')) as { ok: boolean; error: { code: string; stage: number }; stages: unknown[]; processes: Array<{ pid: number }> };
    expect(summary).toMatchObject({ ok: false, error: { code: 'ERR_DEMO_CHECK_FAILED', stage: 5 } });
    expect(summary.stages).toHaveLength(4);
    expect(summary.processes.filter((p) => alive(p.pid))).toEqual([]);
  });
});

function readCmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}
