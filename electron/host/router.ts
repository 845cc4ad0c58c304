/**
 * @module electron/host/router
 * Turns the contract and its handlers into routes, one per invoke channel, shared by both hosts
 * (Electron IPC and the loopback HTTP host). Each route parses the request with the entry's schema,
 * calls the handler, checks the reply against the contract, and resolves to a `Result`. The hosts
 * check the sender before a route runs.
 *
 * Must never: throw or reject across the bridge, swallow a failure (every failure is a result with
 * a code), echo a sensitive request's content, or log a request body.
 */
import type { z } from 'zod';

import { CoreError, InternalError, serializeError } from '../../core/errors.ts';
import type { Logger } from '../../core/log/logger.ts';
import {
  failure,
  listEntries,
  type ContractShape,
  type Emitters,
  type EventEntry,
  type HandlerContext,
  type Handlers,
  type InvokeEntry,
  type Result,
} from '../ipc/schema.ts';

/** One invoke channel's server side. Never rejects. */
export type Route = (raw: unknown, context: HandlerContext) => Promise<Result<unknown>>;

/** Routes by channel. */
export type Router = ReadonlyMap<string, Route>;

type AnyHandler = (request: unknown, context: HandlerContext) => unknown;

/** Describes schema problems as `path: message` (or only the paths, for sensitive requests). */
export function describeIssues(issues: readonly z.core.$ZodIssue[], sensitive: boolean): string {
  const parts = issues.slice(0, 8).map((i) => {
    const path = i.path.length === 0 ? '(request)' : i.path.map(String).join('.');
    return sensitive ? path : `${path}: ${i.message}`;
  });
  return parts.join('; ') + (issues.length > 8 ? `; and ${issues.length - 8} more` : '');
}

/**
 * Builds the routes. A handler missing at runtime (possible only by bypassing the types) or one that
 * the contract does not declare is a programmer error.
 * @throws {TypeError} when handlers and contract do not match
 */
export function createRouter<C extends ContractShape>(contract: C, handlers: Handlers<C>, logger: Logger): Router {
  const routes = new Map<string, Route>();
  const table = handlers as unknown as Record<string, Record<string, AnyHandler | undefined> | undefined>;
  const declared = new Set<string>();
  for (const { group, name, channel, entry } of listEntries(contract)) {
    if (entry.kind !== 'invoke') continue;
    declared.add(channel);
    const handler = table[group]?.[name];
    if (typeof handler !== 'function') throw new TypeError(`no handler for contract entry ${channel}`);
    routes.set(channel, makeRoute(channel, entry, handler, logger));
  }
  for (const [group, members] of Object.entries(table)) {
    for (const name of Object.keys(members ?? {})) {
      if (!declared.has(`${group}:${name}`)) throw new TypeError(`handler ${group}:${name} is not declared in the contract`);
    }
  }
  return routes;
}

function makeRoute(channel: string, entry: InvokeEntry, handler: AnyHandler, logger: Logger): Route {
  return async (raw, context) => {
    const parsed = entry.request.safeParse(raw);
    if (!parsed.success) {
      logger.warn('request refused: malformed', { channel });
      return failure('ERR_APP_REQUEST_INVALID', `the request to ${channel} was malformed (${describeIssues(parsed.error.issues, entry.sensitive)}). This is a defect in the user interface; restart the application and report it`);
    }
    let value: unknown;
    try {
      value = await handler(parsed.data, context);
    } catch (e) {
      const error = serializeError(e);
      if (e instanceof CoreError && !(e instanceof InternalError)) logger.info('operation failed', { channel, code: error.code });
      else logger.error('operation failed unexpectedly', { channel, code: error.code, error: e instanceof Error ? e.name : typeof e });
      return failure(error.code, error.message);
    }
    const reply = entry.reply.safeParse(value);
    if (!reply.success) {
      logger.error('reply does not match the contract', { channel, issues: describeIssues(reply.error.issues, true) });
      return failure('ERR_INTERNAL', `internal error (please report this as a bug): the answer to ${channel} did not match the contract`);
    }
    return { ok: true, value: reply.data };
  };
}

/**
 * Builds one emit function per event entry; each validates its payload before handing it to
 * `send` (a payload that does not match the contract is a bug on the main side).
 * @throws {InternalError} from an emit function whose payload does not match
 */
export function createEmitters<C extends ContractShape>(contract: C, send: (channel: string, payload: unknown) => void): Emitters<C> {
  const out: Record<string, Record<string, (payload: unknown) => void>> = {};
  for (const { group, name, channel, entry } of listEntries(contract)) {
    const members = (out[group] ??= {});
    if (entry.kind !== 'event') continue;
    const schema = (entry as EventEntry).payload;
    members[name] = (payload: unknown): void => {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) throw new InternalError(`the ${channel} event payload does not match the contract`);
      send(channel, parsed.data);
    };
  }
  return out as unknown as Emitters<C>;
}
