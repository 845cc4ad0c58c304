/**
 * @module ceremony/actions/quorum-checks
 * Script checks shared by the actions that involve custodians: the quorum must use shares, and the
 * custodian role must guarantee enough people to reach the threshold (or all N at enrollment).
 *
 * Must never: do I/O.
 */
import type { Problem } from '../../errors.ts';
import type { ScriptCheckContext } from './types.ts';

/** Problems when fewer custodians than `need` are guaranteed by the roles section. */
export function custodiansAtLeast(ctx: ScriptCheckContext, need: 'm' | 'n', what: string): Problem[] {
  const role = ctx.script.roles['custodian'];
  const count = ctx.script.quorum[need];
  if (role === undefined) return [{ path: 'action', message: `${what} needs custodians, but no 'custodian' role is declared under roles` }];
  if (role.min < count) {
    return [{ path: 'action', message: `${what} needs ${need === 'n' ? `all ${count} custodians (quorum.n)` : `at least ${count} custodians (quorum.m)`}, but roles.custodian.min is ${role.min}` }];
  }
  return [];
}

/** Problems when the activation mode is not `shares`. */
export function needsShares(ctx: ScriptCheckContext, what: string): Problem[] {
  return ctx.script.quorum.activation === 'shares' ? [] : [{ path: 'action', message: `${what} needs quorum.activation 'shares' (it is '${ctx.script.quorum.activation}')` }];
}
