/**
 * @module ceremony/actions/prepare-crl
 * Step action `prepare-crl` (core/pki, core/ca, core/quorum): builds the exact TBS of the root's
 * next CRL (CRL number from the CA store, every recorded revocation, this and next update), lints
 * it, shows it (fields, TBS SHA-256 in hex and words), and writes the prepared object and the
 * approval request the custodians review (also usable with `neam-ca approve` on their own
 * machines). Nothing is signed and no CRL number is consumed until `sign-crl`.
 *
 * Must never: reuse or lower a CRL number (core/ca refuses it).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { prepareCrl, preparedToJson } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { defaultProfile, type CrlProfile } from '../../pki/index.ts';
import { createApprovalRequest, serializeApprovalRequest } from '../../quorum/index.ts';
import { stepRef } from './common.ts';
import { crlProfileWith, showPrepared } from './pki-helpers.ts';
import type { ActionDefinition, StepContext } from './types.ts';

const params = z.strictObject({
  issuer: stepRef.optional(),
  'next-update-days': z.number().int().min(1).max(365).default(90),
  /** How long custodians' approvals of this CRL stay valid. */
  'approval-valid-hours': z.number().int().min(1).max(720).default(24),
});
/** Parameters of `prepare-crl`. */
export type PrepareCrlParams = z.infer<typeof params>;
type Params = PrepareCrlParams;

/**
 * The CRL profile a `prepare-crl` step with these parameters builds with: the reviewed script, not
 * the prepared file, is what `sign-crl` checks the file's profile against.
 */
export function crlProfileFor(p: Pick<Params, 'next-update-days'>): CrlProfile {
  return crlProfileWith(defaultProfile('crl-root'), p['next-update-days']);
}

/** The root certificate (PEM) that issues the CRL: from the named step, or the CA store's root. */
export function issuerPem<P>(ctx: StepContext<P>, issuerStep: string | undefined): string {
  if (issuerStep !== undefined) {
    const r = ctx.resultOf(issuerStep);
    if (r === undefined || typeof r['certificate'] !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${issuerStep}' has not issued its certificate yet`);
    return readFileSync(ctx.files.path(r['certificate']), 'utf8');
  }
  const roots = ctx.ca().pki.certificates({ role: 'root' });
  if (roots.length !== 1) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} holds ${roots.length} root certificates; the root ceremony records exactly one`);
  return roots[0]!.pem;
}

/** `prepare-crl`. */
export const prepareCrlAction: ActionDefinition<Params> = {
  summary: "build and lint the exact TBS of the root's next CRL (number, revocations, next update) and the approval request for it",
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p, step) => ({ outputs: [`${step.id}.prepared.json`, `${step.id}.request.json`], keyLabels: [], references: p.issuer === undefined ? [] : [{ path: ['issuer'], step: p.issuer, actions: ['root-certificate'] }] }),
  check: (p, ctx) => (ctx.script.type === 'root' && p.issuer === undefined ? [{ path: 'params.issuer', message: 'in a root ceremony, name the root-certificate step that issues the CRL' }] : []),
  questions: () => [],
  precondition: async (ctx) => {
    issuerPem(ctx, ctx.params.issuer);
  },
  async execute(ctx) {
    const ca = ctx.ca();
    const profile = crlProfileFor(ctx.params);
    const prepared = prepareCrl({ profile, issuerCertificate: issuerPem(ctx, ctx.params.issuer), store: ca.pki, now: ctx.now() });
    showPrepared(ctx, `CRL number ${prepared.crlNumber}`, prepared);
    const preparedFile = `${ctx.step.id}.prepared.json`;
    ctx.files.write(preparedFile, `${JSON.stringify(preparedToJson(prepared), null, 2)}\n`);
    const roster = ca.currentRoster();
    let request: { file: string; requestId: string } | null = null;
    if (roster !== undefined) {
      const r = createApprovalRequest({ roster, operation: 'sign-crl', tbsDer: prepared.tbsDer, now: ctx.now(), validForMs: ctx.params['approval-valid-hours'] * 60 * 60 * 1000, random: (n) => randomBytes(n) });
      ca.quorum.addRequest(r);
      const file = `${ctx.step.id}.request.json`;
      ctx.files.write(file, serializeApprovalRequest(r));
      request = { file, requestId: r.requestId };
    }
    const item = { kind: 'crl', prepared: preparedFile, request: request?.file ?? null, requestId: request?.requestId ?? null, tbsSha256: prepared.tbsSha256, crlNumber: prepared.crlNumber, revoked: prepared.summary.revoked.length };
    ctx.record('crl.prepared', item);
    return { result: { items: [item] } };
  },
  // Preparing changes nothing: an interrupted preparation is done again (its files set aside).
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the CRL is prepared again' } : { kind: 'verified' }),
};
