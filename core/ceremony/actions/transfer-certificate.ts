/**
 * @module ceremony/actions/transfer-certificate
 * Step action `transfer-certificate` (core/pki, core/ca): the self-signed certificate of the offline
 * transfer key (EC P-256, CA:FALSE, digitalSignature; profile `transfer`), which signs bundle
 * manifests and the transcript's closing record. The online side pins its SHA-256, which is read
 * aloud and recorded. Prepared, linted, signed in the HSM and verified like every certificate.
 *
 * Must never: be issued for a key other than the referenced step's.
 */
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { prepareSelfSigned, signPrepared, type CertificateRecord } from '../../ca/index.ts';
import { hsmSigner } from '../../crypto/signer.ts';
import type { HsmSession, KeyRef } from '../../hsm/types.ts';
import { CoreError } from '../../errors.ts';
import { recordIdentity } from '../../bundle/index.ts';
import { defaultProfile, parsePemOne } from '../../pki/index.ts';
import { outputName, sha256Hex, stepRef, subjectSchema } from './common.ts';
import { ceremonyRef, certificateProfileWith, certificateRecordData, certificatesOfStep, keyByLabel, showPrepared, subjectOf, writeOrAdopt } from './pki-helpers.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  key: stepRef,
  subject: subjectSchema,
  'validity-days': z.number().int().min(1).max(1096).default(730),
  certificate: outputName.default('transfer.pem'),
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

/** Records the certificate as this CA's transfer identity for bundles (once; idempotent). */
function recordTransferIdentity(ctx: StepContext<Params>, der: Buffer, keyLabelText: string, key: KeyRef, session: HsmSession): void {
  const state = ctx.ca().bundle;
  const fingerprint = sha256Hex(der);
  const current = state.currentIdentity();
  if (current?.fingerprint === fingerprint) return;
  recordIdentity(state, { name: ctx.params.subject['common-name'], certificate: der, fingerprint, key: { store: 'hsm', tokenLabel: session.token.label, tokenSerial: session.token.serial, keyLabel: keyLabelText, keyId: key.id }, signer: hsmSigner(session, key, 'ECDSA-SHA256') }, ctx.now());
  ctx.record('bundle.identity', { fingerprint, name: ctx.params.subject['common-name'], keyLabel: keyLabelText });
}

/** `transfer-certificate`. */
export const transferCertificate: ActionDefinition<Params> = {
  summary: 'issue the self-signed certificate of the offline transfer key that signs bundle manifests; its fingerprint is read aloud for pinning',
  ceremonyTypes: ['root', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.certificate], keyLabels: [], references: [{ path: ['key'], step: p.key, actions: ['generate-key'] }] }),
  check(p, ctx) {
    const gen = ctx.steps.find((s) => s.id === p.key);
    const alg = gen === undefined ? undefined : (gen.params as { algorithm?: string }).algorithm;
    return alg !== undefined && alg !== 'ec-p256' ? [{ path: 'params.key', message: `the transfer key must be EC P-256 (the 'transfer' profile); step '${p.key}' makes ${alg}` }] : [];
  },
  questions: () => [],
  async precondition(ctx) {
    const session = await ctx.hsm.login();
    const k = keyOf(ctx);
    keyByLabel(session, k.label, k.spkiSha256);
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const k = keyOf(ctx);
    const { key, spki } = keyByLabel(session, k.label, k.spkiSha256);
    const profile = certificateProfileWith(defaultProfile('transfer'), { validityDays: ctx.params['validity-days'] });
    const store = ctx.ca().pki;
    const prepared = prepareSelfSigned({ profile, spki, subject: subjectOf(ctx.params.subject, ctx.ceremony.rehearsal), now: ctx.now(), random: (n) => session.random(n), store });
    showPrepared(ctx, 'Transfer certificate', prepared);
    const issued = signPrepared(prepared, hsmSigner(session, key, prepared.signatureAlgorithm), { store, ceremony: ceremonyRef(ctx), now: ctx.now(), expectTbsSha256: prepared.tbsSha256 });
    ctx.files.write(ctx.params.certificate, issued.pem);
    recordTransferIdentity(ctx, issued.der, k.label, key, session);
    ctx.record('certificate.issued', certificateRecordData(issued.record));
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Transfer certificate issued and written to ${ctx.params.certificate}. Its SHA-256, which the online side pins (read aloud): ${issued.record.sha256}`, data: { sha256: issued.record.sha256 } });
    return outcomeOf(ctx, issued.record, k.label);
  },
  async reconcile(ctx, record) {
    const mine = certificatesOfStep(ctx);
    if (record.status !== 'started') {
      if (mine.length !== 1 || mine[0]!.sha256 !== record.result?.['sha256']) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', 'the CA store does not hold the transfer certificate this step recorded');
      return { kind: 'verified' };
    }
    if (mine.length === 0) return { kind: 'redo', note: 'the transfer certificate had not been signed and recorded' };
    writeOrAdopt(ctx, ctx.params.certificate, mine[0]!.pem, (p) => readFileSync(p, 'utf8'));
    const session = await ctx.hsm.login();
    const { key } = keyByLabel(session, keyOf(ctx).label, keyOf(ctx).spkiSha256);
    recordTransferIdentity(ctx, parsePemOne(mine[0]!.pem, 'CERTIFICATE'), keyOf(ctx).label, key, session);
    return { kind: 'adopt', outcome: outcomeOf(ctx, mine[0]!, keyOf(ctx).label), note: `transfer certificate ${mine[0]!.sha256} was issued and recorded before the interruption; adopted` };
  },
};
