/**
 * @module bundle/transfer-certificate
 * The self-signed certificate of a transfer identity, built with `core/pki` from its `transfer`
 * profile (ECDSA P-256, SHA-256, 2 years, CA:FALSE, keyUsage digitalSignature, SKI), linted
 * before and after signing, and signed through the {@link Signer} port, so the offline transfer
 * key signs its own certificate inside the HSM. Also the checks a peer's transfer certificate must
 * pass before it is pinned; those are deliberately looser than our profile's lint (a peer may use
 * another implementation, e.g. OpenSSL), and strict where it matters: self-signed, P-256,
 * ECDSA-SHA256, not a CA, usable for signatures, valid now, at most 2 years.
 *
 * Must never: see private key material (only the Signer); accept a certificate whose self-signature
 * does not verify, or that is not ECDSA P-256.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';

import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, KeyUsage, KeyUsageFlags } from '@peculiar/asn1-x509';

import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';
import {
  addDuration,
  assembleCertificate,
  assertLintClean,
  buildTbsCertificate,
  checkSignature,
  defaultProfile,
  encodeName,
  lintTbsCertificate,
  newSerial,
  parseCertificate,
  profileExtensions,
  signatureAlgorithm,
  wholeSeconds,
  type RandomSource,
} from '../pki/index.ts';

/** Validity of a transfer certificate (design brief §2: 2 years; the profile says `2y`). */
export const TRANSFER_VALIDITY_DAYS = 730;

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const DAY = 86_400_000;

/** Inputs of {@link buildTransferCertificate}. */
export interface TransferCertificateInput {
  /** The transfer key (ECDSA P-256, in the HSM or a software key). */
  signer: Signer;
  /** Subject common name, e.g. `NEAM CA transfer: offline`. */
  commonName: string;
  /** notBefore (truncated to the second). */
  now: Date;
  /** Random source for the serial number (the HSM's RNG for the offline key). */
  random: RandomSource;
}

/**
 * Builds, lints, signs, verifies and lints again the self-signed transfer certificate (DER), from
 * the `transfer` profile of core/pki.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID (not a P-256 key, bad name), ERR_PKI_LINT_FAILED,
 *   ERR_PKI_SIGNATURE_INVALID; signer errors
 */
export function buildTransferCertificate(input: TransferCertificateInput): Buffer {
  if (input.signer.algorithm !== 'ECDSA-SHA256') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `a transfer key is ECDSA P-256 with SHA-256, not ${input.signer.algorithm}`);
  const publicKey = createPublicKey({ key: input.signer.spki, format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'a transfer key must be an ECDSA P-256 key');
  const name = input.commonName.trim();
  if (name.length === 0 || name.length > 64) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the transfer identity name must have 1 to 64 characters');
  const profile = defaultProfile('transfer');
  const subjectName = encodeName({ ...profile.subject, commonName: name });
  const notBefore = wholeSeconds(input.now);
  const tbs = buildTbsCertificate({
    serial: newSerial(input.random, profile.serialBytes),
    signatureAlgorithm: 'ECDSA-SHA256',
    issuerName: subjectName,
    subjectName,
    notBefore,
    notAfter: addDuration(notBefore, profile.validity.duration),
    spki: input.signer.spki,
    extensions: profileExtensions(profile, { spki: input.signer.spki, subjectEmpty: false }),
  });
  assertLintClean(lintTbsCertificate(tbs, { profile, issuer: 'self', now: input.now }), 'the transfer certificate', 'before signing');
  const signature = input.signer.sign(tbs);
  const alg = signatureAlgorithm('ECDSA-SHA256');
  const check = checkSignature({ oid: alg.oid, name: alg.name, der: alg.der, sign: alg.sign }, input.signer.spki, tbs, signature);
  if (!check.ok) throw new CoreError('ERR_PKI_SIGNATURE_INVALID', `the transfer key returned a signature that does not verify (${check.message}); nothing was recorded`);
  const der = assembleCertificate(tbs, 'ECDSA-SHA256', signature);
  assertLintClean(lintTbsCertificate(parseCertificate(der).tbsDer, { profile, issuer: 'self', now: input.now }), 'the transfer certificate', 'after signing');
  return der;
}

/** What we show and store about a transfer certificate. */
export interface TransferCertificateInfo {
  /** SHA-256 of the certificate DER, lower-case hex: the pinned fingerprint. */
  fingerprint: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex. */
  spkiSha256: string;
  spki: Buffer;
}

/** SHA-256 fingerprint (lower-case hex) of a certificate's DER. */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/**
 * Checks that `der` is a usable transfer certificate: parses, self-signed with a valid signature,
 * ECDSA P-256 key, not a CA, keyUsage digitalSignature, valid at `now`, at most 2 years + 1 day.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID
 */
export function checkTransferCertificate(der: Uint8Array, now: Date): TransferCertificateInfo {
  const fail = (why: string, cause?: unknown): CoreError =>
    new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `this is not a usable transfer certificate: ${why}`, cause === undefined ? {} : { cause });
  let x: X509Certificate;
  try {
    x = new X509Certificate(Buffer.from(der));
  } catch (e) {
    throw fail('it cannot be parsed as an X.509 certificate', e);
  }
  const key = x.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw fail('its key is not ECDSA P-256');
  if (x.subject !== x.issuer || !x.verify(key)) throw fail('it is not validly self-signed');
  let parsed: Certificate;
  try {
    parsed = AsnConvert.parse(Buffer.from(der), Certificate);
  } catch (e) {
    throw fail('it is not DER', e);
  }
  if (parsed.signatureAlgorithm.algorithm !== ECDSA_SHA256) throw fail('it is not signed with ECDSA-SHA256');
  if (x.ca) throw fail('it is a CA certificate; transfer certificates have CA:FALSE');
  const ku = parsed.tbsCertificate.extensions?.find((e) => e.extnID === '2.5.29.15');
  if (ku !== undefined) {
    const usage = AsnConvert.parse(ku.extnValue, KeyUsage);
    if ((usage.toNumber() & KeyUsageFlags.digitalSignature) === 0) throw fail('its keyUsage does not allow digitalSignature');
  }
  const notBefore = new Date(x.validFrom);
  const notAfter = new Date(x.validTo);
  if (now < notBefore) throw fail(`it is not valid before ${notBefore.toISOString()}; check the clock`);
  if (now > notAfter) throw fail(`it expired on ${notAfter.toISOString()}; the sender must create a new transfer identity`);
  if (notAfter.getTime() - notBefore.getTime() > (TRANSFER_VALIDITY_DAYS + 1) * DAY) throw fail('it is valid for more than 2 years');
  const spki = key.export({ type: 'spki', format: 'der' });
  return {
    fingerprint: certificateFingerprint(der),
    subject: x.subject.replace(/\n/gu, ', '),
    notBefore,
    notAfter,
    spki,
    spkiSha256: createHash('sha256').update(spki).digest('hex'),
  };
}
