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

import { event, invoke } from './schema.ts';
import { SCREEN_IDS } from './screens.ts';

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

/** What a secret entered in the UI is for; the main side refuses a handle used for another purpose. */
export const SECRET_PURPOSES = ['hsm-user-pin'] as const;
/** A secret purpose. */
export type SecretPurpose = (typeof SECRET_PURPOSES)[number];

/** An opaque, single-use reference to a secret held by the main side (never the secret itself). */
const SecretHandle = z.string().regex(/^sh_[A-Za-z0-9_-]{22,64}$/u);

/** A YAML file offered for selection: a configured root and a path relative to it. */
const FileRef = z
  .object({
    root: z.string().regex(/^r[0-9]{1,3}$/u),
    path: z
      .string()
      .min(1)
      .max(512)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\') && !p.includes('\0'), 'must be a relative path inside its folder'),
  })
  .strict();

const Problem = z
  .object({
    severity: z.enum(['error', 'warning']),
    /** Dotted path of the field, or '' when the problem is not tied to a field. */
    path: z.string(),
    message: z.string(),
    line: z.number().int().positive().optional(),
    column: z.number().int().positive().optional(),
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
      summary: 'reads one listed YAML file and reports its syntax problems (script validation arrives with the ceremony engine)',
      request: z.object({ file: FileRef }).strict(),
      reply: z
        .object({
          file: FileRef,
          displayPath: z.string(),
          size: z.number().int().nonnegative(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/u),
          text: z.string(),
          documents: z.number().int().nonnegative(),
          problems: z.array(Problem),
        })
        .strict(),
    }),
  },
} as const;

/** The contract's type; `Handlers<Contract>` and `Api<Contract>` derive from it. */
export type Contract = typeof contract;

export type { Api, Handlers, Result, IpcError, HandlerContext } from './schema.ts';
export { buildApi, channelOf, listEntries, subscribeNameOf } from './schema.ts';
export { SCREENS, type ScreenId } from './screens.ts';
