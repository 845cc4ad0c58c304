/**
 * @module electron/host/handlers
 * All handlers of the contract, composed from one file per group. `Handlers<Contract>` makes a
 * group or an entry missing here a compile error. Shared by the Electron main process and the
 * loopback host; nothing here imports `electron`.
 *
 * Must never: import electron, or call core from anywhere but a handler.
 */
import type { Contract, Handlers } from '../../ipc/contract.ts';
import { appHandlers } from './app.ts';
import { ceremonyHandlers } from './ceremony.ts';
import type { HandlerDeps } from './deps.ts';
import { filesHandlers } from './files.ts';
import { hsmHandlers } from './hsm.ts';
import { secretsHandlers } from './secrets.ts';

export type { HandlerDeps } from './deps.ts';

/** Every handler of the contract. */
export function createHandlers(deps: HandlerDeps): Handlers<Contract> {
  return {
    app: appHandlers(deps),
    secrets: secretsHandlers(deps),
    hsm: hsmHandlers(deps),
    files: filesHandlers(deps),
    ceremony: ceremonyHandlers(deps),
  };
}
