/**
 * @module quorum/approval
 * Approval of exact content. An approval request (format `neam-ca/approval-request`) carries what a
 * custodian reviews: the operation, a subject summary, the decoded fields, the SHA-256 of the exact
 * to-be-signed bytes (and the bytes themselves, so the custodian's machine can hash and decode
 * them on its own), the digest as PGP words, and an expiry. A custodian answers with an approval
 * (format `neam-ca/approval`): an approval statement in RFC 8785 canonical JSON
 * `{type, version, requestId, ceremony, quorumId, operation, subject, tbsSha256, decision,
 * approvedAt, expiresAt, custodian}` and an ECDSA P-256 signature over it by the custodian's
 * approval key. A decision is `approve` or `decline`; both are signed.
 *
 * {@link verifyApproval} checks one approval against the roster and the content about to be signed,
 * and names each failure with its own code. docs/quorum.md specifies the formats.
 *
 * Must never: show a reviewer text that can move the cursor, reorder characters or hide content
 * (control and bidirectional-override characters are refused in every displayed field), or
 * accept an approval whose signature, key, digest or time is not exactly right.
 */
import type { KeyObject } from 'node:crypto';

import { z } from 'zod';

import { CoreError } from '../errors.ts';
import { softwareSigner, verifySignature } from '../crypto/signer.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { spkiOf, type CustodianFile, type RandomSource } from './custodian-file.ts';
import { rosterCustodian, rosterCustodianByKey, type Roster } from './roster.ts';
import { base64Bytes, ceremonyId, custodianName, hexBytes, isoTime, nameKey, parseDocument, quorumId, sha256, sha256Hex } from './schema.ts';
import { MAX_CUSTODIANS } from './shares.ts';
import { describeTbs, MAX_TBS_BYTES, UNSAFE_TEXT_CHARS, type TbsField } from './tbs.ts';
import { digestWords } from './words.ts';

/** `format` of an approval request. */
export const APPROVAL_REQUEST_FORMAT = 'neam-ca/approval-request';
/** `format` of an approval file. */
export const APPROVAL_FORMAT = 'neam-ca/approval';
/** `type` of the signed statement. */
export const APPROVAL_STATEMENT_TYPE = 'neam-ca/approval-statement';
/** Version of all three. */
export const APPROVAL_VERSION = 1;
/** Default time a request (and the approvals for it) stays valid. */
export const DEFAULT_APPROVAL_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** Longest validity a request or approval may have. */
export const MAX_APPROVAL_VALIDITY_MS = 30 * 24 * 60 * 60 * 1000;
/** Tolerated clock difference between a custodian's machine and the ceremony workstation. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Largest approval request file (the TBS dominates; base64 grows it by a third). */
export const MAX_REQUEST_BYTES = Math.ceil((MAX_TBS_BYTES * 4) / 3) + 256 * 1024;
/** Largest approval file. */
export const MAX_APPROVAL_BYTES = 16 * 1024;
/** Operations the ceremony asks approval for (others must match the same pattern). */
export const KNOWN_OPERATIONS = ['sign-root-certificate', 'sign-intermediate', 'sign-crl'] as const;

/** Display-safe text (see {@link UNSAFE_TEXT_CHARS}). */
const SAFE_TEXT = new RegExp(`^[^${UNSAFE_TEXT_CHARS}]*$`, 'u');
const safeText = (min: number, max: number): z.ZodString => z.string().min(min).max(max).regex(SAFE_TEXT, 'must not contain control or bidirectional-override characters');

const operation = z.string().regex(/^[a-z][a-z0-9-]{1,63}$/u, 'must be a lower-case operation name such as sign-intermediate');

/** Schema of an approval request. */
export const approvalRequestSchema = z
  .strictObject({
    format: z.literal(APPROVAL_REQUEST_FORMAT),
    version: z.literal(APPROVAL_VERSION),
    requestId: hexBytes(16),
    ceremony: ceremonyId,
    quorumId,
    generation: z.int().min(1).max(1_000_000),
    threshold: z.int().min(2).max(MAX_CUSTODIANS),
    custodians: z.array(custodianName).min(2).max(MAX_CUSTODIANS),
    operation,
    subject: safeText(1, 512),
    fields: z.array(z.strictObject({ label: safeText(1, 128), value: safeText(0, 2048) })).max(300),
    tbsSha256: sha256Hex,
    tbs: base64Bytes(2, MAX_TBS_BYTES).optional(),
    words: z.array(z.string().max(16)).length(32),
    createdAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine((r, ctx) => {
    if (r.tbs !== undefined && sha256(Buffer.from(r.tbs, 'base64')) !== r.tbsSha256) ctx.addIssue({ code: 'custom', path: ['tbsSha256'], message: 'is not the SHA-256 of tbs' });
    const words = digestWords(r.tbsSha256);
    if (r.words.length !== words.length || r.words.some((w, i) => w !== words[i])) ctx.addIssue({ code: 'custom', path: ['words'], message: 'are not the PGP words of tbsSha256' });
    const life = Date.parse(r.expiresAt) - Date.parse(r.createdAt);
    if (!(life > 0 && life <= MAX_APPROVAL_VALIDITY_MS)) ctx.addIssue({ code: 'custom', path: ['expiresAt'], message: 'must be after createdAt and at most 30 days later' });
    if (r.threshold > r.custodians.length) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'must not exceed the number of custodians' });
  });

/** An approval request. */
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;

/** Schema of the signed approval statement. */
export const approvalStatementSchema = z.strictObject({
  type: z.literal(APPROVAL_STATEMENT_TYPE),
  version: z.literal(APPROVAL_VERSION),
  requestId: hexBytes(16),
  ceremony: ceremonyId,
  quorumId,
  operation,
  subject: safeText(1, 512),
  tbsSha256: sha256Hex,
  decision: z.enum(['approve', 'decline']),
  approvedAt: isoTime,
  expiresAt: isoTime,
  custodian: custodianName,
});

/** The statement a custodian signs. */
export type ApprovalStatement = z.infer<typeof approvalStatementSchema>;

/** Schema of an approval file. */
export const approvalSchema = z.strictObject({
  format: z.literal(APPROVAL_FORMAT),
  version: z.literal(APPROVAL_VERSION),
  statement: approvalStatementSchema,
  signature: z.strictObject({
    alg: z.literal('ECDSA-SHA256'),
    /** SPKI of the signing key (base64), so a non-enrolled key can be named. */
    publicKey: base64Bytes(91, 91),
    value: base64Bytes(8, 72),
  }),
});

/** An approval (statement plus signature). */
export type Approval = z.infer<typeof approvalSchema>;

/** What the quorum must approve: the operation, the exact TBS digest and, when known, the subject summary. */
export interface ApprovalTarget {
  operation: string;
  tbsSha256: string;
  /** When given, approvals must carry exactly this summary. */
  subject?: string;
}

/** Input to {@link createApprovalRequest}: plain data from the PKI engine's prepared object. */
export interface ApprovalRequestInput {
  roster: Roster;
  operation: string;
  /** One-line summary (e.g. the subject DN); defaults to the local decode's summary. */
  subject?: string;
  /** Decoded fields for review; defaults to the local decode of `tbsDer`. */
  fields?: readonly TbsField[];
  /** The exact to-be-signed bytes (preferred: custodians can then check and decode them). */
  tbsDer?: Uint8Array;
  /** The TBS SHA-256 in hex, when the bytes are not sent. */
  tbsSha256?: string;
  now: Date;
  validForMs?: number;
  random: RandomSource;
}

/**
 * Builds an approval request for exact TBS bytes (or a digest).
 * @throws {CoreError} ERR_QUORUM_APPROVAL_WRONG_TBS (digest and bytes disagree),
 *   ERR_QUORUM_APPROVAL_INVALID (bad operation, subject, fields or validity), ERR_PKI_DER_INVALID
 */
export function createApprovalRequest(input: ApprovalRequestInput): ApprovalRequest {
  const tbs = input.tbsDer === undefined ? undefined : Buffer.from(input.tbsDer);
  const digest = tbs === undefined ? input.tbsSha256 : sha256(tbs);
  if (digest === undefined) throw new TypeError('createApprovalRequest needs tbsDer or tbsSha256');
  if (tbs !== undefined && input.tbsSha256 !== undefined && input.tbsSha256.toLowerCase() !== digest) {
    throw new CoreError('ERR_QUORUM_APPROVAL_WRONG_TBS', 'the TBS SHA-256 given for the request is not the SHA-256 of the TBS bytes; the request was not created');
  }
  const described = tbs === undefined ? undefined : describeTbs(tbs);
  const validFor = input.validForMs ?? DEFAULT_APPROVAL_VALIDITY_MS;
  const request = {
    format: APPROVAL_REQUEST_FORMAT,
    version: APPROVAL_VERSION,
    requestId: input.random(16).toString('hex'),
    ceremony: input.roster.ceremony,
    quorumId: input.roster.quorumId,
    generation: input.roster.generation,
    threshold: input.roster.threshold,
    custodians: input.roster.custodians.map((c) => c.name),
    operation: input.operation,
    subject: input.subject ?? described?.subject ?? '(no summary)',
    fields: (input.fields ?? described?.fields ?? []).map((f) => ({ label: f.label, value: f.value })),
    tbsSha256: digest.toLowerCase(),
    ...(tbs === undefined ? {} : { tbs: tbs.toString('base64') }),
    words: safeWords(digest),
    createdAt: input.now.toISOString(),
    expiresAt: new Date(input.now.getTime() + validFor).toISOString(),
  };
  return parseDocument(JSON.stringify(request), approvalRequestSchema, { what: 'approval request', code: 'ERR_QUORUM_APPROVAL_INVALID', maxBytes: MAX_REQUEST_BYTES });
}

function safeWords(hex: string): string[] {
  try {
    return digestWords(hex);
  } catch {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', 'the TBS SHA-256 must be 64 hexadecimal digits');
  }
}

/**
 * Parses an approval request (checks the digest against the bytes and the words against the digest).
 * @throws {CoreError} ERR_QUORUM_APPROVAL_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseApprovalRequest(input: Uint8Array | string, source?: string): ApprovalRequest {
  return parseDocument(input, approvalRequestSchema, { what: 'approval request', code: 'ERR_QUORUM_APPROVAL_INVALID', maxBytes: MAX_REQUEST_BYTES }, source);
}

/** The request's text (pretty JSON, trailing newline). */
export function serializeApprovalRequest(request: ApprovalRequest): string {
  return `${JSON.stringify(request, null, 2)}\n`;
}

/** The target an approval request stands for. */
export function approvalTargetOf(request: ApprovalRequest): ApprovalTarget {
  return { operation: request.operation, tbsSha256: request.tbsSha256, subject: request.subject };
}

/**
 * Parses an approval file.
 * @throws {CoreError} ERR_QUORUM_APPROVAL_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseApproval(input: Uint8Array | string, source?: string): Approval {
  return parseDocument(input, approvalSchema, { what: 'approval', code: 'ERR_QUORUM_APPROVAL_INVALID', maxBytes: MAX_APPROVAL_BYTES }, source);
}

/** The approval's text (pretty JSON, trailing newline). */
export function serializeApproval(approval: Approval): string {
  return `${JSON.stringify(approval, null, 2)}\n`;
}

/** The bytes an approval signature covers: RFC 8785 JSON of the statement. */
export function statementBytes(statement: ApprovalStatement): Buffer {
  return canonicalJsonBytes(statement);
}

/** Input to {@link signApproval}. */
export interface SignApprovalInput {
  request: ApprovalRequest;
  /** The custodian's file (public part used: identity and pinned key). */
  custodianFile: CustodianFile;
  /** The custodian's approval key, unsealed from their file. */
  approvalKey: KeyObject;
  decision: 'approve' | 'decline';
  now: Date;
}

/**
 * Signs an approval statement for a request (on the custodian's machine or at the workstation).
 * @throws {CoreError} ERR_QUORUM_SHARE_FOREIGN (file and request are from different quorums),
 *   ERR_QUORUM_CUSTODIAN_UNKNOWN, ERR_QUORUM_APPROVAL_EXPIRED, ERR_QUORUM_APPROVAL_INVALID
 */
export function signApproval(input: SignApprovalInput): Approval {
  const { request, custodianFile: file, now } = input;
  if (file.ceremony !== request.ceremony || file.quorumId !== request.quorumId) {
    throw new CoreError(
      'ERR_QUORUM_SHARE_FOREIGN',
      `this request is for ceremony '${request.ceremony}' (quorum ${request.quorumId}, generation ${request.generation}), but the custodian file of '${file.custodian}' is for ceremony '${file.ceremony}' (quorum ${file.quorumId}, generation ${file.generation}); use the custodian file of this quorum`,
      { details: { custodian: file.custodian } },
    );
  }
  if (!request.custodians.some((c) => nameKey(c) === nameKey(file.custodian))) {
    throw new CoreError('ERR_QUORUM_CUSTODIAN_UNKNOWN', `custodian '${file.custodian}' is not one of the custodians this request names (${request.custodians.join(', ')})`);
  }
  if (now.getTime() >= Date.parse(request.expiresAt)) {
    throw new CoreError('ERR_QUORUM_APPROVAL_EXPIRED', `the request expired at ${request.expiresAt}; nothing was signed. Ask the ceremony administrator for a new request`, { details: { expiresAt: request.expiresAt } });
  }
  if (now.getTime() + CLOCK_SKEW_MS < Date.parse(request.createdAt)) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `this machine's clock (${now.toISOString()}) is earlier than the request's creation (${request.createdAt}); set the clock right and try again`);
  }
  const spki = spkiOf(input.approvalKey);
  if (!spki.equals(Buffer.from(file.approvalKey.spki, 'base64'))) throw new TypeError('the approval key is not the one the custodian file names');
  const statement: ApprovalStatement = {
    type: APPROVAL_STATEMENT_TYPE,
    version: APPROVAL_VERSION,
    requestId: request.requestId,
    ceremony: request.ceremony,
    quorumId: request.quorumId,
    operation: request.operation,
    subject: request.subject,
    tbsSha256: request.tbsSha256,
    decision: input.decision,
    approvedAt: now.toISOString(),
    expiresAt: request.expiresAt,
    custodian: file.custodian,
  };
  const value = softwareSigner(input.approvalKey, 'ECDSA-SHA256').sign(statementBytes(statement));
  return { format: APPROVAL_FORMAT, version: APPROVAL_VERSION, statement, signature: { alg: 'ECDSA-SHA256', publicKey: spki.toString('base64'), value: value.toString('base64') } };
}

/** An approval that passed every check. */
export interface VerifiedApproval {
  custodian: string;
  shareIndex: number;
  decision: 'approve';
  approvedAt: string;
  expiresAt: string;
  publicKeySha256: string;
  statement: ApprovalStatement;
}

/**
 * Verifies one approval against the roster and the target, in this order: enrolled custodian and
 * key, signature, ceremony and quorum, operation, TBS digest, subject, time, decision.
 * @throws {CoreError} ERR_QUORUM_APPROVAL_INVALID, ERR_QUORUM_APPROVAL_NOT_ENROLLED,
 *   ERR_QUORUM_APPROVAL_SIGNATURE_INVALID, ERR_QUORUM_APPROVAL_WRONG_TBS,
 *   ERR_QUORUM_APPROVAL_EXPIRED, ERR_QUORUM_APPROVAL_DECLINED, ERR_INPUT_TOO_LARGE
 */
export function verifyApproval(roster: Roster, target: ApprovalTarget, input: Approval | Uint8Array | string, now: Date, source?: string): VerifiedApproval {
  const approval = typeof input === 'string' || input instanceof Uint8Array ? parseApproval(input, source) : input;
  const s = approval.statement;
  const where = `the approval by '${s.custodian}'${source === undefined ? '' : ` (${source})`}`;
  const spki = Buffer.from(approval.signature.publicKey, 'base64');
  const keySha = sha256(spki);
  const entry = rosterCustodian(roster, s.custodian);
  if (entry === undefined) {
    const byKey = rosterCustodianByKey(roster, keySha);
    throw new CoreError(
      'ERR_QUORUM_APPROVAL_NOT_ENROLLED',
      `${where} names a custodian who is not enrolled in quorum generation ${roster.generation} of ceremony '${roster.ceremony}'${byKey === undefined ? '' : ` (its key belongs to '${byKey.name}')`}; it does not count`,
      { details: { custodian: s.custodian, publicKeySha256: keySha } },
    );
  }
  if (entry.approvalKey.sha256 !== keySha) {
    throw new CoreError(
      'ERR_QUORUM_APPROVAL_NOT_ENROLLED',
      `${where} is signed with key SHA-256 ${keySha}, which is not the approval key enrolled for '${entry.name}' (${entry.approvalKey.sha256}); it does not count`,
      { details: { custodian: entry.name, publicKeySha256: keySha, enrolledKeySha256: entry.approvalKey.sha256 } },
    );
  }
  if (!verifySignature('ECDSA-SHA256', Buffer.from(entry.approvalKey.spki, 'base64'), statementBytes(s), Buffer.from(approval.signature.value, 'base64'))) {
    throw new CoreError('ERR_QUORUM_APPROVAL_SIGNATURE_INVALID', `${where}: the signature does not verify with the custodian's enrolled key (the statement was changed after signing, or the signature is damaged); it does not count`, {
      details: { custodian: entry.name },
    });
  }
  if (s.ceremony !== roster.ceremony || s.quorumId !== roster.quorumId) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `${where} was made for ceremony '${s.ceremony}' quorum ${s.quorumId}, not for this one ('${roster.ceremony}' quorum ${roster.quorumId})`, { details: { custodian: entry.name } });
  }
  if (s.operation !== target.operation) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `${where} approves the operation '${s.operation}', but this is '${target.operation}'`, { details: { custodian: entry.name, operation: s.operation } });
  }
  if (s.tbsSha256 !== target.tbsSha256.toLowerCase()) {
    throw new CoreError(
      'ERR_QUORUM_APPROVAL_WRONG_TBS',
      `${where} is for different content: it approves TBS SHA-256 ${s.tbsSha256}, but the bytes about to be signed have SHA-256 ${target.tbsSha256.toLowerCase()}. The custodian reviewed something else; it does not count`,
      { details: { custodian: entry.name, approvedTbsSha256: s.tbsSha256, tbsSha256: target.tbsSha256.toLowerCase() } },
    );
  }
  if (target.subject !== undefined && s.subject !== target.subject) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `${where} carries the summary '${s.subject}', but the request said '${target.subject}'`, { details: { custodian: entry.name } });
  }
  const approvedAt = Date.parse(s.approvedAt);
  const expiresAt = Date.parse(s.expiresAt);
  if (approvedAt > now.getTime() + CLOCK_SKEW_MS) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `${where} is dated ${s.approvedAt}, in the future of this workstation's clock (${now.toISOString()}); check both clocks`, { details: { custodian: entry.name } });
  }
  if (now.getTime() >= expiresAt) {
    throw new CoreError('ERR_QUORUM_APPROVAL_EXPIRED', `${where} expired at ${s.expiresAt}; ask the custodian to review and approve again`, { details: { custodian: entry.name, expiresAt: s.expiresAt } });
  }
  if (!(expiresAt > approvedAt && expiresAt - approvedAt <= MAX_APPROVAL_VALIDITY_MS)) {
    throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `${where} claims a validity from ${s.approvedAt} to ${s.expiresAt}; approvals last at most 30 days`, { details: { custodian: entry.name } });
  }
  if (s.decision === 'decline') {
    throw new CoreError('ERR_QUORUM_APPROVAL_DECLINED', `${where} is a DECLINE: custodian '${entry.name}' reviewed this content and declined it at ${s.approvedAt}; nothing will be signed while the decline stands. Resolve the objection and prepare a new request`, {
      details: { custodian: entry.name, declinedAt: s.approvedAt },
    });
  }
  return { custodian: entry.name, shareIndex: entry.shareIndex, decision: 'approve', approvedAt: s.approvedAt, expiresAt: s.expiresAt, publicKeySha256: keySha, statement: s };
}
