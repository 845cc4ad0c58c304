/**
 * @module quorum/rotation
 * Custodian rotation: replace or add custodians, or change M, only with the current quorum present.
 * The current quorum first completes an {@link ActivationSession} (M shares, each checked at
 * entry); a new enrolment then draws a new secret and enrols the new custodians one at a time
 * (generation + 1, linked to the old quorum id); finally {@link QuorumRotation.commit} rebuilds
 * the old secret, logs in as security officer with the old SO PIN, changes it to the new one
 * (C_SetPIN), sets the new user PIN (C_InitPIN), and proves both by logging in. Old custodian
 * files then open nothing: neither PIN is derived from their secret any more, and they name a
 * retired quorum id.
 *
 * Order for safety: every new custodian file exists and has been opened with its passphrase before
 * the PIN changes; if anything fails before C_SetPIN the old quorum stays valid and the new files
 * are void. Persist {@link QuorumRotation.pendingRoster} before commit so a crash after C_SetPIN can
 * be reconciled (a drill of the new files against the pending roster proves which is current).
 *
 * Must never: change a PIN without a verified current quorum, or before every new file exists; or
 * leave the security officer PIN outside the new quorum.
 */
import { CoreError, InternalError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import type { ActivationSession } from './activation.ts';
import type { CustodianFile, RandomSource } from './custodian-file.ts';
import { QuorumEnrollment, type CustodianEnrollmentInput } from './enrollment.ts';
import { rosterGovernsSoPin, type Roster } from './roster.ts';
import type { ScryptParams } from './seal.ts';
import { setQuorumPins } from './token.ts';

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
  /**
   * The token's current security officer PIN, needed only when the current roster does not govern
   * it (a roster from before SO-PIN governance, or an enrolment finished without it): the rotation
   * then puts the SO PIN under the new quorum. Copied; the caller wipes its own.
   */
  currentSoPin?: Secret;
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
  readonly #currentSoPin: Secret | undefined;
  #done = false;
  #pinChanged = false;

  /** @internal use {@link beginRotation} */
  constructor(activation: ActivationSession, enrollment: QuorumEnrollment, log: Logger, currentSoPin?: Secret) {
    this.#activation = activation;
    this.#enrollment = enrollment;
    this.#log = log;
    this.#currentSoPin = currentSoPin;
  }

  /**
   * True once the token accepted the new security officer PIN (even if a later step failed): from
   * then on the new custodian files are the only way in and must be kept.
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
   * Changes both token PINs from the current quorum's to the new quorum's and proves them: logged
   * in as security officer with the current SO PIN (derived from the current secret, or
   * `currentSoPin` for a roster that did not govern it), C_SetPIN to the new SO PIN, then C_InitPIN
   * of the new user PIN; both are proven by logging in. `session` must be a read-write session on
   * the token, either logged in through this same object or not logged in at all (another
   * session's login makes C_Login fail with ERR_HSM_ALREADY_LOGGED_IN before anything changes);
   * it is left logged in as user with the new PIN.
   * @throws {CoreError} ERR_QUORUM_NOT_MET (new custodians missing), ERR_QUORUM_COMMITMENT_MISMATCH,
   *   ERR_HSM_* (when the SO PIN change fails, nothing changed and the old quorum remains current),
   *   ERR_HSM_FAILED (the SO PIN changed but a later step failed: see {@link pinChanged})
   */
  async commit(session: HsmSession): Promise<RotationResult> {
    this.#alive();
    if (this.#enrollment.remaining > 0) {
      throw new CoreError('ERR_QUORUM_NOT_MET', `${this.#enrollment.remaining} new custodian(s) are not enrolled yet; the PIN was not changed`, { details: { remaining: this.#enrollment.remaining } });
    }
    const retired = this.#activation.roster;
    const { roster, pin: newPin, soPin: newSoPin } = this.#enrollment.finish({ governSoPin: true });
    this.#done = true;
    try {
      await this.#activation.withActivationPins('rotate the custodians', (old) => {
        const currentSoPin = old.so ?? this.#currentSoPin;
        if (currentSoPin === undefined) throw new InternalError('a rotation of a roster without SO governance started without the current SO PIN');
        const state = { soPinChanged: false, userPinChanged: false };
        try {
          setQuorumPins(session, { currentSoPin, userPin: newPin, soPin: newSoPin }, state);
        } catch (e) {
          if (!state.soPinChanged) throw e;
          this.#pinChanged = true;
          throw new CoreError(
            'ERR_HSM_FAILED',
            `the token accepted the new security officer PIN, but ${state.userPinChanged ? 'proving the new PINs' : 'setting the new user PIN'} failed; the NEW custodian files (quorum ${roster.quorumId}) are now the ones to keep. ${roster.threshold} of them can finish with a user-PIN repair (ActivationSession.repairUserPin); investigate the token`,
            { cause: e, details: { quorumId: roster.quorumId, userPinChanged: state.userPinChanged } },
          );
        }
        this.#pinChanged = true;
        this.#log.info('token PINs (user and security officer) changed by custodian rotation', { ceremony: roster.ceremony, retiredQuorumId: retired.quorumId, quorumId: roster.quorumId, generation: roster.generation });
        session.login(newPin);
      });
    } finally {
      newPin.wipe();
      newSoPin.wipe();
      this.#currentSoPin?.wipe();
    }
    this.#log.info('custodian rotation committed', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation, threshold: roster.threshold, custodians: roster.custodians.map((c) => c.name) });
    return { roster, retired };
  }

  /** Abandons the rotation: wipes the new secret and the current quorum's shares; the PIN is unchanged. */
  abort(): void {
    this.#done = true;
    this.#enrollment.abort();
    this.#activation.wipe();
    this.#currentSoPin?.wipe();
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
  if (!rosterGovernsSoPin(activation.roster) && options.currentSoPin === undefined) {
    throw new CoreError(
      'ERR_QUORUM_PARAMS_INVALID',
      `quorum ${activation.roster.quorumId} does not govern the token's security officer PIN, so whoever knows it can bypass the quorum; a rotation puts it under the new quorum and needs the current SO PIN (currentSoPin / --so-pin-file). Nothing was changed`,
    );
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
  return new QuorumRotation(activation, enrollment, log, options.currentSoPin?.clone());
}
