/**
 * @module electron/host/handlers/hsm
 * Handlers of the `hsm` group, backed by core's HSM port: the module and its tokens, and a token's
 * keys with the attributes that prove their protection (listing private keys needs a login; the
 * PIN arrives as a vault handle, is taken once and wiped after the login). During a ceremony they
 * show the ceremony's module and token directory.
 *
 * Must never: keep a session or a login open after the call, or let a PIN outlive the call.
 */
import { withSecret } from '../../../core/util/secret.ts';
import type { HsmModule } from '../../../core/hsm/index.ts';
import type { Contract, Handlers } from '../../ipc/contract.ts';
import { hsmConfigOf } from '../config.ts';
import type { HandlerDeps } from './deps.ts';

/**
 * The `hsm` handlers. Each call opens the module and closes it again, so token changes show. While
 * a ceremony holds the HSM (a rehearsal's throwaway token directory, or the site file's module),
 * they show that one: PKCS#11 state is process-wide, and the screen must show what the ceremony uses.
 */
export function hsmHandlers(deps: HandlerDeps): Handlers<Contract>['hsm'] {
  const withModule = <T>(fn: (hsm: HsmModule) => T): T => {
    const hsm = deps.openHsm(deps.ceremony.activeHsm()?.config ?? hsmConfigOf(deps.config));
    try {
      return fn(hsm);
    } finally {
      hsm.close();
    }
  };
  return {
    status: () =>
      withModule((hsm) => {
        const info = hsm.info();
        return { module: { path: hsm.modulePath, ...info }, tokens: hsm.tokens(), context: deps.ceremony.activeHsm()?.context ?? null };
      }),
    keys: (request) => {
      // Taken before anything else, so the PIN is consumed (and wiped) whatever happens next.
      const pin = deps.vault.take(request.pin, 'hsm-user-pin');
      return withSecret(pin, (secret) =>
        withModule((hsm) => {
          const session = hsm.openSession({ label: request.token.label, serial: request.token.serial }, { readWrite: false });
          try {
            session.login(secret);
            const keys = session.describeKeys();
            session.logout();
            return { token: session.token, keys };
          } finally {
            session.close();
          }
        }),
      );
    },
  };
}
