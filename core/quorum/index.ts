/**
 * @module quorum
 * Public surface of the quorum domain: M-of-N custodians who (1) together open the root token,
 * whose PIN is a random secret split with Shamir's scheme and sealed per custodian under their
 * passphrase, and (2) approve the exact bytes the root key signs, with signed approval statements
 * checked before the HSM is asked to sign. docs/quorum.md describes the formats and the flows.
 */
export { ActivationSession, type ActivationOptions, type ActivationProgress, type DrillReport } from './activation.ts';
export {
  APPROVAL_FORMAT,
  APPROVAL_REQUEST_FORMAT,
  APPROVAL_STATEMENT_TYPE,
  APPROVAL_VERSION,
  CLOCK_SKEW_MS,
  DEFAULT_APPROVAL_VALIDITY_MS,
  KNOWN_OPERATIONS,
  MAX_APPROVAL_VALIDITY_MS,
  approvalTargetOf,
  createApprovalRequest,
  parseApproval,
  parseApprovalRequest,
  serializeApproval,
  serializeApprovalRequest,
  signApproval,
  statementBytes,
  verifyApproval,
  type Approval,
  type ApprovalRequest,
  type ApprovalRequestInput,
  type ApprovalStatement,
  type ApprovalTarget,
  type SignApprovalInput,
  type VerifiedApproval,
} from './approval.ts';
export { checkQuorum, evaluateApprovals, signWithQuorum, type ApprovalEvaluation, type ApprovalFinding, type PreparedBytes, type PresentedApproval, type QuorumDecision, type SignGuard, type SignWithQuorumInput } from './check.ts';
export { operationOf, signPreparedWithQuorum, type SignPreparedWithQuorumInput } from './sign-prepared.ts';
export {
  CUSTODIAN_FILE_FORMAT,
  CUSTODIAN_FILE_VERSION,
  checkCustodianFileTrust,
  custodianFileHeader,
  custodianFileSignatureValid,
  custodianSigner,
  generateApprovalKey,
  normalizeApprovalKeySha256,
  openCustodianFile,
  parseCustodianFile,
  serializeCustodianFile,
  type CustodianFile,
  type CustodianFileHeader,
  type CustodianFileTrust,
  type OpenedCustodianFile,
  type RandomSource,
} from './custodian-file.ts';
export { mixedRandom, QuorumEnrollment, type CustodianEnrollmentInput, type EnrollmentOptions } from './enrollment.ts';
export { changeCustodianPassphrase } from './passphrase-change.ts';
export { checkNewPassphrase, MIN_PASSPHRASE_CHARS } from './passphrase.ts';
export { checkCustodianFile, parseRoster, rosterCustodian, rosterDigest, rosterGovernsSoPin, serializeRoster, ROSTER_FORMAT, type Roster, type RosterCustodian } from './roster.ts';
export { beginRotation, QuorumRotation, type RotationOptions, type RotationResult } from './rotation.ts';
export { DEFAULT_SCRYPT, SCRYPT_BOUNDS, type ScryptParams } from './seal.ts';
export { activationPin, ACTIVATION_SECRET_BYTES, deriveTokenPin, governsSoPin, TOKEN_PIN_LABELS, tokenPinsFor, type PinSpec, type TokenPinRole } from './shares.ts';
export { initTokenWithTemporaryPins, setQuorumPins, type PinChangeState } from './token.ts';
export { describeTbs, escapeUnsafeText, extractSignedTbs, type TbsDescription, type TbsField } from './tbs.ts';
export { digestWords, formatDigestWords, PGP_EVEN_WORDS, PGP_ODD_WORDS, PGP_WORD_LIST_SHA256 } from './words.ts';

export { QUORUM_MIGRATIONS, QuorumStore, type RosterStatus } from './store.ts';
