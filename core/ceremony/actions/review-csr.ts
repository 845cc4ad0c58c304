/**
 * @module ceremony/actions/review-csr
 * Step action `review-csr` (core/pki, core/ca, core/quorum): for each CSR of the imported
 * `intermediate-request` bundle, verifies it, builds the exact to-be-signed intermediate certificate
 * from the profile (only the public key comes from the CSR; subject and extensions from the profile
 * and the script; the requested window when given, capped by the profile and the root), lints it,
 * shows the decoded fields, the notes about what the CSR asked for and was ignored, and the TBS
 * SHA-256 in hex and words, and asks the administrator to accept or reject it. Each accepted one is
 * written as a prepared object with the approval request the custodians sign next.
 *
 * Must never: copy a subject, an extension or a validity from a CSR beyond what the profile allows.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { prepareIntermediate, preparedToJson } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { defaultProfile, parseCsr, profileForTrustDomain, type CertificateProfile } from '../../pki/index.ts';
import { createApprovalRequest, serializeApprovalRequest } from '../../quorum/index.ts';
import { stepRef } from './common.ts';
import { issuerPem } from './prepare-crl.ts';
import { certificateProfileWith, showPrepared, subjectOf } from './pki-helpers.ts';
import type { ActionDefinition, StepContext } from './types.ts';
import type { JsonObject } from '../types.ts';

const KEY_ALGORITHMS = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384'] as const;

const params = z.strictObject({
  request: stepRef,
  'trust-domain': z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/u, "must be a SPIFFE trust domain name such as 'example.org'"),
  'validity-days': z.number().int().min(1).max(365).default(90),
  'key-algorithms': z.array(z.enum(KEY_ALGORITHMS)).min(1).default(['rsa-2048', 'ec-p256']),
  'max-csrs': z.number().int().min(1).max(16).default(8),
  subject: z
    .strictObject({
      'common-name': z.string().min(1).max(40).default('NEAM Intermediate CA'),
      organization: z.string().min(1).max(64).optional(),
    })
    .default({ 'common-name': 'NEAM Intermediate CA' }),
  'approval-valid-hours': z.number().int().min(1).max(720).default(24),
});
/** Parameters of `review-csr`. */
export type ReviewCsrParams = z.infer<typeof params>;
type Params = ReviewCsrParams;

/** One CSR handed over by the import step. */
export interface RequestedCsr {
  name: string;
  /** The CSR's file in the ceremony folder. */
  csr: string;
  notBefore?: string;
  notAfter?: string;
}

/** The CSRs the import step recorded. */
export function csrsOf<P>(ctx: StepContext<P>, step: string): RequestedCsr[] {
  const r = ctx.resultOf(step);
  const list = Array.isArray(r?.['requests']) ? (r['requests'] as JsonObject[]) : undefined;
  if (list === undefined) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${step}' has not imported a request yet`);
  return list.map((x) => ({ name: String(x['name']), csr: String(x['csr']), ...(typeof x['notBefore'] === 'string' ? { notBefore: x['notBefore'] } : {}), ...(typeof x['notAfter'] === 'string' ? { notAfter: x['notAfter'] } : {}) }));
}

/**
 * The validity to ask for: the requested window (a staggered intermediate starts later), never
 * starting in the past and never longer than the script's validity; the profile and the root's
 * notAfter cap it further (core/pki).
 */
function window(req: RequestedCsr, now: Date, days: number): { notBefore?: Date; notAfter?: Date } {
  const nb = req.notBefore === undefined ? undefined : new Date(req.notBefore);
  const start = nb !== undefined && nb.getTime() > now.getTime() ? nb : undefined;
  const longest = (start ?? now).getTime() + days * 86_400_000;
  const na = req.notAfter === undefined ? undefined : new Date(Math.min(new Date(req.notAfter).getTime(), longest));
  return { ...(start === undefined ? {} : { notBefore: start }), ...(na === undefined ? {} : { notAfter: na }) };
}

function keySpecOf(info: ReturnType<typeof parseCsr>['publicKey']): string {
  if (info.type === 'RSA') return `rsa-${info.bits}`;
  if (info.type === 'EC') return info.curve === 'P-256' ? 'ec-p256' : 'ec-p384';
  return info.algorithm;
}

/**
 * The intermediate profile a `review-csr` step with these parameters builds for a CSR (by its key
 * algorithm): the reviewed script, not the prepared file, is what `sign-intermediate` checks the
 * file's profile against.
 * @throws {CoreError} ERR_PKI_KEY_UNSUPPORTED (a key the script does not accept), ERR_PKI_CSR_*
 */
export function intermediateProfileFor(p: Pick<Params, 'key-algorithms' | 'trust-domain' | 'validity-days'>, csrPem: string, name: string): CertificateProfile {
  const spec = keySpecOf(parseCsr(csrPem).publicKey);
  if (!(p['key-algorithms'] as readonly string[]).includes(spec)) {
    throw new CoreError('ERR_PKI_KEY_UNSUPPORTED', `CSR '${name}' has a ${spec} key; this script accepts ${p['key-algorithms'].join(', ')}. Nothing was prepared: reject the request bundle or review a script that accepts it`);
  }
  const base = defaultProfile(spec.startsWith('ec-') ? 'intermediate-ecdsa' : 'intermediate');
  return certificateProfileWith(profileForTrustDomain({ ...base, subjectKey: [spec as (typeof KEY_ALGORITHMS)[number]] }, p['trust-domain']), { validityDays: p['validity-days'] });
}

/** `review-csr`. */
export const reviewCsr: ActionDefinition<Params> = {
  summary: 'verify each CSR of an imported request, build and lint the exact TBS of each intermediate, show it for acceptance, and prepare the approval requests',
  ceremonyTypes: ['intermediate'],
  params,
  pointOfNoReturn: false,
  hsm: 'module',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['request'], step: p.request, actions: ['import-bundle'] }] }),
  questions: (_p, step) => [{ key: ['steps', step.id, 'decision', '*'], wildcard: 'name', secret: false, attestation: true, description: "'accept' or 'reject' for each CSR (by its name in the request)" }],
  async precondition(ctx) {
    const csrs = csrsOf(ctx, ctx.params.request);
    if (csrs.length === 0 || csrs.length > ctx.params['max-csrs']) throw new CoreError('ERR_CEREMONY_STEP_FAILED', `the request holds ${csrs.length} CSR(s); this script accepts 1 to ${ctx.params['max-csrs']}`);
    issuerPem(ctx, undefined);
  },
  async execute(ctx) {
    const ca = ctx.ca();
    const session = ctx.hsm.session();
    const root = issuerPem(ctx, undefined);
    const roster = ca.currentRoster();
    if (roster === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', 'the CA folder has no quorum roster; the custodians enrolled by the root ceremony approve intermediates');
    const items: JsonObject[] = [];
    const rejected: string[] = [];
    for (const [i, req] of csrsOf(ctx, ctx.params.request).entries()) {
      const csrPem = readFileSync(ctx.files.path(req.csr), 'utf8');
      const info = parseCsr(csrPem);
      const profile = intermediateProfileFor(ctx.params, csrPem, req.name);
      const subject = subjectOf({ 'common-name': `${ctx.params.subject['common-name']} ${req.name}`.slice(0, 64), organization: ctx.params.subject.organization ?? 'NEAM CA' }, ctx.ceremony.rehearsal);
      const prepared = prepareIntermediate({
        profile,
        csr: csrPem,
        issuerCertificate: root,
        subject,
        ...window(req, ctx.now(), ctx.params['validity-days']),
        now: ctx.now(),
        random: (n) => session.random(n),
        store: ca.pki,
      });
      showPrepared(ctx, `Intermediate '${req.name}' (CSR ${info.sha256})`, prepared);
      const decision = await ctx.io.ask({ kind: 'choice', key: ctx.key('decision', req.name), prompt: `Accept intermediate '${req.name}' as shown? `, choices: ['accept', 'reject'], attestation: true });
      if (decision !== 'accept') {
        rejected.push(req.name);
        continue;
      }
      const preparedFile = `${ctx.step.id}-${i + 1}.prepared.json`;
      ctx.files.write(preparedFile, `${JSON.stringify(preparedToJson(prepared), null, 2)}\n`);
      const request = createApprovalRequest({ roster, operation: 'sign-intermediate', tbsDer: prepared.tbsDer, now: ctx.now(), validForMs: ctx.params['approval-valid-hours'] * 3_600_000, random: (n) => randomBytes(n) });
      ca.quorum.addRequest(request);
      const requestFile = `${ctx.step.id}-${i + 1}.request.json`;
      ctx.files.write(requestFile, serializeApprovalRequest(request));
      items.push({ kind: 'certificate', name: req.name, csr: req.csr, csrSha256: info.sha256, prepared: preparedFile, request: requestFile, requestId: request.requestId, tbsSha256: prepared.tbsSha256, subject: prepared.summary.subject, notBefore: prepared.summary.notBefore, notAfter: prepared.summary.notAfter });
    }
    ctx.record('intermediates.reviewed', { accepted: items.map((x) => ({ name: x['name'] ?? null, tbsSha256: x['tbsSha256'] ?? null, csrSha256: x['csrSha256'] ?? null })), rejected });
    if (items.length === 0) throw new CoreError('ERR_CEREMONY_STEP_FAILED', 'every CSR was rejected; nothing is left to sign. Abort the ceremony');
    return { result: { items, rejected } };
  },
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the CSRs are reviewed again' } : { kind: 'verified' }),
};
