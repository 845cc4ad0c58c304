/**
 * @module quorum/activation
 * Opening the root token with M custodians. An {@link ActivationSession} takes custodians one at
 * a time; each custodian file is checked against the roster the moment it is presented (another
 * ceremony or a retired generation: foreign; any change: tampered; the same custodian again:
 * duplicate), before the passphrase is asked, and the share it yields is checked against the
 * roster's share commitment. With M shares the secret is rebuilt in memory, checked against the
 * activation commitment (so a wrong PIN is never sent to the token and never burns a retry), turned
 * into the token PIN(s) the roster says it governs (the user's, and the security officer's), used
 * to log in, and wiped together with the shares.
 *
 * A drill ({@link ActivationSession.drill}) does the same without touching the token: it proves
 * that the custodians present still reach the threshold and rebuild the committed secret.
 *
 * Must never: log, return or keep the secret, a share or a passphrase; send an unverified PIN to
 * the token; or accept a share after the session was used.
 */
import { CoreError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import { openCustodianFile, parseCustodianFile, tampered, type CustodianFile } from './custodian-file.ts';
import { checkCustodianFile, rosterDigest, type Roster, type RosterCustodian } from './roster.ts';
import { binomial, combineShares, commitmentsEqual, governsSoPin, shareCommitment, shareX, subsets, tokenPinsFor, verifyActivationCommitment } from './shares.ts';

/** Where an activation stands after a custodian was added. */
export interface ActivationProgress {
  /** The custodian just accepted. */
  custodian: string;
  shareIndex: number;
  /** Shares accepted so far. */
  have: number;
  threshold: number;
  /** Custodians still needed (0 once the threshold is reached). */
  remaining: number;
  complete: boolean;
  /** Names accepted so far, in entry order. */
  entered: string[];
}

/** Result of a quorum drill (public; suitable for the transcript). */
export interface DrillReport {
  ceremony: string;
  quorumId: string;
  generation: number;
  threshold: number;
  /** SHA-256 of the roster the drill ran against. */
  rosterSha256: string;
  at: string;
  custodians: Array<{ name: string; shareIndex: number }>;
  /** M-subsets of the present custodians that were combined and checked (every one when ≤ 1000). */
  subsetsChecked: number;
  /** Always true in a returned report: failures throw. */
  commitmentVerified: true;
}

interface Entered {
  custodian: RosterCustodian;
  share: Secret;
}

/** Options of an activation session. */
export interface ActivationOptions {
  log?: Logger;
}

/**
 * One activation (or drill) of a quorum. Not reusable: after login, drill, rotation or wipe it
 * holds nothing and refuses further use.
 */
export class ActivationSession {
  readonly roster: Roster;
  readonly #log: Logger;
  #entered: Entered[] = [];
  #spent = false;

  constructor(roster: Roster, options: ActivationOptions = {}) {
    this.roster = roster;
    this.#log = options.log ?? nullLogger;
  }

  /** Shares accepted so far. */
  get have(): number {
    return this.#entered.length;
  }

  /** Custodians still needed. */
  get remaining(): number {
    return Math.max(0, this.roster.threshold - this.#entered.length);
  }

  /** True once M shares are in. */
  get complete(): boolean {
    return this.remaining === 0;
  }

  /** Names accepted so far. */
  get entered(): string[] {
    return this.#entered.map((e) => e.custodian.name);
  }

  /**
   * Checks a custodian file before its passphrase is asked: parses it (if given as bytes), checks
   * it against the roster, and refuses a custodian already entered.
   * @throws {CoreError} ERR_QUORUM_CUSTODIAN_FILE_INVALID, ERR_INPUT_TOO_LARGE,
   *   ERR_QUORUM_SHARE_FOREIGN, ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_DUPLICATE
   */
  precheck(input: CustodianFile | Uint8Array | string, source?: string): { file: CustodianFile; custodian: RosterCustodian } {
    this.#alive();
    try {
      const file = typeof input === 'string' || input instanceof Uint8Array ? parseCustodianFile(input, source) : input;
      const custodian = checkCustodianFile(this.roster, file, source);
      if (this.#entered.some((e) => e.custodian.shareIndex === custodian.shareIndex)) {
        throw new CoreError(
          'ERR_QUORUM_SHARE_DUPLICATE',
          `custodian '${custodian.name}' (share ${custodian.shareIndex}) has already entered their share in this activation; each custodian counts once. ${this.#needText()}`,
          { details: { custodian: custodian.name, shareIndex: custodian.shareIndex } },
        );
      }
      return { file, custodian };
    } catch (e) {
      this.#refused(e);
      throw e;
    }
  }

  /**
   * Adds one custodian: {@link precheck}, then opens the file with the passphrase, checks the
   * share against the roster's commitment, and keeps the share in memory.
   * @throws {CoreError} everything {@link precheck} throws, ERR_QUORUM_PASSPHRASE_INCORRECT,
   *   ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_DUPLICATE
   */
  async addCustodian(input: CustodianFile | Uint8Array | string, passphrase: Secret, source?: string): Promise<ActivationProgress> {
    const { file, custodian } = this.precheck(input, source);
    let share: Secret | undefined;
    try {
      ({ share } = await openCustodianFile(file, passphrase, { share: true }, source, { roster: this.roster }));
      if (share === undefined) throw tampered(file, source, 'it holds no share');
      const expected = shareCommitment(share, { ceremony: this.roster.ceremony, quorumId: this.roster.quorumId, custodian: custodian.name, shareIndex: custodian.shareIndex });
      if (!commitmentsEqual(expected, custodian.shareCommitment)) throw tampered(file, source, 'its share is not the share enrolled for this custodian');
      const x = shareX(share);
      if (this.#entered.some((e) => shareX(e.share) === x)) {
        throw new CoreError('ERR_QUORUM_SHARE_DUPLICATE', `the share in the file of '${custodian.name}' was already entered under another name; each share counts once`, { details: { custodian: custodian.name } });
      }
      this.#alive();
      this.#entered.push({ custodian, share });
    } catch (e) {
      share?.wipe();
      this.#refused(e, custodian.name);
      throw e;
    }
    const progress: ActivationProgress = {
      custodian: custodian.name,
      shareIndex: custodian.shareIndex,
      have: this.have,
      threshold: this.roster.threshold,
      remaining: this.remaining,
      complete: this.complete,
      entered: this.entered,
    };
    this.#log.info('custodian share accepted', { ceremony: this.roster.ceremony, custodian: custodian.name, shareIndex: custodian.shareIndex, have: this.have, threshold: this.roster.threshold, remaining: this.remaining });
    return progress;
  }

  /** Sentence saying how many more custodians are needed and who could provide them. */
  #needText(): string {
    if (this.complete) return `The threshold of ${this.roster.threshold} is reached.`;
    const missing = this.roster.custodians.filter((c) => !this.#entered.some((e) => e.custodian.shareIndex === c.shareIndex)).map((c) => c.name);
    return `${this.have} of ${this.roster.threshold} custodians have entered their shares; ${this.remaining} more needed (from: ${missing.join(', ')}).`;
  }

  /** The error for acting before the threshold is reached. */
  #notMet(action: string): CoreError {
    return new CoreError('ERR_QUORUM_NOT_MET', `cannot ${action} yet: ${this.#needText()}`, {
      details: { have: this.have, threshold: this.roster.threshold, sharesNeeded: this.remaining },
    });
  }

  /**
   * Checks, without using or spending anything, that the shares entered rebuild the committed
   * secret (used before a rotation enrols new custodians).
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH
   */
  async verify(): Promise<void> {
    this.#alive();
    if (!this.complete) throw this.#notMet('verify the quorum');
    const secret = await combineShares(this.#entered.map((e) => e.share));
    try {
      if (!verifyActivationCommitment(secret, this.roster.ceremony, this.roster.quorumId, this.roster.activationCommitment)) {
        throw new CoreError('ERR_QUORUM_COMMITMENT_MISMATCH', `the shares of ${this.entered.join(', ')} do not rebuild the activation secret committed in the roster`);
      }
    } finally {
      secret.wipe();
    }
  }

  /**
   * Rebuilds the secret, checks it against the commitment, and runs `fn` with the token PINs it
   * stands for (the user PIN, and the security officer PIN when the roster governs it); then wipes
   * secret, PINs and shares whatever happens. The session is spent afterwards.
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH, and whatever `fn` throws
   */
  async withActivationPins<T>(action: string, fn: (pins: { user: Secret; so?: Secret }) => Promise<T> | T): Promise<T> {
    this.#alive();
    if (!this.complete) throw this.#notMet(action);
    const shares = this.#entered.map((e) => e.share);
    let pins: { user: Secret; so?: Secret } | undefined;
    try {
      const secret = await combineShares(shares);
      try {
        if (!verifyActivationCommitment(secret, this.roster.ceremony, this.roster.quorumId, this.roster.activationCommitment)) {
          throw new CoreError('ERR_QUORUM_COMMITMENT_MISMATCH', `the shares of ${this.entered.join(', ')} do not rebuild the activation secret committed in the roster; the token was not touched. Check that the roster is the current one for ceremony '${this.roster.ceremony}'`);
        }
        pins = tokenPinsFor(secret, this.roster.pin);
      } finally {
        secret.wipe();
      }
      return await fn(pins);
    } finally {
      pins?.user.wipe();
      pins?.so?.wipe();
      this.wipe();
    }
  }

  /**
   * Rebuilds the secret, checks it against the commitment, and runs `fn` with the token user PIN;
   * then wipes secret, PINs and shares whatever happens. The session is spent afterwards.
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH, and whatever `fn` throws
   */
  withActivationPin<T>(action: string, fn: (pin: Secret) => Promise<T> | T): Promise<T> {
    return this.withActivationPins(action, (pins) => fn(pins.user));
  }

  /** Refuses an SO action for a roster whose secret does not govern the SO PIN. */
  #needsSoGovernance(action: string): void {
    if (!governsSoPin(this.roster.pin)) {
      throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `cannot ${action}: quorum ${this.roster.quorumId} does not govern the token's security officer PIN (its roster predates that, or the enrolment left the SO PIN to someone); a custodian rotation with the current SO PIN puts it under the quorum`);
    }
  }

  /**
   * Logs the session in to the token with the rebuilt PIN: the user's (default), or the security
   * officer's when the roster governs it (`'so'`: only M custodians can reach it). Afterwards the
   * secret, PINs and shares are gone; the token session stays logged in.
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH, ERR_QUORUM_PARAMS_INVALID
   *   (SO login with a roster that does not govern the SO PIN), ERR_HSM_* from the login
   */
  async login(session: HsmSession, userType: 'user' | 'so' = 'user'): Promise<void> {
    const who = this.entered;
    if (userType === 'so') {
      this.#alive();
      this.#needsSoGovernance('log in as security officer');
    }
    await this.withActivationPins(userType === 'so' ? 'log in as security officer' : 'open the token', (pins) => session.login(userType === 'so' ? (pins.so as Secret) : pins.user, userType));
    this.#log.info(userType === 'so' ? 'token opened by quorum as security officer' : 'token opened by quorum', { ceremony: this.roster.ceremony, quorumId: this.roster.quorumId, tokenLabel: session.token.label, custodians: who });
  }

  /**
   * Finishes an enrolment or rotation interrupted after the SO PIN changed: logged in as security
   * officer with the quorum's SO PIN, sets the user PIN to the quorum's user PIN (C_InitPIN), then
   * logs in as user with it. The session is left logged in as user.
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH, ERR_QUORUM_PARAMS_INVALID,
   *   ERR_HSM_* (ERR_HSM_PIN_INCORRECT: the token's SO PIN is not this quorum's)
   */
  async repairUserPin(session: HsmSession): Promise<void> {
    this.#alive();
    this.#needsSoGovernance('repair the user PIN');
    const who = this.entered;
    await this.withActivationPins('repair the user PIN', (pins) => {
      if (session.loggedIn) session.logout();
      session.login(pins.so as Secret, 'so');
      try {
        session.initUserPin(pins.user);
      } finally {
        session.logout();
      }
      session.login(pins.user);
    });
    this.#log.info('token user PIN set by quorum (security officer login)', { ceremony: this.roster.ceremony, quorumId: this.roster.quorumId, tokenLabel: session.token.label, custodians: who });
  }

  /**
   * Quorum drill: proves, without the token, that the custodians present rebuild the committed
   * secret, combining every M-subset of them (a covering sample above 1000 subsets).
   * @throws {CoreError} ERR_QUORUM_NOT_MET, ERR_QUORUM_COMMITMENT_MISMATCH
   */
  async drill(now: Date): Promise<DrillReport> {
    this.#alive();
    if (!this.complete) {
      const e = this.#notMet('complete the drill');
      this.wipe();
      throw e;
    }
    const entered = [...this.#entered];
    const m = this.roster.threshold;
    const groups: number[][] = [];
    if (binomial(entered.length, m) <= 1000) for (const g of subsets(entered.length, m)) groups.push(g);
    else for (let s = 0; s < entered.length; s++) groups.push(Array.from({ length: m }, (_, i) => (s + i) % entered.length));
    try {
      for (const g of groups) {
        const secret = await combineShares(g.map((i) => (entered[i] as Entered).share));
        const ok = verifyActivationCommitment(secret, this.roster.ceremony, this.roster.quorumId, this.roster.activationCommitment);
        secret.wipe();
        if (!ok) {
          throw new CoreError('ERR_QUORUM_COMMITMENT_MISMATCH', `the shares of ${g.map((i) => (entered[i] as Entered).custodian.name).join(', ')} do not rebuild the committed activation secret; this quorum would not open the token`);
        }
      }
    } finally {
      this.wipe();
    }
    const report: DrillReport = {
      ceremony: this.roster.ceremony,
      quorumId: this.roster.quorumId,
      generation: this.roster.generation,
      threshold: m,
      rosterSha256: rosterDigest(this.roster),
      at: now.toISOString(),
      custodians: entered.map((e) => ({ name: e.custodian.name, shareIndex: e.custodian.shareIndex })),
      subsetsChecked: groups.length,
      commitmentVerified: true,
    };
    this.#log.info('quorum drill passed', { ceremony: report.ceremony, quorumId: report.quorumId, custodians: report.custodians.map((c) => c.name), subsetsChecked: report.subsetsChecked });
    return report;
  }

  /** Wipes every share held and ends the session (idempotent). */
  wipe(): void {
    for (const e of this.#entered) e.share.wipe();
    this.#entered = [];
    this.#spent = true;
  }

  #alive(): void {
    if (this.#spent) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', 'this activation session was already used or wiped; start a new one and enter the shares again');
  }

  #refused(e: unknown, custodian?: string): void {
    const code = e instanceof CoreError ? e.code : 'ERR_INTERNAL';
    this.#log.warn('custodian share refused', { ceremony: this.roster.ceremony, ...(custodian === undefined ? {} : { custodian }), code });
  }
}
