/**
 * `npm run bench -- issuance [--duration=S] [--warmup=S] [--concurrency=C] [--workers=N] [--csrs=N]`
 *
 * Drives, one after the other in the same run and with the same load generator
 * (bench/issuance-load.ts: mutual TLS, keep-alive, C connections, the same CSR stream):
 *   1. `cfssl serve` (Debian golang-cfssl) with an ECDSA P-256 CA, default log level;
 *   2. the same with `-loglevel 2` (warnings only), cfssl's faster setting;
 *   3. `neam-ca serve` with an ECDSA P-256 intermediate (software key sealed under a SoftHSM KEK),
 *      with the default recordDurability `full` (fsync before a certificate is returned) and with
 *      `batched` (WAL fsynced every 100 ms);
 *   4. the same with an RSA-2048 intermediate.
 * Both CAs are set up the way an operator would (CLI commands; intermediates signed by a
 * throwaway root with `openssl ca`), both verify every CSR's signature, and one certificate from
 * each is checked with `openssl verify -x509_strict -purpose sslclient`. Prints certificates per
 * second, p50/p99 latency and peak RSS (VmHWM) of each server, and the ratios against the targets.
 * Then measures, in one thread of this process, the full issuance function against the bare
 * "import CSR key + verify CSR + sign" work on the same CSR stream.
 * Rate limits are disabled for the bench node (cfssl has none); everything else is the default.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, KeyObject, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { softwareSigner } from '../core/crypto/signer.ts';
import { issuerProfile, readCaCertificate } from '../core/online/ca-cert.ts';
import { decodeCsrPem, parseCsr } from '../core/online/csr.ts';
import { buildCsr, PEM_LABEL, toPem } from '../core/pki/index.ts';
import { issueSvid } from '../core/online/issuance.ts';
import { compileTemplate } from '../core/online/svid-template.ts';
import { createTestRoot, makeCsr, pemToDer, signIntermediate, type TestRoot } from '../test/core/online/fixtures.ts';
import type { Bench } from './bench.ts';

const ROOT_DIR = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT_DIR, 'bin/neam-ca.mjs');
/**
 * How the server is run: the documented production invocation (`npm run serve`,
 * docs/online.md): a 2 MB young-generation semi-space keeps the RSS about 45 MB lower at the same
 * throughput.
 */
const SERVE_NODE_FLAGS = ['--max-semi-space-size=2'];
const TD = 'example.org';
const WORKLOAD = `spiffe://${TD}/bench/workload`;

interface Options {
  duration: number;
  warmup: number;
  concurrency: number;
  workers: number | undefined;
  csrs: number;
}

function parseOptions(args: string[]): Options {
  // `--name=value` (bench/run.ts takes every bare word for a benchmark name).
  const get = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const num = (name: string, d: number): number => {
    const v = get(name);
    return v === undefined ? d : Number(v);
  };
  const w = get('workers');
  return { duration: num('duration', 15), warmup: num('warmup', 3), concurrency: num('concurrency', 16), workers: w === undefined ? undefined : Number(w), csrs: num('csrs', 1000) };
}

function cli(home: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [BIN, ...args, '--home', home], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`neam-ca ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on port ${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const net = spawnSync(process.execPath, ['-e', "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"], { encoding: 'utf8' });
    resolve(Number(net.stdout.trim()));
  });
}

function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/u.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function post(port: number, path: string, body: unknown, ca: string): Promise<Record<string, unknown>> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as Record<string, unknown>) : reject(new Error(`${path}: ${res.statusCode ?? 0} ${text}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

interface LoadResult {
  done: number;
  failed: number;
  perSecond: number;
  p50: number;
  p99: number;
  sample: string;
  failureSample: string;
}

/** CPU time (user + system, seconds) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /su, '').split(' ');
    // utime and stime are fields 14 and 15 of /proc/PID/stat (12 and 13 after the command name).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Runs the load generator; `serverPid` is sampled for CPU time over the measurement window. */
function runLoad(spec: Record<string, unknown>, serverPid: number | undefined): Promise<LoadResult & { serverCpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT_DIR, 'bench/issuance-load.ts'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT_DIR });
    let out = '';
    let cpuStart = NaN;
    let cpuStop = NaN;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (Number.isNaN(cpuStart) && out.includes('"event":"measure"')) cpuStart = cpuSeconds(serverPid);
      if (Number.isNaN(cpuStop) && out.includes('"event":"stop"')) cpuStop = cpuSeconds(serverPid);
    });
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`load generator exited with ${code ?? 'signal'}`));
        return;
      }
      const last = out.trim().split('\n').pop() ?? '{}';
      resolve({ ...(JSON.parse(last) as LoadResult), serverCpuSeconds: cpuStop - cpuStart });
    });
  });
}

interface Row {
  name: string;
  /** Server CPU time per certificate (µs): robust to other load on the machine. */
  cpuUs: number;
  perSecond: number;
  p50: number;
  p99: number;
  rssMb: number;
  failed: number;
  verified: string;
}

function verifyLeaf(dir: string, name: string, leafPem: string, chainPem: string, rootPath: string): string {
  const leaf = join(dir, `${name}-sample.pem`);
  const chain = join(dir, `${name}-chain.pem`);
  writeFileSync(leaf, leafPem);
  writeFileSync(chain, chainPem);
  const r = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', rootPath, '-untrusted', chain, leaf], { encoding: 'utf8' });
  return r.status === 0 ? 'openssl verify OK' : `openssl verify FAILED: ${(r.stdout + r.stderr).trim().split('\n').pop() ?? ''}`;
}

async function setUpNeam(dir: string, root: TestRoot, alg: 'ec-p256' | 'rsa-2048', opts: Options): Promise<{ child: ChildProcess; port: number; entryId: string; nodeCert: string; nodeKey: string; home: string }> {
  const home = join(dir, `neam-${alg}`);
  mkdirSync(home, { recursive: true });
  cli(home, ['hsm', 'init-token', '--label', 'online', '--generate-pins', join(home, 'pins')]);
  const pin = join(home, 'pins', 'online.pin');
  cli(home, ['online', 'init', '--trust-domain', TD, '--token', 'online', '--pin-file', pin, '--algorithm', alg, '--windows', '1', '--start', new Date(Date.now() - 3_600_000).toISOString()]);
  cli(home, ['online', 'export-csrs', '--out', join(home, 'req')]);
  const req = JSON.parse(readFileSync(join(home, 'req', 'index.json'), 'utf8')) as { requests: Array<{ name: string; csr: string; notBefore: string; notAfter: string }> };
  const certArgs: string[] = [];
  for (const r of req.requests) {
    const pem = signIntermediate(root, readFileSync(join(home, 'req', r.csr.replace(/^payload\//u, '')), 'utf8'), { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) });
    writeFileSync(join(home, `${r.name}.pem`), pem);
    certArgs.push('--cert', join(home, `${r.name}.pem`));
  }
  cli(home, ['online', 'import-issuance', ...certArgs, '--root', root.certPath]);
  const entry = JSON.parse(cli(home, ['entry', 'create', '--spiffe-id', WORKLOAD, '--parent', 'bench-node', '--json'])) as { value: { id: string } };
  cli(home, ['token', 'create', '--node', 'bench-node', '--out', join(home, 'join-token')]);
  const port = await freePort();
  writeFileSync(
    join(home, 'serve.yaml'),
    [`listen: 127.0.0.1:${port}`, ...(opts.workers === undefined ? [] : [`workers: ${opts.workers}`]), 'limits:', '  perNode: { ratePerSecond: 0, burst: 1 }', '  maxPending: 100000', ''].join('\n'),
  );
  const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, BIN, 'serve', '--home', home, '--token', 'online', '--pin-file', pin, '--config', join(home, 'serve.yaml')], { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT_DIR });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (log.length < 100_000) log += d.toString();
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`neam-ca serve (${alg}) exited with ${code}:\n${log.slice(-2000)}\n`);
  });
  await waitForPort(port);
  const nodeKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const nodeCsr = makeCsr({ key: nodeKey });
  const attested = await post(port, '/v1/attest', { token: readFileSync(join(home, 'join-token'), 'utf8').trim(), csr: nodeCsr.pem }, root.pem);
  const nodeCert = join(home, 'node.pem');
  const nodeKeyPath = join(home, 'node.key');
  writeFileSync(nodeCert, `${attested['svid'] as string}${attested['chain'] as string}`);
  writeFileSync(nodeKeyPath, nodeKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  return { child, port, entryId: entry.value.id, nodeCert, nodeKey: nodeKeyPath, home };
}

async function setUpCfssl(dir: string, root: TestRoot, logLevel: number | undefined): Promise<{ child: ChildProcess; port: number; caPem: string }> {
  const cdir = join(dir, `cfssl-${logLevel ?? 'default'}`);
  mkdirSync(cdir, { recursive: true });
  // The CA cfssl signs with: ECDSA P-256, issued by the same throwaway root.
  const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  writeFileSync(join(cdir, 'ca.key'), caKey.export({ type: 'sec1', format: 'pem' }) as string, { mode: 0o600 });
  const caPem = signIntermediate(root, toPem(PEM_LABEL.csr, buildCsr({ subject: { organization: TD, commonName: 'cfssl bench CA' }, signer: softwareSigner(caKey, 'ECDSA-SHA256') }).der), { startMs: Date.now() - 3_600_000, endMs: Date.now() + 30 * 86_400_000 });
  writeFileSync(join(cdir, 'ca.pem'), caPem);
  // Its TLS server certificate.
  const tlsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  writeFileSync(join(cdir, 'tls.key'), tlsKey.export({ type: 'sec1', format: 'pem' }) as string, { mode: 0o600 });
  spawnSync('openssl', ['req', '-new', '-key', join(cdir, 'tls.key'), '-subj', '/CN=localhost', '-out', join(cdir, 'tls.csr')]);
  writeFileSync(join(cdir, 'tls.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n');
  const x = spawnSync('openssl', ['x509', '-req', '-in', join(cdir, 'tls.csr'), '-CA', root.certPath, '-CAkey', root.keyPath, '-CAcreateserial', '-days', '2', '-extfile', join(cdir, 'tls.ext'), '-out', join(cdir, 'tls.pem')], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`openssl x509 -req failed: ${x.stderr}`);
  writeFileSync(join(cdir, 'cfssl.json'), JSON.stringify({ signing: { default: { expiry: '24h', usages: ['digital signature', 'server auth', 'client auth'] } } }));
  const port = await freePort();
  const args = ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(cdir, 'ca.pem'), '-ca-key', join(cdir, 'ca.key'), '-config', join(cdir, 'cfssl.json'), '-tls-cert', join(cdir, 'tls.pem'), '-tls-key', join(cdir, 'tls.key'), '-mutual-tls-ca', root.certPath];
  if (logLevel !== undefined) args.push('-loglevel', String(logLevel));
  const child = spawn('cfssl', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForPort(port);
  return { child, port, caPem };
}

async function inProcess(root: TestRoot, csrs: string[]): Promise<{ full: number; baseline: number }> {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const intPem = signIntermediate(root, toPem(PEM_LABEL.csr, buildCsr({ subject: { organization: TD, commonName: 'in-process bench' }, signer: softwareSigner(key, 'ECDSA-SHA256') }).der), { startMs: Date.now() - 3_600_000, endMs: Date.now() + 30 * 86_400_000 });
  const template = compileTemplate(issuerProfile('bench', readCaCertificate(pemToDer(intPem))));
  const parsed = csrs.map((c) => parseCsr(decodeCsrPem(c)));
  const tbsLike = Buffer.alloc(480, 7);
  const seconds = 3;
  const timed = async (fn: (i: number) => Promise<void> | void): Promise<number> => {
    for (let i = 0; i < 500; i++) await fn(i);
    let n = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(seconds * 1e9);
    while (process.hrtime.bigint() < until) {
      for (let k = 0; k < 100; k++) await fn(n++);
    }
    return n / (Number(process.hrtime.bigint() - start) / 1e9);
  };
  const full = await timed(async (i) => {
    await issueSvid(template, key, { csrPem: csrs[i % csrs.length] as string, spiffeId: WORKLOAD, dnsNames: [], ttlSeconds: 86_400, nowMs: Date.now() });
  });
  const baseline = await timed(async (i) => {
    const p = parsed[i % parsed.length];
    if (p === undefined) return;
    const k = await webcrypto.subtle.importKey('raw', p.point, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    if (!nodeVerify('sha256', p.info, KeyObject.from(k), p.signature)) throw new Error('baseline verify failed');
    nodeSign('sha256', tbsLike, key);
  });
  return { full, baseline };
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** The issuance benchmark. */
export const ISSUANCE_BENCH: Bench = {
  name: 'issuance',
  summary: 'SVID issuance: neam-ca serve (ECDSA P-256 and RSA-2048 intermediates) vs cfssl serve (ECDSA P-256 CA), same mTLS load generator and CSR stream',
  async run(args: string[]): Promise<void> {
    const opts = parseOptions(args);
    const which = spawnSync('sh', ['-c', 'command -v cfssl'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error("cfssl is required: install the Debian package 'golang-cfssl' (bin/setup does)");
    const dir = mkdtempSync(join(tmpdir(), 'neam-bench-issuance-'));
    const children: ChildProcess[] = [];
    try {
      console.log(`neam-ca serve runs as: node ${SERVE_NODE_FLAGS.join(' ')} bin/neam-ca.mjs serve (npm run serve); cfssl with its defaults`);
      console.log(`setup in ${dir}: concurrency ${opts.concurrency}, warmup ${opts.warmup} s, measure ${opts.duration} s, ${opts.csrs} distinct P-256 CSRs (SAN ${WORKLOAD})`);
      const root = createTestRoot(join(dir, 'root'), { trustDomain: TD });
      const csrs = Array.from({ length: opts.csrs }, () => makeCsr({ uris: [WORKLOAD] }).pem);
      const csrFile = join(dir, 'csrs.json');
      writeFileSync(csrFile, JSON.stringify(csrs));
      const ecdsa = await setUpNeam(dir, root, 'ec-p256', opts);
      children.push(ecdsa.child);
      const rows: Row[] = [];
      const load = (port: number, path: string, format: 'neam' | 'cfssl', entryId: string | undefined, cert: string, key: string, pid: number | undefined): Promise<LoadResult & { serverCpuSeconds: number }> =>
        runLoad({ host: '127.0.0.1', port, path, format, entryId, csrFile, certFile: cert, keyFile: key, caFile: root.certPath, concurrency: opts.concurrency, warmupSeconds: opts.warmup, durationSeconds: opts.duration }, pid);

      for (const level of [undefined, 2]) {
        const name = `cfssl serve (ECDSA P-256 CA${level === undefined ? ', default log level' : ', -loglevel 2'})`;
        console.log(`running: ${name}`);
        const c = await setUpCfssl(dir, root, level);
        children.push(c.child);
        const r = await load(c.port, '/api/v1/cfssl/sign', 'cfssl', undefined, ecdsa.nodeCert, ecdsa.nodeKey, c.child.pid);
        const rss = peakRssMb(c.child.pid);
        await stop(c.child);
        const cert = r.sample === '' ? '' : ((JSON.parse(r.sample) as { result?: { certificate?: string } }).result?.certificate ?? '');
        rows.push({ name, cpuUs: (r.serverCpuSeconds / r.done) * 1e6, perSecond: r.perSecond, p50: r.p50, p99: r.p99, rssMb: rss, failed: r.failed, verified: cert === '' ? `no sample (${r.failureSample})` : verifyLeaf(dir, `cfssl${level ?? ''}`, cert, c.caPem, root.certPath) });
      }

      type NeamSetup = Awaited<ReturnType<typeof setUpNeam>>;
      const neamRun = async (alg: 'ec-p256' | 'rsa-2048', durability: 'full' | 'batched', setup?: NeamSetup): Promise<NeamSetup> => {
        const name = `neam-ca serve (${alg === 'ec-p256' ? 'ECDSA P-256' : 'RSA-2048'}, recordDurability ${durability}${opts.workers === undefined ? '' : `, ${opts.workers} workers`})`;
        console.log(`running: ${name}`);
        let s = setup;
        if (s === undefined) s = await setUpNeam(dir, root, alg, opts);
        // (Re)start with this run's configuration, so the peak RSS covers this run only.
        if (s.child.exitCode === null) await stop(s.child);
        const config = join(s.home, `serve-${durability}.yaml`);
        writeFileSync(config, `${readFileSync(join(s.home, 'serve.yaml'), 'utf8')}recordDurability: ${durability}\n`);
        const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, BIN, 'serve', '--home', s.home, '--token', 'online', '--pin-file', join(s.home, 'pins', 'online.pin'), '--config', config], { stdio: ['ignore', 'ignore', 'ignore'], cwd: ROOT_DIR });
        children.push(child);
        await waitForPort(s.port);
        const r = await load(s.port, '/v1/svids', 'neam', s.entryId, s.nodeCert, s.nodeKey, child.pid);
        const rss = peakRssMb(child.pid);
        await stop(child);
        const sample = r.sample === '' ? undefined : (JSON.parse(r.sample) as { svid: string; chain: string });
        rows.push({ name, cpuUs: (r.serverCpuSeconds / r.done) * 1e6, perSecond: r.perSecond, p50: r.p50, p99: r.p99, rssMb: rss, failed: r.failed, verified: sample === undefined ? `no sample (${r.failureSample})` : verifyLeaf(dir, alg, sample.svid, sample.chain, root.certPath) });
        return s;
      };
      await neamRun('ec-p256', 'full', ecdsa);
      await neamRun('ec-p256', 'batched', ecdsa);
      const rsaSetup = await neamRun('rsa-2048', 'full');
      await neamRun('rsa-2048', 'batched', rsaSetup);

      console.log('');
      console.log(`${'server'.padEnd(58)} ${'certs/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU us/cert'.padStart(11)} ${'peak RSS MB'.padStart(11)} ${'failed'.padStart(6)}  sample`);
      for (const r of rows) console.log(`${r.name.padEnd(58)} ${fmt(r.perSecond).padStart(8)} ${fmt(r.p50, 2).padStart(7)} ${fmt(r.p99, 2).padStart(7)} ${fmt(r.cpuUs).padStart(11)} ${fmt(r.rssMb, 1).padStart(11)} ${String(r.failed).padStart(6)}  ${r.verified}`);
      const cfsslDefault = rows[0]?.perSecond ?? NaN;
      const cfsslBest = Math.max(rows[0]?.perSecond ?? 0, rows[1]?.perSecond ?? 0);
      const [ecFull, ecBatched, rsaFull, rsaBatched] = [rows[2], rows[3], rows[4], rows[5]].map((r) => r?.perSecond ?? NaN) as [number, number, number, number];
      const rssMax = Math.max(...rows.slice(2).map((r) => r.rssMb));
      console.log('');
      console.log(`ratio neam-ca ECDSA / cfssl (default log level): full ${fmt(ecFull / cfsslDefault, 2)}x, batched ${fmt(ecBatched / cfsslDefault, 2)}x`);
      console.log(`ratio neam-ca ECDSA / cfssl (best of the two):   full ${fmt(ecFull / cfsslBest, 2)}x, batched ${fmt(ecBatched / cfsslBest, 2)}x   (target >= 1.5x)`);
      console.log(`neam-ca RSA-2048: full ${fmt(rsaFull)}/s, batched ${fmt(rsaBatched)}/s   (target >= 1200)`);
      console.log(`neam-ca peak RSS (max over its runs): ${fmt(rssMax, 1)} MB   (target < 250 MB)`);
      console.log(`server CPU per certificate, neam-ca ECDSA (full) / cfssl (best): ${fmt((rows[2]?.cpuUs ?? NaN) / Math.min(rows[0]?.cpuUs ?? NaN, rows[1]?.cpuUs ?? NaN), 2)}x (lower is better; less sensitive to other load on the machine than certs/s)`);
      const ip = await inProcess(root, csrs);
      console.log(`in-process, one thread: full issuance ${fmt(ip.full)}/s vs import+verify CSR and sign only ${fmt(ip.baseline)}/s = ${fmt((ip.full / ip.baseline) * 100)} %   (target >= 60 %)`);
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
