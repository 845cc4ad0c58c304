/**
 * @module electron/ipc/schema
 * The building blocks of the one IPC contract (`contract.ts`): entry constructors (`invoke`,
 * `event`), the derived channel names, the `Result` envelope that crosses every bridge, and the
 * mapped types that derive both sides from the contract: `Handlers` (main side; a missing handler is
 * a compile error) and `Api` (renderer side; what the preload and the loopback transport expose).
 * `buildApi` turns the contract into that renderer API over any transport, so the Electron preload
 * and the browser-mode HTTP transport expose exactly the same named functions.
 *
 * Pure data and types only: no `electron`, no Node built-ins, no DOM. Both the main side and the
 * sandboxed renderer import this file. Must never: offer a way to call an arbitrary channel.
 */
import { z } from 'zod';

import type { CoreErrorCode } from '../../core/errors.ts';

// The UI's CSP forbids eval and Trusted Types forbid string-to-script, so zod must not compile
// parsers with `new Function`: even its feature probe is a reported violation. This runs before
// any schema is built (the contract imports this module first), which is when zod decides.
z.config({ jitless: true });

/** Every request is a strict object (unknown keys are refused), so every call can grow fields. */
export type RequestSchema = z.ZodObject;

/** Renderer → main call with a reply. */
export interface InvokeEntry<Req extends RequestSchema = RequestSchema, Rep extends z.ZodType = z.ZodType> {
  readonly kind: 'invoke';
  /** One sentence for docs and error messages. */
  readonly summary: string;
  readonly request: Req;
  readonly reply: Rep;
  /**
   * The request carries a secret (PIN, share, passphrase): hosts never log its body and validation
   * errors name the offending fields only, never what was received.
   */
  readonly sensitive: boolean;
}

/** Main → renderer notification. */
export interface EventEntry<P extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly summary: string;
  readonly payload: P;
}

/** Any contract entry. */
export type Entry = InvokeEntry | EventEntry;

/** The contract's shape: domain groups of named entries. */
export type ContractShape = Readonly<Record<string, Readonly<Record<string, Entry>>>>;

/** Declares a renderer → main call. */
export function invoke<Req extends RequestSchema, Rep extends z.ZodType>(def: {
  summary: string;
  request: Req;
  reply: Rep;
  sensitive?: boolean;
}): InvokeEntry<Req, Rep> {
  return { kind: 'invoke', summary: def.summary, request: def.request, reply: def.reply, sensitive: def.sensitive ?? false };
}

/** Declares a main → renderer notification. */
export function event<P extends z.ZodType>(def: { summary: string; payload: P }): EventEntry<P> {
  return { kind: 'event', summary: def.summary, payload: def.payload };
}

/** The channel of an entry, derived from its group and name (`hsm:keys`). */
export type ChannelOf<G extends string, K extends string> = `${G}:${K}`;

/** Derives the channel of an entry. */
export function channelOf<G extends string, K extends string>(group: G, name: K): ChannelOf<G, K> {
  return `${group}:${name}`;
}

/** The name under which an event's subscribe function is exposed (`navigate` → `onNavigate`). */
export type SubscribeName<K extends string> = `on${Capitalize<K>}`;

/** Derives the subscribe function name of an event. */
export function subscribeNameOf<K extends string>(name: K): SubscribeName<K> {
  return `on${name.charAt(0).toUpperCase()}${name.slice(1)}` as SubscribeName<K>;
}

/** One contract entry with its position, as listed by {@link listEntries}. */
export interface ListedEntry {
  group: string;
  name: string;
  channel: string;
  entry: Entry;
}

/** Every entry of a contract with its derived channel, in declaration order. */
export function listEntries(contract: ContractShape): ListedEntry[] {
  const out: ListedEntry[] = [];
  for (const [group, entries] of Object.entries(contract)) {
    for (const [name, entry] of Object.entries(entries)) out.push({ group, name, channel: channelOf(group, name), entry });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The envelope. Error subclasses do not survive structured clone or JSON, so failures cross every
// bridge as data: a stable code (core/errors.ts) and a message for the person at the desk.

/** A failure as it crosses the bridge. */
export interface IpcError {
  code: CoreErrorCode;
  message: string;
}

/** What every call resolves to; calls never reject and never throw across the bridge. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Runtime schema of the error half of the envelope (codes are checked for shape, not membership,
 * so the renderer needs no runtime import of core). */
export const IpcErrorSchema = z
  .object({
    code: z.string().regex(/^ERR_[A-Z0-9_]+$/u),
    message: z.string(),
  })
  .strict();

/** Runtime schema of the envelope with an unchecked value (transports check the envelope only). */
export const ResultEnvelopeSchema = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }).strict(),
  z.object({ ok: z.literal(false), error: IpcErrorSchema }).strict(),
]);

/** Builds a failure result. */
export function failure(code: CoreErrorCode, message: string): { ok: false; error: IpcError } {
  return { ok: false, error: { code, message } };
}

// ---------------------------------------------------------------------------------------------
// Main side: handlers.

/** Which host serves a call (the Electron main process or the loopback HTTP host). */
export type HostKind = 'electron' | 'loopback';

/** Context passed to every handler; the sender has already been checked when a handler runs. */
export interface HandlerContext {
  readonly host: HostKind;
}

/** The function that serves one invoke entry: gets the parsed request, returns the reply value. */
export type Handler<E> = E extends InvokeEntry<infer Req, infer Rep>
  ? (request: z.output<Req>, context: HandlerContext) => Promise<z.input<Rep>> | z.input<Rep>
  : never;

type InvokeKeys<G> = { [K in keyof G]: G[K] extends InvokeEntry ? K : never }[keyof G];
type EventKeys<G> = { [K in keyof G]: G[K] extends EventEntry ? K : never }[keyof G];

/**
 * One handler per invoke entry, grouped like the contract. Mapped with `-?`, so leaving a handler
 * out (or misspelling one) is a compile error, not a runtime surprise.
 */
export type Handlers<C extends ContractShape> = {
  -readonly [G in keyof C]-?: { -readonly [K in InvokeKeys<C[G]>]-?: Handler<C[G][K]> };
};

/** Main side: one emit function per event entry. */
export type Emitters<C extends ContractShape> = {
  readonly [G in keyof C]: { readonly [K in EventKeys<C[G]>]: C[G][K] extends EventEntry<infer P> ? (payload: z.input<P>) => void : never };
};

// ---------------------------------------------------------------------------------------------
// Renderer side: the API.

type ApiMember<E> = E extends InvokeEntry<infer Req, infer Rep>
  ? (request: z.input<Req>) => Promise<Result<z.output<Rep>>>
  : E extends EventEntry<infer P>
    ? (listener: (payload: z.output<P>) => void) => () => void
    : never;

type ApiKey<K, E> = E extends EventEntry ? SubscribeName<K & string> : K;

/**
 * What the renderer sees as `window.api`: `api.<group>.<name>(request)` for each invoke entry and
 * `api.<group>.on<Name>(listener) → unsubscribe` for each event entry; nothing else.
 */
export type Api<C extends ContractShape> = {
  readonly [G in keyof C]: { readonly [K in keyof C[G] as ApiKey<K, C[G][K]>]: ApiMember<C[G][K]> };
};

/** A transport carries calls to a fixed channel; the API never lets the renderer pick one. */
export interface Transport {
  /** Sends `request` on `channel` and resolves to the envelope; may reject on transport failure. */
  invoke(channel: string, request: unknown): Promise<unknown>;
  /** Subscribes to `channel`; returns the unsubscribe function. */
  subscribe(channel: string, listener: (payload: unknown) => void): () => void;
}

/**
 * Builds the renderer API from the contract over a transport. Each function closes over its own
 * constant channel. A transport failure or a malformed envelope becomes an
 * `ERR_APP_HOST_UNAVAILABLE` result: calls never reject.
 */
export function buildApi<C extends ContractShape>(contract: C, transport: Transport): Api<C> {
  const api: Record<string, Record<string, unknown>> = {};
  for (const { group, name, channel, entry } of listEntries(contract)) {
    const members = (api[group] ??= {});
    if (entry.kind === 'invoke') {
      members[name] = async (request: unknown): Promise<Result<unknown>> => {
        let raw: unknown;
        try {
          raw = await transport.invoke(channel, request ?? {});
        } catch {
          return failure('ERR_APP_HOST_UNAVAILABLE', 'the workstation host did not answer. If you use the browser mode, check that `npm run app:browser` is still running, then try again');
        }
        const envelope = ResultEnvelopeSchema.safeParse(raw);
        if (!envelope.success) return failure('ERR_APP_HOST_UNAVAILABLE', 'the workstation host sent a malformed answer; restart the application');
        return envelope.data as Result<unknown>;
      };
    } else {
      members[subscribeNameOf(name)] = (listener: (payload: unknown) => void): (() => void) => transport.subscribe(channel, (payload) => listener(payload));
    }
  }
  for (const group of Object.keys(contract)) api[group] ??= {};
  return api as Api<C>;
}
