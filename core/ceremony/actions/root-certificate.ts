/**
 * @module ceremony/actions/root-certificate
 * Step action `root-certificate` (core/pki, core/ca): builds the self-signed root certificate for
 * the key an earlier step generated (proven to be that key by its public-key hash), lints the exact
 * to-be-signed bytes against the root profile, shows them (fields, TBS SHA-256 in hex and words),
 * signs in the HSM, verifies the signature, checks the signed TBS equals the linted one, lints
 * again, records it in the CA store, and writes it (PEM). In rehearsals the common name starts with
 * `REHEARSAL`.
 *
 * Must never: sign before the lint passed, or with a key other than the referenced step's.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { prepareRoot, signPrepared } from '../../ca/index.ts';
import { hsmSigner } from '../../crypto/signer.ts';
import { CoreError } from '../../errors.ts';
import { defaultProfile } from '../../pki/index.ts';
import { outputName, stepRef, subjectSchema } from './common.ts';
import { ceremonyRef, certificateProfileWith, certificateRecordData, certificatesOfStep, keyByLabel, showPrepared, subjectOf, writeOrAdopt } from './pki-helpers.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';
import type { CertificateRecord } from '../../ca/index.ts';

const params = z.strictObject({
  key: stepRef,
  subject: subjectSchema,
  'validity-days': z.number().int().min(1).max(9131).default(3652),
  'path-length': z.number().int().min(0).max(4).default(1),
  certificate: outputName.default('root.pem'),
});
type Params = z.infer<typeof params>;

function keyOf(ctx: StepContext<Params>): { label: string; spkiSha256: string } {
  const r = ctx.resultOf(ctx.params.key);
  if (r === undefined || typeof r['label'] !== 'string' || typeof r['spkiSha256'] !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${ctx.params.key}' has not generated its key yet`);
  return { label: r['label'], spkiSha256: r['spkiSha256'] };
}

function outcomeOf(ctx: StepContext<Params>, r: CertificateRecord, label: string): StepOutcome {
  return { result: { certificate: ctx.params.certificate, keyLabel: label, serial: r.serial, subject: r.subject, sha256: r.sha256, spkiSha256: r.spkiSha256, tbsSha256: r.tbsSha256, notBefore: r.notBefore, notAfter: r.notAfter } };
}

/** `root-certificate`. */
export const rootCertificate: ActionDefinition<Params> = {
  summary: 'build, lint, sign (in the HSM) and verify the self-signed root certificate for a key generated earlier',
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.certificate], keyLabels: [], references: [{ path: ['key'], step: p.key, actions: ['generate-key'] }] }),
  questions: () => [],
  async precondition(ctx) {
    const session = await ctx.hsm.login();
    const k = keyOf(ctx);
    keyByLabel(session, k.label, k.spkiSha256);
    if (ctx.ca().pki.certificates({ role: 'root' }).some((c) => !c.ceremony.rehearsal === !ctx.ceremony.rehearsal)) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} already has a root certificate; a CA has one root`);
    }
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const k = keyOf(ctx);
    const { key, spki } = keyByLabel(session, k.label, k.spkiSha256);
    const profile = certificateProfileWith(defaultProfile('root'), { validityDays: ctx.params['validity-days'], pathLength: ctx.params['path-length'] });
    const store = ctx.ca().pki;
    const prepared = prepareRoot({ profile, spki, subject: subjectOf(ctx.params.subject, ctx.ceremony.rehearsal), now: ctx.now(), random: (n) => session.random(n), store });
    showPrepared(ctx, 'Root certificate', prepared);
    const issued = signPrepared(prepared, hsmSigner(session, key, prepared.signatureAlgorithm), { store, ceremony: ceremonyRef(ctx), now: ctx.now(), expectTbsSha256: prepared.tbsSha256 });
    ctx.files.write(ctx.params.certificate, issued.pem);
    ctx.record('certificate.issued', certificateRecordData(issued.record));
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Root certificate issued and written to ${ctx.params.certificate}. SHA-256 (read aloud): ${issued.record.sha256}`, data: { sha256: issued.record.sha256 } });
    return outcomeOf(ctx, issued.record, k.label);
  },
  async reconcile(ctx, record) {
    const mine = certificatesOfStep(ctx);
    if (record.status !== 'started') {
      if (mine.length !== 1 || mine[0]!.sha256 !== record.result?.['sha256']) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `the CA store does not hold the root certificate this step recorded`);
      return { kind: 'verified' };
    }
    if (mine.length === 0) return { kind: 'redo', note: 'the root certificate had not been signed and recorded' };
    // Signed and recorded in the CA store before the interruption: write or adopt the file.
    writeOrAdopt(ctx, ctx.params.certificate, mine[0]!.pem, (p) => readFileSync(p, 'utf8'));
    return { kind: 'adopt', outcome: outcomeOf(ctx, mine[0]!, keyOf(ctx).label), note: `root certificate ${mine[0]!.sha256} was issued and recorded before the interruption; adopted` };
  },
};
