/**
 * @module online/config
 * The `neam-ca serve` configuration (YAML or JSON file, and command-line overrides): listeners,
 * the public URL written into certificates (OCSP and CRL locations), the server's own names,
 * worker threads, SVID lifetimes, CRL/OCSP timing, the trust bundle refresh hint, the coverage
 * warning threshold and the request limits. Validation is strict (unknown keys are errors) and
 * reports every problem at once with its dotted path. Durations accept seconds or `30s`, `5m`,
 * `24h`, `90d`.
 *
 * Must never: hold a secret (the token PIN comes from a file, the environment or a prompt).
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';

import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { dnsNameProblem } from './entries.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses `90`, `30s`, `5m`, `24h`, `90d` into seconds.
 * @throws {CoreError} ERR_INPUT_INVALID
 */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (Number.isInteger(text) && text > 0) return text;
    throw new CoreError('ERR_INPUT_INVALID', `${what} must be a positive whole number of seconds (got ${text})`);
  }
  const m = /^(\d{1,9})([smhd]?)$/u.exec(text.trim());
  if (m === null || Number(m[1]) === 0) throw new CoreError('ERR_INPUT_INVALID', `${what} '${text}' is not a duration; use e.g. 90, 30s, 5m, 24h or 90d`);
  return Number(m[1]) * (UNITS[m[2] === '' ? 's' : (m[2] as string)] as number);
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const hostPort = z.string().transform((v, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/u.exec(v);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `'${v}' is not HOST:PORT (e.g. 0.0.0.0:8443, 127.0.0.1:0, [::1]:8443)` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] as string)), port };
});

const rate = z.strictObject({ ratePerSecond: z.number().min(0), burst: z.number().int().min(1) });

/** The configuration schema. */
export const serveConfigSchema = z.strictObject({
  listen: hostPort.default({ host: '0.0.0.0', port: 8443 }),
  httpListen: hostPort.optional(),
  publicUrl: z
    .string()
    .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/u, 'must be http(s)://HOST[:PORT] with no path')
    .optional(),
  serverDnsNames: z.array(z.string()).default(['localhost']),
  serverIpAddresses: z.array(z.string()).default(['127.0.0.1']),
  // One core stays with the main thread (TLS, HTTP, authorisation) and the record writer.
  workers: z.number().int().min(0).max(64).default(Math.max(1, availableParallelism() - 1)),
  svid: z
    .strictObject({
      defaultTtl: duration.default(86_400),
      maxTtl: duration.default(86_400),
      nodeTtl: duration.default(86_400),
      serverTtl: duration.default(86_400),
    })
    .default({ defaultTtl: 86_400, maxTtl: 86_400, nodeTtl: 86_400, serverTtl: 86_400 }),
  crl: z.strictObject({ interval: duration.default(300), validity: duration.default(86_400) }).default({ interval: 300, validity: 86_400 }),
  ocsp: z.strictObject({ validity: duration.default(3600) }).default({ validity: 3600 }),
  bundle: z.strictObject({ refreshHint: duration.default(300) }).default({ refreshHint: 300 }),
  coverageWarning: duration.default(30 * 86_400),
  /** `full`: fsync before a certificate is returned; `batched`: WAL fsynced every 100 ms (see docs/online.md). */
  recordDurability: z.enum(['full', 'batched']).default('full'),
  limits: z
    .strictObject({
      maxBodyBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(65_536),
      maxBatch: z.number().int().min(1).max(1000).default(100),
      perNode: rate.default({ ratePerSecond: 200, burst: 2000 }),
      attest: rate.default({ ratePerSecond: 2, burst: 10 }),
      maxPending: z.number().int().min(1).default(20_000),
      maxConnections: z.number().int().min(1).default(10_000),
      requestTimeout: duration.default(30),
    })
    .default({ maxBodyBytes: 65_536, maxBatch: 100, perNode: { ratePerSecond: 200, burst: 2000 }, attest: { ratePerSecond: 2, burst: 10 }, maxPending: 20_000, maxConnections: 10_000, requestTimeout: 30 }),
});

/** The validated configuration. */
export type ServeConfig = z.output<typeof serveConfigSchema>;

/**
 * Validates a configuration object, reporting every problem with its path.
 * @throws {CoreError} ERR_CONFIG_INVALID
 */
export function parseServeConfig(input: unknown, source = 'the configuration'): ServeConfig {
  const r = serveConfigSchema.safeParse(input ?? {});
  const problems: Problem[] = [];
  if (!r.success) {
    for (const i of r.error.issues) problems.push({ path: i.path.map(String).join('.'), message: i.message });
  } else {
    const c = r.data;
    c.serverDnsNames.forEach((d, i) => {
      const p = dnsNameProblem(d);
      if (p !== undefined) problems.push({ path: `serverDnsNames.${i}`, message: `'${d}' ${p}` });
    });
    c.serverIpAddresses.forEach((ip, i) => {
      if (isIP(ip) === 0 || ip.includes('.') && ip.includes(':')) problems.push({ path: `serverIpAddresses.${i}`, message: `'${ip}' is not an IPv4 or IPv6 address` });
    });
    if (c.svid.defaultTtl > c.svid.maxTtl) problems.push({ path: 'svid.defaultTtl', message: `is longer than svid.maxTtl (${c.svid.maxTtl} s)` });
    if (c.svid.nodeTtl > c.svid.maxTtl) problems.push({ path: 'svid.nodeTtl', message: `is longer than svid.maxTtl (${c.svid.maxTtl} s)` });
    if (c.svid.serverTtl > c.svid.maxTtl) problems.push({ path: 'svid.serverTtl', message: `is longer than svid.maxTtl (${c.svid.maxTtl} s)` });
    if (c.crl.validity <= c.crl.interval) problems.push({ path: 'crl.validity', message: `must be longer than crl.interval (${c.crl.interval} s), or relying parties see expired CRLs between publications` });
    if (problems.length === 0) return c;
  }
  throw new CoreError('ERR_CONFIG_INVALID', `${source} is invalid:\n${formatProblems(problems)}`, { details: { problems } });
}
