/**
 * @module agent/client
 * The agent's HTTPS client for the online CA's API (docs/online.md, wire types in
 * core/online/api.ts). Every call verifies the server against the agent's trust bundle and checks
 * that the server certificate names `spiffe://TD/neam-ca/server` (plus the usual host name check);
 * node calls present the node SVID. First contact fetches `/v1/bundle.pem` without verification,
 * keeps only anchors whose SHA-256 was pinned, and fetches the bundle again over a connection
 * verified with those anchors: only then is the bundle trusted. Failures map to stable codes:
 * unreachable (connection, timeout), untrusted (TLS verification), an error answer (status and the
 * server's code), an unusable answer (not JSON, wrong shape, too large).
 *
 * Must never: send a join token or node key to a server it has not verified, log a token, or
 * follow redirects.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { request, type RequestOptions } from 'node:https';

import { z } from 'zod';

import { CoreError } from '../errors.ts';
import type { Secret } from '../util/secret.ts';
import { API_ROUTES, type EntriesResponse, type SvidBatchItem, type SvidResponse } from '../online/api.ts';
import { PEM_LABEL, toPem } from '../pki/pem.ts';
import { parseBundle, type TrustBundle } from './svid.ts';

/** The TLS identity of the node (its SVID chain and key, PEM). */
export interface NodeIdentity {
  certChainPem: string;
  keyPem: string;
}

/** Client settings. */
export interface CaClientOptions {
  /** `https://HOST:PORT`. */
  server: string;
  timeoutMs: number;
  /** Largest response body accepted (default 32 MiB). */
  maxResponseBytes?: number;
  /** Aborts requests in flight (the agent stopping). */
  signal?: AbortSignal;
}

/** A raw reply. */
interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL', 'ERR_AGENT_TIMEOUT']);

const svidSchema = z.object({
  spiffeId: z.string().max(2048),
  entryId: z.string().max(128).optional(),
  serial: z.string().regex(/^[0-9a-fA-F]{1,64}$/u),
  notBefore: z.string(),
  notAfter: z.string(),
  svid: z.string().max(65_536),
  chain: z.string().max(1_048_576),
  bundle: z.string().max(4_194_304),
  bundleSequence: z.number().int().nonnegative(),
});
const apiErrorSchema = z.object({ code: z.string().max(100), message: z.string().max(4096) });
const batchSchema = z.object({
  results: z.array(z.union([svidSchema.extend({ ok: z.literal(true) }), z.object({ ok: z.literal(false), entryId: z.string().max(128).nullable(), error: apiErrorSchema })])),
});
const entriesSchema = z.object({
  entries: z.array(
    z.object({
      id: z.string().min(1).max(128),
      spiffeId: z.string().min(1).max(2048),
      selectors: z.array(z.string()),
      ttlSeconds: z.number().int().positive(),
      dnsNames: z.array(z.string()),
      updatedAt: z.string(),
    }),
  ),
  revision: z.string(),
});

/** The answer of {@link CaClient.entries}. */
export type EntriesResult = { changed: false } | { changed: true; etag: string | undefined; entries: EntriesResponse['entries'] };

/** A trust bundle with the sequence the server reported (ETag of /v1/bundle.pem). */
export interface SequencedBundle extends TrustBundle {
  sequence: number | undefined;
}

/** The agent's client for one CA. Stateless: trust and identity are passed to each call. */
export class CaClient {
  readonly #o: Required<Omit<CaClientOptions, 'signal'>> & { signal?: AbortSignal };
  readonly #url: URL;

  constructor(options: CaClientOptions) {
    this.#o = { maxResponseBytes: 32 * 1024 * 1024, ...options };
    this.#url = new URL(options.server);
  }

  /** The server URL. */
  get server(): string {
    return this.#o.server;
  }

  /**
   * First contact: fetches the bundle unverified, keeps the pinned anchors, then fetches it again
   * verified by them and returns that bundle.
   * @throws {CoreError} ERR_AGENT_TRUST_ANCHOR_MISMATCH, ERR_AGENT_SERVER_UNREACHABLE, ERR_AGENT_SERVER_UNTRUSTED, ERR_AGENT_SERVER_ERROR, ERR_AGENT_RESPONSE_INVALID
   */
  async firstContact(pins: { sha256: string[]; anchorsPem?: string }): Promise<SequencedBundle> {
    let anchorsPem = pins.anchorsPem;
    if (anchorsPem === undefined) {
      const unverified = await this.#call('GET', API_ROUTES.bundlePem, { trust: undefined });
      const offered = parseBundle(this.#ok(unverified, 'the trust bundle').toString('utf8'), 'the bundle offered on first contact');
      const pinned = offered.anchors.filter((a) => pins.sha256.includes(a.sha256));
      if (pinned.length === 0) {
        throw new CoreError(
          'ERR_AGENT_TRUST_ANCHOR_MISMATCH',
          `the server at ${this.server} offers trust anchors ${offered.sha256.join(', ')}, none of which is pinned in the configuration (trustAnchors: ${pins.sha256.join(', ') || 'none'}); check the values printed by 'neam-ca token create' and the server URL`,
          { details: { offered: offered.sha256, pinned: pins.sha256 } },
        );
      }
      anchorsPem = pinned.map((a) => toPem(PEM_LABEL.certificate, a.der)).join('');
    }
    return this.bundle({ anchorsPem, trustDomain: undefined });
  }

  /**
   * The current trust bundle (`/v1/bundle.pem`) with its sequence.
   * @throws {CoreError} as {@link firstContact} minus the anchor mismatch
   */
  async bundle(trust: { anchorsPem: string; trustDomain: string | undefined }, node?: NodeIdentity): Promise<SequencedBundle> {
    const r = await this.#call('GET', API_ROUTES.bundlePem, { trust, ...(node === undefined ? {} : { node }) });
    const b = parseBundle(this.#ok(r, 'the trust bundle').toString('utf8'), 'the trust bundle served by the CA');
    const etag = typeof r.headers['etag'] === 'string' ? /^"(\d{1,15})"$/u.exec(r.headers['etag'])?.[1] : undefined;
    return { ...b, sequence: etag === undefined ? undefined : Number(etag) };
  }

  /**
   * Attests with a join token and the node key's CSR.
   * @throws {CoreError} ERR_AGENT_SERVER_ERROR (token refused: code in details.serverCode), and the transport codes
   */
  async attest(trust: { anchorsPem: string }, token: Secret, csrPem: string): Promise<SvidResponse> {
    const body = token.use((t) => JSON.stringify({ token: Buffer.from(t).toString('utf8').trim(), csr: csrPem }));
    const r = await this.#call('POST', API_ROUTES.attest, { trust: { anchorsPem: trust.anchorsPem, trustDomain: undefined }, body });
    return this.#json(r, svidSchema, 'the node SVID') as SvidResponse;
  }

  /** Renews the node SVID. @throws {CoreError} transport and answer codes */
  async renewNode(trust: { anchorsPem: string; trustDomain: string }, node: NodeIdentity, csrPem: string): Promise<SvidResponse> {
    const r = await this.#call('POST', API_ROUTES.renewNode, { trust, node, body: JSON.stringify({ csr: csrPem }) });
    return this.#json(r, svidSchema, 'the renewed node SVID') as SvidResponse;
  }

  /** The entries this node is parent of; `changed: false` on 304. @throws {CoreError} transport and answer codes */
  async entries(trust: { anchorsPem: string; trustDomain: string }, node: NodeIdentity, etag: string | undefined): Promise<EntriesResult> {
    const r = await this.#call('GET', API_ROUTES.entries, { trust, node, ...(etag === undefined ? {} : { headers: { 'if-none-match': etag } }) });
    if (r.status === 304) return { changed: false };
    const v = this.#json(r, entriesSchema, 'the registration entries') as EntriesResponse;
    const tag = r.headers['etag'];
    return { changed: true, etag: typeof tag === 'string' ? tag : undefined, entries: v.entries };
  }

  /** SVIDs for entries: one request, or a batch. @throws {CoreError} transport and answer codes (per-item errors are items) */
  async svids(trust: { anchorsPem: string; trustDomain: string }, node: NodeIdentity, requests: Array<{ entryId: string; csr: string }>): Promise<SvidBatchItem[]> {
    if (requests.length === 1) {
      const req = requests[0] as { entryId: string; csr: string };
      const r = await this.#call('POST', API_ROUTES.svids, { trust, node, body: JSON.stringify(req) });
      if (r.status >= 400 && r.status < 500 && r.status !== 429) {
        const e = this.#errorOf(r, 'an SVID');
        return [{ ok: false, entryId: req.entryId, error: { code: String(e.details?.['serverCode'] ?? 'ERR_AGENT_SERVER_ERROR'), message: e.message } }];
      }
      return [{ ok: true, ...(this.#json(r, svidSchema, 'an SVID') as SvidResponse) }];
    }
    const r = await this.#call('POST', API_ROUTES.svidsBatch, { trust, node, body: JSON.stringify({ requests }) });
    const v = this.#json(r, batchSchema, 'a batch of SVIDs') as { results: SvidBatchItem[] };
    if (v.results.length !== requests.length) throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA answered a batch of ${requests.length} requests with ${v.results.length} results`);
    return v.results;
  }

  /** Every CRL relying parties need (`/v1/crls.pem`). @throws {CoreError} transport and answer codes */
  async crls(trust: { anchorsPem: string; trustDomain: string }, node: NodeIdentity): Promise<string> {
    const r = await this.#call('GET', API_ROUTES.crlsPem, { trust, node });
    return this.#ok(r, 'the CRLs').toString('utf8');
  }

  #ok(r: Reply, what: string): Buffer {
    if (r.status !== 200) throw this.#errorOf(r, what);
    return r.body;
  }

  #json(r: Reply, schema: z.ZodType, what: string): unknown {
    const body = this.#ok(r, what);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA answered the request for ${what} with ${body.length} bytes that are not JSON; the current files stay`);
    }
    const v = schema.safeParse(parsed);
    if (!v.success) {
      const i = v.error.issues[0];
      throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA's answer for ${what} does not have the expected shape (${i === undefined ? 'invalid' : `${i.path.join('.') || '(root)'}: ${i.message}`}); the current files stay`);
    }
    return v.data;
  }

  #errorOf(r: Reply, what: string): CoreError {
    let serverCode: string | undefined;
    let serverMessage = '';
    try {
      const e = apiErrorSchema.safeParse((JSON.parse(r.body.toString('utf8')) as { error?: unknown }).error);
      if (e.success) {
        serverCode = e.data.code;
        serverMessage = e.data.message;
      }
    } catch {
      // not JSON: reported below by status only
    }
    const retryAfter = Number(r.headers['retry-after']);
    const shown = serverCode === undefined ? `HTTP ${r.status} with ${r.body.length === 0 ? 'an empty body' : 'a body that is not an API error'}` : `HTTP ${r.status} ${serverCode}: ${serverMessage.slice(0, 500)}`;
    return new CoreError('ERR_AGENT_SERVER_ERROR', `the CA at ${this.server} refused or failed the request for ${what}: ${shown}`, {
      details: { status: r.status, ...(serverCode === undefined ? {} : { serverCode }), ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: Math.min(retryAfter, 3600) * 1000 } : {}) },
    });
  }

  #call(method: 'GET' | 'POST', path: string, o: { trust: { anchorsPem: string; trustDomain: string | undefined } | undefined; node?: NodeIdentity; body?: string; headers?: Record<string, string> }): Promise<Reply> {
    const u = this.#url;
    const host = u.hostname.replace(/^\[|\]$/gu, '');
    const expectId = o.trust?.trustDomain === undefined ? undefined : `spiffe://${o.trust.trustDomain}/neam-ca/server`;
    const opts: RequestOptions = {
      host,
      port: u.port === '' ? 443 : Number(u.port),
      path,
      method,
      agent: false,
      timeout: this.#o.timeoutMs,
      ...(this.#o.signal === undefined ? {} : { signal: this.#o.signal }),
      minVersion: 'TLSv1.2',
      headers: {
        accept: 'application/json',
        ...(o.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(o.body)) }),
        ...o.headers,
      },
      ...(/^[\d.]+$|:/u.test(host) ? {} : { servername: host }),
      ...(o.node === undefined ? {} : { cert: o.node.certChainPem, key: o.node.keyPem }),
    };
    if (o.trust === undefined) {
      opts.rejectUnauthorized = false;
    } else {
      opts.ca = o.trust.anchorsPem;
      opts.rejectUnauthorized = true;
      opts.checkServerIdentity = (name: string, cert: PeerCertificate): Error | undefined => {
        const hostError = checkServerIdentity(name, cert);
        if (hostError !== undefined) return hostError;
        const uris = (cert.subjectaltname ?? '').split(/,\s*/u).filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
        const ok = expectId === undefined ? uris.some((x) => /^spiffe:\/\/[a-z0-9._-]+\/neam-ca\/server$/u.test(x)) : uris.includes(expectId);
        if (!ok) return Object.assign(new Error(`the server certificate names ${uris.join(', ') || 'no SPIFFE ID'}, not ${expectId ?? 'a NEAM CA server identity'}`), { code: 'ERR_AGENT_SERVER_IDENTITY' });
        return undefined;
      };
    }
    return new Promise<Reply>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(this.#transportError(e, method, path));
      };
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.#o.maxResponseBytes) {
            req.destroy();
            if (!settled) {
              settled = true;
              reject(new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA's answer to ${method} ${path} is larger than ${this.#o.maxResponseBytes} bytes; refused`));
            }
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' })));
      });
      req.on('timeout', () => {
        req.destroy(Object.assign(new Error(`no answer within ${this.#o.timeoutMs} ms`), { code: 'ERR_AGENT_TIMEOUT' }));
      });
      req.on('error', fail);
      if (o.body !== undefined) req.write(o.body);
      req.end();
    });
  }

  #transportError(e: unknown, method: string, path: string): CoreError {
    const code = (e as { code?: string }).code ?? '';
    const msg = e instanceof Error ? e.message : String(e);
    if (code === 'ERR_AGENT_SERVER_IDENTITY' || code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SELF_SIGNED|UNABLE_TO|VERIFY/u.test(code)) {
      return new CoreError('ERR_AGENT_SERVER_UNTRUSTED', `the server at ${this.server} is not the CA this agent trusts (${code}: ${msg.slice(0, 200)}); nothing was sent to it. Check the server URL and the trust bundle`, { cause: e, details: { reason: code } });
    }
    if (UNREACHABLE.has(code) || /socket hang up|ECONN/u.test(msg)) {
      return new CoreError('ERR_AGENT_SERVER_UNREACHABLE', `cannot reach the CA at ${this.server} (${code || msg.slice(0, 100)}) for ${method} ${path}; the current files stay and the agent retries`, { cause: e, details: { reason: code || 'error' } });
    }
    return new CoreError('ERR_AGENT_SERVER_UNREACHABLE', `the connection to the CA at ${this.server} failed (${code || 'error'}: ${msg.slice(0, 200)}) for ${method} ${path}; the current files stay and the agent retries`, { cause: e, details: { reason: code || 'error' } });
  }
}
