/**
 * @module electron/host/config
 * The workstation's configuration from its command line and environment, shared by the Electron
 * main process and the loopback host: which PKCS#11 module (and, for SoftHSM, which private token
 * directory), which folders hold ceremony scripts and site files, and whether this is a rehearsal.
 * The same flags and variables as the `neam-ca` CLI (`--module`, `--softhsm-dir`,
 * `NEAM_CA_PKCS11_MODULE`, `SOFTHSM2_CONF`, `NEAM_CA_HOME`).
 *
 * Pure: takes argv, env, cwd and home as parameters. Must never: open the HSM or touch files
 * (resolution happens when an operation runs, so a missing module is shown on the HSM screen).
 */
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { CoreError } from '../../core/errors.ts';
import { findSoftHsmModule, isSoftHsm, type HsmConfig } from '../../core/hsm/index.ts';

/** A folder whose YAML files the UI may list and read. */
export interface FileRoot {
  /** Opaque id used on the wire (`r0`, `r1`, …): the renderer never sends a folder path. */
  id: string;
  label: string;
  path: string;
}

/** The workstation configuration. */
export interface AppConfig {
  /** PKCS#11 module; undefined means SoftHSM2, looked up when first used. */
  modulePath: string | undefined;
  /** SoftHSM only: explicit configuration file (wins over `softhsmDir`). */
  softhsmConf: string | undefined;
  /** SoftHSM only: private token directory. */
  softhsmDir: string;
  fileRoots: FileRoot[];
  /** Rehearsal mode, and why. A SoftHSM module always means a rehearsal. */
  rehearsal: { on: boolean; reason: string | null };
}

/** Command-line options understood by both hosts (`--help` of `npm run app:browser` lists them). */
export const APP_OPTIONS = {
  module: { type: 'string', description: 'PKCS#11 module (default $NEAM_CA_PKCS11_MODULE, else SoftHSM2)' },
  'softhsm-dir': { type: 'string', description: 'SoftHSM only: private token directory (default $SOFTHSM2_CONF if set, else NEAM_CA_HOME/softhsm)' },
  'softhsm-conf': { type: 'string', description: 'SoftHSM only: an existing softhsm2.conf' },
  scripts: { type: 'string', multiple: true, description: 'a folder of ceremony scripts and site files (repeatable; default ./ceremony-scripts)' },
  rehearsal: { type: 'boolean', description: 'mark this run as a rehearsal (always on with SoftHSM)' },
} as const;

/** Inputs of {@link resolveAppConfig}. */
export interface ConfigInputs {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The user's home directory. */
  home: string;
  /**
   * Electron passes Chromium switches through argv; its host ignores options it does not know.
   * The loopback CLI is strict.
   */
  strict: boolean;
  /** Folder of scripts when no --scripts is given (default `cwd/ceremony-scripts`). */
  defaultScripts?: string;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Resolves the configuration.
 * @throws {CoreError} ERR_USAGE for an unknown option (strict mode) or a malformed value
 */
export function resolveAppConfig(inputs: ConfigInputs, extraOptions: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {}): AppConfig & { values: Record<string, unknown> } {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: [...inputs.argv], options: { ...APP_OPTIONS, ...extraOptions }, strict: inputs.strict, allowPositionals: !inputs.strict }).values;
  } catch (e) {
    throw new CoreError('ERR_USAGE', `${e instanceof Error ? e.message : 'invalid arguments'}; see --help`, { cause: e });
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? nonEmpty(values[k]) : undefined);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(inputs.cwd, p));

  const modulePath = str('module') ?? nonEmpty(inputs.env['NEAM_CA_PKCS11_MODULE']);
  const stateHome = nonEmpty(inputs.env['NEAM_CA_HOME']) ?? join(nonEmpty(inputs.env['XDG_STATE_HOME']) ?? join(inputs.home, '.local', 'state'), 'neam-ca');
  const confArg = str('softhsm-conf');
  const dirArg = str('softhsm-dir');
  const envConf = nonEmpty(inputs.env['SOFTHSM2_CONF']);
  const softhsmConf = confArg !== undefined ? abs(confArg) : dirArg === undefined && envConf !== undefined ? abs(envConf) : undefined;
  const softhsmDir = abs(dirArg ?? join(stateHome, 'softhsm'));

  const scriptArgs = Array.isArray(values['scripts']) ? (values['scripts'] as unknown[]).filter((s): s is string => typeof s === 'string' && s !== '') : [];
  const folders = scriptArgs.length > 0 ? scriptArgs.map(abs) : [inputs.defaultScripts ?? resolve(inputs.cwd, 'ceremony-scripts')];
  const fileRoots = [...new Set(folders)].map((path, i) => ({ id: `r${i}`, label: path, path }));

  const softhsm = modulePath === undefined || isSoftHsm(modulePath);
  const asked = values['rehearsal'] === true || inputs.env['NEAM_CA_REHEARSAL'] === '1';
  const rehearsal = softhsm
    ? { on: true, reason: 'SoftHSM is a software token: everything made in this session is for practice only' }
    : asked
      ? { on: true, reason: 'started with --rehearsal: nothing made in this session is to be trusted' }
      : { on: false, reason: null };
  return { modulePath, softhsmConf, softhsmDir, fileRoots, rehearsal, values };
}

/**
 * The core HSM configuration for the current call (the SoftHSM module is looked up here, so its
 * absence is reported where the HSM is used).
 * @throws {CoreError} ERR_HSM_MODULE_NOT_FOUND when no module is configured and SoftHSM2 is missing
 */
export function hsmConfigOf(config: AppConfig): HsmConfig {
  const modulePath = config.modulePath ?? findSoftHsmModule();
  if (!isSoftHsm(modulePath)) return { modulePath };
  return config.softhsmConf !== undefined ? { modulePath, softhsmConf: config.softhsmConf } : { modulePath, softhsmDir: config.softhsmDir };
}
