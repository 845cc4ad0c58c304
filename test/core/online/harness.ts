/**
 * Integration harness of the online CA: a SoftHSM token, an online database initialised with
 * staggered intermediates whose CSRs are signed by a test root through `openssl ca`, the issuance
 * imported, and the real server listening on loopback. Clients speak real HTTPS with mTLS.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

import { createLogger, memorySink, type LogRecord } from '../../../core/log/logger.ts';
import { parseServeConfig, type ServeConfig } from '../../../core/online/config.ts';
import { exportRequests, importIssuance, initOnline } from '../../../core/online/intermediates.ts';
import { issueLocally } from '../../../core/online/local-issue.ts';
import { startOnlineServer, type OnlineServer } from '../../../core/online/server.ts';
import { openOnlineStore, type IntermediateAlgorithm } from '../../../core/online/settings.ts';
import type { Store } from '../../../core/store/index.ts';
import { createSoftHsm, tempDir, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { createTestRoot, pemToDer, rootCrl, signIntermediate, type TestRoot } from './fixtures.ts';

export const TD = 'example.org';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A prepared online CA (database, token, imported intermediates), not yet serving. */
export interface OnlineCa {
  dir: string;
  hsm: SoftHsmFixture;
  store: Store;
  root: TestRoot;
  intermediatePems: string[];
  close(): void;
}

/** Initialises an online CA with `windows` intermediates whose first window started `startOffsetMs` ago. */
export function prepareOnlineCa(opts: { algorithm?: IntermediateAlgorithm; keyStore?: 'sealed' | 'token'; windows?: number; startOffsetMs?: number; importCount?: number } = {}): OnlineCa {
  const tmp = tempDir('neam-online-');
  const hsm = createSoftHsm('online');
  const store = openOnlineStore(join(tmp.dir, 'online.db'));
  const now = Date.now();
  initOnline(store, hsm.session, {
    trustDomain: TD,
    keyStore: opts.keyStore ?? 'sealed',
    keyAlgorithm: opts.algorithm ?? 'ec-p256',
    windows: opts.windows ?? 2,
    windowDays: 90,
    overlapDays: 7,
    startMs: now - (opts.startOffsetMs ?? 6 * HOUR),
    nowMs: now,
    maxSvidTtlSeconds: 86_400,
  });
  const root = createTestRoot(join(tmp.dir, 'root'));
  const req = exportRequests(store);
  const intermediatePems = req.requests.slice(0, opts.importCount ?? req.requests.length).map((r) => signIntermediate(root, r.csrPem, { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) }));
  importIssuance(store, { intermediates: intermediatePems.map((p) => pemToDer(p)), roots: [root.der], rootCrls: [rootCrl(root)] }, now);
  return {
    dir: tmp.dir,
    hsm,
    store,
    root,
    intermediatePems,
    close() {
      store.close();
      hsm.close();
      tmp.cleanup();
    },
  };
}

/** A running server over a prepared CA. */
export interface Running {
  ca: OnlineCa;
  server: OnlineServer;
  config: ServeConfig;
  logs: LogRecord[];
  /** Moves the server's clock. */
  clockOffsetMs: { value: number };
  stop(): Promise<void>;
}

/** Starts the server on loopback with a plain-HTTP listener and publicUrl pointing at it. */
export async function startServer(ca: OnlineCa, config: Record<string, unknown> = {}): Promise<Running> {
  const httpPort = await freePort();
  const cfg = parseServeConfig({ listen: '127.0.0.1:0', httpListen: `127.0.0.1:${httpPort}`, publicUrl: `http://127.0.0.1:${httpPort}`, workers: 1, ...config });
  const sink = memorySink();
  const log = createLogger({ level: 'debug', sinks: [sink] });
  const clockOffsetMs = { value: 0 };
  const server = await startOnlineServer({ store: ca.store, session: ca.hsm.session, config: cfg, log, now: () => Date.now() + clockOffsetMs.value });
  return { ca, server, config: cfg, logs: sink.records, clockOffsetMs, stop: () => server.close() };
}

/** Issues a certificate locally (admin certificates, forged-time node SVIDs for tests). */
export async function localCert(ca: OnlineCa, kind: 'admin' | 'node', spiffeId: string, opts: { ttlSeconds?: number; nowMs?: number } = {}): Promise<{ cert: string; key: string; chain: string; serial: string }> {
  const r = await issueLocally(ca.store, ca.hsm.session, { kind, spiffeId, ttlSeconds: opts.ttlSeconds ?? 3600, nowMs: opts.nowMs ?? Date.now(), maxSvidTtlSeconds: 86_400 });
  return { cert: r.certPem, key: r.keyPem ?? '', chain: r.chainPem, serial: r.serial };
}

/** An HTTP reply. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: Record<string, unknown>;
}

/** Client TLS identity. */
export interface ClientCert {
  cert: string;
  key: string;
}

/** Calls the server over HTTPS (a fresh connection per call). */
export function call(server: OnlineServer, ca: string, method: string, path: string, opts: { body?: unknown; raw?: Buffer | string; contentType?: string; client?: ClientCert; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(path, server.url);
  const payload = opts.raw !== undefined ? opts.raw : opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        ca,
        servername: 'localhost',
        agent: false,
        ...(opts.client === undefined ? {} : { cert: opts.client.cert, key: opts.client.key }),
        headers: {
          ...(payload === undefined ? {} : { 'content-type': opts.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
          } catch {
            json = {};
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** Calls the plain HTTP listener. */
export function callHttp(url: string, method: string, path: string, body?: Buffer, contentType?: string): Promise<Reply> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method, agent: false, headers: body === undefined ? {} : { 'content-type': contentType ?? 'application/octet-stream', 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
        } catch {
          json = {};
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Number of recorded certificates, used tokens and entries: "nothing recorded" checks. */
export function counts(store: Store): { certs: number; usedTokens: number; entries: number; nodes: number } {
  const n = (sql: string): number => (store.db.prepare(sql).get() as { n: number }).n;
  return {
    certs: n('SELECT COUNT(*) AS n FROM online_certs'),
    usedTokens: n('SELECT COUNT(*) AS n FROM online_join_tokens WHERE used_at IS NOT NULL'),
    entries: n('SELECT COUNT(*) AS n FROM online_entries'),
    nodes: n('SELECT COUNT(*) AS n FROM online_nodes'),
  };
}

/**
 * Runs a tool without blocking the event loop (needed when the tool talks to the server running
 * in this process: spawnSync would deadlock it).
 */
export function runAsync(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
