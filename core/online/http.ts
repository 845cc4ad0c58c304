/**
 * @module online/http
 * HTTP plumbing of the online server: bounded body reading (Content-Length checked before
 * reading, the stream cut off at the limit), strict JSON bodies (an object with only the expected
 * fields), JSON and binary replies, and the mapping from error codes to HTTP status codes. Error
 * bodies are `{"error":{"code","message"}}` with the stable code.
 *
 * Must never: echo request bodies into errors or logs (they may hold join tokens); send an
 * unvetted library message (unknown errors become ERR_INTERNAL).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { CoreError, serializeError, type CoreErrorCode } from '../errors.ts';

const STATUS: Partial<Record<CoreErrorCode, number>> = {
  ERR_ONLINE_UNAUTHENTICATED: 401,
  ERR_ONLINE_TOKEN_INVALID: 401,
  ERR_ONLINE_TOKEN_EXPIRED: 401,
  ERR_ONLINE_TOKEN_USED: 401,
  ERR_ONLINE_FORBIDDEN: 403,
  ERR_ONLINE_NOT_PARENT: 403,
  ERR_ONLINE_ENTRY_NOT_FOUND: 404,
  ERR_NOT_FOUND: 404,
  ERR_ONLINE_ENTRY_EXISTS: 409,
  ERR_ALREADY_EXISTS: 409,
  ERR_ONLINE_REQUEST_TOO_LARGE: 413,
  ERR_INPUT_TOO_LARGE: 413,
  ERR_ONLINE_RATE_LIMITED: 429,
  ERR_ONLINE_NO_ACTIVE_INTERMEDIATE: 503,
  ERR_ONLINE_UNAVAILABLE: 503,
  ERR_ONLINE_NOT_INITIALIZED: 503,
  ERR_INTERNAL: 500,
  ERR_STORE_FAILED: 500,
  ERR_STORE_CONSTRAINT: 500,
  ERR_HSM_FAILED: 500,
  ERR_HSM_DEVICE_ERROR: 500,
  ERR_HSM_SESSION_CLOSED: 500,
};

/** The HTTP status of an error code (400 for other client errors). */
export function httpStatusOf(code: CoreErrorCode): number {
  return STATUS[code] ?? (code.startsWith('ERR_STORE_') || code.startsWith('ERR_HSM_') ? 500 : 400);
}

/** Marks an error response that must also close the connection (e.g. an unread oversized body). */
export const CLOSE_AFTER = Symbol('closeAfter');

/**
 * Reads a request body of at most `limit` bytes.
 * @throws {CoreError} ERR_ONLINE_REQUEST_TOO_LARGE, ERR_ONLINE_REQUEST_INVALID
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && (!/^\d{1,12}$/u.test(declared) || Number(declared) > limit)) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(new CoreError('ERR_ONLINE_REQUEST_INVALID', 'the request body could not be read', { cause: e }));
    });
  });
}

function tooLarge(limit: number): CoreError {
  const e = new CoreError('ERR_ONLINE_REQUEST_TOO_LARGE', `the request body is larger than ${limit} bytes; send one CSR per request (or at most the batch limit), nothing else`);
  (e as unknown as Record<symbol, boolean>)[CLOSE_AFTER] = true;
  return e;
}

/** The fields a JSON body may carry, and whether each is required. */
export type BodyShape = Record<string, { type: 'string' | 'number' | 'array' | 'object'; required: boolean; maxLength?: number }>;

/**
 * Parses a JSON object body and checks its fields (unknown fields are refused).
 * @throws {CoreError} ERR_ONLINE_REQUEST_INVALID
 */
export function parseJsonBody(req: IncomingMessage, body: Buffer, shape: BodyShape): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;\s*charset=utf-8\s*)?$/iu.test(type)) {
    throw new CoreError('ERR_ONLINE_REQUEST_INVALID', `the request must have Content-Type application/json (got '${type.slice(0, 60)}')`);
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CoreError('ERR_ONLINE_REQUEST_INVALID', 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', 'the request body must be a JSON object');
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(obj)) if (shape[k] === undefined) problems.push(`unknown field '${k.slice(0, 40)}'`);
  for (const [k, s] of Object.entries(shape)) {
    const v = obj[k];
    if (v === undefined) {
      if (s.required) problems.push(`field '${k}' is required`);
      continue;
    }
    const actual = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (actual !== s.type) problems.push(`field '${k}' must be ${s.type === 'array' ? 'an array' : `a ${s.type}`}`);
    else if (s.maxLength !== undefined && ((typeof v === 'string' && v.length > s.maxLength) || (Array.isArray(v) && v.length > s.maxLength))) problems.push(`field '${k}' is longer than ${s.maxLength}`);
  }
  if (problems.length > 0) throw new CoreError('ERR_ONLINE_REQUEST_INVALID', `the request body is invalid: ${problems.join('; ')}`);
  return obj;
}

/** Sends a JSON reply. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/** Sends bytes or text with a content type. */
export function sendBytes(res: ServerResponse, status: number, contentType: string, body: Buffer | string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length, ...headers });
  res.end(body);
}

/** Sends an error reply; returns the code for metrics. */
export function sendError(res: ServerResponse, e: unknown, extraHeaders: Record<string, string> = {}): CoreErrorCode {
  const s = serializeError(e);
  const close = e instanceof CoreError && (e as unknown as Record<symbol, boolean>)[CLOSE_AFTER] === true;
  if (res.headersSent) {
    res.destroy();
    return s.code;
  }
  sendJson(res, httpStatusOf(s.code), { error: { code: s.code, message: s.message } }, close ? { ...extraHeaders, connection: 'close' } : extraHeaders);
  return s.code;
}
