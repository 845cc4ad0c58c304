/**
 * @module demo/stages/serve
 * Stage 4: the online CA imports the `intermediate-issuance` bundle (verified against the pinned
 * offline transfer key and root, answering the CSRs it sent), registers three workloads on one node
 * and creates the node's single-use join token (written 0600, never printed), then starts
 * `neam-ca serve` on a random loopback port and `neam-ca agent run` as separate processes, the way
 * they run in production. The agent pins the root's fingerprint for first contact, attests with
 * the token, and delivers each workload's key, certificate chain, trust bundle and CRLs.
 *
 * Must never: print or log the join token, or leave either process running (the supervisor stops
 * them at the end of the run).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { CoreError } from '../../errors.ts';
import { createEntry, createJoinToken, importTransferBundle, listRoots, nodeSpiffeId } from '../../online/index.ts';
import type { Store } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import { appendLog, cliArgs, TRUST_DOMAIN, type DemoContext } from '../context.ts';
import { lastLines, throwIfAborted, waitForOutput, type ManagedProcess } from '../processes.ts';
import { ONLINE_TOKEN_LABEL } from './online-init.ts';

/** The demo's node and workloads. */
export const NODE_NAME = 'demo-node-1';

/** A workload of the demo: folder name, SPIFFE ID, DNS names, what it does. */
export interface DemoWorkload {
  name: string;
  spiffeId: string;
  dnsNames: string[];
  role: string;
}

/** The three workloads: a server, its client, and one whose SVID is revoked. */
export const WORKLOADS: readonly DemoWorkload[] = [
  { name: 'orders', spiffeId: `spiffe://${TRUST_DOMAIN}/ns/shop/sa/orders`, dnsNames: ['orders.shop.svc'], role: 'HTTPS server (openssl s_server)' },
  { name: 'storefront', spiffeId: `spiffe://${TRUST_DOMAIN}/ns/web/sa/storefront`, dnsNames: [], role: 'client of orders (curl)' },
  { name: 'reports', spiffeId: `spiffe://${TRUST_DOMAIN}/ns/ops/sa/reports`, dnsNames: [], role: 'client of orders whose SVID is revoked' },
];

/** A delivered SVID. */
export interface Delivered {
  dir: string;
  cert: string;
  key: string;
  bundle: string;
  crls: string;
  serial: string;
  notAfter: string;
}

/** What stage 4 produced. */
export interface ServeResult {
  server: ManagedProcess;
  agent: ManagedProcess;
  url: string;
  nodeId: string;
  delivered: Map<string, Delivered>;
  intermediates: string[];
}

/** Reads the delivered files of a workload (through its link), or undefined when not there yet. */
export function readDelivered(workloadsDir: string, name: string): Delivered | undefined {
  const dir = join(workloadsDir, name);
  const cert = join(dir, 'svid.pem');
  if (!existsSync(cert) || !existsSync(join(dir, 'crls.pem'))) return undefined;
  const leaf = new X509Certificate(readFileSync(cert));
  return { dir, cert, key: join(dir, 'svid.key'), bundle: join(dir, 'bundle.pem'), crls: join(dir, 'crls.pem'), serial: leaf.serialNumber.toLowerCase(), notAfter: new Date(leaf.validTo).toISOString() };
}

/** The `--json` answer of `agent run --once`, or undefined when it is not one. */
function parseOnce(stdout: string): { nodeId: string; elapsedMs: number; workloads: Array<{ name: string; serial: string }> } | undefined {
  try {
    const j = JSON.parse(stdout) as { ok?: boolean; value?: { nodeId?: unknown; elapsedMs?: unknown; workloads?: unknown } };
    const v = j.value;
    if (j.ok !== true || v === undefined || typeof v.nodeId !== 'string' || !Array.isArray(v.workloads)) return undefined;
    return { nodeId: v.nodeId, elapsedMs: typeof v.elapsedMs === 'number' ? v.elapsedMs : 0, workloads: v.workloads as Array<{ name: string; serial: string }> };
  } catch {
    return undefined;
  }
}

/** The error of a failed `agent run --once --json`, as text. */
function onceError(stdout: string): string {
  try {
    const e = (JSON.parse(stdout) as { error?: { code?: string; message?: string } }).error;
    return e === undefined ? '' : `[${e.code ?? '?'}] ${e.message ?? ''}`;
  } catch {
    return '';
  }
}

/**
 * Runs stage 4.
 * @throws {CoreError} ERR_BUNDLE_*, ERR_ONLINE_* (the import), ERR_DEMO_PROCESS_FAILED (the server or the agent exited or was not ready), ERR_DEMO_CHECK_FAILED (no SVIDs in time), ERR_DEMO_INTERRUPTED
 */
export async function serveStage(ctx: DemoContext, store: Store): Promise<ServeResult> {
  const { layout } = ctx;
  const now = ctx.now();
  const bytes = readFileSync(layout.transfer.issuance);
  const imported = importTransferBundle(store, bytes, now.getTime());
  const intermediates = (imported.issuance?.imported ?? []).map((i) => i.id);
  ctx.detail(`imported bundle ${imported.bundle.manifest.sequence} from '${imported.bundle.peer}': ${intermediates.length} intermediates, ${imported.issuance?.rootsAdded.length ?? 0} trust anchor, ${imported.issuance?.rootCrlsImported ?? 0} root CRL`);

  const nodeId = nodeSpiffeId(TRUST_DOMAIN, NODE_NAME).id;
  const limits = { trustDomain: TRUST_DOMAIN, defaultTtlSeconds: 86_400, maxTtlSeconds: 86_400 };
  for (const w of WORKLOADS) {
    const e = createEntry(store, { spiffeId: w.spiffeId, parentId: nodeId, selectors: [`unix:user:${w.name}`], dnsNames: w.dnsNames, ttlSeconds: 86_400 }, limits, now.getTime());
    appendLog(ctx, '4-online-ca-admin.log', `entry ${e.id}: ${e.spiffeId} parent ${e.parentId}`);
  }
  ctx.detail(`entries for ${WORKLOADS.map((w) => w.spiffeId).join(', ')} on node ${nodeId}`);
  mkdirSync(layout.node.dir, { mode: 0o700 });
  const t = createJoinToken(store, nodeId, 600, now.getTime(), ctx.random);
  try {
    t.token.use((b) => writeFileExclusive(layout.node.joinToken, Buffer.concat([b, Buffer.from('\n')]), 0o600));
  } finally {
    t.token.wipe();
  }
  const anchors = listRoots(store.db).map((r) => r.sha256);
  ctx.detail(`single-use join token for ${nodeId} written to ${layout.node.joinToken} (0600, expires in 10 min)`);

  // The online CA, as in production: its own process, its PIN from a 0600 file.
  writeFileExclusive(layout.online.serveConfig, `# neam-ca serve configuration written by the demo (docs/online.md)\n${stringify({ listen: '127.0.0.1:0', workers: 1, serverDnsNames: ['localhost'], serverIpAddresses: ['127.0.0.1'] })}`);
  const s = cliArgs(ctx, ['serve', '--home', layout.online.home, '--token', ONLINE_TOKEN_LABEL, '--pin-file', layout.secrets.onlinePin, '--config', layout.online.serveConfig]);
  const server = await ctx.procs.start('the online CA (neam-ca serve)', s.cmd, s.args, { logPath: join(layout.logs, '4-online-ca-serve.log') });
  const m = await waitForOutput(server, /listening on (https:\/\/127\.0\.0\.1:\d+)/u, 60_000, ctx.signal);
  const url = m[1] as string;
  ctx.detail(`neam-ca serve (pid ${server.pid}) listening on ${url}; log ${server.logPath ?? ''}`);

  // The agent on the workload node: pins the root fingerprint, attests with the token file.
  const config = {
    server: url,
    trustAnchors: anchors,
    joinTokenFile: 'join-token',
    stateDir: 'agent-state',
    workloadsDir: 'workloads',
    pollInterval: '1s',
    workloads: Object.fromEntries(WORKLOADS.map((w) => [w.spiffeId, { name: w.name, crls: true }])),
  };
  writeFileExclusive(layout.node.config, `# neam-ca agent configuration written by the demo (docs/agent.md)\n${stringify(config)}`);
  // First a one-shot sync, as a script would (docs/agent.md): attest, deliver every workload, exit.
  const once = cliArgs(ctx, ['agent', 'run', '--config', layout.node.config, '--once', '--timeout', '90s', '--json']);
  const r = await ctx.procs.run(once.cmd, once.args, { timeoutMs: 120_000 });
  appendLog(ctx, '4-agent-once.log', `$ neam-ca agent run --config ${layout.node.config} --once --timeout 90s --json\nexit ${String(r.code)}\n${r.stderr}${r.stdout}`);
  throwIfAborted(ctx.signal);
  const synced = parseOnce(r.stdout);
  if (r.code !== 0 || synced === undefined) {
    throw new CoreError('ERR_DEMO_PROCESS_FAILED', `'neam-ca agent run --once' did not deliver the SVIDs (exit ${String(r.code)}): ${synced === undefined ? lastLines(r.stderr || r.stdout) : ''}${onceError(r.stdout)}; see ${join(layout.logs, '4-agent-once.log')}`);
  }
  ctx.detail(`neam-ca agent run --once: attested as ${synced.nodeId} and delivered ${synced.workloads.length} SVIDs in ${(synced.elapsedMs / 1000).toFixed(1)} s`);
  const delivered = new Map<string, Delivered>();
  for (const w of WORKLOADS) {
    const d = readDelivered(layout.node.workloads, w.name);
    if (d === undefined || !synced.workloads.some((x) => x.name === w.name)) throw new CoreError('ERR_DEMO_CHECK_FAILED', `the agent reported a full sync but ${w.name}'s files are not in ${layout.node.workloads}; see ${join(layout.logs, '4-agent-once.log')}`);
    delivered.set(w.name, d);
  }
  // Then the agent as it runs in production: in the background, polling every second, rotating,
  // refreshing the bundle and the CRLs (stage 5 depends on the latter).
  const a = cliArgs(ctx, ['agent', 'run', '--config', layout.node.config]);
  const agent = await ctx.procs.start('the agent (neam-ca agent run)', a.cmd, a.args, { logPath: join(layout.logs, '4-agent.log') });
  await waitForOutput(agent, /"msg":"(?:entries|poll|bundle)[^"]*"|neam-ca agent: node /u, 30_000, ctx.signal);
  ctx.detail(`agent (pid ${agent.pid}) running (neam-ca agent run, polling every second); the delivered SVIDs:`);
  for (const w of WORKLOADS) {
    const d = delivered.get(w.name) as Delivered;
    ctx.detail(`  ${w.name.padEnd(10)} ${w.spiffeId}  serial ${d.serial}  until ${d.notAfter}`);
  }
  return { server, agent, url, nodeId, delivered, intermediates };
}
