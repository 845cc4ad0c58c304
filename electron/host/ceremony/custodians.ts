/**
 * @module electron/host/ceremony/custodians
 * Checks a custodian's answers at the workstation before the ceremony runner gets them, so that a
 * wrong passphrase, or a foreign, tampered, duplicate or misplaced custodian file, is named the
 * moment it is entered and the custodian can try again, instead of stopping the ceremony. The
 * checks are core's own (core/quorum: the file against the roster, the passphrase by opening the
 * file, the share against the roster's commitment); the runner repeats them when it uses the
 * answer, so nothing here is trusted in its place.
 *
 * Must never: keep a passphrase, a share or an approval key beyond one check (every opened item is
 * wiped before the check returns), or wipe the secret it was given (the runner uses it next).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';

import { openCaHome } from '../../../core/ceremony/ca-home.ts';
import { loadCustodianFile } from '../../../core/ceremony/quorum-io.ts';
import { CoreError } from '../../../core/errors.ts';
import { ActivationSession, checkCustodianFile, checkNewPassphrase, openCustodianFile, type CustodianFile, type Roster } from '../../../core/quorum/index.ts';
import type { Secret } from '../../../core/util/secret.ts';
import { keyText } from '../../../core/ceremony/io.ts';
import type { CustodianMode } from './questions.ts';

function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** The checks of one ceremony run (files accepted so far, per custodian flow). */
export class CustodianChecks {
  readonly #caHome: () => string | null;
  /** Flow of each key prefix (`activation`, `steps.approve`), from the names question that opened it. */
  readonly #modes = new Map<string, CustodianMode>();
  /** Files accepted per prefix and custodian. */
  readonly #files = new Map<string, { file: CustodianFile; path: string }>();

  constructor(caHome: () => string | null) {
    this.#caHome = caHome;
  }

  /** Records which flow a names question opened (`custodians` → activation, …) and forgets its earlier files. */
  openFlow(prefix: readonly string[], mode: CustodianMode): void {
    const p = keyText(prefix);
    this.#modes.set(p, mode);
    for (const k of [...this.#files.keys()]) if (k.startsWith(`${p}\u0000`)) this.#files.delete(k);
  }

  /** The flow of a prefix: as opened, else activation for `activation`, approval otherwise. */
  modeOf(prefix: readonly string[]): CustodianMode {
    return this.#modes.get(keyText(prefix)) ?? (prefix[0] === 'activation' ? 'activation' : 'approval');
  }

  #roster(): Roster {
    const home = this.#caHome();
    if (home === null) throw new CoreError('ERR_APP_STATE_INVALID', 'no CA folder is known for this ceremony; start or resume it from the Script & site screen');
    const ca = openCaHome(home);
    try {
      const roster = ca.currentRoster();
      if (roster === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${home} has no quorum roster yet; custodian files are checked against the roster the root ceremony enrolled`);
      return roster;
    } finally {
      ca.close();
    }
  }

  /**
   * A custodian's file (or the folder of their medium): it must be theirs, of the current quorum,
   * intact, and not already entered in this flow.
   * @throws {CoreError} ERR_IO, ERR_NOT_FOUND, ERR_QUORUM_CUSTODIAN_FILE_INVALID, ERR_QUORUM_SHARE_FOREIGN,
   *   ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_DUPLICATE
   */
  checkFile(prefix: readonly string[], name: string, answer: string): void {
    if (!isAbsolute(answer)) throw new CoreError('ERR_INPUT_INVALID', `give the absolute path of ${name}'s custodian file or of the folder of their medium (for example /media/${name.split(' ')[0]?.toLowerCase() ?? 'custodian'})`);
    const roster = this.#roster();
    const { file, path } = loadCustodianFile(answer, name, roster);
    const p = keyText(prefix);
    const owner = file.custodian;
    const entered = [...this.#files.entries()].filter(([k]) => k.startsWith(`${p}\u0000`)).map(([, v]) => v.file);
    if (nameKey(owner) !== nameKey(name)) {
      if (entered.some((f) => nameKey(f.custodian) === nameKey(owner))) {
        throw new CoreError('ERR_QUORUM_SHARE_DUPLICATE', `${path} is the custodian file of '${owner}', whose share was already entered here; each custodian counts once. ${name} gives their own file`, { details: { custodian: name, owner } });
      }
      throw new CoreError('ERR_QUORUM_SHARE_FOREIGN', `${path} is the custodian file of '${owner}', not of '${name}'; each custodian gives their own file. ${name}: insert your own medium`, { details: { custodian: name, owner } });
    }
    checkCustodianFile(roster, file, path);
    if (entered.some((f) => f.shareIndex === file.shareIndex)) {
      throw new CoreError('ERR_QUORUM_SHARE_DUPLICATE', `the share of '${owner}' (share ${file.shareIndex}) was already entered here; each custodian counts once`, { details: { custodian: name } });
    }
    this.#files.set(`${p}\u0000${nameKey(name)}`, { file, path });
  }

  /**
   * A custodian's passphrase, proven by opening their file: for activation also the share against
   * the roster's commitment. Nothing opened is kept.
   * @throws {CoreError} ERR_QUORUM_PASSPHRASE_INCORRECT, ERR_QUORUM_SHARE_TAMPERED, ERR_APP_STATE_INVALID
   */
  async checkPassphrase(prefix: readonly string[], name: string, passphrase: Secret): Promise<void> {
    const entry = this.#files.get(`${keyText(prefix)}\u0000${nameKey(name)}`);
    if (entry === undefined) return; // the runner checks it (e.g. a file given by an answers file)
    if (this.modeOf(prefix) === 'activation') {
      const session = new ActivationSession(this.#roster());
      try {
        await session.addCustodian(entry.file, passphrase, entry.path);
      } finally {
        session.wipe();
      }
      return;
    }
    const opened = await openCustodianFile(entry.file, passphrase, {}, entry.path);
    opened.share?.wipe();
  }

  /**
   * The folder of a custodian's medium at enrollment: absolute, a folder, writable.
   * @throws {CoreError} ERR_INPUT_INVALID, ERR_NOT_FOUND, ERR_IO
   */
  checkMedium(name: string, answer: string): void {
    if (!isAbsolute(answer)) throw new CoreError('ERR_INPUT_INVALID', `give the absolute path of the folder on ${name}'s medium (where the medium is mounted)`);
    let dir: boolean;
    try {
      dir = statSync(answer).isDirectory();
    } catch {
      throw new CoreError('ERR_NOT_FOUND', `${answer} does not exist: insert and mount ${name}'s medium, then give its folder`, { details: { path: answer } });
    }
    if (!dir) throw new CoreError('ERR_INPUT_INVALID', `${answer} is a file; give the folder on ${name}'s medium where their custodian file is written`, { details: { path: answer } });
    try {
      accessSync(answer, constants.W_OK);
    } catch {
      throw new CoreError('ERR_IO', `${answer} cannot be written (read-only medium or missing permission); use a writable medium for ${name}`, { details: { path: answer } });
    }
  }

  /**
   * A new passphrase typed twice at enrollment (core/quorum's rules).
   * @throws {CoreError} ERR_QUORUM_PASSPHRASE_MISMATCH, ERR_QUORUM_PASSPHRASE_WEAK
   */
  checkNewPassphrase(name: string, first: Secret, again: Secret): void {
    checkNewPassphrase(first, again, name);
  }
}
