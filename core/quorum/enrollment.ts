/**
 * @module quorum/enrollment
 * Enrolment of a quorum: draws the random activation secret (from which both token PINs are
 * derived), splits it M-of-N, proves that every M-subset rebuilds it, then enrols custodians one at
 * a time: each types a passphrase twice, gets a new ECDSA P-256 approval key, and receives a
 * sealed, signed custodian file that is opened again with the same passphrase before it is handed
 * out. When all N are enrolled, {@link QuorumEnrollment.commitToToken} replaces the token's
 * temporary SO PIN and its user PIN with the PINs derived from the secret (so the security officer
 * cannot bypass the quorum); {@link QuorumEnrollment.finish} returns them to a caller that sets
 * them itself. After that the enrolment holds nothing.
 *
 * Used for the root ceremony (generation 1) and, through quorum/rotation, for every re-split.
 *
 * Must never: reveal the activation secret or a share except sealed in a custodian file, keep them
 * after finish() or abort(), or hand out a custodian file that did not open with its passphrase.
 */
import type { KeyObject } from 'node:crypto';

import { CoreError, InternalError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import { Secret } from '../util/secret.ts';
import { generateApprovalKey, openCustodianFile, sealCustodianFile, spkiOf, type CustodianFile, type RandomSource } from './custodian-file.ts';
import { checkNewPassphrase } from './passphrase.ts';
import { ROSTER_FORMAT, ROSTER_VERSION, type Roster, type RosterCustodian } from './roster.ts';
import { CUSTODIAN_NAME, CEREMONY_ID, nameKey, sha256 } from './schema.ts';
import type { ScryptParams } from './seal.ts';
import { scryptParamProblems } from './seal.ts';
import { ACTIVATION_SECRET_BYTES, activationCommitment, binomial, combineShares, deriveTokenPin, MAX_CUSTODIANS, shareCommitment, splitSecret, subsets } from './shares.ts';
import { setQuorumPins } from './token.ts';

/** Options of a new enrolment. */
export interface EnrollmentOptions {
  ceremony: string;
  /** M: custodians needed to open the token and to approve. */
  threshold: number;
  /** N: custodians enrolled. */
  total: number;
  now: Date;
  /** Randomness for the secret, quorum id, salts and nonces (see {@link mixedRandom}). */
  random: RandomSource;
  /** scrypt cost; production default when omitted. */
  kdf?: ScryptParams;
  log?: Logger;
  /** Set by rotation: the roster this enrolment replaces. */
  previous?: Roster;
}

/** Input for one custodian. */
export interface CustodianEnrollmentInput {
  name: string;
  passphrase: Secret;
  /** The passphrase typed a second time. */
  confirmation: Secret;
  /** An existing approval key to keep (tests, or a custodian who brings one); new when omitted. */
  approvalKey?: KeyObject;
}

/** The roster pin spec when the secret governs both token PINs (what enrolment on a token records). */
const GOVERNS_BOTH: Roster['pin'] = { encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user', 'so'] };
/** The roster pin spec when the caller keeps the SO PIN (finish() without governSoPin). */
const GOVERNS_USER: Roster['pin'] = { encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user'] };

/** Most M-subsets checked one by one at enrolment; above this a covering sample is checked. */
const MAX_SUBSET_CHECKS = 1000;

/**
 * An enrolment in progress. Create with {@link QuorumEnrollment.start}.
 */
export class QuorumEnrollment {
  readonly ceremony: string;
  readonly quorumId: string;
  readonly generation: number;
  readonly previousQuorumId: string | null;
  readonly threshold: number;
  readonly total: number;
  readonly createdAt: string;
  readonly activationCommitment: string;
  readonly #random: RandomSource;
  readonly #kdf: ScryptParams | undefined;
  readonly #log: Logger;
  #secret: Secret | null;
  #shares: Secret[];
  readonly #entries: RosterCustodian[] = [];
  #finished = false;
  #soPinChanged = false;

  private constructor(init: { options: EnrollmentOptions; quorumId: string; secret: Secret; shares: Secret[] }) {
    const o = init.options;
    this.ceremony = o.ceremony;
    this.quorumId = init.quorumId;
    this.generation = o.previous === undefined ? 1 : o.previous.generation + 1;
    this.previousQuorumId = o.previous === undefined ? null : o.previous.quorumId;
    this.threshold = o.threshold;
    this.total = o.total;
    this.createdAt = o.now.toISOString();
    this.#random = o.random;
    this.#kdf = o.kdf;
    this.#log = o.log ?? nullLogger;
    this.#secret = init.secret;
    this.#shares = init.shares;
    this.activationCommitment = activationCommitment(init.secret, o.ceremony, init.quorumId);
  }

  /**
   * Starts an enrolment: validates the parameters, draws the secret and splits it, and checks
   * that every M-subset of the shares rebuilds the secret.
   * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID
   */
  static async start(options: EnrollmentOptions): Promise<QuorumEnrollment> {
    const problems: string[] = [];
    if (!CEREMONY_ID.test(options.ceremony)) problems.push('the ceremony id must be 1-128 letters, digits, ".", "_", ":" or "-"');
    if (!Number.isInteger(options.total) || options.total < 2 || options.total > MAX_CUSTODIANS) problems.push(`N (custodians) must be between 2 and ${MAX_CUSTODIANS}`);
    if (!Number.isInteger(options.threshold) || options.threshold < 2 || options.threshold > options.total) problems.push('M (threshold) must be at least 2 and at most N');
    if (options.kdf !== undefined) problems.push(...scryptParamProblems(options.kdf).map((p) => `scrypt: ${p}`));
    if (options.previous !== undefined && options.previous.ceremony !== options.ceremony) problems.push('a rotation keeps the ceremony id of the roster it replaces');
    if (Number.isNaN(options.now.getTime())) problems.push('the enrolment time is not a valid date');
    if (problems.length > 0) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `cannot enrol this quorum: ${problems.join('; ')}`, { details: { problems } });

    const raw = options.random(ACTIVATION_SECRET_BYTES);
    if (raw.length !== ACTIVATION_SECRET_BYTES) throw new TypeError('the random source returned the wrong number of bytes');
    const secret = Secret.fromBytes(raw);
    const quorumId = options.random(16).toString('hex');
    const shares = await splitSecret(secret, options.total, options.threshold);
    try {
      await verifySplit(secret, shares, options.threshold);
    } catch (e) {
      secret.wipe();
      for (const s of shares) s.wipe();
      throw e;
    }
    const enrollment = new QuorumEnrollment({ options, quorumId, secret, shares });
    enrollment.#log.info('quorum enrolment started', { ceremony: options.ceremony, quorumId, generation: enrollment.generation, threshold: options.threshold, total: options.total });
    return enrollment;
  }

  /** Names enrolled so far, in share order. */
  get enrolled(): string[] {
    return this.#entries.map((e) => e.name);
  }

  /** Custodians still to enrol. */
  get remaining(): number {
    return this.total - this.#entries.length;
  }

  /**
   * Enrols the next custodian: checks the name and passphrase rules, creates (or takes) their
   * approval key, seals their share and key, opens the new file again with the passphrase to prove
   * it works, and returns it. The caller writes it to the custodian's medium. The passphrases are
   * not wiped here (the caller owns them).
   * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID (name invalid or repeated, all enrolled),
   *   ERR_QUORUM_PASSPHRASE_MISMATCH, ERR_QUORUM_PASSPHRASE_WEAK
   */
  async addCustodian(input: CustodianEnrollmentInput): Promise<CustodianFile> {
    this.#alive();
    if (this.remaining === 0) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `all ${this.total} custodians are enrolled already`);
    const name = input.name.normalize('NFC').trim();
    if (!CUSTODIAN_NAME.test(name)) {
      throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `the custodian name '${name}' is not usable: use 1-64 letters, digits, spaces, '.', '_', "'" or '-', starting with a letter or digit`);
    }
    if (this.#entries.some((e) => nameKey(e.name) === nameKey(name))) {
      throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `a custodian named '${name}' is already enrolled; names must be distinct`);
    }
    checkNewPassphrase(input.passphrase, input.confirmation, name);
    const approvalKey = input.approvalKey ?? generateApprovalKey();
    const keySha = sha256(spkiOf(approvalKey));
    if (this.#entries.some((e) => e.approvalKey.sha256 === keySha)) {
      throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `custodian '${name}' brought an approval key that another custodian already uses`);
    }
    const shareIndex = this.#entries.length + 1;
    const share = this.#shares[shareIndex - 1] as Secret;
    const header = {
      ceremony: this.ceremony,
      quorumId: this.quorumId,
      generation: this.generation,
      threshold: this.threshold,
      total: this.total,
      custodian: name,
      shareIndex,
      createdAt: this.createdAt,
      activationCommitment: this.activationCommitment,
    };
    const file = await sealCustodianFile({ header, share, approvalKey, passphrase: input.passphrase, random: this.#random, ...(this.#kdf === undefined ? {} : { kdf: this.#kdf }) });
    // Read-back proof: the file opens with the passphrase and yields exactly this share and key.
    const opened = await openCustodianFile(file, input.passphrase, { share: true, approvalKey: true });
    try {
      if (opened.share === undefined || !opened.share.equals(share) || opened.approvalKey === undefined || !spkiOf(opened.approvalKey).equals(spkiOf(approvalKey))) {
        throw new InternalError('a freshly sealed custodian file did not open to its own share');
      }
    } finally {
      opened.share?.wipe();
    }
    const spki = spkiOf(approvalKey);
    this.#entries.push({
      name,
      shareIndex,
      approvalKey: { alg: 'ECDSA-P256-SHA256', spki: spki.toString('base64'), sha256: sha256(spki) },
      shareCommitment: shareCommitment(share, { ceremony: this.ceremony, quorumId: this.quorumId, custodian: name, shareIndex }),
    });
    this.#log.info('custodian enrolled', { ceremony: this.ceremony, quorumId: this.quorumId, custodian: name, shareIndex, remaining: this.remaining });
    return file;
  }

  /**
   * The roster as {@link commitToToken} (and a rotation) will make it, once every custodian is
   * enrolled: the secret governs the user PIN and the SO PIN (throws before all are enrolled).
   */
  roster(): Roster {
    return this.#rosterWith(GOVERNS_BOTH);
  }

  #rosterWith(pin: Roster['pin']): Roster {
    if (this.remaining > 0) throw new CoreError('ERR_QUORUM_NOT_MET', `${this.remaining} of ${this.total} custodians are not enrolled yet`);
    return {
      format: ROSTER_FORMAT,
      version: ROSTER_VERSION,
      ceremony: this.ceremony,
      quorumId: this.quorumId,
      generation: this.generation,
      previousQuorumId: this.previousQuorumId,
      threshold: this.threshold,
      createdAt: this.createdAt,
      activationCommitment: this.activationCommitment,
      pin: { ...pin },
      custodians: this.#entries.map((e) => ({ ...e, approvalKey: { ...e.approvalKey } })),
    };
  }

  /** True once {@link commitToToken} changed the token's SO PIN (the custodian files must be kept). */
  get soPinChanged(): boolean {
    return this.#soPinChanged;
  }

  /**
   * Puts the token under this quorum and ends the enrolment: logged in as security officer with
   * `temporarySoPin` (the SO PIN the token was initialised with, ideally one that only ever existed
   * in memory: `initTokenWithTemporaryPins`), changes the SO PIN to the one derived from the
   * activation secret (C_SetPIN), sets the user PIN to the derived user PIN (C_InitPIN), and proves
   * both by logging in. Afterwards the temporary SO PIN opens nothing, and both PINs are reachable
   * only with M custodians. Returns the roster (which records that it governs both PINs).
   *
   * Write every custodian file and the roster ({@link roster}) BEFORE calling this. If the
   * temporary SO PIN is wrong or the token refuses before the SO PIN changed, nothing changed and
   * the enrolment stays open (call again with the right PIN, or {@link abort}); once the SO PIN
   * changed ({@link soPinChanged}), the enrolment is over whatever happens next, and if the user
   * PIN step failed, M custodians finish it with `ActivationSession.repairUserPin`.
   * The caller keeps ownership of `temporarySoPin` and wipes it. With `loginAsUser`, the session
   * is left logged in as user with the derived user PIN (for a ceremony that uses the token next,
   * so nobody has to hold the PIN); otherwise it is left logged out.
   * @throws {CoreError} ERR_QUORUM_NOT_MET (custodians missing), ERR_QUORUM_PARAMS_INVALID (ended),
   *   ERR_HSM_PIN_INCORRECT (wrong temporary SO PIN: nothing changed), ERR_HSM_FAILED, ERR_HSM_*
   */
  async commitToToken(session: HsmSession, options: { temporarySoPin: Secret; loginAsUser?: boolean }): Promise<{ roster: Roster; token: { label: string; serial: string } }> {
    this.#alive();
    const roster = this.#rosterWith(GOVERNS_BOTH);
    const secret = this.#secret as Secret;
    const userPin = deriveTokenPin(secret, 'user');
    const soPin = deriveTokenPin(secret, 'so');
    const state = { soPinChanged: false, userPinChanged: false };
    try {
      setQuorumPins(session, { currentSoPin: options.temporarySoPin, userPin, soPin }, state);
      if (options.loginAsUser === true) session.login(userPin);
    } catch (e) {
      if (!state.soPinChanged) throw e;
      this.#soPinChanged = true;
      this.#finished = true;
      this.wipe();
      throw new CoreError(
        'ERR_HSM_FAILED',
        `the token's security officer PIN now belongs to quorum ${roster.quorumId}, but ${state.userPinChanged ? 'proving the new PINs' : 'setting the user PIN'} failed: keep every custodian file and the roster. ${roster.threshold} custodians can finish with a user-PIN repair (ActivationSession.repairUserPin)`,
        { cause: e, details: { quorumId: roster.quorumId, userPinChanged: state.userPinChanged } },
      );
    } finally {
      userPin.wipe();
      soPin.wipe();
    }
    this.#soPinChanged = true;
    this.#finished = true;
    this.wipe();
    this.#log.info('quorum enrolment committed to the token: user and SO PINs derived from the activation secret', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation, tokenLabel: session.token.label });
    return { roster, token: { label: session.token.label, serial: session.token.serial } };
  }

  /**
   * Ends the enrolment and returns the roster and the token PINs for the caller to set, then wipes
   * the secret and the shares. Prefer {@link commitToToken}, which sets both PINs itself.
   *
   * - Default: returns the derived user PIN only, and a roster recording that the security officer
   *   PIN is NOT governed by the quorum (`pin.pins: ["user"]`): whoever knows the SO PIN can reset
   *   the user PIN and bypass the quorum, and a later rotation needs that SO PIN.
   * - `{ governSoPin: true }`: also returns the derived SO PIN; the caller must change the token's
   *   SO PIN to it (C_SetPIN while logged in as SO) as well as set the user PIN (C_InitPIN), and
   *   the roster records that both are governed.
   * The caller wipes the PINs.
   * @throws {CoreError} ERR_QUORUM_NOT_MET when custodians are missing
   */
  finish(): { roster: Roster; pin: Secret };
  finish(options: { governSoPin: true }): { roster: Roster; pin: Secret; soPin: Secret };
  finish(options?: { governSoPin?: boolean }): { roster: Roster; pin: Secret; soPin?: Secret };
  finish(options: { governSoPin?: boolean } = {}): { roster: Roster; pin: Secret; soPin?: Secret } {
    this.#alive();
    const both = options.governSoPin === true;
    const roster = this.#rosterWith(both ? GOVERNS_BOTH : GOVERNS_USER);
    const secret = this.#secret as Secret;
    const pin = deriveTokenPin(secret, 'user');
    const soPin = both ? deriveTokenPin(secret, 'so') : undefined;
    this.#finished = true;
    this.wipe();
    if (both) this.#log.info('quorum enrolment finished', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation });
    else this.#log.warn('quorum enrolment finished without governing the security officer PIN; whoever knows it can bypass the quorum', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation });
    return soPin === undefined ? { roster, pin } : { roster, pin, soPin };
  }

  /** Abandons the enrolment and wipes everything; files already handed out become useless. */
  abort(): void {
    this.#finished = true;
    this.wipe();
  }

  /** Wipes the secret and shares (idempotent). */
  wipe(): void {
    this.#secret?.wipe();
    this.#secret = null;
    for (const s of this.#shares) s.wipe();
    this.#shares = [];
  }

  #alive(): void {
    if (this.#finished || this.#secret === null) throw new CoreError('ERR_QUORUM_PARAMS_INVALID', 'this enrolment has ended; start a new one');
  }
}

/** Proves the split: every M-subset (or, above 1000 subsets, a sample covering every share) rebuilds the secret. */
async function verifySplit(secret: Secret, shares: Secret[], threshold: number): Promise<void> {
  const n = shares.length;
  const groups: number[][] = [];
  if (binomial(n, threshold) <= MAX_SUBSET_CHECKS) {
    for (const g of subsets(n, threshold)) groups.push(g);
  } else {
    for (let start = 0; start < n; start++) groups.push(Array.from({ length: threshold }, (_, i) => (start + i) % n));
  }
  for (const g of groups) {
    const rebuilt = await combineShares(g.map((i) => shares[i] as Secret));
    const ok = rebuilt.equals(secret);
    rebuilt.wipe();
    if (!ok) throw new InternalError('a quorum subset did not rebuild the activation secret');
  }
}

/**
 * A random source that XORs the host CSPRNG with the HSM's RNG, so the activation secret is
 * unpredictable if either generator is sound (the ceremony passes `(n) => session.random(n)`).
 */
export function mixedRandom(hostRandom: RandomSource, hsmRandom: RandomSource): RandomSource {
  return (n) => {
    const a = hostRandom(n);
    const b = hsmRandom(n);
    if (a.length !== n || b.length !== n) throw new TypeError('a random source returned the wrong number of bytes');
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = (a[i] as number) ^ (b[i] as number);
    a.fill(0);
    b.fill(0);
    return out;
  };
}
