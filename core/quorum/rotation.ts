/**
 * @module quorum/rotation
 * Custodian rotation: replace or add custodians, or change M, only with the current quorum present.
 * The current quorum first completes an {@link ActivationSession} (M shares, each checked at
 * entry); a new enrolment then draws a new secret and enrols the new custodians one at a time
 * (generation + 1, linked to the old quorum id); finally {@link QuorumRotation.commit} rebuilds
 * the old PIN, changes the token's user PIN to the new one (C_SetPIN), and proves the new PIN by
 * logging in again. Old custodian files then open nothing: their secret is no longer the PIN, and
 * they name a retired quorum id.
 *
 * Order for safety: every new custodian file exists and has been opened with its passphrase before
 * the PIN changes; if anything fails before C_SetPIN the old quorum stays valid and the new files
 * are void. Persist {@link QuorumRotation.pendingRoster} before commit so a crash after C_SetPIN can
 * be reconciled (a drill of the new files against the pending roster proves which is current).
 *
 * Must never: change the PIN without a verified current quorum, or before every new file exists.
 */
import { CoreError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import type { ActivationSession } from './activation.ts';
import type { CustodianFile, RandomSource } from './custodian-file.ts';
import { QuorumEnrollment, type CustodianEnrollmentInput } from './enrollment.ts';
import type { Roster } from './roster.ts';
import type { ScryptParams } from './seal.ts';

/** Options of a rotation. */
export interface RotationOptions {
  /** New M. */
  threshold: number;
  /** New N. */
  total: number;
  now: Date;
  random: RandomSource;
  kdf?: ScryptParams;
  log?: Logger;
}

/** Result of a committed rotation. */
export interface RotationResult {
  /** The new, now current roster. */
  roster: Roster;
  /** The roster it replaced (retired). */
  retired: Roster;
}

/**
 * A rotation in progress. Start with {@link beginRotation} once the current quorum's activation
 * session is complete.
 */
export class QuorumRotation {
  readonly #activation: ActivationSession;
  readonly #enrollment: QuorumEnrollment;
  readonly #log: Logger;
  #done = false;
  #pinChanged = false;

  /** @internal use {@link beginRotation} */
  constructor(activation: ActivationSession, enrollment: QuorumEnrollment, log: Logger) {
    this.#activation = activation;
    this.#enrollment = enrollment;
    this.#log = log;
  }

  /**
   * True once the token accepted the new PIN (even if a later step failed): from then on the new
   * custodian files are the only way in and must be kept.
   */
  get pinChanged(): boolean {
    return this.#pinChanged;
  }

  /** The retiring roster. */
  get current(): Roster {
    return this.#activation.roster;
  }

  /** New custodians still to enrol. */
  get remaining(): number {
    return this.#enrollment.remaining;
  }

  /**
   * Enrols one new custodian (see {@link QuorumEnrollment.addCustodian}); returns their new file.
   * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID, ERR_QUORUM_PASSPHRASE_MISMATCH, ERR_QUORUM_PASSPHRASE_WEAK
   */
  addCustodian(input: CustodianEnrollmentInput): Promise<CustodianFile> {
    this.#alive();
    return this.#enrollment.addCustodian(input);
  }

  /** The new roster as it will become current (persist it as pending before {@link commit}). */
  pendingRoster(): Roster {
    return this.#enrollment.roster();
  }

  /**
   * Changes the token PIN from the current quorum's secret to the new one and proves the new PIN.
   * `session` must be a read-write session on the token, either logged in through this same
   * object or not logged in at all (another session's login makes C_Login fail with
   * ERR_HSM_ALREADY_LOGGED_IN before anything changes); it is left logged in with the new PIN.
   * @throws {CoreError} ERR_QUORUM_NOT_MET (new custodians missing), ERR_QUORUM_COMMITMENT_MISMATCH,
   *   ERR_HSM_* (the PIN was not changed when C_SetPIN fails; the old quorum remains current)
   */
  async commit(session: HsmSession): Promise<RotationResult> {
    this.#alive();
    if (this.#enrollment.remaining > 0) {
      throw new CoreError('ERR_QUORUM_NOT_MET', `${this.#enrollment.remaining} new custodian(s) are not enrolled yet; the PIN was not changed`, { details: { remaining: this.#enrollment.remaining } });
    }
    const retired = this.#activation.roster;
    const { roster, pin: newPin } = this.#enrollment.finish();
    this.#done = true;
    try {
      await this.#activation.withActivationPin('rotate the custodians', (oldPin) => {
        if (!session.loggedIn) session.login(oldPin);
        session.setPin(oldPin, newPin);
        this.#pinChanged = true;
        this.#log.info('token PIN changed by custodian rotation', { ceremony: roster.ceremony, retiredQuorumId: retired.quorumId, quorumId: roster.quorumId, generation: roster.generation });
        // Prove the new PIN now, while everyone is still in the room.
        session.logout();
        try {
          session.login(newPin);
        } catch (e) {
          throw new CoreError(
            'ERR_HSM_FAILED',
            `the token accepted the PIN change but refused a login with the new PIN; the NEW custodian files (quorum ${roster.quorumId}) are now the ones to keep. Run a drill with them and investigate the token`,
            { cause: e, details: { quorumId: roster.quorumId } },
          );
        }
      });
    } finally {
      newPin.wipe();
    }
    this.#log.info('custodian rotation committed', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation, threshold: roster.threshold, custodians: roster.custodians.map((c) => c.name) });
    return { roster, retired };
  }

  /** Abandons the rotation: wipes the new secret and the current quorum's shares; the PIN is unchanged. */
  abort(): void {
    this.#done = true;
    this.#enrollment.abort();
    this.#activation.wipe();
  }

  #alive(): void {
    if (this.#done) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', 'this rotation has ended; start a new one with the current quorum');
  }
}

/**
 * Starts a rotation. The current quorum must be present: `activation` must hold M verified shares
 * of the current roster (it is consumed by {@link QuorumRotation.commit} or {@link QuorumRotation.abort}).
 * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH, ERR_QUORUM_PARAMS_INVALID
 */
export async function beginRotation(activation: ActivationSession, options: RotationOptions): Promise<QuorumRotation> {
  if (!activation.complete) {
    throw new CoreError('ERR_QUORUM_NOT_MET', `a rotation needs the current quorum: ${activation.have} of ${activation.roster.threshold} custodians have entered their shares; ${activation.remaining} more needed`, {
      details: { have: activation.have, threshold: activation.roster.threshold, sharesNeeded: activation.remaining },
    });
  }
  await activation.verify();
  const log = options.log ?? nullLogger;
  const enrollment = await QuorumEnrollment.start({
    ceremony: activation.roster.ceremony,
    threshold: options.threshold,
    total: options.total,
    now: options.now,
    random: options.random,
    previous: activation.roster,
    log,
    ...(options.kdf === undefined ? {} : { kdf: options.kdf }),
  });
  log.info('custodian rotation started', { ceremony: activation.roster.ceremony, retiredQuorumId: activation.roster.quorumId, quorumId: enrollment.quorumId, threshold: options.threshold, total: options.total, by: activation.entered });
  return new QuorumRotation(activation, enrollment, log);
}
