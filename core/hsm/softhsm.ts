/**
 * @module hsm/softhsm
 * SoftHSM2, the embedded default token: finding its library, and writing a private configuration
 * (its own token directory) so rehearsals, tests and the demo never touch the system's tokens.
 *
 * Must never: write token files outside the directory it was given.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CoreError } from '../errors.ts';

/** Where Debian and other distributions install SoftHSM2's PKCS#11 library. */
export const SOFTHSM_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
] as const;

/**
 * The SoftHSM2 library path, or throws with installation advice.
 * @throws {CoreError} ERR_HSM_MODULE_NOT_FOUND
 */
export function findSoftHsmModule(): string {
  const found = SOFTHSM_CANDIDATES.find((p) => existsSync(p));
  if (found === undefined) {
    throw new CoreError(
      'ERR_HSM_MODULE_NOT_FOUND',
      `SoftHSM2 is not installed (looked in ${SOFTHSM_CANDIDATES.join(', ')}). Install it with 'apt-get install softhsm2' (bin/setup does this), or pass --module for a real HSM`,
    );
  }
  return found;
}

/** True when a module path looks like SoftHSM2 (so a private configuration applies). */
export function isSoftHsm(modulePath: string): boolean {
  return /softhsm/i.test(modulePath);
}

/**
 * Creates `dir/softhsm2.conf` with its token directory at `dir/tokens` (mode 0700) unless it exists.
 * Returns the configuration path.
 */
export function ensureSoftHsmConf(dir: string): string {
  const abs = resolve(dir);
  const tokens = join(abs, 'tokens');
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const conf = join(abs, 'softhsm2.conf');
  if (!existsSync(conf)) {
    writeFileSync(conf, `# SoftHSM2 configuration written by NEAM CA\ndirectories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  }
  return conf;
}
