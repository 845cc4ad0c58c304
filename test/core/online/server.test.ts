import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJoinToken } from '../../../core/online/join-tokens.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { makeCsr } from './fixtures.ts';
import { call, callHttp, counts, localCert, prepareOnlineCa, runAsync, startServer, TD, type ClientCert, type OnlineCa, type Running } from './harness.ts';

describe('online CA server (SoftHSM, real HTTPS with mTLS, OpenSSL as oracle)', () => {
  let ca: OnlineCa;
  let srv: Running;
  let bundle: string;
  let admin: ClientCert;
  let node: ClientCert & { id: string };
  const files = tempDir('neam-server-files-');
  const write = (name: string, text: string | Buffer): string => {
    const p = join(files.dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    ca = prepareOnlineCa();
    srv = await startServer(ca);
    const a = await localCert(ca, 'admin', `spiffe://${TD}/neam-ca/admin/alice`);
    admin = { cert: a.cert + a.chain, key: a.key };
    const b = await call(srv.server, ca.root.pem, 'GET', '/v1/bundle.pem');
    bundle = b.body.toString('utf8');
  });
  afterAll(async () => {
    await srv.stop();
    ca.close();
    files.cleanup();
  });

  it('serves the trust bundle as PEM and as a SPIFFE bundle', async () => {
    expect(bundle).toBe(ca.root.pem.replace(/\r/gu, ''));
    const r = await call(srv.server, bundle, 'GET', '/v1/bundle');
    expect(r.status).toBe(200);
    const keys = r.json['keys'] as Array<Record<string, unknown>>;
    expect(keys).toHaveLength(1);
    expect(keys[0]?.['use']).toBe('x509-svid');
    expect(keys[0]?.['kty']).toBe('RSA');
    expect(keys[0]?.['kid']).toBeUndefined();
    expect(keys[0]?.['x5c']).toEqual([ca.root.der.toString('base64')]);
    expect(r.json['spiffe_sequence']).toBe(1);
    expect(r.json['spiffe_refresh_hint']).toBe(300);
  });

  it('attests a node with a join token, then the node fetches entries and SVIDs over mTLS', async () => {
    const before = counts(ca.store);
    const t = createJoinToken(ca.store, `spiffe://${TD}/neam-ca/node/web-1`, 600, Date.now());
    const nodeCsr = makeCsr();
    const r = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: nodeCsr.pem } });
    expect(r.status, r.body.toString()).toBe(200);
    expect(r.json['spiffeId']).toBe(`spiffe://${TD}/neam-ca/node/web-1`);
    node = { cert: `${r.json['svid'] as string}${r.json['chain'] as string}`, key: nodeCsr.key.export({ type: 'pkcs8', format: 'pem' }) as string, id: `spiffe://${TD}/neam-ca/node/web-1` };
    const after = counts(ca.store);
    expect(after.certs).toBe(before.certs + 1);
    expect(after.usedTokens).toBe(before.usedTokens + 1);
    // The node SVID is a valid client certificate for OpenSSL against the served bundle.
    const v = run('openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', write('bundle.pem', bundle), '-untrusted', write('node-chain.pem', r.json['chain'] as string), write('node.pem', r.json['svid'] as string)]);
    expect(`${v.stdout}${v.stderr}`).toMatch(/node\.pem: OK/u);

    // Admin registers a workload under the node.
    const e = await call(srv.server, bundle, 'POST', '/v1/admin/entries', { client: admin, body: { spiffeId: `spiffe://${TD}/ns/default/sa/web`, parentId: node.id, selectors: ['unix:uid:1000'], dnsNames: ['web.default.svc'] } });
    expect(e.status, e.body.toString()).toBe(201);
    const entryId = e.json['id'] as string;

    const list = await call(srv.server, bundle, 'GET', '/v1/entries', { client: node });
    expect(list.status).toBe(200);
    expect((list.json['entries'] as Array<{ id: string }>).map((x) => x.id)).toEqual([entryId]);
    const again = await call(srv.server, bundle, 'GET', '/v1/entries', { client: node, headers: { 'if-none-match': list.headers['etag'] as string } });
    expect(again.status).toBe(304);

    const wl = makeCsr();
    const s = await call(srv.server, bundle, 'POST', '/v1/svids', { client: node, body: { entryId, csr: wl.pem } });
    expect(s.status, s.body.toString()).toBe(200);
    expect(s.json['spiffeId']).toBe(`spiffe://${TD}/ns/default/sa/web`);
    expect(s.json['bundle']).toBe(bundle);
    const leaf = write('wl.pem', s.json['svid'] as string);
    const chain = write('wl-chain.pem', s.json['chain'] as string);
    for (const purpose of ['sslclient', 'sslserver']) {
      const ok = run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', write('bundle.pem', bundle), '-untrusted', chain, leaf]);
      expect(`${ok.stdout}${ok.stderr}`, purpose).toMatch(/wl\.pem: OK/u);
      expect(ok.status).toBe(0);
    }
    const text = run('openssl', ['x509', '-in', leaf, '-noout', '-ext', 'subjectAltName']).stdout;
    expect(text).toMatch(/URI:spiffe:\/\/example\.org\/ns\/default\/sa\/web/u);
    expect(text).toMatch(/DNS:web\.default\.svc/u);
  });

  async function issueWorkload(name: string): Promise<{ leafPath: string; chainPath: string; serial: string; entryId: string }> {
    const e = await call(srv.server, bundle, 'POST', '/v1/admin/entries', { client: admin, body: { spiffeId: `spiffe://${TD}/ns/default/sa/${name}`, parentId: node.id } });
    expect(e.status, e.body.toString()).toBe(201);
    const s = await call(srv.server, bundle, 'POST', '/v1/svids', { client: node, body: { entryId: e.json['id'], csr: makeCsr().pem } });
    expect(s.status, s.body.toString()).toBe(200);
    return { leafPath: write(`${name}.pem`, s.json['svid'] as string), chainPath: write(`${name}-chain.pem`, s.json['chain'] as string), serial: s.json['serial'] as string, entryId: e.json['id'] as string };
  }

  it('a revoked SVID is refused by openssl verify -crl_check with the served CRL and reported revoked by openssl ocsp; a good one is good', async () => {
    const good = await issueWorkload('good');
    const bad = await issueWorkload('bad');
    const rv = await call(srv.server, bundle, 'POST', '/v1/admin/revoke', { client: admin, body: { serial: bad.serial, reason: 'keyCompromise' } });
    expect(rv.status, rv.body.toString()).toBe(200);
    expect((rv.json['revoked'] as unknown[]).length).toBe(1);
    const bundlePath = write('bundle.pem', bundle);
    // CRLs: over HTTPS (all current CRLs as PEM) and over plain HTTP (DER at the URL in the certificate).
    const crls = await call(srv.server, bundle, 'GET', '/v1/crls.pem');
    expect(crls.status).toBe(200);
    const crlsPath = write('crls.pem', crls.body);
    const cdp = run('openssl', ['x509', '-in', bad.leafPath, '-noout', '-ext', 'crlDistributionPoints']).stdout;
    const crlUrl = /URI:(http:\/\/\S+)/u.exec(cdp)?.[1] ?? '';
    expect(crlUrl).toMatch(/\/crl\/[0-9a-f]{16}\.crl$/u);
    const der = await callHttp(srv.server.httpUrl ?? '', 'GET', new URL(crlUrl).pathname);
    expect(der.status).toBe(200);
    expect(der.headers['content-type']).toBe('application/pkix-crl');
    const crlText = run('openssl', ['crl', '-inform', 'DER', '-in', write('int.crl', der.body), '-noout', '-text', '-CAfile', bad.chainPath, '-verify']);
    expect(crlText.stderr).toMatch(/verify OK/u);
    expect(crlText.stdout.toLowerCase()).toContain(bad.serial.toUpperCase().toLowerCase());
    expect(crlText.stdout).toMatch(/Key Compromise/u);

    for (const flag of ['-crl_check', '-crl_check_all']) {
      const refused = run('openssl', ['verify', '-x509_strict', flag, '-CRLfile', crlsPath, '-CAfile', bundlePath, '-untrusted', bad.chainPath, bad.leafPath]);
      expect(refused.status, flag).not.toBe(0);
      expect(`${refused.stdout}${refused.stderr}`).toMatch(/certificate revoked/u);
      const accepted = run('openssl', ['verify', '-x509_strict', flag, '-CRLfile', crlsPath, '-CAfile', bundlePath, '-untrusted', good.chainPath, good.leafPath]);
      expect(`${accepted.stdout}${accepted.stderr}`, flag).toMatch(/good\.pem: OK/u);
    }

    // OCSP over POST at the URL in the certificate (openssl ocsp sends a nonce and checks it).
    const aia = run('openssl', ['x509', '-in', bad.leafPath, '-noout', '-ocsp_uri']).stdout.trim();
    expect(aia).toBe(`${srv.server.httpUrl ?? ''}/ocsp`);
    const ocsp = async (leaf: string, chain: string): Promise<string> => {
      const r = await runAsync('openssl', ['ocsp', '-issuer', chain, '-cert', leaf, '-url', aia, '-CAfile', bundlePath]);
      return `${r.stdout}${r.stderr}`;
    };
    const revokedOut = await ocsp(bad.leafPath, bad.chainPath);
    expect(revokedOut).toMatch(/Response verify OK/u);
    expect(revokedOut).toMatch(new RegExp(`${bad.leafPath.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&')}: revoked`, 'u'));
    expect(revokedOut).toMatch(/Reason: keyCompromise/u);
    const goodOut = await ocsp(good.leafPath, good.chainPath);
    expect(goodOut).toMatch(/Response verify OK/u);
    expect(goodOut).toMatch(/good\.pem: good/u);

    // The GET form (RFC 6960 Appendix A.1), parsed and verified by openssl.
    const reqDer = run('openssl', ['ocsp', '-issuer', good.chainPath, '-cert', good.leafPath, '-no_nonce', '-reqout', join(files.dir, 'req.der')]);
    expect(reqDer.status).toBe(0);
    const { readFileSync } = await import('node:fs');
    const b64 = encodeURIComponent(readFileSync(join(files.dir, 'req.der')).toString('base64'));
    const get = await callHttp(srv.server.httpUrl ?? '', 'GET', `/ocsp/${b64}`);
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/ocsp-response');
    const parsed = run('openssl', ['ocsp', '-respin', write('resp.der', get.body), '-issuer', good.chainPath, '-cert', good.leafPath, '-CAfile', bundlePath, '-no_nonce']);
    expect(`${parsed.stdout}${parsed.stderr}`).toMatch(/good\.pem: good/u);
    expect(srv.server.metrics.ocspResponses.get({ result: 'revoked' })).toBeGreaterThanOrEqual(1);
  });
});
