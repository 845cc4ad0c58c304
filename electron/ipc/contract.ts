/**
 * @module electron/ipc/contract
 * The one IPC contract of the ceremony workstation: every operation the renderer may ask of the
 * main side, and every notification the main side may send, with runtime schemas for both
 * directions. The Electron main process (`electron/main/ipc.ts`), the preload
 * (`electron/preload/index.ts`), the loopback host (`electron/loopback/server.ts`) and the
 * renderer's browser-mode transport are all derived from this object; a handler missing from
 * `electron/host/handlers/` is a compile error.
 *
 * To add an operation: add an entry here, add its handler to the group's file in
 * `electron/host/handlers/`, call it from the renderer as `api.<group>.<name>(request)`. Channels,
 * preload bindings and HTTP routes follow by derivation (docs/app.md walks through it).
 *
 * Pure data: no `electron`, no Node built-ins, no DOM, no runtime import of core (the sandboxed
 * renderer imports this file). Must never: carry a secret in a reply or an event, or declare a
 * secret-bearing request without `sensitive: true`.
 */
import { z } from 'zod';

import {
  CeremonyTarget,
  CheckedFile,
  FileRef,
  JournalView,
  ListedCeremony,
  ReportView,
  SECRET_PURPOSES,
  SecretHandle,
  SessionView,
  TokenView,
  TranscriptCheck,
  WrittenFile,
} from './ceremony-shapes.ts';
import { event, invoke } from './schema.ts';
import { SCREEN_IDS } from './screens.ts';

export { SECRET_PURPOSES, type SecretPurpose } from './ceremony-shapes.ts';

const NoRequest = z.object({}).strict();

// ---------------------------------------------------------------------------------------------
// Shared value shapes.

/** A PKCS#11 token label (CK_TOKEN_INFO.label is 32 bytes) and serial (16 bytes). */
const TokenSelector = z
  .object({
    label: z.string().min(1).max(32),
    serial: z.string().min(1).max(16),
  })
  .strict();

const Token = z
  .object({
    label: z.string(),
    serial: z.string(),
    manufacturer: z.string(),
    model: z.string(),
    initialized: z.boolean(),
    userPinInitialized: z.boolean(),
    loginRequired: z.boolean(),
    userPinCountLow: z.boolean(),
    userPinFinalTry: z.boolean(),
    userPinLocked: z.boolean(),
    soPinLocked: z.boolean(),
    hasRng: z.boolean(),
    slotDescription: z.string(),
  })
  .strict();

const KeyProtection = z
  .object({
    token: z.boolean(),
    private: z.boolean(),
    sensitive: z.boolean(),
    extractable: z.boolean(),
    alwaysSensitive: z.boolean(),
    neverExtractable: z.boolean(),
    local: z.boolean(),
    modifiable: z.boolean(),
    sign: z.boolean(),
    decrypt: z.boolean(),
    unwrap: z.boolean(),
    wrap: z.boolean(),
    encrypt: z.boolean(),
    derive: z.boolean(),
  })
  .strict();

const Key = z
  .object({
    class: z.enum(['private', 'public', 'secret']),
    keyType: z.enum(['RSA', 'EC', 'AES', 'OTHER']),
    label: z.string(),
    id: z.string(),
    algorithm: z.string(),
    spkiSha256: z.string().regex(/^[0-9a-f]{64}$/u).optional(),
    protection: KeyProtection.optional(),
  })
  .strict();

// ---------------------------------------------------------------------------------------------
// The contract.

/** The IPC contract. Groups are domains; entry names are verbs or nouns of the operation. */
export const contract = {
  app: {
    info: invoke({
      summary: 'the application version, whether this is a rehearsal, and which host serves the UI',
      request: NoRequest,
      reply: z
        .object({
          product: z.string(),
          version: z.string(),
          rehearsal: z.boolean(),
          /** Why the rehearsal flag is set (for the banner), or null in a live ceremony. */
          rehearsalReason: z.string().nullable(),
          host: z.enum(['electron', 'loopback']),
          versions: z.object({ node: z.string(), electron: z.string().nullable(), chrome: z.string().nullable() }).strict(),
        })
        .strict(),
    }),
    navigate: event({
      summary: 'the application menu asks the UI to show a screen',
      payload: z.object({ screen: z.enum(SCREEN_IDS) }).strict(),
    }),
  },
  secrets: {
    submit: invoke({
      summary: 'hands a secret typed in the UI to the main side, which keeps it wrapped and returns a single-use handle',
      sensitive: true,
      request: z
        .object({
          purpose: z.enum(SECRET_PURPOSES),
          value: z.string().min(1).max(1024),
        })
        .strict(),
      reply: z.object({ handle: SecretHandle, purpose: z.enum(SECRET_PURPOSES), expiresInSeconds: z.number().int().positive() }).strict(),
    }),
    discard: invoke({
      summary: 'wipes a submitted secret that will not be used',
      request: z.object({ handle: SecretHandle }).strict(),
      reply: z.object({ discarded: z.boolean() }).strict(),
    }),
  },
  hsm: {
    status: invoke({
      summary: 'the configured PKCS#11 module and every token it reports',
      request: NoRequest,
      reply: z
        .object({
          module: z
            .object({
              path: z.string(),
              manufacturer: z.string(),
              description: z.string(),
              cryptokiVersion: z.string(),
              libraryVersion: z.string(),
            })
            .strict(),
          tokens: z.array(Token),
          /** Set while a ceremony holds the HSM: whose module and token directory are shown. */
          context: z.string().nullable(),
        })
        .strict(),
    }),
    keys: invoke({
      summary: 'logs in to a token with a submitted PIN and lists its keys with their protection attributes',
      request: z.object({ token: TokenSelector, pin: SecretHandle }).strict(),
      reply: z.object({ token: Token, keys: z.array(Key) }).strict(),
    }),
  },
  files: {
    listYaml: invoke({
      summary: 'the YAML files (ceremony scripts and site files) in the configured folders',
      request: NoRequest,
      reply: z
        .object({
          roots: z.array(
            z
              .object({
                id: z.string(),
                label: z.string(),
                path: z.string(),
                files: z.array(z.object({ path: z.string(), size: z.number().int().nonnegative() }).strict()),
                /** Why the folder could not be listed, when it could not. */
                problem: z.string().nullable(),
              })
              .strict(),
          ),
        })
        .strict(),
    }),
    readYaml: invoke({
      summary: 'reads one listed YAML file: YAML syntax problems, then the ceremony engine\'s validation as a script or site file (dotted paths and lines; at most 200 problems, with the total)',
      request: z.object({ file: FileRef }).strict(),
      reply: z
        .object({
          file: FileRef,
          displayPath: z.string(),
          size: z.number().int().nonnegative(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/u),
          text: z.string(),
          documents: z.number().int().nonnegative(),
          kind: CheckedFile.shape.kind,
          valid: z.boolean(),
          problems: CheckedFile.shape.problems,
          problemsTotal: z.number().int().nonnegative(),
        })
        .strict(),
    }),
  },
  ceremony: {
    session: invoke({
      summary: 'the ceremony session: chosen files, plan, roster check-in, the ceremony record, the question waiting for an answer',
      request: NoRequest,
      reply: SessionView,
    }),
    prepare: invoke({
      summary: 'checks a script and a site file with the ceremony engine and, when both are valid, makes them the ceremony to run',
      request: z.object({ script: FileRef, site: FileRef }).strict(),
      reply: SessionView,
    }),
    checkIn: invoke({
      summary: 'checks a participant of the site file in (present, identity checked) or out again, before the ceremony starts',
      request: z.object({ name: z.string().min(1).max(100), present: z.boolean() }).strict(),
      reply: SessionView,
    }),
    start: invoke({
      summary: 'starts the prepared ceremony (a rehearsal on a throwaway SoftHSM token in rehearsal mode); questions follow as session changes',
      request: NoRequest,
      reply: SessionView,
    }),
    answer: invoke({
      summary: 'answers the waiting question (text, choice or confirmation); a refused answer leaves the question open and says why',
      request: z.object({ question: z.string().regex(/^q[0-9]{1,9}$/u), answer: z.string().min(1).max(4096) }).strict(),
      reply: SessionView,
    }),
    answerSecret: invoke({
      summary: 'answers the waiting secret question with vault handles (a new secret twice); a wrong passphrase or a refused share leaves it open',
      request: z.object({ question: z.string().regex(/^q[0-9]{1,9}$/u), secret: SecretHandle, again: SecretHandle.optional() }).strict(),
      reply: SessionView,
    }),
    interrupt: invoke({
      summary: 'stops the running ceremony: at once when it waits for an answer, otherwise before its next step; it can be resumed',
      request: NoRequest,
      reply: SessionView,
    }),
    list: invoke({
      summary: "the ceremonies in a site file's CA folder for this mode (rehearsal or live), to resume or abort",
      request: z.object({ site: FileRef }).strict(),
      reply: z.object({ caFolder: z.string(), ceremonies: z.array(ListedCeremony) }).strict(),
    }),
    resume: invoke({
      summary: 'resumes the stopped ceremony of this session, or one listed in a CA folder, after reconciling the HSM and files with its record',
      request: z.object({ target: CeremonyTarget.optional() }).strict(),
      reply: SessionView,
    }),
    abort: invoke({
      summary: 'aborts a ceremony before its point of no return: destroys what it created on the token and records why',
      request: z.object({ target: CeremonyTarget.optional(), reason: z.string().min(1).max(2000) }).strict(),
      reply: SessionView,
    }),
    token: invoke({
      summary: "the ceremony's token now: module, label and serial, PIN state, keys with public-key fingerprints",
      request: NoRequest,
      reply: TokenView,
    }),
    journal: invoke({
      summary: "the ceremony's journal entries after a sequence number (the live transcript pane catches up with it)",
      request: z.object({ after: z.number().int().nonnegative() }).strict(),
      reply: z.object({ entries: z.array(JournalView).max(1000), total: z.number().int().nonnegative() }).strict(),
    }),
    verifyTranscript: invoke({
      summary: "verifies the ceremony's transcript: hash chain, link to the previous ceremony, closing signatures",
      request: NoRequest,
      reply: TranscriptCheck,
    }),
    report: invoke({
      summary: 'the final report of the ceremony: record, transcript verification, bundles and certificates written',
      request: NoRequest,
      reply: ReportView,
    }),
    saveReport: invoke({
      summary: "writes the printable report (HTML, and PDF through headless Chromium) into the ceremony folder, never overwriting",
      request: NoRequest,
      reply: z.object({ html: WrittenFile, pdf: WrittenFile }).strict(),
    }),
    changed: event({
      summary: 'the ceremony session changed (a question, a step, an answer, the outcome)',
      payload: SessionView,
    }),
    journaled: event({
      summary: 'a journal entry was committed (and appended to the transcript)',
      payload: JournalView,
    }),
  },
} as const;

/** The contract's type; `Handlers<Contract>` and `Api<Contract>` derive from it. */
export type Contract = typeof contract;

export type { Api, Handlers, Result, IpcError, HandlerContext } from './schema.ts';
export { buildApi, channelOf, listEntries, subscribeNameOf } from './schema.ts';
export { SCREENS, type ScreenId } from './screens.ts';
