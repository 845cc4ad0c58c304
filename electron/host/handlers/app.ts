/**
 * @module electron/host/handlers/app
 * Handlers of the `app` group: what the renderer needs to draw its frame (version, rehearsal flag
 * and reason, which host serves it).
 *
 * Must never: reveal paths of secrets or anything from the environment beyond versions.
 */
import type { Contract, Handlers } from '../../ipc/contract.ts';
import type { HandlerDeps } from './deps.ts';

/** The `app` handlers. */
export function appHandlers(deps: HandlerDeps): Handlers<Contract>['app'] {
  return {
    info: (_request, context) => ({
      product: deps.product,
      version: deps.version,
      rehearsal: deps.config.rehearsal.on,
      rehearsalReason: deps.config.rehearsal.reason,
      host: context.host,
      versions: deps.versions,
    }),
  };
}
