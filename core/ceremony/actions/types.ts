/**
 * @module ceremony/actions/types
 * The contract every ceremony action fulfils, and what the runner gives it. An action is data plus
 * five functions: a strict parameter schema, a pure plan (outputs, key labels, references to earlier
 * steps), script-level checks, a runtime precondition, an executor, and a reconcile function that
 * decides, after a crash, whether an interrupted step is adopted, redone or refused. Each action
 * also declares whether it crosses the point of no return.
 *
 * Must never: let an action write a file other than through {@link OutputFiles} (exclusive create,
 * digest recorded), or return a secret in a result.
 */
import type { z } from 'zod';

import type { Problem } from '../../errors.ts';
import type { HsmModule, HsmSession, TokenInfo, TokenSelector } from '../../hsm/types.ts';
import type { Secret } from '../../util/secret.ts';
import type { AirGapReport } from '../air-gap.ts';
import type { CaHome } from '../ca-home.ts';
import type { CeremonyIo } from '../io.ts';
import type { CeremonyScript, CeremonyType, JsonObject, ScriptStep, SiteConfig } from '../types.ts';

/** A reference from one step's parameters to an earlier step. */
export interface StepReference {
  /** Path inside `params` (for messages: `steps.5.params.key`). */
  path: Array<string | number>;
  /** The referenced step id. */
  step: string;
  /** Actions the referenced step may have. */
  actions: readonly string[];
}

/** What a step will create, known before anything runs. */
export interface ActionPlan {
  /** Files written into the ceremony folder (plain names). */
  outputs: string[];
  /** Labels of key objects created on the token. */
  keyLabels: string[];
  /** References to earlier steps. */
  references: StepReference[];
  /** Whether the step creates the token (token initialisation). */
  createsToken?: boolean;
  /** Labels of existing keys the step uses (created by an earlier step, or already on the token). */
  usesKeyLabels?: string[];
}

/** A question an action may ask, for answers-file validation and the docs. */
export interface QuestionSpec {
  /**
   * Full answers-file key as segments: `['steps', <id>, <name>]` for the step's own questions, or
   * a shared key such as `['token', 'user-pin']`. `*` stands for any one segment (e.g. a custodian
   * name in `['steps', 'enroll', 'passphrase', '*']`).
   */
  key: readonly string[];
  /** What a `*` segment stands for: a participant's name (default), or any name (e.g. a CSR's). */
  wildcard?: 'participant' | 'name';
  secret: boolean;
  attestation: boolean;
  description: string;
}

/** What script-level checks can see. */
export interface ScriptCheckContext {
  script: Omit<CeremonyScript, 'steps'>;
  steps: ScriptStep[];
  step: ScriptStep;
  /** Output names planned by the steps before this one. */
  outputsBefore: string[];
}

/** Identity of the running ceremony. */
export interface CeremonyInfo {
  /** Human-readable id (also the folder name). */
  id: string;
  /** Random UUID binding shares and approvals to this ceremony. */
  uuid: string;
  /** Absolute ceremony folder. */
  dir: string;
  /** The CA folder holding this ceremony (the rehearsal CA folder in rehearsals). */
  caHome: string;
  rehearsal: boolean;
  type: CeremonyType;
  /** True when some step of the script uses the token. */
  usesToken: boolean;
}

/** An output file written or adopted by a step. */
export interface OutputRecord {
  name: string;
  sha256: string;
  size: number;
}

/** File outputs of the current step. */
export interface OutputFiles {
  /** Absolute path of an output name inside the ceremony folder. */
  path(name: string): string;
  /** True when the file exists. */
  exists(name: string): boolean;
  /**
   * Creates an output with exclusive create (never overwrites) and records its SHA-256.
   * @throws {CoreError} ERR_CEREMONY_OUTPUT_EXISTS, ERR_IO
   */
  write(name: string, data: Uint8Array | string, mode?: number): OutputRecord;
  /** Records an existing output written before a crash (reconcile). */
  adopt(name: string): OutputRecord;
}

/** An HSM object a step created. */
export interface CreatedObject {
  label: string;
  /** CKA_ID hex. */
  keyId: string;
  /** SHA-256 of the SubjectPublicKeyInfo, hex. */
  spkiSha256: string;
  algorithm: string;
}

/** Access to the HSM for a step. */
export interface HsmAccess {
  /** The module (opened on first use). */
  module(): HsmModule;
  /** The ceremony's token, when present. */
  token(): TokenInfo | undefined;
  /** Label and (when known) serial of the ceremony's token. */
  selector(): TokenSelector;
  /** An open read-write session (logged in only after {@link HsmAccess.login}). */
  session(): HsmSession;
  /** A logged-in session; opens the token through the activation mode (PIN or M custodians) when needed. */
  login(): Promise<HsmSession>;
  /** Logs out (the next {@link HsmAccess.login} activates again). */
  logout(): void;
  /** Who opened the token last in this run (shares activation), for the record. */
  lastActivation(): JsonObject | undefined;
  /** Keeps a just-set PIN for the rest of this run (wiped when the run ends). */
  holdPin(pin: Secret): void;
  /**
   * Keeps, for the rest of this run only, the temporary security-officer PIN of a token this run
   * initialised (`initTokenWithTemporaryPins`), until the custodian enrollment replaces it. It is
   * never written anywhere: a later run does not have it. Wiped when dropped or when the run ends.
   */
  holdTemporarySoPin(serial: string, pin: Secret): void;
  /** The temporary SO PIN held for the bound token, if this run initialised it (not a copy: do not wipe). */
  temporarySoPin(): Secret | undefined;
  /** Wipes the temporary SO PIN (once the enrollment replaced it). */
  dropTemporarySoPin(): void;
  /** Binds the ceremony to a token (after initialisation), recording its serial. */
  bindToken(token: TokenInfo): void;
}

/** What a step gets to work with. */
export interface StepContext<P> {
  readonly params: P;
  readonly step: ScriptStep;
  readonly script: CeremonyScript;
  readonly site: SiteConfig;
  readonly ceremony: CeremonyInfo;
  readonly io: CeremonyIo;
  readonly hsm: HsmAccess;
  readonly files: OutputFiles;
  /** Current time (injected). */
  now(): Date;
  /** The answers-file key of one of this step's questions: `['steps', <id>, ...segments]`. */
  key(...segments: string[]): string[];
  /** Result of an earlier completed step. */
  resultOf(stepId: string): JsonObject | undefined;
  /** Outputs recorded so far by completed steps, in order. */
  recordedOutputs(): Array<OutputRecord & { step: string }>;
  /** Appends a record to the ceremony journal (and transcript). */
  record(type: string, data: JsonObject, who?: { actor: string; role: string }): void;
  /** Probes the network interfaces. */
  airGap(): Promise<AirGapReport>;
  /** The CA folder's database (PKI and quorum stores), opened on first use. */
  ca(): CaHome;
  /**
   * Rehearsal crash injection inside an action: true when `NEAM_CA_FAILPOINT` names this step and
   * `phase` (never in a live ceremony). {@link StepContext.failpoint} then kills the process.
   */
  failpointArmed(phase: string): boolean;
  /** Kills the process with SIGKILL when {@link StepContext.failpointArmed} (rehearsals only). */
  failpoint(phase: string): void;
}

/** The result of executing (or adopting) a step. */
export interface StepOutcome {
  /** Non-secret summary kept in the record and shown (fingerprints, serials, paths). */
  result: JsonObject;
  /** Key objects created on the token. */
  objects?: CreatedObject[];
}

/** The persisted view of a step handed to reconcile. */
export interface StepRecordView {
  status: 'started' | 'completed' | 'signed';
  attempt: number;
  result?: JsonObject;
  objects: Array<CreatedObject | { label: string; keyId: null; spkiSha256: null; algorithm: null }>;
  outputs: OutputRecord[];
}

/** What reconcile decided. */
export type ReconcileOutcome =
  /** The interrupted step left nothing usable; the runner cleans planned outputs and runs it again. */
  | { kind: 'redo'; note: string }
  /** The interrupted step had finished its effect; record it as completed with this outcome. */
  | { kind: 'adopt'; outcome: StepOutcome; note: string }
  /** A completed step is still consistent with the token and files. */
  | { kind: 'verified'; note?: string };

/** One action kind. */
export interface ActionDefinition<P> {
  /** One line for the docs and the plan. */
  summary: string;
  /** Ceremony types the action may appear in. */
  ceremonyTypes: readonly CeremonyType[];
  /** Strict schema of `params`; `{}` when the step may omit params. */
  params: z.ZodType<P>;
  /** True when executing this action crosses the point of no return (abort is refused after). */
  pointOfNoReturn: boolean;
  /** HSM access the action needs: a present token, a logged-in session, or nothing. */
  hsm: 'none' | 'module' | 'login';
  /** Pure: outputs, key labels and references. */
  plan(params: P, step: ScriptStep): ActionPlan;
  /** Pure script-level checks (paths relative to the step, e.g. `params.key`). */
  check?(params: P, ctx: ScriptCheckContext): Problem[];
  /** Questions the action may ask (with their answers-file keys). */
  questions(params: P, step: ScriptStep, script: Pick<CeremonyScript, 'quorum'>): QuestionSpec[];
  /** Runtime checks just before the step is recorded as started. */
  precondition(ctx: StepContext<P>): Promise<void>;
  /** Performs the step. */
  execute(ctx: StepContext<P>): Promise<StepOutcome>;
  /** Crash recovery: decide for an interrupted step, verify a completed one. */
  reconcile(ctx: StepContext<P>, record: StepRecordView): Promise<ReconcileOutcome>;
}
