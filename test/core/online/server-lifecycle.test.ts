import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEntry } from '../../../core/online/entries.ts';
import { createJoinToken } from '../../../core/online/join-tokens.ts';
import { revoke } from '../../../core/online/cert-store.ts';
import { openOnlineStore } from '../../../core/online/settings.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { makeCsr } from './fixtures.ts';
import { call, callHttp, DAY, HOUR, localCert, prepareOnlineCa, startServer, TD, type ClientCert, type OnlineCa, type Running } from './harness.ts';

const files = tempDir('neam-lifecycle-');
afterAll(() => files.cleanup());
function write(name: string, text: string | Buffer): string {
  const p = join(files.dir, name);
  writeFileSync(p, text);
  return p;
}

async function attest(srv: Running, ca: OnlineCa, name: string): Promise<ClientCert & { id: string }> {
  const id = `spiffe://${TD}/neam-ca/node/${name}`;
  const t = createJoinToken(ca.store, id, 600, Date.now());
  const csr = makeCsr();
  const r = await call(srv.server, ca.root.pem, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: csr.pem } });
  expect(r.status, r.body.toString()).toBe(200);
  return { id, cert: `${r.json['svid'] as string}${r.json['chain'] as string}`, key: csr.key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

describe('token mode: RSA-2048 intermediate keys inside SoftHSM', () => {
  let ca: OnlineCa;
  let srv: Running;
  beforeAll(async () => {
    ca = prepareOnlineCa({ keyStore: 'token', algorithm: 'rsa-2048', windows: 1 });
    srv = await startServer(ca, { workers: 2 });
  });
  afterAll(async () => {
    await srv.stop();
    ca.close();
  });

  it('issues SVIDs signed in the token that OpenSSL accepts, and counts the signatures', async () => {
    const node = await attest(srv, ca, 'tm');
    // Like the CLI: another connection writes the entry; the server notices within a tick.
    const other = openOnlineStore(ca.store.path);
    const e = createEntry(other, { spiffeId: `spiffe://${TD}/tm/w`, parentId: node.id }, { trustDomain: TD, defaultTtlSeconds: 86_400, maxTtlSeconds: 86_400 }, Date.now());
    other.close();
    srv.server.tick();
    const before = ca.hsm.hsm.stats.signatures;
    const s = await call(srv.server, ca.root.pem, 'POST', '/v1/svids', { client: node, body: { entryId: e.id, csr: makeCsr().pem } });
    expect(s.status, s.body.toString()).toBe(200);
    expect(ca.hsm.hsm.stats.signatures).toBe(before + 1);
    const v = run('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', write('tm-root.pem', ca.root.pem), '-untrusted', write('tm-chain.pem', s.json['chain'] as string), write('tm-leaf.pem', s.json['svid'] as string)]);
    expect(`${v.stdout}${v.stderr}`).toMatch(/tm-leaf\.pem: OK/u);
    expect(run('openssl', ['x509', '-in', join(files.dir, 'tm-leaf.pem'), '-noout', '-text']).stdout).toMatch(/Signature Algorithm: sha256WithRSAEncryption/u);
    // A refused request makes no signature.
    const bad = await call(srv.server, ca.root.pem, 'POST', '/v1/svids', { client: node, body: { entryId: e.id, csr: makeCsr({ badSignature: true }).pem } });
    expect(bad.status).toBe(400);
    expect(ca.hsm.hsm.stats.signatures).toBe(before + 1);
  });
});

describe('server lifecycle (sealed P-256 keys)', () => {
  let ca: OnlineCa;
  let srv: Running;
  let admin: ClientCert;
  beforeAll(async () => {
    // Two windows: the first started 6 h ago, the second starts in 83 days.
    ca = prepareOnlineCa({ windows: 2 });
    srv = await startServer(ca, { workers: 1, recordDurability: 'batched' });
    const a = await localCert(ca, 'admin', `spiffe://${TD}/neam-ca/admin/ops`);
    admin = { cert: a.cert + a.chain, key: a.key };
  });
  afterAll(async () => {
    await srv.stop();
    ca.close();
  });

  it('serves a batch of SVID requests with per-item results', async () => {
    const node = await attest(srv, ca, 'batcher');
    const ids: string[] = [];
    for (const n of ['a', 'b']) {
      const e = await call(srv.server, ca.root.pem, 'POST', '/v1/admin/entries', { client: admin, body: { spiffeId: `spiffe://${TD}/batch/${n}`, parentId: node.id, ttlSeconds: 3600 } });
      ids.push(e.json['id'] as string);
    }
    const r = await call(srv.server, ca.root.pem, 'POST', '/v1/svids/batch', { client: node, body: { requests: [{ entryId: ids[0], csr: makeCsr().pem }, { entryId: ids[1], csr: makeCsr({ badSignature: true }).pem }, { entryId: ids[1], csr: makeCsr().pem }] } });
    expect(r.status).toBe(200);
    const results = r.json['results'] as Array<{ ok: boolean; spiffeId?: string; notBefore?: string; notAfter?: string; error?: { code: string } }>;
    expect(results.map((x) => x.ok)).toEqual([true, false, true]);
    expect(results[1]?.error?.code).toBe('ERR_PKI_CSR_SIGNATURE_INVALID');
    expect(results[2]?.spiffeId).toBe(`spiffe://${TD}/batch/b`);
    expect(Date.parse(results[0]?.notAfter ?? '') - Date.parse(results[0]?.notBefore ?? '')).toBe(3600_000 + 30_000);
  });

  it('renews a node SVID with the current one, and an evicted node is refused', async () => {
    const node = await attest(srv, ca, 'renewer');
    const csr = makeCsr();
    const r = await call(srv.server, ca.root.pem, 'POST', '/v1/node/renew', { client: node, body: { csr: csr.pem } });
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.json['spiffeId']).toBe(node.id);
    const renewed = { cert: `${r.json['svid'] as string}${r.json['chain'] as string}`, key: csr.key.export({ type: 'pkcs8', format: 'pem' }) as string };
    expect((await call(srv.server, ca.root.pem, 'GET', '/v1/entries', { client: renewed })).status).toBe(200);
    const ev = await call(srv.server, ca.root.pem, 'POST', `/v1/admin/nodes/${encodeURIComponent(node.id)}/evict`, { client: admin });
    expect(ev.status, ev.body.toString()).toBe(200);
    expect((ev.json['revokedSerials'] as string[]).length).toBe(2);
    const refused = await call(srv.server, ca.root.pem, 'GET', '/v1/entries', { client: renewed });
    expect(refused.status).toBe(401);
    // Renewal with the revoked SVID is refused too; a new join token re-admits the node.
    expect((await call(srv.server, ca.root.pem, 'POST', '/v1/node/renew', { client: renewed, body: { csr: makeCsr().pem } })).status).toBe(401);
    const again = await attest(srv, ca, 'renewer');
    expect((await call(srv.server, ca.root.pem, 'GET', '/v1/entries', { client: again })).status).toBe(200);
  });

  it('picks up changes another process makes to the database (CLI) within a tick', async () => {
    const node = await attest(srv, ca, 'watcher');
    const other = openOnlineStore(ca.store.path);
    try {
      createEntry(other, { spiffeId: `spiffe://${TD}/cli/made`, parentId: node.id }, { trustDomain: TD, defaultTtlSeconds: 86_400, maxTtlSeconds: 86_400 }, Date.now());
      srv.server.tick();
      const list = await call(srv.server, ca.root.pem, 'GET', '/v1/entries', { client: node });
      expect((list.json['entries'] as Array<{ spiffeId: string }>).map((e) => e.spiffeId)).toEqual([`spiffe://${TD}/cli/made`]);
      // A revocation made elsewhere republishes the CRL and refuses the node at once.
      const serial = (ca.store.db.prepare("SELECT serial FROM online_certs WHERE spiffe_id = ? AND kind = 'node'").get(node.id) as { serial: string }).serial;
      const crlBefore = srv.server.runtime.crl(srv.server.runtime.active?.id ?? '')?.number ?? 0;
      revoke(other, { serial }, 'keyCompromise', Date.now());
      srv.server.tick();
      expect(srv.server.runtime.crl(srv.server.runtime.active?.id ?? '')?.number).toBeGreaterThan(crlBefore);
      expect((await call(srv.server, ca.root.pem, 'GET', '/v1/entries', { client: node })).status).toBe(401);
    } finally {
      other.close();
    }
  });

  it('reports metrics and status', async () => {
    srv.server.tick();
    const m = await call(srv.server, ca.root.pem, 'GET', '/metrics');
    const text = m.body.toString();
    expect(text).toMatch(/neam_ca_svid_issued_total\{kind="workload"\} \d+/u);
    expect(text).toMatch(/neam_ca_svid_issuance_duration_seconds_count \d+/u);
    expect(text).toMatch(/neam_ca_svid_issuance_failures_total\{reason="ERR_PKI_CSR_SIGNATURE_INVALID"\} 1/u);
    expect(text).toMatch(/neam_ca_certificates_expiring\{within="24h"\} \d+/u);
    expect(text).toMatch(/neam_ca_coverage_days_left 1\d\d\.\d+/u);
    expect(text).toMatch(/neam_ca_coverage_warning 0/u);
    expect(text).toMatch(/neam_ca_crl_published_total\{intermediate="[0-9a-f]{16}"\} \d+/u);
    const st = await call(srv.server, ca.root.pem, 'GET', '/v1/admin/status', { client: admin });
    expect(st.status).toBe(200);
    expect(st.json).toMatchObject({ trustDomain: TD, active: { mode: 'full' }, coverage: { warning: null } });
    expect((st.json['intermediates'] as unknown[]).length).toBe(2);
    expect(st.json['server']).toMatchObject({ workers: 1 });
  });

  it('activates the next intermediate when its window opens and re-issues its own TLS certificate', async () => {
    const first = srv.server.runtime.active?.id;
    const serverCerts = (): number => (ca.store.db.prepare("SELECT COUNT(*) AS n FROM online_certs WHERE kind = 'server'").get() as { n: number }).n;
    const before = serverCerts();
    // Move the clock 84 days ahead: the second window (starting at day 83 minus 6 h) is newer and valid.
    srv.clockOffsetMs.value = 84 * DAY;
    srv.server.tick();
    const second = srv.server.runtime.active?.id;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(serverCerts()).toBe(before + 1);
    const issuer = (ca.store.db.prepare("SELECT issuer_id FROM online_certs WHERE kind = 'server' ORDER BY issued_at DESC LIMIT 1").get() as { issuer_id: string }).issuer_id;
    expect(issuer).toBe(second);
    // Near the end of the second window (day 173 − 6 h), nothing newer exists: capped mode, coverage warning.
    srv.clockOffsetMs.value = 173 * DAY - 12 * HOUR;
    srv.server.tick();
    expect(srv.server.runtime.activeMode).toBe('capped');
    // Over plain HTTP: the server's clock is ahead, so its TLS certificate is not valid yet for this client.
    const m = (await callHttp(srv.server.httpUrl ?? '', 'GET', '/metrics')).body.toString();
    expect(m).toMatch(/neam_ca_coverage_warning 1/u);
    expect(srv.logs.some((l) => l.level === 'warn' && /coverage is running out/u.test(l.msg))).toBe(true);
    srv.clockOffsetMs.value = 0;
    srv.server.tick();
    expect(srv.server.runtime.active?.id).toBe(first);
  });
});
