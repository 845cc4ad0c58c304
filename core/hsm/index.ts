/**
 * @module hsm
 * Public surface of the HSM domain: open a PKCS#11 module behind the {@link HsmModule} port.
 */
import { openPkcs11Module } from './pkcs11.ts';
import { ensureSoftHsmConf, findSoftHsmModule, isSoftHsm } from './softhsm.ts';
import type { HsmModule } from './types.ts';

export type * from './types.ts';
export { describeSpec } from './pkcs11.ts';
export { parseKeySpec, KEY_SPEC_NAMES } from './key-spec.ts';
export { ensureSoftHsmConf, findSoftHsmModule, isSoftHsm, SOFTHSM_CANDIDATES } from './softhsm.ts';
export { mapPkcs11Error, ckrName } from './ckr.ts';

/** Where to find the module and, for SoftHSM, which private token directory to use. */
export interface HsmConfig {
  /** PKCS#11 library; SoftHSM2 when omitted. */
  modulePath?: string;
  /** SoftHSM only: a folder for a private softhsm2.conf and token directory. */
  softhsmDir?: string;
  /** SoftHSM only: an existing configuration file (wins over softhsmDir). */
  softhsmConf?: string;
}

/**
 * Opens the configured PKCS#11 module. For SoftHSM with `softhsmDir`, a private configuration is
 * created there on first use.
 * @throws {CoreError} ERR_HSM_MODULE_NOT_FOUND, ERR_HSM_MODULE_INVALID, ERR_HSM_MODULE_INIT_FAILED
 */
export function openHsm(config: HsmConfig = {}): HsmModule {
  const modulePath = config.modulePath ?? findSoftHsmModule();
  let softhsmConf = config.softhsmConf;
  if (softhsmConf === undefined && config.softhsmDir !== undefined && isSoftHsm(modulePath)) {
    softhsmConf = ensureSoftHsmConf(config.softhsmDir);
  }
  return openPkcs11Module(softhsmConf === undefined ? { modulePath } : { modulePath, softhsmConf });
}
