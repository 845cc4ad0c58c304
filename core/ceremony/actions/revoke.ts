/**
 * @module ceremony/actions/revoke
 * Step action `revoke` (core/pki, core/ca): records the revocation of intermediates issued by this
 * CA's root, after showing each certificate and a typed confirmation; the next `prepare-crl` lists
 * them. Either the certificates come from an imported `revocation-request` bundle (each must be one
 * this CA issued, byte for byte), or one serial is entered on the day with the reason from the
 * script or chosen.
 *
 * Must never: revoke a serial this CA did not issue, a root, or twice (core/ca refuses each).
 */
import { z } from 'zod';

import { revokeCertificate, REVOCATION_REASONS } from '../../ca/index.ts';
import { CoreError } from '../../errors.ts';
import { stepRef } from './common.ts';
import { ceremonyRef } from './pki-helpers.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';
import type { JsonObject } from '../types.ts';

/** RFC 5280 §5.3.1 reason codes a root may give for an intermediate. */
const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;

const params = z.strictObject({
  /** When absent, the reason is chosen on the day (and recorded). */
  reason: z.enum(REASONS).optional(),
  request: stepRef.optional(),
});
type Params = z.infer<typeof params>;

function outcomeOf(serial: string, reason: string, subject: string, revokedAt: string): StepOutcome {
  return { result: { serial, reason, subject, revokedAt } };
}

/** Revokes what an imported revocation-request asks, after checking each certificate is ours. */
async function fromRequest(ctx: StepContext<Params>, step: string): Promise<StepOutcome> {
  const ca = ctx.ca();
  const list = ctx.resultOf(step)?.['revocations'];
  if (!Array.isArray(list) || list.length === 0) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${step}' has not imported a revocation request`);
  const done: JsonObject[] = [];
  for (const [i, raw] of (list as JsonObject[]).entries()) {
    const cert = ca.pki.certificateBySha256(String(raw['sha256']));
    if (cert === undefined || cert.role !== 'intermediate') throw new CoreError('ERR_PKI_NOT_REVOCABLE', `the request asks to revoke ${String(raw['certificate'])} (serial ${String(raw['serial'])}), which is not an intermediate this CA issued; nothing was revoked`);
    if (ca.pki.revocation(cert.serial) !== undefined) {
      done.push({ serial: cert.serial, reason: String(raw['reason']), subject: cert.subject, already: true });
      continue;
    }
    const reason = String(raw['reason']);
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new CoreError('ERR_INPUT_INVALID', `the request gives the reason '${reason}', which a root does not use for an intermediate`);
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Revocation requested (${reason}${typeof raw['comment'] === 'string' ? `: ${raw['comment']}` : ''}):\n    subject ${cert.subject}\n    serial ${cert.serial}\n    SHA-256 ${cert.sha256}` });
    await ctx.io.ask({ kind: 'confirm', key: ctx.key('confirm', String(i + 1)), prompt: `Type REVOKE to revoke ${cert.subject} (${reason}): `, expect: 'REVOKE', attestation: true });
    const rec = revokeCertificate(ca.pki, { serial: cert.serial, reason: reason as (typeof REASONS)[number], revokedAt: ctx.now(), ...(typeof raw['invalidityDate'] === 'string' ? { invalidityDate: new Date(raw['invalidityDate']) } : {}), ceremony: ceremonyRef(ctx), now: ctx.now() });
    ctx.record('certificate.revoked', { serial: cert.serial, reason, subject: cert.subject, sha256: cert.sha256, revokedAt: rec.revokedAt, requestedBy: step });
    done.push({ serial: cert.serial, reason, subject: cert.subject, revokedAt: rec.revokedAt });
  }
  return { result: { revocations: done } };
}

function recordedByStep(ctx: StepContext<Params>): { serial: string; reason: string; revokedAt: string } | undefined {
  const ca = ctx.ca();
  for (const root of ca.pki.certificates({ role: 'root' })) {
    const mine = ca.pki.revocations(root.spkiSha256).filter((r) => r.ceremony.id === ctx.ceremony.id && r.ceremony.step === ctx.step.id);
    if (mine.length > 0) return { serial: mine[0]!.serial, reason: mine[0]!.reason, revokedAt: mine[0]!.revokedAt };
  }
  return undefined;
}

/** `revoke`. */
export const revoke: ActionDefinition<Params> = {
  summary: 'record the revocation of an intermediate issued by this root, for the next CRL',
  ceremonyTypes: ['crl', 'intermediate'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: p.request === undefined ? [] : [{ path: ['request'], step: p.request, actions: ['import-bundle'] }] }),
  check: (p, ctx) => {
    if (p.request === undefined) return [];
    const kind = (ctx.steps.find((s) => s.id === p.request)?.params as { kind?: string } | undefined)?.kind;
    return [...(kind !== undefined && kind !== 'revocation-request' ? [{ path: 'params.request', message: `step '${p.request}' imports a ${kind} bundle, not a revocation-request` }] : []), ...(p.reason !== undefined ? [{ path: 'params.reason', message: 'the reasons come from the revocation request; remove reason or request' }] : [])];
  },
  questions: (p, step) =>
    p.request !== undefined
      ? [{ key: ['steps', step.id, 'confirm', '*'], wildcard: 'name', secret: false, attestation: true, description: "'REVOKE' to confirm each requested revocation (by its position, 1-based)" }]
      : [
          { key: ['steps', step.id, 'serial'], secret: false, attestation: false, description: 'serial number (hex) of the intermediate to revoke' },
          ...(p.reason === undefined ? [{ key: ['steps', step.id, 'reason'], secret: false, attestation: false, description: `RFC 5280 reason: ${REASONS.join(', ')}` }] : []),
          { key: ['steps', step.id, 'confirm'], secret: false, attestation: true, description: "'REVOKE' to confirm after the certificate is shown" },
        ],
  precondition: async () => {},
  async execute(ctx) {
    if (ctx.params.request !== undefined) return fromRequest(ctx, ctx.params.request);
    const ca = ctx.ca();
    const serialText = await ctx.io.ask({
      kind: 'text',
      key: ctx.key('serial'),
      prompt: 'Serial number (hex) of the intermediate to revoke: ',
      validate: (a) => {
        const s = a.replace(/[:\s]/gu, '').toLowerCase();
        const c = ca.pki.certificate(s);
        if (c === undefined) return `no certificate with serial ${s} was issued by this CA (see 'neam-ca ca list')`;
        if (c.role !== 'intermediate') return `serial ${s} is a ${c.role} certificate; only intermediates are revoked by the root`;
        return undefined;
      },
    });
    const serial = serialText.replace(/[:\s]/gu, '').toLowerCase();
    const cert = ca.pki.certificate(serial)!;
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Certificate to revoke:\n    subject ${cert.subject}\n    serial ${cert.serial}\n    valid ${cert.notBefore} to ${cert.notAfter}\n    SHA-256 ${cert.sha256}` });
    const reason = ctx.params.reason ?? (await ctx.io.ask({ kind: 'choice', key: ctx.key('reason'), prompt: 'Reason: ', choices: [...REASONS] }));
    await ctx.io.ask({ kind: 'confirm', key: ctx.key('confirm'), prompt: `Type REVOKE to revoke ${cert.subject} (${reason}): `, expect: 'REVOKE', attestation: true });
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new CoreError('ERR_INPUT_INVALID', `unknown reason ${reason}`);
    const rec = revokeCertificate(ca.pki, { serial, reason: reason as (typeof REASONS)[number], revokedAt: ctx.now(), ceremony: ceremonyRef(ctx), now: ctx.now() });
    ctx.record('certificate.revoked', { serial, reason, subject: cert.subject, sha256: cert.sha256, revokedAt: rec.revokedAt });
    return outcomeOf(serial, reason, cert.subject, rec.revokedAt);
  },
  async reconcile(ctx, record) {
    // From a request, revoking again skips what is already revoked.
    if (ctx.params.request !== undefined) return record.status === 'started' ? { kind: 'redo', note: 'the requested revocations are recorded again (those already recorded are kept)' } : { kind: 'verified' };
    const done = recordedByStep(ctx);
    if (record.status !== 'started') {
      if (done === undefined) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', 'the CA store does not hold the revocation this step recorded');
      return { kind: 'verified' };
    }
    if (done === undefined) return { kind: 'redo', note: 'the revocation had not been recorded' };
    const cert = ctx.ca().pki.certificate(done.serial);
    return { kind: 'adopt', outcome: outcomeOf(done.serial, done.reason, cert?.subject ?? '', done.revokedAt), note: `the revocation of ${done.serial} was recorded before the interruption; adopted` };
  },
};
