/**
 * @module ceremony/actions/collect-approvals
 * Step action `collect-approvals` (core/quorum): for every approval request the referenced step
 * prepared (a CRL, or accepted intermediates), M or more custodians review what is shown (operation,
 * summary, TBS SHA-256 in hex and words), decide, and sign their approval statement with their own
 * approval key, unsealed from their custodian file with their passphrase. Every approval is written
 * as a file, imported into the CA's quorum store (which verifies it), and counted: fewer than M
 * valid approvals, or any decline, stops the ceremony before anything is signed.
 *
 * Must never: count an approval over another digest, an expired one, a duplicate custodian, or a
 * key that is not enrolled (core/quorum checks each on import and again before signing).
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import { approvalTargetOf, evaluateApprovals, parseApprovalRequest, serializeApproval, type Approval, type ApprovalRequest } from '../../quorum/index.ts';
import { approveAtWorkstation } from '../quorum-io.ts';
import { stepRef } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';
import type { ActionDefinition, StepContext } from './types.ts';

const params = z.strictObject({
  for: stepRef,
});
type Params = z.infer<typeof params>;

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^A-Za-z0-9]+/gu, '-').replace(/^-|-$/gu, '').toLowerCase() || 'custodian';
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

/** `collect-approvals`. */
export const collectApprovals: ActionDefinition<Params> = {
  summary: 'M custodians review each prepared certificate or CRL and sign approvals over its exact TBS SHA-256',
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['for'], step: p.for, actions: ['review-csr', 'prepare-crl'] }] }),
  check: (_p, ctx) => [...needsShares(ctx, 'collecting approvals'), ...custodiansAtLeast(ctx, 'm', 'collecting approvals')],
  questions: (_p, step) => [
    { key: ['steps', step.id, 'approvers'], secret: false, attestation: true, description: 'the custodians who review and approve (comma-separated; at least M)' },
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
    const decisions = await approveAtWorkstation(ctx.io, roster, requests.map((r) => r.request), ctx.key(), () => ctx.now());
    const perRequest = requests.map((r) => ({ requestId: r.request.requestId, tbsSha256: r.request.tbsSha256, operation: r.request.operation, files: [] as string[] }));
    const used: Approval[][] = requests.map(() => []);
    for (const d of decisions) {
      d.approvals.forEach((fresh, i) => {
        // After an interrupted attempt the store may already hold this custodian's answer to this
        // request (each custodian answers a request once): that recorded answer is the one used.
        const recorded = ca.quorum.approvals(fresh.statement.requestId).find((a) => a.statement.custodian === fresh.statement.custodian);
        const approval = recorded ?? fresh;
        const name = `${ctx.step.id}-${i + 1}-${slug(d.custodian)}.approval.json`;
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
    ctx.record('quorum.approvals', { requests: perRequest, approvers: decisions.map((d) => ({ custodian: d.custodian, decision: d.decision })) });
    if (declined.length > 0) {
      throw new CoreError('ERR_QUORUM_APPROVAL_DECLINED', `${declined.join(', ')} declined; nothing will be signed. Resolve the objection, then abort this ceremony or resume to collect the approvals again`, { details: { declined } });
    }
    for (const [i, r] of requests.entries()) {
      const evaluation = evaluateApprovals(roster, approvalTargetOf(r.request), used[i]!, ctx.now());
      if (evaluation.accepted.length < roster.threshold) {
        throw new CoreError('ERR_QUORUM_NOT_MET', `request ${r.request.requestId} (${r.request.subject}) has ${evaluation.accepted.length} valid approvals; ${roster.threshold} are needed${evaluation.findings.length > 0 ? `: ${evaluation.findings.map((f) => f.message).join('; ')}` : ''}`);
      }
    }
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `${decisions.length} custodians approved ${requests.length} request(s): ${decisions.map((d) => d.custodian).join(', ')}.` });
    return { result: { requests: perRequest, approvers: decisions.map((d) => d.custodian) } };
  },
  // Approvals can be signed again: an interrupted collection starts over (its files set aside).
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the approvals are collected again' } : { kind: 'verified' }),
};
