/**
 * @module ca/prepared-json
 * A prepared certificate or CRL as JSON, so it can survive a crash between approval and signing,
 * travel to a custodian's machine for review, or sit in a ceremony state file. Loading trusts
 * nothing but the bytes: the digest is recomputed, the profile re-validated and re-hashed, the
 * summary re-decoded from the TBS, and the linter run again.
 *
 * Must never: return a prepared object whose bytes, digest and profile disagree.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { CoreError } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { parseCertificate, parseTbsCertificate, parseTbsCertList } from '../pki/decode.ts';
import { summarizeCertificate, summarizeCrl, type CsrSummary } from '../pki/describe.ts';
import { assertLintClean, lintTbsCertificate, lintTbsCertList } from '../pki/lint.ts';
import { asCertificateProfile, asCrlProfile, profileFromObject, profileSha256 } from '../pki/profile.ts';
import { isoSeconds } from '../pki/time.ts';
import { spkiSha256 } from '../pki/keys.ts';
import { certificateLintContext, crlLintContext, type Prepared, type PreparedCertificate, type PreparedCrl } from './prepare.ts';

/** Format tag of the JSON form. */
export const PREPARED_FORMAT = 'neam-ca.prepared/1';

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/u).max(4 * 1024 * 1024);
const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an ISO-8601 time' });
const hex64 = z.string().regex(/^[0-9a-f]{64}$/u);
const SIGN_ALGS = ['RSA-PKCS1-SHA256', 'RSA-PKCS1-SHA384', 'RSA-PKCS1-SHA512', 'ECDSA-SHA256', 'ECDSA-SHA384'] as const;

const Common = {
  format: z.literal(PREPARED_FORMAT),
  profile: z.unknown(),
  profileSha256: hex64,
  tbs: b64,
  tbsSha256: hex64,
  signatureAlgorithm: z.enum(SIGN_ALGS),
  signerSpki: b64,
  preparedAt: iso,
  notes: z.array(z.string()),
};

const CertJson = z.strictObject({
  ...Common,
  kind: z.literal('certificate'),
  serial: z.string().regex(/^[0-9a-f]+$/u),
  issuerCertificate: b64.optional(),
  csr: z.unknown().optional(),
  summary: z.unknown().optional(),
  expected: z.strictObject({
    serial: z.string().optional(),
    subjectDer: b64.optional(),
    spki: b64.optional(),
    notBefore: iso.optional(),
    notAfter: iso.optional(),
    sans: z.strictObject({ uris: z.array(z.string()).optional(), dnsNames: z.array(z.string()).optional() }).optional(),
  }),
});

const CrlJson = z.strictObject({
  ...Common,
  kind: z.literal('crl'),
  crlNumber: z.number().int().positive(),
  previousCrlNumber: z.number().int().min(0),
  issuerCertificate: b64,
  entryIsCa: z.record(z.string(), z.boolean()),
  summary: z.unknown().optional(),
});

const PreparedJsonSchema = z.discriminatedUnion('kind', [CertJson, CrlJson]);

/** The JSON form of a prepared object. */
export type PreparedJson = z.input<typeof PreparedJsonSchema>;

/** The JSON form of a prepared certificate or CRL (includes the summary for reviewers; it is recomputed on load). */
export function preparedToJson(p: Prepared): PreparedJson {
  const common = {
    format: PREPARED_FORMAT as typeof PREPARED_FORMAT,
    profile: p.profile,
    profileSha256: p.profileSha256,
    tbs: p.tbsDer.toString('base64'),
    tbsSha256: p.tbsSha256,
    signatureAlgorithm: p.signatureAlgorithm,
    signerSpki: p.signerSpki.toString('base64'),
    preparedAt: isoSeconds(p.preparedAt),
    notes: [...p.notes],
    summary: p.summary,
  };
  if (p.kind === 'crl') {
    return { ...common, kind: 'crl', crlNumber: p.crlNumber, previousCrlNumber: p.previousCrlNumber, issuerCertificate: p.issuerCertificate.toString('base64'), entryIsCa: { ...p.entryIsCa } };
  }
  const e = p.expected;
  return {
    ...common,
    kind: 'certificate',
    serial: p.serial,
    ...(p.issuerCertificate === undefined ? {} : { issuerCertificate: p.issuerCertificate.toString('base64') }),
    ...(p.csr === undefined ? {} : { csr: p.csr }),
    expected: {
      ...(e.serial === undefined ? {} : { serial: e.serial }),
      ...(e.subjectDer === undefined ? {} : { subjectDer: e.subjectDer.toString('base64') }),
      ...(e.spki === undefined ? {} : { spki: e.spki.toString('base64') }),
      ...(e.notBefore === undefined ? {} : { notBefore: isoSeconds(e.notBefore) }),
      ...(e.notAfter === undefined ? {} : { notAfter: isoSeconds(e.notAfter) }),
      ...(e.sans === undefined ? {} : { sans: { ...(e.sans.uris === undefined ? {} : { uris: [...e.sans.uris] }), ...(e.sans.dnsNames === undefined ? {} : { dnsNames: [...e.sans.dnsNames] }) } }),
    },
  };
}

/**
 * Loads a prepared object from its JSON form, re-checking everything.
 * @throws {CoreError} ERR_INPUT_INVALID (shape), ERR_PKI_TBS_MISMATCH (digest), ERR_PKI_PROFILE_INVALID,
 *   ERR_PKI_LINT_FAILED, ERR_PKI_DER_INVALID
 */
export function preparedFromJson(input: unknown): Prepared {
  const r = PreparedJsonSchema.safeParse(input);
  if (!r.success) {
    throw new CoreError('ERR_INPUT_INVALID', `not a prepared certificate or CRL (${PREPARED_FORMAT}): ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const j = r.data;
  const tbsDer = Buffer.from(j.tbs, 'base64');
  const actual = createHash('sha256').update(tbsDer).digest('hex');
  if (actual !== j.tbsSha256) throw new CoreError('ERR_PKI_TBS_MISMATCH', `the prepared bytes hash to ${actual}, not the recorded ${j.tbsSha256}; the file was altered`);
  const profile = profileFromObject(j.profile, 'in the prepared file');
  if (profileSha256(profile) !== j.profileSha256) throw new CoreError('ERR_PKI_PROFILE_INVALID', 'the profile in the prepared file does not match its recorded digest; the file was altered');
  const signerSpki = Buffer.from(j.signerSpki, 'base64');
  const signerShouldBe = j.issuerCertificate !== undefined ? parseCertificate(Buffer.from(j.issuerCertificate, 'base64'), 'the issuer certificate in the prepared file').spki : parseTbsCertificate(tbsDer).spki;
  if (!signerSpki.equals(signerShouldBe)) throw new CoreError('ERR_PKI_TBS_MISMATCH', 'the prepared file names a signing key that is not the issuer\'s; the file was altered');
  const preparedAt = new Date(j.preparedAt);
  if (j.kind === 'crl') {
    const p: PreparedCrl = {
      kind: 'crl',
      profile: asCrlProfile(profile),
      profileSha256: j.profileSha256,
      tbsDer,
      tbsSha256: actual,
      crlNumber: j.crlNumber,
      previousCrlNumber: j.previousCrlNumber,
      signatureAlgorithm: j.signatureAlgorithm as SignAlgorithm,
      issuerCertificate: Buffer.from(j.issuerCertificate, 'base64'),
      signerSpki,
      signerSpkiSha256: spkiSha256(signerSpki),
      summary: summarizeCrl(parseTbsCertList(tbsDer)),
      notes: j.notes,
      preparedAt,
      entryIsCa: j.entryIsCa,
    };
    assertLintClean(lintTbsCertList(tbsDer, crlLintContext(p)), 'the prepared CRL', 'before signing');
    return Object.freeze(p);
  }
  const e = j.expected;
  const p: PreparedCertificate = {
    kind: 'certificate',
    profile: asCertificateProfile(profile),
    profileSha256: j.profileSha256,
    tbsDer,
    tbsSha256: actual,
    serial: j.serial,
    signatureAlgorithm: j.signatureAlgorithm as SignAlgorithm,
    signerSpki,
    signerSpkiSha256: spkiSha256(signerSpki),
    summary: summarizeCertificate(parseTbsCertificate(tbsDer)),
    notes: j.notes,
    preparedAt,
    expected: {
      ...(e.serial === undefined ? {} : { serial: e.serial }),
      ...(e.subjectDer === undefined ? {} : { subjectDer: Buffer.from(e.subjectDer, 'base64') }),
      ...(e.spki === undefined ? {} : { spki: Buffer.from(e.spki, 'base64') }),
      ...(e.notBefore === undefined ? {} : { notBefore: new Date(e.notBefore) }),
      ...(e.notAfter === undefined ? {} : { notAfter: new Date(e.notAfter) }),
      ...(e.sans === undefined ? {} : { sans: e.sans }),
    },
    ...(j.issuerCertificate === undefined ? {} : { issuerCertificate: Buffer.from(j.issuerCertificate, 'base64') }),
    ...(j.csr === undefined ? {} : { csr: j.csr as CsrSummary }),
  };
  if (parseTbsCertificate(tbsDer).serial !== p.serial) throw new CoreError('ERR_PKI_TBS_MISMATCH', 'the prepared file names a serial that is not the one in its bytes');
  assertLintClean(lintTbsCertificate(tbsDer, certificateLintContext(p)), 'the prepared certificate', 'before signing');
  return Object.freeze(p);
}
