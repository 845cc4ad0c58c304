/**
 * @module online/server
 * `neam-ca serve` as a function: starts the CA runtime (intermediate keys opened from the token,
 * issuance workers), the HTTPS listener with mutual TLS (client certificates requested, verified
 * against our roots, required per route), the optional plain-HTTP listener for CRLs, OCSP,
 * health and metrics, and the timers: database changes (1 s), activation and the server's own
 * certificate (10 s), CRL publication (the configured interval), expiry and coverage gauges
 * (60 s). `close()` stops everything and flushes pending records.
 *
 * Must never: serve before a certificate for the server is issued, or keep serving with a server
 * certificate past half its life.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

import type { HsmSession } from '../hsm/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import { CaRuntime, type ServerCredentials } from './ca-runtime.ts';
import type { ServeConfig } from './config.ts';
import { onlineMetrics } from './metrics.ts';
import { createHandlers } from './routes.ts';

/** Options of {@link startOnlineServer}. */
export interface StartServerOptions {
  readonly store: Store;
  /** A logged-in session on the online token (the caller closes it after `close()`). */
  readonly session: HsmSession;
  readonly config: ServeConfig;
  readonly log: Logger;
  /** Clock (ms); tests move it. */
  readonly now?: () => number;
}

/** A running server. */
export interface OnlineServer {
  /** `https://HOST:PORT` of the mTLS listener. */
  readonly url: string;
  readonly port: number;
  /** `http://HOST:PORT` of the plain listener, if configured. */
  readonly httpUrl: string | undefined;
  readonly runtime: CaRuntime;
  readonly metrics: ReturnType<typeof onlineMetrics>;
  /** Re-runs the periodic work now (tests). */
  tick(): void;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

/**
 * Starts the online CA server.
 * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED, ERR_ONLINE_NO_ACTIVE_INTERMEDIATE, ERR_IO (listen), HSM codes
 */
export async function startOnlineServer(o: StartServerOptions): Promise<OnlineServer> {
  const now = o.now ?? Date.now;
  const log = o.log;
  const metrics = onlineMetrics();
  const runtime = await CaRuntime.start({ store: o.store, session: o.session, config: o.config, log: log.child('ca'), now, metrics });
  const startedAt = now();
  let creds: ServerCredentials;
  let https: HttpsServer | undefined;
  let http: HttpServer | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    creds = runtime.issueServerCredentials();
    runtime.publishCrls();
    const handlers = createHandlers({
      runtime,
      store: o.store,
      config: o.config,
      log: log.child('http'),
      metrics,
      now,
      serverInfo: () => ({ startedAt: new Date(startedAt).toISOString(), workers: runtime.pool.size, url, httpUrl, serverCertificateNotAfter: new Date(creds.notAfterMs).toISOString() }),
    });
    https = createHttpsServer(
      {
        key: creds.key,
        cert: creds.cert,
        ca: creds.ca,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
        maxHeaderSize: 16_384,
        requestTimeout: o.config.limits.requestTimeout * 1000,
        headersTimeout: Math.min(10_000, o.config.limits.requestTimeout * 1000),
        keepAliveTimeout: 65_000,
      },
      handlers.https,
    );
    https.maxConnections = o.config.limits.maxConnections;
    https.maxHeadersCount = 50;
    https.on('tlsClientError', (e) => log.debug('TLS handshake failed', { error: e }));
    const httpsServer = https;
    await new Promise<void>((resolve, reject) => {
      httpsServer.once('error', reject);
      httpsServer.listen(o.config.listen.port, o.config.listen.host, () => resolve());
    });
    if (o.config.httpListen !== undefined) {
      const httpServer = createHttpServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, handlers.http);
      httpServer.maxConnections = o.config.limits.maxConnections;
      http = httpServer;
      const l = o.config.httpListen;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(l.port, l.host, () => resolve());
      });
    }
  } catch (e) {
    https?.close();
    http?.close();
    await runtime.close();
    throw e;
  }
  const httpsAddr = https.address() as AddressInfo;
  const url = `https://${hostForUrl(o.config.listen.host)}:${httpsAddr.port}`;
  const httpUrl = http === undefined ? undefined : `http://${hostForUrl(o.config.httpListen?.host ?? '127.0.0.1')}:${(http.address() as AddressInfo).port}`;
  const tlsServer = https;

  const renewServerCertIfDue = (): void => {
    const t = now();
    const half = creds.issuedAtMs + (creds.notAfterMs - creds.issuedAtMs) / 2;
    if (t >= half || runtime.active?.id !== creds.issuerId || creds.ca !== runtime.bundle.pem) {
      try {
        creds = runtime.issueServerCredentials();
        tlsServer.setSecureContext({ key: creds.key, cert: creds.cert, ca: creds.ca, minVersion: 'TLSv1.2' });
      } catch (e) {
        log.error('the server TLS certificate could not be renewed', { error: e });
      }
    }
  };
  const gauges = (): void => {
    try {
      const [h24, h12, h6] = runtime.expiringCounts([24 * 3_600_000, 12 * 3_600_000, 6 * 3_600_000]);
      metrics.expiring.set(h24 ?? 0, { within: '24h' });
      metrics.expiring.set(h12 ?? 0, { within: '12h' });
      metrics.expiring.set(h6 ?? 0, { within: '6h' });
      metrics.residentMemory.set(process.memoryUsage.rss());
    } catch (e) {
      log.error('computing the expiry gauges failed', { error: e });
    }
  };
  const safely = (what: string, fn: () => void) => (): void => {
    try {
      fn();
    } catch (e) {
      log.error(`${what} failed`, { error: e });
    }
  };
  const tick = (): void => {
    safely('reloading changes', () => runtime.refreshIfChanged())();
    safely('activation', () => {
      runtime.updateActivation();
      renewServerCertIfDue();
    })();
  };
  gauges();
  timers.push(setInterval(safely('reloading changes', () => runtime.refreshIfChanged()), 1000));
  timers.push(
    setInterval(
      safely('activation', () => {
        runtime.updateActivation();
        renewServerCertIfDue();
      }),
      10_000,
    ),
  );
  timers.push(setInterval(safely('CRL publication', () => runtime.publishCrls()), o.config.crl.interval * 1000));
  timers.push(setInterval(gauges, 60_000));
  for (const t of timers) t.unref();
  log.info('online CA serving', { url, httpUrl: httpUrl ?? null, trustDomain: runtime.trustDomain, activeIntermediate: runtime.active?.id ?? null, workers: runtime.pool.size });

  return {
    url,
    port: httpsAddr.port,
    httpUrl,
    runtime,
    metrics,
    tick() {
      tick();
      gauges();
    },
    async close() {
      for (const t of timers) clearInterval(t);
      const closing = [new Promise<void>((r) => tlsServer.close(() => r()))];
      if (http !== undefined) {
        const h = http;
        closing.push(new Promise<void>((r) => h.close(() => r())));
        h.closeAllConnections();
      }
      tlsServer.closeAllConnections();
      await Promise.all(closing);
      await runtime.close();
      log.info('online CA stopped', {});
    },
  };
}
