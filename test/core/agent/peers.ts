/**
 * Real TLS peers for the agent's tests: nginx (the Debian package) run as a child process with its
 * own prefix, configuration, logs and pid file in a temporary directory, `openssl s_server` /
 * `s_client`, curl, and `openssl verify` over agent-written files. Every child is started
 * asynchronously (the online CA under test runs in this process's event loop) and stopped by the
 * returned handle; tests stop them in `finally`/`afterAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

import { requireTool } from '../../helpers/tools.ts';
import { runAsync } from '../online/harness.ts';

/** PEM blocks of `label` in `text`, each with a trailing newline. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): string[] {
  return [...text.matchAll(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'gu'))].map((m) => `${m[0]}\n`);
}

/** Splits an agent-written `svid.pem` (leaf then chain) into `PREFIX.leaf.pem` and `PREFIX.chain.pem`. */
export function splitSvid(svidPem: string, prefix: string): { leaf: string; chain: string } {
  const [leaf, ...chain] = pemBlocks(svidPem);
  if (leaf === undefined) throw new Error('no certificate in svid.pem');
  writeFileSync(`${prefix}.leaf.pem`, leaf);
  writeFileSync(`${prefix}.chain.pem`, chain.join(''));
  return { leaf: `${prefix}.leaf.pem`, chain: `${prefix}.chain.pem` };
}

/**
 * Resolves when `pred` holds (polled every `everyMs`), or throws naming `what` (and `detail()`, e.g.
 * the peer's log) after `timeoutMs`.
 */
export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, o: { timeoutMs?: number; everyMs?: number; detail?: () => string } = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${o.detail === undefined ? '' : `:\n${o.detail().slice(-3000)}`}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 100));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** A running nginx. */
export interface Nginx {
  port: number;
  prefix: string;
  conf: string;
  errorLog: string;
  pidFile: string;
  /** argv that reloads this nginx (`nginx -p … -c … -e … -s reload`). */
  reloadArgv: string[];
  /** A hook argv that reloads it when it runs and does nothing while it is not started yet. */
  hookArgv: string[];
  /** The error log so far. */
  errors(): string;
  stop(): Promise<void>;
}

/** What nginx serves with. */
export interface NginxSite {
  port: number;
  /** Server identity: agent-written svid.pem (leaf then chain) and svid.key. */
  cert: string;
  key: string;
  /** `ssl_client_certificate`: the trust bundle. */
  clientCa: string;
  /** `ssl_crl`: CRLs of every CA in the client chains. */
  crl: string;
}

/** Writes nginx.conf for `site` into `dir` (nothing is started). */
export function nginxConfig(dir: string, site: NginxSite): Omit<Nginx, 'errors' | 'stop'> {
  requireTool('nginx');
  const prefix = join(dir, 'nginx');
  for (const d of ['logs', 'tmp', 'conf']) mkdirSync(join(prefix, d), { recursive: true });
  const conf = join(prefix, 'conf', 'nginx.conf');
  const errorLog = join(prefix, 'logs', 'error.log');
  const pidFile = join(prefix, 'logs', 'nginx.pid');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${pidFile};
error_log ${errorLog} info;
events { worker_connections 256; }
http {
  access_log ${join(prefix, 'logs', 'access.log')};
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
  server {
    listen 127.0.0.1:${site.port} ssl;
    server_name localhost;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate ${site.cert};
    ssl_certificate_key ${site.key};
    ssl_client_certificate ${site.clientCa};
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_crl ${site.crl};
    location / {
      default_type text/plain;
      return 200 "ok client=$ssl_client_serial verify=$ssl_client_verify\\n";
    }
  }
}
`,
  );
  const base = ['-p', prefix, '-c', conf, '-e', errorLog];
  return {
    port: site.port,
    prefix,
    conf,
    errorLog,
    pidFile,
    reloadArgv: ['nginx', ...base, '-s', 'reload'],
    hookArgv: ['sh', '-c', 'if [ -s "$1" ]; then shift; exec "$@"; fi', 'reload-nginx', pidFile, 'nginx', ...base, '-s', 'reload'],
  };
}

/** Starts nginx (configured by {@link nginxConfig}) in the foreground and waits until it listens. */
export async function startNginx(c: Omit<Nginx, 'errors' | 'stop'>): Promise<Nginx> {
  const child = spawn('nginx', ['-p', c.prefix, '-c', c.conf, '-e', c.errorLog], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const errors = (): string => {
    try {
      return readFileSync(c.errorLog, 'utf8');
    } catch {
      return '';
    }
  };
  const n: Nginx = { ...c, errors, stop: () => stopChild(child, 'SIGTERM') };
  try {
    await waitFor('nginx to listen', async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${output}${errors()}`);
      return portOpen(c.port);
    });
  } catch (e) {
    await n.stop();
    throw e;
  }
  return n;
}

/** An HTTP answer seen by curl. */
export interface CurlResult {
  /** curl's exit status (0 when an HTTP answer came back). */
  exit: number | null;
  /** HTTP status (0 when none). */
  status: number;
  body: string;
  stderr: string;
}

/** `curl --cacert BUNDLE [--cert C --key K] https://localhost:PORT/` (a fresh connection). */
export async function curl(port: number, o: { cacert: string; cert?: string; key?: string }): Promise<CurlResult> {
  requireTool('curl');
  const r = await runAsync('curl', ['-sS', '--max-time', '10', '--cacert', o.cacert, ...(o.cert === undefined ? [] : ['--cert', o.cert, '--key', o.key ?? '']), '-w', '\n%{http_code}', `https://localhost:${port}/`]);
  const lines = r.stdout.split('\n');
  const status = Number(lines.pop() ?? '0');
  return { exit: r.status, status, body: lines.join('\n'), stderr: r.stderr };
}

/** The serial (lower-case hex) of the certificate a TLS server presents, read with `openssl s_client`. */
export async function servedSerial(port: number, cafile: string): Promise<string> {
  const r = await runAsync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} -servername localhost -CAfile "$1" -verify_return_error -verify_hostname localhost </dev/null 2>/dev/null | openssl x509 -noout -serial`, 'served-serial', cafile]);
  const m = /serial=([0-9A-F]+)/u.exec(r.stdout);
  if (m === null) throw new Error(`no certificate read from port ${port}: ${r.stdout}${r.stderr}`);
  return (m[1] as string).toLowerCase();
}

/** `openssl verify -x509_strict` of an agent-written svid.pem against a bundle (and CRLs). */
export async function opensslVerify(svidPem: string, o: { bundle: string; purpose: 'sslclient' | 'sslserver'; crls?: string; scratch: string }): Promise<string> {
  const { leaf, chain } = splitSvid(readFileSync(svidPem, 'utf8'), o.scratch);
  const crl = o.crls === undefined ? [] : ['-crl_check_all', '-CRLfile', o.crls];
  const r = await runAsync('openssl', ['verify', '-x509_strict', '-purpose', o.purpose, ...crl, '-CAfile', o.bundle, '-untrusted', chain, leaf]);
  return `${r.stdout}${r.stderr}`;
}

/**
 * A directory of trust anchors and CRLs hashed for OpenSSL (`openssl rehash`), for `-CApath`
 * (`s_server` reads one CRL with `-CRL`; a hashed directory holds them all).
 */
export async function hashedDir(dir: string, bundlePem: string, crlsPem: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  pemBlocks(bundlePem).forEach((b, i) => writeFileSync(join(dir, `anchor-${i}.pem`), b));
  pemBlocks(crlsPem, 'X509 CRL').forEach((b, i) => writeFileSync(join(dir, `crl-${i}.pem`), b));
  const r = await runAsync('openssl', ['rehash', dir]);
  if (r.status !== 0) throw new Error(`openssl rehash failed: ${r.stderr}`);
  return dir;
}

/** A running `openssl s_server -Verify`. */
export interface SServer {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * `openssl s_server -www -Verify 2 -verify_return_error -crl_check_all` with the given identity
 * (leaf, chain, key) and a hashed `-CApath` of anchors and CRLs.
 */
export async function startSServer(o: { port: number; leaf: string; chain: string; key: string; caPath: string }): Promise<SServer> {
  requireTool('openssl');
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${o.port}`, '-cert', o.leaf, '-cert_chain', o.chain, '-key', o.key, '-CApath', o.caPath, '-Verify', '2', '-verify_return_error', '-crl_check_all', '-x509_strict', '-www'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const s: SServer = { port: o.port, output: () => out, stop: () => stopChild(child, 'SIGTERM') };
  try {
    await waitFor('s_server to listen', async () => {
      if (child.exitCode !== null) throw new Error(`openssl s_server exited with ${child.exitCode}: ${out}`);
      return portOpen(o.port);
    });
  } catch (e) {
    await s.stop();
    throw e;
  }
  return s;
}

/** `openssl s_client` sending one HTTP GET; returns everything it printed. */
export async function sClient(port: number, o: { cafile: string; leaf?: string; chain?: string; key?: string }): Promise<{ exit: number | null; output: string }> {
  const id = o.leaf === undefined ? [] : ['-cert', o.leaf, '-key', o.key ?? '', ...(o.chain === undefined ? [] : ['-cert_chain', o.chain])];
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-CAfile', o.cafile, '-verify_return_error', '-ign_eof', ...id];
  const r = await runAsync('sh', ['-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | openssl "$@"', 's_client', ...args]);
  return { exit: r.status, output: `${r.stdout}${r.stderr}` };
}
