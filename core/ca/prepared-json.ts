/**
 * @module ca/prepared-json
 * A prepared certificate or CRL as JSON, so it can survive a crash between approval and signing,
 * travel to a custodian's machine for review, or sit in a ceremony state file. Loading trusts
 * nothing but the bytes: the digest is recomputed, the profile re-validated and re-hashed, the
 * summary re-decoded from the TBS, and the linter run again. What the file says about itself
 * (profile, digests, issuer certificate, CRL entry facts) is checked against the caller's
 * expectations and the CA store when given, and otherwise marked so that signing demands them.
 *
 * Must never: return a prepared object whose bytes, digest and profile disagree, or one that
 * `signPrepared` would sign on the file's word alone.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { CoreError } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { parseCertificate, parseTbsCertificate, parseTbsCertList, type CertificateInfo } from '../pki/decode.ts';
import { summarizeCertificate, summarizeCrl, type CsrSummary } from '../pki/describe.ts';
import { assertLintClean, lintTbsCertificate, lintTbsCertList } from '../pki/lint.ts';
import { asCertificateProfile, asCrlProfile, profileFromObject, profileSha256, type Profile } from '../pki/profile.ts';
import { isoSeconds } from '../pki/time.ts';
import { spkiSha256 } from '../pki/keys.ts';
import { resolveIssuer, type TrustAnchors } from './issuer.ts';
import { certificateLintContext, crlLintContext, storeEntryIsCa, type Prepared, type PreparedCertificate, type PreparedCrl, type PreparedOrigin } from './prepare.ts';
import type { CaStore } from './store.ts';

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

/** What the loader of a prepared file checks it against (everything the file cannot vouch for). */
export interface PreparedLoadOptions {
  /**
   * The CA store: the issuer certificate is resolved from it now (recorded, or verified up to a
   * recorded root or a trust anchor), and a CRL's "is a CA" entry facts are taken from it.
   * `signPrepared` does both again regardless.
   */
  store?: CaStore;
  /** CA certificates trusted beyond the store (see ca/issuer). */
  trustAnchors?: TrustAnchors;
  /** The profile the operator or ceremony script names (built-in or loaded): the file's must be this one. */
  profile?: Profile;
  /** The profile digest the ceremony script names. */
  expectProfileSha256?: string;
  /** The approved TBS digest: the file's bytes must hash to it. */
  expectTbsSha256?: string;
}

/**
 * Loads a prepared object from its JSON form, re-checking everything it can: the digest is
 * recomputed, the profile re-validated and re-hashed, the summary re-decoded from the TBS, and the
 * linter run again. The file's profile, profile digest, issuer certificate and context are its own
 * claims: with `options` they are checked against the caller's expectations and the store; without,
 * the object is marked (`origin`) so that `signPrepared` refuses it unless given the approved TBS
 * digest and the expected profile digest.
 * @throws {CoreError} ERR_INPUT_INVALID (shape), ERR_PKI_TBS_MISMATCH (digest, signer, serial),
 *   ERR_PKI_PROFILE_INVALID (invalid, or not the expected profile), ERR_PKI_CHAIN_INVALID (issuer not
 *   trusted, with `store`), ERR_PKI_LINT_FAILED, ERR_PKI_DER_INVALID
 */
export function preparedFromJson(input: unknown, options: PreparedLoadOptions = {}): Prepared {
  const r = PreparedJsonSchema.safeParse(input);
  if (!r.success) {
    throw new CoreError('ERR_INPUT_INVALID', `not a prepared certificate or CRL (${PREPARED_FORMAT}): ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const j = r.data;
  const tbsDer = Buffer.from(j.tbs, 'base64');
  const actual = createHash('sha256').update(tbsDer).digest('hex');
  if (actual !== j.tbsSha256) throw new CoreError('ERR_PKI_TBS_MISMATCH', `the prepared bytes hash to ${actual}, not the recorded ${j.tbsSha256}; the file was altered`);
  if (options.expectTbsSha256 !== undefined && options.expectTbsSha256.toLowerCase() !== actual) {
    throw new CoreError('ERR_PKI_TBS_MISMATCH', `the prepared bytes (SHA-256 ${actual}) are not the approved ones (SHA-256 ${options.expectTbsSha256.toLowerCase()}); nothing will be signed from this file`, {
      details: { actual, approved: options.expectTbsSha256.toLowerCase() },
    });
  }
  const profile = profileFromObject(j.profile, 'in the prepared file');
  if (profileSha256(profile) !== j.profileSha256) throw new CoreError('ERR_PKI_PROFILE_INVALID', 'the profile in the prepared file does not match its recorded digest; the file was altered');
  if (options.profile !== undefined && profileSha256(options.profile) !== j.profileSha256) {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `the prepared file was built with a profile '${profile.name}' (SHA-256 ${j.profileSha256}) that is not the profile '${options.profile.name}' (SHA-256 ${profileSha256(options.profile)}) named for this signature; nothing will be signed from this file`);
  }
  if (options.expectProfileSha256 !== undefined && options.expectProfileSha256.toLowerCase() !== j.profileSha256) {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `the prepared file was built with profile '${profile.name}' (SHA-256 ${j.profileSha256}), not the expected profile (SHA-256 ${options.expectProfileSha256.toLowerCase()}); nothing will be signed from this file`);
  }
  const origin: PreparedOrigin = { source: 'file', profileVerified: options.profile !== undefined || options.expectProfileSha256 !== undefined, tbsVerified: options.expectTbsSha256 !== undefined };
  const issuerDer = j.issuerCertificate === undefined ? undefined : Buffer.from(j.issuerCertificate, 'base64');
  const what = 'the issuer certificate in the prepared file';
  const issuer: CertificateInfo | undefined =
    issuerDer === undefined ? undefined : options.store !== undefined ? resolveIssuer(options.store, issuerDer, { what, ...(options.trustAnchors === undefined ? {} : { trustAnchors: options.trustAnchors }) }).cert : parseCertificate(issuerDer, what);
  const signerSpki = Buffer.from(j.signerSpki, 'base64');
  const signerShouldBe = issuer !== undefined ? issuer.spki : parseTbsCertificate(tbsDer).spki;
  if (!signerSpki.equals(signerShouldBe)) throw new CoreError('ERR_PKI_TBS_MISMATCH', 'the prepared file names a signing key that is not the issuer\'s; the file was altered');
  const preparedAt = new Date(j.preparedAt);
  if (j.kind === 'crl') {
    if (issuer === undefined) throw new TypeError('a prepared CRL always carries its issuer certificate');
    const p: PreparedCrl = {
      kind: 'crl',
      profile: asCrlProfile(profile),
      profileSha256: j.profileSha256,
      tbsDer,
      tbsSha256: actual,
      crlNumber: j.crlNumber,
      previousCrlNumber: j.previousCrlNumber,
      signatureAlgorithm: j.signatureAlgorithm as SignAlgorithm,
      issuerCertificate: issuer.der,
      signerSpki,
      signerSpkiSha256: spkiSha256(signerSpki),
      summary: summarizeCrl(parseTbsCertList(tbsDer)),
      notes: j.notes,
      preparedAt,
      entryIsCa: options.store === undefined ? j.entryIsCa : storeFacts(options.store, signerSpki, tbsDer),
      origin,
    };
    assertLintClean(lintTbsCertList(tbsDer, crlLintContext(p, { issuer, ...(options.store === undefined ? {} : { store: options.store }) })), 'the prepared CRL', 'before signing');
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
    ...(issuer === undefined ? {} : { issuerCertificate: issuer.der }),
    ...(j.csr === undefined ? {} : { csr: j.csr as CsrSummary }),
    origin,
  };
  if (parseTbsCertificate(tbsDer).serial !== p.serial) throw new CoreError('ERR_PKI_TBS_MISMATCH', 'the prepared file names a serial that is not the one in its bytes');
  assertLintClean(lintTbsCertificate(tbsDer, certificateLintContext(p, issuer === undefined ? {} : { issuer })), 'the prepared certificate', 'before signing');
  return Object.freeze(p);
}

/** The "is a CA certificate of this issuer" facts of every entry a CRL lists, from the store. */
function storeFacts(store: CaStore, issuerSpki: Buffer, tbsDer: Buffer): Record<string, boolean> {
  const isCa = storeEntryIsCa(store, spkiSha256(issuerSpki));
  const out: Record<string, boolean> = {};
  for (const e of parseTbsCertList(tbsDer).revoked) out[e.serial] = isCa(e.serial) ?? false;
  return out;
}
