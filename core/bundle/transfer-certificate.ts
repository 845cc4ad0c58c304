/**
 * @module bundle/transfer-certificate
 * The self-signed certificate of a transfer identity (ECDSA P-256, SHA-256, 2 years, CA:FALSE,
 * keyUsage digitalSignature) and the checks a peer's transfer certificate must pass before it is
 * pinned. Built with `@peculiar/asn1-x509` and signed through the {@link Signer} port, so the
 * offline transfer key signs its own certificate inside the HSM.
 *
 * This file is deliberately self-contained: when `core/pki` provides a self-signed builder for a
 * `transfer` profile, {@link buildTransferCertificate} becomes a thin call to it and nothing else
 * in `core/bundle` changes.
 *
 * Must never: see private key material (only the Signer); accept a certificate whose self-signature
 * does not verify, or that is not ECDSA P-256.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';

import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';

import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';

/** Validity of a transfer certificate (design brief §2: 2 years). */
export const TRANSFER_VALIDITY_DAYS = 730;

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const CN = '2.5.4.3';
const O = '2.5.4.10';
const DAY = 86_400_000;

/** Inputs of {@link buildTransferCertificate}. */
export interface TransferCertificateInput {
  /** The transfer key (ECDSA P-256, in the HSM or a software key). */
  signer: Signer;
  /** Subject common name, e.g. `NEAM CA transfer: offline`. */
  commonName: string;
  /** notBefore (truncated to the second). */
  now: Date;
  /** 16 random bytes for the serial number. */
  serialRandom: Uint8Array;
  /** Validity in days (default 730). */
  validityDays?: number;
}

function rdn(type: string, value: string): RelativeDistinguishedName {
  return new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
}

/** RFC 7093 §2 method 1: leftmost 160 bits of the SHA-256 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return createHash('sha256').update(Buffer.from(info.subjectPublicKey)).digest().subarray(0, 20);
}

/**
 * Builds and signs the self-signed transfer certificate (DER).
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID (not a P-256 key or bad input); signer errors
 */
export function buildTransferCertificate(input: TransferCertificateInput): Buffer {
  if (input.signer.algorithm !== 'ECDSA-SHA256') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `a transfer key is ECDSA P-256 with SHA-256, not ${input.signer.algorithm}`);
  const publicKey = createPublicKey({ key: input.signer.spki, format: 'der', type: 'spki' });
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'a transfer key must be an ECDSA P-256 key');
  const spkiInfo = AsnConvert.parse(input.signer.spki, SubjectPublicKeyInfo);
  const name = input.commonName.trim();
  if (name.length === 0 || name.length > 64) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the transfer identity name must have 1 to 64 characters');
  if (input.serialRandom.length !== 16) throw new TypeError('serialRandom must be 16 bytes');
  const serial = Buffer.from(input.serialRandom);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, no leading zero (RFC 5280 §4.1.2.2)
  const days = input.validityDays ?? TRANSFER_VALIDITY_DAYS;
  const notBefore = new Date(Math.floor(input.now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + days * DAY);
  const subject = new Name([rdn(O, 'NEAM CA'), rdn(CN, name)]);
  const kid = keyIdentifier(input.signer.spki);
  const ext = (extnID: string, critical: boolean, value: unknown): Extension => new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.byteLength) as ArrayBuffer,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    issuer: subject,
    validity: new Validity({ notBefore, notAfter }),
    subject,
    subjectPublicKeyInfo: spkiInfo,
    extensions: new Extensions([
      ext('2.5.29.19', true, new BasicConstraints({ cA: false })),
      ext('2.5.29.15', true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      ext('2.5.29.14', false, new SubjectKeyIdentifier(kid)),
      ext('2.5.29.35', false, new AuthorityKeyIdentifier({ keyIdentifier: new OctetString(kid) })),
    ]),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = input.signer.sign(tbsDer);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer,
  });
  return Buffer.from(AsnConvert.serialize(cert));
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
