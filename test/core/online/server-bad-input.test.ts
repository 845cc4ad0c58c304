import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { softwareSigner } from '../../../core/crypto/signer.ts';
import { issuerProfile, readCaCertificate } from '../../../core/online/ca-cert.ts';
import { listIntermediates } from '../../../core/online/intermediates.ts';
import { buildCsr, PEM_LABEL, toPem } from '../../../core/pki/index.ts';
import { issueSvid } from '../../../core/online/issuance.ts';
import { createJoinToken } from '../../../core/online/join-tokens.ts';
import { certificatePem, compileTemplate } from '../../../core/online/svid-template.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { createTestRoot, derToPem, makeCsr, pemToDer, signIntermediate } from './fixtures.ts';
import { call, counts, HOUR, localCert, prepareOnlineCa, startServer, TD, type ClientCert, type OnlineCa, type Reply, type Running } from './harness.ts';

describe('online CA server refuses bad input with a clear error and records nothing', () => {
  let ca: OnlineCa;
  let srv: Running;
  let bundle: string;
  let admin: ClientCert;
  let nodeA: ClientCert;
  let nodeB: ClientCert;
  let entryA: string;
  const NODE_A = `spiffe://${TD}/neam-ca/node/a`;
  const NODE_B = `spiffe://${TD}/neam-ca/node/b`;
  const WORKLOAD = `spiffe://${TD}/ns/prod/sa/api`;
  const files = tempDir('neam-bad-');

  async function attest(nodeId: string): Promise<ClientCert> {
    const t = createJoinToken(ca.store, nodeId, 600, Date.now());
    const csr = makeCsr();
    const r = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: csr.pem } });
    expect(r.status, r.body.toString()).toBe(200);
    return { cert: `${r.json['svid'] as string}${r.json['chain'] as string}`, key: csr.key.export({ type: 'pkcs8', format: 'pem' }) as string };
  }

  beforeAll(async () => {
    ca = prepareOnlineCa({ startOffsetMs: 12 * HOUR });
    srv = await startServer(ca, { limits: { attest: { ratePerSecond: 1000, burst: 1000 }, maxBodyBytes: 8192 } });
    bundle = (await call(srv.server, ca.root.pem, 'GET', '/v1/bundle.pem')).body.toString();
    const a = await localCert(ca, 'admin', `spiffe://${TD}/neam-ca/admin/root-admin`);
    admin = { cert: a.cert + a.chain, key: a.key };
    nodeA = await attest(NODE_A);
    nodeB = await attest(NODE_B);
    const e = await call(srv.server, bundle, 'POST', '/v1/admin/entries', { client: admin, body: { spiffeId: WORKLOAD, parentId: NODE_A, dnsNames: ['api.prod.svc'] } });
    expect(e.status, e.body.toString()).toBe(201);
    entryA = e.json['id'] as string;
  });
  afterAll(async () => {
    await srv.stop();
    ca.close();
    files.cleanup();
  });

  function expectRefused(r: Reply, status: number, code: string, message?: RegExp): void {
    const err = r.json['error'] as { code: string; message: string } | undefined;
    expect(r.status, r.body.toString()).toBe(status);
    expect(err?.code, r.body.toString()).toBe(code);
    if (message !== undefined) expect(err?.message).toMatch(message);
  }

  describe('invalid SPIFFE IDs in entries (admin API)', () => {
    const cases: Array<{ field: string; spiffeId?: string; parentId?: string; extra?: Record<string, unknown>; code: string; reason: RegExp }> = [
      { field: 'spiffeId: upper-case trust domain', spiffeId: 'spiffe://Example.org/w', code: 'ERR_SPIFFE_ID_INVALID', reason: /trust domain must be lower-case/u },
      { field: 'spiffeId: upper-case scheme', spiffeId: 'SPIFFE://example.org/w', code: 'ERR_SPIFFE_ID_INVALID', reason: /scheme must be lower-case/u },
      { field: 'spiffeId: trailing slash', spiffeId: 'spiffe://example.org/w/', code: 'ERR_SPIFFE_ID_INVALID', reason: /trailing slash/u },
      { field: 'spiffeId: dot segment', spiffeId: 'spiffe://example.org/a/../b', code: 'ERR_SPIFFE_ID_INVALID', reason: /dot segments/u },
      { field: 'spiffeId: empty segment', spiffeId: 'spiffe://example.org/a//b', code: 'ERR_SPIFFE_ID_INVALID', reason: /empty segments/u },
      { field: 'spiffeId: port', spiffeId: 'spiffe://example.org:443/w', code: 'ERR_SPIFFE_ID_INVALID', reason: /port is not allowed/u },
      { field: 'spiffeId: userinfo', spiffeId: 'spiffe://admin@example.org/w', code: 'ERR_SPIFFE_ID_INVALID', reason: /userinfo/u },
      { field: 'spiffeId: query', spiffeId: 'spiffe://example.org/w?x=1', code: 'ERR_SPIFFE_ID_INVALID', reason: /query/u },
      { field: 'spiffeId: fragment', spiffeId: 'spiffe://example.org/w#f', code: 'ERR_SPIFFE_ID_INVALID', reason: /fragment/u },
      { field: 'spiffeId: percent-encoding', spiffeId: 'spiffe://example.org/a%20b', code: 'ERR_SPIFFE_ID_INVALID', reason: /percent-encoding/u },
      { field: 'spiffeId: bad character', spiffeId: 'spiffe://example.org/a b', code: 'ERR_SPIFFE_ID_INVALID', reason: /path segment characters/u },
      { field: 'spiffeId: no path', spiffeId: 'spiffe://example.org', code: 'ERR_SPIFFE_ID_INVALID', reason: /must have a path/u },
      { field: 'spiffeId: other trust domain', spiffeId: 'spiffe://other.org/w', code: 'ERR_SPIFFE_ID_INVALID', reason: /this CA serves 'example.org'/u },
      { field: 'spiffeId: reserved path', spiffeId: 'spiffe://example.org/neam-ca/node/evil', code: 'ERR_SPIFFE_ID_INVALID', reason: /reserves/u },
      { field: 'spiffeId: longer than 2048 bytes', spiffeId: `spiffe://example.org/${'x'.repeat(2030)}`, code: 'ERR_SPIFFE_ID_INVALID', reason: /2048 bytes/u },
      { field: 'spiffeId: not a string', extra: { spiffeId: 42 }, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /must be a string/u },
      { field: 'parentId: not a node ID', parentId: 'spiffe://example.org/ns/prod/sa/api', code: 'ERR_SPIFFE_ID_INVALID', reason: /is not a node ID/u },
      { field: 'parentId: invalid', parentId: 'spiffe://example.org/neam-ca/node/', code: 'ERR_SPIFFE_ID_INVALID', reason: /trailing slash/u },
      { field: 'ttlSeconds: too long', extra: { ttlSeconds: 90 * 86_400 }, code: 'ERR_INPUT_INVALID', reason: /between 60 and 86400/u },
      { field: 'ttlSeconds: too short', extra: { ttlSeconds: 5 }, code: 'ERR_INPUT_INVALID', reason: /between 60 and 86400/u },
      { field: 'dnsNames: invalid name', extra: { dnsNames: ['Bad_Name'] }, code: 'ERR_INPUT_INVALID', reason: /dnsNames\.0/u },
      { field: 'selectors: malformed', extra: { selectors: ['nocolon'] }, code: 'ERR_INPUT_INVALID', reason: /selectors\.0/u },
    ];
    for (const c of cases) {
      it(`refuses ${c.field}`, async () => {
        const before = counts(ca.store);
        const body = { spiffeId: c.spiffeId ?? 'spiffe://example.org/ns/prod/sa/new', parentId: c.parentId ?? NODE_A, ...c.extra };
        const r = await call(srv.server, bundle, 'POST', '/v1/admin/entries', { client: admin, body });
        expectRefused(r, 400, c.code, c.reason);
        expect(counts(ca.store)).toEqual(before);
      });
    }
    it('reports every problem of an entry at once', async () => {
      const r = await call(srv.server, bundle, 'POST', '/v1/admin/entries', { client: admin, body: { spiffeId: 'spiffe://example.org/w/', parentId: 'x', ttlSeconds: 1, dnsNames: ['A'] } });
      const msg = (r.json['error'] as { message: string }).message;
      for (const field of ['spiffeId', 'parentId', 'ttlSeconds', 'dnsNames.0']) expect(msg).toContain(`- ${field}`);
    });
  });

  describe('client identities', () => {
    async function forgedSelfSigned(): Promise<ClientCert> {
      const key = join(files.dir, 'ss.key');
      const cert = join(files.dir, 'ss.pem');
      runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/', '-addext', `subjectAltName=critical,URI:${NODE_A}`]);
      return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
    }

    async function leafFromOtherPki(imitate: boolean): Promise<ClientCert> {
      const otherRoot = createTestRoot(join(files.dir, imitate ? 'impostor-root' : 'other-root'));
      const intKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const ours = listIntermediates(ca.store.db)[0];
      const cn = imitate ? `NEAM CA online intermediate ${ours?.id ?? ''}` : 'Other CA';
      const csr = buildCsr({ subject: { organization: TD, commonName: cn }, signer: softwareSigner(intKey, 'ECDSA-SHA256') }).der;
      const intPem = signIntermediate(otherRoot, toPem(PEM_LABEL.csr, csr), { startMs: Date.now() - HOUR, endMs: Date.now() + 30 * 86_400_000 });
      const template = compileTemplate(issuerProfile('other', readCaCertificate(pemToDer(intPem))));
      const leafCsr = makeCsr();
      const svid = await issueSvid(template, intKey, { csrPem: leafCsr.pem, spiffeId: NODE_A, dnsNames: [], ttlSeconds: 3600, nowMs: Date.now() });
      return { cert: certificatePem(svid.der) + intPem, key: leafCsr.key.export({ type: 'pkcs8', format: 'pem' }) as string };
    }

    const cases: Array<{ name: string; client: () => Promise<ClientCert | undefined>; path?: string; status: number; code: string; reason: RegExp }> = [
      { name: 'no client certificate', client: async () => undefined, status: 401, code: 'ERR_ONLINE_UNAUTHENTICATED', reason: /no client certificate/u },
      { name: 'forged: self-signed node SVID', client: forgedSelfSigned, status: 401, code: 'ERR_ONLINE_UNAUTHENTICATED', reason: /self-signed/u },
      { name: 'forged: node SVID from another PKI', client: () => leafFromOtherPki(false), status: 401, code: 'ERR_ONLINE_UNAUTHENTICATED', reason: /refused/u },
      { name: 'forged: chain imitating our root and intermediate names', client: () => leafFromOtherPki(true), status: 401, code: 'ERR_ONLINE_UNAUTHENTICATED', reason: /refused \((CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/u },
      {
        name: 'expired node SVID',
        client: async () => {
          const c = await localCert(ca, 'node', NODE_A, { ttlSeconds: 600, nowMs: Date.now() - 2 * HOUR });
          return { cert: c.cert + c.chain, key: c.key };
        },
        status: 401,
        code: 'ERR_ONLINE_UNAUTHENTICATED',
        reason: /CERT_HAS_EXPIRED.*attest again/u,
      },
      {
        name: 'a genuine certificate this CA has no record of',
        client: async () => {
          const c = await localCert(ca, 'node', NODE_A);
          ca.store.db.prepare('DELETE FROM online_certs WHERE serial = ?').run(c.serial);
          return { cert: c.cert + c.chain, key: c.key };
        },
        status: 401,
        code: 'ERR_ONLINE_UNAUTHENTICATED',
        reason: /not issued by this CA/u,
      },
      {
        name: 'a workload SVID instead of a node SVID',
        client: async () => {
          const csr = makeCsr();
          const s = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeA, body: { entryId: entryA, csr: csr.pem } });
          return { cert: `${s.json['svid'] as string}${s.json['chain'] as string}`, key: csr.key.export({ type: 'pkcs8', format: 'pem' }) as string };
        },
        status: 403,
        code: 'ERR_ONLINE_FORBIDDEN',
        reason: /workload identity/u,
      },
      { name: 'an admin certificate on a node route', client: async () => admin, status: 403, code: 'ERR_ONLINE_FORBIDDEN', reason: /needs a node SVID/u },
      { name: 'a node SVID on an admin route', client: async () => nodeA, path: '/v1/admin/entries', status: 403, code: 'ERR_ONLINE_FORBIDDEN', reason: /needs an admin certificate/u },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}`, async () => {
        const client = await c.client();
        const before = counts(ca.store);
        const r = c.path === undefined ? await call(srv.server, bundle, 'POST', '/v1/svids', { ...(client === undefined ? {} : { client }), body: { entryId: entryA, csr: makeCsr().pem } }) : await call(srv.server, bundle, 'GET', c.path, client === undefined ? {} : { client });
        expectRefused(r, c.status, c.code, c.reason);
        expect(counts(ca.store)).toEqual(before);
      });
    }

    it('refuses a revoked node SVID', async () => {
      const c = await localCert(ca, 'node', `spiffe://${TD}/neam-ca/node/revoked`);
      const rv = await call(srv.server, bundle, 'POST', '/v1/admin/revoke', { client: admin, body: { serial: c.serial } });
      expect(rv.status).toBe(200);
      const r = await call(srv.server, bundle, 'GET', '/v1/entries', { client: { cert: c.cert + c.chain, key: c.key } });
      expectRefused(r, 401, 'ERR_ONLINE_UNAUTHENTICATED', /revoked/u);
    });

    it('refuses a request for an entry the node is not parent of', async () => {
      const before = counts(ca.store);
      const r = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeB, body: { entryId: entryA, csr: makeCsr({ uris: [WORKLOAD], dnsNames: ['api.prod.svc'] }).pem } });
      expectRefused(r, 403, 'ERR_ONLINE_NOT_PARENT', new RegExp(`only ${NODE_A} may obtain ${WORKLOAD}`, 'u'));
      expect(counts(ca.store)).toEqual(before);
      const unknown = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeB, body: { entryId: '00000000-0000-0000-0000-000000000000', csr: makeCsr().pem } });
      expectRefused(unknown, 404, 'ERR_ONLINE_ENTRY_NOT_FOUND');
    });
  });

  describe('join tokens', () => {
    it('refuses a reused token and leaves the first attestation alone', async () => {
      const t = createJoinToken(ca.store, `spiffe://${TD}/neam-ca/node/once`, 600, Date.now());
      const first = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: makeCsr().pem } });
      expect(first.status).toBe(200);
      const before = counts(ca.store);
      const again = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: makeCsr().pem } });
      expectRefused(again, 401, 'ERR_ONLINE_TOKEN_USED', /already used/u);
      expect(counts(ca.store)).toEqual(before);
    });
    it('refuses an expired token', async () => {
      const t = createJoinToken(ca.store, `spiffe://${TD}/neam-ca/node/late`, 60, Date.now() - 120_000);
      const before = counts(ca.store);
      const r = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: makeCsr().pem } });
      expectRefused(r, 401, 'ERR_ONLINE_TOKEN_EXPIRED', /expired at/u);
      expect(counts(ca.store)).toEqual(before);
    });
    it('refuses unknown and malformed tokens', async () => {
      const before = counts(ca.store);
      expectRefused(await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: `neamjt1_${'A'.repeat(43)}`, csr: makeCsr().pem } }), 401, 'ERR_ONLINE_TOKEN_INVALID', /not known/u);
      expectRefused(await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: 'guess', csr: makeCsr().pem } }), 401, 'ERR_ONLINE_TOKEN_INVALID', /format/u);
      expect(counts(ca.store)).toEqual(before);
    });
    it('does not spend a token when the CSR is refused', async () => {
      const t = createJoinToken(ca.store, `spiffe://${TD}/neam-ca/node/careful`, 600, Date.now());
      const before = counts(ca.store);
      const r = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: makeCsr({ badSignature: true }).pem } });
      expectRefused(r, 400, 'ERR_PKI_CSR_SIGNATURE_INVALID');
      expect(counts(ca.store)).toEqual(before);
      const ok = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: t.token.unsafeText(), csr: makeCsr().pem } });
      expect(ok.status).toBe(200);
    });
    it('never logs a join token', async () => {
      const t = createJoinToken(ca.store, `spiffe://${TD}/neam-ca/node/quiet`, 600, Date.now());
      const text = t.token.unsafeText();
      await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: text, csr: 'garbage' } });
      await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: text, csr: makeCsr().pem } });
      await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: text, csr: makeCsr().pem } });
      expect(JSON.stringify(srv.logs)).not.toContain(text.slice(8));
    });
  });

  describe('malformed CSRs and bodies', () => {
    const valid = (): string => makeCsr().pem;
    const der = (): Buffer => makeCsr().der;
    const cases: Array<{ name: string; csr: () => string; code: string; reason?: RegExp }> = [
      { name: 'not PEM', csr: () => 'hello', code: 'ERR_PKI_PEM_INVALID', reason: /no PEM 'CERTIFICATE REQUEST' block/u },
      { name: 'PEM with trailing junk', csr: () => `${valid()}junk`, code: 'ERR_PKI_PEM_INVALID', reason: /nothing before or after/u },
      { name: 'two PEM blocks', csr: () => valid() + valid(), code: 'ERR_PKI_PEM_INVALID' },
      { name: 'a certificate instead of a request', csr: () => ca.root.pem, code: 'ERR_PKI_PEM_INVALID' },
      { name: 'invalid base64', csr: () => valid().replace(/\n([A-Za-z])/u, '\n!'), code: 'ERR_PKI_PEM_INVALID' },
      { name: 'truncated DER', csr: () => derToPem(der().subarray(0, 100), 'CERTIFICATE REQUEST'), code: 'ERR_PKI_CSR_INVALID', reason: /malformed/u },
      { name: 'trailing bytes after the DER', csr: () => derToPem(Buffer.concat([der(), Buffer.from([0, 0])]), 'CERTIFICATE REQUEST'), code: 'ERR_PKI_CSR_INVALID', reason: /trailing data/u },
      { name: 'random bytes', csr: () => derToPem(Buffer.from('30820100' + 'ab'.repeat(256), 'hex'), 'CERTIFICATE REQUEST'), code: 'ERR_PKI_CSR_INVALID' },
      { name: 'bad signature', csr: () => makeCsr({ badSignature: true }).pem, code: 'ERR_PKI_CSR_SIGNATURE_INVALID', reason: /does not verify/u },
      {
        name: 'public key not on the curve',
        csr: () => {
          const d = Buffer.from(der());
          const i = d.indexOf(Buffer.from('034200', 'hex')) + 40;
          d[i] = (d[i] as number) ^ 0xff;
          return derToPem(d, 'CERTIFICATE REQUEST');
        },
        code: 'ERR_PKI_CSR_SIGNATURE_INVALID',
      },
      { name: 'RSA key', csr: () => makeCsr({ rsa: true }).pem, code: 'ERR_PKI_KEY_UNSUPPORTED', reason: /RSA key/u },
      { name: 'P-521 key', csr: () => makeCsr({ curve: 'P-521', hash: 'sha384' }).pem, code: 'ERR_PKI_KEY_UNSUPPORTED', reason: /P-521/u },
      { name: 'secp256k1 key', csr: () => makeCsr({ curve: 'secp256k1' }).pem, code: 'ERR_PKI_KEY_UNSUPPORTED', reason: /secp256k1/u },
      { name: 'version 2', csr: () => makeCsr({ version: 1 }).pem, code: 'ERR_PKI_CSR_INVALID', reason: /version must be 0/u },
      { name: 'attributes missing', csr: () => makeCsr({ noAttributes: true }).pem, code: 'ERR_PKI_CSR_INVALID', reason: /attributes/u },
      { name: 'SAN for another SPIFFE ID', csr: () => makeCsr({ uris: ['spiffe://example.org/ns/prod/sa/db'], dnsNames: ['api.prod.svc'] }).pem, code: 'ERR_ONLINE_SAN_MISMATCH', reason: /instead of exactly/u },
      { name: 'SAN with two URIs', csr: () => makeCsr({ uris: [WORKLOAD, 'spiffe://example.org/x'], dnsNames: ['api.prod.svc'] }).pem, code: 'ERR_ONLINE_SAN_MISMATCH' },
      { name: 'SAN with an extra DNS name', csr: () => makeCsr({ uris: [WORKLOAD], dnsNames: ['api.prod.svc', 'evil.com'] }).pem, code: 'ERR_ONLINE_SAN_MISMATCH', reason: /DNS names/u },
      { name: 'SAN with an IP address', csr: () => makeCsr({ uris: [WORKLOAD], dnsNames: ['api.prod.svc'], ips: [[10, 0, 0, 1]] }).pem, code: 'ERR_ONLINE_SAN_MISMATCH', reason: /types the entry cannot grant/u },
    ];
    for (const c of cases) {
      it(`refuses a CSR: ${c.name}`, async () => {
        const before = counts(ca.store);
        const r = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeA, body: { entryId: entryA, csr: c.csr() } });
        expectRefused(r, 400, c.code, c.reason);
        expect(counts(ca.store)).toEqual(before);
      });
    }
    it('accepts a CSR whose SAN matches the entry exactly', async () => {
      const r = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeA, body: { entryId: entryA, csr: makeCsr({ uris: [WORKLOAD], dnsNames: ['api.prod.svc'] }).pem } });
      expect(r.status, r.body.toString()).toBe(200);
    });

    const bodies: Array<{ name: string; raw: string | Buffer; contentType?: string; headers?: Record<string, string>; status: number; code: string; reason?: RegExp }> = [
      { name: 'not JSON', raw: '{"entryId":', status: 400, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /not valid JSON/u },
      { name: 'a JSON array', raw: '[]', status: 400, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /JSON object/u },
      { name: 'wrong content type', raw: '{}', contentType: 'text/plain', status: 400, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /Content-Type application\/json/u },
      { name: 'an unknown field', raw: JSON.stringify({ entryId: 'x', csr: 'y', admin: true }), status: 400, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /unknown field 'admin'/u },
      { name: 'a missing CSR', raw: JSON.stringify({ entryId: 'x' }), status: 400, code: 'ERR_ONLINE_REQUEST_INVALID', reason: /'csr' is required/u },
      { name: 'an oversized body (declared)', raw: JSON.stringify({ entryId: 'x', csr: 'A'.repeat(10_000) }), status: 413, code: 'ERR_ONLINE_REQUEST_TOO_LARGE', reason: /larger than 8192 bytes/u },
    ];
    for (const b of bodies) {
      it(`refuses a body: ${b.name}`, async () => {
        const before = counts(ca.store);
        const r = await call(srv.server, bundle, 'POST', '/v1/svids', { client: nodeA, raw: b.raw, ...(b.contentType === undefined ? {} : { contentType: b.contentType }) });
        expectRefused(r, b.status, b.code, b.reason);
        expect(counts(ca.store)).toEqual(before);
      });
    }
    it('refuses an oversized chunked body (no Content-Length) and closes the connection', async () => {
      const { request } = await import('node:https');
      const u = new URL(srv.server.url);
      const before = counts(ca.store);
      const r = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
        const req = request({ host: u.hostname, port: u.port, path: '/v1/svids', method: 'POST', ca: bundle, servername: 'localhost', agent: false, cert: nodeA.cert, key: nodeA.key, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
        });
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write('A'.repeat(1000));
        req.end();
      });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error.code).toBe('ERR_ONLINE_REQUEST_TOO_LARGE');
      expect(r.connection).toBe('close');
      expect(counts(ca.store)).toEqual(before);
    });
  });
});

describe('rate limits', () => {
  let ca: OnlineCa;
  let srv: Running;
  let bundle: string;
  beforeAll(async () => {
    ca = prepareOnlineCa({ windows: 1 });
    srv = await startServer(ca, { workers: 0, limits: { attest: { ratePerSecond: 0.1, burst: 3 }, perNode: { ratePerSecond: 0.1, burst: 4 } } });
    bundle = ca.root.pem;
  });
  afterAll(async () => {
    await srv.stop();
    ca.close();
  });

  it('limits attestation attempts per client address with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let last: Reply | undefined;
    for (let i = 0; i < 5; i++) {
      last = await call(srv.server, bundle, 'POST', '/v1/attest', { body: { token: 'guess', csr: 'x' } });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((last?.json['error'] as { code: string }).code).toBe('ERR_ONLINE_RATE_LIMITED');
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    expect(srv.server.metrics.rateLimited.get({ limit: 'attest' })).toBe(2);
  });

  it('limits requests per node', async () => {
    const c = await localCert(ca, 'node', `spiffe://${TD}/neam-ca/node/busy`);
    const client = { cert: c.cert + c.chain, key: c.key };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call(srv.server, bundle, 'GET', '/v1/entries', { client })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });
});
