/**
 * Test fixture: a private SoftHSM token directory per test (its own SOFTHSM2_CONF), an initialised
 * token with known PINs, and cleanup. Every key-touching feature is proven against this real token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openHsm, type HsmModule, type HsmSession, type TokenInfo } from '../../core/hsm/index.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../core/hsm/softhsm.ts';
import { Secret } from '../../core/util/secret.ts';

/** Known test PINs (tests only; they are scanned for in log output). */
export const TEST_USER_PIN = 'test-user-pin-8271';
export const TEST_SO_PIN = 'test-so-pin-5519';

export interface SoftHsmFixture {
  dir: string;
  conf: string;
  modulePath: string;
  hsm: HsmModule;
  token: TokenInfo;
  /** A logged-in read-write session on the token. */
  session: HsmSession;
  /** Environment for child processes (SOFTHSM2_CONF). */
  env: NodeJS.ProcessEnv;
  close(): void;
}

/** A fresh temporary directory removed by `cleanup`. */
export function tempDir(prefix = 'neam-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Creates a token directory, initialises token `label`, logs in. Call `close()` in afterEach. */
export function createSoftHsm(label = 'test-token'): SoftHsmFixture {
  const { dir, cleanup } = tempDir('neam-hsm-');
  const conf = ensureSoftHsmConf(dir);
  const modulePath = findSoftHsmModule();
  const hsm = openHsm({ modulePath, softhsmConf: conf });
  const token = hsm.initToken(label, Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN));
  const session = hsm.openSession({ label: token.label, serial: token.serial });
  session.login(Secret.fromString(TEST_USER_PIN));
  return {
    dir,
    conf,
    modulePath,
    hsm,
    token,
    session,
    env: { ...process.env, SOFTHSM2_CONF: conf },
    close() {
      session.close();
      hsm.close();
      cleanup();
    },
  };
}
