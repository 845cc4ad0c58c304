/**
 * The agent's files in real TLS peers: nginx serves with an agent-written SVID and checks clients
 * against the agent-written bundle and CRLs; curl and `openssl s_client` are the clients;
 * `openssl s_server -Verify` is the second server; `openssl verify -x509_strict` checks every
 * agent-written certificate. The refusals are real handshakes and name their reason (foreign CA,
 * expiry, revocation after the CRL refresh the agent delivered and nginx reloaded by its hook).
 */
import { copyFileSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Agent } from '../../../core/agent/agent.ts';
import type { AgentConfig } from '../../../core/agent/config.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { freePort, localCert } from '../online/harness.ts';
import { addEntry, delivered, openAgent, revokeSerial, startCa, startForeignCa, TD, testConfig, tickUntil, tokenFile, type CaFixture } from './harness.ts';
import { curl, hashedDir, nginxConfig, opensslVerify, sClient, servedSerial, splitSvid, startNginx, startSServer, waitFor, type Nginx, type SServer } from './peers.ts';

const FOREIGN_TD = 'other.org';

describe('agent-written SVIDs in real TLS peers (nginx, curl, openssl s_server/s_client)', () => {
  const tmp = tempDir('neam-agent-peers-');
  const d = tmp.dir;
  let f: CaFixture;
  let foreign: CaFixture;
  let cfg: AgentConfig;
  let fcfg: AgentConfig;
  let agent: Agent;
  let foreignAgent: Agent;
  let nginxPort: number;
  let nginx: Nginx | undefined;
  let nginxSite: ReturnType<typeof nginxConfig>;
  /** A client identity (files). */
  interface Id {
    cert: string;
    key: string;
    serial: string;
  }
  let expired: Id;
  const settled = (a: Agent, n: number): boolean => a.state.workloads.filter((w) => w.schedule !== undefined && w.hookPending !== true).length === n;
  const wl = (c: AgentConfig, name: string, file: string): string => join(c.workloadsDir, name, file);

  beforeAll(async () => {
    f = await startCa();
    foreign = await startForeignCa(f, FOREIGN_TD);
    nginxPort = await freePort();
    const work = join(d, 'agent', 'workloads');
    nginxSite = nginxConfig(d, { port: nginxPort, cert: join(work, 'nginx', 'svid.pem'), key: join(work, 'nginx', 'svid.key'), clientCa: join(work, 'nginx', 'bundle.pem'), crl: join(work, 'nginx', 'crls.pem') });
    cfg = testConfig(join(d, 'agent'), f.srv.server.url, f.anchor, {
      joinTokenFile: tokenFile(f, d, 'peers-1'),
      workloads: {
        [`spiffe://${TD}/ns/web/sa/nginx`]: { name: 'nginx', crls: true, hook: { command: nginxSite.hookArgv, timeout: '10s' } },
        [`spiffe://${TD}/ns/web/sa/client`]: { name: 'client' },
      },
    });
    agent = openAgent(cfg).agent;
    await agent.tick();
    expect(agent.attested).toBe(true);
    const node = agent.state.nodeId ?? '';
    await addEntry(f, { spiffeId: `spiffe://${TD}/ns/web/sa/nginx`, parentId: node, dnsNames: ['localhost'] });
    await addEntry(f, { spiffeId: `spiffe://${TD}/ns/web/sa/client`, parentId: node });
    await tickUntil(agent, () => settled(agent, 2));

    // An agent of another trust domain's CA (unknown to our bundle).
    fcfg = testConfig(join(d, 'foreign'), foreign.srv.server.url, foreign.anchor, { joinTokenFile: tokenFile(foreign, d, 'foreign-1') });
    foreignAgent = openAgent(fcfg).agent;
    await foreignAgent.tick();
    expect(foreignAgent.attested).toBe(true);
    await addEntry(foreign, { spiffeId: `spiffe://${FOREIGN_TD}/ns/web/sa/client`, parentId: foreignAgent.state.nodeId ?? '' });
    await tickUntil(foreignAgent, () => settled(foreignAgent, 1));

    // An SVID of our own CA whose validity ended 10 minutes ago (issued with the CA's clock 70 min back).
    const e = await localCert(f.ca, 'node', `spiffe://${TD}/neam-ca/node/expired`, { ttlSeconds: 3600, nowMs: Date.now() - 70 * 60_000 });
    writeFileSync(join(d, 'expired.pem'), e.cert + e.chain);
    writeFileSync(join(d, 'expired.key'), e.key, { mode: 0o600 });
    expired = { cert: join(d, 'expired.pem'), key: join(d, 'expired.key'), serial: e.serial.toLowerCase() };
  });

  afterAll(async () => {
    try {
      await nginx?.stop();
    } finally {
      await foreign?.stop();
      await f?.stop();
      tmp.cleanup();
    }
  });

  it('every agent-written certificate verifies with openssl verify -x509_strict against the agent-written bundle (and CRLs), for its purposes', async () => {
    const cases: Array<[AgentConfig, string, 'sslclient' | 'sslserver']> = [
      [cfg, 'nginx', 'sslserver'],
      [cfg, 'nginx', 'sslclient'],
      [cfg, 'client', 'sslclient'],
      [cfg, 'client', 'sslserver'],
      [fcfg, 'ns-web-sa-client', 'sslclient'],
    ];
    for (const [c, name, purpose] of cases) {
      const out = await opensslVerify(wl(c, name, 'svid.pem'), { bundle: wl(c, name, 'bundle.pem'), purpose, scratch: join(d, `v-${name}-${purpose}`) });
      expect(out, `${name} ${purpose}`).toMatch(/\.leaf\.pem: OK/u);
    }
    // With the CRLs the agent delivered for nginx (every CA of the chain has one).
    const withCrl = await opensslVerify(wl(cfg, 'client', 'svid.pem'), { bundle: wl(cfg, 'nginx', 'bundle.pem'), purpose: 'sslclient', crls: wl(cfg, 'nginx', 'crls.pem'), scratch: join(d, 'v-crl') });
    expect(withCrl).toMatch(/: OK/u);
    // The node SVIDs too.
    for (const c of [cfg, fcfg]) {
      const out = await opensslVerify(join(c.stateDir, 'node', 'svid.pem'), { bundle: join(c.stateDir, 'node', 'bundle.pem'), purpose: 'sslclient', scratch: join(d, `v-node-${c === cfg ? 'a' : 'b'}`) });
      expect(out).toMatch(/: OK/u);
    }
    // The oracle refuses what it must: the foreign SVID against our bundle, the expired SVID.
    const cross = await opensslVerify(wl(fcfg, 'ns-web-sa-client', 'svid.pem'), { bundle: wl(cfg, 'client', 'bundle.pem'), purpose: 'sslclient', scratch: join(d, 'v-cross') });
    expect(cross).toMatch(/unable to get (local )?issuer certificate/u);
    const exp = await opensslVerify(expired.cert, { bundle: wl(cfg, 'client', 'bundle.pem'), purpose: 'sslclient', scratch: join(d, 'v-expired') });
    expect(exp).toMatch(/certificate has expired/u);
  });

  it('nginx (ssl_verify_client on, agent bundle and CRLs) serves with the agent-written identity; curl with another agent SVID gets 200; foreign, expired, absent and revoked client SVIDs are refused', async () => {
    nginx = await startNginx(nginxSite);
    const bundle = wl(cfg, 'client', 'bundle.pem');
    const client = delivered(cfg, 'client');
    // nginx presents the nginx workload's SVID (curl also checks it: bundle, host name localhost).
    expect(await servedSerial(nginxPort, bundle)).toBe(delivered(cfg, 'nginx').serial);

    const ok = await curl(nginxPort, { cacert: bundle, cert: wl(cfg, 'client', 'svid.pem'), key: wl(cfg, 'client', 'svid.key') });
    expect(ok.status, ok.stderr).toBe(200);
    expect(ok.body.toLowerCase()).toContain(`client=${client.serial} verify=success`);

    const none = await curl(nginxPort, { cacert: bundle });
    expect(none.status).toBe(400);
    expect(none.body).toMatch(/No required SSL certificate was sent/u);

    const errorsBefore = nginx.errors().length;
    const alien = await curl(nginxPort, { cacert: bundle, cert: wl(fcfg, 'ns-web-sa-client', 'svid.pem'), key: wl(fcfg, 'ns-web-sa-client', 'svid.key') });
    expect(alien.status).toBe(400);
    expect(alien.body).toMatch(/The SSL certificate error/u);
    // nginx lets OpenSSL finish the chain and logs its last error: the chain cannot reach our
    // anchors (20), or (with ssl_crl) the foreign intermediate has no CRL here (3).
    await waitFor('nginx to log the foreign client', () => /client SSL certificate verify error: \((20:unable to get local issuer certificate|3:unable to get certificate CRL)\)/u.test(nginx?.errors().slice(errorsBefore) ?? ''), { detail: () => nginx?.errors() ?? '' });

    const old = await curl(nginxPort, { cacert: bundle, cert: expired.cert, key: expired.key });
    expect(old.status).toBe(400);
    expect(old.body).toMatch(/The SSL certificate error/u);
    await waitFor('nginx to log the expired client', () => /client SSL certificate verify error: \(10:certificate has expired\)/u.test(nginx?.errors().slice(errorsBefore) ?? ''), { detail: () => nginx?.errors() ?? '' });

    // Revocation: keep a copy of the client's current files, revoke that serial at the CA. The
    // agent's next poll fetches the new CRLs, re-delivers nginx's crls.pem, runs the hook (nginx
    // -s reload), and replaces the revoked client SVID with a new one.
    copyFileSync(wl(cfg, 'client', 'svid.pem'), join(d, 'revoked.pem'));
    copyFileSync(wl(cfg, 'client', 'svid.key'), join(d, 'revoked.key'));
    const revoked = { cert: join(d, 'revoked.pem'), key: join(d, 'revoked.key') };
    expect((await curl(nginxPort, { cacert: bundle, ...revoked })).status).toBe(200);
    const crlsBefore = readFileSync(wl(cfg, 'nginx', 'crls.pem'), 'utf8');
    await revokeSerial(f, client.serial);
    await tickUntil(agent, () => readFileSync(wl(cfg, 'nginx', 'crls.pem'), 'utf8') !== crlsBefore && delivered(cfg, 'client').serial !== client.serial && settled(agent, 2), 100);
    expect(agent.metrics.deliveries.get({ workload: 'nginx', reason: 'crls' })).toBeGreaterThanOrEqual(1);
    expect(agent.metrics.deliveries.get({ workload: 'client', reason: 'revoked' })).toBe(1);
    // The hook's reload is asynchronous in nginx: wait until the new CRLs are in force.
    await waitFor('nginx to refuse the revoked SVID', async () => (await curl(nginxPort, { cacert: bundle, ...revoked })).status === 400, { detail: () => nginx?.errors() ?? '' });
    expect(nginx.errors()).toMatch(/signal 1 \(SIGHUP\) received/u);
    await waitFor('nginx to log the revoked client', () => /client SSL certificate verify error: \(23:certificate revoked\)/u.test(nginx?.errors().slice(errorsBefore) ?? ''), { detail: () => nginx?.errors() ?? '' });
    // The replacement the agent delivered is accepted.
    const renewed = await curl(nginxPort, { cacert: bundle, cert: wl(cfg, 'client', 'svid.pem'), key: wl(cfg, 'client', 'svid.key') });
    expect(renewed.status, renewed.stderr).toBe(200);
    expect(renewed.body.toLowerCase()).toContain(`client=${delivered(cfg, 'client').serial} verify=success`);
    await nginx.stop();
    nginx = undefined;
  });

  // Runs after the nginx test: it uses the SVID that test revoked (and the CRLs that name it).
  it('openssl s_server -Verify with the agent-written identity, anchors and CRLs: s_client with an agent SVID is served; foreign, expired, absent and revoked client SVIDs fail the handshake with the reason', async () => {
    const server = splitSvid(readFileSync(wl(cfg, 'nginx', 'svid.pem'), 'utf8'), join(d, 's-server'));
    const caPath = await hashedDir(join(d, 'capath'), readFileSync(wl(cfg, 'nginx', 'bundle.pem'), 'utf8'), readFileSync(wl(cfg, 'nginx', 'crls.pem'), 'utf8'));
    const port = await freePort();
    let s: SServer | undefined;
    try {
      s = await startSServer({ port, leaf: server.leaf, chain: server.chain, key: realpathSync(wl(cfg, 'nginx', 'svid.key')), caPath });
      const bundle = wl(cfg, 'client', 'bundle.pem');
      const id = (svid: string, key: string, name: string): { cafile: string; leaf: string; chain: string; key: string } => ({ cafile: bundle, ...splitSvid(readFileSync(svid, 'utf8'), join(d, `c-${name}`)), key });

      const good = await sClient(port, id(wl(cfg, 'client', 'svid.pem'), wl(cfg, 'client', 'svid.key'), 'good'));
      expect(good.output).toMatch(/HTTP\/1\.0 200 ok/u);
      expect(good.output).toMatch(/Verify return code: 0 \(ok\)/u);

      const cases: Array<[string, { cafile: string; leaf?: string; chain?: string; key?: string }, RegExp, RegExp]> = [
        ['foreign', id(wl(fcfg, 'ns-web-sa-client', 'svid.pem'), wl(fcfg, 'ns-web-sa-client', 'svid.key'), 'foreign'), /alert unknown ca:.*SSL alert number 48/u, /verify error:num=20:unable to get local issuer certificate/u],
        ['expired', id(expired.cert, expired.key, 'expired'), /alert certificate expired:.*SSL alert number 45/u, /verify error:num=10:certificate has expired/u],
        ['revoked', id(join(d, 'revoked.pem'), join(d, 'revoked.key'), 'revoked'), /alert certificate revoked:.*SSL alert number 44/u, /verify error:num=23:certificate revoked/u],
        ['absent', { cafile: bundle }, /alert certificate required:.*SSL alert number 116/u, /peer did not return a certificate/u],
      ];
      for (const [name, client, clientSees, serverSays] of cases) {
        const before = s.output().length;
        const r = await sClient(port, client);
        expect(r.output, name).not.toMatch(/HTTP\/1\.0 200 ok/u);
        expect(r.output, name).toMatch(clientSees);
        await waitFor(`s_server to report the ${name} client`, () => serverSays.test(s?.output().slice(before) ?? ''), { detail: () => `${r.output}\n---- s_server:\n${s?.output() ?? ''}` });
      }
    } finally {
      await s?.stop();
    }
  });
});
