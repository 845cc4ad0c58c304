/**
 * @module quorum/sign-prepared
 * The one call a ceremony makes to sign a prepared certificate or CRL (core/ca) with the root key
 * under quorum approval: the approved bytes ARE the prepared object's bytes (they cannot be mixed
 * up), the quorum is checked, the approved digest goes to `signPrepared` as `expectTbsSha256`
 * (which re-checks it before the HSM signs and before anything is recorded), and the issued
 * object's TBS is compared with the approved bytes afterwards.
 *
 * Must never: call `signPrepared` before the quorum check passed, or without the approved digest.
 */
import type { Signer } from '../crypto/signer.ts';
import { CoreError } from '../errors.ts';
import { signPrepared, type IssuedCertificate, type IssuedCrl, type SignOptions } from '../ca/sign.ts';
import type { Prepared, PreparedCertificate, PreparedCrl } from '../ca/prepare.ts';
import type { Logger } from '../log/logger.ts';
import { signWithQuorum, type PresentedApproval, type QuorumDecision } from './check.ts';
import type { Roster } from './roster.ts';

/** Input to {@link signPreparedWithQuorum}. */
export interface SignPreparedWithQuorumInput<P extends Prepared> {
  roster: Roster;
  /** The prepared object the quorum approved (its exact bytes are what the approvals name). */
  prepared: P;
  /**
   * The operation the approvals name; default from the object: `sign-crl` for a CRL,
   * `sign-root-certificate` for a root profile, `sign-intermediate` otherwise.
   */
  operation?: string;
  /** When given, approvals must carry exactly this subject summary. */
  subject?: string;
  approvals: readonly PresentedApproval[];
  /** The signing time (also `signPrepared`'s `now`). */
  now: Date;
  /** The root key, e.g. `hsmSigner(session, rootKey, prepared.signatureAlgorithm)`. */
  signer: Signer;
  /** `signPrepared` options other than `now` and `expectTbsSha256`, which this function sets. */
  options: Omit<SignOptions, 'now' | 'expectTbsSha256'>;
  log?: Logger;
}

/** The operation name approvals use for a prepared object. */
export function operationOf(prepared: Prepared): string {
  if (prepared.kind === 'crl') return 'sign-crl';
  return prepared.profile.role === 'root' ? 'sign-root-certificate' : 'sign-intermediate';
}

/**
 * Checks the quorum for the prepared object's exact bytes, signs it with `signPrepared` (given the
 * approved digest), and proves the issued TBS equals the approved bytes.
 * @throws {CoreError} ERR_QUORUM_PARAMS_INVALID (an operation that does not fit the object), every
 *   code of `checkQuorum` and `signPrepared` (nothing signed), ERR_PKI_TBS_MISMATCH
 */
export async function signPreparedWithQuorum(input: SignPreparedWithQuorumInput<PreparedCertificate>): Promise<{ result: IssuedCertificate; decision: QuorumDecision }>;
export async function signPreparedWithQuorum(input: SignPreparedWithQuorumInput<PreparedCrl>): Promise<{ result: IssuedCrl; decision: QuorumDecision }>;
export async function signPreparedWithQuorum(input: SignPreparedWithQuorumInput<Prepared>): Promise<{ result: IssuedCertificate | IssuedCrl; decision: QuorumDecision }>;
export async function signPreparedWithQuorum(input: SignPreparedWithQuorumInput<Prepared>): Promise<{ result: IssuedCertificate | IssuedCrl; decision: QuorumDecision }> {
  const { prepared } = input;
  const natural = operationOf(prepared);
  const operation = input.operation ?? natural;
  if ((prepared.kind === 'crl') !== (operation === 'sign-crl')) {
    throw new CoreError('ERR_QUORUM_PARAMS_INVALID', `the operation '${operation}' does not fit a prepared ${prepared.kind === 'crl' ? 'CRL' : 'certificate'} (expected '${natural}'); nothing was signed`);
  }
  return signWithQuorum({
    roster: input.roster,
    operation,
    prepared,
    approvals: input.approvals,
    now: input.now,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    ...(input.log === undefined ? {} : { log: input.log }),
    sign: (_approvedTbs, guard) => signPrepared(prepared, input.signer, { ...input.options, now: input.now, expectTbsSha256: guard.expectTbsSha256 }),
    signedDer: (issued) => issued.der,
  });
}
