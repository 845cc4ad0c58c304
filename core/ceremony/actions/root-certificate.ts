/**
 * @module ceremony/actions/root-certificate
 * Step action `root-certificate` (core/pki, core/ca, core/quorum): takes the root certificate
 * prepared by `prepare-root-certificate` and approved by `collect-approvals`, loads the prepared
 * file against the reviewed script's root profile and the digest the custodians approved, checks
 * the quorum of approvals over its exact TBS (every approval verified again), signs it in the HSM
 * with the key the preparation named (proven by its public-key hash to be the key the
 * `generate-key` step generated), verifies the signature, checks the signed TBS equals the
 * approved bytes, lints again, records it in the CA store, and writes it (PEM). After a crash, a
 * root the CA store already holds is adopted, never signed twice.
 *
 * Must never: sign without M valid approvals over exactly these bytes, sign bytes other than the
 * approved ones, or sign with a key other than the one the referenced `generate-key` step made.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { preparedFromJson, type CertificateRecord, type PreparedCertificate } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { outputName, stepRef } from './common.ts';
import { generatedKeyOf, refuseSecondRoot, rootProfileFor, type PrepareRootCertificateParams } from './prepare-root-certificate.ts';
import { certificateRecordData, certificatesOfStep, keyByLabel, writeOrAdopt } from './pki-helpers.ts';
import { signUnderQuorum } from './quorum-sign.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  approvals: stepRef,
  certificate: outputName.default('root.pem'),
});
type Params = z.infer<typeof params>;

/** What the preparation and approval steps left for this one. */
interface Inputs {
  prepared: PreparedCertificate;
  approvalFiles: string[];
  /** The key the `generate-key` step made (label and public-key hash). */
  key: { label: string; spkiSha256: string };
}

/**
 * The prepared root certificate and the approval files behind the approvals step. The prepared file
 * is loaded against what it cannot vouch for itself (core/ca H2): the profile the reviewed script's
 * `prepare-root-certificate` step builds with and the TBS digest the custodians were asked to
 * approve; its key must be the one the `generate-key` step recorded.
 * @throws {CoreError} ERR_CEREMONY_STEP_OUT_OF_ORDER, ERR_CEREMONY_STEP_FAILED, ERR_HSM_KEY_MISMATCH,
 *   ERR_PKI_TBS_MISMATCH, ERR_PKI_PROFILE_INVALID, ERR_PKI_LINT_FAILED, ERR_INPUT_INVALID
 */
function inputsOf(ctx: StepContext<Params>): Inputs {
  const approvals = ctx.resultOf(ctx.params.approvals);
  const prepStep = (ctx.script.steps.find((s) => s.id === ctx.params.approvals)?.params as { for?: string } | undefined)?.for;
  const prepAction = ctx.script.steps.find((s) => s.id === prepStep)?.action;
  if (prepAction !== 'prepare-root-certificate') throw new CoreError('ERR_CEREMONY_STEP_FAILED', `step '${ctx.params.approvals}' approves step '${String(prepStep)}', which does not prepare a root certificate`);
  const prep = ctx.resultOf(prepStep!);
  const items = Array.isArray(prep?.['items']) ? (prep['items'] as Array<Record<string, unknown>>) : undefined;
  const requests = Array.isArray(approvals?.['requests']) ? (approvals['requests'] as Array<Record<string, unknown>>) : undefined;
  if (items === undefined || items.length !== 1 || requests === undefined || requests.length !== 1) {
    throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `the root certificate has not been prepared and approved yet (steps '${String(prepStep)}' and '${ctx.params.approvals}')`);
  }
  const prepParams = ctx.script.steps.find((s) => s.id === prepStep)?.params as PrepareRootCertificateParams;
  const approvedTbs = requests[0]!['tbsSha256'];
  if (typeof approvedTbs !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${ctx.params.approvals}' recorded no approved TBS digest`);
  const prepared = preparedFromJson(JSON.parse(readFileSync(ctx.files.path(String(items[0]!['prepared'])), 'utf8')) as unknown, { store: ctx.ca().pki, profile: rootProfileFor(prepParams), expectTbsSha256: approvedTbs });
  if (prepared.kind !== 'certificate' || prepared.profile.role !== 'root') throw new CoreError('ERR_CEREMONY_STEP_FAILED', `step '${prepStep}' did not prepare a root certificate`);
  const key = generatedKeyOf(ctx, prepParams.key);
  // The prepared bytes carry their own key; it must be the one generated in this ceremony.
  if (prepared.signerSpkiSha256 !== key.spkiSha256) {
    throw new CoreError('ERR_HSM_KEY_MISMATCH', `the prepared root certificate is for the key with SHA-256 ${prepared.signerSpkiSha256}, not the key step '${prepParams.key}' generated (SHA-256 ${key.spkiSha256}); stop and investigate`);
  }
  return { prepared, approvalFiles: (requests[0]!['files'] as string[]).map((f) => ctx.files.path(f)), key };
}

function outcomeOf(ctx: StepContext<Params>, r: CertificateRecord, label: string): StepOutcome {
  return { result: { certificate: ctx.params.certificate, keyLabel: label, serial: r.serial, subject: r.subject, sha256: r.sha256, spkiSha256: r.spkiSha256, tbsSha256: r.tbsSha256, notBefore: r.notBefore, notAfter: r.notAfter } };
}

/** `root-certificate`. */
export const rootCertificate: ActionDefinition<Params> = {
  summary: 'sign the approved root certificate TBS with its own key in the HSM; verify; check the signed TBS equals the approved bytes',
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.certificate], keyLabels: [], references: [{ path: ['approvals'], step: p.approvals, actions: ['collect-approvals'] }] }),
  check: (p, ctx) => {
    const approvalStep = ctx.steps.find((s) => s.id === p.approvals);
    const forStep = (approvalStep?.params as { for?: unknown } | undefined)?.for;
    const target = ctx.steps.find((s) => s.id === forStep);
    return approvalStep !== undefined && target !== undefined && target.action !== 'prepare-root-certificate' ? [{ path: 'params.approvals', message: `step '${p.approvals}' approves step '${String(forStep)}', a '${target.action}' step; expected approvals for a 'prepare-root-certificate' step` }] : [];
  },
  questions: () => [],
  async precondition(ctx) {
    const { prepared, key } = inputsOf(ctx);
    const session = await ctx.hsm.login();
    keyByLabel(session, key.label, prepared.signerSpkiSha256);
    refuseSecondRoot(ctx);
  },
  async execute(ctx) {
    const { prepared, approvalFiles, key: k } = inputsOf(ctx);
    const session = await ctx.hsm.login();
    // Boulder's order (docs/quorum.md): the quorum over the prepared bytes, then the HSM.
    const { issued, decision } = await signUnderQuorum(ctx, session, k.label, prepared, approvalFiles);
    ctx.files.write(ctx.params.certificate, issued.pem);
    ctx.record('certificate.issued', certificateRecordData(issued.record));
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Root certificate signed with the approval of ${decision.approvals.map((a) => a.custodian).join(', ')} and written to ${ctx.params.certificate}. SHA-256 (read aloud): ${issued.record.sha256}`, data: { sha256: issued.record.sha256 } });
    return outcomeOf(ctx, issued.record, k.label);
  },
  async reconcile(ctx, record) {
    const mine = certificatesOfStep(ctx);
    if (record.status !== 'started') {
      if (mine.length !== 1 || mine[0]!.sha256 !== record.result?.['sha256']) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `the CA store does not hold the root certificate this step recorded`);
      return { kind: 'verified' };
    }
    if (mine.length === 0) return { kind: 'redo', note: 'the root certificate had not been signed and recorded' };
    // Signed and recorded in the CA store before the interruption: write or adopt the file. Only
    // the approved bytes can have been recorded (signPrepared re-checks the digest first).
    const { prepared, key } = inputsOf(ctx);
    if (mine[0]!.tbsSha256 !== prepared.tbsSha256) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `the CA store holds a root certificate for step '${ctx.step.id}' whose TBS (SHA-256 ${mine[0]!.tbsSha256}) is not the approved one (${prepared.tbsSha256}); stop and investigate`);
    writeOrAdopt(ctx, ctx.params.certificate, mine[0]!.pem, (p) => readFileSync(p, 'utf8'));
    return { kind: 'adopt', outcome: outcomeOf(ctx, mine[0]!, key.label), note: `root certificate ${mine[0]!.sha256} was issued and recorded before the interruption; adopted` };
  },
};
