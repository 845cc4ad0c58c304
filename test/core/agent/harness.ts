/**
 * Test harness of the agent: the real online CA (SoftHSM, test root via OpenSSL, HTTPS with mTLS)
 * from test/core/online/harness.ts, a second unrelated CA (another trust domain), a TCP proxy in
 * front of the CA that can be switched off ("server down"), a TLS front that answers with errors,
 * malformed or hostile answers or not at all, admin calls, join token files, agent configurations
 * with injectable clocks, and readers of the delivered files.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Agent } from '../../../core/agent/agent.ts';
import { parseAgentConfig, type AgentConfig } from '../../../core/agent/config.ts';
import { createLogger, memorySink, type LogRecord } from '../../../core/log/logger.ts';
import { exportRequests, importIssuance, initOnline } from '../../../core/online/intermediates.ts';
import { createJoinToken } from '../../../core/online/join-tokens.ts';
import { openOnlineStore } from '../../../core/online/settings.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { createTestRoot, pemToDer, rootCrl, signIntermediate } from '../online/fixtures.ts';
import { call, localCert, prepareOnlineCa, startServer, TD, type ClientCert, type OnlineCa, type Running } from '../online/harness.ts';

export { TD };
export const HOUR = 3_600_000;

/** A running CA for agent tests. */
export interface CaFixture {
  /** The CA's trust domain. */
  trustDomain: string;
  ca: OnlineCa;
  srv: Running;
  bundle: string;
  admin: ClientCert;
  /** SHA-256 of the root (what `neam-ca token create` prints). */
  anchor: string;
  stop(): Promise<void>;
}

/** Starts the online CA (2 intermediates, P-256 by default). */
export async function startCa(serverConfig: Record<string, unknown> = {}): Promise<CaFixture> {
  return serve(prepareOnlineCa(), TD, serverConfig);
}

/**
 * Starts a second, unrelated online CA for `trustDomain` (its own root and intermediates and
 * database; it shares the first CA's SoftHSM token, since the PKCS#11 module is process-wide).
 */
export async function startForeignCa(main: CaFixture, trustDomain: string): Promise<CaFixture> {
  const tmp = tempDir('neam-foreign-ca-');
  const store = openOnlineStore(join(tmp.dir, 'online.db'));
  const now = Date.now();
  initOnline(store, main.ca.hsm.session, { trustDomain, keyStore: 'sealed', keyAlgorithm: 'ec-p256', windows: 1, windowDays: 90, overlapDays: 7, startMs: now - 6 * HOUR, nowMs: now, maxSvidTtlSeconds: 86_400 });
  const root = createTestRoot(join(tmp.dir, 'root'), { trustDomain });
  const intermediatePems = exportRequests(store).requests.map((r) => signIntermediate(root, r.csrPem, { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) }));
  importIssuance(store, { intermediates: intermediatePems.map((p) => pemToDer(p)), roots: [root.der], rootCrls: [rootCrl(root)] }, now);
  const ca: OnlineCa = {
    dir: tmp.dir,
    hsm: main.ca.hsm,
    store,
    root,
    intermediatePems,
    close() {
      store.close();
      tmp.cleanup();
    },
  };
  return serve(ca, trustDomain, {});
}

async function serve(ca: OnlineCa, trustDomain: string, serverConfig: Record<string, unknown>): Promise<CaFixture> {
  const srv = await startServer(ca, serverConfig);
  const a = await localCert(ca, 'admin', `spiffe://${trustDomain}/neam-ca/admin/test`);
  const admin = { cert: a.cert + a.chain, key: a.key };
  const b = await call(srv.server, ca.root.pem, 'GET', '/v1/bundle.pem');
  return {
    trustDomain,
    ca,
    srv,
    bundle: b.body.toString('utf8'),
    admin,
    anchor: createHash('sha256').update(pemToDer(ca.root.pem)).digest('hex'),
    async stop() {
      await srv.stop();
      ca.close();
    },
  };
}

/** Creates a registration entry through the admin API. */
export async function addEntry(f: CaFixture, spec: { spiffeId: string; parentId: string; ttlSeconds?: number; dnsNames?: string[] }): Promise<{ id: string; updatedAt: string }> {
  const r = await call(f.srv.server, f.bundle, 'POST', '/v1/admin/entries', { client: f.admin, body: spec });
  if (r.status !== 201) throw new Error(`entry create failed: ${r.status} ${r.body.toString()}`);
  return r.json as { id: string; updatedAt: string };
}

/** Deletes an entry. */
export async function deleteEntry(f: CaFixture, id: string): Promise<void> {
  const r = await call(f.srv.server, f.bundle, 'DELETE', `/v1/admin/entries/${id}`, { client: f.admin });
  if (r.status !== 200) throw new Error(`entry delete failed: ${r.status} ${r.body.toString()}`);
}

/** Revokes a serial. */
export async function revokeSerial(f: CaFixture, serial: string): Promise<void> {
  const r = await call(f.srv.server, f.bundle, 'POST', '/v1/admin/revoke', { client: f.admin, body: { serial, reason: 'keyCompromise' } });
  if (r.status !== 200) throw new Error(`revoke failed: ${r.status} ${r.body.toString()}`);
}

/** Writes a fresh join token for node `name` to `dir/NAME.token` (0600); returns the path. */
export function tokenFile(f: CaFixture, dir: string, name: string): string {
  const t = createJoinToken(f.ca.store, `spiffe://${f.trustDomain}/neam-ca/node/${name}`, 600, Date.now());
  const path = join(dir, `${name}-${Math.random().toString(16).slice(2, 8)}.token`);
  writeFileSync(path, `${t.token.unsafeText()}\n`, { mode: 0o600 });
  t.token.wipe();
  return path;
}

/** A TCP proxy to the CA that can be switched off. */
export interface Proxy {
  url: string;
  port: number;
  setDown(down: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (https://HOST:PORT). */
export async function startProxy(target: string): Promise<Proxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => {
        const up = connect(Number(t.port), t.hostname);
        sockets.add(c);
        sockets.add(up);
        const drop = (): void => {
          c.destroy();
          up.destroy();
          sockets.delete(c);
          sockets.delete(up);
        };
        c.on('error', drop);
        up.on('error', drop);
        c.on('close', drop);
        up.on('close', drop);
        c.pipe(up);
        up.pipe(c);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const shut = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (server === undefined) {
        resolve();
        return;
      }
      const s = server;
      server = undefined;
      s.close(() => resolve());
    });
  await listen();
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    setDown: (down) => (down ? shut() : server === undefined ? listen() : Promise.resolve()),
    close: shut,
  };
}

/** Injectable clocks: offsets on top of the real ones. */
export interface Clocks {
  wallOffset: number;
  monoOffset: number;
  now(): number;
  monotonic(): number;
}

/** Real clocks with adjustable offsets. */
export function clocks(): Clocks {
  const c: Clocks = {
    wallOffset: 0,
    monoOffset: 0,
    now: () => Date.now() + c.wallOffset,
    monotonic: () => performance.now() + c.monoOffset,
  };
  return c;
}

/** An agent configuration for tests (fast polling and backoff unless overridden). */
export function testConfig(dir: string, server: string, anchor: string, extra: Record<string, unknown> = {}): AgentConfig {
  return parseAgentConfig(
    {
      server,
      trustAnchors: [anchor],
      stateDir: join(dir, 'state'),
      workloadsDir: join(dir, 'workloads'),
      pollInterval: '200ms',
      requestTimeout: '20s',
      rotation: { backoffBase: '100ms', backoffCap: '2s' },
      ...extra,
    },
    dir,
    'test config',
  );
}

/** An agent with a memory log and injectable clocks. */
export function openAgent(config: AgentConfig, c: Clocks = clocks(), extra: Partial<Parameters<typeof Agent.open>[0]> = {}): { agent: Agent; logs: LogRecord[]; clocks: Clocks } {
  const sink = memorySink();
  const log = createLogger({ level: 'debug', sinks: [sink] });
  const agent = Agent.open({ config, log, now: () => c.now(), monotonic: () => c.monotonic(), ...extra });
  return { agent, logs: sink.records, clocks: c };
}

/** The files delivered for a workload (read through the link). */
export function delivered(config: AgentConfig, name: string): { cert: string; key: string; bundle: string; serial: string } {
  const dir = join(config.workloadsDir, name);
  const cert = readFileSync(join(dir, 'svid.pem'), 'utf8');
  const leaf = cert.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n';
  return { cert, key: readFileSync(join(dir, 'svid.key'), 'utf8'), bundle: readFileSync(join(dir, 'bundle.pem'), 'utf8'), serial: new X509Certificate(leaf).serialNumber.toLowerCase() };
}

/** Runs ticks until `pred` holds (or fails after `limit` passes). */
export async function tickUntil(agent: Agent, pred: () => boolean, limit = 50, pauseMs = 50): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await agent.tick();
    if (pred()) return;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`condition not reached after ${limit} passes`);
}

/** What the faulty front does with the next connections. */
export type Fault =
  /** Pipe bytes to the real CA (the agent's mTLS reaches it unchanged). */
  | { kind: 'pass' }
  /** Answer every request with this status, type and body. */
  | { kind: 'status'; status: number; contentType: string; body: string; headers?: Record<string, string> }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /**
   * A broken CA that serves the public bundle and CRLs, answers entry polls with 304, and answers
   * SVID requests with `svid` (e.g. a certificate for another key or identity); 503 elsewhere.
   */
  | { kind: 'svid'; svid: Record<string, unknown> };

/** A TLS front end in front of the CA (like a load balancer) whose behaviour the test switches. */
export interface FaultyFront {
  url: string;
  setFault(f: Fault): void;
  /** `METHOD PATH` of every request answered with a fault. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * Starts a front for `f` on loopback. In fault modes it terminates TLS itself with a server
 * certificate for `spiffe://TD/neam-ca/server` issued by the test root (a front the agent trusts,
 * as it would trust the CA's own load balancer); in `pass` mode it pipes to the real CA.
 */
export async function startFaultyFront(f: CaFixture, dir: string): Promise<FaultyFront> {
  const key = join(dir, 'front.key');
  const csr = join(dir, 'front.csr');
  const crt = join(dir, 'front.pem');
  const ext = join(dir, 'front.ext');
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=critical,URI:spiffe://${f.trustDomain}/neam-ca/server,DNS:localhost,IP:127.0.0.1\n`);
  runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/', '-out', csr]);
  runOk('openssl', ['x509', '-req', '-in', csr, '-CA', f.ca.root.certPath, '-CAkey', f.ca.root.keyPath, '-CAcreateserial', '-days', '1', '-sha256', '-extfile', ext, '-out', crt]);
  let fault: Fault = { kind: 'pass' };
  const seen: string[] = [];
  const hung = new Set<ServerResponse>();
  const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(crt), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    seen.push(`${req.method ?? ''} ${path}`);
    req.resume();
    const fl = fault;
    if (fl.kind === 'hang') {
      hung.add(res);
      return;
    }
    if (fl.kind === 'status') {
      res.writeHead(fl.status, { 'content-type': fl.contentType, ...fl.headers });
      res.end(fl.body);
      return;
    }
    if (fl.kind === 'svid') {
      void (async () => {
        if (req.method === 'GET' && (path === '/v1/bundle.pem' || path === '/v1/crls.pem')) {
          const r = await call(f.srv.server, f.bundle, 'GET', path);
          res.writeHead(r.status, { 'content-type': 'application/x-pem-file', ...(typeof r.headers['etag'] === 'string' ? { etag: r.headers['etag'] } : {}) });
          res.end(r.body);
        } else if (req.method === 'GET' && path === '/v1/entries' && req.headers['if-none-match'] !== undefined) {
          res.writeHead(304);
          res.end();
        } else if (req.method === 'POST' && path === '/v1/svids') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(fl.svid));
        } else {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'ERR_ONLINE_UNAVAILABLE', message: 'not served by this broken front' } }));
        }
      })();
      return;
    }
    res.writeHead(500);
    res.end();
  });
  const t = new URL(f.srv.server.url);
  const sockets = new Set<Socket>();
  const front = createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => c.destroy());
    if (fault.kind !== 'pass') {
      https.emit('connection', c);
      return;
    }
    const up = connect(Number(t.port), t.hostname);
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => c.destroy());
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
    c.pipe(up);
    up.pipe(c);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
  const port = (front.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    setFault(next) {
      fault = next;
      for (const r of hung) r.destroy();
      hung.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hung) r.destroy();
        for (const s of sockets) s.destroy();
        https.closeAllConnections();
        front.close(() => resolve());
      }),
  };
}
