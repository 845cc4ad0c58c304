/**
 * @module ca/sign
 * The second half of every issuance, in Boulder's order for anything irreversible:
 * 1. the prepared bytes still hash to the prepared digest (and to the approved digest, when the
 *    caller passes one), and the profile is the expected one; an object loaded from a file must
 *    come with both expectations (its own claims count for nothing);
 * 2. the signer's public key is the issuer's key and its algorithm is the prepared one; the issuer
 *    certificate is resolved from the store (recorded, or verified up to a recorded root or a
 *    caller's trust anchor), never taken as given;
 * 3. not expired / stale at signing time, prepared before now and at most 7 days (by default)
 *    earlier; lint again against the resolved issuer, the preparation time and the signing time,
 *    with a CRL's "is a CA" facts from the store; check the serial / CRL number is still free;
 * 4. sign once (the only HSM call);
 * 5. verify the signature with the issuer's public key; parse the signed object and confirm its
 *    TBS bytes equal the prepared bytes exactly;
 * 6. lint the signed object's TBS again;
 * 7. record it in the store with the ceremony reference, in one transaction.
 * A failure before step 4 leaves no trace anywhere; a failure after it discards the signed object
 * and records nothing.
 *
 * Must never: sign bytes other than the prepared ones, sign twice, or record an object that
 * failed a check.
 */
import { createHash } from 'node:crypto';

import type { Signer } from '../crypto/signer.ts';
import { CoreError } from '../errors.ts';
import { assembleCertificate, assembleCrl } from '../pki/assemble.ts';
import { checkSignature, parseCertificate, parseCrl, parseTbsCertificate, parseTbsCertList, type CertificateInfo, type CrlInfo } from '../pki/decode.ts';
import { signatureAlgorithm as signatureAlgorithmInfo } from '../pki/keys.ts';
import { assertLintClean, DEFAULT_MAX_SIGNING_DELAY_MS, describeDelay, lintTbsCertificate, lintTbsCertList } from '../pki/lint.ts';
import { PEM_LABEL, toPem } from '../pki/pem.ts';
import { isoSeconds } from '../pki/time.ts';
import { resolveIssuer, type TrustAnchors } from './issuer.ts';
import { certificateLintContext, crlLintContext, type Prepared, type PreparedCertificate, type PreparedCrl } from './prepare.ts';
import type { CaStore, CeremonyRef, CertificateRecord, CrlRecord } from './store.ts';

/** Options of {@link signPrepared}. */
export interface SignOptions {
  store: CaStore;
  /** The ceremony (or rehearsal, or CLI run) this issuance belongs to; recorded with it. */
  ceremony: CeremonyRef;
  /** The time of signing (recorded; the certificate must not be expired by then). */
  now: Date;
  /**
   * The TBS digest the quorum approved. When given, signing is refused unless the prepared bytes
   * hash to exactly this value.
   */
  expectTbsSha256?: string;
  /** The profile digest the ceremony script names; refused when the prepared profile differs. */
  expectProfileSha256?: string;
  /**
   * CA certificates trusted beyond the store (PEM or DER), e.g. the online CA's root from its
   * pinned trust bundle. The prepared issuer certificate must be recorded in the store, be one of
   * these, or verify with one of them; it is never trusted as given.
   */
  trustAnchors?: TrustAnchors;
  /**
   * Longest accepted time between preparation and signing, in milliseconds (default 7 days,
   * {@link DEFAULT_MAX_SIGNING_DELAY_MS}); a preparation time after `now` is always refused.
   */
  maxPreparedAgeMs?: number;
}

/** An issued certificate. */
export interface IssuedCertificate {
  kind: 'certificate';
  der: Buffer;
  pem: string;
  info: CertificateInfo;
  record: CertificateRecord;
}

/** An issued CRL. */
export interface IssuedCrl {
  kind: 'crl';
  der: Buffer;
  pem: string;
  info: CrlInfo;
  record: CrlRecord;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function checkIntegrity(p: Prepared, options: SignOptions): void {
  const actual = sha256(p.tbsDer);
  if (actual !== p.tbsSha256) {
    throw new CoreError('ERR_PKI_TBS_MISMATCH', `the prepared ${p.kind === 'crl' ? 'tbsCertList' : 'tbsCertificate'} changed after it was prepared (SHA-256 ${actual}, prepared ${p.tbsSha256}); nothing was signed. Prepare it again`, {
      details: { actual, prepared: p.tbsSha256 },
    });
  }
  if (options.expectTbsSha256 !== undefined && options.expectTbsSha256.toLowerCase() !== actual) {
    throw new CoreError('ERR_PKI_TBS_MISMATCH', `the bytes to sign (SHA-256 ${actual}) are not the approved ones (SHA-256 ${options.expectTbsSha256.toLowerCase()}); nothing was signed`, {
      details: { actual, approved: options.expectTbsSha256.toLowerCase() },
    });
  }
  if (options.expectProfileSha256 !== undefined && options.expectProfileSha256.toLowerCase() !== p.profileSha256) {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `the prepared object was built with profile '${p.profile.name}' (SHA-256 ${p.profileSha256}), not the expected profile (SHA-256 ${options.expectProfileSha256.toLowerCase()}); nothing was signed`);
  }
}

/**
 * A prepared object from a file carries its own profile and digests; they count only against
 * expectations from outside the file.
 * @throws {CoreError} ERR_PKI_PREPARED_UNVERIFIED
 */
function checkOrigin(p: Prepared, options: SignOptions): void {
  if (p.origin?.source !== 'file') return;
  const missing: string[] = [];
  if (!p.origin.tbsVerified && options.expectTbsSha256 === undefined) missing.push('the approved TBS digest (expectTbsSha256 / --expect-tbs-sha256)');
  if (!p.origin.profileVerified && options.expectProfileSha256 === undefined) missing.push("the expected profile (expectProfileSha256, or load the file with the named profile / --profile)");
  if (missing.length > 0) {
    throw new CoreError('ERR_PKI_PREPARED_UNVERIFIED', `the prepared ${p.kind === 'crl' ? 'CRL' : 'certificate'} was loaded from a file, whose profile and digests are its own claims; nothing was signed. Give ${missing.join(' and ')}`, {
      details: { missing: missing.length },
    });
  }
}

/**
 * The issuer the lint judges against: resolved from the store (or the caller's trust anchors),
 * never the certificate the prepared object carries as given. For a self-signed certificate, the
 * signing key must be the certified key.
 * @throws {CoreError} ERR_PKI_CHAIN_INVALID, ERR_PKI_TBS_MISMATCH
 */
function trustedIssuer(p: Prepared, options: SignOptions): CertificateInfo | undefined {
  if (p.issuerCertificate === undefined) {
    if (p.kind === 'crl') throw new TypeError('a prepared CRL must carry its issuer certificate');
    if (!parseTbsCertificate(p.tbsDer).spki.equals(p.signerSpki)) {
      throw new CoreError('ERR_PKI_TBS_MISMATCH', 'the prepared self-signed certificate names a signing key that is not its own key; nothing was signed');
    }
    return undefined;
  }
  const { cert } = resolveIssuer(options.store, p.issuerCertificate, { what: p.kind === 'crl' ? 'the CRL issuer certificate' : 'the issuer certificate', ...(options.trustAnchors === undefined ? {} : { trustAnchors: options.trustAnchors }) });
  if (!cert.spki.equals(p.signerSpki)) throw new CoreError('ERR_PKI_TBS_MISMATCH', "the prepared object names a signing key that is not the issuer's; nothing was signed");
  return cert;
}

/**
 * The preparation time is the prepared object's claim; the signing time is ours. The object must
 * have been prepared before now, and not longer ago than the allowed delay, so a preparation time
 * in the past cannot license a backdated certificate or CRL.
 * @throws {CoreError} ERR_PKI_VALIDITY_INVALID
 */
function checkPreparedAt(p: Prepared, what: string, options: SignOptions): void {
  const delay = options.now.getTime() - p.preparedAt.getTime();
  const max = options.maxPreparedAgeMs ?? DEFAULT_MAX_SIGNING_DELAY_MS;
  if (Number.isNaN(delay) || delay < -5 * 60_000) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} was prepared after the signing time (prepared ${isoSeconds(p.preparedAt)}, signing ${isoSeconds(options.now)}); nothing was signed. Check the clock and prepare it again`);
  }
  if (delay > max) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} was prepared ${describeDelay(delay)} before signing; at most ${describeDelay(max)} may pass between preparation and signing (its validity is counted from the preparation time). Nothing was signed: prepare it again and have it approved again`, {
      details: { preparedAt: isoSeconds(p.preparedAt), maxPreparedAgeMs: max },
    });
  }
}

function checkSigner(p: Prepared, signer: Signer): void {
  if (!signer.spki.equals(p.signerSpki)) {
    throw new CoreError('ERR_HSM_KEY_MISMATCH', `the signing key (SHA-256(SPKI) ${sha256(signer.spki)}) is not the issuer's key (SHA-256(SPKI) ${p.signerSpkiSha256}); nothing was signed. Select the right key on the token`, {
      details: { signer: sha256(signer.spki), expected: p.signerSpkiSha256 },
    });
  }
  if (signer.algorithm !== p.signatureAlgorithm) {
    throw new TypeError(`signer algorithm ${signer.algorithm} differs from the prepared ${p.signatureAlgorithm}; create the signer with prepared.signatureAlgorithm`);
  }
}

function verifySigned(p: Prepared, signature: Buffer): void {
  const alg = signatureAlgorithmInfo(p.signatureAlgorithm);
  const r = checkSignature({ oid: alg.oid, name: alg.name, der: alg.der, sign: alg.sign }, p.signerSpki, p.tbsDer, signature);
  if (!r.ok) {
    throw new CoreError('ERR_PKI_SIGNATURE_INVALID', `the HSM returned a signature that does not verify with the issuer's public key (${r.message}); the result was discarded and nothing was recorded`, {
      details: { reason: r.reason },
    });
  }
}

function ceremonyCheck(c: CeremonyRef): void {
  if (typeof c.id !== 'string' || c.id.trim() === '' || c.id.length > 200) throw new TypeError('ceremony.id must be a non-empty string of at most 200 characters');
}

/**
 * Signs a prepared certificate or CRL with `signer` (e.g. `hsmSigner(session, key,
 * prepared.signatureAlgorithm)`), verifies and re-lints the result, and records it in the store.
 * @throws {CoreError} ERR_PKI_TBS_MISMATCH, ERR_PKI_PROFILE_INVALID, ERR_PKI_PREPARED_UNVERIFIED,
 *   ERR_HSM_KEY_MISMATCH, ERR_PKI_CHAIN_INVALID, ERR_PKI_LINT_FAILED, ERR_PKI_VALIDITY_INVALID,
 *   ERR_PKI_SERIAL_COLLISION, ERR_PKI_CRL_INVALID, ERR_PKI_SIGNATURE_INVALID, ERR_STORE_FAILED,
 *   HSM errors from the signer
 */
export function signPrepared(prepared: PreparedCertificate, signer: Signer, options: SignOptions): IssuedCertificate;
export function signPrepared(prepared: PreparedCrl, signer: Signer, options: SignOptions): IssuedCrl;
export function signPrepared(prepared: Prepared, signer: Signer, options: SignOptions): IssuedCertificate | IssuedCrl;
export function signPrepared(prepared: Prepared, signer: Signer, options: SignOptions): IssuedCertificate | IssuedCrl {
  ceremonyCheck(options.ceremony);
  checkIntegrity(prepared, options);
  checkOrigin(prepared, options);
  checkSigner(prepared, signer);
  const issuer = trustedIssuer(prepared, options);
  return prepared.kind === 'certificate' ? signCertificate(prepared, signer, options, issuer) : signCrl(prepared, signer, options, issuer as CertificateInfo);
}

function signCertificate(p: PreparedCertificate, signer: Signer, options: SignOptions, issuer: CertificateInfo | undefined): IssuedCertificate {
  const what = `the ${p.profile.role} certificate '${p.summary.subject || '(empty subject)'}' (serial ${p.serial})`;
  const notAfter = parseTbsCertificate(p.tbsDer).notAfter;
  if (notAfter.getTime() <= options.now.getTime()) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} would be expired at signing time ${isoSeconds(options.now)} (notAfter ${isoSeconds(notAfter)}); prepare it again`);
  }
  checkPreparedAt(p, what, options);
  // Lint against the preparation time and the signing time, with the issuer from the store.
  const ctx = certificateLintContext(p, { ...(issuer === undefined ? {} : { issuer }), signingTime: options.now, ...(options.maxPreparedAgeMs === undefined ? {} : { maxSigningDelayMs: options.maxPreparedAgeMs }) });
  assertLintClean(lintTbsCertificate(p.tbsDer, ctx), what, 'before signing');
  if (options.store.serialExists(p.serial)) {
    throw new CoreError('ERR_PKI_SERIAL_COLLISION', `serial ${p.serial} was recorded for another certificate after this one was prepared; nothing was signed. Prepare it again`, { details: { serial: p.serial } });
  }

  const signature = signer.sign(p.tbsDer);

  verifySigned(p, signature);
  const der = assembleCertificate(p.tbsDer, p.signatureAlgorithm, signature);
  const info = parseCertificate(der, 'the signed certificate');
  if (!info.tbsDer.equals(p.tbsDer)) {
    throw new CoreError('ERR_PKI_TBS_MISMATCH', `the signed certificate's tbsCertificate (SHA-256 ${info.tbsSha256}) differs from the prepared bytes (SHA-256 ${p.tbsSha256}); it was discarded and nothing was recorded`);
  }
  if (!info.signatureAlgorithm.der.equals(info.signature.der)) {
    throw new CoreError('ERR_PKI_CERT_INVALID', 'the signed certificate names different signature algorithms inside and outside the TBS (RFC 5280 §4.1.1.2); it was discarded');
  }
  const outer = checkSignature(info.signatureAlgorithm, p.signerSpki, info.tbsDer, info.signatureValue);
  if (!outer.ok) throw new CoreError('ERR_PKI_SIGNATURE_INVALID', `the assembled certificate does not verify (${outer.message}); it was discarded and nothing was recorded`);
  assertLintClean(lintTbsCertificate(info.tbsDer, ctx), what, 'after signing');

  const pem = toPem(PEM_LABEL.certificate, der);
  const record: CertificateRecord = {
    serial: info.serial,
    sha256: info.sha256,
    tbsSha256: info.tbsSha256,
    role: p.profile.role,
    subject: info.subject.text,
    issuer: info.issuer.text,
    spkiSha256: info.spkiSha256,
    issuerSpkiSha256: p.signerSpkiSha256,
    isCa: info.basicConstraints?.ca === true,
    notBefore: isoSeconds(info.notBefore),
    notAfter: isoSeconds(info.notAfter),
    profile: p.profile.name,
    profileSha256: p.profileSha256,
    pem,
    ceremony: { ...options.ceremony, rehearsal: options.ceremony.rehearsal === true },
    issuedAt: isoSeconds(options.now),
    ...(info.subjectKeyIdentifier === undefined ? {} : { ski: info.subjectKeyIdentifier }),
  };
  options.store.store.transaction((db) => options.store.insertCertificate(record, db));
  return { kind: 'certificate', der, pem, info, record };
}

function signCrl(p: PreparedCrl, signer: Signer, options: SignOptions, issuer: CertificateInfo): IssuedCrl {
  const what = `CRL number ${p.crlNumber} of '${p.summary.issuer}'`;
  const nextUpdate = parseTbsCertList(p.tbsDer).nextUpdate;
  if (nextUpdate !== undefined && nextUpdate.getTime() <= options.now.getTime()) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} would be stale at signing time ${isoSeconds(options.now)}; prepare it again`);
  }
  checkPreparedAt(p, what, options);
  // The issuer from the store; which entries are CA certificates, from the store too.
  const ctx = crlLintContext(p, { issuer, store: options.store, signingTime: options.now, ...(options.maxPreparedAgeMs === undefined ? {} : { maxSigningDelayMs: options.maxPreparedAgeMs }) });
  assertLintClean(lintTbsCertList(p.tbsDer, ctx), what, 'before signing');
  const last = options.store.lastCrlNumber(p.signerSpkiSha256);
  if (last !== p.previousCrlNumber) {
    throw new CoreError('ERR_PKI_CRL_INVALID', `${what} was prepared after CRL number ${p.previousCrlNumber}, but the store now holds CRL number ${last}; nothing was signed. Prepare the CRL again`);
  }

  const signature = signer.sign(p.tbsDer);

  verifySigned(p, signature);
  const der = assembleCrl(p.tbsDer, p.signatureAlgorithm, signature);
  const info = parseCrl(der, 'the signed CRL');
  if (!info.tbsDer.equals(p.tbsDer)) {
    throw new CoreError('ERR_PKI_TBS_MISMATCH', `the signed CRL's tbsCertList (SHA-256 ${info.tbsSha256}) differs from the prepared bytes (SHA-256 ${p.tbsSha256}); it was discarded and nothing was recorded`);
  }
  const outer = checkSignature(info.signatureAlgorithm, p.signerSpki, info.tbsDer, info.signatureValue);
  if (!outer.ok) throw new CoreError('ERR_PKI_SIGNATURE_INVALID', `the assembled CRL does not verify (${outer.message}); it was discarded and nothing was recorded`);
  assertLintClean(lintTbsCertList(info.tbsDer, ctx), what, 'after signing');

  const pem = toPem(PEM_LABEL.crl, der);
  const record: CrlRecord = {
    issuerSpkiSha256: p.signerSpkiSha256,
    issuer: info.issuer.text,
    crlNumber: p.crlNumber,
    thisUpdate: isoSeconds(info.thisUpdate),
    nextUpdate: isoSeconds(info.nextUpdate ?? info.thisUpdate),
    revokedCount: info.revoked.length,
    sha256: info.sha256,
    tbsSha256: info.tbsSha256,
    profile: p.profile.name,
    profileSha256: p.profileSha256,
    pem,
    ceremony: { ...options.ceremony, rehearsal: options.ceremony.rehearsal === true },
    issuedAt: isoSeconds(options.now),
  };
  options.store.store.transaction((db) => options.store.insertCrl(record, db));
  return { kind: 'crl', der, pem, info, record };
}
