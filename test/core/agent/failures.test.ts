/**
 * The agent under failure: the CA unreachable for hours (and the agent restarted meanwhile), a CA
 * front answering with errors, malformed, oversized or hostile answers or not at all, a full disk
 * (a real tmpfs), and a state directory with wrong permissions. Each failure is reported with its
 * code and a message that says what to do, and no valid certificate is lost: after every failure
 * the delivered key and certificate are still a matching pair (checked with OpenSSL) and still the
 * ones that were there.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { readAgentStatus, type Agent, type TickReport } from '../../../core/agent/agent.ts';
import { CaClient } from '../../../core/agent/client.ts';
import type { AgentConfig } from '../../../core/agent/config.ts';
import { loadState } from '../../../core/agent/state.ts';
import { isCoreError } from '../../../core/errors.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { addEntry, clocks, delivered, HOUR, openAgent, startCa, startFaultyFront, startProxy, TD, testConfig, tickUntil, tokenFile, type CaFixture, type Clocks, type Fault } from './harness.ts';
import { opensslVerify, pemBlocks } from './peers.ts';

/** The delivered pair in `dir` matches (OpenSSL compares the public keys), the key is 0600; returns the serial. */
function pairSerial(dir: string): string {
  const cert = join(dir, 'svid.pem');
  const key = join(dir, 'svid.key');
  expect(runOk('openssl', ['pkey', '-in', key, '-pubout']), `key and certificate in ${dir}`).toBe(runOk('openssl', ['x509', '-in', cert, '-noout', '-pubkey']));
  expect(statSync(key).mode & 0o777).toBe(0o600);
  return (/serial=([0-9A-F]+)/u.exec(runOk('openssl', ['x509', '-in', cert, '-noout', '-serial']))?.[1] ?? '').toLowerCase();
}

/** Moves both clocks (time passes for the agent; the CA keeps real time). */
function pass(c: Clocks, ms: number): void {
  c.wallOffset += ms;
  c.monoOffset += ms;
}

function byScope(r: TickReport, scope: string): { code: string; message: string } | undefined {
  return r.errors.find((e) => e.scope === scope);
}

describe('agent failures: each reported clearly, no valid certificate lost', () => {
  let f: CaFixture;
  const cleanups: Array<() => void | Promise<void>> = [];
  beforeAll(async () => {
    f = await startCa();
  });
  afterAll(async () => {
    await f.stop();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const dir = (): string => {
    const t = tempDir('neam-agent-fail-');
    cleanups.push(t.cleanup);
    return t.dir;
  };
  const setUp = async (d: string, server: string, name: string, extra: Record<string, unknown> = {}, agentExtra: Parameters<typeof openAgent>[2] = {}): Promise<{ cfg: AgentConfig; c: Clocks; agent: Agent; logs: ReturnType<typeof openAgent>['logs'] }> => {
    const cfg = testConfig(d, server, f.anchor, { joinTokenFile: tokenFile(f, d, name), ...extra });
    const c = clocks();
    const { agent, logs } = openAgent(cfg, c, agentExtra);
    await agent.tick();
    expect(agent.attested).toBe(true);
    await addEntry(f, { spiffeId: `spiffe://${TD}/${name}`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule !== undefined);
    return { cfg, c, agent, logs };
  };

  it('CA unreachable for hours: ERR_AGENT_SERVER_UNREACHABLE with backoff, files kept, alert at 6 h (also after a restart), files kept past expiry, renewal as soon as the CA is back', async () => {
    const d = dir();
    const proxy = await startProxy(f.srv.server.url);
    cleanups.push(() => proxy.close());
    const metricsFile = join(d, 'agent.prom');
    const first = await setUp(d, proxy.url, 'down', { metrics: { file: metricsFile } });
    const { cfg, c } = first;
    let { agent, logs } = first;
    const w = join(cfg.workloadsDir, 'down');
    const s1 = pairSerial(w);
    const nodeSerial = pairSerial(join(cfg.stateDir, 'node'));
    await proxy.setDown(true);

    // 20 h pass: renewal is due (19.2 h at the latest) and 4 h of validity are left.
    pass(c, 20 * HOUR);
    const r = await agent.tick();
    expect(new Set(r.errors.map((e) => e.code))).toEqual(new Set(['ERR_AGENT_SERVER_UNREACHABLE']));
    expect(r.errors.map((e) => e.scope).sort()).toEqual(['down', 'node', 'poll']);
    expect(byScope(r, 'down')?.message).toMatch(/^cannot reach the CA at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) for POST \/v1\/svids; the current files stay and the agent retries$/u);
    // Backoff: the next attempt is scheduled, not immediate, and recorded for a restart.
    const sched = agent.state.workloads[0]?.schedule;
    expect(sched?.attempt).toBe(1);
    expect(sched?.retryAt).toBeGreaterThan(c.now());
    expect(agent.state.workloads[0]?.lastError?.code).toBe('ERR_AGENT_SERVER_UNREACHABLE');
    // The alert: a log line and the metric (also in the textfile), naming the last error.
    const alert = logs.find((l) => l.msg === 'SVID close to expiry without a successor' && l.data?.['workload'] === 'down');
    expect(alert?.level).toBe('warn');
    expect(alert?.data?.['lastError']).toBe('ERR_AGENT_SERVER_UNREACHABLE');
    expect(agent.metrics.registry.render()).toMatch(/neam_agent_svid_expiry_alert\{workload="down"\} 1/u);
    expect(readFileSync(metricsFile, 'utf8')).toMatch(/neam_agent_svid_expiry_alert\{workload="down"\} 1/u);
    expect(pairSerial(w)).toBe(s1);
    expect(pairSerial(join(cfg.stateDir, 'node'))).toBe(nodeSerial);

    // The agent restarts while the CA is still down: it resumes from its state and alerts again.
    ({ agent, logs } = openAgent(cfg, c));
    expect(agent.state.workloads[0]?.schedule?.serial).toBe(s1);
    pass(c, HOUR);
    const r2 = await agent.tick();
    expect(byScope(r2, 'down')?.code).toBe('ERR_AGENT_SERVER_UNREACHABLE');
    expect(logs.some((l) => l.msg === 'SVID close to expiry without a successor')).toBe(true);
    expect(pairSerial(w)).toBe(s1);

    // Past expiry (26 h): the files stay (an expired pair beats no pair for diagnosis and for
    // peers with skewed clocks); the agent says so loudly and the status needs attention.
    pass(c, 5 * HOUR);
    await agent.tick();
    const expired = logs.find((l) => l.msg === 'SVID expired without a successor; the old files are kept until one is delivered');
    expect(expired?.level).toBe('error');
    expect(agent.metrics.registry.render()).toMatch(/neam_agent_svid_expired\{workload="down"\} 1/u);
    expect(pairSerial(w)).toBe(s1);
    const st = readAgentStatus(cfg, c.now());
    expect(st.workloads[0]).toMatchObject({ name: 'down', state: 'expired', serial: s1, lastError: { code: 'ERR_AGENT_SERVER_UNREACHABLE' } });
    expect(st.needsAttention).toBe(true);

    // The CA is back: the next attempt (after the capped backoff) renews everything.
    await proxy.setDown(false);
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s1, 200);
    const s2 = pairSerial(w);
    expect(s2).not.toBe(s1);
    expect(s2).toBe(agent.state.workloads[0]?.schedule?.serial);
    expect(await opensslVerify(join(w, 'svid.pem'), { bundle: join(w, 'bundle.pem'), purpose: 'sslclient', scratch: join(d, 'v') })).toMatch(/: OK/u);
    expect(agent.metrics.registry.render()).toMatch(/neam_agent_svid_expiry_alert\{workload="down"\} 0/u);
    expect(logs.some((l) => l.msg === 'expiry alert cleared' && l.data?.['workload'] === 'down')).toBe(true);
    expect(agent.state.workloads[0]?.lastError).toBeUndefined();
  });

  it('CA errors (503 with Retry-After, 500 HTML, non-JSON, wrong shape, oversized, no answer, an SVID for another key or identity): each with its code and message; the files never change; renewal once the CA is sound', async () => {
    const d = dir();
    const front = await startFaultyFront(f, d);
    cleanups.push(() => front.close());
    // A small answer limit so that "oversized" stays cheap (the default is 32 MiB).
    const client = new CaClient({ server: front.url, timeoutMs: 1000, maxResponseBytes: 256 * 1024 });
    const { cfg, c, agent } = await setUp(d, front.url, 'errors', { requestTimeout: '1s' }, { client });
    const w = join(cfg.workloadsDir, 'errors');
    const s1 = pairSerial(w);
    const keyBefore = readFileSync(join(w, 'svid.key'));
    const current = delivered(cfg, 'errors');
    const [leaf, ...chain] = pemBlocks(current.cert);
    const nodeCert = readFileSync(join(cfg.stateDir, 'node', 'svid.pem'), 'utf8');
    const [nodeLeaf] = pemBlocks(nodeCert);
    const entryId = agent.state.workloads[0]?.entryId ?? '';
    const answer = (leafPem: string, spiffeId: string, serial: string): Record<string, unknown> => ({
      spiffeId,
      entryId,
      serial,
      notBefore: new Date().toISOString(),
      notAfter: new Date(Date.now() + HOUR).toISOString(),
      svid: leafPem,
      chain: chain.join(''),
      bundle: f.bundle,
      bundleSequence: agent.state.bundle?.sequence ?? 1,
    });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): Fault => ({ kind: 'status', status, contentType: 'application/json', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
    const cases: Array<[string, Fault, string, RegExp]> = [
      ['503 with Retry-After', json(503, { error: { code: 'ERR_ONLINE_UNAVAILABLE', message: 'the CA is overloaded' } }, { 'retry-after': '3' }), 'ERR_AGENT_SERVER_ERROR', /refused or failed the request for an SVID: HTTP 503 ERR_ONLINE_UNAVAILABLE: the CA is overloaded$/u],
      ['500 with an HTML page', { kind: 'status', status: 500, contentType: 'text/html', body: '<html><body>Internal Server Error</body></html>' }, 'ERR_AGENT_SERVER_ERROR', /HTTP 500 with a body that is not an API error$/u],
      ['200 that is not JSON', json(200, '{"svid": "-----BEGIN CERT'), 'ERR_AGENT_RESPONSE_INVALID', /answered the request for an SVID with 25 bytes that are not JSON; the current files stay$/u],
      ['200 of the wrong shape', json(200, { hello: 'world' }), 'ERR_AGENT_RESPONSE_INVALID', /the CA's answer for an SVID does not have the expected shape \(spiffeId: .*\); the current files stay$/u],
      ['an oversized answer', json(200, `"${'x'.repeat(300 * 1024)}"`), 'ERR_AGENT_RESPONSE_INVALID', /answer to POST \/v1\/svids is larger than 262144 bytes; refused$/u],
      ['no answer', { kind: 'hang' }, 'ERR_AGENT_SERVER_UNREACHABLE', /cannot reach the CA at .* \(ERR_AGENT_TIMEOUT\) for POST \/v1\/svids; the current files stay/u],
      ['an SVID for another key', { kind: 'svid', svid: answer(leaf ?? '', `spiffe://${TD}/errors`, current.serial) }, 'ERR_AGENT_RESPONSE_INVALID', /is unusable: the certificate is for a different public key than the one in our request; nothing was written and the current files stay$/u],
      ['an SVID for another identity', { kind: 'svid', svid: answer(nodeLeaf ?? '', `spiffe://${TD}/errors`, pairSerial(join(cfg.stateDir, 'node'))) }, 'ERR_AGENT_RESPONSE_INVALID', /the certificate names spiffe:\/\/example\.org\/neam-ca\/node\/errors instead of exactly spiffe:\/\/example\.org\/errors; nothing was written/u],
    ];
    // Renewal is due from here on.
    pass(c, 20 * HOUR);
    for (const [name, fault, code, message] of cases) {
      front.setFault(fault);
      front.seen.length = 0;
      pass(c, 60_000); // past any backoff
      const r = await agent.tick();
      expect(front.seen, name).toContain('POST /v1/svids');
      const e = byScope(r, 'errors');
      expect(e?.code, `${name}: ${JSON.stringify(r.errors)}`).toBe(code);
      expect(e?.message, name).toMatch(message);
      expect(agent.state.workloads[0]?.lastError?.code, name).toBe(code);
      expect(pairSerial(w), name).toBe(s1);
      expect(readFileSync(join(w, 'svid.key')).equals(keyBefore), name).toBe(true);
      if (name === '503 with Retry-After') {
        // The server's Retry-After (3 s) is a floor for the next attempt.
        const rec = agent.state.workloads[0];
        expect((rec?.schedule?.retryAt ?? 0) - (rec?.lastError?.at ?? 0)).toBeGreaterThanOrEqual(2990);
      }
    }
    expect(agent.metrics.failures.get({ workload: 'errors', code: 'ERR_AGENT_RESPONSE_INVALID' })).toBe(5);
    expect(agent.metrics.failures.get({ workload: 'errors', code: 'ERR_AGENT_SERVER_ERROR' })).toBe(2);
    // Only generation folders the agent completed exist (the current one, and none half-written).
    expect(readdirSync(cfg.workloadsDir).filter((e) => e.startsWith('.errors.g'))).toHaveLength(1);

    front.setFault({ kind: 'pass' });
    pass(c, 60_000);
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s1, 200);
    const s2 = pairSerial(w);
    expect(s2).not.toBe(s1);
    expect(await opensslVerify(join(w, 'svid.pem'), { bundle: join(w, 'bundle.pem'), purpose: 'sslserver', scratch: join(d, 'v') })).toMatch(/: OK/u);
  });

  it('disk full (a real 256 KiB tmpfs holding the state and workload folders): ERR_AGENT_DISK_FULL for the node, the workload and the state file; nothing half-written, nothing lost; renewal once space is free', async () => {
    const d = dir();
    const mnt = join(d, 'tiny');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt], { encoding: 'utf8' });
    // A real full disk needs a tmpfs, so root (as .ci/run runs): without it the test fails, it
    // never passes or skips silently.
    if (m.status !== 0) throw new Error(`this test mounts a tmpfs and must run as root (mount said: ${m.stderr.trim() || m.error?.message})`);
    cleanups.push(() => {
      spawnSync('umount', [mnt]);
    });
    const { cfg, c, agent } = await setUp(mnt, f.srv.server.url, 'full', { joinTokenFile: tokenFile(f, d, 'full-node') });
    const w = join(cfg.workloadsDir, 'full');
    const s1 = pairSerial(w);
    const nodeSerial = pairSerial(join(cfg.stateDir, 'node'));
    const stateBefore = readFileSync(join(cfg.stateDir, 'state.json'));
    // Fill the file system.
    let i = 0;
    try {
      for (;;) writeFileSync(join(mnt, `fill-${i++}`), Buffer.alloc(4096));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    pass(c, 20 * HOUR);
    const r = await agent.tick();
    expect(byScope(r, 'full')).toMatchObject({ code: 'ERR_AGENT_DISK_FULL', message: "no space left while writing the SVID files of 'full'; the previous SVID files are still in place. Free disk space; the agent retries" });
    expect(byScope(r, 'node')?.code).toBe('ERR_AGENT_DISK_FULL');
    expect(byScope(r, 'state')).toMatchObject({ code: 'ERR_AGENT_DISK_FULL', message: `no space left to save the agent state in ${cfg.stateDir}; the previous state file stays. Free disk space; the agent retries` });
    expect(pairSerial(w)).toBe(s1);
    expect(pairSerial(join(cfg.stateDir, 'node'))).toBe(nodeSerial);
    expect(readFileSync(join(cfg.stateDir, 'state.json')).equals(stateBefore)).toBe(true);
    expect(loadState(cfg.stateDir)?.workloads[0]?.schedule?.serial).toBe(s1);
    // No half-written generation or temporary link is left behind.
    expect(readdirSync(cfg.workloadsDir).sort()).toEqual(['full', expect.stringMatching(/^\.full\.g1-[0-9a-f]{8}$/u)].sort());
    expect(readdirSync(cfg.stateDir).filter((e) => e.startsWith('.node.g'))).toHaveLength(1);

    for (let k = 0; k < i; k++) rmSync(join(mnt, `fill-${k}`), { force: true });
    pass(c, 60_000);
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s1 && agent.state.node?.schedule.serial !== nodeSerial, 200);
    const s2 = pairSerial(w);
    expect(s2).not.toBe(s1);
    expect(await opensslVerify(join(w, 'svid.pem'), { bundle: join(w, 'bundle.pem'), purpose: 'sslclient', scratch: join(d, 'v') })).toMatch(/: OK/u);
    expect(loadState(cfg.stateDir)?.workloads[0]?.schedule?.serial).toBe(s2);
  });

  it('state directory with wrong permissions (open to others, owned by another user) or a loose node key: ERR_AGENT_STATE_PERMISSIONS with the fixing command; nothing is written meanwhile; fixing it resumes', async () => {
    const d = dir();
    const { cfg, c, agent } = await setUp(d, f.srv.server.url, 'perm');
    const w = join(cfg.workloadsDir, 'perm');
    const s1 = pairSerial(w);
    const stateBefore = readFileSync(join(cfg.stateDir, 'state.json'));
    pass(c, 20 * HOUR);

    chmodSync(cfg.stateDir, 0o755);
    const r = await agent.tick();
    expect(r.errors).toEqual([{ scope: 'state', code: 'ERR_AGENT_STATE_PERMISSIONS', message: `the agent state directory ${cfg.stateDir} is accessible to other users (mode 755); run 'chmod 700 ${cfg.stateDir}'` }]);
    expect(pairSerial(w)).toBe(s1);
    expect(readFileSync(join(cfg.stateDir, 'state.json')).equals(stateBefore)).toBe(true);
    const refusals: Array<[string, () => unknown]> = [
      ['a restart', () => openAgent(cfg, c)],
      ['agent status', () => readAgentStatus(cfg, c.now())],
    ];
    for (const [what, fn] of refusals) {
      try {
        fn();
        expect.unreachable(what);
      } catch (e) {
        expect(isCoreError(e, 'ERR_AGENT_STATE_PERMISSIONS'), `${what}: ${String(e)}`).toBe(true);
      }
    }

    chmodSync(cfg.stateDir, 0o700);
    chownSync(cfg.stateDir, 4321, 4321);
    const r2 = await agent.tick();
    expect(r2.errors).toEqual([{ scope: 'state', code: 'ERR_AGENT_STATE_PERMISSIONS', message: `the agent state directory ${cfg.stateDir} belongs to uid 4321, not to the agent's user (uid ${process.getuid?.() ?? 0}); run 'chown ${process.getuid?.() ?? 0} ${cfg.stateDir}'` }]);
    expect(pairSerial(w)).toBe(s1);

    chownSync(cfg.stateDir, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s1, 200);
    expect(agent.metrics.deliveries.get({ workload: 'perm', reason: 'renewed' })).toBe(1);
    const s2 = pairSerial(w);
    expect(s2).not.toBe(s1);

    // A node key readable by others is refused at start, with the command that fixes it.
    const nodeKey = join(cfg.stateDir, 'node', 'svid.key');
    chmodSync(nodeKey, 0o644);
    try {
      openAgent(cfg, c);
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_AGENT_STATE_PERMISSIONS')).toBe(true);
      expect((e as Error).message).toMatch(/must be a regular file readable only by the agent \(mode 600\); run 'chmod 600 .*\/state\/\.node\.g\d+-[0-9a-f]{8}\/svid\.key'$/u);
    }
    chmodSync(nodeKey, 0o600);
    expect(openAgent(cfg, c).agent.attested).toBe(true);
  });
});
