/**
 * @module electron/host/ceremony/session
 * The workstation's ceremony session: one ceremony at a time, run by core's persisted runner
 * (`startCeremony`, `resumeCeremony`, `abortCeremony`) in this process, with the people in the
 * room reached through an IPC-backed {@link CeremonyIo}:
 *
 * - the runner's narration (`event`) and its journal (`onJournal`) become session changes and
 *   `ceremony.changed` / `ceremony.journaled` contract events;
 * - a question (`ask`, `askSecret`) becomes the session's one waiting question; the runner awaits a
 *   promise that an `answer` or `answerSecret` call resolves. An answer is checked first (the
 *   question's own validation, the choice list, the exact confirmation text, and for custodians
 *   core/quorum's checks of their file and passphrase): a refused answer leaves the question open
 *   and the reply names what was wrong, so one custodian's typo never stops the ceremony;
 * - secrets arrive as vault handles (`secrets.submit` first), are taken from the vault for the
 *   question's purpose only, and handed to the runner as `Secret`s, which it wipes after use.
 *
 * The session also prepares a ceremony (script and site file checked by the engine, the roster
 * checked in person by person), lists the ceremonies of a CA folder to resume or abort, and reads
 * the token, the transcript and the report for the screens.
 *
 * Must never: keep a secret (a refused secret is wiped at once), answer a question on the runner's
 * behalf, start a ceremony that is not valid and fully checked in, or run two ceremonies at once.
 */
import { dirname, join, resolve } from 'node:path';

import { abortCeremony, ceremonyJournal, ceremonyPlanOf, ceremonyStatus, resumeCeremony, startCeremony, type AbortSummary, type CeremonyStatusView, type RunnerEnvironment, type RunSummary } from '../../../core/ceremony/runner.ts';
import { keyText, type CeremonyEvent, type CeremonyIo, type Question, type SecretQuestion } from '../../../core/ceremony/io.ts';
import { caHomeOf, rehearsalSoftHsmDir } from '../../../core/ceremony/layout.ts';
import { parseScript } from '../../../core/ceremony/script.ts';
import { parseSite, rosterProblems } from '../../../core/ceremony/site.ts';
import { fileTranscript } from '../../../core/ceremony/transcript-file.ts';
import type { JournalEntry } from '../../../core/ceremony/state.ts';
import { CoreError, serializeError, type CoreErrorCode } from '../../../core/errors.ts';
import { findSoftHsmModule, type HsmConfig, type HsmModule } from '../../../core/hsm/index.ts';
import type { Logger } from '../../../core/log/logger.ts';
import type { Secret } from '../../../core/util/secret.ts';
import type { z } from 'zod';
import type { CheckedFile, EventView, ReviewView, SessionView } from '../../ipc/ceremony-shapes.ts';
import type { AppConfig } from '../config.ts';
import type { EventHub } from '../events.ts';
import { readCeremonyFile } from '../handlers/files.ts';
import type { SecretVault } from '../secret-vault.ts';
import { MAX_REPORTED_PROBLEMS, planSummary, siteSummary, type PlanSummary, type SiteSummary } from '../yaml-check.ts';
import type { YamlChecker } from '../yaml-checker.ts';
import { CustodianChecks } from './custodians.ts';
import { classify, NAME_LISTS, type Classified, type CustodianMode } from './questions.ts';
import { artefactsOf, journalView, listCeremonies, saveReport, tokenView, transcriptCheck, writtenFile } from './views.ts';

type Session = z.input<typeof SessionView>;
type Checked = z.input<typeof CheckedFile>;
type Review = z.input<typeof ReviewView>;
type Event = z.input<typeof EventView>;
type FileRef = { root: string; path: string };
type Phase = Session['phase'];

/** Narration kept for the screens (the journal is read from the ceremony folder). */
const MAX_EVENTS = 300;
const MAX_REVIEWS = 40;
/** Wrong entries one question accepts before the ceremony stops at it. */
export const MAX_ATTEMPTS = 5;

/** What the session needs from its composition root. */
export interface CeremonySessionDeps {
  config: AppConfig;
  vault: SecretVault;
  yaml: YamlChecker;
  events: EventHub;
  logger: Logger;
  openHsm: (config: HsmConfig) => HsmModule;
  /** Recorded in every ceremony (`neam-ca 0.1.0 (workstation)`). */
  software: string;
  /** Runner hooks for tests: clock and air-gap probe. */
  runner?: Pick<RunnerEnvironment, 'now' | 'airGap'>;
}

interface Pending {
  id: string;
  question: Question | SecretQuestion;
  cls: Classified;
  reviews: Review[];
  attempts: number;
  lastError: { code: string; message: string } | null;
  askedAt: string;
  resolve: (value: string | Secret) => void;
  reject: (e: unknown) => void;
}

interface Prepared {
  files: { script: Checked; site: Checked } | null;
  plan: PlanSummary;
  site: SiteSummary;
  scriptBytes: Buffer | null;
  siteBytes: Buffer | null;
  scriptSource: string;
  siteSource: string;
  siteBaseDir: string;
  rosterProblems: Array<{ severity: 'error'; path: string; message: string }>;
  caHome: string;
}

interface CustodianFlow {
  mode: CustodianMode;
  step: string | null;
  names: string[];
  needed: number;
  done: Array<{ name: string; at: string; note: string }>;
}

/** The one ceremony session of a workstation host. */
export class CeremonySession {
  readonly #deps: CeremonySessionDeps;
  readonly #checks: CustodianChecks;
  #revision = 0;
  #phase: Phase = 'idle';
  #operation: Session['operation'] = null;
  #running: Promise<void> | null = null;
  #controller: AbortController | null = null;
  #prepared: Prepared | null = null;
  #failedFiles: { script: Checked; site: Checked } | null = null;
  #checkIns = new Map<string, string>();
  /** The check-ins were used by a ceremony that ran: the next ceremony checks everyone in again. */
  #checkInsSpent = false;
  #dir: string | null = null;
  #question: Pending | null = null;
  #questions = 0;
  #events: Event[] = [];
  #eventSeq = 0;
  #reviews: Review[] = [];
  #fresh: Review[] = [];
  #custodians: CustodianFlow | null = null;
  #decisions: Session['decisions'] = [];
  #error: { code: string; message: string } | null = null;
  #outcome: Session['outcome'] = null;
  #abort: Session['abort'] = null;
  #currentStep: string | null = null;
  #emitTimer: NodeJS.Timeout | undefined;

  constructor(deps: CeremonySessionDeps) {
    this.#deps = deps;
    this.#checks = new CustodianChecks(() => this.#prepared?.caHome ?? null);
  }

  #now(): Date {
    return this.#deps.runner?.now?.() ?? new Date();
  }

  get #rehearsal(): boolean {
    return this.#deps.config.rehearsal.on;
  }

  // -------------------------------------------------------------------------------------------
  // Views.

  /** The session as the contract carries it. */
  view(): Session {
    const p = this.#prepared;
    let ceremony: CeremonyStatusView | null = null;
    if (this.#dir !== null) {
      try {
        ceremony = ceremonyStatus(this.#dir);
      } catch {
        ceremony = null;
      }
    }
    const q = this.#question;
    const flow = this.#custodians;
    return {
      revision: this.#revision,
      rehearsal: this.#rehearsal,
      phase: this.#phase,
      operation: this.#operation,
      files: p?.files ?? this.#failedFiles,
      plan: p?.plan ?? null,
      site: p?.site ?? null,
      rosterProblems: p?.rosterProblems ?? [],
      checkIns: [...this.#checkIns].map(([name, at]) => ({ name, at })),
      ready: this.#readiness().length === 0,
      caFolder: p?.caHome ?? null,
      ceremony: ceremony === null ? null : { ...ceremony, steps: ceremony.steps.map((s) => ({ ...s, result: s.result as Record<string, unknown> | null })) },
      currentStep: this.#currentStep,
      question:
        q === null
          ? null
          : {
              id: q.id,
              kind: q.question.kind,
              key: [...q.question.key],
              keyText: keyText(q.question.key),
              prompt: q.question.prompt.trim(),
              help: q.question.help ?? null,
              attestation: q.question.attestation === true,
              choices: q.question.kind === 'choice' ? [...q.question.choices] : null,
              expect: q.question.kind === 'confirm' ? q.question.expect : null,
              confirm: q.question.kind === 'secret' && q.question.confirm === true,
              minLength: q.question.kind === 'secret' ? (q.question.minLength ?? null) : null,
              purpose: q.cls.purpose,
              role: q.cls.role,
              screen: q.cls.screen,
              custodian: q.cls.custodian,
              step: q.cls.step,
              candidates: q.cls.role === 'custodian-names' ? (p?.site.participants.filter((x) => x.roles.includes('custodian')).map((x) => x.name) ?? null) : null,
              reviews: q.reviews,
              attempts: q.attempts,
              lastError: q.lastError,
              askedAt: q.askedAt,
            },
      events: this.#events.slice(-200),
      reviews: this.#reviews,
      custodians: flow === null ? null : { mode: flow.mode, step: flow.step, names: flow.names, needed: flow.needed, done: flow.done, current: q !== null && q.cls.custodian !== null && q.cls.screen !== 'steps' ? q.cls.custodian : null },
      decisions: this.#decisions,
      error: this.#error,
      outcome: this.#outcome,
      abort: this.#abort,
      journalCount: ceremony?.journalEntries ?? 0,
    };
  }

  /** What still stands between the prepared ceremony and its start (empty when ready). */
  #readiness(): string[] {
    const p = this.#prepared;
    if (p === null || this.#phase !== 'prepared') return ['choose a valid script and site file'];
    const out: string[] = [];
    if (p.rosterProblems.length > 0) out.push('the site file must provide the people the script requires');
    const missing = p.site.participants.filter((x) => !this.#checkIns.has(x.name)).map((x) => x.name);
    if (missing.length > 0) out.push(`check in ${missing.join(', ')}`);
    return out;
  }

  #changed(): void {
    this.#revision++;
    if (this.#emitTimer !== undefined) return;
    // Coalesced: a burst of journal entries and narration is one change for the screens.
    this.#emitTimer = setTimeout(() => {
      this.#emitTimer = undefined;
      try {
        this.#deps.events.emit.ceremony.changed(this.view());
      } catch (e) {
        this.#deps.logger.error('ceremony change not sent', { code: serializeError(e).code });
      }
    }, 20);
  }

  /** The HSM a ceremony of this session uses, with a sentence for the HSM screen (undefined before one ran). */
  activeHsm(): { config: HsmConfig; context: string } | undefined {
    const p = this.#prepared;
    if (p === null || (this.#running === null && this.#dir === null)) return undefined;
    if (this.#rehearsal) {
      const dir = rehearsalSoftHsmDir(p.caHome);
      return { config: { modulePath: findSoftHsmModule(), softhsmDir: dir }, context: `the rehearsal's throwaway SoftHSM token directory ${dir}` };
    }
    return { config: { modulePath: p.site.module }, context: `the ceremony's HSM module ${p.site.module}` };
  }

  // -------------------------------------------------------------------------------------------
  // Preparing.

  #refuseWhileRunning(what: string): void {
    if (this.#running !== null) throw new CoreError('ERR_APP_STATE_INVALID', `a ceremony is running; ${what} after it finished, or stop it first (Ceremony steps: Stop)`);
  }

  /**
   * Checks a script and a site file with the engine; when both are valid, they become the ceremony
   * to run (its exact bytes are kept: the ceremony runs what was checked).
   * @throws {CoreError} ERR_APP_STATE_INVALID while a ceremony runs, and the file reading errors
   */
  async prepare(scriptRef: FileRef, siteRef: FileRef): Promise<Session> {
    this.#refuseWhileRunning('choose other files');
    const roots = this.#deps.config.fileRoots;
    const scriptFile = readCeremonyFile(roots, scriptRef);
    const siteFile = readCeremonyFile(roots, siteRef);
    const sc = await this.#deps.yaml.check(scriptFile.text, scriptFile.display, dirname(scriptFile.full));
    const st = await this.#deps.yaml.check(siteFile.text, siteFile.display, dirname(siteFile.full));
    const wrongKind = (c: typeof sc, want: 'script' | 'site'): Checked['problems'] =>
      c.kind === want || (c.kind === 'yaml' && !c.valid && c.problems.length > 0)
        ? c.problems
        : [{ severity: 'error', path: '', message: want === 'script' ? `this is not a ceremony script (it looks like ${c.kind === 'site' ? 'a site file' : 'another YAML file'}); choose a script with ceremony-type, roles, quorum and steps` : `this is not a site file (it looks like ${c.kind === 'script' ? 'a ceremony script' : 'another YAML file'}); choose the site file with hsm, output-dir and participants` }, ...c.problems];
    const checked = (f: typeof scriptFile, ref: FileRef, c: typeof sc, want: 'script' | 'site'): Checked => {
      const problems = wrongKind(c, want);
      return { file: ref, displayPath: f.display, sha256: f.sha256, kind: c.kind, valid: c.valid && c.kind === want, problems: problems.slice(0, MAX_REPORTED_PROBLEMS), problemsTotal: c.problemsTotal + (problems.length - c.problems.length) };
    };
    const files = { script: checked(scriptFile, scriptRef, sc, 'script'), site: checked(siteFile, siteRef, st, 'site') };
    // A ceremony may have started while the files were being checked.
    this.#refuseWhileRunning('choose other files');
    this.#resetRun();
    if (!files.script.valid || !files.site.valid) {
      this.#prepared = null;
      this.#failedFiles = files;
      this.#phase = 'idle';
      this.#changed();
      return this.view();
    }
    // Valid files parse quickly and linearly: the engine's own objects, from the exact bytes checked.
    const script = parseScript(scriptFile.bytes, scriptFile.display);
    const site = parseSite(siteFile.bytes, siteFile.display, dirname(siteFile.full));
    const previousSite = this.#prepared?.site.sha256;
    this.#prepared = {
      files,
      plan: planSummary(script),
      site: siteSummary(site),
      scriptBytes: scriptFile.bytes,
      siteBytes: siteFile.bytes,
      scriptSource: scriptFile.display,
      siteSource: siteFile.display,
      siteBaseDir: dirname(siteFile.full),
      rosterProblems: rosterProblems(script, site).map((p) => ({ severity: 'error' as const, path: p.path, message: p.message })),
      caHome: caHomeOf(site.outputDir, this.#rehearsal),
    };
    this.#failedFiles = null;
    // Check-ins survive choosing other files before the start, never into another ceremony.
    if (previousSite !== site.sha256 || this.#checkInsSpent) this.#checkIns.clear();
    this.#checkInsSpent = false;
    this.#phase = 'prepared';
    this.#changed();
    return this.view();
  }

  /**
   * Checks a participant in (or out) before the start.
   * @throws {CoreError} ERR_APP_STATE_INVALID (nothing prepared, or running), ERR_NOT_FOUND (not in the site file)
   */
  checkIn(name: string, present: boolean): Session {
    this.#refuseWhileRunning('change the check-in');
    const p = this.#prepared;
    if (p === null || this.#phase !== 'prepared') throw new CoreError('ERR_APP_STATE_INVALID', 'choose the ceremony script and the site file first (Script & site)');
    const person = p.site.participants.find((x) => x.name === name);
    if (person === undefined) throw new CoreError('ERR_NOT_FOUND', `'${name}' is not a participant of the site file ${p.siteSource}; only the people it lists take part`);
    if (present) this.#checkIns.set(person.name, this.#now().toISOString());
    else this.#checkIns.delete(person.name);
    this.#changed();
    return this.view();
  }

  #resetRun(): void {
    this.#dir = null;
    this.#operation = null;
    this.#events = [];
    this.#reviews = [];
    this.#fresh = [];
    this.#custodians = null;
    this.#decisions = [];
    this.#error = null;
    this.#outcome = null;
    this.#abort = null;
    this.#currentStep = null;
  }

  // -------------------------------------------------------------------------------------------
  // Running.

  #environment(signal: AbortSignal): RunnerEnvironment {
    const io: CeremonyIo = {
      source: 'ceremony workstation (desktop app)',
      event: (e) => this.#onEvent(e),
      ask: (q) => this.#pose(q) as Promise<string>,
      askSecret: (q) => this.#pose(q) as Promise<Secret>,
    };
    return {
      io,
      transcript: fileTranscript(),
      signal,
      software: this.#deps.software,
      onJournal: (entry) => this.#onJournal(entry),
      ...(this.#deps.runner?.now === undefined ? {} : { now: this.#deps.runner.now }),
      ...(this.#deps.runner?.airGap === undefined ? {} : { airGap: this.#deps.runner.airGap }),
    };
  }

  /** Runs one runner operation in the background; the session follows it. */
  #launch(operation: 'start' | 'resume' | 'abort', work: (env: RunnerEnvironment) => Promise<RunSummary | AbortSummary>): void {
    const controller = new AbortController();
    this.#controller = controller;
    this.#operation = operation;
    this.#phase = 'running';
    this.#error = null;
    this.#outcome = null;
    const before: Phase = this.#dir === null ? 'prepared' : 'stopped';
    this.#running = work(this.#environment(controller.signal))
      .then((r) => {
        if ('destroyed' in r) {
          this.#abort = { destroyed: r.destroyed.map((d) => ({ label: d.label, class: d.class, keyId: d.keyId })), restored: r.restored, tokenLeft: r.tokenLeft ?? null };
          this.#dir = r.dir;
          this.#outcome = { status: 'aborted', at: this.#now().toISOString() };
        } else {
          this.#dir = r.dir;
          this.#outcome = { status: r.status, at: this.#now().toISOString() };
        }
      })
      .catch((e: unknown) => {
        const err = serializeError(e);
        this.#error = { code: err.code, message: err.message };
        this.#outcome = { status: 'failed', at: this.#now().toISOString() };
        if (err.code === 'ERR_INTERNAL') this.#deps.logger.error('ceremony run failed unexpectedly', { error: e instanceof Error ? e.name : typeof e });
        else this.#deps.logger.info('ceremony run stopped', { code: err.code });
      })
      .finally(() => {
        this.#question?.reject(new CoreError('ERR_APP_STOPPED', 'the ceremony run ended'));
        this.#question = null;
        this.#running = null;
        this.#controller = null;
        this.#phase = this.#settledPhase(before);
        this.#changed();
      });
    this.#changed();
  }

  #settledPhase(before: Phase): Phase {
    if (this.#dir === null) return before === 'stopped' ? 'stopped' : this.#prepared === null ? 'idle' : 'prepared';
    try {
      const status = ceremonyStatus(this.#dir).status;
      return status === 'running' ? 'stopped' : status;
    } catch {
      return 'stopped';
    }
  }

  /**
   * Starts the prepared ceremony in the background (rehearsal mode: a throwaway SoftHSM token).
   * @throws {CoreError} ERR_APP_STATE_INVALID when it is not ready (what is missing is named)
   */
  start(): Session {
    this.#refuseWhileRunning('start another');
    const missing = this.#readiness();
    const p = this.#prepared;
    if (missing.length > 0 || p === null || p.scriptBytes === null || p.siteBytes === null) throw new CoreError('ERR_APP_STATE_INVALID', `the ceremony cannot start yet: ${missing.join('; ') || 'choose the script and site file again'}`);
    this.#resetRun();
    this.#checkInsSpent = true;
    const options = { scriptBytes: p.scriptBytes, scriptSource: p.scriptSource, siteBytes: p.siteBytes, siteSource: p.siteSource, siteBaseDir: p.siteBaseDir, rehearsal: this.#rehearsal };
    this.#launch('start', (env) => startCeremony(options, env));
    return this.view();
  }

  /** The ceremony folder a target names (in the CA folder of its site file for this mode). */
  async #targetDir(target: { site: FileRef; id: string }): Promise<string> {
    const { caHome } = await this.#caHomeOfSite(target.site);
    const dir = join(caHome, 'ceremonies', target.id);
    if (resolve(dir) !== dir || !dir.startsWith(join(caHome, 'ceremonies'))) throw new CoreError('ERR_APP_FORBIDDEN', 'the ceremony must be a folder of the CA folder');
    ceremonyStatus(dir); // throws ERR_CEREMONY_STATE_INVALID when it is not a ceremony folder
    return dir;
  }

  async #caHomeOfSite(ref: FileRef): Promise<{ caHome: string }> {
    const f = readCeremonyFile(this.#deps.config.fileRoots, ref);
    const c = await this.#deps.yaml.check(f.text, f.display, dirname(f.full));
    if (!c.valid || c.site === undefined) throw new CoreError('ERR_CEREMONY_SITE_INVALID', `${f.display} is not a valid site file${c.problems[0] === undefined ? '' : ` (${c.problems[0].path === '' ? '' : `${c.problems[0].path}: `}${c.problems[0].message})`}; choose the site file of the ceremony`);
    return { caHome: caHomeOf(c.site.outputDir, this.#rehearsal) };
  }

  /** Loads what the screens show of an existing ceremony from the copies in its folder. */
  #adopt(dir: string): void {
    const { plan, site, rehearsal } = ceremonyPlanOf(dir);
    if (rehearsal !== this.#rehearsal) {
      throw new CoreError('ERR_APP_STATE_INVALID', `${dir} is a ${rehearsal ? 'rehearsal' : 'live ceremony'}, and this workstation runs in ${this.#rehearsal ? 'rehearsal' : 'live'} mode; restart the workstation in the matching mode`);
    }
    const same = this.#prepared !== null && this.#dir === dir;
    if (!same) {
      this.#prepared = {
        files: null,
        plan: planSummary(plan.script),
        site: siteSummary(site),
        scriptBytes: null,
        siteBytes: null,
        scriptSource: join(dir, 'script.yaml'),
        siteSource: join(dir, 'site.yaml'),
        siteBaseDir: dirname(site.source),
        rosterProblems: [],
        caHome: caHomeOf(site.outputDir, rehearsal),
      };
      this.#failedFiles = null;
      this.#resetRun();
      this.#checkIns.clear();
      this.#dir = dir;
    }
  }

  /**
   * Resumes the session's stopped ceremony, or one of a CA folder, in the background.
   * @throws {CoreError} ERR_APP_STATE_INVALID, ERR_CEREMONY_STATE_INVALID
   */
  async resume(target?: { site: FileRef; id: string }): Promise<Session> {
    this.#refuseWhileRunning('resume it');
    const dir = target === undefined ? this.#dir : await this.#targetDir(target);
    if (dir === null) throw new CoreError('ERR_APP_STATE_INVALID', 'there is no stopped ceremony in this session; choose one in the list of the Script & site screen');
    // Another call may have started a runner while the target was checked: never two runners.
    this.#refuseWhileRunning('resume it');
    this.#adopt(dir);
    this.#question = null;
    this.#custodians = null;
    this.#fresh = [];
    this.#launch('resume', (env) => resumeCeremony(dir, env));
    return this.view();
  }

  /**
   * Aborts the session's stopped ceremony, or one of a CA folder, in the background (before its
   * point of no return; custodians may be asked to open the token to destroy its keys).
   * @throws {CoreError} ERR_APP_STATE_INVALID, ERR_CEREMONY_STATE_INVALID
   */
  async abort(reason: string, target?: { site: FileRef; id: string }): Promise<Session> {
    this.#refuseWhileRunning('abort it');
    const dir = target === undefined ? this.#dir : await this.#targetDir(target);
    if (dir === null) throw new CoreError('ERR_APP_STATE_INVALID', 'there is no ceremony to abort in this session; choose one in the list of the Script & site screen');
    // Another call may have started a runner while the target was checked: never two runners.
    this.#refuseWhileRunning('abort it');
    this.#adopt(dir);
    this.#launch('abort', (env) => abortCeremony(dir, reason, env));
    return this.view();
  }

  /** Stops the running ceremony: at once when it waits for an answer, else before its next step. */
  interrupt(): Session {
    if (this.#running === null) throw new CoreError('ERR_APP_STATE_INVALID', 'no ceremony is running');
    this.#controller?.abort();
    const q = this.#question;
    if (q !== null) {
      this.#question = null;
      q.reject(new CoreError('ERR_APP_STOPPED', `the administrator stopped the ceremony at the workstation while it waited for '${keyText(q.question.key)}'; resume it to continue from this step`));
    }
    this.#changed();
    return this.view();
  }

  /** Stops everything (the host is shutting down); waits for the runner to release the ceremony. */
  async shutdown(): Promise<void> {
    const running = this.#running;
    if (running === null) return;
    this.#controller?.abort();
    const q = this.#question;
    this.#question = null;
    q?.reject(new CoreError('ERR_APP_STOPPED', 'the workstation was closed while the ceremony waited for an answer; resume it to continue'));
    await Promise.race([running, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  // -------------------------------------------------------------------------------------------
  // The IPC-backed CeremonyIo.

  #onEvent(e: CeremonyEvent): void {
    const data = e.data === undefined ? null : (e.data as Record<string, unknown>);
    if (e.type === 'ceremony.started' && typeof data?.['dir'] === 'string') this.#dir = data['dir'];
    if (e.type === 'step.started' && e.step !== undefined) {
      this.#currentStep = e.step;
      this.#custodians = null;
      this.#fresh = [];
    }
    const review = data?.['review'];
    if (typeof review === 'object' && review !== null) {
      const r = reviewOf(review as Record<string, unknown>, e.step ?? this.#currentStep);
      if (r !== undefined) {
        this.#reviews = [...this.#reviews, r].slice(-MAX_REVIEWS);
        this.#fresh.push(r);
      }
    }
    this.#events.push({ seq: ++this.#eventSeq, at: this.#now().toISOString(), type: e.type, step: e.step ?? null, message: e.message, data });
    if (this.#events.length > MAX_EVENTS) this.#events = this.#events.slice(-MAX_EVENTS);
    this.#changed();
  }

  #onJournal(entry: JournalEntry): void {
    try {
      this.#deps.events.emit.ceremony.journaled(journalView(entry, this.#rehearsal));
    } catch (e) {
      this.#deps.logger.error('journal entry not sent', { code: serializeError(e).code });
    }
    this.#changed();
  }

  #pose(question: Question | SecretQuestion): Promise<string | Secret> {
    // The runner asks one question at a time; an earlier one still open here is a defect.
    this.#question?.reject(new CoreError('ERR_INTERNAL', 'internal error (please report this as a bug): a question was left unanswered'));
    const cls = classify(question, this.#currentStep);
    // What this decision is about: the requests shown to this custodian just before, or the
    // certificates this step prepared for the administrator (never a review from an earlier step).
    const reviews =
      cls.role === 'approval-decision'
        ? this.#fresh.filter((r) => r.kind === 'approval' && r.custodian === cls.custodian)
        : cls.role === 'review-decision'
          ? this.#fresh.filter((r) => r.kind === 'prepared' && r.step === cls.step)
          : [];
    if (cls.role === 'custodian-medium' && (this.#custodians?.mode !== 'enrollment' || this.#custodians.step !== cls.step)) {
      const names = this.#prepared?.site.participants.filter((x) => x.roles.includes('custodian')).map((x) => x.name) ?? [];
      this.#custodians = { mode: 'enrollment', step: cls.step, names, needed: names.length, done: [] };
    }
    return new Promise<string | Secret>((resolve, reject) => {
      this.#question = { id: `q${++this.#questions}`, question, cls, reviews, attempts: 0, lastError: null, askedAt: this.#now().toISOString(), resolve, reject };
      this.#changed();
    });
  }

  #pending(id: string): Pending {
    const q = this.#question;
    if (q === null || q.id !== id) throw new CoreError('ERR_APP_STATE_INVALID', q === null ? 'no question is waiting for an answer (it was answered, or the ceremony stopped); see the session for what happens now' : 'that question was already answered; answer the question shown now');
    return q;
  }

  /** Records a refused answer on the question (so a reloaded screen shows it) and throws it. */
  #refused(q: Pending, e: unknown): never {
    const err = serializeError(e);
    q.attempts++;
    q.lastError = { code: err.code, message: err.message };
    this.#changed();
    if (q.attempts >= MAX_ATTEMPTS && q.question.kind === 'secret') {
      // Too many wrong secrets: the step stops here (resume when the custodian is ready).
      this.#question = null;
      q.reject(new CoreError(err.code as CoreErrorCode, `${err.message} (${q.attempts} wrong entries: the ceremony stops at this step; resume it when ready)`));
    }
    throw e instanceof CoreError ? e : new CoreError('ERR_INTERNAL', err.message);
  }

  #settle(q: Pending, value: string | Secret): Session {
    this.#question = null;
    if (q.cls.role === 'approval-decision' || q.cls.role === 'review-decision') this.#fresh = [];
    q.resolve(value);
    this.#changed();
    return this.view();
  }

  /**
   * Answers the waiting text, choice or confirmation question.
   * @throws {CoreError} ERR_APP_STATE_INVALID (no such question), ERR_INPUT_INVALID (refused answer,
   *   the question stays open), and core/quorum's codes for a custodian's file
   */
  answer(id: string, raw: string): Session {
    const q = this.#pending(id);
    const question = q.question;
    if (question.kind === 'secret') throw new CoreError('ERR_APP_STATE_INVALID', 'this question asks for a secret: enter it in the masked field');
    const answer = raw.trim();
    try {
      if (question.kind === 'choice') {
        if (!question.choices.includes(answer)) throw new CoreError('ERR_INPUT_INVALID', `choose one of: ${question.choices.join(', ')}`);
      } else if (question.kind === 'confirm') {
        if (answer !== question.expect) throw new CoreError('ERR_INPUT_INVALID', `type exactly ${question.expect} to confirm, or stop the ceremony here (Stop)`);
      } else {
        const problem = question.validate?.(answer);
        if (problem !== undefined) throw new CoreError('ERR_INPUT_INVALID', problem);
        if (q.cls.role === 'custodian-file' && q.cls.custodian !== null) this.#checks.checkFile(q.cls.prefix, q.cls.custodian, answer);
        if (q.cls.role === 'custodian-medium' && q.cls.custodian !== null) this.#checks.checkMedium(q.cls.custodian, answer);
      }
    } catch (e) {
      this.#refused(q, e);
    }
    this.#noteAnswer(q, answer);
    return this.#settle(q, answer);
  }

  #noteAnswer(q: Pending, answer: string): void {
    const at = this.#now().toISOString();
    const last = q.question.key[q.question.key.length - 1] ?? '';
    if (q.cls.role === 'custodian-names' && last in NAME_LISTS) {
      const mode = NAME_LISTS[last as keyof typeof NAME_LISTS];
      const names = answer.split(',').map((s) => s.trim()).filter((s) => s !== '');
      this.#checks.openFlow(q.cls.prefix, mode);
      this.#custodians = { mode, step: q.question.key[0] === 'steps' ? (q.question.key[1] ?? null) : this.#currentStep, names, needed: mode === 'co-sign' ? names.length : (this.#prepared?.plan.quorum.m ?? names.length), done: [] };
    }
    if ((q.cls.role === 'approval-decision' || q.cls.role === 'review-decision') && q.cls.step !== null) {
      const who = q.cls.role === 'approval-decision' ? (q.cls.custodian ?? '') : (this.#prepared?.site.participants.find((x) => x.roles.includes('administrator'))?.name ?? 'administrator');
      const subject = q.reviews[0]?.subject ?? (q.cls.role === 'review-decision' ? (q.question.key[q.question.key.length - 1] ?? '') : '');
      this.#decisions = [...this.#decisions, { step: q.cls.step, who, subject, decision: answer as 'approve' | 'decline' | 'accept' | 'reject', at }];
    }
  }

  /**
   * Answers the waiting secret question with vault handles (two for a new secret typed twice).
   * @throws {CoreError} ERR_APP_STATE_INVALID, ERR_SECRET_INVALID (handle, mismatch, length),
   *   ERR_QUORUM_PASSPHRASE_INCORRECT / _WEAK / _MISMATCH, ERR_QUORUM_SHARE_TAMPERED (the question stays open)
   */
  async answerSecret(id: string, handle: string, again: string | undefined): Promise<Session> {
    const q = this.#pending(id);
    const question = q.question;
    const purpose = q.cls.purpose;
    if (question.kind !== 'secret' || purpose === null) throw new CoreError('ERR_APP_STATE_INVALID', 'this question is not a secret; answer it in the form shown');
    let first: Secret | undefined;
    let second: Secret | undefined;
    try {
      first = this.#deps.vault.take(handle, purpose);
      if (question.confirm === true) {
        if (again === undefined) throw new CoreError('ERR_SECRET_INVALID', 'a new secret is typed twice: enter it again in the second field');
        second = this.#deps.vault.take(again, purpose);
      } else if (again !== undefined) {
        this.#deps.vault.discard(again);
      }
      if (question.minLength !== undefined && first.length < question.minLength) throw new CoreError('ERR_SECRET_INVALID', `it must be at least ${question.minLength} characters; enter it again`);
      if (second !== undefined) {
        if (q.cls.role === 'custodian-new-passphrase' && q.cls.custodian !== null) this.#checks.checkNewPassphrase(q.cls.custodian, first, second);
        else if (!first.equals(second)) throw new CoreError('ERR_SECRET_INVALID', 'the two entries differ; type the new secret twice, identically');
      }
      if (q.cls.role === 'custodian-passphrase' && q.cls.custodian !== null) await this.#checks.checkPassphrase(q.cls.prefix, q.cls.custodian, first);
    } catch (e) {
      first?.wipe();
      if (this.#question !== q) throw e; // answered or stopped meanwhile
      this.#refused(q, e);
    } finally {
      second?.wipe();
    }
    if (this.#question !== q) {
      first.wipe();
      throw new CoreError('ERR_APP_STATE_INVALID', 'the ceremony stopped while the secret was being checked; nothing was used');
    }
    this.#noteSecret(q);
    return this.#settle(q, first);
  }

  #noteSecret(q: Pending): void {
    const flow = this.#custodians;
    const name = q.cls.custodian;
    if (flow === null || name === null || flow.done.some((d) => d.name === name)) return;
    const note = flow.mode === 'activation' ? 'share accepted' : flow.mode === 'enrollment' ? 'passphrase set; custodian file written to the medium' : flow.mode === 'co-sign' ? 'co-signature key opened' : `${this.#decisions.filter((d) => d.who === name).at(-1)?.decision ?? 'decision'} signed`;
    flow.done = [...flow.done, { name, at: this.#now().toISOString(), note }];
  }

  // -------------------------------------------------------------------------------------------
  // Reading.

  /** The ceremonies of a site file's CA folder for this mode. */
  async list(site: FileRef): Promise<{ caFolder: string; ceremonies: ReturnType<typeof listCeremonies> }> {
    const { caHome } = await this.#caHomeOfSite(site);
    return { caFolder: caHome, ceremonies: listCeremonies(caHome) };
  }

  /** The journal after `after` (at most 1000 entries). */
  journal(after: number): { entries: Array<ReturnType<typeof journalView>>; total: number } {
    if (this.#dir === null) return { entries: [], total: 0 };
    const all = ceremonyJournal(this.#dir);
    return { entries: all.filter((e) => e.seq > after).slice(0, 1000).map((e) => journalView(e, this.#rehearsal)), total: all.length };
  }

  /** The ceremony's token now. */
  token(): ReturnType<typeof tokenView> {
    const p = this.#prepared;
    if (p === null) throw new CoreError('ERR_APP_STATE_INVALID', 'no ceremony is chosen yet; choose the script and site file first');
    const hsm = this.#rehearsal
      ? { config: { modulePath: findSoftHsmModule(), softhsmDir: rehearsalSoftHsmDir(p.caHome) } }
      : { config: { modulePath: p.site.module } };
    let serial = this.#rehearsal ? null : p.site.tokenSerial;
    if (this.#dir !== null) {
      try {
        serial = ceremonyStatus(this.#dir).token.serial ?? serial;
      } catch {
        // the record is unreadable: the label alone names the token
      }
    }
    return tokenView(this.#deps.openHsm, hsm.config, { label: p.site.tokenLabel, serial });
  }

  #ceremonyDir(): { dir: string; caHome: string; status: CeremonyStatusView } {
    if (this.#dir === null || this.#prepared === null) throw new CoreError('ERR_APP_STATE_INVALID', 'no ceremony has run in this session yet');
    return { dir: this.#dir, caHome: this.#prepared.caHome, status: ceremonyStatus(this.#dir) };
  }

  /** The transcript's verification. */
  verifyTranscript(): ReturnType<typeof transcriptCheck>['check'] {
    const { dir, caHome, status } = this.#ceremonyDir();
    return transcriptCheck(dir, caHome, status.status).check;
  }

  /** The final report's data. */
  report(): Record<string, unknown> {
    const { dir, caHome, status } = this.#ceremonyDir();
    const { check } = transcriptCheck(dir, caHome, status.status);
    const { bundles, certificates } = artefactsOf(status);
    return {
      ceremony: { ...status, steps: status.steps.map((s) => ({ ...s, result: s.result as Record<string, unknown> | null })) },
      transcript: check,
      bundles,
      certificates,
      saved: { html: writtenFile(join(dir, 'transcript.html'), true), pdf: writtenFile(join(dir, 'transcript.pdf'), true) },
    };
  }

  /** Writes the printable report into the ceremony folder. */
  async saveReport(): Promise<Awaited<ReturnType<typeof saveReport>>> {
    const { dir, caHome, status } = this.#ceremonyDir();
    if (status.status === 'running') throw new CoreError('ERR_APP_STATE_INVALID', 'the ceremony is not finished; the report is written once it completed or was aborted');
    const { verification } = transcriptCheck(dir, caHome, status.status);
    return saveReport(dir, verification, this.#deps.software, this.#now());
  }
}

/** A review from an event's `data.review`, when it has the expected shape. */
function reviewOf(r: Record<string, unknown>, step: string | null): Review | undefined {
  const str = (k: string): string | null => (typeof r[k] === 'string' ? r[k] : null);
  const tbs = str('tbsSha256');
  const fields = Array.isArray(r['fields']) ? (r['fields'] as unknown[]).filter((f): f is { label: string; value: string } => typeof f === 'object' && f !== null && typeof (f as { label?: unknown }).label === 'string' && typeof (f as { value?: unknown }).value === 'string') : [];
  if (tbs === null || !/^[0-9a-f]{64}$/u.test(tbs)) return undefined;
  return {
    kind: r['kind'] === 'approval' ? 'approval' : 'prepared',
    step,
    custodian: str('custodian'),
    what: str('what'),
    operation: str('operation'),
    subject: str('subject') ?? '',
    fields: fields.slice(0, 300).map((f) => ({ label: f.label, value: f.value })),
    tbsSha256: tbs,
    words: Array.isArray(r['words']) ? (r['words'] as unknown[]).filter((w): w is string => typeof w === 'string').slice(0, 64) : [],
    notes: Array.isArray(r['notes']) ? (r['notes'] as unknown[]).filter((w): w is string => typeof w === 'string') : [],
    requestId: str('requestId'),
    expiresAt: str('expiresAt'),
  };
}
