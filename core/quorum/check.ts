/**
 * @module quorum/check
 * The quorum check that sits between preparing a to-be-signed object and asking the HSM to sign
 * it: M distinct enrolled custodians, each with an unexpired, correctly signed approval of
 * exactly these TBS bytes, and no standing decline. {@link signWithQuorum} wraps the HSM call:
 * check first (the quorum, and that the prepared object is the approved bytes: a refusal makes no
 * signature and records nothing), sign with the approved digest handed on to the signer, then
 * compare the issued object's TBS with the approved bytes (the Boulder invariant), byte for byte.
 *
 * Every approval presented is verified; any bad one refuses the whole check with its own code
 * (the first in input order), and the message lists every finding, so an operator never signs
 * while something suspicious sits among the approvals.
 *
 * Must never: call the signer before the check passed, count a custodian twice, or return a
 * signed object whose TBS differs from the approved bytes.
 */
import { CoreError, formatProblems, type CoreErrorCode } from '../errors.ts';
import { nullLogger, type Logger } from '../log/logger.ts';
import { constantTimeEqual } from '../util/secret.ts';
import { verifyApproval, type Approval, type ApprovalTarget, type VerifiedApproval } from './approval.ts';
import { rosterDigest, type Roster } from './roster.ts';
import { sha256 } from './schema.ts';
import { extractSignedTbs } from './tbs.ts';

/** One approval presented to the check: parsed, or file bytes with a name for messages. */
export type PresentedApproval = Approval | { bytes: Uint8Array | string; source: string };

/** Why one presented approval does not count. */
export interface ApprovalFinding {
  /** Position in the presented list (0-based). */
  index: number;
  source?: string;
  custodian?: string;
  code: CoreErrorCode;
  message: string;
}

/** Result of {@link evaluateApprovals}: what counts and what does not. */
export interface ApprovalEvaluation {
  /** Approvals that count, with their position in the presented list. */
  accepted: Array<VerifiedApproval & { index: number }>;
  findings: ApprovalFinding[];
}

/** A passed quorum check (public; suitable for the transcript). */
export interface QuorumDecision {
  ceremony: string;
  quorumId: string;
  generation: number;
  rosterSha256: string;
  operation: string;
  tbsSha256: string;
  threshold: number;
  decidedAt: string;
  approvals: Array<{ custodian: string; shareIndex: number; approvedAt: string; expiresAt: string; publicKeySha256: string }>;
}

/**
 * Verifies every presented approval and reports, without throwing, which count and why the others
 * do not (for a UI that shows each import as it arrives).
 */
export function evaluateApprovals(roster: Roster, target: ApprovalTarget, presented: readonly PresentedApproval[], now: Date): ApprovalEvaluation {
  const accepted: Array<VerifiedApproval & { index: number }> = [];
  const findings: ApprovalFinding[] = [];
  presented.forEach((p, index) => {
    const source = 'bytes' in p ? p.source : undefined;
    try {
      const v = verifyApproval(roster, target, 'bytes' in p ? p.bytes : p, now, source);
      if (accepted.some((a) => a.shareIndex === v.shareIndex)) {
        findings.push({
          index,
          ...(source === undefined ? {} : { source }),
          custodian: v.custodian,
          code: 'ERR_QUORUM_APPROVAL_DUPLICATE',
          message: `custodian '${v.custodian}' approved more than once${source === undefined ? '' : ` (${source})`}; each custodian counts once. Remove the extra approval`,
        });
        return;
      }
      accepted.push({ ...v, index });
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      const custodian = typeof e.details?.['custodian'] === 'string' ? e.details['custodian'] : undefined;
      findings.push({ index, ...(source === undefined ? {} : { source }), ...(custodian === undefined ? {} : { custodian }), code: e.code, message: e.message });
    }
  });
  return { accepted, findings };
}

/**
 * The quorum check: every presented approval must be valid, and at least M distinct enrolled
 * custodians must approve exactly `target`.
 * @throws {CoreError} the first finding's code (ERR_QUORUM_APPROVAL_WRONG_TBS,
 *   ERR_QUORUM_APPROVAL_EXPIRED, ERR_QUORUM_APPROVAL_NOT_ENROLLED, ERR_QUORUM_APPROVAL_DUPLICATE,
 *   ERR_QUORUM_APPROVAL_SIGNATURE_INVALID, ERR_QUORUM_APPROVAL_DECLINED, ERR_QUORUM_APPROVAL_INVALID,
 *   ERR_INPUT_TOO_LARGE) with all findings listed, or ERR_QUORUM_NOT_MET
 */
export function checkQuorum(roster: Roster, target: ApprovalTarget, presented: readonly PresentedApproval[], now: Date, log: Logger = nullLogger): QuorumDecision {
  const { accepted, findings } = evaluateApprovals(roster, target, presented, now);
  const first = findings[0];
  if (first !== undefined) {
    log.warn('quorum check refused', { ceremony: roster.ceremony, operation: target.operation, tbsSha256: target.tbsSha256, codes: findings.map((f) => f.code) });
    const list = formatProblems(findings.map((f) => ({ path: `approval ${f.index + 1}${f.source === undefined ? '' : ` (${f.source})`}`, message: `[${f.code}] ${f.message}` })));
    throw new CoreError(
      first.code,
      findings.length === 1 ? `${first.message}. Nothing was signed` : `${findings.length} of the ${presented.length} approvals do not count; nothing was signed:\n${list}`,
      { details: { findings: findings.map((f) => ({ index: f.index, source: f.source ?? null, custodian: f.custodian ?? null, code: f.code })) } },
    );
  }
  if (accepted.length < roster.threshold) {
    const approvedBy = accepted.map((a) => a.custodian);
    const missing = roster.custodians.filter((c) => !approvedBy.includes(c.name)).map((c) => c.name);
    log.warn('quorum not met', { ceremony: roster.ceremony, operation: target.operation, have: accepted.length, threshold: roster.threshold });
    throw new CoreError(
      'ERR_QUORUM_NOT_MET',
      `${accepted.length} of ${roster.threshold} required custodians approved this ${target.operation} (TBS SHA-256 ${target.tbsSha256})${approvedBy.length === 0 ? '' : ` (${approvedBy.join(', ')})`}; ${roster.threshold - accepted.length} more needed from: ${missing.join(', ')}. Nothing was signed`,
      { details: { have: accepted.length, threshold: roster.threshold, sharesNeeded: roster.threshold - accepted.length } },
    );
  }
  const decision: QuorumDecision = {
    ceremony: roster.ceremony,
    quorumId: roster.quorumId,
    generation: roster.generation,
    rosterSha256: rosterDigest(roster),
    operation: target.operation,
    tbsSha256: target.tbsSha256.toLowerCase(),
    threshold: roster.threshold,
    decidedAt: now.toISOString(),
    approvals: accepted.map((a) => ({ custodian: a.custodian, shareIndex: a.shareIndex, approvedAt: a.approvedAt, expiresAt: a.expiresAt, publicKeySha256: a.publicKeySha256 })),
  };
  log.info('quorum check passed', { ceremony: roster.ceremony, operation: target.operation, tbsSha256: decision.tbsSha256, custodians: decision.approvals.map((a) => a.custodian) });
  return decision;
}

/** The bytes a prepared certificate or CRL (core/ca) will sign, as far as the quorum check needs them. */
export interface PreparedBytes {
  readonly tbsDer: Uint8Array;
  readonly tbsSha256: string;
}

/** What {@link signWithQuorum} hands the signer besides the approved bytes. */
export interface SignGuard {
  /**
   * SHA-256 (hex) of the approved bytes: pass it to `signPrepared` as `expectTbsSha256`, so that it
   * refuses other bytes before the HSM signs and before anything is recorded.
   */
  expectTbsSha256: string;
}

/** Input to {@link signWithQuorum}. */
export interface SignWithQuorumInput<T> {
  roster: Roster;
  operation: string;
  /**
   * The exact to-be-signed bytes (tbsCertificate or tbsCertList DER) the quorum reviewed. Optional
   * when `prepared` is given (its bytes are then the approved ones); when both are given they must
   * be equal.
   */
  tbsDer?: Uint8Array;
  /**
   * The prepared certificate or CRL about to be signed. Checked BEFORE the signer is called: its
   * bytes must be the approved bytes and hash to its own digest; otherwise nothing is signed.
   */
  prepared?: PreparedBytes;
  /** When given, approvals must carry exactly this subject summary. */
  subject?: string;
  approvals: readonly PresentedApproval[];
  now: Date;
  /**
   * Performs the HSM signature, called only after every check passed, e.g.
   * `(_tbs, guard) => signPrepared(prepared, signer, { …, expectTbsSha256: guard.expectTbsSha256 })`.
   */
  sign: (approvedTbs: Buffer, guard: SignGuard) => T | Promise<T>;
  /** The DER of the signed certificate or CRL inside the signer's result. */
  signedDer: (result: T) => Uint8Array;
  log?: Logger;
}

function tbsMismatch(message: string, details: Record<string, unknown>): CoreError {
  return new CoreError('ERR_PKI_TBS_MISMATCH', message, { details });
}

/**
 * Checks, before anything is signed, that the prepared object is the approved bytes.
 * @throws {CoreError} ERR_PKI_TBS_MISMATCH
 */
function checkPreparedIsApproved(approved: Buffer, approvedSha256: string, prepared: PreparedBytes, operation: string): void {
  const bytes = Buffer.from(prepared.tbsDer.buffer, prepared.tbsDer.byteOffset, prepared.tbsDer.byteLength);
  const actual = sha256(bytes);
  if (actual !== prepared.tbsSha256.toLowerCase()) {
    throw tbsMismatch(`the prepared ${operation} changed after it was prepared (its bytes hash to ${actual}, it claims ${prepared.tbsSha256}); nothing was signed. Prepare it again`, { actual, prepared: prepared.tbsSha256 });
  }
  if (!(bytes.length === approved.length && constantTimeEqual(bytes, approved))) {
    throw tbsMismatch(`the prepared ${operation} (TBS SHA-256 ${actual}) is not the one the quorum approved (TBS SHA-256 ${approvedSha256}); nothing was signed. Sign the approved object, or ask for approval of this one`, {
      approvedTbsSha256: approvedSha256,
      preparedTbsSha256: actual,
    });
  }
}

/**
 * Checks the quorum and that the prepared object (when given) is the approved bytes, signs, and
 * proves that the issued object's TBS equals the approved bytes. Every check that can be made
 * before the HSM call is made before it; the signer receives the approved digest to pass on.
 * @throws {CoreError} everything {@link checkQuorum} throws and ERR_PKI_TBS_MISMATCH before signing
 *   (then no signature was made), ERR_PKI_TBS_MISMATCH after signing (the signed object differs
 *   from what was approved: do not use it), ERR_PKI_DER_INVALID, and whatever `sign` throws
 */
export async function signWithQuorum<T>(input: SignWithQuorumInput<T>): Promise<{ result: T; decision: QuorumDecision }> {
  const log = input.log ?? nullLogger;
  const source = input.tbsDer ?? input.prepared?.tbsDer;
  if (source === undefined) throw new TypeError('signWithQuorum needs the approved bytes: tbsDer or prepared');
  const approved = Buffer.from(source);
  const target: ApprovalTarget = { operation: input.operation, tbsSha256: sha256(approved), ...(input.subject === undefined ? {} : { subject: input.subject }) };
  const decision = checkQuorum(input.roster, target, input.approvals, input.now, log);
  if (input.prepared !== undefined) checkPreparedIsApproved(approved, target.tbsSha256, input.prepared, input.operation);
  const result = await input.sign(Buffer.from(approved), { expectTbsSha256: target.tbsSha256 });
  const issued = extractSignedTbs(input.signedDer(result), `the signed ${input.operation} result`);
  if (!(issued.length === approved.length && constantTimeEqual(issued, approved))) {
    log.error('issued TBS differs from the approved TBS', { ceremony: input.roster.ceremony, operation: input.operation, approvedTbsSha256: target.tbsSha256, issuedTbsSha256: sha256(issued) });
    throw new CoreError(
      'ERR_PKI_TBS_MISMATCH',
      `the signed object's to-be-signed bytes (SHA-256 ${sha256(issued)}) differ from the bytes the quorum approved (SHA-256 ${target.tbsSha256}); the result must not be used or published`,
      { details: { approvedTbsSha256: target.tbsSha256, issuedTbsSha256: sha256(issued) } },
    );
  }
  log.info('signed with quorum approval; issued TBS equals approved TBS', { ceremony: input.roster.ceremony, operation: input.operation, tbsSha256: target.tbsSha256 });
  return { result, decision };
}
