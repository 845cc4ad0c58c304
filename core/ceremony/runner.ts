/**
 * @module ceremony/runner
 * The ceremony runner, the imperative shell of the engine. It executes a validated plan as a
 * persisted state machine: before anything irreversible it checks every step is available, the
 * roster, the token (present, or absent when the script initialises it), and that no planned key
 * label or output exists; then for every step it re-checks the air gap (live ceremonies), asks for
 * the point-of-no-return confirmation once, runs the precondition, records *started*, acts, records
 * *completed* with the SHA-256 of every output and the public-key hash of every object created,
 * and collects the sign-offs. After a crash {@link resumeCeremony} verifies completed steps against
 * the token and the files and lets each interrupted step's action reconcile it (adopt, redo or
 * refuse); {@link abortCeremony} before the point of no return destroys exactly the objects this
 * ceremony created and checks the token's inventory is what it was.
 *
 * The CLI (`neam-ca ceremony run|resume|abort|status`) and the desktop app's IPC call these four
 * functions; people are reached only through the {@link CeremonyIo} port.
 *
 * Must never: touch the token before every preflight check passed; write an output twice; keep a
 * PIN after login; destroy an object it did not create; run a live ceremony without a transcript.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CoreError, formatProblems, isCoreError, type Problem } from '../errors.ts';
import { findSoftHsmModule, openHsm, type HsmConfig } from '../hsm/index.ts';
import type { HsmModule, HsmSession, TokenInfo, TokenSelector } from '../hsm/types.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import type { Secret } from '../util/secret.ts';
import { ACTIONS, type ActionKind } from './actions/registry.ts';
import { sha256Hex } from './actions/common.ts';
import type { CeremonyInfo, CreatedObject, HsmAccess, OutputFiles, OutputRecord, StepContext, StepRecordView } from './actions/types.ts';
import { describeOffending, probeAirGap, type AirGapReport } from './air-gap.ts';
import { failpoint, failpointArmed, type FailpointPhase } from './failpoints.ts';
import type { CeremonyIo } from './io.ts';
import { caHomeOf, CEREMONY_FILES, ceremonyFolderName, RESERVED_NAMES, rehearsalSoftHsmDir } from './layout.ts';
import { acquireLock, type CeremonyLock } from './lock.ts';
import { planCeremony, type CeremonyPlan } from './plan.ts';
import { parseScript } from './script.ts';
import { holders, parseSite, rosterProblems } from './site.ts';
import { CeremonyState, SYSTEM, type InventoryItem, type JournalEntry } from './state.ts';
import type { TranscriptSink, TranscriptSinkFactory } from './transcript-sink.ts';
import { openCaHome, type CaHome } from './ca-home.ts';
import { activateWithQuorum, coSignersFromQuorum } from './quorum-io.ts';
import { hsmSigner } from '../crypto/signer.ts';
import type { CloseSigner, PreviousTranscript } from '../transcript/index.ts';
import type { Roster } from '../quorum/index.ts';
import { previousTranscript } from './transcript-file.ts';
import type { CeremonyScript, JsonObject, SiteConfig } from './types.ts';

/** What the runner needs from its host (CLI, desktop app, tests). */
export interface RunnerEnvironment {
  /** The people in the room. */
  io: CeremonyIo;
  /** Clock (default: the system clock). */
  now?: () => Date;
  /** Air-gap probe (default: the real interfaces). */
  airGap?: () => Promise<AirGapReport>;
  /** Opens a PKCS#11 module (default: core/hsm `openHsm`). */
  openHsm?: (config: HsmConfig) => HsmModule;
  /** Opens the ceremony transcript; required for live ceremonies. */
  transcript?: TranscriptSinkFactory;
  /** Stops the run cleanly between steps. */
  signal?: AbortSignal;
  /** Rehearsal crash injection (`<step>:<phase>`, see ceremony/failpoints). */
  failpoint?: string;
  /** Fed every committed journal entry (live transcript pane). */
  onJournal?: (entry: JournalEntry) => void;
  /** Software identification recorded in the ceremony (`neam-ca 0.1.0`). */
  software?: string;
}

/** Options of {@link startCeremony}. */
export interface StartOptions {
  /** The script's exact bytes (copied into the ceremony folder and hashed). */
  scriptBytes: Uint8Array;
  scriptSource: string;
  /** The site file's exact bytes. */
  siteBytes: Uint8Array;
  siteSource: string;
  /** Folder relative paths in the site file are resolved against. */
  siteBaseDir: string;
  rehearsal: boolean;
  /** Explicit ceremony folder (must not exist); default `<CA folder>/ceremonies/<time>-<script id>`. */
  dir?: string;
}

/** The outcome of a run or resume. */
export interface RunSummary {
  dir: string;
  id: string;
  rehearsal: boolean;
  /** `completed`, or `interrupted` when stopped between steps by the signal. */
  status: 'completed' | 'interrupted';
  tokenSerial: string | null;
  outputs: Array<OutputRecord & { step: string }>;
  objects: Array<{ label: string; keyId: string | null; spkiSha256: string | null; algorithm: string | null }>;
}

/** The outcome of an abort. */
export interface AbortSummary {
  dir: string;
  id: string;
  reason: string;
  destroyed: Array<{ label: string; class: string; keyId: string }>;
  /** True when the token's inventory equals the one taken when the ceremony first opened it. */
  restored: boolean;
  /** Set when the ceremony initialised the token, which stays initialised. */
  tokenLeft?: string;
}

/** A readable view of a ceremony's record (CLI `status`, the app). */
export interface CeremonyStatusView {
  dir: string;
  id: string;
  uuid: string;
  type: string;
  title: string;
  rehearsal: boolean;
  status: 'running' | 'completed' | 'aborted';
  scriptSha256: string;
  siteSha256: string;
  token: { label: string; serial: string | null; module: string };
  createdAt: string;
  completedAt: string | null;
  abortedAt: string | null;
  abortReason: string | null;
  pointOfNoReturnCrossed: boolean;
  /** The first step not yet signed off. */
  next: string | null;
  steps: Array<{
    index: number;
    id: string;
    title: string;
    action: string;
    status: string;
    attempt: number;
    startedAt: string | null;
    completedAt: string | null;
    pointOfNoReturn: boolean;
    signOff: string[];
    signedBy: Array<{ role: string; participant: string; at: string }>;
    result: JsonObject | null;
  }>;
  outputs: Array<OutputRecord & { step: string }>;
  objects: Array<{ label: string; state: string; keyId: string | null; spkiSha256: string | null; algorithm: string | null }>;
  journalEntries: number;
}

const iso = (d: Date): string => d.toISOString();

function problemsError(code: 'ERR_CEREMONY_KEY_LABEL_EXISTS' | 'ERR_CEREMONY_OUTPUT_EXISTS' | 'ERR_HSM_TOKEN_EXISTS' | 'ERR_CEREMONY_ROLE_MISSING' | 'ERR_NOT_IMPLEMENTED' | 'ERR_CEREMONY_SITE_INVALID' | 'ERR_CEREMONY_RECONCILE_FAILED', title: string, problems: Problem[]): CoreError {
  return new CoreError(code, `${title}:\n${formatProblems(problems)}`, { details: { problems: problems.map((p) => ({ ...p })) } });
}

/** The HSM as the runner holds it for one process run. */
class RunnerHsm implements HsmAccess {
  #module: HsmModule | undefined;
  #session: HsmSession | undefined;
  #pin: Secret | undefined;
  readonly #config: HsmConfig;
  readonly #open: (config: HsmConfig) => HsmModule;
  readonly #run: Run;

  constructor(run: Run, config: HsmConfig, open: (config: HsmConfig) => HsmModule) {
    this.#run = run;
    this.#config = config;
    this.#open = open;
  }

  module(): HsmModule {
    this.#module ??= this.#open(this.#config);
    return this.#module;
  }

  selector(): TokenSelector {
    const c = this.#run.state.ceremony();
    return c.tokenSerial === null ? { label: c.tokenLabel } : { label: c.tokenLabel, serial: c.tokenSerial };
  }

  token(): TokenInfo | undefined {
    try {
      return this.module().findToken(this.selector());
    } catch (e) {
      if (isCoreError(e, 'ERR_HSM_TOKEN_NOT_PRESENT')) return undefined;
      throw e;
    }
  }

  session(): HsmSession {
    this.#session ??= this.module().openSession(this.selector());
    return this.#session;
  }

  async login(): Promise<HsmSession> {
    const s = this.session();
    if (!s.loggedIn) {
      if (this.#pin !== undefined) {
        const pin = this.#pin;
        this.#pin = undefined;
        try {
          s.login(pin);
        } finally {
          pin.wipe();
        }
        this.#run.state.record('token.login', { label: s.token.label, serial: s.token.serial, by: 'the PIN set earlier in this run' }, iso(this.#run.now()));
      } else {
        this.#activation = await this.#run.activate(s);
      }
    }
    if (this.#run.state.inventory('initial') === undefined) this.#run.recordInventory('initial', s);
    return s;
  }

  logout(): void {
    if (this.#session?.loggedIn === true) this.#session.logout();
  }

  lastActivation(): JsonObject | undefined {
    return this.#activation;
  }

  #activation: JsonObject | undefined;

  holdPin(pin: Secret): void {
    this.#pin?.wipe();
    this.#pin = pin;
  }

  #temporarySo: { serial: string; pin: Secret } | undefined;

  holdTemporarySoPin(serial: string, pin: Secret): void {
    this.#temporarySo?.pin.wipe();
    this.#temporarySo = { serial, pin };
  }

  temporarySoPin(): Secret | undefined {
    const held = this.#temporarySo;
    return held !== undefined && held.serial === this.#run.state.ceremony().tokenSerial ? held.pin : undefined;
  }

  dropTemporarySoPin(): void {
    this.#temporarySo?.pin.wipe();
    this.#temporarySo = undefined;
  }

  bindToken(token: TokenInfo): void {
    if (this.#run.state.ceremony().tokenSerial !== token.serial) this.#run.state.setTokenSerial(token.serial, iso(this.#run.now()));
    // A session opened before the serial was known stays valid when it is on this token; one on
    // another token (a token initialised again after an interruption) is closed.
    if (this.#session !== undefined && this.#session.token.serial !== token.serial) {
      this.#session.close();
      this.#session = undefined;
    }
  }

  close(): void {
    this.#pin?.wipe();
    this.#pin = undefined;
    this.dropTemporarySoPin();
    try {
      this.#session?.close();
    } finally {
      this.#session = undefined;
      this.#module?.close();
      this.#module = undefined;
    }
  }
}

/** One process's work on one ceremony. */
class Run {
  readonly state: CeremonyState;
  readonly plan: CeremonyPlan;
  readonly site: SiteConfig;
  readonly info: CeremonyInfo;
  readonly env: RunnerEnvironment;
  readonly hsm: RunnerHsm;
  readonly now: () => Date;
  readonly sink: TranscriptSink | undefined;

  constructor(state: CeremonyState, plan: CeremonyPlan, site: SiteConfig, info: CeremonyInfo, env: RunnerEnvironment, previous?: PreviousTranscript | null) {
    this.state = state;
    this.plan = plan;
    this.site = site;
    this.info = info;
    this.env = env;
    this.now = env.now ?? (() => new Date());
    this.hsm = new RunnerHsm(this, hsmConfigOf(info.rehearsal, info.caHome, site), env.openHsm ?? openHsm);
    this.sink = env.transcript?.(info, this.administrator(), previous);
    const rehearsal = info.rehearsal;
    state.onJournal((entry) => {
      this.sink?.append({ journalSeq: entry.seq, at: entry.at, actor: entry.actor, role: entry.role, type: entry.type, step: entry.step, data: entry.data, rehearsal });
      env.onJournal?.(entry);
    });
  }

  get io(): CeremonyIo {
    return this.env.io;
  }

  /** Appends journal entries the transcript does not have yet (after a crash). */
  catchUpTranscript(): void {
    if (this.sink === undefined || this.sink.isClosed()) return;
    const missing = this.state.journal(this.sink.lastJournalSeq());
    for (const entry of missing) {
      this.sink.append({ journalSeq: entry.seq, at: entry.at, actor: entry.actor, role: entry.role, type: entry.type, step: entry.step, data: entry.data, rehearsal: this.info.rehearsal, replayed: true });
    }
  }

  /** Releases the transcript file and the HSM (end of this process's run). */
  release(): void {
    try {
      this.sink?.release();
    } finally {
      try {
        this.hsm.close();
      } finally {
        this.#ca?.close();
        this.#ca = undefined;
      }
    }
  }

  /** The CA folder's database, opened on first use. */
  ca(): CaHome {
    this.#ca ??= openCaHome(this.info.caHome);
    return this.#ca;
  }

  #ca: CaHome | undefined;

  /** The current quorum roster of the CA folder. */
  roster(): Roster {
    const roster = this.ca().currentRoster();
    if (roster === undefined) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${this.info.caHome} has no quorum roster: the root ceremony's custodian enrollment has not completed there${this.info.rehearsal ? ' (rehearse the root ceremony first with the same site file)' : ''}`);
    }
    return roster;
  }

  /** Opens the token through the script's activation mode and logs in; returns who opened it. */
  async activate(session: HsmSession): Promise<JsonObject> {
    if (this.plan.script.quorum.activation === 'token-pin') {
      const pin = await this.io.askSecret({ kind: 'secret', key: ['token', 'user-pin'], prompt: `User PIN of token '${session.token.label}' (serial ${session.token.serial}): ` });
      try {
        session.login(pin);
      } finally {
        pin.wipe();
      }
      this.state.record('token.login', { label: session.token.label, serial: session.token.serial, by: 'token PIN' }, iso(this.now()));
      return { by: 'token PIN' };
    }
    const roster = this.roster();
    this.io.event({ type: 'display', message: `The token is opened by ${roster.threshold} of the ${roster.custodians.length} custodians (quorum ${roster.quorumId}).` });
    const record = await activateWithQuorum(this.io, roster, session, ['activation']);
    const data: JsonObject = { custodians: record.custodians, quorumId: record.quorumId, rosterSha256: record.rosterSha256, token: { label: session.token.label, serial: session.token.serial } };
    this.state.record('quorum.activated', data, iso(this.now()));
    return data;
  }

  recordInventory(phase: 'initial' | 'final' | 'after-abort', session: HsmSession): { items: InventoryItem[]; sha256: string } {
    const items = inventoryOf(session);
    const sha256 = sha256Hex(canonicalJson(items));
    if (this.state.inventory(phase) === undefined) this.state.recordInventory(phase, session.token.serial, items, sha256, iso(this.now()));
    return { items, sha256 };
  }

  administrator(): { actor: string; role: string } {
    const admins = holders({ participants: this.state.participants() }, 'administrator');
    return { actor: admins.length === 1 ? admins[0]!.name : 'administrator', role: 'administrator' };
  }

  context(index: number, outputs: OutputRecord[]): StepContext<unknown> {
    const step = this.plan.script.steps[index]!;
    const dir = this.info.dir;
    const state = this.state;
    const env = this.env;
    const clock = this.now;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the step context closes over this run
    const run = this;
    const files: OutputFiles = {
      path: (name) => join(dir, checkOutputName(name)),
      exists: (name) => existsSync(join(dir, checkOutputName(name))),
      write(name, data, mode = 0o644) {
        const path = join(dir, checkOutputName(name));
        try {
          writeFileExclusive(path, data, mode);
        } catch (e) {
          if (isCoreError(e, 'ERR_ALREADY_EXISTS')) throw new CoreError('ERR_CEREMONY_OUTPUT_EXISTS', `${path} already exists; ceremony outputs are never overwritten`, { cause: e, details: { path } });
          throw e;
        }
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        const rec = { name, sha256: sha256Hex(bytes), size: bytes.byteLength };
        outputs.push(rec);
        return rec;
      },
      adopt(name) {
        const bytes = readFileSync(join(dir, checkOutputName(name)));
        const rec = { name, sha256: sha256Hex(bytes), size: bytes.byteLength };
        outputs.push(rec);
        return rec;
      },
    };
    return {
      params: step.params,
      step,
      script: this.plan.script,
      site: this.site,
      ceremony: this.info,
      io: this.io,
      hsm: this.hsm,
      files,
      now: () => clock(),
      key: (...segments) => ['steps', step.id, ...segments],
      resultOf: (id) => {
        const s = state.steps().find((x) => x.id === id);
        return s !== undefined && (s.status === 'completed' || s.status === 'signed') ? (s.result ?? undefined) : undefined;
      },
      recordedOutputs: () => state.outputs(),
      record: (type, data, who) => state.record(type, data, iso(clock()), who ?? SYSTEM, step.id),
      airGap: () => (env.airGap ?? probeAirGap)(),
      ca: () => run.ca(),
      failpointArmed: (phase) => run.info.rehearsal && failpointArmed(env.failpoint, step.id, phase),
      failpoint: (phase) => {
        if (run.info.rehearsal) failpoint(env.failpoint, step.id, phase);
      },
    };
  }

  fail(index: number, e: unknown): never {
    const step = this.plan.script.steps[index]!;
    const code = e instanceof CoreError ? e.code : 'ERR_INTERNAL';
    const message = e instanceof CoreError ? e.message : 'unexpected failure';
    try {
      this.state.record('step.failed', { code, message }, iso(this.now()), SYSTEM, step.id);
    } catch {
      // the original failure is the one to report
    }
    this.io.event({ type: 'step.failed', step: step.id, message: `Step '${step.id}' failed [${code}]: ${message}` });
    throw e;
  }

  hit(step: string, phase: FailpointPhase): void {
    if (this.info.rehearsal) failpoint(this.env.failpoint, step, phase);
  }

  view(index: number): StepRecordView {
    const row = this.state.step(index);
    const step = this.plan.script.steps[index]!;
    return {
      status: row.status === 'pending' ? 'started' : row.status,
      attempt: row.attempt,
      ...(row.result === null ? {} : { result: row.result }),
      objects: this.state.objects(step.id).map((o) => (o.keyId !== null && o.spkiSha256 !== null && o.algorithm !== null ? { label: o.label, keyId: o.keyId, spkiSha256: o.spkiSha256, algorithm: o.algorithm } : { label: o.label, keyId: null, spkiSha256: null, algorithm: null })),
      outputs: this.state.outputs(step.id),
    };
  }

  /**
   * Moves the files an interrupted attempt left aside (never deletes them): every file of the
   * ceremony folder that is neither a fixed file nor a recorded output was written by the one step
   * in progress, planned or not.
   */
  quarantine(index: number): void {
    const step = this.plan.script.steps[index]!;
    const row = this.state.step(index);
    const recorded = new Set(this.state.outputs().map((o) => o.name));
    const moved: string[] = [];
    const folderName = `${step.id}-attempt-${row.attempt}`;
    for (const name of readdirSync(this.info.dir)) {
      if (RESERVED_NAMES.has(name) || recorded.has(name) || name.startsWith(`${CEREMONY_FILES.transcript}.`) || name.startsWith('.')) continue;
      const path = join(this.info.dir, name);
      if (!statSync(path).isFile()) continue;
      const folder = join(this.info.dir, CEREMONY_FILES.incomplete, folderName);
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      renameSync(path, join(folder, name));
      moved.push(name);
    }
    if (moved.length > 0) this.state.record('step.outputs-set-aside', { files: moved, folder: join(CEREMONY_FILES.incomplete, folderName) }, iso(this.now()), SYSTEM, step.id);
  }

  /** Verifies every completed step (files and, through its action, the token). */
  async verifyCompleted(): Promise<void> {
    const problems: Problem[] = [];
    for (const o of this.state.outputs()) {
      const path = join(this.info.dir, o.name);
      let sha: string | undefined;
      try {
        sha = sha256Hex(readFileSync(path));
      } catch {
        sha = undefined;
      }
      if (sha !== o.sha256) problems.push({ path: o.name, message: sha === undefined ? `recorded by step '${o.step}' but missing` : `changed since step '${o.step}' recorded it (SHA-256 ${o.sha256}, now ${sha})` });
    }
    if (problems.length > 0) throw problemsError('ERR_CEREMONY_RECONCILE_FAILED', `the ceremony folder ${this.info.dir} no longer matches its record`, problems);
    for (const row of this.state.steps()) {
      if (row.status !== 'completed' && row.status !== 'signed') continue;
      const def = ACTIONS[row.action as ActionKind];
      if (def.hsm === 'none') continue;
      const outcome = await def.reconcile(this.context(row.index, []), this.view(row.index));
      if (outcome.kind !== 'verified') throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `completed step '${row.id}' could not be verified`);
    }
  }

  async signOffs(index: number): Promise<void> {
    const step = this.plan.script.steps[index]!;
    const required = step.signOff;
    if (required.length === 0) {
      this.state.markSigned(index, iso(this.now()));
      return;
    }
    const participants = this.state.participants();
    for (const role of required) {
      const done = this.state.signOffs(step.id);
      if (done.some((d) => d.role === role)) continue;
      const signed = new Set(done.map((d) => d.participant));
      const eligible = holders({ participants }, role)
        .map((p) => p.name)
        .filter((n) => !signed.has(n));
      if (eligible.length === 0) {
        throw new CoreError('ERR_CEREMONY_SIGNOFF_MISSING', `step '${step.id}' needs a sign-off by ${article(role)} ${role} who has not already signed it, and nobody is left (${holders({ participants }, role).map((p) => p.name).join(', ') || 'no ' + role} in the site file)`);
      }
      const name = await this.io.ask({
        kind: 'choice',
        key: ['steps', step.id, 'sign-off', role],
        prompt: `Sign-off of step '${step.title}' by ${article(role)} ${role} (${eligible.join(' / ')}): `,
        choices: eligible,
        attestation: true,
      });
      this.state.addSignOff(index, role, name, required, iso(this.now()));
      this.io.event({ type: 'step.signed-off', step: step.id, message: `Step '${step.id}' signed off by ${name} (${role}).` });
    }
  }

  async runStep(index: number): Promise<void> {
    const planned = this.plan.steps[index]!;
    const step = planned.step;
    const def = ACTIONS[step.action as ActionKind];
    let row = this.state.step(index);
    if (row.status === 'signed') return;
    if (row.status === 'started') {
      // Outputs the action adopts or writes while reconciling are collected here.
      const outputs: OutputRecord[] = [];
      const outcome = await def.reconcile(this.context(index, outputs), this.view(index)).catch((e: unknown) => this.fail(index, e));
      if (outcome.kind === 'adopt') {
        this.state.markCompleted(index, outcome.outcome.result, outputs, outcome.outcome.objects ?? [], iso(this.now()), 'adopted', outcome.note);
        this.io.event({ type: 'step.reconciled', step: step.id, message: `Step '${step.id}' was interrupted; ${outcome.note}.` });
      } else if (outcome.kind === 'redo') {
        this.state.record('step.reconciled', { decision: 'redo', note: outcome.note }, iso(this.now()), SYSTEM, step.id);
        this.io.event({ type: 'step.reconciled', step: step.id, message: `Step '${step.id}' was interrupted; ${outcome.note}.` });
        this.quarantine(index);
      } else {
        throw new CoreError('ERR_INTERNAL', `reconcile of interrupted step '${step.id}' answered 'verified'; an interrupted step must be adopted or redone`);
      }
      row = this.state.step(index);
    }
    if (row.status === 'pending' || row.status === 'started') {
      if (!this.info.rehearsal && step.action !== 'air-gap-check') {
        const report = await (this.env.airGap ?? probeAirGap)();
        if (!report.ok) {
          this.state.record('air-gap.lost', { offending: report.offending.map((i) => i.name) }, iso(this.now()), SYSTEM, step.id);
          throw new CoreError('ERR_CEREMONY_NOT_AIR_GAPPED', `before step '${step.id}': ${describeOffending(report)}. Then resume the ceremony`, { details: { interfaces: report.offending.map((i) => i.name) } });
        }
      }
      if (planned.pointOfNoReturn && row.status === 'pending' && !this.state.journal().some((e) => e.type === 'ceremony.point-of-no-return')) {
        this.io.event({ type: 'warning', step: step.id, message: `Step '${step.id}' (${step.title}) is the point of no return: after it starts, this ceremony can no longer be aborted.` });
        await this.io.ask({ kind: 'confirm', key: ['steps', step.id, 'confirm-point-of-no-return'], prompt: "Type YES to cross the point of no return: ", expect: 'YES', attestation: true });
        this.state.record('ceremony.point-of-no-return', { step: step.id }, iso(this.now()), this.administrator(), step.id);
      }
      this.io.event({ type: 'step.started', step: step.id, message: `Step ${index + 1}/${this.plan.steps.length} '${step.id}': ${step.title}` });
      if (step.instructions !== undefined) this.io.event({ type: 'display', step: step.id, message: step.instructions });
      const outputs: OutputRecord[] = [];
      const ctx = this.context(index, outputs);
      await def.precondition(ctx).catch((e: unknown) => this.fail(index, e));
      this.state.markStarted(index, planned.plan.keyLabels, iso(this.now()), { action: step.action, title: step.title });
      this.hit(step.id, 'after-started');
      const outcome = await def.execute(ctx).catch((e: unknown) => this.fail(index, e));
      this.hit(step.id, 'after-act');
      this.state.markCompleted(index, outcome.result, outputs, outcome.objects ?? [], iso(this.now()), 'executed');
      this.io.event({ type: 'step.completed', step: step.id, message: `Step '${step.id}' completed.` });
      this.hit(step.id, 'after-completed');
    }
    await this.signOffs(index);
    this.hit(step.id, 'after-signed');
  }

  async loop(): Promise<RunSummary['status']> {
    for (let i = 0; i < this.plan.steps.length; i++) {
      if (this.env.signal?.aborted === true) {
        this.state.record('ceremony.interrupted', { beforeStep: this.plan.steps[i]!.step.id }, iso(this.now()));
        this.io.event({ type: 'warning', message: `Interrupted before step '${this.plan.steps[i]!.step.id}'. Continue with 'neam-ca ceremony resume ${this.info.dir}'.` });
        return 'interrupted';
      }
      await this.runStep(i);
    }
    const close = this.state.steps().at(-1);
    const inventorySha256 = typeof close?.result?.['inventorySha256'] === 'string' && this.plan.usesToken ? close.result['inventorySha256'] : null;
    if (this.plan.usesToken) {
      const session = await this.hsm.login();
      this.recordInventory('final', session);
    }
    this.state.finish('completed', iso(this.now()), { steps: this.plan.steps.length, outputs: this.state.outputs().length, inventorySha256 });
    await this.closeTranscript('completed', inventorySha256);
    this.io.event({ type: 'ceremony.completed', message: `Ceremony ${this.info.id} completed${this.info.rehearsal ? ' (REHEARSAL)' : ''}. Record: ${this.info.dir}` });
    return 'completed';
  }

  /** Parameters of the script's `close` step. */
  closeParams(): { transferKeyLabel: string; coSigners: number } {
    const p = this.plan.script.steps.at(-1)!.params as { 'transfer-key-label': string; 'co-signers': number };
    return { transferKeyLabel: p['transfer-key-label'], coSigners: p['co-signers'] };
  }

  /**
   * Closes the transcript: signed by the transfer key in the HSM (when it is on the token) and
   * co-signed by the co-signers the close step asks for. An aborted ceremony with no signer left
   * keeps its transcript open (recorded); a completed one needs them all.
   */
  async closeTranscript(outcome: 'completed' | 'aborted', inventorySha256: string | null): Promise<void> {
    if (this.sink === undefined || this.sink.isClosed()) return;
    const c = this.state.ceremony();
    const { transferKeyLabel, coSigners } = this.closeParams();
    const signers: CloseSigner[] = [];
    // The transfer key's public object is visible without logging in: ask for the PIN only when
    // there is something to sign with (an aborted root ceremony may never have made it).
    const present = this.hsm.token() !== undefined && this.hsm.session().findKeys({ label: transferKeyLabel, class: 'public' }).length > 0;
    const session = present || outcome === 'completed' ? await this.hsm.login() : undefined;
    const keys = session === undefined ? [] : session.findKeys({ label: transferKeyLabel, class: 'private' }).filter((k) => k.keyType === 'EC');
    if (session !== undefined && keys.length === 1) {
      const key = keys[0]!;
      const curve = session.describeKeys().find((d) => d.class === 'private' && d.id === key.id)?.algorithm;
      signers.push({ kind: 'transfer', name: transferKeyLabel, role: 'system', signer: hsmSigner(session, key, curve === 'EC P-384' ? 'ECDSA-SHA384' : 'ECDSA-SHA256') });
    } else if (outcome === 'completed') {
      throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `the transcript is signed by the transfer key '${transferKeyLabel}', which is not on token '${this.hsm.selector().label}' (found ${keys.length})`);
    }
    if (coSigners > 0) {
      const roster = this.ca().currentRoster();
      if (roster !== undefined) {
        this.io.event({ type: 'display', message: `${coSigners} custodian(s) co-sign the transcript with their approval keys.` });
        signers.push(...(await coSignersFromQuorum(this.io, roster, coSigners, ['steps', this.plan.script.steps.at(-1)!.id])));
      } else if (outcome === 'completed') {
        throw new CoreError('ERR_CEREMONY_STATE_INVALID', `closing the transcript needs ${coSigners} co-signer(s), but the CA folder has no quorum roster`);
      }
    }
    const witnesses = signers.filter((x) => x.kind === 'witness').length;
    if (signers.length === 0 || (outcome === 'completed' && witnesses < coSigners)) {
      this.state.record('transcript.left-open', { outcome, reason: signers.length === 0 ? 'no signer is available (the transfer key was not on the token and no co-signer signed)' : `${witnesses} of ${coSigners} co-signers signed` }, iso(this.now()));
      if (outcome === 'completed') throw new CoreError('ERR_TRANSCRIPT_NOT_CLOSED', `the transcript could not be closed: ${witnesses} of ${coSigners} co-signers signed. Resume the ceremony to close it`);
      return;
    }
    await this.sink.close({
      actor: this.administrator().actor,
      role: 'administrator',
      outcome,
      inventorySha256,
      minWitnesses: outcome === 'completed' ? coSigners : witnesses,
      summary: { id: c.id, uuid: c.uuid, scriptSha256: c.scriptSha256, siteSha256: c.siteSha256, status: c.status },
      signers,
    });
    this.io.event({ type: 'transcript.closed', message: `Transcript closed and signed by ${signers.map((x) => x.name).join(', ')}.` });
  }

  summary(status: RunSummary['status']): RunSummary {
    const c = this.state.ceremony();
    return {
      dir: this.info.dir,
      id: c.id,
      rehearsal: c.rehearsal,
      status,
      tokenSerial: c.tokenSerial,
      outputs: this.state.outputs(),
      objects: this.state.objects().filter((o) => o.state === 'present').map((o) => ({ label: o.label, keyId: o.keyId, spkiSha256: o.spkiSha256, algorithm: o.algorithm })),
    };
  }
}

/** `a` or `an` before a role name. */
function article(word: string): string {
  return /^[aeiou]/iu.test(word) ? 'an' : 'a';
}

function checkOutputName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u.test(name) || RESERVED_NAMES.has(name)) throw new TypeError(`invalid ceremony output name '${name}'`);
  return name;
}

function inventoryOf(session: HsmSession): InventoryItem[] {
  return session
    .describeKeys()
    .map((k) => ({ label: k.label, class: k.class, algorithm: k.algorithm, keyId: k.id, spkiSha256: k.spkiSha256 ?? null }))
    .sort((a, b) => (a.label + a.class + a.keyId).localeCompare(b.label + b.class + b.keyId));
}

/** Static checks before anything is created: roster, site, failpoint, transcript. */
function staticPreflight(plan: CeremonyPlan, site: SiteConfig, rehearsal: boolean, env: RunnerEnvironment): void {
  const roster = rosterProblems(plan.script, site);
  if (roster.length > 0) throw problemsError('ERR_CEREMONY_ROLE_MISSING', `the site file ${site.source} does not provide the people ${plan.script.source} requires`, roster);
  if (!rehearsal) {
    if (env.failpoint !== undefined) throw new CoreError('ERR_USAGE', 'NEAM_CA_FAILPOINT is set; crash injection is a rehearsal test hook and is refused in live ceremonies. Unset it');
    if (env.transcript === undefined) throw new CoreError('ERR_NOT_IMPLEMENTED', 'live ceremonies need the signed transcript (core/transcript), which is not part of this build; run a rehearsal (--rehearsal)');
    if (plan.usesToken && !plan.createsToken && site.hsm.tokenSerial === undefined) {
      throw problemsError('ERR_CEREMONY_SITE_INVALID', `the site file ${site.source} must name the token by serial`, [{ path: 'hsm.token-serial', message: 'is required for ceremonies on an existing token (labels are not unique); the root ceremony displayed and recorded it' }]);
    }
  }
}

/** The module a ceremony uses: the site's, or the throwaway SoftHSM of the rehearsal CA folder. */
function hsmConfigOf(rehearsal: boolean, caHome: string, site: SiteConfig): HsmConfig {
  return rehearsal ? { modulePath: findSoftHsmModule(), softhsmDir: rehearsalSoftHsmDir(caHome) } : { modulePath: site.hsm.module };
}

/** Token checks before anything is created: the token is absent or present as the plan needs, planned key labels are free. */
function tokenPreflight(plan: CeremonyPlan, module: HsmModule, selector: TokenSelector, rehearsal: boolean, caHome: string): void {
  const problems: Problem[] = [];
  if (plan.createsToken) {
    const tokens = module.tokens();
    if (tokens.some((t) => t.initialized && t.label === selector.label)) problems.push({ path: 'hsm.token-label', message: `a token labelled '${selector.label}' already exists in ${module.modulePath}; the script initialises a new one` });
    if (!tokens.some((t) => !t.initialized)) problems.push({ path: 'hsm.module', message: `${module.modulePath} has no uninitialised token slot` });
    if (problems.length > 0) throw problemsError('ERR_HSM_TOKEN_EXISTS', 'the token cannot be initialised (nothing was started)', problems);
    return;
  }
  let token: TokenInfo;
  try {
    token = module.findToken(selector);
  } catch (e) {
    if (isCoreError(e, 'ERR_HSM_TOKEN_NOT_PRESENT') && rehearsal) {
      throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `${e.message}. A rehearsal of a ceremony on an existing token uses the token made by the root ceremony rehearsal in ${rehearsalSoftHsmDir(caHome)}: rehearse the root ceremony first with the same site file`, { cause: e });
    }
    throw e;
  }
  // Public objects are visible without logging in; labels are checked again after login by each step.
  const missing: Problem[] = [];
  const session = module.openSession({ label: token.label, serial: token.serial }, { readWrite: false });
  try {
    const created = new Set<string>();
    for (const s of plan.steps) {
      for (const label of s.plan.usesKeyLabels ?? []) {
        if (!created.has(label) && session.findKeys({ label, class: 'public' }).length === 0) {
          missing.push({ path: `steps.${s.step.index}.params`, message: `step '${s.step.id}' uses the key '${label}', which token '${token.label}' (serial ${token.serial}) does not hold` });
        }
      }
      for (const label of s.plan.keyLabels) {
        created.add(label);
        const found = session.findKeys({ label });
        if (found.length > 0) problems.push({ path: `steps.${s.step.index}.params.label`, message: `token '${token.label}' (serial ${token.serial}) already holds an object labelled '${label}'` });
      }
    }
  } finally {
    session.close();
  }
  if (problems.length > 0) throw problemsError('ERR_CEREMONY_KEY_LABEL_EXISTS', 'planned key labels are already used on the token; existing keys are never replaced (nothing was started)', problems);
  if (missing.length > 0) throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `the token lacks keys the script uses (nothing was started):\n${formatProblems(missing)}`, { details: { problems: missing.map((p) => ({ ...p })) } });
}

/**
 * Starts a new ceremony and runs it to completion (or until interrupted or failed; a failed or
 * crashed ceremony continues with {@link resumeCeremony}).
 * @throws {CoreError} ERR_CEREMONY_SCRIPT_INVALID, ERR_CEREMONY_SITE_INVALID, ERR_NOT_IMPLEMENTED,
 *   ERR_CEREMONY_ROLE_MISSING, ERR_CEREMONY_OUTPUT_EXISTS, ERR_CEREMONY_KEY_LABEL_EXISTS,
 *   ERR_HSM_TOKEN_EXISTS, ERR_HSM_*, ERR_CEREMONY_NOT_AIR_GAPPED, ERR_CEREMONY_CLOCK_REJECTED,
 *   ERR_CEREMONY_SIGNOFF_MISSING, ERR_CEREMONY_ANSWERS_INVALID, ERR_CEREMONY_STEP_FAILED
 */
export async function startCeremony(options: StartOptions, env: RunnerEnvironment): Promise<RunSummary> {
  const now = env.now ?? (() => new Date());
  const script = parseScript(options.scriptBytes, options.scriptSource);
  const site = parseSite(options.siteBytes, options.siteSource, options.siteBaseDir);
  const plan = planCeremony(script);
  staticPreflight(plan, site, options.rehearsal, env);
  const caHome = caHomeOf(site.outputDir, options.rehearsal);
  // The CA's transcripts form one chain: refuse while an earlier ceremony is still running.
  const previous = env.transcript === undefined ? undefined : previousTranscript(caHome);
  const started = now();
  const id = `${ceremonyFolderName(started, script.id)}${options.rehearsal ? '-rehearsal' : ''}`;
  const dir = resolve(options.dir ?? join(caHome, 'ceremonies', id));
  if (existsSync(dir)) throw new CoreError('ERR_CEREMONY_OUTPUT_EXISTS', `the ceremony folder ${dir} already exists; a ceremony always starts in a new folder`, { details: { dir } });
  const info: CeremonyInfo = { id, uuid: randomUUID(), dir, caHome, rehearsal: options.rehearsal, type: script.type, usesToken: plan.usesToken };

  const preflightModule = plan.usesToken ? (env.openHsm ?? openHsm)(hsmConfigOf(options.rehearsal, caHome, site)) : undefined;
  try {
    if (preflightModule !== undefined) tokenPreflight(plan, preflightModule, { label: site.hsm.tokenLabel, ...(options.rehearsal || site.hsm.tokenSerial === undefined ? {} : { serial: site.hsm.tokenSerial }) }, options.rehearsal, caHome);
  } finally {
    preflightModule?.close();
  }

  mkdirSync(join(dir, '..'), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    throw new CoreError('ERR_CEREMONY_OUTPUT_EXISTS', `the ceremony folder ${dir} could not be created (${(e as { code?: string }).code ?? 'error'}); a ceremony always starts in a new folder`, { cause: e, details: { dir } });
  }
  writeFileExclusive(join(dir, CEREMONY_FILES.script), options.scriptBytes, 0o444);
  writeFileExclusive(join(dir, CEREMONY_FILES.site), options.siteBytes, 0o444);
  if (options.rehearsal) {
    writeFileExclusive(join(dir, CEREMONY_FILES.rehearsalMarker), `REHEARSAL\n\nThis folder holds a rehearsal of '${script.title}' (${script.source}) on a throwaway SoftHSM token in ${rehearsalSoftHsmDir(caHome)}.\nNothing in it is a production artefact.\n`, 0o444);
  }
  const lock = acquireLock(join(dir, CEREMONY_FILES.lock), started);
  let state: CeremonyState | undefined;
  let run: Run | undefined;
  try {
    state = CeremonyState.create(join(dir, CEREMONY_FILES.db), {
      id,
      uuid: info.uuid,
      type: script.type,
      title: script.title,
      scriptId: script.id,
      scriptSha256: script.sha256,
      siteSha256: site.sha256,
      siteBaseDir: options.siteBaseDir,
      rehearsal: options.rehearsal,
      modulePath: options.rehearsal ? findSoftHsmModule() : site.hsm.module,
      tokenLabel: site.hsm.tokenLabel,
      tokenSerial: options.rehearsal ? null : (site.hsm.tokenSerial ?? null),
      caHome,
      software: env.software ?? 'neam-ca',
      participants: site.participants,
      steps: script.steps.map((s) => ({ id: s.id, action: s.action })),
      at: iso(started),
    });
    run = new Run(state, plan, site, info, env, previous);
    state.record(
      'ceremony.started',
      {
        id,
        uuid: info.uuid,
        type: script.type,
        title: script.title,
        script: { source: options.scriptSource, sha256: script.sha256 },
        site: { source: options.siteSource, sha256: site.sha256, name: site.site ?? null },
        rehearsal: options.rehearsal,
        software: env.software ?? 'neam-ca',
        answers: env.io.source,
        participants: site.participants.map((p) => ({ name: p.name, roles: p.roles })),
        token: { module: options.rehearsal ? `${findSoftHsmModule()} (rehearsal SoftHSM in ${rehearsalSoftHsmDir(caHome)})` : site.hsm.module, label: site.hsm.tokenLabel, serial: options.rehearsal ? null : (site.hsm.tokenSerial ?? null) },
        quorum: { m: script.quorum.m, n: script.quorum.n, activation: script.quorum.activation },
        pointOfNoReturn: plan.pointOfNoReturn === -1 ? null : plan.steps[plan.pointOfNoReturn]!.step.id,
      },
      iso(started),
    );
    for (const p of site.participants) for (const role of p.roles) state.record('participant.registered', { name: p.name, role }, iso(started), run.administrator());
    env.io.event({
      type: 'ceremony.started',
      message: `${options.rehearsal ? 'REHEARSAL — ' : ''}Ceremony ${id}: ${script.title}\n  script ${options.scriptSource} SHA-256 ${script.sha256}\n  site   ${options.siteSource} SHA-256 ${site.sha256}\n  folder ${dir}`,
      data: { id, dir, scriptSha256: script.sha256, siteSha256: site.sha256, rehearsal: options.rehearsal },
    });
    const status = await run.loop();
    return run.summary(status);
  } finally {
    run?.release();
    state?.close();
    lock.release();
  }
}

/** Opens a ceremony folder's record and the script and site copies it ran with. */
function openCeremony(dir: string, env: RunnerEnvironment): { state: CeremonyState; run: Run; lock: CeremonyLock } {
  const abs = resolve(dir);
  const dbPath = join(abs, CEREMONY_FILES.db);
  if (!existsSync(dbPath)) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `${abs} is not a ceremony folder (no ${CEREMONY_FILES.db})`, { details: { dir: abs } });
  const now = env.now ?? (() => new Date());
  const lock = acquireLock(join(abs, CEREMONY_FILES.lock), now());
  let state: CeremonyState | undefined;
  try {
    state = CeremonyState.open(dbPath);
    const c = state.ceremony();
    const scriptBytes = readFileSync(join(abs, CEREMONY_FILES.script));
    if (sha256Hex(scriptBytes) !== c.scriptSha256) {
      throw new CoreError('ERR_CEREMONY_SCRIPT_CHANGED', `${join(abs, CEREMONY_FILES.script)} no longer matches the script this ceremony started with (SHA-256 ${c.scriptSha256}); the reviewed plan must not change mid-ceremony`);
    }
    const siteBytes = readFileSync(join(abs, CEREMONY_FILES.site));
    if (sha256Hex(siteBytes) !== c.siteSha256) {
      throw new CoreError('ERR_CEREMONY_SCRIPT_CHANGED', `${join(abs, CEREMONY_FILES.site)} no longer matches the site file this ceremony started with (SHA-256 ${c.siteSha256})`);
    }
    const script: CeremonyScript = parseScript(scriptBytes, join(abs, CEREMONY_FILES.script));
    const site = parseSite(siteBytes, join(abs, CEREMONY_FILES.site), c.siteBaseDir);
    const plan = planCeremony(script);
    const info: CeremonyInfo = { id: c.id, uuid: c.uuid, dir: abs, caHome: c.caHome, rehearsal: c.rehearsal, type: c.type, usesToken: plan.usesToken };
    const run = new Run(state, plan, site, info, env);
    if (lock.tookOver !== undefined) state.record('ceremony.stale-lock', { pid: lock.tookOver.pid, since: lock.tookOver.since, note: 'the previous runner process ended without releasing the ceremony (crash or kill)' }, iso(now()));
    return { state, run, lock };
  } catch (e) {
    state?.close();
    lock.release();
    throw e;
  }
}

/**
 * Continues an interrupted, failed or crashed ceremony: verifies the record against the folder and
 * the token, reconciles the interrupted step, and runs the rest.
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID, ERR_CEREMONY_COMPLETED, ERR_CEREMONY_ABORTED,
 *   ERR_CEREMONY_SCRIPT_CHANGED, ERR_CEREMONY_RECONCILE_FAILED, and whatever a step throws
 */
export async function resumeCeremony(dir: string, env: RunnerEnvironment): Promise<RunSummary> {
  const { state, run, lock } = openCeremony(dir, env);
  try {
    const c = state.ceremony();
    if (c.status === 'aborted') throw new CoreError('ERR_CEREMONY_ABORTED', `ceremony ${c.id} was aborted at ${c.abortedAt ?? '?'} (${c.abortReason ?? 'no reason recorded'}); start a new ceremony`);
    if (c.status === 'completed') {
      if (run.sink !== undefined && !run.sink.isClosed()) {
        // Completed, but the process ended before the transcript was closed: close it now.
        run.catchUpTranscript();
        await run.closeTranscript('completed', state.inventory('final')?.sha256 ?? null);
        return run.summary('completed');
      }
      throw new CoreError('ERR_CEREMONY_COMPLETED', `ceremony ${c.id} is already completed (${c.completedAt ?? '?'}); nothing to resume`);
    }
    if (!c.rehearsal) staticPreflight(run.plan, run.site, false, env);
    run.catchUpTranscript();
    state.record('ceremony.resumed', { answers: env.io.source, software: env.software ?? 'neam-ca' }, iso(run.now()));
    env.io.event({ type: 'ceremony.resumed', message: `${c.rehearsal ? 'REHEARSAL — ' : ''}Resuming ceremony ${c.id} (${c.title}) in ${run.info.dir}` });
    await run.verifyCompleted().catch((e: unknown) => {
      if (e instanceof CoreError) state.record('ceremony.reconcile-failed', { code: e.code, message: e.message }, iso(run.now()));
      throw e;
    });
    const status = await run.loop();
    return run.summary(status);
  } finally {
    run.release();
    state.close();
    lock.release();
  }
}

/**
 * Aborts a ceremony before its point of no return: destroys exactly the key objects it created
 * (matched by label and public-key hash), checks the token's inventory equals the one taken when
 * the ceremony first opened it, and records why.
 * @throws {CoreError} ERR_CEREMONY_PAST_POINT_OF_NO_RETURN, ERR_CEREMONY_COMPLETED, ERR_CEREMONY_ABORTED,
 *   ERR_CEREMONY_RECONCILE_FAILED, ERR_USAGE (no reason), ERR_HSM_*
 */
export async function abortCeremony(dir: string, reason: string, env: RunnerEnvironment): Promise<AbortSummary> {
  const why = reason.trim();
  if (why === '' || why.length > 2000) throw new CoreError('ERR_USAGE', 'an abort needs a reason (1 to 2000 characters); it is recorded');
  const { state, run, lock } = openCeremony(dir, env);
  try {
    const c = state.ceremony();
    if (c.status === 'aborted') throw new CoreError('ERR_CEREMONY_ABORTED', `ceremony ${c.id} was already aborted at ${c.abortedAt ?? '?'}`);
    if (c.status === 'completed') throw new CoreError('ERR_CEREMONY_COMPLETED', `ceremony ${c.id} is completed; a completed ceremony cannot be aborted`);
    const rows = state.steps();
    const crossed = run.plan.steps.find((s) => s.pointOfNoReturn && rows[s.step.index]!.status !== 'pending');
    if (crossed !== undefined) {
      state.record('ceremony.abort-refused', { reason: why, pointOfNoReturn: crossed.step.id }, iso(run.now()), run.administrator());
      throw new CoreError('ERR_CEREMONY_PAST_POINT_OF_NO_RETURN', `ceremony ${c.id} has crossed its point of no return (step '${crossed.step.id}': ${crossed.step.title}); it cannot be aborted. Resume it to finish`);
    }
    state.record('ceremony.abort-requested', { reason: why }, iso(run.now()), run.administrator());
    env.io.event({ type: 'warning', message: `Aborting ceremony ${c.id}: ${why}` });
    const destroyed: AbortSummary['destroyed'] = [];
    const mine = state.objects().filter((o) => o.state !== 'destroyed');
    let restored = true;
    const initial = state.inventory('initial');
    const tokenInit = rows.find((r) => r.action === 'token-init' && (r.status === 'completed' || r.status === 'signed'));
    if (initial !== undefined || mine.length > 0) {
      const session = await run.hsm.login();
      const initialLabels = new Set((initial?.items ?? []).map((i) => `${i.label}\u0000${i.class}\u0000${i.keyId}`));
      for (const o of mine) {
        // Objects that were on the token before the ceremony are never ours, whatever their label.
        const found = session.findKeys({ label: o.label }).filter((k) => !initialLabels.has(`${k.label}\u0000${k.class}\u0000${k.id}`));
        // Fingerprints first: a private key's public half is read from its public object, which
        // may be destroyed in this loop.
        const withSpki = found.map((k) => {
          let spki: string | undefined;
          try {
            spki = k.class === 'secret' ? undefined : sha256Hex(session.publicKeySpki(k));
          } catch {
            spki = undefined;
          }
          return { k, spki };
        });
        const foreign = withSpki.filter((x) => o.spkiSha256 !== null && x.spki !== undefined && x.spki !== o.spkiSha256);
        if (foreign.length > 0) {
          throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `an object labelled '${o.label}' on the token does not match the key this ceremony recorded (SHA-256 ${o.spkiSha256 ?? '?'}); nothing was destroyed for it. Investigate before retrying the abort`);
        }
        for (const { k } of withSpki) {
          session.destroy(k);
          destroyed.push({ label: k.label, class: k.class, keyId: k.id });
        }
      }
      state.markObjectsDestroyed(
        mine.map((o) => o.label),
        iso(run.now()),
      );
      const after = run.recordInventory('after-abort', session);
      restored = initial === undefined ? after.items.length === 0 : after.sha256 === initial.sha256;
    }
    const tokenLeft = tokenInit === undefined ? undefined : `token '${c.tokenLabel}' (serial ${c.tokenSerial ?? '?'}) was initialised by this ceremony and stays initialised${c.rehearsal ? `; to discard the rehearsal token, delete ${rehearsalSoftHsmDir(c.caHome)}` : ''}`;
    state.finish('aborted', iso(run.now()), { destroyed: destroyed.map((d) => ({ label: d.label, class: d.class, keyId: d.keyId })), restored, tokenLeft: tokenLeft ?? null }, why, run.administrator());
    await run.closeTranscript('aborted', state.inventory('after-abort')?.sha256 ?? null);
    env.io.event({ type: 'ceremony.aborted', message: `Ceremony ${c.id} aborted. ${destroyed.length} object(s) destroyed; the token ${restored ? 'is as it was before the ceremony' : 'does NOT match its inventory from before the ceremony'}.` });
    const summary: AbortSummary = { dir: run.info.dir, id: c.id, reason: why, destroyed, restored };
    if (tokenLeft !== undefined) summary.tokenLeft = tokenLeft;
    return summary;
  } finally {
    run.release();
    state.close();
    lock.release();
  }
}

/**
 * Reads a ceremony's record without changing it.
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID, ERR_STORE_OPEN_FAILED
 */
export function ceremonyStatus(dir: string): CeremonyStatusView {
  const abs = resolve(dir);
  const dbPath = join(abs, CEREMONY_FILES.db);
  if (!existsSync(dbPath) || !statSync(dbPath).isFile()) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `${abs} is not a ceremony folder (no ${CEREMONY_FILES.db})`, { details: { dir: abs } });
  const state = CeremonyState.open(dbPath);
  try {
    const c = state.ceremony();
    let script: CeremonyScript | undefined;
    try {
      script = parseScript(readFileSync(join(abs, CEREMONY_FILES.script)), join(abs, CEREMONY_FILES.script));
    } catch {
      script = undefined;
    }
    const plan = script === undefined ? undefined : planCeremony(script);
    const rows = state.steps();
    const steps = rows.map((r) => {
      const s = script?.steps[r.index];
      return {
        index: r.index,
        id: r.id,
        title: s?.title ?? r.id,
        action: r.action,
        status: r.status,
        attempt: r.attempt,
        startedAt: r.startedAt,
        completedAt: r.completedAt,
        pointOfNoReturn: plan?.steps[r.index]?.pointOfNoReturn ?? false,
        signOff: s?.signOff ?? [],
        signedBy: state.signOffs(r.id),
        result: r.result,
      };
    });
    return {
      dir: abs,
      id: c.id,
      uuid: c.uuid,
      type: c.type,
      title: c.title,
      rehearsal: c.rehearsal,
      status: c.status,
      scriptSha256: c.scriptSha256,
      siteSha256: c.siteSha256,
      token: { label: c.tokenLabel, serial: c.tokenSerial, module: c.modulePath },
      createdAt: c.createdAt,
      completedAt: c.completedAt,
      abortedAt: c.abortedAt,
      abortReason: c.abortReason,
      pointOfNoReturnCrossed: steps.some((s) => s.pointOfNoReturn && s.status !== 'pending'),
      next: steps.find((s) => s.status !== 'signed')?.id ?? null,
      steps,
      outputs: state.outputs(),
      objects: state.objects().map((o) => ({ label: o.label, state: o.state, keyId: o.keyId, spkiSha256: o.spkiSha256, algorithm: o.algorithm })),
      journalEntries: state.journal().length,
    };
  } finally {
    state.close();
  }
}

/**
 * The plan, site and mode of an existing ceremony, read from the copies in its folder (to validate
 * an answers file before resuming or aborting).
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID, ERR_CEREMONY_SCRIPT_INVALID, ERR_CEREMONY_SITE_INVALID
 */
export function ceremonyPlanOf(dir: string): { plan: CeremonyPlan; site: SiteConfig; rehearsal: boolean } {
  const abs = resolve(dir);
  const dbPath = join(abs, CEREMONY_FILES.db);
  if (!existsSync(dbPath)) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `${abs} is not a ceremony folder (no ${CEREMONY_FILES.db})`, { details: { dir: abs } });
  const state = CeremonyState.open(dbPath);
  try {
    const c = state.ceremony();
    const script = parseScript(readFileSync(join(abs, CEREMONY_FILES.script)), join(abs, CEREMONY_FILES.script));
    const site = parseSite(readFileSync(join(abs, CEREMONY_FILES.site)), join(abs, CEREMONY_FILES.site), c.siteBaseDir);
    return { plan: planCeremony(script), site, rehearsal: c.rehearsal };
  } finally {
    state.close();
  }
}

/** Reads a ceremony's journal (for `neam-ca ceremony status --journal` and the app). */
export function ceremonyJournal(dir: string): JournalEntry[] {
  const state = CeremonyState.open(join(resolve(dir), CEREMONY_FILES.db));
  try {
    return state.journal();
  } finally {
    state.close();
  }
}

/** Objects as created (exported for tests that compare the record with the token). */
export type { CreatedObject };
