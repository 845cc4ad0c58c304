/**
 * @module ceremony/actions/prepare-root-certificate
 * Step action `prepare-root-certificate` (core/pki, core/ca, core/quorum): builds the exact TBS of
 * the self-signed root certificate for the key an earlier step generated (proven to be that key by
 * its public-key hash), lints it against the root profile, shows it (fields, TBS SHA-256 in hex
 * and words), and writes the prepared object and the approval request (operation
 * `sign-root-certificate`) the custodians review (also usable with `neam-ca approve` on their own
 * machines). Nothing is signed until `root-certificate`, which signs only these bytes and only
 * with M valid approvals over them. In rehearsals the common name starts with `REHEARSAL`.
 *
 * Must never: sign; prepare a root when the CA folder already has one; prepare without a quorum
 * roster to approve it (a root signature without approvals is what this step exists to prevent).
 */
import { randomBytes } from 'node:crypto';

import { z } from 'zod';

import { prepareRoot, preparedToJson } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { defaultProfile, type CertificateProfile } from '../../pki/index.ts';
import { createApprovalRequest, serializeApprovalRequest } from '../../quorum/index.ts';
import { stepRef, subjectSchema } from './common.ts';
import { certificateProfileWith, keyByLabel, showPrepared, subjectOf } from './pki-helpers.ts';
import type { ActionDefinition, StepContext } from './types.ts';

const params = z.strictObject({
  key: stepRef,
  subject: subjectSchema,
  'validity-days': z.number().int().min(1).max(9131).default(3652),
  'path-length': z.number().int().min(0).max(4).default(1),
  /** How long custodians' approvals of this root certificate stay valid. */
  'approval-valid-hours': z.number().int().min(1).max(720).default(24),
});
/** Parameters of `prepare-root-certificate`. */
export type PrepareRootCertificateParams = z.infer<typeof params>;
type Params = PrepareRootCertificateParams;

/**
 * The root profile a `prepare-root-certificate` step with these parameters builds with: the
 * reviewed script, not the prepared file, is what `root-certificate` checks the file's profile
 * against.
 */
export function rootProfileFor(p: Pick<Params, 'validity-days' | 'path-length'>): CertificateProfile {
  return certificateProfileWith(defaultProfile('root'), { validityDays: p['validity-days'], pathLength: p['path-length'] });
}

/**
 * The label and public-key hash of the key a `generate-key` step generated.
 * @throws {CoreError} ERR_CEREMONY_STEP_OUT_OF_ORDER
 */
export function generatedKeyOf<P>(ctx: StepContext<P>, keyStep: string): { label: string; spkiSha256: string } {
  const r = ctx.resultOf(keyStep);
  if (r === undefined || typeof r['label'] !== 'string' || typeof r['spkiSha256'] !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${keyStep}' has not generated its key yet`);
  return { label: r['label'], spkiSha256: r['spkiSha256'] };
}

/**
 * A CA folder has one root: refuses when the CA store already records one of this kind
 * (rehearsal or real).
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID
 */
export function refuseSecondRoot<P>(ctx: StepContext<P>): void {
  if (ctx.ca().pki.certificates({ role: 'root' }).some((c) => !c.ceremony.rehearsal === !ctx.ceremony.rehearsal)) {
    throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} already has a root certificate; a CA has one root`);
  }
}

/** `prepare-root-certificate`. */
export const prepareRootCertificate: ActionDefinition<Params> = {
  summary: 'build and lint the exact TBS of the self-signed root certificate for a key generated earlier, and the approval request for it (nothing signed)',
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p, step) => ({ outputs: [`${step.id}.prepared.json`, `${step.id}.request.json`], keyLabels: [], references: [{ path: ['key'], step: p.key, actions: ['generate-key'] }] }),
  questions: () => [],
  async precondition(ctx) {
    const session = await ctx.hsm.login();
    const k = generatedKeyOf(ctx, ctx.params.key);
    keyByLabel(session, k.label, k.spkiSha256);
    refuseSecondRoot(ctx);
    if (ctx.ca().currentRoster() === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} has no quorum roster; the root certificate needs the approval of the custodians enrolled before it`);
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const k = generatedKeyOf(ctx, ctx.params.key);
    const { spki } = keyByLabel(session, k.label, k.spkiSha256);
    const ca = ctx.ca();
    const roster = ca.currentRoster();
    if (roster === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} has no quorum roster; the root certificate needs the approval of the custodians enrolled before it`);
    // The serial (RFC 5280 §4.1.2.2) is drawn from the token's random generator.
    const prepared = prepareRoot({ profile: rootProfileFor(ctx.params), spki, subject: subjectOf(ctx.params.subject, ctx.ceremony.rehearsal), now: ctx.now(), random: (n) => session.random(n), store: ca.pki });
    showPrepared(ctx, 'Root certificate', prepared);
    const preparedFile = `${ctx.step.id}.prepared.json`;
    ctx.files.write(preparedFile, `${JSON.stringify(preparedToJson(prepared), null, 2)}\n`);
    const request = createApprovalRequest({ roster, operation: 'sign-root-certificate', tbsDer: prepared.tbsDer, now: ctx.now(), validForMs: ctx.params['approval-valid-hours'] * 3_600_000, random: (n) => randomBytes(n) });
    ca.quorum.addRequest(request);
    const requestFile = `${ctx.step.id}.request.json`;
    ctx.files.write(requestFile, serializeApprovalRequest(request));
    const item = { kind: 'certificate', prepared: preparedFile, request: requestFile, requestId: request.requestId, tbsSha256: prepared.tbsSha256, keyLabel: k.label, spkiSha256: k.spkiSha256, subject: prepared.summary.subject, notBefore: prepared.summary.notBefore, notAfter: prepared.summary.notAfter };
    // No serial in the record: the transcript report lists objects with a subject and a serial as
    // certificates, and nothing is issued yet.
    ctx.record('root-certificate.prepared', item);
    return { result: { items: [item] } };
  },
  // Preparing signs nothing: an interrupted preparation is done again (its files set aside); the
  // abandoned request can never be signed, since its bytes are not the new prepared ones.
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the root certificate is prepared again' } : { kind: 'verified' }),
};
