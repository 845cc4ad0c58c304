/**
 * @module agent/config
 * The `neam-ca agent` configuration (YAML or JSON): the CA's URL, the trust anchors pinned for first
 * contact, the join token file, the state and workloads directories, the poll interval, the
 * rotation policy, request and hook timeouts, metrics, and per-workload settings (folder name,
 * post-rotation hook, CRL delivery, file owner) keyed by SPIFFE ID, entry id or workload name. Validation is
 * strict (unknown keys are errors) and reports every problem at once with its dotted path.
 * Durations accept seconds (`30`, `0.5`) or `250ms`, `30s`, `5m`, `24h`, `7d`; relative paths are
 * resolved against the configuration file's directory.
 *
 * Must never: hold a secret (the join token lives in its own 0600 file, read only when needed).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { validateWorkloadName } from './delivery.ts';
import { DEFAULT_ROTATION, validateRotationPolicy, type RotationPolicy } from './rotation.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration into milliseconds: a number of seconds (`30`, `0.5`) or a string with a unit
 * (`250ms`, `30s`, `5m`, `24h`, `7d`).
 * @throws {CoreError} ERR_AGENT_CONFIG_INVALID
 */
export function parseDurationMs(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
    throw new CoreError('ERR_AGENT_CONFIG_INVALID', `${what} must be a non-negative number of seconds (got ${value})`);
  }
  const m = /^(\d{1,9}(?:\.\d{1,6})?)(ms|s|m|h|d)?$/u.exec(value.trim());
  if (m === null) throw new CoreError('ERR_AGENT_CONFIG_INVALID', `${what} '${value.slice(0, 40)}' is not a duration; use e.g. 30, 250ms, 30s, 5m, 24h or 7d`);
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number));
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseDurationMs(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const hookSchema = z.union([
  z.array(z.string().min(1)).min(1),
  z.strictObject({ command: z.array(z.string().min(1)).min(1), timeout: duration.optional() }),
]);

const workloadSchema = z.strictObject({
  /** Folder name under workloadsDir (default: derived from the SPIFFE ID path). */
  name: z.string().optional(),
  /** argv run after each change of this workload's files. */
  hook: hookSchema.optional(),
  /** Also deliver `crls.pem` (every CRL a relying party needs), refreshed within the poll interval. */
  crls: z.boolean().optional(),
  /** Numeric `UID[:GID]` that owns the delivered folder and files (the agent must run as root). */
  owner: z.union([z.string(), z.number()]).optional(),
});

const hostPort = z.string().transform((v, ctx) => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/u.exec(v);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `'${v}' is not HOST:PORT (e.g. 127.0.0.1:9721)` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : (m[2] as string)), port };
});

/** The configuration schema (before defaults are resolved). */
export const agentConfigSchema = z.strictObject({
  server: z.string(),
  trustAnchors: z.array(z.string()).optional(),
  trustBundleFile: z.string().optional(),
  joinTokenFile: z.string().optional(),
  stateDir: z.string(),
  workloadsDir: z.string(),
  pollInterval: duration.default(30_000),
  requestTimeout: duration.default(30_000),
  rotation: z
    .strictObject({
      ratio: z.number().optional(),
      jitter: z.number().optional(),
      backoffBase: duration.optional(),
      backoffCap: duration.optional(),
      alertWindow: duration.optional(),
    })
    .optional(),
  hookTimeout: duration.default(30_000),
  checkRevocation: z.boolean().default(true),
  onlyListed: z.boolean().default(false),
  metrics: z.strictObject({ listen: hostPort.optional(), file: z.string().optional() }).optional(),
  workloads: z.record(z.string(), workloadSchema).default({}),
});

/** A workload's hook, resolved. */
export interface ResolvedHook {
  command: string[];
  timeoutMs: number;
}

/** Per-workload settings, resolved. */
export interface WorkloadSettings {
  /** The key it was listed under (SPIFFE ID, entry id or name). */
  key: string;
  name?: string;
  hook?: ResolvedHook;
  crls: boolean;
  /** Owner of the delivered files (default: the agent's user). */
  owner?: { uid: number; gid: number };
}

/** The validated, resolved agent configuration. */
export interface AgentConfig {
  /** Absolute path of the file it came from (or '(inline)'). */
  source: string;
  /** `https://HOST:PORT` without a trailing slash. */
  server: string;
  /** Lower-case hex SHA-256 of each pinned trust anchor (DER). */
  trustAnchors: string[];
  trustBundleFile?: string;
  joinTokenFile?: string;
  stateDir: string;
  workloadsDir: string;
  pollIntervalMs: number;
  requestTimeoutMs: number;
  hookTimeoutMs: number;
  rotation: RotationPolicy;
  checkRevocation: boolean;
  onlyListed: boolean;
  metrics: { listen?: { host: string; port: number }; file?: string };
  workloads: WorkloadSettings[];
}

/**
 * Validates a configuration object; relative paths are resolved against `baseDir`.
 * @throws {CoreError} ERR_AGENT_CONFIG_INVALID listing every problem with its path
 */
export function parseAgentConfig(input: unknown, baseDir: string, source = '(inline)'): AgentConfig {
  const r = agentConfigSchema.safeParse(input ?? {});
  const problems: Problem[] = [];
  if (!r.success) {
    for (const i of r.error.issues) problems.push({ path: i.path.map(String).join('.'), message: i.message });
    throw invalid(source, problems);
  }
  const c = r.data;
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));

  let server = c.server.replace(/\/+$/u, '');
  try {
    const u = new URL(server);
    if (u.protocol !== 'https:') problems.push({ path: 'server', message: `must be an https:// URL (the agent speaks mutual TLS to the CA); got ${u.protocol}` });
    else if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') problems.push({ path: 'server', message: 'must be https://HOST[:PORT] with no path, query or credentials' });
    server = `https://${u.host}`;
  } catch {
    problems.push({ path: 'server', message: `'${c.server.slice(0, 80)}' is not a URL; use https://HOST:PORT` });
  }

  const anchors = (c.trustAnchors ?? []).map((a, i) => {
    const hex = a.replace(/[:\s]/gu, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/u.test(hex)) problems.push({ path: `trustAnchors.${i}`, message: 'must be a SHA-256 fingerprint (64 hex digits, colons allowed) as printed by neam-ca token create' });
    return hex;
  });

  const stateDir = path(c.stateDir);
  const workloadsDir = path(c.workloadsDir);
  const inside = (a: string, b: string): boolean => {
    const rel = relative(b, a);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (inside(workloadsDir, stateDir) || inside(stateDir, workloadsDir)) {
    problems.push({ path: 'workloadsDir', message: 'must not be the state directory, inside it, or contain it (the node key must stay apart from workload files)' });
  }
  if (c.pollInterval < 100) problems.push({ path: 'pollInterval', message: 'must be at least 100ms' });
  if (c.requestTimeout < 100) problems.push({ path: 'requestTimeout', message: 'must be at least 100ms' });
  if (c.hookTimeout < 100) problems.push({ path: 'hookTimeout', message: 'must be at least 100ms' });

  const rotation: RotationPolicy = {
    ratio: c.rotation?.ratio ?? DEFAULT_ROTATION.ratio,
    jitterFraction: c.rotation?.jitter ?? DEFAULT_ROTATION.jitterFraction,
    backoffBase: c.rotation?.backoffBase ?? DEFAULT_ROTATION.backoffBase,
    backoffCap: c.rotation?.backoffCap ?? DEFAULT_ROTATION.backoffCap,
    alertWindow: c.rotation?.alertWindow ?? DEFAULT_ROTATION.alertWindow,
  };
  for (const p of validateRotationPolicy(rotation)) {
    const field = p.split(' ')[0] ?? '';
    problems.push({ path: `rotation.${field === 'jitterFraction' ? 'jitter' : field}`, message: p.slice(field.length + 1) });
  }

  const names = new Map<string, string>();
  const workloads: WorkloadSettings[] = Object.entries(c.workloads).map(([key, w]) => {
    if (key.startsWith('spiffe://') && !/^spiffe:\/\/[a-z0-9._-]+\/[A-Za-z0-9._/-]+$/u.test(key)) {
      problems.push({ path: `workloads.${key}`, message: 'is not a workload SPIFFE ID (spiffe://TRUST-DOMAIN/PATH)' });
    }
    if (w.name !== undefined) {
      try {
        validateWorkloadName(w.name);
      } catch (e) {
        problems.push({ path: `workloads.${key}.name`, message: (e as Error).message });
      }
      const other = names.get(w.name);
      if (other !== undefined) problems.push({ path: `workloads.${key}.name`, message: `'${w.name}' is also the name of workloads.${other}; each workload needs its own folder` });
      names.set(w.name, key);
    }
    let owner: { uid: number; gid: number } | undefined;
    if (w.owner !== undefined) {
      const m = /^(\d{1,10})(?::(\d{1,10}))?$/u.exec(String(w.owner));
      const uid = Number(m?.[1]);
      const gid = m?.[2] === undefined ? (process.getgid?.() ?? 0) : Number(m[2]);
      if (m === null || uid > 0x7fffffff || gid > 0x7fffffff) problems.push({ path: `workloads.${key}.owner`, message: `'${String(w.owner).slice(0, 40)}' is not a numeric UID or UID:GID (e.g. 101:101; 'id -u www-data' prints the number)` });
      else owner = { uid, gid };
    }
    const hook: ResolvedHook | undefined =
      w.hook === undefined ? undefined : Array.isArray(w.hook) ? { command: w.hook, timeoutMs: c.hookTimeout } : { command: w.hook.command, timeoutMs: w.hook.timeout ?? c.hookTimeout };
    return { key, ...(w.name === undefined ? {} : { name: w.name }), ...(hook === undefined ? {} : { hook }), crls: w.crls ?? false, ...(owner === undefined ? {} : { owner }) };
  });

  const metrics: AgentConfig['metrics'] = {};
  if (c.metrics?.listen !== undefined) metrics.listen = c.metrics.listen;
  if (c.metrics?.file !== undefined) metrics.file = path(c.metrics.file);

  if (problems.length > 0) throw invalid(source, problems);
  return {
    source,
    server,
    trustAnchors: anchors,
    ...(c.trustBundleFile === undefined ? {} : { trustBundleFile: path(c.trustBundleFile) }),
    ...(c.joinTokenFile === undefined ? {} : { joinTokenFile: path(c.joinTokenFile) }),
    stateDir,
    workloadsDir,
    pollIntervalMs: c.pollInterval,
    requestTimeoutMs: c.requestTimeout,
    hookTimeoutMs: c.hookTimeout,
    rotation,
    checkRevocation: c.checkRevocation,
    onlyListed: c.onlyListed,
    metrics,
    workloads,
  };
}

function invalid(source: string, problems: Problem[]): CoreError {
  return new CoreError('ERR_AGENT_CONFIG_INVALID', `the agent configuration ${source} is invalid:\n${formatProblems(problems)}`, { details: { problems } });
}

/** Largest configuration file read (1 MiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads and validates a configuration file (YAML or JSON; duplicate keys are errors).
 * @throws {CoreError} ERR_AGENT_CONFIG_INVALID, ERR_IO
 */
export function loadAgentConfig(file: string): AgentConfig {
  const path = resolve(file);
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (e) {
    throw new CoreError('ERR_IO', `cannot read the agent configuration ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  if (text.length > MAX_CONFIG_BYTES) throw new CoreError('ERR_AGENT_CONFIG_INVALID', `the agent configuration ${path} is ${text.length} bytes; at most ${MAX_CONFIG_BYTES} are read`);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(text);
  } catch {
    source = '\u0000';
  }
  if (source.includes('\u0000')) throw new CoreError('ERR_AGENT_CONFIG_INVALID', `the agent configuration ${path} is not a text file (YAML or JSON in UTF-8); check the path`);
  let parsed: unknown;
  try {
    parsed = parseYaml(source, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (e) {
    throw new CoreError('ERR_AGENT_CONFIG_INVALID', `the agent configuration ${path} is not valid YAML/JSON: ${((e as Error).message.split('\n')[0] ?? '').slice(0, 200)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CoreError('ERR_AGENT_CONFIG_INVALID', `the agent configuration ${path} must hold a mapping of settings (server, stateDir, workloadsDir, …)`);
  return parseAgentConfig(parsed, dirname(path), path);
}

/**
 * The settings that apply to an entry: listed under its SPIFFE ID, else its entry id, else its
 * derived name. Undefined when the entry is not listed.
 */
export function settingsFor(config: AgentConfig, entry: { id: string; spiffeId: string }, derivedName: string | undefined): WorkloadSettings | undefined {
  return (
    config.workloads.find((w) => w.key === entry.spiffeId) ??
    config.workloads.find((w) => w.key === entry.id) ??
    (derivedName === undefined ? undefined : config.workloads.find((w) => w.key === derivedName))
  );
}

/**
 * The default folder name of a workload: its SPIFFE ID path with '/' replaced by '-' (e.g.
 * `spiffe://td/ns/web/sa/nginx` → `ns-web-sa-nginx`), or undefined when that is not a valid name
 * (then the configuration must give one).
 */
export function derivedWorkloadName(spiffeId: string): string | undefined {
  const m = /^spiffe:\/\/[^/]+\/(.+)$/u.exec(spiffeId);
  if (m === null) return undefined;
  const name = (m[1] as string).replace(/\//gu, '-');
  try {
    validateWorkloadName(name);
    return name;
  } catch {
    return undefined;
  }
}
