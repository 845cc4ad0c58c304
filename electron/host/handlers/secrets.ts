/**
 * @module electron/host/handlers/secrets
 * Handlers of the `secrets` group: a secret typed in the UI enters the main side here and is held
 * in the {@link SecretVault} under a single-use handle; the renderer keeps only the handle.
 *
 * Must never: log, echo or return the secret.
 */
import type { Contract, Handlers } from '../../ipc/contract.ts';
import type { HandlerDeps } from './deps.ts';

/** The `secrets` handlers. */
export function secretsHandlers(deps: HandlerDeps): Handlers<Contract>['secrets'] {
  return {
    submit: (request) => ({
      handle: deps.vault.put(request.purpose, request.value),
      purpose: request.purpose,
      expiresInSeconds: deps.vault.ttlSeconds,
    }),
    discard: (request) => ({ discarded: deps.vault.discard(request.handle) }),
  };
}
