/**
 * Rotation under load, in real time: nginx serves with a 60-second SVID the agent renews at 80 % of
 * its lifetime and reloads nginx through its hook, while clients open a new mTLS connection for
 * every request (no keep-alive). Not one request may fail, and afterwards nginx presents the new
 * certificate (serial read with openssl s_client, an independent client).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Agent } from '../../../core/agent/agent.ts';
import type { AgentConfig } from '../../../core/agent/config.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { freePort } from '../online/harness.ts';
import { addEntry, delivered, openAgent, startCa, TD, testConfig, tickUntil, tokenFile, type CaFixture } from './harness.ts';
import { nginxConfig, servedSerial, startNginx, waitFor, type Nginx } from './peers.ts';

/** One request's outcome. */
interface Outcome {
  at: number;
  ok: boolean;
  serverSerial?: string;
  error?: string;
}

function get(port: number, tls: { ca: string; cert: string; key: string }): Promise<Outcome> {
  const at = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path: '/', method: 'GET', agent: false, timeout: 10_000, ...tls }, (res) => {
      const serverSerial = (res.socket as TLSSocket).getPeerCertificate().serialNumber.toLowerCase();
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && /verify=SUCCESS/u.test(body) ? { at, ok: true, serverSerial } : { at, ok: false, serverSerial, error: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` }));
      res.on('error', (e) => resolve({ at, ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ at, ok: false, error: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}` }));
    req.end();
  });
}

describe('rotation under load (real time, 60 s SVID renewed at 80 %, nginx reloaded by the hook)', () => {
  const tmp = tempDir('neam-agent-load-');
  let f: CaFixture;
  let nginx: Nginx | undefined;
  let agent: Agent;
  let cfg: AgentConfig;
  const stop = new AbortController();
  let running: Promise<void> | undefined;

  beforeAll(async () => {
    f = await startCa();
  });
  afterAll(async () => {
    stop.abort();
    try {
      await running;
      await nginx?.stop();
    } finally {
      await f?.stop();
      tmp.cleanup();
    }
  });

  it('zero failed requests across the renewal and the reload; nginx serves the new certificate afterwards', async () => {
    const d = tmp.dir;
    const port = await freePort();
    const work = join(d, 'agent', 'workloads');
    const site = nginxConfig(d, { port, cert: join(work, 'nginx', 'svid.pem'), key: join(work, 'nginx', 'svid.key'), clientCa: join(work, 'nginx', 'bundle.pem'), crl: join(work, 'nginx', 'crls.pem') });
    cfg = testConfig(join(d, 'agent'), f.srv.server.url, f.anchor, {
      joinTokenFile: tokenFile(f, d, 'load-1'),
      pollInterval: '1s',
      // The defaults, stated: renew at 80 % of the lifetime, up to 5 % earlier by jitter.
      rotation: { ratio: 0.8, jitter: 0.05, backoffBase: '100ms', backoffCap: '2s' },
      workloads: {
        [`spiffe://${TD}/load/nginx`]: { name: 'nginx', crls: true, hook: { command: site.hookArgv, timeout: '10s' } },
        [`spiffe://${TD}/load/client`]: { name: 'client' },
      },
    });
    agent = openAgent(cfg).agent;
    await agent.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/load/nginx`, parentId: agent.state.nodeId ?? '', ttlSeconds: 60, dnsNames: ['localhost'] });
    await addEntry(f, { spiffeId: `spiffe://${TD}/load/client`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads.filter((w) => w.schedule !== undefined && w.hookPending !== true).length === 2);
    const first = agent.state.workloads.find((w) => w.name === 'nginx')?.schedule;
    expect(first).toBeDefined();
    const firstSerial = first?.serial ?? '';
    // 60 s from issuance (plus the CA's notBefore cushion for clock skew).
    expect(first!.notAfter - Date.now()).toBeLessThanOrEqual(60_000);
    nginx = await startNginx(site);
    expect(await servedSerial(port, join(work, 'client', 'bundle.pem'))).toBe(firstSerial);

    // The agent runs its real loop from here on.
    running = agent.run(stop.signal);
    const tls = { ca: readFileSync(join(work, 'client', 'bundle.pem'), 'utf8'), cert: readFileSync(join(work, 'client', 'svid.pem'), 'utf8'), key: readFileSync(join(work, 'client', 'svid.key'), 'utf8') };
    const outcomes: Outcome[] = [];
    let loading = true;
    const loop = async (): Promise<void> => {
      while (loading) {
        outcomes.push(await get(port, tls));
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const loops = [loop(), loop()];
    let renewedAt = 0;
    try {
      // Renewal is due at 80 % (minus jitter) of notBefore..notAfter, about 40 s after issuance; wait for it, then keep loading for 3 s more.
      await waitFor(
        'the renewed certificate to be served',
        () => {
          const last = outcomes.at(-1);
          if (renewedAt === 0 && last?.serverSerial !== undefined && last.serverSerial !== firstSerial) renewedAt = Date.now();
          return renewedAt !== 0 && Date.now() - renewedAt > 3000;
        },
        { timeoutMs: 75_000, everyMs: 200, detail: () => `${nginx?.errors() ?? ''}\n${JSON.stringify(outcomes.filter((o) => !o.ok).slice(0, 5))}` },
      );
    } finally {
      loading = false;
      await Promise.all(loops);
    }
    const failed = outcomes.filter((o) => !o.ok);
    const renewed = delivered(cfg, 'nginx').serial;
    const seen = [...new Set(outcomes.map((o) => o.serverSerial))];
    console.log(`rotation under load: ${outcomes.length} requests, ${failed.length} failed, server serials in order ${seen.join(' -> ')}, renewal ${((agent.state.workloads.find((w) => w.name === 'nginx')?.lastRotationAt ?? 0) - first!.notBefore) / 1000} s after notBefore`);
    expect(failed).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(100);
    expect(renewed).not.toBe(firstSerial);
    expect(seen).toEqual([firstSerial, renewed]);
    // Renewed before the first certificate expired, and only once.
    expect(agent.state.workloads.find((w) => w.name === 'nginx')?.lastRotationAt).toBeLessThan(first!.notAfter);
    expect(agent.metrics.deliveries.get({ workload: 'nginx', reason: 'renewed' })).toBe(1);
    // After the run the last requests all saw the new certificate, and so does openssl s_client.
    expect(outcomes.slice(-20).every((o) => o.serverSerial === renewed)).toBe(true);
    expect(await servedSerial(port, join(work, 'client', 'bundle.pem'))).toBe(renewed);
    expect(nginx.errors()).toMatch(/signal 1 \(SIGHUP\) received[\s\S]*reconfiguring/u);
    expect(nginx.errors()).not.toMatch(/\[(emerg|alert|crit)\]/u);
  });
});
