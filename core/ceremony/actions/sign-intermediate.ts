/**
 * @module ceremony/actions/sign-intermediate
 * Step action `sign-intermediate` (core/pki, core/ca, core/quorum): for each intermediate accepted
 * and approved in the earlier steps, checks the quorum of approvals over its exact TBS (each approval
 * verified again), signs it with the root key in the HSM (proven to be the issuer's key), verifies
 * it, checks the signed TBS equals the approved bytes, lints again, records it in the CA store and
 * writes it with its chain. This is the point of no return: a signature cannot be taken back.
 * After a crash, intermediates already signed and recorded are taken from the CA store, never
 * signed twice.
 *
 * Must never: sign without M valid approvals over exactly these bytes.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { preparedFromJson, type CertificateRecord, type PreparedCertificate } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import type { JsonObject } from '../types.ts';
import { keyLabel, stepRef } from './common.ts';
import { issuerPem } from './prepare-crl.ts';
import { intermediateProfileFor, type ReviewCsrParams } from './review-csr.ts';
import { certificateRecordData, certificatesOfStep, keyByLabel } from './pki-helpers.ts';
import { signUnderQuorum } from './quorum-sign.ts';
import type { ActionDefinition, StepContext } from './types.ts';

const params = z.strictObject({
  approvals: stepRef,
  'root-key-label': keyLabel,
  'file-prefix': z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/u).default('intermediate'),
});
type Params = z.infer<typeof params>;

interface Item {
  name: string;
  prepared: string;
  csr: string;
  csrSha256: string;
  /** The TBS digest the custodians were asked to approve. */
  tbsSha256: string;
  approvalFiles: string[];
}

function itemsOf(ctx: StepContext<Params>): { items: Item[]; review: ReviewCsrParams } {
  const approvals = ctx.resultOf(ctx.params.approvals);
  const forStep = (ctx.script.steps.find((s) => s.id === ctx.params.approvals)?.params as { for?: string } | undefined)?.for;
  const reviewResult = forStep === undefined ? undefined : ctx.resultOf(forStep);
  const items = Array.isArray(reviewResult?.['items']) ? (reviewResult['items'] as JsonObject[]) : undefined;
  const requests = Array.isArray(approvals?.['requests']) ? (approvals['requests'] as JsonObject[]) : undefined;
  if (items === undefined || requests === undefined || items.length !== requests.length) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', 'the intermediates have not been reviewed and approved yet');
  const review = ctx.script.steps.find((s) => s.id === forStep)?.params as ReviewCsrParams;
  return {
    review,
    items: items.map((it, i) => ({
      name: String(it['name']),
      prepared: String(it['prepared']),
      csr: String(it['csr']),
      csrSha256: String(it['csrSha256']),
      tbsSha256: String(requests[i]!['tbsSha256']),
      approvalFiles: (requests[i]!['files'] as string[]).map((f) => ctx.files.path(f)),
    })),
  };
}

/**
 * An item's prepared file, loaded against what it cannot vouch for itself (core/ca H2): the
 * profile the reviewed script builds for its CSR, the TBS digest the custodians were asked to
 * approve, and the issuer (the root) as the CA store records it.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID, ERR_PKI_TBS_MISMATCH, ERR_PKI_CHAIN_INVALID, ERR_CEREMONY_STEP_FAILED, …
 */
function loadPrepared(ctx: StepContext<Params>, item: Item, review: ReviewCsrParams): PreparedCertificate {
  const profile = intermediateProfileFor(review, readFileSync(ctx.files.path(item.csr), 'utf8'), item.name);
  const prepared = preparedFromJson(JSON.parse(readFileSync(ctx.files.path(item.prepared), 'utf8')) as unknown, { store: ctx.ca().pki, profile, expectTbsSha256: item.tbsSha256 });
  if (prepared.kind !== 'certificate') throw new CoreError('ERR_CEREMONY_STEP_FAILED', `${item.prepared} is not a prepared certificate`);
  return prepared;
}

function fileNames(ctx: StepContext<Params>, name: string): { certificate: string; chain: string } {
  return { certificate: `${ctx.params['file-prefix']}-${name}.pem`, chain: `${ctx.params['file-prefix']}-${name}-chain.pem` };
}

function writeFiles(ctx: StepContext<Params>, name: string, pem: string, rootPem: string): { certificate: string; chain: string } {
  const f = fileNames(ctx, name);
  for (const [file, content] of [[f.certificate, pem], [f.chain, `${pem}${rootPem.endsWith('\n') ? rootPem : `${rootPem}\n`}`]] as const) {
    if (ctx.files.exists(file)) {
      if (readFileSync(ctx.files.path(file), 'utf8') !== content) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(file)} does not hold what the CA store recorded; move it away and resume`);
      ctx.files.adopt(file);
    } else {
      ctx.files.write(file, content);
    }
  }
  return f;
}

function resultEntry(name: string, files: { certificate: string; chain: string }, r: CertificateRecord, csrSha256: string): JsonObject {
  return { name, certificate: files.certificate, chain: files.chain, csrSha256, serial: r.serial, subject: r.subject, sha256: r.sha256, tbsSha256: r.tbsSha256, notBefore: r.notBefore, notAfter: r.notAfter };
}

/** `sign-intermediate`. */
export const signIntermediate: ActionDefinition<Params> = {
  summary: 'sign each approved intermediate TBS with the root key; verify; check the signed TBS equals the approved bytes (point of no return)',
  ceremonyTypes: ['intermediate'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['approvals'], step: p.approvals, actions: ['collect-approvals'] }], usesKeyLabels: [p['root-key-label']] }),
  questions: () => [],
  async precondition(ctx) {
    const { items, review } = itemsOf(ctx);
    const session = await ctx.hsm.login();
    const first = loadPrepared(ctx, items[0]!, review);
    keyByLabel(session, ctx.params['root-key-label'], first.signerSpkiSha256);
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const rootPem = issuerPem(ctx, undefined);
    const done = certificatesOfStep(ctx);
    const issued: JsonObject[] = [];
    const { items, review } = itemsOf(ctx);
    for (const item of items) {
      const prepared = loadPrepared(ctx, item, review);
      // Signed before an interruption: take it from the CA store, never sign twice.
      const before = done.find((c) => c.tbsSha256 === prepared.tbsSha256);
      if (before !== undefined) {
        issued.push(resultEntry(item.name, writeFiles(ctx, item.name, before.pem, rootPem), before, item.csrSha256));
        continue;
      }
      // The quorum is checked over the prepared bytes before the HSM is asked (M3).
      const { issued: result, decision } = await signUnderQuorum(ctx, session, ctx.params['root-key-label'], prepared, item.approvalFiles);
      ctx.record('certificate.issued', certificateRecordData(result.record));
      const files = writeFiles(ctx, item.name, result.pem, rootPem);
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Intermediate '${item.name}' signed with the approval of ${decision.approvals.map((a) => a.custodian).join(', ')}: serial ${result.record.serial}, SHA-256 ${result.record.sha256}; written to ${files.certificate}` });
      issued.push(resultEntry(item.name, files, result.record, item.csrSha256));
    }
    return { result: { intermediates: issued } };
  },
  async reconcile(ctx, record) {
    const done = certificatesOfStep(ctx);
    if (record.status !== 'started') {
      const want = Array.isArray(record.result?.['intermediates']) ? (record.result['intermediates'] as JsonObject[]).map((x) => x['sha256']) : [];
      if (!want.every((sha) => done.some((c) => c.sha256 === sha))) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', 'the CA store does not hold every intermediate this step recorded');
      return { kind: 'verified' };
    }
    // Run again: intermediates already recorded are written from the CA store, the rest signed.
    return { kind: 'redo', note: done.length === 0 ? 'no intermediate had been signed yet' : `${done.length} intermediate(s) signed before the interruption are taken from the CA store; the rest are signed now` };
  },
};
