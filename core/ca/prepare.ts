/**
 * @module ca/prepare
 * The first half of every issuance: build the exact to-be-signed bytes (tbsCertificate or
 * tbsCertList) from a profile and the request, lint them, and return a {@link PreparedCertificate}
 * or {@link PreparedCrl} carrying the bytes, their SHA-256 (what custodians approve), and the
 * decoded fields for human review. Nothing here touches a signing key: the quorum, the ceremony
 * runner and people sit between this and `signPrepared`, and the bytes cannot change in between
 * (signPrepared re-hashes and re-lints them).
 *
 * Validation order (Boulder's): parse and check every input (CSR signature, key strength, issuer,
 * validity, subject, serial uniqueness), then build, then lint. Any failure throws before
 * anything is written or signed.
 *
 * Must never: sign, write to the store, copy a CSR's subject or extensions into a certificate,
 * or read the clock (callers pass `now`).
 */
import { CoreError, formatProblems } from '../errors.ts';
import type { SignAlgorithm } from '../hsm/types.ts';
import { parseCertificate, parseCsr, parseTbsCertificate, parseTbsCertList, verifyCsrSignature, type CertificateInfo } from '../pki/decode.ts';
import { summarizeCertificate, summarizeCrl, summarizeCsr, describeExtension, type CertificateSummary, type CrlSummary, type CsrSummary } from '../pki/describe.ts';
import { checkPublicKey, signAlgorithmFor, spkiSha256 } from '../pki/keys.ts';
import { assertLintClean, issuerFromCertificate, lintTbsCertificate, lintTbsCertList, type CertificateLintContext, type CrlLintContext, type IssuerInfo } from '../pki/lint.ts';
import { encodeName, subjectProblems, type SubjectSpec } from '../pki/name.ts';
import { asCertificateProfile, profileSha256, type CertificateProfile, type CrlProfile } from '../pki/profile.ts';
import { newSerial, normalizeSerial, type RandomSource } from '../pki/serial.ts';
import { buildTbsCertificate, buildTbsCertList, profileExtensions, type RevokedEntry } from '../pki/tbs.ts';
import { addDuration, isoSeconds, parseDuration, subtractDuration, wholeSeconds } from '../pki/time.ts';
import { resolveIssuer, type TrustAnchors } from './issuer.ts';
import type { CaStore } from './store.ts';

/**
 * Where a prepared object came from when not from `prepare*` in this process: a prepared file
 * (`preparedFromJson`). Its profile and digests are the file's own claims, so `signPrepared` asks
 * for outside expectations unless the loader already checked them.
 */
export interface PreparedOrigin {
  readonly source: 'file';
  /** The loader compared the file's profile with a named profile or an expected digest. */
  readonly profileVerified: boolean;
  /** The loader compared the TBS digest with an expected (approved) digest. */
  readonly tbsVerified: boolean;
}

/** A certificate ready to be signed: exact TBS bytes, their digest, and what a reviewer reads. */
export interface PreparedCertificate {
  readonly kind: 'certificate';
  /** The profile the TBS was built from and linted against. */
  readonly profile: CertificateProfile;
  /** SHA-256 of the profile's canonical JSON. */
  readonly profileSha256: string;
  /** The exact tbsCertificate DER that will be signed. */
  readonly tbsDer: Buffer;
  /** SHA-256 of {@link tbsDer}, lower-case hex: the value custodians approve. */
  readonly tbsSha256: string;
  /** Serial number (hex), drawn from the random source and unique in the store at preparation. */
  readonly serial: string;
  /** The algorithm the issuer key must sign with. */
  readonly signatureAlgorithm: SignAlgorithm;
  /** The issuer certificate DER; undefined for self-signed certificates (root, transfer). */
  readonly issuerCertificate?: Buffer;
  /** The public key that must sign (issuer's, or the subject's own for self-signed). */
  readonly signerSpki: Buffer;
  readonly signerSpkiSha256: string;
  /** Decoded fields of the TBS, for review screens, approvals and transcripts. */
  readonly summary: CertificateSummary;
  /** The CSR the key came from (intermediates). */
  readonly csr?: CsrSummary;
  /** Things a reviewer should know (validity capped, CSR extensions ignored, …). */
  readonly notes: readonly string[];
  /** The `now` of preparation; both lints judge time against it. */
  readonly preparedAt: Date;
  /** Exact values the request fixed; the linter checks the TBS against them. */
  readonly expected: NonNullable<CertificateLintContext['expected']>;
  /** Set by `preparedFromJson`; absent for objects made by `prepare*`. */
  readonly origin?: PreparedOrigin;
}

/** A CRL ready to be signed. */
export interface PreparedCrl {
  readonly kind: 'crl';
  readonly profile: CrlProfile;
  readonly profileSha256: string;
  readonly tbsDer: Buffer;
  readonly tbsSha256: string;
  /** The CRL number reserved for this CRL (last recorded + 1). */
  readonly crlNumber: number;
  readonly signatureAlgorithm: SignAlgorithm;
  readonly issuerCertificate: Buffer;
  readonly signerSpki: Buffer;
  readonly signerSpkiSha256: string;
  readonly summary: CrlSummary;
  readonly notes: readonly string[];
  readonly preparedAt: Date;
  /** For `entries: ca-only` profiles: which listed serials are CA certificates (from the store). */
  readonly entryIsCa: Readonly<Record<string, boolean>>;
  /** The CRL number recorded before this one (0 when none). */
  readonly previousCrlNumber: number;
  /** Set by `preparedFromJson`; absent for objects made by `prepare*`. */
  readonly origin?: PreparedOrigin;
}

/** Anything `signPrepared` accepts. */
export type Prepared = PreparedCertificate | PreparedCrl;

/** Common inputs of certificate preparation. */
interface CommonInput {
  /** Subject attributes; each given attribute replaces the profile's. */
  subject?: SubjectSpec;
  /** The time of preparation (the ceremony clock). */
  now: Date;
  /** Random source for the serial: the HSM RNG (`(n) => session.random(n)`). */
  random: RandomSource;
  store: CaStore;
  /** Requested start of validity (e.g. a staggered intermediate); default `now` minus the profile's backdate. */
  notBefore?: Date;
  /** Requested end of validity; default notBefore + the profile's duration, capped at the issuer's notAfter. */
  notAfter?: Date;
  /**
   * CA certificates trusted beyond the store (PEM or DER), e.g. the online CA's root from its
   * pinned trust bundle. The issuer certificate must be recorded in the store, be one of these,
   * or verify with one of them (see ca/issuer).
   */
  trustAnchors?: TrustAnchors;
}

/** Input of {@link prepareSelfSigned} / {@link prepareRoot}. */
export interface PrepareSelfSignedInput extends CommonInput {
  /** A profile with role `root` or `self-signed`. */
  profile: CertificateProfile;
  /** SubjectPublicKeyInfo DER of the key that will sign (from the HSM). */
  spki: Uint8Array;
}

/** Input of {@link prepareIntermediate}. */
export interface PrepareIntermediateInput extends CommonInput {
  /** A profile with role `intermediate`. */
  profile: CertificateProfile;
  /** The PKCS#10 request (PEM or DER): only its public key is used. */
  csr: string | Uint8Array;
  /** The issuing (root) certificate, PEM or DER. */
  issuerCertificate: string | Uint8Array;
}

/** Input of {@link prepareCertificate} (any issued certificate, e.g. leaves, from a known key). */
export interface PrepareCertificateInput extends CommonInput {
  profile: CertificateProfile;
  /** Subject public key (SPKI DER). */
  spki: Uint8Array;
  issuerCertificate: string | Uint8Array;
  /** SANs for this certificate beyond the profile's fixed ones (e.g. the SPIFFE ID). */
  sans?: { uris?: readonly string[]; dnsNames?: readonly string[] };
}

function validityError(message: string, details: Record<string, unknown> = {}): CoreError {
  return new CoreError('ERR_PKI_VALIDITY_INVALID', message, { details });
}

/** Works out notBefore/notAfter from the profile, the request and the issuer. */
function planValidity(profile: CertificateProfile, input: CommonInput, issuer: IssuerInfo | undefined, notes: string[]): { notBefore: Date; notAfter: Date; expected: { notBefore?: Date; notAfter?: Date } } {
  const now = wholeSeconds(input.now);
  const backdate = parseDuration(profile.validity.backdate);
  const expected: { notBefore?: Date; notAfter?: Date } = {};
  let notBefore: Date;
  if (input.notBefore !== undefined) {
    notBefore = wholeSeconds(input.notBefore);
    expected.notBefore = notBefore;
    if (notBefore.getTime() < subtractDuration(now, backdate).getTime() - 5 * 60_000) {
      throw validityError(`the requested notBefore ${isoSeconds(notBefore)} is in the past; certificates are not backdated beyond the profile's ${profile.validity.backdate}`);
    }
  } else {
    notBefore = subtractDuration(now, backdate);
    if (issuer !== undefined && notBefore.getTime() < issuer.notBefore.getTime()) notBefore = new Date(Math.max(issuer.notBefore.getTime(), notBefore.getTime()));
  }
  const maxNotAfter = input.notBefore !== undefined ? addDuration(notBefore, profile.validity.duration) : addDuration(addDuration(notBefore, backdate), profile.validity.duration);
  let notAfter: Date;
  if (input.notAfter !== undefined) {
    notAfter = wholeSeconds(input.notAfter);
    expected.notAfter = notAfter;
    if (notAfter.getTime() > maxNotAfter.getTime()) {
      throw validityError(`the requested notAfter ${isoSeconds(notAfter)} is beyond the profile '${profile.name}' maximum of ${profile.validity.duration} (${isoSeconds(maxNotAfter)})`, { maxNotAfter: isoSeconds(maxNotAfter) });
    }
    if (issuer !== undefined && notAfter.getTime() > issuer.notAfter.getTime()) {
      throw validityError(`the requested notAfter ${isoSeconds(notAfter)} is beyond the issuer's notAfter ${isoSeconds(issuer.notAfter)}; a certificate cannot outlive its issuer`, { issuerNotAfter: isoSeconds(issuer.notAfter) });
    }
  } else {
    notAfter = maxNotAfter;
    if (issuer !== undefined && notAfter.getTime() > issuer.notAfter.getTime()) {
      notAfter = issuer.notAfter;
      notes.push(`validity capped at the issuer's notAfter ${isoSeconds(issuer.notAfter)} (the profile allows ${profile.validity.duration})`);
    }
  }
  if (issuer !== undefined) {
    if (notBefore.getTime() >= issuer.notAfter.getTime()) throw validityError(`notBefore ${isoSeconds(notBefore)} is not before the issuer's notAfter ${isoSeconds(issuer.notAfter)}`);
    if (notBefore.getTime() < issuer.notBefore.getTime()) throw validityError(`notBefore ${isoSeconds(notBefore)} is before the issuer's notBefore ${isoSeconds(issuer.notBefore)}`);
  }
  if (notAfter.getTime() <= notBefore.getTime()) throw validityError(`notAfter ${isoSeconds(notAfter)} is not after notBefore ${isoSeconds(notBefore)}`);
  if (notAfter.getTime() <= now.getTime()) throw validityError(`the certificate would be expired already (notAfter ${isoSeconds(notAfter)})`);
  return { notBefore, notAfter, expected };
}

function subjectFor(profile: CertificateProfile, override: SubjectSpec | undefined): { spec: SubjectSpec; der: Buffer } {
  const spec: SubjectSpec = { ...profile.subject, ...(override ?? {}) };
  const problems = subjectProblems(spec);
  if (problems.length > 0) throw new CoreError('ERR_INPUT_INVALID', `the subject is invalid:\n${formatProblems(problems)}`, { details: { problems } });
  return { spec, der: encodeName(spec) };
}

function drawSerial(profile: CertificateProfile, input: CommonInput): string {
  const serial = newSerial(input.random, profile.serialBytes);
  if (input.store.serialExists(serial)) {
    throw new CoreError('ERR_PKI_SERIAL_COLLISION', `the serial number ${serial} drawn from the random source is already recorded; nothing was signed. A repeat means the random source is broken: check the HSM RNG before continuing`, {
      details: { serial },
    });
  }
  return serial;
}

/**
 * Design §2: the root (a self-issued CA) signs intermediate CA certificates and CRLs, nothing else.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID
 */
function refuseRootIssuing(issuer: CertificateInfo, profile: CertificateProfile): void {
  if (issuer.selfIssued && profile.role !== 'intermediate') {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `the root '${issuer.subject.text}' signs only intermediate CA certificates and CRLs; profile '${profile.name}' has role '${profile.role}'. Issue this certificate from an intermediate`, {
      details: { profile: profile.name, role: profile.role },
    });
  }
}

function loadIssuer(input: string | Uint8Array, now: Date, store: CaStore, trustAnchors: TrustAnchors | undefined): { cert: CertificateInfo; issuer: IssuerInfo } {
  // Never trusted as given: recorded in the store, a caller's trust anchor, or verified by one.
  const { cert } = resolveIssuer(store, input, { what: 'the issuer certificate', ...(trustAnchors === undefined ? {} : { trustAnchors }) });
  const issuer = issuerFromCertificate(cert);
  if (!issuer.ca || (issuer.keyUsage !== undefined && !issuer.keyUsage.includes('keyCertSign'))) {
    throw new CoreError('ERR_PKI_CHAIN_INVALID', `the issuer certificate '${cert.subject.text}' is not a CA that may sign certificates (basicConstraints cA and keyUsage keyCertSign)`);
  }
  if (cert.notAfter.getTime() <= now.getTime()) throw new CoreError('ERR_PKI_VALIDITY_INVALID', `the issuer certificate '${cert.subject.text}' expired at ${isoSeconds(cert.notAfter)}`);
  return { cert, issuer };
}

/**
 * For `entries: ca-only` CRLs: whether a serial is a CA certificate this issuer issued, from the
 * store alone (undefined when the store does not know it as this issuer's).
 */
export function storeEntryIsCa(store: CaStore, issuerSpkiSha256: string): (serial: string) => boolean | undefined {
  return (serial) => {
    const rec = store.certificate(serial);
    return rec !== undefined && rec.issuerSpkiSha256 === issuerSpkiSha256 ? rec.isCa : undefined;
  };
}

interface BuildInput extends CommonInput {
  profile: CertificateProfile;
  spki: Buffer;
  issuer?: { cert: CertificateInfo; issuer: IssuerInfo };
  sans?: { uris?: readonly string[]; dnsNames?: readonly string[] };
  notes: string[];
  csr?: CsrSummary;
}

function build(input: BuildInput): PreparedCertificate {
  const { profile, spki } = input;
  const issuerInfo = input.issuer?.issuer;
  const subject = subjectFor(profile, input.subject);
  const validity = planValidity(profile, input, issuerInfo, input.notes);
  const signerSpki = issuerInfo?.spki ?? spki;
  const signatureAlgorithm = signAlgorithmFor(signerSpki, profile.signatureHash);
  const sanLimits = profile.subjectAltName?.requested ?? { uris: 0, dnsNames: 0 };
  if ((input.sans?.uris?.length ?? 0) > sanLimits.uris || (input.sans?.dnsNames?.length ?? 0) > sanLimits.dnsNames) {
    throw new CoreError('ERR_INPUT_INVALID', `profile '${profile.name}' accepts at most ${sanLimits.uris} requested URI SAN(s) and ${sanLimits.dnsNames} DNS SAN(s)`);
  }
  const serial = drawSerial(profile, input);
  const subjectEmpty = Object.keys(subject.spec).length === 0;
  const extensions = profileExtensions(profile, {
    spki,
    subjectEmpty,
    ...(issuerInfo === undefined ? {} : { issuerKeyIdentifier: issuerInfo.keyIdentifier }),
    ...(input.sans === undefined ? {} : { sans: input.sans }),
  });
  const tbsDer = buildTbsCertificate({
    serial,
    signatureAlgorithm,
    issuerName: issuerInfo?.subjectDer ?? subject.der,
    subjectName: subject.der,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    spki,
    extensions,
  });
  const expected: PreparedCertificate['expected'] = { serial, subjectDer: subject.der, spki, ...validity.expected, ...(input.sans === undefined ? {} : { sans: input.sans }) };
  const preparedAt = wholeSeconds(input.now);
  const problems = lintTbsCertificate(tbsDer, { profile, issuer: issuerInfo ?? 'self', now: preparedAt, expected });
  assertLintClean(problems, `the ${profile.role} certificate '${subject.der.length > 2 ? parseTbsCertificate(tbsDer).subject.text : '(empty subject)'}' (profile '${profile.name}')`, 'before signing');
  const tbs = parseTbsCertificate(tbsDer);
  const prepared: PreparedCertificate = {
    kind: 'certificate',
    profile,
    profileSha256: profileSha256(profile),
    tbsDer,
    tbsSha256: tbs.tbsSha256,
    serial,
    signatureAlgorithm,
    signerSpki,
    signerSpkiSha256: spkiSha256(signerSpki),
    summary: summarizeCertificate(tbs),
    notes: input.notes,
    preparedAt,
    expected,
    ...(input.issuer === undefined ? {} : { issuerCertificate: input.issuer.cert.der }),
    ...(input.csr === undefined ? {} : { csr: input.csr }),
  };
  return Object.freeze(prepared);
}

/**
 * Prepares a self-signed certificate (profile role `root` or `self-signed`, e.g. `transfer`) for
 * the key whose SPKI is given. The HSM is not touched.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID, ERR_PKI_KEY_WEAK, ERR_PKI_KEY_UNSUPPORTED, ERR_PKI_VALIDITY_INVALID,
 *   ERR_INPUT_INVALID, ERR_PKI_SERIAL_COLLISION, ERR_PKI_LINT_FAILED, ERR_PKI_DER_INVALID
 */
export function prepareSelfSigned(input: PrepareSelfSignedInput): PreparedCertificate {
  const profile = asCertificateProfile(input.profile);
  if (profile.role !== 'root' && profile.role !== 'self-signed') {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${profile.name}' has role '${profile.role}'; a self-signed certificate needs a 'root' or 'self-signed' profile`);
  }
  const spki = Buffer.from(input.spki);
  checkPublicKey(spki, { allowed: profile.subjectKey }, 'the key');
  return build({ ...input, profile, spki, notes: [] });
}

/**
 * Prepares the root certificate (profile role `root`) for the HSM key whose SPKI is given.
 * @throws {CoreError} as {@link prepareSelfSigned}
 */
export function prepareRoot(input: PrepareSelfSignedInput): PreparedCertificate {
  asCertificateProfile(input.profile, 'root');
  return prepareSelfSigned(input);
}

/**
 * Prepares an intermediate CA certificate from a PKCS#10 CSR: verifies the CSR's signature, takes
 * only its public key (subject and every extension come from the profile and the request), checks
 * the key, caps validity by the profile and the issuer, and lints. The HSM is not touched.
 * @throws {CoreError} ERR_PKI_CSR_SIGNATURE_INVALID, ERR_PKI_CSR_INVALID, ERR_PKI_KEY_WEAK, ERR_PKI_KEY_UNSUPPORTED,
 *   ERR_PKI_PEM_INVALID, ERR_PKI_DER_INVALID, ERR_PKI_CHAIN_INVALID, ERR_PKI_VALIDITY_INVALID, ERR_PKI_PROFILE_INVALID,
 *   ERR_PKI_SERIAL_COLLISION, ERR_PKI_LINT_FAILED, ERR_INPUT_INVALID, ERR_INPUT_TOO_LARGE
 */
export function prepareIntermediate(input: PrepareIntermediateInput): PreparedCertificate {
  const profile = asCertificateProfile(input.profile, 'intermediate');
  const csr = parseCsr(input.csr);
  // The key is judged first: its reason (weak, unsupported curve) is the one a person can act on.
  checkPublicKey(csr.spki, { allowed: profile.subjectKey }, 'the CSR key');
  verifyCsrSignature(csr);
  const issuer = loadIssuer(input.issuerCertificate, input.now, input.store, input.trustAnchors);
  if (csr.spki.equals(issuer.issuer.spki)) throw new CoreError('ERR_PKI_CSR_INVALID', 'the CSR carries the issuer\'s own public key; an intermediate needs its own key');
  const notes: string[] = [];
  if (csr.requestedExtensions.length > 0) {
    notes.push(`the CSR asked for ${csr.requestedExtensions.map(describeExtension).join('; ')}: ignored, extensions come only from profile '${profile.name}'`);
  }
  if (csr.subject.rdns.length > 0) notes.push(`the CSR's subject '${csr.subject.text}' is not used; the subject comes from the profile and the request`);
  return build({ ...input, profile, spki: csr.spki, issuer, notes, csr: summarizeCsr(csr) });
}

/**
 * Prepares a certificate issued by `issuerCertificate` for a known public key (leaves such as
 * SVIDs, or intermediates whose key arrived another way).
 * @throws {CoreError} as {@link prepareIntermediate}, without the CSR codes
 */
export function prepareCertificate(input: PrepareCertificateInput): PreparedCertificate {
  const profile = asCertificateProfile(input.profile);
  if (profile.role === 'root' || profile.role === 'self-signed') throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${profile.name}' is for self-signed certificates; use prepareSelfSigned`);
  const spki = Buffer.from(input.spki);
  checkPublicKey(spki, { allowed: profile.subjectKey }, 'the subject key');
  const issuer = loadIssuer(input.issuerCertificate, input.now, input.store, input.trustAnchors);
  refuseRootIssuing(issuer.cert, profile);
  return build({ ...input, profile, spki, issuer, notes: [] });
}

/** Input of {@link prepareCrl}. */
export interface PrepareCrlInput {
  profile: CrlProfile;
  /** The CRL issuer's certificate (PEM or DER). */
  issuerCertificate: string | Uint8Array;
  store: CaStore;
  now: Date;
  /** Default `now` minus the profile's backdate. */
  thisUpdate?: Date;
  /** Default thisUpdate + the profile's nextUpdate, capped at the issuer's notAfter. */
  nextUpdate?: Date;
  /**
   * Entries to list instead of the store's revocations, for issuers whose revocations are kept
   * elsewhere (the online CA's SVIDs). Refused with an `entries: ca-only` profile, which needs
   * the store to know every listed certificate.
   */
  revoked?: readonly RevokedEntry[];
  /** CA certificates trusted beyond the store (see {@link CommonInput.trustAnchors}). */
  trustAnchors?: TrustAnchors;
}

/**
 * Prepares the next CRL of an issuer: every revocation recorded for the issuer's key, the next
 * CRL number (last recorded + 1), thisUpdate/nextUpdate from the profile, AKI. The HSM is not touched.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID, ERR_PKI_CHAIN_INVALID, ERR_PKI_CRL_INVALID, ERR_PKI_LINT_FAILED,
 *   ERR_PKI_PEM_INVALID, ERR_PKI_DER_INVALID
 */
export function prepareCrl(input: PrepareCrlInput): PreparedCrl {
  const profile = input.profile;
  if (profile.kind !== 'crl') throw new CoreError('ERR_PKI_PROFILE_INVALID', `profile '${(profile as { name: string }).name}' is not a CRL profile`);
  const { cert } = resolveIssuer(input.store, input.issuerCertificate, { what: 'the CRL issuer certificate', ...(input.trustAnchors === undefined ? {} : { trustAnchors: input.trustAnchors }) });
  const issuer = issuerFromCertificate(cert);
  if (!issuer.ca || (issuer.keyUsage !== undefined && !issuer.keyUsage.includes('cRLSign'))) {
    throw new CoreError('ERR_PKI_CHAIN_INVALID', `'${cert.subject.text}' is not a CA that may sign CRLs (basicConstraints cA and keyUsage cRLSign)`);
  }
  const now = wholeSeconds(input.now);
  const notes: string[] = [];
  const issuerKey = spkiSha256(issuer.spki);
  const entryIsCa: Record<string, boolean> = {};
  const isCaOf = storeEntryIsCa(input.store, issuerKey);
  const revoked: RevokedEntry[] = [];
  if (input.revoked !== undefined) {
    if (profile.entries === 'ca-only') throw new CoreError('ERR_PKI_CRL_INVALID', `profile '${profile.name}' lists only CA certificates known to the store; explicit entries are not accepted`);
    // Without the store, the caller decides which expired entries to leave out.
    for (const e of input.revoked) revoked.push({ ...e, serial: normalizeSerial(e.serial) });
  }
  const backdated = subtractDuration(now, profile.validity.backdate);
  for (const r of input.revoked === undefined ? input.store.revocations(issuerKey) : []) {
    const rec = input.store.certificate(r.serial);
    if (profile.omitExpired && rec !== undefined && Date.parse(rec.notAfter) < backdated.getTime()) continue;
    entryIsCa[r.serial] = isCaOf(r.serial) ?? false;
    const entry: RevokedEntry = { serial: r.serial, revocationDate: new Date(r.revokedAt), reason: r.reason };
    if (r.invalidityDate !== undefined) entry.invalidityDate = new Date(r.invalidityDate);
    revoked.push(entry);
  }
  let thisUpdate: Date;
  if (input.thisUpdate !== undefined) {
    thisUpdate = wholeSeconds(input.thisUpdate);
  } else {
    // Backdated for clock skew, but never before the issuer existed or before a listed revocation.
    const floor = revoked.reduce((m, e) => Math.max(m, wholeSeconds(e.revocationDate).getTime()), Math.max(backdated.getTime(), issuer.notBefore.getTime()));
    thisUpdate = new Date(Math.min(now.getTime(), floor));
  }
  let nextUpdate: Date;
  if (input.nextUpdate !== undefined) {
    nextUpdate = wholeSeconds(input.nextUpdate);
  } else {
    nextUpdate = addDuration(addDuration(thisUpdate, profile.validity.backdate), profile.validity.nextUpdate);
    if (nextUpdate.getTime() > issuer.notAfter.getTime()) {
      nextUpdate = issuer.notAfter;
      notes.push(`nextUpdate capped at the issuer's notAfter ${isoSeconds(issuer.notAfter)}`);
    }
  }
  if (nextUpdate.getTime() <= thisUpdate.getTime()) throw new CoreError('ERR_PKI_CRL_INVALID', `nextUpdate ${isoSeconds(nextUpdate)} is not after thisUpdate ${isoSeconds(thisUpdate)}`);
  const previousCrlNumber = input.store.lastCrlNumber(issuerKey);
  const crlNumber = previousCrlNumber + 1;
  const signatureAlgorithm = signAlgorithmFor(issuer.spki, profile.signatureHash);
  const tbsDer = buildTbsCertList({
    signatureAlgorithm,
    issuerName: issuer.subjectDer,
    thisUpdate,
    nextUpdate,
    revoked,
    crlNumber: BigInt(crlNumber),
    ...(profile.authorityKeyIdentifier ? { authorityKeyIdentifier: issuer.keyIdentifier } : {}),
    ...(profile.issuingDistributionPoint === undefined ? {} : { issuingDistributionPoint: profile.issuingDistributionPoint }),
  });
  const prepared: PreparedCrl = {
    kind: 'crl',
    profile,
    profileSha256: profileSha256(profile),
    tbsDer,
    tbsSha256: '',
    crlNumber,
    signatureAlgorithm,
    issuerCertificate: cert.der,
    signerSpki: issuer.spki,
    signerSpkiSha256: issuerKey,
    summary: summarizeCrl(parseTbsCertList(tbsDer)),
    notes,
    preparedAt: now,
    entryIsCa,
    previousCrlNumber,
  };
  const problems = lintTbsCertList(tbsDer, crlLintContext(prepared, { issuer: cert, store: input.store }));
  assertLintClean(problems, `CRL number ${crlNumber} of '${cert.subject.text}' (profile '${profile.name}')`, 'before signing');
  return Object.freeze({ ...prepared, tbsSha256: prepared.summary.tbsSha256 });
}

/** What `signPrepared` (and a careful loader) knows better than the prepared object. */
export interface LintContextOverrides {
  /** The issuer resolved from the store (ca/issuer), instead of the certificate the object carries. */
  issuer?: CertificateInfo;
  /** The time of signing: the lint also judges the object against it. */
  signingTime?: Date;
  /** Longest accepted time between preparation and signing (default 7 days). */
  maxSigningDelayMs?: number;
}

/**
 * The lint context a prepared certificate is checked against (before and after signing). The
 * issuer comes from `overrides.issuer` when given (signPrepared passes the one resolved from the
 * store), else from the object.
 */
export function certificateLintContext(p: PreparedCertificate, overrides: LintContextOverrides = {}): CertificateLintContext {
  return {
    profile: p.profile,
    issuer: p.issuerCertificate === undefined ? 'self' : issuerFromCertificate(overrides.issuer ?? parseCertificate(p.issuerCertificate, 'the issuer certificate')),
    now: p.preparedAt,
    expected: p.expected,
    ...(overrides.signingTime === undefined ? {} : { signingTime: overrides.signingTime }),
    ...(overrides.maxSigningDelayMs === undefined ? {} : { maxSigningDelayMs: overrides.maxSigningDelayMs }),
  };
}

/**
 * The lint context a prepared CRL is checked against (before and after signing). With `store`,
 * the "is this entry a CA certificate of this issuer" facts come from the store, not the object.
 */
export function crlLintContext(p: PreparedCrl, overrides: LintContextOverrides & { store?: CaStore } = {}): CrlLintContext {
  const issuer = issuerFromCertificate(overrides.issuer ?? parseCertificate(p.issuerCertificate, 'the CRL issuer certificate'));
  return {
    profile: p.profile,
    issuer,
    now: p.preparedAt,
    previousCrlNumber: BigInt(p.previousCrlNumber),
    entryIsCa: overrides.store === undefined ? (serial) => p.entryIsCa[serial] : storeEntryIsCa(overrides.store, spkiSha256(issuer.spki)),
    expected: { crlNumber: BigInt(p.crlNumber) },
    ...(overrides.signingTime === undefined ? {} : { signingTime: overrides.signingTime }),
    ...(overrides.maxSigningDelayMs === undefined ? {} : { maxSigningDelayMs: overrides.maxSigningDelayMs }),
  };
}
