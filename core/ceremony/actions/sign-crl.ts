/**
 * @module ceremony/actions/sign-crl
 * Step action `sign-crl` (core/pki, core/ca, core/quorum): takes the CRL prepared and approved in
 * the earlier steps, checks the quorum of approvals over its exact TBS (every approval verified
 * again), signs it with the root key in the HSM (proven to be the CRL's issuer key), verifies it,
 * checks the signed TBS equals the approved bytes, records it in the CA store and writes it. A CRL
 * signed by the root cannot be taken back: this is a point of no return.
 *
 * Must never: sign without M valid approvals over exactly these bytes.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { preparedFromJson, type IssuedCrl, type PreparedCrl } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { keyLabel, outputName, stepRef } from './common.ts';
import { crlProfileFor, type PrepareCrlParams } from './prepare-crl.ts';
import { crlsOfStep, keyByLabel, writeOrAdopt } from './pki-helpers.ts';
import { signUnderQuorum } from './quorum-sign.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  approvals: stepRef,
  'root-key-label': keyLabel.optional(),
  crl: outputName.default('root.crl'),
});
type Params = z.infer<typeof params>;

/**
 * The prepared CRL and approval files behind an approvals step. The prepared file is loaded
 * against what it cannot vouch for itself (core/ca H2): the profile the reviewed script's
 * `prepare-crl` step builds with, the TBS digest the custodians were asked to approve, and the
 * issuer as the CA store records it.
 */
function inputsOf(ctx: StepContext<Params>): { prepared: PreparedCrl; approvalFiles: string[]; issuerStep?: string } {
  const approvals = ctx.resultOf(ctx.params.approvals);
  const forStep = ctx.script.steps.find((s) => s.id === ctx.params.approvals)?.params as { for?: string } | undefined;
  const prepStep = forStep?.for;
  const prep = prepStep === undefined ? undefined : ctx.resultOf(prepStep);
  const items = Array.isArray(prep?.['items']) ? (prep['items'] as Array<Record<string, unknown>>) : undefined;
  const requests = Array.isArray(approvals?.['requests']) ? (approvals['requests'] as Array<Record<string, unknown>>) : undefined;
  if (items === undefined || items.length !== 1 || requests === undefined || requests.length !== 1) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `the CRL has not been prepared and approved yet (steps '${String(prepStep)}' and '${ctx.params.approvals}')`);
  const prepParams = ctx.script.steps.find((s) => s.id === prepStep)?.params as PrepareCrlParams;
  const approvedTbs = requests[0]!['tbsSha256'];
  if (typeof approvedTbs !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${ctx.params.approvals}' recorded no approved TBS digest`);
  const prepared = preparedFromJson(JSON.parse(readFileSync(ctx.files.path(String(items[0]!['prepared'])), 'utf8')) as unknown, { store: ctx.ca().pki, profile: crlProfileFor(prepParams), expectTbsSha256: approvedTbs });
  if (prepared.kind !== 'crl') throw new CoreError('ERR_CEREMONY_STEP_FAILED', `step '${prepStep}' did not prepare a CRL`);
  return { prepared, approvalFiles: (requests[0]!['files'] as string[]).map((f) => ctx.files.path(f)), ...(prepParams.issuer === undefined ? {} : { issuerStep: prepParams.issuer }) };
}

/** The label of the root key: from the parameters, or the key behind the root certificate step. */
function rootLabel(ctx: StepContext<Params>, issuerStep: string | undefined): string {
  if (ctx.params['root-key-label'] !== undefined) return ctx.params['root-key-label'];
  const r = issuerStep === undefined ? undefined : ctx.resultOf(issuerStep);
  if (typeof r?.['keyLabel'] !== 'string') throw new CoreError('ERR_CEREMONY_STEP_FAILED', 'name the root key with root-key-label');
  return r['keyLabel'];
}

function outcomeOf(ctx: StepContext<Params>, issued: Pick<IssuedCrl['record'], 'crlNumber' | 'sha256' | 'tbsSha256' | 'thisUpdate' | 'nextUpdate' | 'revokedCount' | 'issuer'>): StepOutcome {
  return { result: { crl: ctx.params.crl, crlNumber: issued.crlNumber, sha256: issued.sha256, tbsSha256: issued.tbsSha256, thisUpdate: issued.thisUpdate, nextUpdate: issued.nextUpdate, revoked: issued.revokedCount, issuer: issued.issuer } };
}

/** `sign-crl`. */
export const signCrl: ActionDefinition<Params> = {
  summary: 'sign the approved CRL TBS with the root key; verify; check the signed TBS equals the approved bytes (point of no return)',
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.crl], keyLabels: [], references: [{ path: ['approvals'], step: p.approvals, actions: ['collect-approvals'] }], ...(p['root-key-label'] === undefined ? {} : { usesKeyLabels: [p['root-key-label']] }) }),
  check: (p, ctx) => (ctx.script.type !== 'root' && p['root-key-label'] === undefined ? [{ path: 'params.root-key-label', message: 'outside a root ceremony, name the root key by its label' }] : []),
  questions: () => [],
  async precondition(ctx) {
    const { prepared, issuerStep } = inputsOf(ctx);
    const session = await ctx.hsm.login();
    keyByLabel(session, rootLabel(ctx, issuerStep), prepared.signerSpkiSha256);
  },
  async execute(ctx) {
    const { prepared, approvalFiles, issuerStep } = inputsOf(ctx);
    const session = await ctx.hsm.login();
    // The quorum is checked over the prepared bytes before the HSM is asked (M3).
    const { issued, decision } = await signUnderQuorum(ctx, session, rootLabel(ctx, issuerStep), prepared, approvalFiles);
    ctx.files.write(ctx.params.crl, issued.pem);
    ctx.record('crl.issued', { crl: { issuer: issued.record.issuer, crlNumber: issued.record.crlNumber, sha256: issued.record.sha256, tbsSha256: issued.record.tbsSha256, thisUpdate: issued.record.thisUpdate, nextUpdate: issued.record.nextUpdate, revoked: issued.record.revokedCount } });
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `CRL number ${issued.record.crlNumber} signed with the approval of ${decision.approvals.map((a) => a.custodian).join(', ')}; written to ${ctx.params.crl}. SHA-256: ${issued.record.sha256}` });
    return outcomeOf(ctx, issued.record);
  },
  async reconcile(ctx, record) {
    const { prepared } = inputsOf(ctx);
    const mine = crlsOfStep(ctx, prepared.signerSpkiSha256);
    if (record.status !== 'started') {
      if (mine.length !== 1 || mine[0]!.sha256 !== record.result?.['sha256']) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', 'the CA store does not hold the CRL this step recorded');
      return { kind: 'verified' };
    }
    if (mine.length === 0) return { kind: 'redo', note: 'the CRL had not been signed and recorded; it is signed now (its number was not used)' };
    writeOrAdopt(ctx, ctx.params.crl, mine[0]!.pem, (p) => readFileSync(p, 'utf8'));
    return { kind: 'adopt', outcome: outcomeOf(ctx, mine[0]!), note: `CRL number ${mine[0]!.crlNumber} was signed and recorded before the interruption; adopted` };
  },
};
