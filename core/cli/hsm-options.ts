/**
 * @module cli/hsm-options
 * The options every HSM-touching command shares (module path, SoftHSM directory, token label and
 * serial, PIN file) and how they become an open module and a logged-in session.
 */
import { join } from 'node:path';

import { openHsm, type HsmConfig, type HsmModule, type HsmSession, type TokenSelector } from '../hsm/index.ts';
import { isSoftHsm, findSoftHsmModule } from '../hsm/softhsm.ts';
import { CoreError } from '../errors.ts';
import type { CommandContext, OptionSpec } from './command.ts';
import { obtainSecret } from './secret-input.ts';

/** --module and --softhsm-dir. */
export const MODULE_OPTIONS: Record<string, OptionSpec> = {
  module: { type: 'string', valueName: 'PATH', description: 'PKCS#11 module (default $NEAM_CA_PKCS11_MODULE, else SoftHSM2)' },
  'softhsm-dir': {
    type: 'string',
    valueName: 'DIR',
    description: 'SoftHSM only: private token directory (default $SOFTHSM2_CONF if set, else HOME/softhsm)',
  },
};

/** --token and --serial. */
export const TOKEN_OPTIONS: Record<string, OptionSpec> = {
  token: { type: 'string', valueName: 'LABEL', description: 'token label' },
  serial: { type: 'string', valueName: 'SERIAL', description: 'token serial (needed when labels repeat; recommended always)' },
};

/** --pin-file. */
export const PIN_OPTIONS: Record<string, OptionSpec> = {
  'pin-file': { type: 'string', valueName: 'FILE', description: 'file holding the user PIN (mode 0600); else $NEAM_CA_PIN or a no-echo prompt' },
};

/** The module configuration from options and environment. */
export function hsmConfigFrom(ctx: CommandContext): HsmConfig {
  const m = ctx.values['module'];
  const modulePath = typeof m === 'string' ? m : ctx.env['NEAM_CA_PKCS11_MODULE'] !== undefined && ctx.env['NEAM_CA_PKCS11_MODULE'] !== '' ? ctx.env['NEAM_CA_PKCS11_MODULE'] : findSoftHsmModule();
  const dir = ctx.values['softhsm-dir'];
  if (!isSoftHsm(modulePath)) return { modulePath };
  if (typeof dir === 'string') return { modulePath, softhsmDir: dir };
  const envConf = ctx.env['SOFTHSM2_CONF'];
  if (envConf !== undefined && envConf !== '') return { modulePath, softhsmConf: envConf };
  return { modulePath, softhsmDir: join(ctx.home, 'softhsm') };
}

/** Opens the module named by the options. */
export function openHsmFrom(ctx: CommandContext): HsmModule {
  return openHsm(hsmConfigFrom(ctx));
}

/** The token selector from --token/--serial. */
export function tokenSelectorFrom(ctx: CommandContext): TokenSelector {
  const label = ctx.values['token'];
  if (typeof label !== 'string' || label === '') throw new CoreError('ERR_USAGE', '--token LABEL is required');
  const serial = ctx.values['serial'];
  return typeof serial === 'string' ? { label, serial } : { label };
}

/** Opens a session on the selected token and logs in with the PIN from --pin-file/env/prompt. */
export async function loginFrom(ctx: CommandContext, hsm: HsmModule): Promise<HsmSession> {
  const session = hsm.openSession(tokenSelectorFrom(ctx));
  try {
    const pin = await obtainSecret(ctx, 'pin-file', 'NEAM_CA_PIN', `user PIN of token '${session.token.label}'`);
    try {
      session.login(pin);
    } finally {
      pin.wipe();
    }
    return session;
  } catch (e) {
    session.close();
    throw e;
  }
}
