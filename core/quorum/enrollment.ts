/**
 * @module quorum/enrollment
 * Enrolment of a quorum: draws the random activation secret (the future token user PIN), splits it
 * M-of-N, proves that every M-subset rebuilds it, then enrols custodians one at a time: each types
 * a passphrase twice, gets a new ECDSA P-256 approval key, and receives a sealed, signed custodian
 * file that is opened again with the same passphrase before it is handed out. When all N are
 * enrolled, {@link QuorumEnrollment.finish} returns the public roster and the PIN for the token;
 * after that the enrolment holds nothing.
 *
 * Used for the root ceremony (generation 1) and, through quorum/rotation, for every re-split.
 *
 * Must never: reveal the activation secret or a share except sealed in a custodian file, keep them
 * after finish() or abort(), or hand out a custodian file that did not open with its passphrase.
 */
import type { KeyObject } from 'node:crypto';

import { CoreError, InternalError } from '../errors.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import { Secret } from '../util/secret.ts';
import { generateApprovalKey, openCustodianFile, sealCustodianFile, spkiOf, type CustodianFile, type RandomSource } from './custodian-file.ts';
import { checkNewPassphrase } from './passphrase.ts';
import { ROSTER_FORMAT, ROSTER_VERSION, type Roster, type RosterCustodian } from './roster.ts';
import { CUSTODIAN_NAME, CEREMONY_ID, nameKey, sha256 } from './schema.ts';
import type { ScryptParams } from './seal.ts';
import { scryptParamProblems } from './seal.ts';
import { ACTIVATION_SECRET_BYTES, activationCommitment, activationPin, binomial, combineShares, MAX_CUSTODIANS, shareCommitment, splitSecret, subsets } from './shares.ts';

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

  /** The roster as it will be once every custodian is enrolled (throws before that). */
  roster(): Roster {
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
      pin: { encoding: 'base64url', secretBytes: 32 },
      custodians: this.#entries.map((e) => ({ ...e, approvalKey: { ...e.approvalKey } })),
    };
  }

  /**
   * Ends the enrolment: returns the roster and the token user PIN (the encoded activation secret),
   * and wipes the secret and the shares. The caller sets the PIN on the token (C_InitPIN at the
   * root ceremony; C_SetPIN in a rotation), then wipes it.
   * @throws {CoreError} ERR_QUORUM_NOT_MET when custodians are missing
   */
  finish(): { roster: Roster; pin: Secret } {
    this.#alive();
    const roster = this.roster();
    const pin = activationPin(this.#secret as Secret);
    this.#finished = true;
    this.wipe();
    this.#log.info('quorum enrolment finished', { ceremony: roster.ceremony, quorumId: roster.quorumId, generation: roster.generation });
    return { roster, pin };
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
