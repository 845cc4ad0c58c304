/**
 * @module agent/agent
 * The SVID agent (`neam-ca agent run`): attests the node with a join token, keeps the node SVID and
 * every local workload's SVID fresh, and delivers them atomically (core/agent/delivery.ts). One
 * pass ({@link Agent.tick}) does, in order:
 *
 *  1. checks the state directory (0700, owner) and the workloads directory;
 *  2. attests when the node has no usable SVID (first start, expired, evicted) and a join token
 *     that was not used yet is available;
 *  3. renews the node SVID when due (same policy as workloads);
 *  4. when the poll interval has passed: fetches the trust bundle, the entries the node is parent of
 *     (ETag), and the CRL set; new entries are issued at once, removed entries have their files
 *     removed, changed entries are reissued, a changed bundle (or CRL set, for workloads that get
 *     `crls.pem`) is re-delivered as a new generation with the same key and certificate, and a
 *     delivered SVID that appears in a CRL is renewed at once;
 *  5. issues SVIDs that are due (renewal at the policy's time by either clock, see rotation.ts),
 *     in batches: a fresh P-256 key and CSR per SVID, the answer checked, then delivered; a
 *     failure sets a full-jitter exponential backoff and never touches the delivered files;
 *  6. runs each changed workload's hook after its swap (retried with backoff when it fails);
 *  7. raises the expiry alert (log line + metric) for certificates within the alert window without
 *     a successor, saves the state and writes the metrics file.
 *
 * The clocks and randomness are injected (tests move them); everything else is real I/O.
 *
 * Must never: delete or overwrite a still-valid certificate except with a complete newer set,
 * write a key readable by others, send anything to a server it did not verify, or reuse a key for
 * two certificates.
 */
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { CoreError, isCoreError, isCoreErrorCode, serializeError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { Secret } from '../util/secret.ts';
import { CaClient, type NodeIdentity, type SequencedBundle } from './client.ts';
import { derivedWorkloadName, settingsFor, type AgentConfig, type WorkloadSettings } from './config.ts';
import { deliveredOwner, deliverSvid, readDelivery, removeDelivery } from './delivery.ts';
import { runHook as defaultRunHook, type HookResult, type HookSpec } from './hooks.ts';
import { agentMetrics, serveMetrics, writeMetricsFile, type AgentMetrics, type MetricsServer } from './metrics.ts';
import { anchorSchedule, backoffDelay, decideAnchored, expiryAlert, remainingValidity, renewalDueAt, type AnchoredSchedule } from './rotation.ts';
import { checkKeyFile, ensureStateDir } from './state-dir.ts';
import { emptyState, loadCrls, loadState, saveCrls, saveState, STATE_FILES, type AgentState, type PersistedSchedule, type RecordedError, type WorkloadRecord } from './state.ts';
import { checkIssuedSvid, crlSetSummary, keyMatches, newKeyAndCsr, parseBundle, readLeaf, textSha256, type CheckedSvid, type TrustBundle } from './svid.ts';

/** How the agent is wired. */
export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  /** Wall clock (ms since the epoch). */
  now?: () => number;
  /** Monotonic clock (ms). */
  monotonic?: () => number;
  /** Uniform [0, 1) (jitter). */
  random?: () => number;
  client?: CaClient;
  metrics?: AgentMetrics;
  runHook?: (hook: HookSpec, env: Record<string, string>) => Promise<HookResult>;
}

/** What one pass did. */
export interface TickReport {
  /** Milliseconds until the next pass should run. */
  nextInMs: number;
  /** Errors of this pass (also logged, recorded and counted). */
  errors: Array<{ scope: string; code: string; message: string }>;
  /** Workload names whose files changed. */
  delivered: string[];
}

/** What {@link Agent.sync} achieved. */
export interface SyncReport {
  nodeId: string;
  trustDomain: string;
  /** Passes it took. */
  passes: number;
  elapsedMs: number;
  /** Every workload, each with its delivered SVID. */
  workloads: Array<{ name: string; spiffeId: string; serial: string; notAfter: string; renewAt: string; dir: string }>;
}

/** Failures a sync does not wait out: only a person (a token, the configuration, permissions) fixes them. */
const SYNC_FATAL = new Set<string>(['ERR_AGENT_NOT_ATTESTED', 'ERR_AGENT_TRUST_ANCHOR_MISMATCH', 'ERR_AGENT_SERVER_UNTRUSTED', 'ERR_AGENT_CONFIG_INVALID', 'ERR_AGENT_STATE_PERMISSIONS', 'ERR_AGENT_STATE_INVALID']);

type DeliveryReason = 'issued' | 'renewed' | 'updated' | 'revoked' | 'bundle' | 'crls' | 'owner' | 'renamed';

/** In-memory schedule state of one certificate. */
interface Live {
  anchored?: AnchoredSchedule;
  /** Issuer name DER (hex) of the delivered leaf, for CRL lookups. */
  issuerHex?: string;
  attempt: number;
  retryAtMono?: number;
  force?: 'updated' | 'revoked';
  redeliver: Set<'bundle' | 'crls' | 'owner'>;
  renameFrom?: string;
  hookReason?: DeliveryReason;
  hookAttempt: number;
  hookRetryAtMono?: number;
  alerting: boolean;
  lastAlertLogMono?: number;
}

const MAX_SLEEP_MS = 60_000;
const MIN_SLEEP_MS = 50;
const CLOCK_JUMP_MS = 5_000;
const BATCH = 100;
const ALERT_LOG_EVERY_MS = 10 * 60_000;
const NODE_PATH = /^spiffe:\/\/([a-z0-9._-]+)\/neam-ca\/node\/[A-Za-z0-9._-]+$/u;

function newLive(): Live {
  return { attempt: 0, redeliver: new Set(), hookAttempt: 0, alerting: false };
}

function recorded(e: unknown, at: number): RecordedError {
  const s = serializeError(e);
  return { code: s.code, message: s.message, at };
}

/**
 * Creates the workloads directory (0755) or checks it is a directory.
 * @throws {CoreError} ERR_AGENT_STATE_INVALID
 */
export function ensureWorkloadsDir(dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return;
  }
  if (!st.isDirectory()) throw new CoreError('ERR_AGENT_STATE_INVALID', `the workloads path ${dir} is not a directory; give a directory for the delivered SVID folders`);
}

function readTokenFile(path: string): { secret: Secret; sha256: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new CoreError('ERR_AGENT_NOT_ATTESTED', `cannot read the join token file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); create a token with 'neam-ca token create --out FILE' on the CA host`, { cause: e });
  }
  const buf = Buffer.alloc(4096);
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = buf.subarray(0, n).toString('utf8').trim();
  buf.fill(0);
  if (text === '' || /\s/u.test(text)) throw new CoreError('ERR_AGENT_NOT_ATTESTED', `the join token file ${path} does not hold one token (it is empty or has several words)`);
  return { secret: Secret.fromString(text), sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
}

/** Is this error the CA refusing the node's own credentials (expired, revoked, evicted)? */
function nodeRefused(e: unknown): boolean {
  return isCoreError(e, 'ERR_AGENT_SERVER_ERROR') && e.details?.['serverCode'] === 'ERR_ONLINE_UNAUTHENTICATED';
}

const TOKEN_SPENT = new Set(['ERR_ONLINE_TOKEN_USED', 'ERR_ONLINE_TOKEN_EXPIRED', 'ERR_ONLINE_TOKEN_INVALID']);

/** The SVID agent. Create with {@link Agent.open}. */
export class Agent {
  readonly #c: AgentConfig;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #mono: () => number;
  readonly #rand: () => number;
  readonly #client: CaClient;
  readonly #metrics: AgentMetrics;
  readonly #runHook: (hook: HookSpec, env: Record<string, string>) => Promise<HookResult>;
  readonly #stop = new AbortController();
  #state: AgentState;
  #anchors: TrustBundle | undefined;
  #node: NodeIdentity | undefined;
  #nodeLive: Live = newLive();
  #needsAttestation = false;
  #attestAttempt = 0;
  #attestRetryMono: number | undefined;
  readonly #live = new Map<string, Live>();
  #nextPollMono = 0;
  #pollAttempt = 0;
  /** Successful polls since open (a sync needs one that started after it). */
  #polls = 0;
  #crls: string | undefined;
  #pendingRemovals: string[] = [];
  #lastClock: { wall: number; mono: number } | undefined;
  #stateError: RecordedError | undefined;

  private constructor(o: AgentOptions, state: AgentState) {
    this.#c = o.config;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
    this.#mono = o.monotonic ?? (() => performance.now());
    this.#rand = o.random ?? Math.random;
    this.#client = o.client ?? new CaClient({ server: o.config.server, timeoutMs: o.config.requestTimeoutMs, signal: this.#stop.signal });
    this.#metrics = o.metrics ?? agentMetrics();
    this.#runHook = o.runHook ?? defaultRunHook;
    this.#state = state;
    this.#installGauges();
  }

  /**
   * Opens the agent: checks the state directory (refusing loose permissions), loads the state and
   * reconciles it with the delivered files (which win).
   * @throws {CoreError} ERR_AGENT_STATE_PERMISSIONS, ERR_AGENT_STATE_INVALID
   */
  static open(o: AgentOptions): Agent {
    ensureStateDir(o.config.stateDir);
    ensureWorkloadsDir(o.config.workloadsDir);
    const now = (o.now ?? Date.now)();
    const state = loadState(o.config.stateDir) ?? emptyState(o.config.server, now);
    const agent = new Agent(o, state);
    agent.#reconcile();
    return agent;
  }

  /** The metrics (for a listener or tests). */
  get metrics(): AgentMetrics {
    return this.#metrics;
  }

  /** A copy of the persisted state (tests, status). */
  get state(): AgentState {
    return structuredClone(this.#state);
  }

  /** True when the agent holds a node SVID it can use. */
  get attested(): boolean {
    return this.#node !== undefined && !this.#needsAttestation;
  }

  // ---------------------------------------------------------------- reconcile on open

  #reconcile(): void {
    const wall = this.#now();
    const mono = this.#mono();
    const s = this.#state;
    // The entries are fetched in full on the first poll, so configuration changes apply.
    delete s.entriesEtag;
    if (s.bundle !== undefined) this.#anchors = parseBundle(s.bundle.pem, `the trust bundle in ${STATE_FILES.state}`);
    if (s.nodeId !== undefined) {
      let files;
      try {
        files = readDelivery(this.#c.stateDir, STATE_FILES.node);
      } catch (e) {
        this.#log.warn('the node SVID files cannot be read; a new join token is needed', { error: e });
      }
      if (files !== undefined) {
        checkKeyFile(join(files.dir, 'svid.key'));
        const leaf = readLeaf(files.certChainPem);
        if (leaf !== undefined && keyMatches(files.keyPem, leaf)) {
          this.#node = { certChainPem: files.certChainPem, keyPem: files.keyPem };
          const sched = s.node?.schedule.serial === leaf.serial ? s.node.schedule : this.#newSchedule({ serial: leaf.serial, notBefore: leaf.notBefore.getTime(), notAfter: leaf.notAfter.getTime() });
          s.node = { ...(s.node ?? {}), schedule: sched };
          this.#nodeLive = this.#liveFromSchedule(sched, wall, mono);
          this.#nodeLive.issuerHex = leaf.issuer.der.toString('hex');
        }
      }
      if (this.#node === undefined) this.#needsAttestation = true;
    }
    for (const rec of s.workloads) {
      let live = newLive();
      let files;
      try {
        files = readDelivery(this.#c.workloadsDir, rec.name);
      } catch (e) {
        this.#log.warn('delivered files cannot be read; a new SVID will be issued', { workload: rec.name, error: e });
      }
      const leaf = files === undefined ? undefined : readLeaf(files.certChainPem);
      const uris = (leaf?.subjectAltName?.names ?? []).filter((n) => n.type === 'uri').map((n) => n.value);
      if (files !== undefined && leaf !== undefined && keyMatches(files.keyPem, leaf) && uris.length === 1 && uris[0] === rec.spiffeId) {
        if (rec.schedule?.serial !== leaf.serial) {
          // Delivered after the last state save (crash between swap and save): adopt it, rerun the hook.
          rec.schedule = this.#newSchedule({ serial: leaf.serial, notBefore: leaf.notBefore.getTime(), notAfter: leaf.notAfter.getTime() });
          rec.hookPending = true;
        }
        live = this.#liveFromSchedule(rec.schedule, wall, mono);
        live.issuerHex = leaf.issuer.der.toString('hex');
        if (this.#state.bundle !== undefined && files.bundlePem !== this.#state.bundle.pem) live.redeliver.add('bundle');
        // A configured owner that differs from the delivered files' (the configuration changed).
        const owner = this.#settings(rec)?.owner;
        const held = deliveredOwner(this.#c.workloadsDir, rec.name);
        if (owner !== undefined && held !== undefined && (held.uid !== owner.uid || held.gid !== owner.gid)) live.redeliver.add('owner');
      } else {
        delete rec.schedule;
      }
      this.#live.set(rec.entryId, live);
    }
    this.#crls = loadCrls(this.#c.stateDir);
  }

  #liveFromSchedule(sched: PersistedSchedule, wall: number, mono: number): Live {
    const live = newLive();
    live.anchored = anchorSchedule(sched, wall, mono, false);
    live.attempt = sched.attempt;
    if (sched.retryAt !== undefined && sched.retryAt > wall) live.retryAtMono = mono + Math.min(sched.retryAt - wall, this.#c.rotation.backoffCap);
    return live;
  }

  #newSchedule(c: { serial: string; notBefore: number; notAfter: number }): PersistedSchedule {
    return { serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, due: renewalDueAt(c.notBefore, c.notAfter, this.#c.rotation, this.#rand()), attempt: 0 };
  }

  #liveOf(rec: WorkloadRecord): Live {
    let l = this.#live.get(rec.entryId);
    if (l === undefined) {
      l = newLive();
      this.#live.set(rec.entryId, l);
    }
    return l;
  }

  #settings(rec: { entryId: string; spiffeId: string; name: string }): WorkloadSettings | undefined {
    return settingsFor(this.#c, { id: rec.entryId, spiffeId: rec.spiffeId }, rec.name) ?? settingsFor(this.#c, { id: rec.entryId, spiffeId: rec.spiffeId }, derivedWorkloadName(rec.spiffeId));
  }

  #trust(): { anchorsPem: string; trustDomain: string } {
    if (this.#state.bundle === undefined || this.#state.trustDomain === undefined) throw new CoreError('ERR_AGENT_NOT_ATTESTED', 'the agent has no trust bundle yet; it must attest first');
    return { anchorsPem: this.#state.bundle.pem, trustDomain: this.#state.trustDomain };
  }

  // ---------------------------------------------------------------- attestation

  /**
   * Attests with the join token in `tokenFile` (default: the configured one): first contact with
   * pinned anchors when there is no trust bundle yet, a fresh node key (0600 in the state
   * directory), the node SVID checked and stored. The state is saved at once.
   * @throws {CoreError} ERR_AGENT_NOT_ATTESTED (no or spent token), ERR_AGENT_CONFIG_INVALID (no anchors), ERR_AGENT_TRUST_ANCHOR_MISMATCH, transport and answer codes, delivery codes
   */
  async attest(tokenFile = this.#c.joinTokenFile): Promise<{ nodeId: string; trustDomain: string; serial: string; notAfter: string }> {
    if (tokenFile === undefined) {
      throw new CoreError('ERR_AGENT_NOT_ATTESTED', `this agent has no usable node SVID and no join token: create one on the CA host ('neam-ca token create --out FILE'), then set joinTokenFile in ${this.#c.source} or run 'neam-ca agent attest --join-token-file FILE'`);
    }
    const token = readTokenFile(tokenFile);
    try {
      if (token.sha256 === this.#state.usedTokenSha256) {
        throw new CoreError('ERR_AGENT_NOT_ATTESTED', `the join token in ${tokenFile} was already used (tokens work once); create a new one with 'neam-ca token create' and replace the file`);
      }
      const bundle = await this.#bundleForAttestation();
      const kc = newKeyAndCsr();
      let r;
      try {
        r = await this.#client.attest({ anchorsPem: bundle.pem }, token.secret, kc.csrPem);
      } catch (e) {
        const code = isCoreError(e) ? e.details?.['serverCode'] : undefined;
        if (typeof code === 'string' && TOKEN_SPENT.has(code)) {
          this.#state.usedTokenSha256 = token.sha256;
          this.#trySave();
          throw new CoreError('ERR_AGENT_NOT_ATTESTED', `the CA refused the join token in ${tokenFile} (${code}); create a new one with 'neam-ca token create' and replace the file`, { cause: e, details: { serverCode: code } });
        }
        throw e;
      }
      const m = NODE_PATH.exec(r.spiffeId);
      if (m === null) throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA answered the attestation with '${r.spiffeId.slice(0, 100)}', which is not a node SPIFFE ID (spiffe://TD/neam-ca/node/NAME)`);
      const trustDomain = m[1] as string;
      const answerBundle = parseBundle(r.bundle, 'the bundle in the attestation answer');
      const anchors = answerBundle.sha256.some((h) => !bundle.sha256.includes(h)) && (r.bundleSequence ?? 0) > (bundle.sequence ?? -1) ? answerBundle : bundle;
      const checked = checkIssuedSvid(r, { spiffeId: r.spiffeId, spki: kc.spki, anchors: anchors.anchors });
      deliverSvid(this.#c.stateDir, STATE_FILES.node, { certChainPem: checked.certChainPem, keyPem: kc.keyPem, bundlePem: anchors.pem });
      if (this.#state.trustDomain !== undefined && this.#state.trustDomain !== trustDomain) {
        this.#log.warn('the node now belongs to another trust domain', { previous: this.#state.trustDomain, trustDomain });
      }
      this.#state.nodeId = r.spiffeId;
      this.#state.trustDomain = trustDomain;
      this.#state.usedTokenSha256 = token.sha256;
      this.#state.server = this.#c.server;
      const sched = this.#newSchedule(checked);
      this.#state.node = { schedule: sched };
      delete this.#state.nodeError;
      this.#setBundle(anchors, anchors === answerBundle ? r.bundleSequence : bundle.sequence);
      this.#node = { certChainPem: checked.certChainPem, keyPem: kc.keyPem };
      this.#nodeLive = newLive();
      this.#nodeLive.anchored = anchorSchedule(sched, this.#now(), this.#mono(), true);
      this.#nodeLive.issuerHex = checked.leaf.issuer.der.toString('hex');
      this.#needsAttestation = false;
      this.#attestAttempt = 0;
      this.#attestRetryMono = undefined;
      this.#nextPollMono = 0;
      saveState(this.#c.stateDir, this.#state);
      this.#log.info('node attested', { nodeId: r.spiffeId, serial: checked.serial, notAfter: new Date(checked.notAfter).toISOString() });
      return { nodeId: r.spiffeId, trustDomain, serial: checked.serial, notAfter: new Date(checked.notAfter).toISOString() };
    } finally {
      token.secret.wipe();
    }
  }

  async #bundleForAttestation(): Promise<SequencedBundle> {
    if (this.#state.bundle !== undefined) {
      // Known anchors: refresh over a connection they verify (the CA may have added a root).
      try {
        return await this.#client.bundle({ anchorsPem: this.#state.bundle.pem, trustDomain: this.#state.trustDomain });
      } catch (e) {
        if (!isCoreError(e, 'ERR_AGENT_SERVER_UNTRUSTED')) throw e;
        this.#log.warn('the stored trust bundle does not verify the server; trying the pinned anchors', { error: e });
      }
    }
    if (this.#c.trustBundleFile !== undefined) {
      let pem: string;
      try {
        pem = readFileSync(this.#c.trustBundleFile, 'utf8');
      } catch (e) {
        throw new CoreError('ERR_AGENT_CONFIG_INVALID', `cannot read trustBundleFile ${this.#c.trustBundleFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
      }
      const pinned = parseBundle(pem, `trustBundleFile ${this.#c.trustBundleFile}`);
      return this.#client.firstContact({ sha256: pinned.sha256, anchorsPem: pinned.pem });
    }
    if (this.#c.trustAnchors.length === 0) {
      throw new CoreError('ERR_AGENT_CONFIG_INVALID', `first contact with the CA needs pinned trust anchors: set trustAnchors (the SHA-256 values 'neam-ca token create' prints) or trustBundleFile in ${this.#c.source}`);
    }
    return this.#client.firstContact({ sha256: this.#c.trustAnchors });
  }

  // ---------------------------------------------------------------- one pass

  /**
   * Runs one pass (see module doc). Never throws for expected failures: they are logged, recorded
   * in the state, counted, and returned.
   */
  async tick(): Promise<TickReport> {
    const report: TickReport = { nextInMs: 0, errors: [], delivered: [] };
    this.#clockCheck();
    try {
      ensureStateDir(this.#c.stateDir);
      ensureWorkloadsDir(this.#c.workloadsDir);
      if (this.#stateError !== undefined) this.#log.info('the state directory is usable again', {});
      this.#stateError = undefined;
    } catch (e) {
      // Nothing is written while the directory is unsafe; the delivered files stay.
      this.#fail(report, 'state', e, 'error');
      this.#stateError = recorded(e, this.#now());
      this.#alerts();
      report.nextInMs = Math.min(this.#c.pollIntervalMs, MAX_SLEEP_MS);
      return report;
    }
    if (this.#node === undefined || this.#needsAttestation) await this.#attestIfPossible(report);
    if (this.#node !== undefined && !this.#needsAttestation) {
      await this.#renewNodeIfDue(report);
      this.#retryRemovals(report);
      if (this.#mono() >= this.#nextPollMono && !this.#needsAttestation) await this.#poll(report);
      if (!this.#needsAttestation) await this.#issueDue(report);
      this.#redeliver(report);
    }
    await this.#runHooks(report);
    this.#alerts();
    this.#state.updatedAt = this.#now();
    this.#trySave(report);
    if (this.#c.metrics.file !== undefined) {
      try {
        writeMetricsFile(this.#c.metrics.file, this.#metrics);
      } catch (e) {
        this.#fail(report, 'metrics', e, 'warn');
      }
    }
    report.nextInMs = this.#nextWake();
    return report;
  }

  #clockCheck(): void {
    const wall = this.#now();
    const mono = this.#mono();
    const last = this.#lastClock;
    this.#lastClock = { wall, mono };
    if (last === undefined) return;
    const jump = wall - last.wall - (mono - last.mono);
    if (Math.abs(jump) > CLOCK_JUMP_MS) {
      this.#metrics.clockJumps.inc();
      this.#log.warn('the wall clock jumped; renewals keep following the monotonic clock', { jumpSeconds: Math.round(jump / 1000) });
    }
  }

  #fail(report: TickReport, scope: string, e: unknown, level: 'warn' | 'error', extra: Record<string, unknown> = {}): RecordedError {
    const r = recorded(e, this.#now());
    report.errors.push({ scope, code: r.code, message: r.message });
    this.#log[level](`${scope}: ${r.message}`, { code: r.code, ...extra });
    if (!isCoreError(e)) this.#log.error('unexpected failure (a bug)', { error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) });
    return r;
  }

  #trySave(report?: TickReport): void {
    try {
      saveState(this.#c.stateDir, this.#state);
    } catch (e) {
      if (report !== undefined) this.#fail(report, 'state', e, 'error');
      else this.#log.error('saving the state failed', { error: e });
    }
  }

  async #attestIfPossible(report: TickReport): Promise<void> {
    const mono = this.#mono();
    if (this.#attestRetryMono !== undefined && mono < this.#attestRetryMono) return;
    try {
      await this.attest();
    } catch (e) {
      const r = this.#fail(report, 'attestation', e, 'error');
      this.#state.nodeError = r;
      this.#attestRetryMono = this.#mono() + Math.max(MIN_SLEEP_MS, backoffDelay(this.#attestAttempt++, this.#c.rotation, this.#rand()));
    }
  }

  async #renewNodeIfDue(report: TickReport): Promise<void> {
    const live = this.#nodeLive;
    const node = this.#node;
    const nodeId = this.#state.nodeId;
    if (live.anchored === undefined || node === undefined || nodeId === undefined || this.#state.node === undefined) return;
    const mono = this.#mono();
    if (live.retryAtMono !== undefined && mono < live.retryAtMono && live.force === undefined) return;
    const d = decideAnchored(live.anchored, this.#now(), mono);
    if (d.action === 'wait' && live.force === undefined) return;
    // Expired by one of our clocks: still try (the wall clock may be wrong); a CA that refuses the
    // node SVID sends the agent back to attestation.
    const kc = newKeyAndCsr();
    try {
      const r = await this.#client.renewNode(this.#trust(), node, kc.csrPem);
      const checked = this.#checkAnswer(r, nodeId, kc.spki);
      deliverSvid(this.#c.stateDir, STATE_FILES.node, { certChainPem: checked.certChainPem, keyPem: kc.keyPem, bundlePem: this.#anchors?.pem ?? '' });
      this.#node = { certChainPem: checked.certChainPem, keyPem: kc.keyPem };
      const sched = this.#newSchedule(checked);
      this.#state.node = { schedule: sched };
      delete this.#state.nodeError;
      this.#nodeLive = newLive();
      this.#nodeLive.anchored = anchorSchedule(sched, this.#now(), this.#mono(), true);
      this.#nodeLive.issuerHex = checked.leaf.issuer.der.toString('hex');
      this.#warnSkew(this.#nodeLive.anchored, 'node');
      this.#metrics.deliveries.inc({ workload: '_node', reason: live.force ?? 'renewed' });
      this.#log.info('node SVID renewed', { serial: checked.serial, notAfter: new Date(checked.notAfter).toISOString() });
    } catch (e) {
      const r = this.#fail(report, 'node', e, 'warn');
      this.#state.nodeError = r;
      this.#metrics.failures.inc({ workload: '_node', code: r.code });
      this.#backoff(live, this.#state.node.schedule, e);
      if (nodeRefused(e)) {
        this.#needsAttestation = true;
        this.#state.nodeError = this.#fail(
          report,
          'node',
          new CoreError('ERR_AGENT_NOT_ATTESTED', `the CA no longer accepts this node's SVID (expired, revoked or evicted); the agent attests again as soon as ${this.#c.joinTokenFile ?? 'joinTokenFile'} holds a new join token ('neam-ca token create --out FILE')`, { cause: e }),
          'error',
        );
      }
    }
  }

  #checkAnswer(r: { spiffeId: string; svid: string; chain: string; serial: string; bundle: string; bundleSequence: number }, spiffeId: string, spki: Buffer): CheckedSvid {
    if (r.spiffeId !== spiffeId) throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA answered a request for ${spiffeId} with an SVID for ${r.spiffeId.slice(0, 200)}; nothing was written`);
    const known = this.#state.bundle;
    if (known === undefined || this.#anchors === undefined) throw new CoreError('ERR_AGENT_NOT_ATTESTED', 'no trust bundle');
    if (r.bundle !== known.pem && (known.sequence === undefined || r.bundleSequence > known.sequence)) {
      // A newer bundle came with the answer (over the verified connection): adopt it first.
      this.#adoptBundle({ ...parseBundle(r.bundle, 'the bundle in the answer'), sequence: r.bundleSequence });
    }
    return checkIssuedSvid(r, { spiffeId, spki, anchors: (this.#anchors as TrustBundle).anchors });
  }

  #warnSkew(a: AnchoredSchedule, workload: string): void {
    if (!a.wallTrusted) {
      this.#log.warn('the wall clock disagrees with a certificate just issued; its renewal follows the monotonic clock', {
        workload,
        notBefore: new Date(a.notBefore).toISOString(),
        now: new Date(this.#now()).toISOString(),
      });
    }
  }

  #backoff(live: Live, sched: PersistedSchedule | undefined, e: unknown): number {
    const retryAfter = isCoreError(e) ? (e.details?.['retryAfterMs'] as number | undefined) : undefined;
    const delay = Math.max(MIN_SLEEP_MS, backoffDelay(live.attempt, this.#c.rotation, this.#rand()), retryAfter ?? 0);
    live.attempt++;
    live.retryAtMono = this.#mono() + delay;
    if (sched !== undefined) {
      sched.attempt = live.attempt;
      sched.retryAt = this.#now() + delay;
    }
    return delay;
  }

  // ---------------------------------------------------------------- poll

  #wantsCrls(): boolean {
    return this.#c.checkRevocation || this.#state.workloads.some((w) => this.#settings(w)?.crls === true);
  }

  async #poll(report: TickReport): Promise<void> {
    const node = this.#node as NodeIdentity;
    try {
      const trust = this.#trust();
      const b = await this.#client.bundle(trust, node);
      this.#adoptBundle(b);
      const e = await this.#client.entries(this.#trust(), node, this.#state.entriesEtag);
      if (e.changed) {
        this.#applyEntries(e.entries, report);
        if (e.etag === undefined) delete this.#state.entriesEtag;
        else this.#state.entriesEtag = e.etag;
      }
      if (this.#wantsCrls()) this.#adoptCrls(await this.#client.crls(this.#trust(), node));
      const at = this.#now();
      this.#state.lastPoll = { at, ok: true };
      this.#metrics.lastPoll.set(at / 1000);
      this.#pollAttempt = 0;
      this.#polls++;
      this.#nextPollMono = this.#mono() + this.#c.pollIntervalMs;
    } catch (e) {
      const r = this.#fail(report, 'poll', e, 'warn');
      this.#metrics.pollFailures.inc({ code: r.code });
      this.#state.lastPoll = { at: this.#now(), ok: false, error: r };
      const delay = Math.min(this.#c.pollIntervalMs, Math.max(MIN_SLEEP_MS * 2, backoffDelay(this.#pollAttempt++, this.#c.rotation, this.#rand())));
      this.#nextPollMono = this.#mono() + delay;
      if (nodeRefused(e)) this.#needsAttestation = true;
    }
  }

  #setBundle(b: TrustBundle, sequence: number | undefined): void {
    this.#state.bundle = { pem: b.pem, sha256: textSha256(b.pem), ...(sequence === undefined ? {} : { sequence }) };
    this.#anchors = b;
  }

  #adoptBundle(b: SequencedBundle): void {
    const known = this.#state.bundle;
    const sha = textSha256(b.pem);
    if (known !== undefined && known.sha256 === sha) {
      if (b.sequence !== undefined && b.sequence !== known.sequence) known.sequence = b.sequence;
      return;
    }
    if (known?.sequence !== undefined && b.sequence !== undefined && b.sequence < known.sequence) {
      this.#log.warn('the CA served an older trust bundle than the one held; ignored', { held: known.sequence, served: b.sequence });
      return;
    }
    this.#setBundle(b, b.sequence);
    this.#log.info('trust bundle changed; re-delivering every workload', { sequence: b.sequence ?? null, anchors: b.sha256 });
    for (const rec of this.#state.workloads) if (rec.schedule !== undefined) this.#liveOf(rec).redeliver.add('bundle');
    this.#nodeLive.redeliver.add('bundle');
  }

  #adoptCrls(pem: string): void {
    const summary = crlSetSummary(pem);
    const now = this.#now();
    const changed = summary.key !== this.#state.crlsSha256;
    const stale = this.#state.crlsRefreshAt !== undefined && now >= this.#state.crlsRefreshAt;
    if (changed || stale || this.#crls === undefined) {
      saveCrls(this.#c.stateDir, pem);
      this.#crls = pem;
      this.#state.crlsSha256 = summary.key;
      this.#state.crlsRefreshAt = summary.refreshAt;
      if (changed || stale) {
        for (const rec of this.#state.workloads) if (rec.schedule !== undefined && this.#settings(rec)?.crls === true) this.#liveOf(rec).redeliver.add('crls');
      }
    }
    // A delivered SVID that the CA revoked is replaced at once.
    for (const rec of this.#state.workloads) {
      const live = this.#liveOf(rec);
      if (rec.schedule !== undefined && live.issuerHex !== undefined && summary.revoked.get(live.issuerHex)?.has(rec.schedule.serial) === true && live.force !== 'revoked') {
        live.force = 'revoked';
        live.retryAtMono = undefined;
        this.#log.warn('a delivered SVID was revoked by the CA; renewing now', { workload: rec.name, serial: rec.schedule.serial });
      }
    }
    const nodeSerial = this.#state.node?.schedule.serial;
    if (nodeSerial !== undefined && this.#nodeLive.issuerHex !== undefined && summary.revoked.get(this.#nodeLive.issuerHex)?.has(nodeSerial) === true && this.#nodeLive.force !== 'revoked') {
      this.#nodeLive.force = 'revoked';
      this.#log.warn('the node SVID was revoked by the CA; renewing now', { serial: nodeSerial });
    }
  }

  #applyEntries(entries: Array<{ id: string; spiffeId: string; updatedAt: string }>, report: TickReport): void {
    const s = this.#state;
    const byId = new Map(s.workloads.map((w) => [w.entryId, w]));
    // Entries already delivered keep their folder names first; then new ones in id order.
    const ordered = [...entries].sort((a, b) => Number(byId.has(b.id)) - Number(byId.has(a.id)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const used = new Map<string, string>();
    const seen = new Set<string>();
    const problems: AgentState['entryProblems'] = [];
    for (const entry of ordered) {
      const derived = derivedWorkloadName(entry.spiffeId);
      const settings = settingsFor(this.#c, entry, derived);
      if (this.#c.onlyListed && settings === undefined) continue;
      const name = settings?.name ?? derived;
      if (name === undefined) {
        problems.push({ entryId: entry.id, spiffeId: entry.spiffeId, message: `no folder name can be derived from ${entry.spiffeId}; set workloads."${entry.spiffeId}".name in the configuration` });
        continue;
      }
      const other = used.get(name);
      if (other !== undefined) {
        problems.push({ entryId: entry.id, spiffeId: entry.spiffeId, message: `the folder name '${name}' is already used by ${other}; set workloads."${entry.spiffeId}".name in the configuration` });
        continue;
      }
      used.set(name, entry.spiffeId);
      seen.add(entry.id);
      const rec = byId.get(entry.id);
      if (rec === undefined) {
        s.workloads.push({ entryId: entry.id, spiffeId: entry.spiffeId, name, updatedAt: entry.updatedAt });
        this.#live.set(entry.id, newLive());
        this.#log.info('new registration entry; issuing', { workload: name, spiffeId: entry.spiffeId, entryId: entry.id });
        continue;
      }
      const live = this.#liveOf(rec);
      if (rec.updatedAt !== entry.updatedAt) {
        rec.updatedAt = entry.updatedAt;
        if (rec.schedule !== undefined) {
          live.force = 'updated';
          live.retryAtMono = undefined;
        }
        this.#log.info('registration entry changed; reissuing', { workload: name, entryId: entry.id });
      }
      if (rec.name !== name) {
        if (rec.schedule !== undefined && live.renameFrom === undefined) live.renameFrom = rec.name;
        this.#log.info('workload folder renamed by the configuration', { from: rec.name, to: name });
        rec.name = name;
      }
    }
    for (const rec of [...s.workloads]) {
      if (seen.has(rec.entryId)) continue;
      s.workloads.splice(s.workloads.indexOf(rec), 1);
      const live = this.#live.get(rec.entryId);
      this.#live.delete(rec.entryId);
      this.#log.info('registration entry removed; removing its files', { workload: rec.name, spiffeId: rec.spiffeId, entryId: rec.entryId });
      this.#pendingRemovals.push(rec.name);
      if (live?.renameFrom !== undefined) this.#pendingRemovals.push(live.renameFrom);
    }
    this.#retryRemovals(report);
    for (const p of problems) {
      if (!s.entryProblems.some((q) => q.entryId === p.entryId && q.message === p.message)) this.#log.warn('an entry cannot be delivered', { entryId: p.entryId, spiffeId: p.spiffeId, problem: p.message });
    }
    s.entryProblems = problems;
  }

  #retryRemovals(report: TickReport): void {
    const still: string[] = [];
    for (const name of this.#pendingRemovals) {
      if (this.#state.workloads.some((w) => w.name === name)) continue;
      try {
        removeDelivery(this.#c.workloadsDir, name);
      } catch (e) {
        this.#fail(report, `remove ${name}`, e, 'error');
        still.push(name);
      }
    }
    this.#pendingRemovals = still;
  }

  // ---------------------------------------------------------------- issuance

  async #issueDue(report: TickReport): Promise<void> {
    const wall = this.#now();
    const mono = this.#mono();
    const due: WorkloadRecord[] = [];
    for (const rec of this.#state.workloads) {
      const live = this.#liveOf(rec);
      if (live.retryAtMono !== undefined && mono < live.retryAtMono) continue;
      if (rec.schedule === undefined || live.anchored === undefined || live.force !== undefined) {
        due.push(rec);
        continue;
      }
      if (decideAnchored(live.anchored, wall, mono).action !== 'wait') due.push(rec);
    }
    for (let i = 0; i < due.length; i += BATCH) {
      const chunk = due.slice(i, i + BATCH).map((rec) => ({ rec, kc: newKeyAndCsr() }));
      let items;
      try {
        items = await this.#client.svids(
          this.#trust(),
          this.#node as NodeIdentity,
          chunk.map((c) => ({ entryId: c.rec.entryId, csr: c.kc.csrPem })),
        );
      } catch (e) {
        for (const c of chunk) this.#issueFailed(report, c.rec, e);
        if (nodeRefused(e)) this.#needsAttestation = true;
        // The CA is unreachable or failing: the remaining chunks wait for their own backoff.
        for (const rest of due.slice(i + BATCH)) this.#issueFailed(report, rest, e);
        return;
      }
      for (let k = 0; k < chunk.length; k++) {
        const { rec, kc } = chunk[k] as (typeof chunk)[number];
        const item = items[k];
        if (item === undefined) continue;
        if (!item.ok) {
          const serverCode = item.error.code;
          const err = new CoreError('ERR_AGENT_SERVER_ERROR', `the CA refused the SVID for ${rec.spiffeId}: ${serverCode}: ${item.error.message.slice(0, 300)}`, { details: { serverCode } });
          this.#issueFailed(report, rec, err);
          // The entry may have been deleted or moved to another node: poll soon.
          if (serverCode === 'ERR_ONLINE_ENTRY_NOT_FOUND' || serverCode === 'ERR_ONLINE_NOT_PARENT') this.#nextPollMono = Math.min(this.#nextPollMono, this.#mono());
          continue;
        }
        try {
          const checked = this.#checkAnswer(item, rec.spiffeId, kc.spki);
          this.#deliver(report, rec, checked, kc.keyPem);
        } catch (e) {
          this.#issueFailed(report, rec, e);
        }
      }
    }
  }

  #deliver(report: TickReport, rec: WorkloadRecord, checked: CheckedSvid, keyPem: string): void {
    const live = this.#liveOf(rec);
    const settings = this.#settings(rec);
    const crlsPem = settings?.crls === true ? this.#crls : undefined;
    const genDir = deliverSvid(this.#c.workloadsDir, rec.name, { certChainPem: checked.certChainPem, keyPem, bundlePem: (this.#anchors as TrustBundle).pem, ...(crlsPem === undefined ? {} : { crlsPem }) }, settings?.owner);
    const reason: DeliveryReason = live.renameFrom !== undefined && live.force === undefined ? 'renamed' : (live.force ?? (rec.schedule === undefined ? 'issued' : 'renewed'));
    const sched = this.#newSchedule(checked);
    rec.schedule = sched;
    delete rec.lastError;
    rec.lastRotationAt = this.#now();
    live.anchored = anchorSchedule(sched, this.#now(), this.#mono(), true);
    live.issuerHex = checked.leaf.issuer.der.toString('hex');
    live.attempt = 0;
    delete live.retryAtMono;
    delete live.force;
    live.redeliver.clear();
    this.#warnSkew(live.anchored, rec.name);
    if (live.renameFrom !== undefined) {
      this.#pendingRemovals.push(live.renameFrom);
      delete live.renameFrom;
    }
    this.#markHook(rec, live, reason);
    this.#metrics.deliveries.inc({ workload: rec.name, reason });
    report.delivered.push(rec.name);
    this.#log.info('SVID delivered', { workload: rec.name, spiffeId: rec.spiffeId, serial: checked.serial, notAfter: new Date(checked.notAfter).toISOString(), renewAt: new Date(sched.due).toISOString(), reason, generation: genDir });
  }

  #markHook(rec: WorkloadRecord, live: Live, reason: DeliveryReason): void {
    if (this.#settings(rec)?.hook === undefined) return;
    rec.hookPending = true;
    live.hookReason = reason;
    live.hookAttempt = 0;
    delete live.hookRetryAtMono;
  }

  #issueFailed(report: TickReport, rec: WorkloadRecord, e: unknown): void {
    const live = this.#liveOf(rec);
    const delay = this.#backoff(live, rec.schedule, e);
    const r = this.#fail(report, rec.name, e, 'warn', { spiffeId: rec.spiffeId, retryInMs: delay, validUntil: rec.schedule === undefined ? null : new Date(rec.schedule.notAfter).toISOString() });
    rec.lastError = r;
    this.#metrics.failures.inc({ workload: rec.name, code: r.code });
  }

  #redeliver(report: TickReport): void {
    const mono = this.#mono();
    if (this.#nodeLive.redeliver.size > 0 && this.#node !== undefined && this.#anchors !== undefined) {
      try {
        deliverSvid(this.#c.stateDir, STATE_FILES.node, { certChainPem: this.#node.certChainPem, keyPem: this.#node.keyPem, bundlePem: this.#anchors.pem });
        this.#nodeLive.redeliver.clear();
      } catch (e) {
        this.#fail(report, 'node', e, 'warn');
      }
    }
    for (const rec of this.#state.workloads) {
      const live = this.#liveOf(rec);
      if ((live.redeliver.size === 0 && live.renameFrom === undefined) || rec.schedule === undefined) continue;
      if (live.retryAtMono !== undefined && mono < live.retryAtMono) continue;
      const from = live.renameFrom ?? rec.name;
      try {
        const files = readDelivery(this.#c.workloadsDir, from);
        const leaf = files === undefined ? undefined : readLeaf(files.certChainPem);
        if (files === undefined || leaf === undefined || leaf.serial !== rec.schedule.serial) {
          // The files are not the ones we know: issue anew rather than guess.
          delete rec.schedule;
          live.redeliver.clear();
          delete live.renameFrom;
          continue;
        }
        const settings = this.#settings(rec);
        const crlsPem = settings?.crls === true ? this.#crls : undefined;
        deliverSvid(this.#c.workloadsDir, rec.name, { certChainPem: files.certChainPem, keyPem: files.keyPem, bundlePem: (this.#anchors as TrustBundle).pem, ...(crlsPem === undefined ? {} : { crlsPem }) }, settings?.owner);
        const reason: DeliveryReason = live.renameFrom !== undefined ? 'renamed' : live.redeliver.has('bundle') ? 'bundle' : live.redeliver.has('crls') ? 'crls' : 'owner';
        if (live.renameFrom !== undefined) this.#pendingRemovals.push(live.renameFrom);
        delete live.renameFrom;
        live.redeliver.clear();
        this.#markHook(rec, live, reason);
        this.#metrics.deliveries.inc({ workload: rec.name, reason });
        report.delivered.push(rec.name);
        this.#log.info('files re-delivered', { workload: rec.name, reason, serial: rec.schedule.serial });
      } catch (e) {
        rec.lastError = this.#fail(report, rec.name, e, 'warn');
        this.#metrics.failures.inc({ workload: rec.name, code: rec.lastError.code });
        live.retryAtMono = mono + Math.max(MIN_SLEEP_MS, backoffDelay(live.attempt++, this.#c.rotation, this.#rand()));
      }
    }
    this.#retryRemovals(report);
  }

  // ---------------------------------------------------------------- hooks

  async #runHooks(report: TickReport): Promise<void> {
    for (const rec of this.#state.workloads) {
      if (rec.hookPending !== true) continue;
      const live = this.#liveOf(rec);
      const hook = this.#settings(rec)?.hook;
      if (hook === undefined) {
        delete rec.hookPending;
        continue;
      }
      if (live.hookRetryAtMono !== undefined && this.#mono() < live.hookRetryAtMono) continue;
      const dir = join(this.#c.workloadsDir, rec.name);
      const env: Record<string, string> = {
        SVID_DIR: dir,
        SVID_CERT: join(dir, 'svid.pem'),
        SVID_KEY: join(dir, 'svid.key'),
        SVID_BUNDLE: join(dir, 'bundle.pem'),
        SPIFFE_ID: rec.spiffeId,
        WORKLOAD_NAME: rec.name,
        SVID_SERIAL: rec.schedule?.serial ?? '',
        SVID_NOT_AFTER: rec.schedule === undefined ? '' : new Date(rec.schedule.notAfter).toISOString(),
        NEAM_AGENT_REASON: live.hookReason ?? 'renewed',
      };
      try {
        const r = await this.#runHook({ command: hook.command, timeoutSeconds: hook.timeoutMs / 1000 }, env);
        delete rec.hookPending;
        delete rec.hookError;
        live.hookAttempt = 0;
        delete live.hookRetryAtMono;
        this.#log.info('hook ran', { workload: rec.name, durationMs: r.durationMs });
      } catch (e) {
        rec.hookError = this.#fail(report, `hook ${rec.name}`, e, 'error', isCoreError(e) ? { result: e.details ?? null } : {});
        this.#metrics.hookFailures.inc({ workload: rec.name });
        live.hookRetryAtMono = this.#mono() + Math.max(MIN_SLEEP_MS, backoffDelay(live.hookAttempt++, this.#c.rotation, this.#rand()));
      }
    }
  }

  // ---------------------------------------------------------------- alerts, metrics, timing

  #alerts(): void {
    const wall = this.#now();
    const mono = this.#mono();
    const check = (name: string, live: Live, lastError: RecordedError | undefined): void => {
      if (live.anchored === undefined) return;
      const remaining = remainingValidity(live.anchored, wall, mono);
      const alert = expiryAlert(wall, wall + remaining, false, this.#c.rotation);
      if (alert && (!live.alerting || live.lastAlertLogMono === undefined || mono - live.lastAlertLogMono >= ALERT_LOG_EVERY_MS)) {
        const data = { workload: name, notAfter: new Date(live.anchored.notAfter).toISOString(), remainingSeconds: Math.round(remaining / 1000), lastError: lastError?.code ?? null };
        if (remaining <= 0) this.#log.error('SVID expired without a successor; the old files are kept until one is delivered', data);
        else this.#log.warn('SVID close to expiry without a successor', data);
        live.lastAlertLogMono = mono;
      }
      if (!alert && live.alerting) this.#log.info('expiry alert cleared', { workload: name });
      live.alerting = alert;
    };
    check('_node', this.#nodeLive, this.#state.nodeError);
    for (const rec of this.#state.workloads) check(rec.name, this.#liveOf(rec), rec.lastError ?? this.#stateError);
  }

  #installGauges(): void {
    const rows = (): Array<{ name: string; live: Live }> => [
      ...(this.#nodeLive.anchored === undefined ? [] : [{ name: '_node', live: this.#nodeLive }]),
      ...this.#state.workloads.map((r) => ({ name: r.name, live: this.#liveOf(r) })).filter((x) => x.live.anchored !== undefined),
    ];
    const remaining = (l: Live): number => remainingValidity(l.anchored as AnchoredSchedule, this.#now(), this.#mono());
    this.#metrics.expiresIn.collect(() => rows().map((r) => [{ workload: r.name }, Math.round(remaining(r.live) / 1000)]));
    this.#metrics.alert.collect(() => rows().map((r) => [{ workload: r.name }, remaining(r.live) <= this.#c.rotation.alertWindow ? 1 : 0]));
    this.#metrics.expired.collect(() => rows().map((r) => [{ workload: r.name }, remaining(r.live) <= 0 ? 1 : 0]));
    this.#metrics.attested.collect(() => [[{}, this.attested ? 1 : 0]]);
    this.#metrics.workloads.collect(() => [[{}, this.#state.workloads.length]]);
  }

  #nextWake(): number {
    const wall = this.#now();
    const mono = this.#mono();
    let next = Math.min(this.#c.pollIntervalMs, MAX_SLEEP_MS);
    const consider = (ms: number): void => {
      next = Math.min(next, ms);
    };
    if (this.#node === undefined || this.#needsAttestation) {
      if (this.#attestRetryMono !== undefined) consider(this.#attestRetryMono - mono);
    } else {
      consider(this.#nextPollMono - mono);
      const whenDue = (live: Live, delivered: boolean): void => {
        if (live.retryAtMono !== undefined && mono < live.retryAtMono) consider(live.retryAtMono - mono);
        else if (!delivered || live.anchored === undefined || live.force !== undefined || live.redeliver.size > 0) consider(0);
        else {
          const d = decideAnchored(live.anchored, wall, mono);
          consider(d.action === 'wait' ? d.inMs : 0);
        }
      };
      whenDue(this.#nodeLive, true);
      for (const rec of this.#state.workloads) whenDue(this.#liveOf(rec), rec.schedule !== undefined);
    }
    for (const rec of this.#state.workloads) {
      const live = this.#liveOf(rec);
      if (rec.hookPending === true && this.#settings(rec)?.hook !== undefined) consider(live.hookRetryAtMono === undefined ? 0 : live.hookRetryAtMono - mono);
    }
    return Math.max(MIN_SLEEP_MS, Math.round(next));
  }

  // ---------------------------------------------------------------- one full sync

  /** True when every workload holds an unexpired SVID with nothing left to do for it. */
  #settled(): boolean {
    if (this.#node === undefined || this.#needsAttestation || this.#pendingRemovals.length > 0) return false;
    const wall = this.#now();
    const mono = this.#mono();
    return this.#state.workloads.every((rec) => {
      const live = this.#liveOf(rec);
      return (
        rec.schedule !== undefined &&
        live.anchored !== undefined &&
        remainingValidity(live.anchored, wall, mono) > 0 &&
        live.force === undefined &&
        live.redeliver.size === 0 &&
        live.renameFrom === undefined &&
        rec.hookPending !== true
      );
    });
  }

  /**
   * One full sync (`neam-ca agent run --once`): runs passes until the node is attested, a poll of
   * the CA that started after this call succeeded, and every workload it lists holds an unexpired
   * SVID delivered with the current bundle, its hook run. Failures that a retry cannot fix end it
   * at once with their own code; others are retried with the usual backoff until `timeoutMs`.
   * @throws {CoreError} ERR_AGENT_SYNC_INCOMPLETE (time out or interrupted; `details.errors` holds the errors of the last pass that had any), ERR_AGENT_CONFIG_INVALID (an entry cannot be delivered), and at once the first of ERR_AGENT_NOT_ATTESTED, ERR_AGENT_TRUST_ANCHOR_MISMATCH, ERR_AGENT_SERVER_UNTRUSTED, ERR_AGENT_CONFIG_INVALID, ERR_AGENT_STATE_PERMISSIONS, ERR_AGENT_STATE_INVALID
   */
  async sync(signal: AbortSignal, timeoutMs: number): Promise<SyncReport> {
    const onAbort = (): void => this.#stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const started = this.#mono();
    const pollsBefore = this.#polls;
    let passes = 0;
    let last: TickReport | undefined;
    /** The errors of the last pass that had any (a pass during a backoff has none). */
    let lastErrors: TickReport['errors'] = [];
    try {
      while (!signal.aborted) {
        last = await this.tick();
        passes++;
        if (last.errors.length > 0) lastErrors = last.errors;
        const fatal = last.errors.find((e) => SYNC_FATAL.has(e.code));
        if (fatal !== undefined && isCoreErrorCode(fatal.code)) throw new CoreError(fatal.code, fatal.message, { details: { scope: fatal.scope } });
        if (this.#polls > pollsBefore && this.#state.entryProblems.length > 0) {
          throw new CoreError('ERR_AGENT_CONFIG_INVALID', `some registration entries cannot be delivered:\n${this.#state.entryProblems.map((p) => `  - ${p.spiffeId} (entry ${p.entryId}): ${p.message}`).join('\n')}`, { details: { entryProblems: this.#state.entryProblems } });
        }
        if (this.#polls > pollsBefore && this.#settled()) break;
        const left = timeoutMs - (this.#mono() - started);
        if (left <= 0) break;
        await sleep(Math.min(last.nextInMs, left), signal);
      }
      if (signal.aborted || this.#polls === pollsBefore || !this.#settled()) {
        const errors = lastErrors;
        const why = signal.aborted ? 'was interrupted' : `did not finish within ${Math.round(timeoutMs / 1000)} s`;
        const pending = this.#state.workloads.filter((w) => w.schedule === undefined || w.hookPending === true).map((w) => w.name);
        throw new CoreError(
          'ERR_AGENT_SYNC_INCOMPLETE',
          `the agent's sync ${why}${pending.length === 0 ? '' : ` (waiting for: ${pending.join(', ')})`}${errors.length === 0 ? '' : `; last errors:\n${errors.map((e) => `  - ${e.scope}: [${e.code}] ${e.message}`).join('\n')}`}`,
          { details: { errors, pending } },
        );
      }
      const state = this.#state;
      return {
        nodeId: state.nodeId ?? '',
        trustDomain: state.trustDomain ?? '',
        passes,
        elapsedMs: Math.round(this.#mono() - started),
        workloads: state.workloads.map((w) => {
          const s = w.schedule as PersistedSchedule;
          return { name: w.name, spiffeId: w.spiffeId, serial: s.serial, notAfter: new Date(s.notAfter).toISOString(), renewAt: new Date(s.due).toISOString(), dir: join(this.#c.workloadsDir, w.name) };
        }),
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#trySave();
    }
  }

  // ---------------------------------------------------------------- the loop

  /**
   * Runs passes until `signal` aborts (SIGINT/SIGTERM), sleeping between them; serves metrics when
   * configured. In-flight requests are aborted on stop; the state is saved.
   * @throws {CoreError} ERR_IO (metrics listener)
   */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = (): void => this.#stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let metricsServer: MetricsServer | undefined;
    try {
      if (this.#c.metrics.listen !== undefined) {
        metricsServer = await serveMetrics(this.#c.metrics.listen, this.#metrics);
        this.#log.info('metrics served', { url: metricsServer.url });
      }
      this.#log.info('agent running', { server: this.#c.server, nodeId: this.#state.nodeId ?? null, workloads: this.#state.workloads.length, pollIntervalMs: this.#c.pollIntervalMs });
      while (!signal.aborted) {
        let wait: number;
        try {
          wait = (await this.tick()).nextInMs;
        } catch (e) {
          this.#log.error('a pass failed unexpectedly (a bug); retrying', { error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) });
          wait = Math.min(this.#c.pollIntervalMs, MAX_SLEEP_MS);
        }
        await sleep(wait, signal);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#trySave();
      await metricsServer?.close();
      this.#log.info('agent stopped', {});
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One row of {@link readAgentStatus}. */
export interface WorkloadStatus {
  name: string;
  spiffeId: string;
  entryId: string;
  serial: string | null;
  notAfter: string | null;
  renewAt: string | null;
  /** ok, pending (not delivered yet), due, alert (within the alert window), expired. */
  state: 'ok' | 'pending' | 'due' | 'alert' | 'expired';
  lastError: RecordedError | null;
  hookError: RecordedError | null;
  /** The delivered files differ from the state (another generation on disk). */
  filesMismatch: boolean;
}

/** The agent's status as read from its state directory (no server contact). */
export interface AgentStatusReport {
  attested: boolean;
  server: string;
  nodeId: string | null;
  trustDomain: string | null;
  node: { serial: string; notAfter: string; renewAt: string; state: WorkloadStatus['state'] } | null;
  nodeError: RecordedError | null;
  lastPoll: { at: string; ok: boolean; error: RecordedError | null } | null;
  bundleSequence: number | null;
  workloads: WorkloadStatus[];
  entryProblems: AgentState['entryProblems'];
  /** True when something needs a person: not attested, an alert, an expiry, or an entry problem. */
  needsAttention: boolean;
}

/**
 * Reads the agent's status from its state directory and delivered files.
 * @throws {CoreError} ERR_AGENT_STATE_INVALID, ERR_AGENT_STATE_PERMISSIONS
 */
export function readAgentStatus(config: AgentConfig, nowMs: number): AgentStatusReport {
  let st;
  try {
    st = lstatSync(config.stateDir);
  } catch {
    st = undefined;
  }
  if (st !== undefined) ensureStateDir(config.stateDir);
  const state = st === undefined ? undefined : loadState(config.stateDir);
  const classify = (s: PersistedSchedule | undefined): WorkloadStatus['state'] => {
    if (s === undefined) return 'pending';
    if (nowMs >= s.notAfter) return 'expired';
    if (expiryAlert(nowMs, s.notAfter, false, config.rotation)) return 'alert';
    if (nowMs >= s.due) return 'due';
    return 'ok';
  };
  const iso = (ms: number): string => new Date(ms).toISOString();
  const workloads: WorkloadStatus[] = (state?.workloads ?? []).map((w) => {
    let mismatch: boolean;
    try {
      const files = readDelivery(config.workloadsDir, w.name);
      const leaf = files === undefined ? undefined : readLeaf(files.certChainPem);
      mismatch = w.schedule !== undefined && leaf?.serial !== w.schedule.serial;
    } catch {
      mismatch = true;
    }
    return {
      name: w.name,
      spiffeId: w.spiffeId,
      entryId: w.entryId,
      serial: w.schedule?.serial ?? null,
      notAfter: w.schedule === undefined ? null : iso(w.schedule.notAfter),
      renewAt: w.schedule === undefined ? null : iso(w.schedule.due),
      state: classify(w.schedule),
      lastError: w.lastError ?? null,
      hookError: w.hookError ?? null,
      filesMismatch: mismatch,
    };
  });
  const nodeSched = state?.node?.schedule;
  const node = nodeSched === undefined ? null : { serial: nodeSched.serial, notAfter: iso(nodeSched.notAfter), renewAt: iso(nodeSched.due), state: classify(nodeSched) };
  const attested = state?.nodeId !== undefined && node !== null && node.state !== 'expired';
  const entryProblems = state?.entryProblems ?? [];
  return {
    attested,
    server: state?.server ?? config.server,
    nodeId: state?.nodeId ?? null,
    trustDomain: state?.trustDomain ?? null,
    node,
    nodeError: state?.nodeError ?? null,
    lastPoll: state?.lastPoll === undefined ? null : { at: iso(state.lastPoll.at), ok: state.lastPoll.ok, error: state.lastPoll.error ?? null },
    bundleSequence: state?.bundle?.sequence ?? null,
    workloads,
    entryProblems,
    needsAttention: !attested || workloads.some((w) => w.state === 'alert' || w.state === 'expired') || node?.state === 'alert' || entryProblems.length > 0,
  };
}
