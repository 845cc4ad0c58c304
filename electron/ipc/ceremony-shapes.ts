/**
 * @module electron/ipc/ceremony-shapes
 * The value shapes of the ceremony part of the IPC contract (`contract.ts`): a ceremony file as
 * checked by the engine, the plan of a script, the site file's machine and people, the question the
 * runner is waiting on, the review of a certificate or CRL, the ceremony's record (steps, outputs,
 * keys), its journal and transcript, and the session that ties them together. Runtime schemas,
 * so both directions are checked.
 *
 * Pure data: no `electron`, no Node built-ins, no DOM. Must never: describe a field that carries a
 * secret (questions carry prompts, never answers; secrets travel as vault handles only).
 */
import { z } from 'zod';

/** Lower-case SHA-256 hex. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/u);

/** An opaque, single-use reference to a secret held by the main side (never the secret itself). */
export const SecretHandle = z.string().regex(/^sh_[A-Za-z0-9_-]{22,64}$/u);

/** What a secret entered in the UI is for; the main side refuses a handle used for another purpose. */
export const SECRET_PURPOSES = ['hsm-user-pin', 'ceremony-pin', 'custodian-passphrase'] as const;
/** A secret purpose. */
export type SecretPurpose = (typeof SECRET_PURPOSES)[number];

/** A YAML file offered for selection: a configured root and a path relative to it. */
export const FileRef = z
  .object({
    root: z.string().regex(/^r[0-9]{1,3}$/u),
    path: z
      .string()
      .min(1)
      .max(512)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\') && !p.includes('\0'), 'must be a relative path inside its folder'),
  })
  .strict();

/** One problem of a file, with where it is. */
export const Problem = z
  .object({
    severity: z.enum(['error', 'warning']),
    /** Dotted path of the field, or '' when the problem is not tied to a field. */
    path: z.string(),
    message: z.string(),
    line: z.number().int().positive().optional(),
    column: z.number().int().positive().optional(),
  })
  .strict();

/** At most this many problems cross the bridge for one file (the rest are counted). */
export const MAX_PROBLEMS_SHOWN = 200;

/** A failure as data (the error half of the envelope, reused inside values). */
export const ErrorView = z.object({ code: z.string().regex(/^ERR_[A-Z0-9_]+$/u), message: z.string() }).strict();

/** A valid script's plan. */
export const PlanView = z
  .object({
    id: z.string(),
    type: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    sha256: Sha256Hex,
    quorum: z.object({ m: z.number().int(), n: z.number().int(), activation: z.string() }).strict(),
    roles: z.array(z.object({ name: z.string(), min: z.number().int(), max: z.number().int().nullable(), description: z.string().nullable() }).strict()),
    pointOfNoReturn: z.string().nullable(),
    usesToken: z.boolean(),
    createsToken: z.boolean(),
    steps: z.array(
      z
        .object({
          index: z.number().int().nonnegative(),
          id: z.string(),
          title: z.string(),
          action: z.string(),
          summary: z.string(),
          instructions: z.string().nullable(),
          signOff: z.array(z.string()),
          pointOfNoReturn: z.boolean(),
          hsm: z.enum(['none', 'module', 'login']),
          outputs: z.array(z.string()),
          keyLabels: z.array(z.string()),
        })
        .strict(),
    ),
  })
  .strict();

/** A valid site file: machine details and the people present. */
export const SiteView = z
  .object({
    site: z.string().nullable(),
    module: z.string(),
    tokenLabel: z.string(),
    tokenSerial: z.string().nullable(),
    outputDir: z.string(),
    referenceClock: z.string().nullable(),
    participants: z.array(z.object({ name: z.string(), roles: z.array(z.string()) }).strict()),
    sha256: Sha256Hex,
  })
  .strict();

/** A ceremony file as the engine checked it. */
export const CheckedFile = z
  .object({
    file: FileRef,
    displayPath: z.string(),
    sha256: Sha256Hex,
    kind: z.enum(['script', 'site', 'yaml']),
    valid: z.boolean(),
    problems: z.array(Problem).max(MAX_PROBLEMS_SHOWN),
    problemsTotal: z.number().int().nonnegative(),
  })
  .strict();

/** A certificate or CRL shown for review: decoded fields and the TBS SHA-256 in hex and words. */
export const ReviewView = z
  .object({
    /** `prepared`: built and linted, for the administrator to accept; `approval`: for a custodian's decision. */
    kind: z.enum(['prepared', 'approval']),
    step: z.string().nullable(),
    custodian: z.string().nullable(),
    what: z.string().nullable(),
    operation: z.string().nullable(),
    subject: z.string(),
    fields: z.array(z.object({ label: z.string(), value: z.string() }).strict()).max(300),
    tbsSha256: Sha256Hex,
    words: z.array(z.string()).max(64),
    notes: z.array(z.string()),
    requestId: z.string().nullable(),
    expiresAt: z.string().nullable(),
  })
  .strict();

/** Where in the UI a question is answered. */
export const QUESTION_SCREENS = ['steps', 'shares', 'approval'] as const;

/** What a question is about (drives the form the UI shows). */
export const QUESTION_ROLES = [
  'sign-off',
  'confirm',
  'clock',
  'record',
  'path',
  'fingerprint',
  'custodian-names',
  'custodian-medium',
  'custodian-file',
  'custodian-passphrase',
  'custodian-new-passphrase',
  'approval-decision',
  'review-decision',
  'token-pin',
  'choice',
  'text',
] as const;

/** The question the runner is waiting on (never its answer). */
export const QuestionView = z
  .object({
    id: z.string().regex(/^q[0-9]{1,9}$/u),
    kind: z.enum(['text', 'choice', 'confirm', 'secret']),
    /** The answers-file key as segments, and as text (`steps.clock.reference-time`). */
    key: z.array(z.string()),
    keyText: z.string(),
    prompt: z.string(),
    help: z.string().nullable(),
    /** A person's statement made on the day (sign-off, clock reading, confirmation). */
    attestation: z.boolean(),
    choices: z.array(z.string()).nullable(),
    expect: z.string().nullable(),
    /** Secrets: typed twice (a new PIN or passphrase), and the shortest length. */
    confirm: z.boolean(),
    minLength: z.number().int().nullable(),
    purpose: z.enum(SECRET_PURPOSES).nullable(),
    role: z.enum(QUESTION_ROLES),
    screen: z.enum(QUESTION_SCREENS),
    /** The custodian the question is for, when it is for one. */
    custodian: z.string().nullable(),
    step: z.string().nullable(),
    /** Names to pick from (custodians who open the token, approve or co-sign). */
    candidates: z.array(z.string()).nullable(),
    /** What the people deciding must see first (decisions only). */
    reviews: z.array(ReviewView),
    /** Refused answers so far, and why the last one was refused. */
    attempts: z.number().int().nonnegative(),
    lastError: ErrorView.nullable(),
    askedAt: z.string(),
  })
  .strict();

/** Something the runner told the people in the room. */
export const EventView = z
  .object({
    seq: z.number().int().positive(),
    at: z.string(),
    type: z.string(),
    step: z.string().nullable(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).nullable(),
  })
  .strict();

/** One committed journal entry (one transcript record each). */
export const JournalView = z
  .object({
    seq: z.number().int().positive(),
    at: z.string(),
    actor: z.string(),
    role: z.string(),
    type: z.string(),
    step: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    rehearsal: z.boolean(),
  })
  .strict();

/** One step of a ceremony's record. */
export const StepView = z
  .object({
    index: z.number().int().nonnegative(),
    id: z.string(),
    title: z.string(),
    action: z.string(),
    status: z.string(),
    attempt: z.number().int().nonnegative(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    pointOfNoReturn: z.boolean(),
    signOff: z.array(z.string()),
    signedBy: z.array(z.object({ role: z.string(), participant: z.string(), at: z.string() }).strict()),
    result: z.record(z.string(), z.unknown()).nullable(),
  })
  .strict();

/** An output a ceremony wrote (name relative to its folder). */
export const OutputView = z.object({ name: z.string(), step: z.string(), sha256: Sha256Hex, size: z.number().int().nonnegative() }).strict();

/** A ceremony's record, read from its folder. */
export const CeremonyView = z
  .object({
    dir: z.string(),
    id: z.string(),
    uuid: z.string(),
    type: z.string(),
    title: z.string(),
    rehearsal: z.boolean(),
    status: z.enum(['running', 'completed', 'aborted']),
    scriptSha256: z.string(),
    siteSha256: z.string(),
    token: z.object({ label: z.string(), serial: z.string().nullable(), module: z.string() }).strict(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    abortedAt: z.string().nullable(),
    abortReason: z.string().nullable(),
    pointOfNoReturnCrossed: z.boolean(),
    next: z.string().nullable(),
    steps: z.array(StepView),
    outputs: z.array(OutputView),
    objects: z.array(z.object({ label: z.string(), state: z.string(), keyId: z.string().nullable(), spkiSha256: z.string().nullable(), algorithm: z.string().nullable() }).strict()),
    journalEntries: z.number().int().nonnegative(),
  })
  .strict();

/** The custodians taking part in the current custodian step, one at a time. */
export const CustodianProgress = z
  .object({
    mode: z.enum(['enrollment', 'activation', 'approval', 'co-sign']),
    step: z.string().nullable(),
    /** The custodians taking part, in the order they come forward. */
    names: z.array(z.string()),
    /** How many must take part (activation and approvals: M). */
    needed: z.number().int().nonnegative(),
    done: z.array(z.object({ name: z.string(), at: z.string(), note: z.string() }).strict()),
    /** The custodian at the workstation now. */
    current: z.string().nullable(),
  })
  .strict();

/** A decision recorded at the workstation (custodian approvals, the administrator's acceptance). */
export const DecisionView = z
  .object({ step: z.string(), who: z.string(), subject: z.string(), decision: z.enum(['approve', 'decline', 'accept', 'reject']), at: z.string() })
  .strict();

/** The workstation's ceremony session: one ceremony at a time. */
export const SessionView = z
  .object({
    /** Increases with every change. */
    revision: z.number().int().nonnegative(),
    /** The workstation's mode (the banner). */
    rehearsal: z.boolean(),
    /**
     * `idle`: nothing chosen; `prepared`: script and site chosen; `running`: the runner works or waits
     * for an answer; `stopped`: failed or interrupted, can be resumed; `completed`; `aborted`.
     */
    phase: z.enum(['idle', 'prepared', 'running', 'stopped', 'completed', 'aborted']),
    operation: z.enum(['start', 'resume', 'abort']).nullable(),
    files: z.object({ script: CheckedFile, site: CheckedFile }).strict().nullable(),
    plan: PlanView.nullable(),
    site: SiteView.nullable(),
    /** The site file's people against the script's roles. */
    rosterProblems: z.array(Problem),
    checkIns: z.array(z.object({ name: z.string(), at: z.string() }).strict()),
    /** The script, site and roster are valid and everyone is checked in. */
    ready: z.boolean(),
    /** The CA folder ceremonies of this mode go to (rehearsals: `<output-dir>/rehearsal`). */
    caFolder: z.string().nullable(),
    ceremony: CeremonyView.nullable(),
    currentStep: z.string().nullable(),
    question: QuestionView.nullable(),
    events: z.array(EventView),
    reviews: z.array(ReviewView),
    custodians: CustodianProgress.nullable(),
    decisions: z.array(DecisionView),
    /** Why the last run stopped (or why the start was refused), with its code. */
    error: ErrorView.nullable(),
    outcome: z.object({ status: z.enum(['completed', 'interrupted', 'failed', 'aborted']), at: z.string() }).strict().nullable(),
    abort: z
      .object({ destroyed: z.array(z.object({ label: z.string(), class: z.string(), keyId: z.string() }).strict()), restored: z.boolean(), tokenLeft: z.string().nullable() })
      .strict()
      .nullable(),
    journalCount: z.number().int().nonnegative(),
  })
  .strict();

/** Which ceremony an operation is about: one listed in the CA folder of a site file. */
export const CeremonyTarget = z
  .object({
    site: FileRef,
    id: z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{6}Z-[a-z][a-z0-9-]{0,47}(-rehearsal)?$/u, 'must be a ceremony folder name'),
  })
  .strict();

/** A ceremony found in a CA folder. */
export const ListedCeremony = z
  .object({
    id: z.string(),
    title: z.string(),
    type: z.string(),
    status: z.enum(['running', 'completed', 'aborted']),
    rehearsal: z.boolean(),
    createdAt: z.string(),
    next: z.string().nullable(),
    pointOfNoReturnCrossed: z.boolean(),
    stepsSigned: z.number().int().nonnegative(),
    stepsTotal: z.number().int().nonnegative(),
  })
  .strict();

/** The ceremony's token as the HSM reports it now. */
export const TokenView = z
  .object({
    module: z.string(),
    softhsmDir: z.string().nullable(),
    label: z.string(),
    serial: z.string().nullable(),
    present: z.boolean(),
    token: z
      .object({
        label: z.string(),
        serial: z.string(),
        manufacturer: z.string(),
        model: z.string(),
        initialized: z.boolean(),
        userPinInitialized: z.boolean(),
        userPinCountLow: z.boolean(),
        userPinFinalTry: z.boolean(),
        userPinLocked: z.boolean(),
        soPinLocked: z.boolean(),
      })
      .strict()
      .nullable(),
    keys: z.array(z.object({ class: z.string(), label: z.string(), id: z.string(), algorithm: z.string(), spkiSha256: Sha256Hex.nullable() }).strict()),
    /** Why the token could not be read, when it could not. */
    problem: ErrorView.nullable(),
  })
  .strict();

/** A transcript's verification, for the transcript and report screens. */
export const TranscriptCheck = z
  .object({
    path: z.string(),
    ok: z.boolean(),
    intact: z.boolean(),
    closed: z.boolean(),
    records: z.number().int().nonnegative(),
    lines: z.number().int().nonnegative(),
    head: z.string().nullable(),
    previousHead: z.string().nullable(),
    /** The previous ceremony of the same CA folder whose head record 1 must link to ('genesis' for the first). */
    chainedTo: z.string().nullable(),
    chainOk: z.boolean(),
    fileSha256: Sha256Hex,
    signers: z.array(z.object({ kind: z.string(), name: z.string(), role: z.string(), ok: z.boolean(), fingerprint: z.string().nullable(), problem: z.string().nullable() }).strict()),
    problem: ErrorView.nullable(),
    warnings: z.array(z.string()),
    rehearsal: z.boolean(),
  })
  .strict();

/** A file the workstation wrote for the report. */
export const WrittenFile = z.object({ path: z.string(), sha256: Sha256Hex, bytes: z.number().int().nonnegative(), existed: z.boolean() }).strict();

/** The final report of a ceremony. */
export const ReportView = z
  .object({
    ceremony: CeremonyView,
    transcript: TranscriptCheck,
    /** Transfer bundles in the ceremony folder: `written` by an export step (to carry across the air gap), or `received` (an imported bundle's copy). */
    bundles: z.array(z.object({ name: z.string(), path: z.string(), sha256: Sha256Hex, size: z.number().int().nonnegative(), step: z.string(), direction: z.enum(['written', 'received']) }).strict()),
    /** Certificates the ceremony wrote, with their SHA-256 for reading aloud. */
    certificates: z.array(z.object({ name: z.string(), path: z.string(), sha256: Sha256Hex, step: z.string() }).strict()),
    saved: z.object({ html: WrittenFile.nullable(), pdf: WrittenFile.nullable() }).strict(),
  })
  .strict();
