/**
 * @module electron/loopback/server
 * The loopback host: the same contract, served to the same renderer, over HTTP on 127.0.0.1, so
 * the workstation UI runs in Chromium for development, tests and machines without the Electron
 * binary (`npm run app:browser`). Layout of its URL space, all under a random per-launch token:
 *
 *   GET  /<token>/…            the built renderer (LOOPBACK_CSP and security headers)
 *   POST /<token>/api/<channel> one contract call; JSON request, JSON `Result` reply
 *   GET  /<token>/events       contract events as a server-sent event stream
 *
 * Every request passes, in order: the peer is a loopback address (checked when the connection is
 * accepted and again per request; a 127.0.0.1-bound socket still accepts local packets whose source
 * is another interface's address), the Host header is exactly `127.0.0.1:<port>` (DNS rebinding),
 * the path starts with the token (constant-time comparison). API calls must also be POSTs from our
 * own origin (`Origin` header required), with a JSON body of bounded size.
 *
 * Must never: listen on anything but 127.0.0.1, log a URL (it carries the token) or a request
 * body, answer CORS preflights, or serve outside the renderer folder.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type Socket } from 'node:net';

import type { Logger } from '../../core/log/logger.ts';
import { LOOPBACK_CSP, SECURITY_HEADERS, uiHeaders } from '../host/csp.ts';
import { createEmitters, type Router } from '../host/router.ts';
import { readStatic } from '../host/static-files.ts';
import { contract, type Contract } from '../ipc/contract.ts';
import { failure, type Emitters, type Result } from '../ipc/schema.ts';

/** The address the host binds to, and the only one it serves. */
export const LOOPBACK_ADDRESS = '127.0.0.1';
/** Largest API request body (contract requests are small; a ceremony script is read by path). */
export const MAX_BODY_BYTES = 64 * 1024;

/** Why a request was refused (counted for tests and diagnostics). */
export type Refusal = 'peer' | 'host' | 'token' | 'origin' | 'method' | 'content-type' | 'too-large' | 'fetch-site';

/** True for IPv4 127.0.0.0/8, IPv6 ::1, and IPv4-mapped 127.0.0.0/8. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.split('.')[0] === '127';
  return isIPv6(address) && (address === '::1' || address === '0:0:0:0:0:0:0:1');
}

/** Options of {@link startLoopbackHost}. */
export interface LoopbackHostOptions {
  router: Router;
  rendererDir: string;
  logger: Logger;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Random bytes for the token (default node:crypto). */
  random?: (n: number) => Uint8Array;
}

/** A running host. */
export interface LoopbackHost {
  /** The URL to open, token included. */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  /** Sends contract events to every connected page. */
  readonly emit: Emitters<Contract>;
  /** Sends an already validated event (from an `EventHub`) to every connected page. */
  send(channel: string, payload: unknown): void;
  /** Refusals so far, by reason. */
  readonly refusals: Readonly<Record<Refusal, number>>;
  close(): Promise<void>;
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function sendJson(res: ServerResponse, status: number, body: Result<unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Content-Security-Policy': "default-src 'none'", ...SECURITY_HEADERS });
  res.end(text);
}

function sendPlain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Content-Security-Policy': "default-src 'none'", ...SECURITY_HEADERS, ...extra });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      resolveBody('too-large');
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolveBody(over ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the host on 127.0.0.1. */
export async function startLoopbackHost(options: LoopbackHostOptions): Promise<LoopbackHost> {
  const random = options.random ?? ((n: number) => randomBytes(n));
  const token = Buffer.from(random(32)).toString('base64url');
  const { logger, router, rendererDir } = options;
  const refusals: Record<Refusal, number> = { peer: 0, host: 0, token: 0, origin: 0, method: 0, 'content-type': 0, 'too-large': 0, 'fetch-site': 0 };
  const clients = new Set<ServerResponse>();
  let port = 0;

  const refuse = (res: ServerResponse, reason: Refusal, status: number, text: string): void => {
    refusals[reason]++;
    logger.warn('loopback request refused', { reason });
    sendPlain(res, status, text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      refusals.peer++;
      req.socket.destroy();
      return;
    }
    if (req.headers.host !== `${LOOPBACK_ADDRESS}:${port}`) return refuse(res, 'host', 421, `this host answers only as ${LOOPBACK_ADDRESS}:${port}`);
    const rawPath = (req.url ?? '').split('?')[0] ?? '';
    const match = /^\/([A-Za-z0-9_-]+)(\/.*)?$/u.exec(rawPath);
    if (match === null || !tokensEqual(match[1] ?? '', token)) return refuse(res, 'token', 403, 'forbidden: open the address printed by `npm run app:browser`, including its key');
    const rest = match[2] ?? '';
    const fetchSite = req.headers['sec-fetch-site'];
    if (rest === '') return sendPlain(res, 308, 'moved', { Location: `/${token}/` });

    if (rest.startsWith('/api/')) {
      if (req.method !== 'POST') return refuse(res, 'method', 405, 'API calls are POST requests');
      if (req.headers.origin !== `http://${LOOPBACK_ADDRESS}:${port}`) return refuse(res, 'origin', 403, 'forbidden: API calls are accepted only from the workstation page itself');
      if (fetchSite !== undefined && fetchSite !== 'same-origin') return refuse(res, 'fetch-site', 403, 'forbidden: cross-site request');
      if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return refuse(res, 'content-type', 415, 'API calls send application/json');
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === 'too-large') {
        refusals['too-large']++;
        return sendJson(res, 413, failure('ERR_INPUT_TOO_LARGE', `the request is larger than ${MAX_BODY_BYTES} bytes`));
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return sendJson(res, 400, failure('ERR_APP_REQUEST_INVALID', 'the request body is not JSON'));
      }
      const route = router.get(rest.slice('/api/'.length));
      if (route === undefined) return sendJson(res, 404, failure('ERR_APP_REQUEST_INVALID', 'no such operation'));
      return sendJson(res, 200, await route(parsed, { host: 'loopback' }));
    }

    if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') return refuse(res, 'fetch-site', 403, 'forbidden: cross-site request');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 'method', 405, 'method not allowed');

    if (rest === '/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Content-Security-Policy': "default-src 'none'", ...SECURITY_HEADERS });
      res.write(': connected\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }

    const file = readStatic(rendererDir, rest);
    if (file === null) return sendPlain(res, 404, 'not found');
    res.writeHead(200, { ...uiHeaders(LOOPBACK_CSP, file.contentType), 'Content-Length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };

  const server: Server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch(() => {
      logger.error('loopback request failed unexpectedly');
      if (!res.headersSent) sendJson(res, 500, failure('ERR_INTERNAL', 'internal error (please report this as a bug): the host failed to answer'));
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    if (!isLoopbackAddress(socket.remoteAddress)) {
      refusals.peer++;
      logger.warn('loopback connection refused: not a loopback peer');
      socket.destroy();
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK_ADDRESS, port: options.port ?? 0, exclusive: true }, () => resolveListen());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the loopback host has no TCP address');
  port = address.port;
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const send = (channel: string, payload: unknown): void => {
    const frame = `event: ${channel}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const c of clients) c.write(frame);
  };
  const emit = createEmitters(contract, send);
  const origin = `http://${LOOPBACK_ADDRESS}:${port}`;
  return {
    url: `${origin}/${token}/`,
    origin,
    port,
    token,
    emit,
    send,
    refusals,
    close: () =>
      new Promise<void>((resolveClose) => {
        clearInterval(heartbeat);
        for (const c of clients) c.end();
        clients.clear();
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
