/**
 * @module ceremony/approval-folder
 * Approvals that custodians signed on their own machines with `neam-ca approve` and brought back in
 * a folder: the bounded read of that folder ({@link readApprovalFolder}) and the check of every file
 * against the requests one `collect-approvals` step collects ({@link checkImportedApprovals}),
 * before anything is imported. Every file that cannot be read, parsed or verified, that answers
 * another request or ceremony, or that repeats a custodian's answer, is a problem named by its file
 * and its own code; the step refuses the whole folder when there is one (an approval that does not
 * verify is a reason to stop and look, never something to step around).
 *
 * Must never: read more than {@link MAX_APPROVAL_FILES} files or more than the approval format's
 * size limit of one file, count a file it refused, or let a custodian answer a request twice.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { CoreError, isCoreError, type CoreErrorCode } from '../errors.ts';
import { approvalTargetOf, escapeUnsafeText, MAX_APPROVAL_BYTES, parseApproval, verifyApproval, type Approval, type ApprovalRequest, type Roster } from '../quorum/index.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { readLimited } from './files.ts';

/** Name ending of the files read from an approvals folder (`neam-ca approve` writes it). */
export const APPROVAL_FILE_SUFFIX = '.approval.json';
/** Most approval files one folder may hold (32 custodians × 8 requests, with room to spare). */
export const MAX_APPROVAL_FILES = 512;

/** One approval file read from the folder. */
export interface ReadApprovalFile {
  /** File name inside the folder, as shown (unsafe characters escaped). */
  name: string;
  /** Path to open. */
  path: string;
  /** SHA-256 of the file's exact bytes (hex), for the record. */
  sha256: string;
  bytes: Buffer;
  approval: Approval;
}

/** A file of the folder that does not count, with its own code. */
export interface ApprovalFileProblem {
  /** File name inside the folder. */
  file: string;
  code: CoreErrorCode;
  message: string;
  custodian?: string;
}

/** What {@link readApprovalFolder} found. */
export interface ApprovalFolder {
  folder: string;
  /** Parsed approval files, by name. */
  files: ReadApprovalFile[];
  /** Entries not read: not named `*.approval.json`, hidden (`._x` files of some media), or not files. */
  ignored: string[];
  /** Files named `*.approval.json` that could not be read or parsed. */
  problems: ApprovalFileProblem[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function problemOf(file: string, e: unknown): ApprovalFileProblem {
  if (e instanceof CoreError) return { file, code: e.code, message: e.message };
  return { file, code: 'ERR_IO', message: `${file} could not be read` };
}

/**
 * Reads every `*.approval.json` file of a folder (names sorted), each at most the approval format's
 * size limit, and parses it. Files that cannot be read or parsed are returned as problems, not
 * thrown, so that all of them are reported at once.
 * @throws {CoreError} ERR_IO (the folder does not exist or is not a folder), ERR_INPUT_TOO_LARGE
 *   (more than {@link MAX_APPROVAL_FILES} approval files)
 */
export function readApprovalFolder(folder: string): ApprovalFolder {
  let isDir: boolean;
  try {
    isDir = statSync(folder).isDirectory();
  } catch (e) {
    throw new CoreError('ERR_IO', `the approvals folder ${folder} does not exist or cannot be read; give the folder that holds the custodians' *.approval.json files (or an empty answer for none)`, { cause: e, details: { path: folder } });
  }
  if (!isDir) throw new CoreError('ERR_IO', `${folder} is not a folder; give the folder that holds the custodians' *.approval.json files`, { details: { path: folder } });
  let names: string[];
  try {
    names = readdirSync(folder).sort();
  } catch (e) {
    throw new CoreError('ERR_IO', `the approvals folder ${folder} cannot be listed`, { cause: e, details: { path: folder } });
  }
  const candidates: string[] = [];
  const ignored: string[] = [];
  for (const name of names) {
    // Hidden entries include the `._name` metadata files some systems leave on removable media.
    if (name.startsWith('.') || !name.toLowerCase().endsWith(APPROVAL_FILE_SUFFIX)) ignored.push(escapeUnsafeText(name));
    else candidates.push(name);
  }
  if (candidates.length > MAX_APPROVAL_FILES) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `the approvals folder ${folder} holds ${candidates.length} *.approval.json files, more than the ${MAX_APPROVAL_FILES} one step reads; give a folder with only the approvals for this ceremony`, {
      details: { path: folder, count: candidates.length, limit: MAX_APPROVAL_FILES },
    });
  }
  const files: ReadApprovalFile[] = [];
  const problems: ApprovalFileProblem[] = [];
  for (const raw of candidates) {
    // A file name is shown to people: control and bidirectional characters appear as escapes.
    const name = escapeUnsafeText(raw);
    const path = join(folder, raw);
    const shownPath = join(folder, name);
    try {
      let bytes: Buffer;
      try {
        bytes = readLimited(path, MAX_APPROVAL_BYTES, 'approval file');
      } catch (e) {
        if (e instanceof CoreError && path !== shownPath) throw new CoreError(e.code, e.message.split(path).join(shownPath), { cause: e });
        throw e;
      }
      files.push({ name, path, sha256: sha256(bytes), bytes, approval: parseApproval(bytes, shownPath) });
    } catch (e) {
      problems.push(problemOf(name, e));
    }
  }
  return { folder, files, ignored, problems };
}

/** An approval file that answers one of the step's requests and passed every check. */
export interface CheckedApproval {
  file: ReadApprovalFile;
  /** Index of the request it answers in the step's list. */
  requestIndex: number;
  custodian: string;
  decision: 'approve' | 'decline';
  /** True when the quorum store already holds exactly this approval (a redone step). */
  alreadyImported: boolean;
}

/** Result of {@link checkImportedApprovals}. */
export interface ImportCheck {
  accepted: CheckedApproval[];
  problems: ApprovalFileProblem[];
}

function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * Checks parsed approval files against the requests of one step, before anything is imported:
 * each must answer one of `requests` (else ERR_QUORUM_APPROVAL_FOREIGN), verify against the roster
 * and that request's exact target (every code of `verifyApproval`; a valid decline is accepted as
 * a decline), be the only answer of its custodian to its request in the folder, and, when the
 * quorum store already holds an answer of that custodian (`recorded`), be exactly that answer
 * (else ERR_QUORUM_APPROVAL_DUPLICATE). Pure: `now` and the store lookup are parameters.
 */
export function checkImportedApprovals(roster: Roster, requests: ReadonlyArray<{ request: ApprovalRequest; file: string }>, files: readonly ReadApprovalFile[], now: Date, recorded: (requestId: string, custodian: string) => Approval | undefined): ImportCheck {
  const accepted: CheckedApproval[] = [];
  const problems: ApprovalFileProblem[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const s = file.approval.statement;
    const requestIndex = requests.findIndex((r) => r.request.requestId === s.requestId);
    if (requestIndex < 0) {
      const elsewhere = s.ceremony !== roster.ceremony || s.quorumId !== roster.quorumId ? ` of ceremony '${s.ceremony}' (quorum ${s.quorumId})` : '';
      problems.push({
        file: file.name,
        code: 'ERR_QUORUM_APPROVAL_FOREIGN',
        custodian: s.custodian,
        message: `${file.name}: the ${s.decision} by '${s.custodian}' answers request ${s.requestId}${elsewhere} (${s.operation} ${s.subject}), which is not one this step collects (${requests.map((r) => r.file).join(', ')}); it does not count. Take it out of the folder`,
      });
      continue;
    }
    const request = requests[requestIndex]!.request;
    let decision: 'approve' | 'decline' = 'approve';
    try {
      verifyApproval(roster, approvalTargetOf(request), file.approval, now, file.name);
    } catch (e) {
      if (isCoreError(e, 'ERR_QUORUM_APPROVAL_DECLINED')) {
        decision = 'decline';
      } else {
        problems.push({ ...problemOf(file.name, e), custodian: s.custodian });
        continue;
      }
    }
    const key = `${s.requestId}\u0000${nameKey(s.custodian)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({
        file: file.name,
        code: 'ERR_QUORUM_APPROVAL_DUPLICATE',
        custodian: s.custodian,
        message: `${file.name}: custodian '${s.custodian}' already answered request ${s.requestId} in ${first}; each custodian answers a request once and counts once. Keep one of the two files`,
      });
      continue;
    }
    seen.set(key, file.name);
    const before = recorded(s.requestId, s.custodian);
    if (before !== undefined && canonicalJson(before) !== canonicalJson(file.approval)) {
      problems.push({
        file: file.name,
        code: 'ERR_QUORUM_APPROVAL_DUPLICATE',
        custodian: s.custodian,
        message: `${file.name}: custodian '${s.custodian}' has already answered request ${s.requestId} (${before.statement.decision} at ${before.statement.approvedAt}, recorded by this CA); this file is a second answer and does not count. Take it out of the folder`,
      });
      continue;
    }
    accepted.push({ file, requestIndex, custodian: s.custodian, decision, alreadyImported: before !== undefined });
  }
  return { accepted, problems };
}

/**
 * Who still approves at the workstation once approval files were imported: a custodian who approved
 * every one of the `requestCount` requests with a file counts once and is not asked again
 * (`allRemote`, roster order); `needed` is M minus their number, at least 0. A custodian who
 * answered only some requests with files still approves the others at the workstation.
 */
export function workstationNeeds(roster: Roster, requestCount: number, imported: ReadonlyArray<{ requestIndex: number; custodian: string; decision: 'approve' | 'decline' }>): { allRemote: string[]; needed: number } {
  const approved = (i: number, name: string): boolean => imported.some((a) => a.requestIndex === i && a.decision === 'approve' && nameKey(a.custodian) === nameKey(name));
  const allRemote = requestCount === 0 ? [] : roster.custodians.map((c) => c.name).filter((name) => Array.from({ length: requestCount }, (_, i) => i).every((i) => approved(i, name)));
  return { allRemote, needed: Math.max(0, roster.threshold - allRemote.length) };
}

/**
 * The error for refused files: the first problem's code (by file name), every problem in the
 * message and in `details.problems`.
 */
export function refusedFilesError(folder: string, problems: readonly ApprovalFileProblem[]): CoreError {
  const sorted = [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const lines = sorted.map((p) => `  - ${p.file} [${p.code}]: ${p.message}`);
  return new CoreError(
    sorted[0]!.code,
    `${sorted.length} approval file${sorted.length === 1 ? '' : 's'} in ${folder} ${sorted.length === 1 ? 'was' : 'were'} refused; nothing was imported and nothing will be signed:\n${lines.join('\n')}\nRemove or replace ${sorted.length === 1 ? 'it' : 'them'} (a custodian can approve again with neam-ca approve), then resume the ceremony`,
    { details: { folder, problems: sorted.map((p) => ({ file: p.file, code: p.code, message: p.message, ...(p.custodian === undefined ? {} : { custodian: p.custodian }) })) } },
  );
}
