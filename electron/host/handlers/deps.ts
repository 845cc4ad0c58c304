/**
 * @module electron/host/handlers/deps
 * What the handlers receive from the composition root (the Electron main process or the loopback
 * host CLI): configuration, the secret vault, the HSM opener, the YAML checker (a worker thread),
 * the event hub, the ceremony session, version strings and a logger. Tests build the same object
 * with a SoftHSM token and temporary folders.
 *
 * Must never: hold a global; every dependency is passed in.
 */
import type { Logger } from '../../../core/log/logger.ts';
import type { HsmConfig, HsmModule } from '../../../core/hsm/index.ts';
import type { CeremonySession } from '../ceremony/session.ts';
import type { AppConfig } from '../config.ts';
import type { EventHub } from '../events.ts';
import type { SecretVault } from '../secret-vault.ts';
import type { YamlChecker } from '../yaml-checker.ts';

/** Dependencies of every handler group. */
export interface HandlerDeps {
  config: AppConfig;
  vault: SecretVault;
  /** Opens a PKCS#11 module (core's `openHsm`; tests may count calls). */
  openHsm: (config: HsmConfig) => HsmModule;
  product: string;
  version: string;
  versions: { node: string; electron: string | null; chrome: string | null };
  logger: Logger;
  /** Checks ceremony files off the main thread, with a deadline. */
  yaml: YamlChecker;
  /** Contract events (delivery attached by the composition root). */
  events: EventHub;
  /** The one ceremony session of this host. */
  ceremony: CeremonySession;
}
