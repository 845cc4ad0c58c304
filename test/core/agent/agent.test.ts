import { lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_ROTATION } from '../../../core/agent/rotation.ts';
import { importIssuance } from '../../../core/online/intermediates.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { createTestRoot } from '../online/fixtures.ts';
import { addEntry, clocks, deleteEntry, delivered, HOUR, openAgent, startCa, TD, testConfig, tickUntil, tokenFile, type CaFixture } from './harness.ts';

describe('SVID agent against the real online CA (SoftHSM, mTLS; OpenSSL as oracle)', () => {
  let f: CaFixture;
  const cleanups: Array<() => void> = [];
  beforeAll(async () => {
    f = await startCa();
  });
  afterAll(async () => {
    await f.stop();
  });
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir('neam-agent-');
    cleanups.push(t.cleanup);
    return t.dir;
  };
  const sh = (file: string, text: string): string => {
    writeFileSync(file, text);
    return file;
  };

  it('attests on first start with a join token and the pinned anchor; node key 0600 in a 0700 state directory; the token is not reused', async () => {
    const d = dir();
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'attest-1') });
    const { agent } = openAgent(cfg);
    expect(agent.attested).toBe(false);
    const r = await agent.tick();
    expect(r.errors).toEqual([]);
    expect(agent.attested).toBe(true);
    expect(agent.state.nodeId).toBe(`spiffe://${TD}/neam-ca/node/attest-1`);
    expect(agent.state.trustDomain).toBe(TD);
    expect(statSync(cfg.stateDir).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(cfg.stateDir, 'node')).isSymbolicLink()).toBe(true);
    expect(statSync(join(cfg.stateDir, 'node', 'svid.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(cfg.stateDir, 'state.json')).mode & 0o777).toBe(0o600);
    // The state never holds the token or a key.
    const stateText = readFileSync(join(cfg.stateDir, 'state.json'), 'utf8');
    expect(stateText).not.toContain(readFileSync(cfg.joinTokenFile ?? '', 'utf8').trim());
    expect(stateText).not.toMatch(/PRIVATE KEY/u);
    // The node SVID verifies with OpenSSL against the stored bundle.
    const nodeCert = join(cfg.stateDir, 'node', 'svid.pem');
    const chain = sh(join(d, 'node-chain.pem'), readFileSync(nodeCert, 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/u).slice(1).join(''));
    const v = run('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', join(cfg.stateDir, 'node', 'bundle.pem'), '-untrusted', chain, nodeCert]);
    expect(`${v.stdout}${v.stderr}`).toMatch(/: OK/u);

    // A second agent with the same (spent) token file refuses to reuse it and says what to do.
    const d2 = dir();
    const cfg2 = testConfig(d2, f.srv.server.url, f.anchor, { joinTokenFile: cfg.joinTokenFile });
    const second = openAgent(cfg2).agent;
    const r2 = await second.tick();
    expect(r2.errors.map((e) => e.code)).toEqual(['ERR_AGENT_NOT_ATTESTED']);
    expect(r2.errors[0]?.message).toMatch(/neam-ca token create/u);
  });

  it('refuses first contact when no offered anchor is pinned (ERR_AGENT_TRUST_ANCHOR_MISMATCH) and sends no token', async () => {
    const d = dir();
    const token = tokenFile(f, d, 'wrong-pin');
    const cfg = testConfig(d, f.srv.server.url, 'ab'.repeat(32), { joinTokenFile: token });
    const { agent } = openAgent(cfg);
    const r = await agent.tick();
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_AGENT_TRUST_ANCHOR_MISMATCH']);
    expect(r.errors[0]?.message).toContain(f.anchor);
    expect(agent.attested).toBe(false);
    // The token was never sent: it still works with the right pin.
    const ok = openAgent(testConfig(dir(), f.srv.server.url, f.anchor, { joinTokenFile: token })).agent;
    expect((await ok.tick()).errors).toEqual([]);
    expect(ok.attested).toBe(true);
  });

  it('delivers each entry: leaf then chain, key 0600 matching the certificate, bundle; OpenSSL verifies client and server use; SAN as registered', async () => {
    const d = dir();
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'deliver-1'), workloads: { [`spiffe://${TD}/ns/shop/sa/web`]: { name: 'web' } } });
    const { agent } = openAgent(cfg);
    await agent.tick();
    const node = agent.state.nodeId ?? '';
    await addEntry(f, { spiffeId: `spiffe://${TD}/ns/shop/sa/web`, parentId: node, dnsNames: ['web.shop.svc'] });
    await addEntry(f, { spiffeId: `spiffe://${TD}/ns/shop/sa/db`, parentId: node });
    await tickUntil(agent, () => agent.state.workloads.filter((w) => w.schedule !== undefined).length === 2);
    // Names: configured ('web') and derived from the SPIFFE ID path ('ns-shop-sa-db').
    expect(agent.state.workloads.map((w) => w.name).sort()).toEqual(['ns-shop-sa-db', 'web']);
    for (const name of ['web', 'ns-shop-sa-db']) {
      const w = join(cfg.workloadsDir, name);
      expect(lstatSync(w).isSymbolicLink()).toBe(true);
      expect(statSync(join(w, 'svid.key')).mode & 0o777).toBe(0o600);
      const parts = readFileSync(join(w, 'svid.pem'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/u).filter((p) => p.trim() !== '');
      expect(parts.length).toBe(2);
      const leaf = sh(join(d, `${name}-leaf.pem`), parts[0] ?? '');
      const chain = sh(join(d, `${name}-chain.pem`), parts[1] ?? '');
      for (const purpose of ['sslclient', 'sslserver']) {
        const v = run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', join(w, 'bundle.pem'), '-untrusted', chain, leaf]);
        expect(`${v.stdout}${v.stderr}`, `${name} ${purpose}`).toMatch(/: OK/u);
      }
      // The key is the certificate's key (OpenSSL compares the public keys).
      const fromCert = run('openssl', ['x509', '-in', leaf, '-noout', '-pubkey']).stdout;
      const fromKey = run('openssl', ['pkey', '-in', join(w, 'svid.key'), '-pubout']).stdout;
      expect(fromKey).toBe(fromCert);
      expect(run('openssl', ['pkey', '-in', join(w, 'svid.key'), '-noout', '-text']).stdout).toMatch(/prime256v1|P-256/u);
    }
    const san = run('openssl', ['x509', '-in', join(d, 'web-leaf.pem'), '-noout', '-ext', 'subjectAltName']).stdout;
    expect(san).toMatch(new RegExp(`URI:spiffe://${TD}/ns/shop/sa/web`, 'u'));
    expect(san).toMatch(/DNS:web\.shop\.svc/u);
    // The agent's schedule is the policy's: renewal between 75 % and 80 % of the lifetime.
    for (const w of agent.state.workloads) {
      const s = w.schedule!;
      const frac = (s.due - s.notBefore) / (s.notAfter - s.notBefore);
      expect(frac).toBeGreaterThanOrEqual(DEFAULT_ROTATION.ratio - DEFAULT_ROTATION.jitterFraction - 1e-6);
      expect(frac).toBeLessThanOrEqual(DEFAULT_ROTATION.ratio + 1e-6);
    }
  });

  it('renews at the due time (monotonic clock moved), the hook runs after the swap and sees the new files; the previous generation is kept', async () => {
    const d = dir();
    const hookOut = join(d, 'hook.log');
    const cfg = testConfig(d, f.srv.server.url, f.anchor, {
      joinTokenFile: tokenFile(f, d, 'renew-1'),
      workloads: { api: { hook: { command: ['sh', '-c', `openssl x509 -in "$SVID_CERT" -noout -serial >> ${hookOut}; echo "$NEAM_AGENT_REASON $SVID_SERIAL" >> ${hookOut}`], timeout: '10s' } } },
    });
    const { agent, clocks: c } = openAgent(cfg);
    await agent.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/api`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule !== undefined && agent.state.workloads[0]?.hookPending !== true);
    const first = delivered(cfg, 'api').serial;
    const firstGen = readdirSync(cfg.workloadsDir).filter((e) => e.startsWith('.api.g'));
    // Not due yet: nothing happens.
    await agent.tick();
    expect(delivered(cfg, 'api').serial).toBe(first);
    // 20 h later by the monotonic clock (the 24 h SVID is due at 18–19.2 h).
    c.monoOffset += 20 * HOUR;
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== first && agent.state.workloads[0]?.hookPending !== true);
    const second = delivered(cfg, 'api').serial;
    expect(second).not.toBe(first);
    const log = readFileSync(hookOut, 'utf8');
    expect(log).toContain(`serial=${first.toUpperCase()}`);
    expect(log).toContain(`serial=${second.toUpperCase()}`);
    expect(log).toContain(`issued ${first}`);
    expect(log).toContain(`renewed ${second}`);
    const gens = readdirSync(cfg.workloadsDir).filter((e) => e.startsWith('.api.g'));
    expect(gens).toHaveLength(2);
    expect(gens).toEqual(expect.arrayContaining(firstGen));
    expect(agent.metrics.deliveries.get({ workload: 'api', reason: 'renewed' })).toBe(1);
  });

  it('picks up new entries within the poll interval, removes the files of removed entries, and reissues a changed entry', async () => {
    const d = dir();
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'entries-1') });
    const { agent } = openAgent(cfg);
    await agent.tick();
    const node = agent.state.nodeId ?? '';
    const a = await addEntry(f, { spiffeId: `spiffe://${TD}/a`, parentId: node });
    await addEntry(f, { spiffeId: `spiffe://${TD}/b`, parentId: node });
    await tickUntil(agent, () => agent.state.workloads.filter((w) => w.schedule !== undefined).length === 2);
    await deleteEntry(f, a.id);
    await tickUntil(agent, () => agent.state.workloads.length === 1);
    expect(readdirSync(cfg.workloadsDir).filter((e) => e === 'a' || e.startsWith('.a.'))).toEqual([]);
    expect(delivered(cfg, 'b').cert).toContain('BEGIN CERTIFICATE');
    // A changed entry (new DNS name) is reissued at once.
    const b = agent.state.workloads[0]!;
    const before = b.schedule?.serial;
    const { call } = await import('../online/harness.ts');
    const p = await call(f.srv.server, f.bundle, 'PATCH', `/v1/admin/entries/${b.entryId}`, { client: f.admin, body: { dnsNames: ['b.example.org'] } });
    expect(p.status).toBe(200);
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== before);
    expect(run('openssl', ['x509', '-in', join(cfg.workloadsDir, 'b', 'svid.pem'), '-noout', '-ext', 'subjectAltName']).stdout).toMatch(/DNS:b\.example\.org/u);
  });

  it('re-delivers a changed trust bundle as a new generation with the same key and certificate, and runs the hook', async () => {
    const d = dir();
    const hookOut = join(d, 'hook.log');
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'bundle-1'), workloads: { [`spiffe://${TD}/bundled`]: { hook: ['sh', '-c', `echo "$NEAM_AGENT_REASON" >> ${hookOut}`] } } });
    const { agent } = openAgent(cfg);
    await agent.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/bundled`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule !== undefined && agent.state.workloads[0]?.hookPending !== true);
    const before = delivered(cfg, 'bundled');
    // The CA adds a second root (a root rollover starts): the bundle grows.
    const newRoot = createTestRoot(join(d, 'root2'), { keyAlg: 'ec' });
    importIssuance(f.ca.store, { intermediates: [], roots: [newRoot.der] }, Date.now());
    f.srv.server.tick();
    await tickUntil(agent, () => delivered(cfg, 'bundled').bundle !== before.bundle && agent.state.workloads[0]?.hookPending !== true);
    const after = delivered(cfg, 'bundled');
    expect(after.key).toBe(before.key);
    expect(after.cert).toBe(before.cert);
    expect(after.bundle).toContain(newRoot.pem.trim().split('\n')[1]);
    expect(readFileSync(hookOut, 'utf8').trim().split('\n')).toEqual(['issued', 'bundle']);
    expect(agent.state.bundle?.sequence).toBeGreaterThan(1);
  });

  it('a restart resumes from the persisted schedule (no reissue) and adopts files delivered after the last save', async () => {
    const d = dir();
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'restart-1') });
    const first = openAgent(cfg).agent;
    await first.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/restart`, parentId: first.state.nodeId ?? '' });
    await tickUntil(first, () => first.state.workloads[0]?.schedule !== undefined);
    const saved = first.state.workloads[0]!.schedule!;
    const c = clocks();
    const second = openAgent(cfg, c).agent;
    expect(second.attested).toBe(true);
    expect(second.state.workloads[0]?.schedule).toEqual(saved);
    await second.tick();
    await second.tick();
    expect(second.state.workloads[0]?.schedule?.serial).toBe(saved.serial);
    expect(delivered(cfg, 'restart').serial).toBe(saved.serial);
    // Past the persisted due time (wall clock at restart) it renews at once.
    c.wallOffset = saved.due - Date.now() + 1000;
    const stateBefore = readFileSync(join(cfg.stateDir, 'state.json'));
    const third = openAgent(cfg, c).agent;
    await tickUntil(third, () => third.state.workloads[0]?.schedule?.serial !== saved.serial);
    const renewed = delivered(cfg, 'restart').serial;
    expect(renewed).not.toBe(saved.serial);
    // A crash between the swap and the state save: the state file still names the old serial.
    writeFileSync(join(cfg.stateDir, 'state.json'), stateBefore, { mode: 0o600 });
    c.wallOffset = 0;
    const fourth = openAgent(cfg, c).agent;
    expect(fourth.state.workloads[0]?.schedule?.serial).toBe(renewed);
    expect(fourth.state.workloads[0]?.schedule?.serial).not.toBe(saved.serial);
    await fourth.tick();
    expect(delivered(cfg, 'restart').serial).toBe(renewed);
  });

  it('clock jumps: backwards does not delay renewal past the monotonic due time; forwards renews once, then follows the monotonic clock (no renewal loop)', async () => {
    const d = dir();
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'clock-1') });
    const { agent, clocks: c } = openAgent(cfg);
    await agent.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/clock`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule !== undefined);
    const s1 = agent.state.workloads[0]!.schedule!.serial;
    // The wall clock jumps 10 h back; 20 h pass (monotonic): renewal happens anyway.
    c.wallOffset -= 10 * HOUR;
    await agent.tick();
    expect(agent.metrics.clockJumps.get()).toBe(1);
    c.wallOffset += 20 * HOUR;
    c.monoOffset += 20 * HOUR;
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s1);
    const s2 = agent.state.workloads[0]!.schedule!.serial;
    // Now the wall clock jumps 30 h forward (past notAfter by the wall clock): one renewal, then the
    // new certificate disagrees with the wall clock and is scheduled by the monotonic clock.
    c.wallOffset += 30 * HOUR;
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule?.serial !== s2);
    const s3 = agent.state.workloads[0]!.schedule!.serial;
    for (let i = 0; i < 5; i++) await agent.tick();
    expect(agent.state.workloads[0]?.schedule?.serial).toBe(s3);
    expect(agent.metrics.deliveries.get({ workload: 'clock', reason: 'renewed' })).toBe(2);
  });

  it('sync (run --once) returns when every workload is delivered and its hook ran; an entry that cannot be delivered ends it with ERR_AGENT_CONFIG_INVALID naming the entry', async () => {
    const d = dir();
    const hookOut = join(d, 'hook.log');
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: tokenFile(f, d, 'sync-1'), workloads: { [`spiffe://${TD}/sync/a`]: { hook: ['sh', '-c', `echo "$WORKLOAD_NAME" >> ${hookOut}`] } } });
    // The entries exist before the agent attests: the first sync must find and deliver them.
    const node = `spiffe://${TD}/neam-ca/node/sync-1`;
    await addEntry(f, { spiffeId: `spiffe://${TD}/sync/a`, parentId: node });
    await addEntry(f, { spiffeId: `spiffe://${TD}/sync/b`, parentId: node });
    const { agent } = openAgent(cfg);
    const r = await agent.sync(new AbortController().signal, 30_000);
    expect(r.nodeId).toBe(node);
    expect(r.workloads.map((w) => w.name).sort()).toEqual(['sync-a', 'sync-b']);
    for (const w of r.workloads) expect(delivered(cfg, w.name).serial).toBe(w.serial);
    expect(readFileSync(hookOut, 'utf8')).toBe('sync-a\n');
    // 'sync/a-x' and 'sync-a/x' would share the folder 'sync-a-x': the second cannot be delivered.
    const other = await addEntry(f, { spiffeId: `spiffe://${TD}/sync/a-x`, parentId: node });
    const clash = await addEntry(f, { spiffeId: `spiffe://${TD}/sync-a/x`, parentId: node });
    try {
      await agent.sync(new AbortController().signal, 30_000);
      expect.unreachable();
    } catch (e) {
      expect((e as { code?: string }).code).toBe('ERR_AGENT_CONFIG_INVALID');
      // Which of the two keeps the folder follows the entry ids (new entries are placed in id order).
      const [kept, refused] = clash.id < other.id ? [`spiffe://${TD}/sync-a/x`, { id: other.id, spiffeId: `spiffe://${TD}/sync/a-x` }] : [`spiffe://${TD}/sync/a-x`, { id: clash.id, spiffeId: `spiffe://${TD}/sync-a/x` }];
      expect((e as Error).message).toContain(`${refused.spiffeId} (entry ${refused.id}): the folder name 'sync-a-x' is already used by ${kept}; set workloads."${refused.spiffeId}".name in the configuration`);
    }
  });

  it('delivers to the configured owner; a changed owner in the configuration re-delivers the same pair (reason owner) after a restart', async () => {
    const d = dir();
    const token = tokenFile(f, d, 'owner-1');
    const cfg = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: token, workloads: { [`spiffe://${TD}/owned`]: { owner: '4321:4322' } } });
    const { agent } = openAgent(cfg);
    await agent.tick();
    await addEntry(f, { spiffeId: `spiffe://${TD}/owned`, parentId: agent.state.nodeId ?? '' });
    await tickUntil(agent, () => agent.state.workloads[0]?.schedule !== undefined);
    expect(statSync(join(cfg.workloadsDir, 'owned', 'svid.key'))).toMatchObject({ uid: 4321, gid: 4322 });
    const before = delivered(cfg, 'owned');
    const cfg2 = testConfig(d, f.srv.server.url, f.anchor, { joinTokenFile: token, workloads: { [`spiffe://${TD}/owned`]: { owner: '4400:4401' } } });
    const second = openAgent(cfg2).agent;
    await tickUntil(second, () => statSync(join(cfg.workloadsDir, 'owned', 'svid.key')).uid === 4400);
    expect(statSync(join(cfg.workloadsDir, 'owned'))).toMatchObject({ uid: 4400, gid: 4401 });
    const after = delivered(cfg, 'owned');
    expect([after.cert, after.key]).toEqual([before.cert, before.key]);
    expect(second.metrics.deliveries.get({ workload: 'owned', reason: 'owner' })).toBe(1);
  });
});
