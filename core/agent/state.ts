/**
 * @module agent/state
 * The agent's persisted state in its state directory: `state.json` (mode 0600, replaced atomically)
 * holds the node's identity and schedule, the trust bundle, the entries' ETag, and for each
 * workload its entry, folder name, the serial and validity of the delivered SVID, its renewal time,
 * the backoff position and the last error. The node's key and SVID are delivered like a workload's
 * (`STATE/node` → generation folder with `svid.key` 0600), and `crls.pem` caches the CRL set.
 * The delivered files are the truth for certificates: on start the agent re-reads them, so a crash
 * between a delivery and a state save loses nothing.
 *
 * Must never: hold a private key or a join token (only the token's SHA-256, to avoid reusing it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { z } from 'zod';

import { CoreError, isCoreError } from '../errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

/** File names in the state directory. */
export const STATE_FILES = { state: 'state.json', crls: 'crls.pem', node: 'node' } as const;

const errorSchema = z.object({ code: z.string(), message: z.string(), at: z.number() });
const scheduleSchema = z.object({
  serial: z.string(),
  notBefore: z.number(),
  notAfter: z.number(),
  due: z.number(),
  attempt: z.number().int().min(0),
  retryAt: z.number().optional(),
});
const workloadSchema = z.object({
  entryId: z.string(),
  spiffeId: z.string(),
  name: z.string(),
  updatedAt: z.string(),
  schedule: scheduleSchema.optional(),
  lastError: errorSchema.optional(),
  lastRotationAt: z.number().optional(),
  hookPending: z.boolean().optional(),
  hookError: errorSchema.optional(),
});
/** The state file's schema. */
export const agentStateSchema = z.object({
  version: z.literal(1),
  server: z.string(),
  trustDomain: z.string().optional(),
  nodeId: z.string().optional(),
  usedTokenSha256: z.string().optional(),
  bundle: z.object({ pem: z.string(), sha256: z.string(), sequence: z.number().optional() }).optional(),
  entriesEtag: z.string().optional(),
  /** Summary key of the CRL set last delivered (issuers and revoked serials). */
  crlsSha256: z.string().optional(),
  /** When the delivered CRLs are half-way to their nextUpdate (wall ms): re-deliver fresh ones. */
  crlsRefreshAt: z.number().optional(),
  node: z.object({ schedule: scheduleSchema, lastError: errorSchema.optional() }).optional(),
  nodeError: errorSchema.optional(),
  workloads: z.array(workloadSchema),
  /** Problems with entries that could not be delivered (e.g. no valid folder name). */
  entryProblems: z.array(z.object({ entryId: z.string(), spiffeId: z.string(), message: z.string() })).default([]),
  lastPoll: z.object({ at: z.number(), ok: z.boolean(), error: errorSchema.optional() }).optional(),
  updatedAt: z.number(),
});

/** A renewal schedule as persisted (wall-clock ms). */
export type PersistedSchedule = z.infer<typeof scheduleSchema>;
/** A recorded error. */
export type RecordedError = z.infer<typeof errorSchema>;
/** A workload as persisted. */
export type WorkloadRecord = z.infer<typeof workloadSchema>;
/** The whole persisted state. */
export type AgentState = z.infer<typeof agentStateSchema>;

/** A fresh state for a new agent. */
export function emptyState(server: string, nowMs: number): AgentState {
  return { version: 1, server, workloads: [], entryProblems: [], updatedAt: nowMs };
}

/**
 * Reads `state.json`; undefined when the agent never ran here.
 * @throws {CoreError} ERR_AGENT_STATE_INVALID (unreadable or not a state file)
 */
export function loadState(stateDir: string): AgentState | undefined {
  const path = join(stateDir, STATE_FILES.state);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CoreError('ERR_AGENT_STATE_INVALID', `cannot read the agent state ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CoreError('ERR_AGENT_STATE_INVALID', `the agent state ${path} is not JSON (${text.length} bytes); move it away to start over (the delivered files stay valid; the agent needs a new join token if the node key is lost)`);
  }
  const r = agentStateSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CoreError('ERR_AGENT_STATE_INVALID', `the agent state ${path} is not a state file of this version (${i === undefined ? 'invalid' : `${i.path.join('.')}: ${i.message}`}); move it away to start over`);
  }
  return r.data;
}

/**
 * Saves `state.json` atomically (mode 0600).
 * @throws {CoreError} ERR_AGENT_DISK_FULL, ERR_AGENT_WRITE_FAILED
 */
export function saveState(stateDir: string, state: AgentState): void {
  try {
    writeFileAtomic(join(stateDir, STATE_FILES.state), `${JSON.stringify(state)}\n`, 0o600);
  } catch (e) {
    const errno = isCoreError(e) ? (e.details?.['errno'] as string | undefined) : (e as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') throw new CoreError('ERR_AGENT_DISK_FULL', `no space left to save the agent state in ${stateDir}; the previous state file stays. Free disk space; the agent retries`, { cause: e });
    throw new CoreError('ERR_AGENT_WRITE_FAILED', `saving the agent state in ${stateDir} failed (${errno ?? 'error'}); the previous state file stays`, { cause: e });
  }
}

/**
 * Saves the cached CRL set (`crls.pem`, atomically).
 * @throws {CoreError} ERR_AGENT_DISK_FULL, ERR_AGENT_WRITE_FAILED
 */
export function saveCrls(stateDir: string, pem: string): void {
  try {
    writeFileAtomic(join(stateDir, STATE_FILES.crls), pem, 0o644);
  } catch (e) {
    const errno = isCoreError(e) ? (e.details?.['errno'] as string | undefined) : undefined;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') throw new CoreError('ERR_AGENT_DISK_FULL', `no space left to save the CRLs in ${stateDir}; the previous CRLs stay`, { cause: e });
    throw new CoreError('ERR_AGENT_WRITE_FAILED', `saving the CRLs in ${stateDir} failed`, { cause: e });
  }
}

/** The cached CRL set, or undefined. */
export function loadCrls(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, STATE_FILES.crls), 'utf8');
  } catch {
    return undefined;
  }
}
