/**
 * @module ceremony/actions/collect-approvals
 * Step action `collect-approvals` (core/quorum): for every approval request the referenced step
 * prepared (the root certificate, a CRL, or accepted intermediates), M or more custodians review
 * what is shown (operation, summary, TBS SHA-256 in hex and words), decide, and sign their
 * approval statement with their own approval key. At the workstation the key is unsealed from their custodian file with their
 * passphrase. With `imported: true` the step first shows the request files to hand out and the
 * `neam-ca approve` command, and imports the approval files custodians signed on their own machines
 * and brought back in a folder (core/ceremony/approval-folder): every file is checked before any is
 * imported, and only the custodians still needed approve at the workstation. Every approval is
 * written as a file, imported into the CA's quorum store (which verifies it), recorded with its
 * origin, and counted: a refused file, fewer than M valid approvals, or any decline stops the
 * ceremony before anything is signed. A decline stands: once recorded, a resumed step refuses to
 * collect approvals for that request again (docs/quorum.md).
 *
 * Must never: count an approval over another digest, an expired one, a duplicate custodian, a key
 * that is not enrolled, or a file that answers another request (core/quorum checks each on import
 * and again before signing); count a custodian twice for a request.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import { approvalTargetOf, evaluateApprovals, parseApprovalRequest, serializeApproval, type Approval, type ApprovalRequest, type Roster } from '../../quorum/index.ts';
import { APPROVAL_FILE_SUFFIX, checkImportedApprovals, readApprovalFolder, refusedFilesError, workstationNeeds, type CheckedApproval } from '../approval-folder.ts';
import type { CaHome } from '../ca-home.ts';
import { approveAtWorkstation } from '../quorum-io.ts';
import type { JsonObject } from '../types.ts';
import { stepRef } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';
import type { ActionDefinition, StepContext } from './types.ts';

const params = z.strictObject({
  for: stepRef,
  /**
   * When true, the step first imports approval files signed by custodians on their own machines
   * (`neam-ca approve`) from a folder (`steps.<id>.approvals-folder`); the rest approve here.
   */
  imported: z.boolean().default(false),
});
type Params = z.infer<typeof params>;

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^A-Za-z0-9]+/gu, '-').replace(/^-|-$/gu, '').toLowerCase() || 'custodian';
}

function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** The approval requests the referenced step prepared. */
export function requestsOf<P>(ctx: StepContext<P>, forStep: string): Array<{ request: ApprovalRequest; file: string }> {
  const r = ctx.resultOf(forStep);
  const items = Array.isArray(r?.['items']) ? (r['items'] as Array<Record<string, unknown>>) : undefined;
  if (items === undefined) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${forStep}' has not prepared anything yet`);
  return items
    .filter((i) => typeof i['request'] === 'string')
    .map((i) => {
      const file = String(i['request']);
      return { request: parseApprovalRequest(readFileSync(ctx.files.path(file)), ctx.files.path(file)), file };
    });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What an operator does after a decline (docs/quorum.md: a decline blocks the request). */
const DECLINE_STANDS = 'A decline stands for this request: abort this ceremony, resolve the objection, and prepare a new request in a new ceremony';

/**
 * A decline the quorum store recorded for one of the requests (in an earlier, interrupted attempt)
 * blocks it: resuming cannot collect around it by leaving the custodian out.
 * @throws {CoreError} ERR_QUORUM_APPROVAL_DECLINED
 */
function refuseStandingDeclines(ca: CaHome, requests: ReadonlyArray<{ request: ApprovalRequest; file: string }>): void {
  const standing = requests.flatMap(({ request, file }) => ca.quorum.approvals(request.requestId).filter((a) => a.statement.decision === 'decline').map((a) => ({ file, custodian: a.statement.custodian, at: a.statement.approvedAt })));
  if (standing.length === 0) return;
  throw new CoreError('ERR_QUORUM_APPROVAL_DECLINED', `${standing.map((d) => `${d.custodian} declined ${d.file} at ${d.at}`).join('; ')} (recorded by this CA); nothing will be signed. ${DECLINE_STANDS}`, {
    details: { declined: [...new Set(standing.map((d) => d.custodian))], standing: true },
  });
}

/** The output name of a custodian's approval of the n-th request (workstation or imported). */
function approvalFileName(stepId: string, requestIndex: number, custodian: string): string {
  return `${stepId}-${requestIndex + 1}-${slug(custodian)}${APPROVAL_FILE_SUFFIX}`;
}

/** Tells the operator which request files to hand out and the command each custodian runs. */
function showRequestsToHandOut(ctx: StepContext<Params>, roster: Roster, requests: ReadonlyArray<{ request: ApprovalRequest; file: string }>): void {
  const lines = [
    `Approval requests to hand to the custodians who review on their own machines (in ${ctx.ceremony.dir}):`,
    ...requests.flatMap(({ request: r, file }) => [`  ${file}: ${r.operation} ${r.subject}`, `      request ${r.requestId}, expires ${r.expiresAt}`, `      TBS SHA-256 ${r.tbsSha256}`]),
    'Each custodian copies these files to their machine and, for each file, runs:',
    ...requests.map(({ file }) => `  neam-ca approve ${file} --custodian <your custodian file> --approval-key-sha256 <the fingerprint you wrote down at enrolment>`),
    `and brings back the *${APPROVAL_FILE_SUFFIX} files it writes, all in one folder. ${roster.threshold} of the ${roster.custodians.length} custodians must approve each request; custodians who approved every request with a file do not approve again here.`,
  ];
  ctx.io.event({ type: 'display', step: ctx.step.id, message: lines.join('\n'), data: { requests: requests.map((r) => ({ file: ctx.files.path(r.file), requestId: r.request.requestId, tbsSha256: r.request.tbsSha256 })) } });
}

/** Approval files checked, imported into the quorum store and written into the ceremony folder. */
interface ImportedApproval extends CheckedApproval {
  /** The copy in the ceremony folder. */
  output: string;
}

/**
 * Asks for the folder, checks every approval file in it against this step's requests before any is
 * imported, then imports each (a file the store already holds, from an interrupted attempt, is not
 * imported twice), writes it into the ceremony folder and records the import.
 * @throws {CoreError} the first refused file's code (every refused file named), ERR_IO, ERR_INPUT_TOO_LARGE
 */
async function importFromFolder(ctx: StepContext<Params>, roster: Roster, requests: ReadonlyArray<{ request: ApprovalRequest; file: string }>): Promise<ImportedApproval[]> {
  const ca = ctx.ca();
  const answer = (
    await ctx.io.ask({
      kind: 'text',
      key: ctx.key('approvals-folder'),
      prompt: `Folder with the *${APPROVAL_FILE_SUFFIX} files the custodians brought back (empty: none, everyone approves here): `,
      // A mistyped path is asked again at the terminal; what the files hold is checked below.
      validate: (a) => (a.trim() === '' || isFolder(resolve(a.trim())) ? undefined : `${resolve(a.trim())} is not a folder (give the folder holding the approval files, or nothing)`),
    })
  ).trim();
  if (answer === '') {
    ctx.io.event({ type: 'display', step: ctx.step.id, message: 'No approval files: every approval is signed at this workstation.' });
    ctx.record('quorum.approvals-imported', { folder: null, files: [], ignored: [] });
    return [];
  }
  const folder = resolve(answer);
  const listing = readApprovalFolder(folder);
  const check = checkImportedApprovals(roster, requests, listing.files, ctx.now(), (requestId, custodian) => ca.quorum.approvals(requestId).find((a) => nameKey(a.statement.custodian) === nameKey(custodian)));
  const problems = [...listing.problems, ...check.problems];
  if (problems.length > 0) throw refusedFilesError(folder, problems);
  if (listing.ignored.length > 0) ctx.io.event({ type: 'warning', step: ctx.step.id, message: `Not read from ${folder} (not named *${APPROVAL_FILE_SUFFIX}, or hidden): ${listing.ignored.join(', ')}` });
  const imported: ImportedApproval[] = [];
  for (const a of check.accepted) {
    if (!a.alreadyImported) {
      try {
        ca.quorum.importApproval(a.file.approval, ctx.now(), a.file.name);
      } catch (e) {
        // A valid decline is recorded by the store; it stops the step below.
        if (!isCoreError(e, 'ERR_QUORUM_APPROVAL_DECLINED')) throw e;
      }
    }
    const output = approvalFileName(ctx.step.id, a.requestIndex, a.custodian);
    // The custodian's exact bytes: their SHA-256 in the record is the file's in the folder.
    ctx.files.write(output, a.file.bytes);
    imported.push({ ...a, output });
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `${a.decision === 'approve' ? 'Approval' : 'DECLINE'} by ${a.custodian} of ${requests[a.requestIndex]!.file} imported from ${a.file.name} (SHA-256 ${a.file.sha256})${a.alreadyImported ? '; it was already recorded by an interrupted attempt' : ''}.` });
  }
  ctx.record('quorum.approvals-imported', {
    folder,
    files: imported.map((a) => ({ source: a.file.name, sourceSha256: a.file.sha256, custodian: a.custodian, requestId: requests[a.requestIndex]!.request.requestId, decision: a.decision, file: a.output, alreadyImported: a.alreadyImported })),
    ignored: listing.ignored,
  });
  const declined = [...new Set(imported.filter((a) => a.decision === 'decline').map((a) => a.custodian))];
  if (declined.length > 0) {
    throw new CoreError('ERR_QUORUM_APPROVAL_DECLINED', `${declined.join(', ')} declined with an approval file; nothing will be signed. ${DECLINE_STANDS}`, { details: { declined, origin: 'imported' } });
  }
  return imported;
}

/** `collect-approvals`. */
export const collectApprovals: ActionDefinition<Params> = {
  summary: 'M custodians review each prepared certificate or CRL and sign approvals over its exact TBS SHA-256 (at the workstation, or on their own machines with neam-ca approve and imported)',
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['for'], step: p.for, actions: ['review-csr', 'prepare-crl', 'prepare-root-certificate'] }] }),
  check: (_p, ctx) => [...needsShares(ctx, 'collecting approvals'), ...custodiansAtLeast(ctx, 'm', 'collecting approvals')],
  questions: (p, step) => [
    ...(p.imported
      ? [{ key: ['steps', step.id, 'approvals-folder'], secret: false, attestation: false, description: `folder with the *${APPROVAL_FILE_SUFFIX} files custodians signed on their own machines with neam-ca approve (empty: none)` }]
      : []),
    { key: ['steps', step.id, 'approvers'], secret: false, attestation: true, description: p.imported ? 'the custodians who review and approve at the workstation (comma-separated; M minus those who approved every request with a file)' : 'the custodians who review and approve (comma-separated; at least M)' },
    { key: ['steps', step.id, 'decision', '*'], secret: false, attestation: true, description: "'approve' or 'decline' (one per custodian name)" },
    { key: ['steps', step.id, 'file', '*'], secret: false, attestation: false, description: "a custodian's file or medium folder (one per custodian name)" },
    { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "a custodian's passphrase, to sign the approval (rehearsals only)" },
  ],
  async precondition(ctx) {
    if (ctx.ca().currentRoster() === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} has no quorum roster; approvals need the custodians enrolled by the root ceremony`);
    if (requestsOf(ctx, ctx.params.for).length === 0) throw new CoreError('ERR_CEREMONY_STEP_FAILED', `step '${ctx.params.for}' prepared nothing to approve`);
  },
  async execute(ctx) {
    const ca = ctx.ca();
    const roster = ca.currentRoster()!;
    const requests = requestsOf(ctx, ctx.params.for);
    // Before anyone reviews again: a recorded decline cannot be collected around.
    refuseStandingDeclines(ca, requests);
    const perRequest = requests.map((r) => ({ requestId: r.request.requestId, tbsSha256: r.request.tbsSha256, operation: r.request.operation, files: [] as string[] }));
    const used: Approval[][] = requests.map(() => []);
    // Approvals brought back as files come first; only the custodians still needed approve here.
    let imported: ImportedApproval[] = [];
    if (ctx.params.imported) {
      showRequestsToHandOut(ctx, roster, requests);
      imported = await importFromFolder(ctx, roster, requests);
      for (const a of imported) {
        used[a.requestIndex]!.push(a.file.approval);
        perRequest[a.requestIndex]!.files.push(a.output);
      }
    }
    const answeredRemotely = (i: number, custodian: string): boolean => imported.some((a) => a.requestIndex === i && nameKey(a.custodian) === nameKey(custodian));
    // A custodian who approved every request with a file counts once and is not asked again.
    const { allRemote, needed } = workstationNeeds(roster, requests.length, imported);
    let decisions: Awaited<ReturnType<typeof approveAtWorkstation>> = [];
    if (needed > 0) {
      decisions = ctx.params.imported
        ? await approveAtWorkstation(ctx.io, roster, requests.map((r) => r.request), ctx.key(), () => ctx.now(), { needed, exclude: allRemote })
        : await approveAtWorkstation(ctx.io, roster, requests.map((r) => r.request), ctx.key(), () => ctx.now());
    } else {
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `${allRemote.join(', ')} approved every request with a file: no approval is needed at this workstation.` });
    }
    const kept: Array<{ custodian: string; requestId: string }> = [];
    for (const d of decisions) {
      d.approvals.forEach((fresh, i) => {
        // This custodian already answered this request with a file: that answer is the one used.
        if (answeredRemotely(i, d.custodian)) {
          kept.push({ custodian: d.custodian, requestId: fresh.statement.requestId });
          return;
        }
        // After an interrupted attempt the store may already hold this custodian's answer to this
        // request (each custodian answers a request once): that recorded answer is the one used.
        const recorded = ca.quorum.approvals(fresh.statement.requestId).find((a) => a.statement.custodian === fresh.statement.custodian);
        const approval = recorded ?? fresh;
        const name = approvalFileName(ctx.step.id, i, d.custodian);
        ctx.files.write(name, serializeApproval(approval));
        if (recorded === undefined) {
          try {
            ca.quorum.importApproval(approval, ctx.now(), ctx.files.path(name));
          } catch (e) {
            // A valid decline is recorded by the store and reported below.
            if (!isCoreError(e, 'ERR_QUORUM_APPROVAL_DECLINED')) throw e;
          }
        }
        used[i]!.push(approval);
        perRequest[i]!.files.push(name);
      });
    }
    const declined = [...new Set(used.flat().filter((a) => a.statement.decision === 'decline').map((a) => a.statement.custodian))];
    const approvers = decisions.map((d) => ({ custodian: d.custodian, decision: d.decision }));
    const remote = [...new Set(imported.map((a) => a.custodian))];
    const record: JsonObject = ctx.params.imported
      ? {
          requests: perRequest,
          approvers: [...approvers.map((a) => ({ ...a, origin: 'workstation' })), ...remote.filter((c) => !decisions.some((d) => nameKey(d.custodian) === nameKey(c))).map((c) => ({ custodian: c, decision: 'approve', origin: 'imported' }))],
          imported: imported.map((a) => ({ custodian: a.custodian, requestId: requests[a.requestIndex]!.request.requestId, file: a.output, sourceSha256: a.file.sha256 })),
          ...(kept.length > 0 ? { answeredWithFile: kept } : {}),
        }
      : { requests: perRequest, approvers };
    ctx.record('quorum.approvals', record);
    if (declined.length > 0) {
      throw new CoreError('ERR_QUORUM_APPROVAL_DECLINED', `${declined.join(', ')} declined; nothing will be signed. ${DECLINE_STANDS}`, { details: { declined } });
    }
    for (const [i, r] of requests.entries()) {
      const evaluation = evaluateApprovals(roster, approvalTargetOf(r.request), used[i]!, ctx.now());
      if (evaluation.accepted.length < roster.threshold) {
        throw new CoreError('ERR_QUORUM_NOT_MET', `request ${r.request.requestId} (${r.request.subject}) has ${evaluation.accepted.length} valid approvals; ${roster.threshold} are needed${evaluation.findings.length > 0 ? `: ${evaluation.findings.map((f) => f.message).join('; ')}` : ''}`);
      }
    }
    const everyone = [...decisions.map((d) => d.custodian), ...remote.filter((c) => !decisions.some((d) => nameKey(d.custodian) === nameKey(c)))];
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `${everyone.length} custodians approved ${requests.length} request(s): ${everyone.join(', ')}${remote.length > 0 ? ` (with approval files: ${remote.join(', ')})` : ''}.` });
    const result: JsonObject = ctx.params.imported ? { requests: perRequest, approvers: everyone, imported: remote } : { requests: perRequest, approvers: decisions.map((d) => d.custodian) };
    return { result };
  },
  // Approvals can be signed again: an interrupted collection starts over (its files set aside);
  // approval files the store already holds are taken as they are, never imported twice.
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the approvals are collected again' } : { kind: 'verified' }),
};
