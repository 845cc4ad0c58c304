/**
 * @module ceremony/actions/pki-helpers
 * What the signing actions share: the ceremony reference recorded with every issued object,
 * rehearsal marks in subjects, profile overrides from script parameters, finding the key a step
 * must sign with (and proving it is the expected one), showing a prepared object for review, and
 * finding what a step issued before a crash in the CA store.
 *
 * Must never: sign; every signature goes through core/ca's `signPrepared`.
 */
import { CoreError } from '../../errors.ts';
import type { HsmSession, KeyRef } from '../../hsm/types.ts';
import { profileFromObject, type CertificateProfile, type CrlProfile, type SubjectSpec } from '../../pki/index.ts';
import type { CeremonyRef, CertificateRecord, CrlRecord, PreparedCertificate, PreparedCrl } from '../../ca/index.ts';
import { describeTbs, digestWords, formatDigestWords } from '../../quorum/index.ts';
import type { JsonObject } from '../types.ts';
import { groupedHex, sha256Hex } from './common.ts';
import type { StepContext } from './types.ts';

/** The ceremony reference core/ca records with every issued object. */
export function ceremonyRef<P>(ctx: StepContext<P>): CeremonyRef {
  return { id: ctx.ceremony.id, step: ctx.step.id, rehearsal: ctx.ceremony.rehearsal };
}

/** Subject of the script, with `REHEARSAL ` before the common name in rehearsals. */
export function subjectOf(s: { 'common-name': string; organization?: string | undefined; 'organizational-unit'?: string | undefined; country?: string | undefined }, rehearsal: boolean): SubjectSpec {
  const cn = rehearsal ? `REHEARSAL ${s['common-name']}`.slice(0, 64) : s['common-name'];
  const spec: SubjectSpec = { commonName: cn };
  if (s.organization !== undefined) spec.organization = s.organization;
  if (s['organizational-unit'] !== undefined) spec.organizationalUnit = s['organizational-unit'];
  if (s.country !== undefined) spec.country = s.country;
  return spec;
}

/** A certificate profile with the script's validity (days) and path length. */
export function certificateProfileWith(base: CertificateProfile, o: { validityDays?: number; pathLength?: number }): CertificateProfile {
  const copy = structuredClone(base) as Record<string, unknown> & { validity: Record<string, unknown>; basicConstraints?: Record<string, unknown> };
  if (o.validityDays !== undefined) copy.validity = { ...copy.validity, duration: `${o.validityDays}d` };
  if (o.pathLength !== undefined && copy.basicConstraints !== undefined) copy.basicConstraints = { ...copy.basicConstraints, pathLen: o.pathLength };
  return profileFromObject(copy, `${base.name} with the script's parameters`) as CertificateProfile;
}

/** A CRL profile with the script's next-update interval (days). */
export function crlProfileWith(base: CrlProfile, nextUpdateDays: number): CrlProfile {
  const copy = structuredClone(base) as Record<string, unknown> & { validity: Record<string, unknown> };
  copy.validity = { ...copy.validity, nextUpdate: `${nextUpdateDays}d` };
  return profileFromObject(copy, `${base.name} with the script's parameters`) as CrlProfile;
}

/**
 * The one private key labelled `label`, proven to be the expected key when its SPKI hash is known.
 * @throws {CoreError} ERR_HSM_OBJECT_NOT_FOUND, ERR_HSM_OBJECT_AMBIGUOUS, ERR_HSM_KEY_MISMATCH
 */
export function keyByLabel(session: HsmSession, label: string, expectedSpkiSha256?: string): { key: KeyRef; spki: Buffer } {
  const keys = session.findKeys({ label, class: 'private' });
  if (keys.length === 0) throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `token '${session.token.label}' holds no private key labelled '${label}'`, { details: { label } });
  if (keys.length > 1) throw new CoreError('ERR_HSM_OBJECT_AMBIGUOUS', `token '${session.token.label}' holds ${keys.length} private keys labelled '${label}'`, { details: { label } });
  const key = keys[0]!;
  const spki = session.publicKeySpki(key);
  if (expectedSpkiSha256 !== undefined && sha256Hex(spki) !== expectedSpkiSha256) {
    throw new CoreError('ERR_HSM_KEY_MISMATCH', `key '${label}' on token '${session.token.label}' is not the key this ceremony recorded (SHA-256 ${sha256Hex(spki)}, expected ${expectedSpkiSha256}); stop and investigate`, { details: { label } });
  }
  return { key, spki };
}

/** Shows a prepared certificate or CRL for review: decoded fields, TBS SHA-256 in hex and words. */
export function showPrepared<P>(ctx: StepContext<P>, what: string, prepared: PreparedCertificate | PreparedCrl): void {
  const tbs = describeTbs(prepared.tbsDer);
  const fields = Object.entries(prepared.summary as unknown as Record<string, unknown>)
    .filter(([k, v]) => v !== undefined && k !== 'tbsSha256' && k !== 'otherExtensions' && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `    ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  ctx.io.event({
    type: 'display',
    step: ctx.step.id,
    message: `${what} prepared and linted:\n${fields.join('\n')}${prepared.notes.length > 0 ? `\n    notes: ${prepared.notes.join('; ')}` : ''}\n  TBS SHA-256: ${groupedHex(prepared.tbsSha256)}\n${formatDigestWords(prepared.tbsSha256)
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}`,
    // `data.review` carries the decoded fields for review screens (the desktop app).
    data: { tbsSha256: prepared.tbsSha256, review: { kind: 'prepared', what, subject: tbs.subject, fields: tbs.fields.map((f) => ({ label: f.label, value: f.value })), tbsSha256: prepared.tbsSha256, words: digestWords(prepared.tbsSha256), notes: [...prepared.notes] } },
  });
}

/** What this step recorded in the CA store before a crash (certificates). */
export function certificatesOfStep<P>(ctx: StepContext<P>): CertificateRecord[] {
  return ctx
    .ca()
    .pki.certificates()
    .filter((c) => c.ceremony.id === ctx.ceremony.id && c.ceremony.step === ctx.step.id);
}

/** What this step recorded in the CA store before a crash (CRLs of an issuer). */
export function crlsOfStep<P>(ctx: StepContext<P>, issuerSpkiSha256: string): CrlRecord[] {
  return ctx
    .ca()
    .pki.crls(issuerSpkiSha256)
    .filter((c) => c.ceremony.id === ctx.ceremony.id && c.ceremony.step === ctx.step.id);
}

/** Writes `pem` as output `name`, or adopts the file when it already holds exactly that (reconcile). */
export function writeOrAdopt<P>(ctx: StepContext<P>, name: string, pem: string, readBack: (path: string) => string): void {
  if (ctx.files.exists(name)) {
    if (readBack(ctx.files.path(name)) !== pem) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(name)} does not hold what the CA store recorded for step '${ctx.step.id}'; move it away and resume`);
    ctx.files.adopt(name);
  } else {
    ctx.files.write(name, pem);
  }
}

/** The record of an issued certificate for the transcript (`certificate.issued`). */
export function certificateRecordData(r: CertificateRecord): JsonObject {
  return { certificate: { subject: r.subject, serial: r.serial, issuer: r.issuer, notBefore: r.notBefore, notAfter: r.notAfter, sha256: r.sha256, spkiSha256: r.spkiSha256, role: r.role, tbsSha256: r.tbsSha256 } };
}

