/**
 * @module online/routes
 * The HTTP API of `neam-ca serve` (see docs/online.md for the reference):
 * - agents (no client certificate): `POST /v1/attest` (join token + CSR → node SVID);
 * - agents (node SVID over mTLS): `GET /v1/entries`, `POST /v1/svids`, `POST /v1/svids/batch`,
 *   `POST /v1/node/renew`;
 * - administrators (admin certificate over mTLS): `/v1/admin/entries[/ID]`, `/v1/admin/tokens`,
 *   `/v1/admin/revoke`, `/v1/admin/certs`, `/v1/admin/nodes/ID/evict`, `/v1/admin/status`;
 * - anyone: `GET /v1/bundle` (SPIFFE bundle), `GET /v1/bundle.pem`, `GET /crl/ID.crl`,
 *   `GET /v1/crls.pem`, `GET|POST /ocsp`, `GET /healthz`, `GET /metrics`.
 * Authentication is by the verified client certificate: it must chain to our roots, be recorded
 * as issued by us (serial and SPIFFE ID match), be unexpired and unrevoked, and name a node or an
 * administrator. Every refusal is a stable error code; nothing is recorded for a refused request.
 *
 * Must never: log a request body (join tokens travel in them), or let a workload identity call
 * node or admin routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

import { CoreError, isCoreError, type CoreErrorCode } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/index.ts';
import type { SvidResponse } from './api.ts';
import type { CaRuntime, IssuedCert } from './ca-runtime.ts';
import { certStatus, listCerts, normaliseSerial, revoke, REVOCATION_REASONS, type RevocationReason } from './cert-store.ts';
import type { ServeConfig } from './config.ts';
import { createEntry, deleteEntry, getEntry, listEntries, updateEntry, type Entry, type EntryLimits } from './entries.ts';
import { parseJsonBody, readBody, sendBytes, sendError, sendJson, type BodyShape } from './http.ts';
import { checkJoinToken, createJoinToken, DEFAULT_TOKEN_TTL_SECONDS } from './join-tokens.ts';
import type { onlineMetrics } from './metrics.ts';
import { evictNode, recordAttestation, touchNode } from './nodes.ts';
import { decodeOcspGetPath, respondOcsp, type OcspStatus } from './ocsp.ts';
import { RateLimiter } from './rate-limit.ts';
import { identityKind, nodeSpiffeId, parseSpiffeId, parseWorkloadSpiffeId } from './spiffe-id.ts';
import { collectStatus } from './status.ts';
import { certificatePem } from './svid-template.ts';

/** An authenticated caller. */
export interface Principal {
  readonly kind: 'node' | 'admin';
  readonly spiffeId: string;
  readonly serial: string;
  readonly notAfterMs: number;
}

/** What the handlers need. */
export interface RouteContext {
  readonly runtime: CaRuntime;
  readonly store: Store;
  readonly config: ServeConfig;
  readonly log: Logger;
  readonly metrics: ReturnType<typeof onlineMetrics>;
  readonly now: () => number;
  /** Extra status fields from the server (listeners, uptime). */
  readonly serverInfo: () => Record<string, unknown>;
}

const AUTH_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the client certificate has expired; a node must attest again with a new join token',
  CERT_NOT_YET_VALID: 'the client certificate is not valid yet (check the clock)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the client certificate is not signed by a CA of this trust domain',
  UNABLE_TO_GET_ISSUER_CERT: 'the client certificate does not chain to this trust domain (send the intermediate with it)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the client certificate does not chain to this trust domain (send the intermediate with it)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the client certificate is self-signed, not issued by this CA',
  SELF_SIGNED_CERT_IN_CHAIN: 'the client certificate chains to a root this CA does not trust',
  CERT_SIGNATURE_FAILURE: 'the client certificate signature is invalid (forged or corrupted)',
  CERT_REVOKED: 'the client certificate is revoked',
};

function unauthenticated(message: string): CoreError {
  return new CoreError('ERR_ONLINE_UNAUTHENTICATED', message);
}

/** Builds the request handlers of the HTTPS listener and of the plain HTTP listener. */
export function createHandlers(ctx: RouteContext): { https: (req: IncomingMessage, res: ServerResponse) => void; http: (req: IncomingMessage, res: ServerResponse) => void } {
  const { runtime, store, config, log, metrics, now } = ctx;
  const perNode = new RateLimiter(config.limits.perNode);
  const attestLimit = new RateLimiter(config.limits.attest);
  const principals = new WeakMap<TLSSocket, Principal | CoreError>();
  const lastTouch = new Map<string, number>();
  const limits = (): EntryLimits => ({ trustDomain: runtime.trustDomain, defaultTtlSeconds: config.svid.defaultTtl, maxTtlSeconds: config.svid.maxTtl });

  function identify(socket: TLSSocket): Principal | CoreError {
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return unauthenticated('no client certificate was presented; this route needs a node SVID (or an admin certificate) over mutual TLS');
    if (!socket.authorized) {
      const reason = String(socket.authorizationError ?? 'unknown');
      return unauthenticated(`the client certificate was refused (${reason}): ${AUTH_REASONS[reason] ?? 'it does not verify against this trust domain'}`);
    }
    const uris = (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('URI:'));
    if (uris.length !== 1) return unauthenticated('the client certificate must carry exactly one URI SAN (an X509-SVID)');
    let id;
    try {
      id = parseSpiffeId((uris[0] as string).slice(4));
    } catch {
      return unauthenticated('the client certificate URI SAN is not a valid SPIFFE ID');
    }
    if (id.trustDomain !== runtime.trustDomain) return unauthenticated(`the client certificate belongs to trust domain '${id.trustDomain}', not '${runtime.trustDomain}'`);
    const kind = identityKind(id);
    if (kind !== 'node' && kind !== 'admin') return new CoreError('ERR_ONLINE_FORBIDDEN', `${id.id} is a workload identity; only node SVIDs and admin certificates may call this API`);
    const serial = normaliseSerial(cert.serialNumber);
    const st = certStatus(store.db, serial);
    if (st === undefined || st.spiffeId !== id.id || st.kind !== kind) return unauthenticated('the client certificate was not issued by this CA');
    return { kind, spiffeId: id.id, serial, notAfterMs: st.notAfterMs };
  }

  function authenticate(req: IncomingMessage, want: 'node' | 'admin'): Principal {
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerX509Certificate !== 'function') throw unauthenticated('this route is only available over HTTPS with a client certificate');
    let p = principals.get(socket);
    if (p === undefined) {
      p = identify(socket);
      principals.set(socket, p);
    }
    if (p instanceof CoreError) throw p;
    if (p.notAfterMs <= now()) throw unauthenticated(AUTH_REASONS['CERT_HAS_EXPIRED'] as string);
    if (runtime.isRevoked(p.serial)) throw unauthenticated('the client certificate is revoked');
    if (p.kind === 'node' && runtime.isEvicted(p.spiffeId)) throw new CoreError('ERR_ONLINE_FORBIDDEN', `node ${p.spiffeId} was evicted; an administrator must issue a new join token`);
    if (p.kind !== want) throw new CoreError('ERR_ONLINE_FORBIDDEN', want === 'admin' ? 'this route needs an admin certificate' : 'this route needs a node SVID');
    return p;
  }

  function limit(limiter: RateLimiter, key: string, name: string, cost = 1): void {
    for (let i = 0; i < cost; i++) {
      const wait = limiter.take(key, now());
      if (wait > 0) {
        metrics.rateLimited.inc({ limit: name });
        const e = new CoreError('ERR_ONLINE_RATE_LIMITED', `too many requests; retry in ${wait} s`, { details: { retryAfterSeconds: wait } });
        throw e;
      }
    }
  }

  function svidBody(cert: IssuedCert, spiffeId: string, entryId: string | null): SvidResponse {
    const b = runtime.bundle;
    return {
      spiffeId,
      ...(entryId === null ? {} : { entryId }),
      serial: cert.serialHex,
      notBefore: new Date(cert.notBeforeMs).toISOString(),
      notAfter: new Date(cert.notAfterMs).toISOString(),
      svid: certificatePem(cert.der),
      chain: cert.chainPem,
      bundle: b.pem,
      bundleSequence: b.sequence,
    };
  }

  async function issueForEntry(p: Principal, entryId: unknown, csr: unknown): Promise<SvidResponse> {
    const started = process.hrtime.bigint();
    if (typeof entryId !== 'string' || typeof csr !== 'string') throw new CoreError('ERR_ONLINE_REQUEST_INVALID', 'each request needs entryId (string) and csr (PEM string)');
    const entry: Entry | undefined = runtime.entry(entryId);
    if (entry === undefined) throw new CoreError('ERR_ONLINE_ENTRY_NOT_FOUND', `no registration entry with id '${entryId.slice(0, 80)}'`);
    if (entry.parentId !== p.spiffeId) throw new CoreError('ERR_ONLINE_NOT_PARENT', `node ${p.spiffeId} is not the parent of entry ${entry.id}; only ${entry.parentId} may obtain ${entry.spiffeId}`);
    const cert = await runtime.issue(entry.spiffeId, entry.dnsNames, entry.ttlSeconds, csr);
    await runtime.record(cert, 'workload', entry.spiffeId, entry.id, p.spiffeId);
    metrics.issued.inc({ kind: 'workload' });
    metrics.issuanceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    return svidBody(cert, entry.spiffeId, entry.id);
  }

  const SVID_SHAPE: BodyShape = { entryId: { type: 'string', required: true, maxLength: 128 }, csr: { type: 'string', required: true, maxLength: 16_384 } };
  const BATCH_SHAPE: BodyShape = { requests: { type: 'array', required: true, maxLength: config.limits.maxBatch } };
  const ATTEST_SHAPE: BodyShape = { token: { type: 'string', required: true, maxLength: 128 }, csr: { type: 'string', required: true, maxLength: 16_384 } };
  const RENEW_SHAPE: BodyShape = { csr: { type: 'string', required: true, maxLength: 16_384 } };

  async function handleSvid(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = authenticate(req, 'node');
    limit(perNode, p.spiffeId, 'node');
    const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), SVID_SHAPE);
    sendJson(res, 200, await issueForEntry(p, body['entryId'], body['csr']));
  }

  async function handleBatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = authenticate(req, 'node');
    const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes * config.limits.maxBatch), BATCH_SHAPE);
    const requests = body['requests'] as unknown[];
    limit(perNode, p.spiffeId, 'node', Math.max(1, requests.length));
    const results = await Promise.all(
      requests.map(async (r) => {
        const item = typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : {};
        const entryId = typeof item['entryId'] === 'string' ? item['entryId'] : null;
        try {
          const extra = Object.keys(item).filter((k) => k !== 'entryId' && k !== 'csr');
          if (extra.length > 0) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', `unknown field '${(extra[0] ?? '').slice(0, 40)}' in a batch item`);
          return { ok: true, ...(await issueForEntry(p, item['entryId'], item['csr'])) };
        } catch (e) {
          const code = isCoreError(e) ? e.code : 'ERR_INTERNAL';
          metrics.failures.inc({ reason: code });
          return { ok: false, entryId, error: { code, message: isCoreError(e) ? e.message : 'internal error' } };
        }
      }),
    );
    sendJson(res, 200, { results });
  }

  async function handleAttest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    limit(attestLimit, req.socket.remoteAddress ?? 'unknown', 'attest');
    const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), ATTEST_SHAPE);
    const token = body['token'] as string;
    const nowMs = now();
    try {
      const info = checkJoinToken(store.db, token, nowMs);
      const cert = await runtime.issue(info.nodeId, [], config.svid.nodeTtl, body['csr'] as string);
      recordAttestation(store, token, now(), {
        serial: cert.serialHex,
        issuerId: cert.issuerId,
        kind: 'node',
        spiffeId: info.nodeId,
        entryId: null,
        nodeId: info.nodeId,
        notBeforeMs: cert.notBeforeMs,
        notAfterMs: cert.notAfterMs,
        issuedAtMs: now(),
        spkiSha256: cert.spkiSha256,
        der: cert.der,
      });
      runtime.noteIssued(info.nodeId, cert.notAfterMs);
      // A new token re-admits an evicted node; our own write does not move data_version.
      if (runtime.isEvicted(info.nodeId)) runtime.reload();
      metrics.attestations.inc({ result: 'ok' });
      metrics.issued.inc({ kind: 'node' });
      log.info('node attested', { node: info.nodeId, serial: cert.serialHex });
      sendJson(res, 200, svidBody(cert, info.nodeId, null));
    } catch (e) {
      metrics.attestations.inc({ result: isCoreError(e) ? e.code : 'ERR_INTERNAL' });
      throw e;
    }
  }

  async function handleRenew(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = authenticate(req, 'node');
    limit(perNode, p.spiffeId, 'node');
    const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), RENEW_SHAPE);
    const cert = await runtime.issue(p.spiffeId, [], config.svid.nodeTtl, body['csr'] as string);
    await runtime.record(cert, 'node', p.spiffeId, null, p.spiffeId);
    metrics.issued.inc({ kind: 'node' });
    touch(p.spiffeId);
    sendJson(res, 200, svidBody(cert, p.spiffeId, null));
  }

  function touch(nodeId: string): void {
    const t = now();
    if ((lastTouch.get(nodeId) ?? 0) + 60_000 > t) return;
    lastTouch.set(nodeId, t);
    touchNode(store.db, nodeId, t);
  }

  function handleEntries(req: IncomingMessage, res: ServerResponse): void {
    const p = authenticate(req, 'node');
    limit(perNode, p.spiffeId, 'node');
    touch(p.spiffeId);
    const v = runtime.entriesFor(p.spiffeId);
    if (req.headers['if-none-match'] === v.etag) {
      res.writeHead(304, { etag: v.etag });
      res.end();
      return;
    }
    sendBytes(res, 200, 'application/json', v.json, { etag: v.etag, 'cache-control': 'no-store' });
  }

  async function handleOcsp(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    let der: Buffer | undefined;
    if (req.method === 'POST') {
      if (!/^application\/ocsp-request$/iu.test(req.headers['content-type'] ?? '')) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', 'an OCSP POST must have Content-Type application/ocsp-request');
      der = await readBody(req, 4096);
    } else {
      der = decodeOcspGetPath(path.slice('/ocsp/'.length)) ?? Buffer.alloc(0);
    }
    const lookup = (serial: string, issuerId: string): OcspStatus => {
      const st = certStatus(store.db, serial);
      if (st === undefined || st.issuerId !== issuerId) return { status: 'unknown' };
      if (st.revokedAtMs !== null) return { status: 'revoked', revokedAtMs: st.revokedAtMs, reason: st.reason ?? 0 };
      return { status: 'good' };
    };
    const out = await respondOcsp(der, runtime.ocspIssuers(), lookup, now(), config.ocsp.validity * 1000);
    metrics.ocspResponses.inc({ result: out.result });
    sendBytes(res, 200, 'application/ocsp-response', out.der, { 'cache-control': out.result === 'malformed' || out.result === 'unauthorized' ? 'no-store' : `max-age=${Math.min(config.ocsp.validity, 300)}` });
  }

  function handleCrl(res: ServerResponse, path: string): void {
    const m = /^\/crl\/([0-9a-f]{16})\.(crl|pem)$/u.exec(path);
    const crl = m === null ? undefined : runtime.crl(m[1] as string);
    if (crl === undefined || m === null) throw new CoreError('ERR_NOT_FOUND', 'no CRL is published under that name; see /v1/crls.pem for all current CRLs');
    if (m[2] === 'crl') sendBytes(res, 200, 'application/pkix-crl', crl.der, { 'cache-control': `max-age=${config.crl.interval}` });
    else sendBytes(res, 200, 'application/x-pem-file', `-----BEGIN X509 CRL-----\n${crl.der.toString('base64').replace(/.{64}/gu, '$&\n').replace(/\n?$/u, '\n')}-----END X509 CRL-----\n`);
  }

  function handleHealth(res: ServerResponse): void {
    const a = runtime.active;
    sendJson(res, a === undefined ? 503 : 200, { status: a === undefined ? 'no-active-intermediate' : 'ok', activeIntermediate: a?.id ?? null, trustDomain: runtime.trustDomain });
  }

  function handleMetrics(res: ServerResponse): void {
    metrics.residentMemory.set(process.memoryUsage.rss());
    sendBytes(res, 200, 'text/plain; version=0.0.4', metrics.registry.render());
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const p = authenticate(req, 'admin');
    const method = req.method ?? 'GET';
    const nowMs = now();
    const entryMatch = /^\/v1\/admin\/entries\/([A-Za-z0-9-]{1,64})$/u.exec(path);
    const ENTRY_SHAPE: BodyShape = {
      // Longer than the spec's 2048 bytes on purpose: the SPIFFE ID validator names the rule.
      spiffeId: { type: 'string', required: false, maxLength: 4096 },
      parentId: { type: 'string', required: false, maxLength: 4096 },
      selectors: { type: 'array', required: false, maxLength: 32 },
      ttlSeconds: { type: 'number', required: false },
      dnsNames: { type: 'array', required: false, maxLength: 32 },
    };
    const audit = (action: string, data: Record<string, unknown>): void => log.info(`admin ${action}`, { admin: p.spiffeId, ...data });
    if (path === '/v1/admin/entries' && method === 'GET') {
      const filter: { parentId?: string; spiffeId?: string } = {};
      const parent = query.get('parentId');
      const sid = query.get('spiffeId');
      if (parent !== null) filter.parentId = parent;
      if (sid !== null) filter.spiffeId = sid;
      sendJson(res, 200, { entries: listEntries(store.db, filter).map(entryJson) });
    } else if (path === '/v1/admin/entries' && method === 'POST') {
      const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), ENTRY_SHAPE);
      const e = createEntry(store, body, limits(), nowMs);
      runtime.reload();
      audit('created entry', { entry: e.id, spiffeId: e.spiffeId, parentId: e.parentId });
      sendJson(res, 201, entryJson(e));
    } else if (entryMatch !== null && method === 'GET') {
      sendJson(res, 200, entryJson(getEntry(store.db, entryMatch[1] as string)));
    } else if (entryMatch !== null && method === 'PATCH') {
      const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), ENTRY_SHAPE);
      const e = updateEntry(store, entryMatch[1] as string, body, limits(), nowMs);
      runtime.reload();
      audit('updated entry', { entry: e.id });
      sendJson(res, 200, entryJson(e));
    } else if (entryMatch !== null && method === 'DELETE') {
      const e = deleteEntry(store, entryMatch[1] as string);
      runtime.reload();
      audit('deleted entry', { entry: e.id, spiffeId: e.spiffeId });
      sendJson(res, 200, entryJson(e));
    } else if (path === '/v1/admin/tokens' && method === 'POST') {
      const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), { node: { type: 'string', required: true, maxLength: 2048 }, ttlSeconds: { type: 'number', required: false } });
      const nodeId = nodeSpiffeId(runtime.trustDomain, body['node'] as string).id;
      const t = createJoinToken(store, nodeId, (body['ttlSeconds'] as number | undefined) ?? DEFAULT_TOKEN_TTL_SECONDS, nowMs);
      audit('created join token', { node: nodeId, tokenHash: t.hash.slice(0, 12), expiresAt: new Date(t.expiresAtMs).toISOString() });
      try {
        sendJson(res, 201, { token: t.token.unsafeText(), nodeId, expiresAt: new Date(t.expiresAtMs).toISOString() });
      } finally {
        t.token.wipe();
      }
    } else if (path === '/v1/admin/revoke' && method === 'POST') {
      const body = parseJsonBody(req, await readBody(req, config.limits.maxBodyBytes), {
        serial: { type: 'string', required: false, maxLength: 128 },
        spiffeId: { type: 'string', required: false, maxLength: 2048 },
        reason: { type: 'string', required: false, maxLength: 64 },
      });
      const reason = (body['reason'] ?? 'unspecified') as RevocationReason;
      if (!(reason in REVOCATION_REASONS)) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', `unknown revocation reason; use one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
      if ((body['serial'] === undefined) === (body['spiffeId'] === undefined)) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', 'give exactly one of serial or spiffeId');
      const target = body['serial'] !== undefined ? { serial: normaliseSerial(body['serial'] as string) } : { spiffeId: parseWorkloadSpiffeId(body['spiffeId'] as string, runtime.trustDomain).id };
      const r = revoke(store, target, reason, nowMs);
      runtime.reload();
      runtime.publishCrls();
      audit('revoked', { target, reason, revoked: r.revoked.length });
      sendJson(res, 200, r);
    } else if (path === '/v1/admin/certs' && method === 'GET') {
      const sid = query.get('spiffeId');
      const lim = Number(query.get('limit') ?? '100');
      sendJson(res, 200, { certificates: listCerts(store.db, { ...(sid === null ? {} : { spiffeId: sid }), limit: Number.isFinite(lim) ? lim : 100 }) });
    } else if (/^\/v1\/admin\/nodes\/.+\/evict$/u.test(path) && method === 'POST') {
      const nodeId = nodeSpiffeId(runtime.trustDomain, decodeURIComponent(path.slice('/v1/admin/nodes/'.length, -'/evict'.length))).id;
      const r = evictNode(store, nodeId, nowMs);
      runtime.reload();
      runtime.publishCrls();
      audit('evicted node', { node: nodeId, revoked: r.revokedSerials.length });
      sendJson(res, 200, { nodeId, ...r });
    } else if (path === '/v1/admin/status' && method === 'GET') {
      sendJson(res, 200, { ...collectStatus(store.db, nowMs, { maxSvidTtlSeconds: config.svid.maxTtl, coverageWarningSeconds: config.coverageWarning }), server: ctx.serverInfo() });
    } else {
      throw new CoreError('ERR_NOT_FOUND', `no admin route ${method} ${path}`);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, tls: boolean): Promise<string> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path.startsWith('/ocsp') && (path === '/ocsp' || path.startsWith('/ocsp/')) && (method === 'POST' || method === 'GET')) {
      await handleOcsp(req, res, path);
      return 'ocsp';
    }
    if (path.startsWith('/crl/') && method === 'GET') {
      handleCrl(res, path);
      return 'crl';
    }
    if (path === '/v1/crls.pem' && method === 'GET') {
      sendBytes(res, 200, 'application/x-pem-file', runtime.allCrlsPem(), { 'cache-control': `max-age=${config.crl.interval}` });
      return 'crls';
    }
    if (path === '/healthz' && method === 'GET') {
      handleHealth(res);
      return 'healthz';
    }
    if (path === '/metrics' && method === 'GET') {
      handleMetrics(res);
      return 'metrics';
    }
    if (!tls) throw new CoreError('ERR_NOT_FOUND', `${path} is only served over HTTPS`);
    if (path === '/v1/svids' && method === 'POST') {
      await handleSvid(req, res);
      return 'svids';
    }
    if (path === '/v1/entries' && method === 'GET') {
      handleEntries(req, res);
      return 'entries';
    }
    if (path === '/v1/svids/batch' && method === 'POST') {
      await handleBatch(req, res);
      return 'svids_batch';
    }
    if (path === '/v1/attest' && method === 'POST') {
      await handleAttest(req, res);
      return 'attest';
    }
    if (path === '/v1/node/renew' && method === 'POST') {
      await handleRenew(req, res);
      return 'renew';
    }
    if (path === '/v1/bundle' && method === 'GET') {
      const b = runtime.bundle;
      sendBytes(res, 200, 'application/json', b.json, { etag: `"${b.sequence}"`, 'cache-control': `max-age=${config.bundle.refreshHint}` });
      return 'bundle';
    }
    if (path === '/v1/bundle.pem' && method === 'GET') {
      sendBytes(res, 200, 'application/x-pem-file', runtime.bundle.pem, { etag: `"${runtime.bundle.sequence}"` });
      return 'bundle_pem';
    }
    if (path.startsWith('/v1/admin/')) {
      await handleAdmin(req, res, path, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)));
      return 'admin';
    }
    throw new CoreError('ERR_NOT_FOUND', `no route ${method} ${path.slice(0, 100)}`);
  }

  const ISSUING = new Set(['svids', 'attest', 'renew']);
  function handler(tls: boolean): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      route(req, res, tls).then(
        (name) => metrics.httpRequests.inc({ route: name, code: String(res.statusCode) }),
        (e: unknown) => {
          const wait = isCoreError(e, 'ERR_ONLINE_RATE_LIMITED') ? String((e.details?.['retryAfterSeconds'] as number | undefined) ?? 1) : undefined;
          const code: CoreErrorCode = sendError(res, e, wait === undefined ? {} : { 'retry-after': wait });
          const url = req.url ?? '/';
          const path = url.split('?')[0] ?? '/';
          const routeName = /^\/v1\/(svids|attest|node\/renew)/u.test(path) ? 'issuance' : 'other';
          if (routeName === 'issuance' || ISSUING.has(path)) metrics.failures.inc({ reason: code });
          metrics.httpRequests.inc({ route: routeName, code: String(res.statusCode) });
          if (code === 'ERR_INTERNAL' || !isCoreError(e)) log.error('request failed', { method: req.method, path: path.slice(0, 100), error: e });
          else log.warn('request refused', { method: req.method, path: path.slice(0, 100), code, message: e.message.slice(0, 300) });
          if (res.getHeader('connection') === 'close') res.on('finish', () => req.socket.destroy());
        },
      );
    };
  }

  return { https: handler(true), http: handler(false) };
}

function entryJson(e: Entry): Record<string, unknown> {
  return {
    id: e.id,
    spiffeId: e.spiffeId,
    parentId: e.parentId,
    selectors: e.selectors,
    ttlSeconds: e.ttlSeconds,
    dnsNames: e.dnsNames,
    createdAt: new Date(e.createdAtMs).toISOString(),
    updatedAt: new Date(e.updatedAtMs).toISOString(),
  };
}
