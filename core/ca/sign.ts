/**
 * @module ca/sign
 * The second half of every issuance, in Boulder's order for anything irreversible:
 * 1. the prepared bytes still hash to the prepared digest (and to the approved digest, when the
 *    caller passes one), and the profile is the expected one;
 * 2. the signer's public key is the issuer's key and its algorithm is the prepared one;
 * 3. lint again, check the serial / CRL number is still free in the store;
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
import { checkSignature, parseCertificate, parseCrl, type CertificateInfo, type CrlInfo } from '../pki/decode.ts';
import { signatureAlgorithm as signatureAlgorithmInfo } from '../pki/keys.ts';
import { assertLintClean, lintTbsCertificate, lintTbsCertList } from '../pki/lint.ts';
import { PEM_LABEL, toPem } from '../pki/pem.ts';
import { isoSeconds } from '../pki/time.ts';
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
 * @throws {CoreError} ERR_PKI_TBS_MISMATCH, ERR_PKI_PROFILE_INVALID, ERR_HSM_KEY_MISMATCH, ERR_PKI_LINT_FAILED,
 *   ERR_PKI_VALIDITY_INVALID, ERR_PKI_SERIAL_COLLISION, ERR_PKI_CRL_INVALID, ERR_PKI_SIGNATURE_INVALID,
 *   ERR_STORE_FAILED, HSM errors from the signer
 */
export function signPrepared(prepared: PreparedCertificate, signer: Signer, options: SignOptions): IssuedCertificate;
export function signPrepared(prepared: PreparedCrl, signer: Signer, options: SignOptions): IssuedCrl;
export function signPrepared(prepared: Prepared, signer: Signer, options: SignOptions): IssuedCertificate | IssuedCrl;
export function signPrepared(prepared: Prepared, signer: Signer, options: SignOptions): IssuedCertificate | IssuedCrl {
  ceremonyCheck(options.ceremony);
  checkIntegrity(prepared, options);
  checkSigner(prepared, signer);
  return prepared.kind === 'certificate' ? signCertificate(prepared, signer, options) : signCrl(prepared, signer, options);
}

function signCertificate(p: PreparedCertificate, signer: Signer, options: SignOptions): IssuedCertificate {
  const ctx = certificateLintContext(p);
  const what = `the ${p.profile.role} certificate '${p.summary.subject || '(empty subject)'}' (serial ${p.serial})`;
  assertLintClean(lintTbsCertificate(p.tbsDer, ctx), what, 'before signing');
  if (Date.parse(p.summary.notAfter) <= options.now.getTime()) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} would be expired at signing time ${isoSeconds(options.now)} (notAfter ${p.summary.notAfter}); prepare it again`);
  }
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

function signCrl(p: PreparedCrl, signer: Signer, options: SignOptions): IssuedCrl {
  const ctx = crlLintContext(p);
  const what = `CRL number ${p.crlNumber} of '${p.summary.issuer}'`;
  assertLintClean(lintTbsCertList(p.tbsDer, ctx), what, 'before signing');
  const last = options.store.lastCrlNumber(p.signerSpkiSha256);
  if (last !== p.previousCrlNumber) {
    throw new CoreError('ERR_PKI_CRL_INVALID', `${what} was prepared after CRL number ${p.previousCrlNumber}, but the store now holds CRL number ${last}; nothing was signed. Prepare the CRL again`);
  }
  if (p.summary.nextUpdate !== undefined && Date.parse(p.summary.nextUpdate) <= options.now.getTime()) {
    throw new CoreError('ERR_PKI_VALIDITY_INVALID', `${what} would be stale at signing time ${isoSeconds(options.now)}; prepare it again`);
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
