/**
 * @module agent/metrics
 * The agent's Prometheus metrics (the online CA's small registry, core/online/metrics.ts) and the
 * two ways to expose them: a plain-HTTP `/metrics` listener on a local address, and a text file
 * replaced atomically after every pass (for node_exporter's textfile collector). Gauges about
 * certificates are computed at scrape time from the agent's view, so removed workloads disappear.
 *
 * Must never: listen on a public address by default, or put anything but workload names, error
 * codes and fixed words in labels.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { CoreError } from '../errors.ts';
import { Registry, type Counter, type Gauge } from '../online/metrics.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

/** The agent's metrics. */
export interface AgentMetrics {
  registry: Registry;
  /** SVIDs delivered: `{workload, reason}` (issued, renewed, updated, revoked, bundle, crls, owner, renamed). */
  deliveries: Counter;
  /** Failed renewal attempts: `{workload, code}`. */
  failures: Counter;
  /** Hook runs that failed or timed out: `{workload}`. */
  hookFailures: Counter;
  /** Failed polls of entries, bundle or CRLs: `{code}`. */
  pollFailures: Counter;
  /** Wall-clock jumps noticed (difference from the monotonic clock above 5 s). */
  clockJumps: Counter;
  /** Seconds until expiry per certificate (`{workload}`; the node as `_node`). */
  expiresIn: Gauge;
  /** 1 when a certificate is within the alert window of expiry without a successor. */
  alert: Gauge;
  /** 1 when a certificate has expired (the files are kept until a successor exists). */
  expired: Gauge;
  /** Time of the last successful poll (seconds since the epoch). */
  lastPoll: Gauge;
  /** 1 when the node holds a node SVID. */
  attested: Gauge;
  /** Workloads managed. */
  workloads: Gauge;
}

/** Creates the registry and metrics. */
export function agentMetrics(): AgentMetrics {
  const registry = new Registry();
  return {
    registry,
    deliveries: registry.counter('neam_agent_deliveries_total', 'SVID file sets delivered, by workload and reason (issued, renewed, updated, revoked, bundle, crls, owner, renamed)'),
    failures: registry.counter('neam_agent_rotation_failures_total', 'failed renewal attempts by workload and error code'),
    hookFailures: registry.counter('neam_agent_hook_failures_total', 'post-rotation hooks that failed or timed out, by workload'),
    pollFailures: registry.counter('neam_agent_poll_failures_total', 'failed polls of entries, trust bundle or CRLs, by error code'),
    clockJumps: registry.counter('neam_agent_clock_jumps_total', 'wall-clock jumps noticed against the monotonic clock'),
    expiresIn: registry.gauge('neam_agent_svid_expires_in_seconds', 'seconds until the delivered SVID expires (workload _node is the node SVID)'),
    alert: registry.gauge('neam_agent_svid_expiry_alert', '1 when an SVID is within the alert window (default 6 h) of expiry without a successor'),
    expired: registry.gauge('neam_agent_svid_expired', '1 when the delivered SVID has expired (kept until a successor is delivered)'),
    lastPoll: registry.gauge('neam_agent_last_successful_poll_timestamp_seconds', 'time of the last successful poll of entries, bundle and CRLs'),
    attested: registry.gauge('neam_agent_attested', '1 when the agent holds a node SVID'),
    workloads: registry.gauge('neam_agent_workloads', 'workloads managed by the agent'),
  };
}

/**
 * Writes the exposition text to `file` atomically (mode 0644).
 * @throws {CoreError} ERR_IO
 */
export function writeMetricsFile(file: string, m: AgentMetrics): void {
  writeFileAtomic(file, m.registry.render(), 0o644);
}

/** A running metrics listener. */
export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on a local address.
 * @throws {CoreError} ERR_IO when the address cannot be bound
 */
export async function serveMetrics(listen: { host: string; port: number }, m: AgentMetrics): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      const body = m.registry.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('only GET /metrics is served here\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new CoreError('ERR_IO', `cannot listen for metrics on ${listen.host}:${listen.port} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
