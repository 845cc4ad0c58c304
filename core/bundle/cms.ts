/**
 * @module bundle/cms
 * The detached CMS signature over `manifest.json` (RFC 5652 SignedData, DER, in a ContentInfo):
 * one signer, its certificate included, signed attributes contentType (id-data), signingTime and
 * messageDigest (SHA-256), ECDSA with SHA-256. Signing goes through the {@link Signer} port, so the
 * offline transfer key never leaves its HSM. The output verifies with
 * `openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json
 *  -CAfile sender.pem -purpose any`.
 *
 * Reading is strict and separate from verifying: {@link readSignature} checks the structure and
 * returns the embedded certificate, so the caller can first decide whether that certificate is the
 * pinned sender (the embedded certificate is never trusted by itself), then
 * {@link verifyDetachedSignature} checks the digest and the signature over the signed attributes
 * exactly as they were received.
 *
 * Must never: accept a signature without signed attributes, with a digest other than SHA-256, with
 * several signers or certificates, or with attached content.
 */
import { createHash, verify as nodeVerify, X509Certificate } from 'node:crypto';

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';

/** Object identifiers used in bundle signatures. */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  cmsAlgorithmProtect: '1.2.840.113549.1.9.52',
  sha256: '2.16.840.1.101.3.4.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
} as const;

/** Inputs of {@link signDetached}. */
export interface DetachedSignInput {
  /** The signed content (the manifest bytes); not included in the output. */
  content: Uint8Array;
  /** DER of the signer's certificate (its public key must be the signer's). */
  certificate: Uint8Array;
  /** The signing key (HSM or software); must be ECDSA-SHA256. */
  signer: Signer;
  /** Value of the signingTime attribute. */
  signingTime: Date;
}

function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function bad(message: string, cause?: unknown): CoreError {
  return new CoreError('ERR_BUNDLE_SIGNATURE_INVALID', `manifest.json.p7s ${message}; the bundle cannot be trusted. Ask the sender for a new bundle`, cause === undefined ? {} : { cause });
}

/** RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise. */
function timeValue(d: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  const y = d.getUTCFullYear();
  const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
  return y >= 1950 && y < 2050 ? new asn1js.UTCTime({ valueDate: whole }) : new asn1js.GeneralizedTime({ valueDate: whole });
}

/**
 * Makes the detached SignedData (ContentInfo, DER) over `content`.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID when the certificate does not hold the signer's
 *   key or the signer is not ECDSA-SHA256; errors of the signer (e.g. ERR_HSM_*)
 */
export function signDetached(input: DetachedSignInput): Buffer {
  if (input.signer.algorithm !== 'ECDSA-SHA256') {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `transfer keys sign with ECDSA-SHA256; this key signs with ${input.signer.algorithm}`);
  }
  const x = new X509Certificate(Buffer.from(input.certificate));
  if (!x.publicKey.export({ type: 'spki', format: 'der' }).equals(input.signer.spki)) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the transfer certificate does not hold the public key of the signing key; use the certificate made for this key');
  }
  const cert = pkijs.Certificate.fromBER(ab(input.certificate));
  const digest = createHash('sha256').update(input.content).digest();
  const attributes = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [timeValue(input.signingTime)] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: ab(digest) })] }),
  ];
  // DER sorts SET OF by encoding (X.690 §11.6); OpenSSL re-encodes the attributes to verify.
  const encoded = attributes.map((a) => Buffer.from(a.toSchema().toBER(false)));
  const order = encoded.map((e, i) => ({ e, i })).sort((a, b) => Buffer.compare(a.e, b.e));
  const sortedAttrs = order.map((o) => attributes[o.i] as pkijs.Attribute);
  const toBeSigned = Buffer.from(new asn1js.Set({ value: sortedAttrs.map((a) => a.toSchema()) }).toBER(false));
  const signature = input.signer.sign(toBeSigned);

  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sortedAttrs }),
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.ecdsaWithSha256 }),
    signature: new asn1js.OctetString({ valueHex: ab(signature) }),
  });
  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: [cert],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });
  return Buffer.from(contentInfo.toSchema().toBER(false));
}

/** What a structurally valid bundle signature holds (nothing here is trusted yet). */
export interface ParsedSignature {
  /** DER of the embedded signer certificate. */
  readonly certificate: Buffer;
  /** SHA-256 of `certificate`, lower-case hex: compare with the pinned sender. */
  readonly certificateSha256: string;
  /** The signingTime attribute. */
  readonly signingTime: Date;
  /** The messageDigest attribute (SHA-256 of the content). */
  readonly messageDigest: Buffer;
  /** The signed attributes as received, re-tagged as SET (the bytes the signature covers). */
  readonly signedAttributes: Buffer;
  /** DER Ecdsa-Sig-Value. */
  readonly signature: Buffer;
}

function sameBytes(a: ArrayBuffer | Uint8Array, b: ArrayBuffer | Uint8Array): boolean {
  return Buffer.from(a instanceof ArrayBuffer ? new Uint8Array(a) : a).equals(Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b));
}

function algorithmIs(a: pkijs.AlgorithmIdentifier, oid: string): boolean {
  // Parameters absent (or NULL for SHA-256, which some encoders emit).
  return a.algorithmId === oid && (a.algorithmParams === undefined || a.algorithmParams instanceof asn1js.Null);
}

/**
 * Parses and checks the structure of `manifest.json.p7s` without verifying it.
 * @throws {CoreError} ERR_BUNDLE_SIGNATURE_INVALID
 */
export function readSignature(p7s: Uint8Array): ParsedSignature {
  let contentInfo: pkijs.ContentInfo;
  let signedData: pkijs.SignedData;
  try {
    const asn = asn1js.fromBER(ab(p7s));
    if (asn.offset === -1) throw new Error(asn.result.error);
    if (asn.offset !== p7s.byteLength) throw bad('has trailing bytes after the signature');
    contentInfo = new pkijs.ContentInfo({ schema: asn.result });
    if (contentInfo.contentType !== OID.signedData) throw bad('is not a CMS SignedData');
    signedData = new pkijs.SignedData({ schema: contentInfo.content });
    // DER only: the structure must re-encode to exactly the bytes received, so no byte of the
    // signature file can be changed without changing what it means (BER leniencies, such as a
    // non-canonical BOOLEAN or length, are refused).
    const reencoded = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) }).toSchema().toBER(false);
    if (!Buffer.from(reencoded).equals(Buffer.from(p7s))) throw bad('is not DER-encoded (it does not re-encode to the same bytes)');
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw bad('is not a valid DER CMS SignedData', e);
  }
  if (signedData.version !== 1 && signedData.version !== 3) throw bad(`has SignedData version ${signedData.version}`);
  if (signedData.encapContentInfo.eContentType !== OID.data) throw bad('does not sign plain data (eContentType is not id-data)');
  if (signedData.encapContentInfo.eContent !== undefined) throw bad('carries attached content; bundle signatures are detached');
  if (signedData.digestAlgorithms.length !== 1 || !algorithmIs(signedData.digestAlgorithms[0] as pkijs.AlgorithmIdentifier, OID.sha256)) throw bad('must name exactly one digest algorithm, SHA-256');
  if ((signedData.crls?.length ?? 0) > 0 || (signedData.ocsps?.length ?? 0) > 0) throw bad('carries CRLs or OCSP responses');
  const certs = signedData.certificates ?? [];
  if (certs.length !== 1 || !(certs[0] instanceof pkijs.Certificate)) throw bad(`must include exactly one signer certificate (found ${certs.length})`);
  if (signedData.signerInfos.length !== 1) throw bad(`must have exactly one signer (found ${signedData.signerInfos.length})`);
  const cert = certs[0];
  const si = signedData.signerInfos[0] as pkijs.SignerInfo;
  if (si.version === 1) {
    if (!(si.sid instanceof pkijs.IssuerAndSerialNumber) || !si.sid.issuer.isEqual(cert.issuer) || !si.sid.serialNumber.isEqual(cert.serialNumber)) {
      throw bad('names a signer that is not the included certificate');
    }
  } else if (si.version === 3) {
    const ski = cert.extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
    const sid = si.sid as asn1js.Constructed | asn1js.Primitive;
    const sidBytes = sid instanceof asn1js.Primitive ? sid.valueBlock.valueHexView : undefined;
    if (ski === undefined || sidBytes === undefined || !sameBytes(ski.valueBlock.valueHexView, sidBytes)) throw bad('names a signer key identifier that is not the included certificate');
  } else {
    throw bad(`has SignerInfo version ${si.version}`);
  }
  if (!algorithmIs(si.digestAlgorithm, OID.sha256)) throw bad('uses a digest other than SHA-256');
  if (si.signatureAlgorithm.algorithmId !== OID.ecdsaWithSha256 || si.signatureAlgorithm.algorithmParams !== undefined) throw bad('is not an ECDSA-with-SHA-256 signature');
  if (si.unsignedAttrs !== undefined) throw bad('carries unsigned attributes');
  if (si.signedAttrs === undefined) throw bad('has no signed attributes');

  let contentType: string | undefined;
  let messageDigest: Buffer | undefined;
  let signingTime: Date | undefined;
  const seen = new Set<string>();
  for (const a of si.signedAttrs.attributes) {
    if (seen.has(a.type)) throw bad(`repeats the signed attribute ${a.type}`);
    seen.add(a.type);
    if (a.values.length !== 1) throw bad(`has ${a.values.length} values in the signed attribute ${a.type}`);
    const v = a.values[0] as unknown;
    if (a.type === OID.contentType) {
      if (!(v instanceof asn1js.ObjectIdentifier)) throw bad('has a malformed contentType attribute');
      contentType = v.valueBlock.toString();
    } else if (a.type === OID.messageDigest) {
      if (!(v instanceof asn1js.OctetString)) throw bad('has a malformed messageDigest attribute');
      messageDigest = Buffer.from(v.valueBlock.valueHexView);
    } else if (a.type === OID.signingTime) {
      if (!(v instanceof asn1js.UTCTime) && !(v instanceof asn1js.GeneralizedTime)) throw bad('has a malformed signingTime attribute');
      signingTime = v.toDate();
    } else if (a.type === OID.cmsAlgorithmProtect) {
      // RFC 6211, added by OpenSSL 3: must name the same algorithms as the SignerInfo.
      const seq = v instanceof asn1js.Sequence ? v.valueBlock.value : [];
      const digest = seq[0] instanceof asn1js.Sequence ? new pkijs.AlgorithmIdentifier({ schema: seq[0] }) : undefined;
      const sig = seq[1] instanceof asn1js.Constructed && seq[1].idBlock.tagClass === 3 && seq[1].idBlock.tagNumber === 1 ? seq[1].valueBlock.value[0] : undefined;
      const sigOid = sig instanceof asn1js.ObjectIdentifier ? sig.valueBlock.toString() : undefined;
      if (digest === undefined || !algorithmIs(digest, OID.sha256) || sigOid !== OID.ecdsaWithSha256) throw bad('has a CMSAlgorithmProtection attribute that does not match its algorithms');
    } else {
      throw bad(`has the unexpected signed attribute ${a.type}`);
    }
  }
  if (contentType !== OID.data) throw bad('lacks the contentType attribute id-data');
  if (messageDigest === undefined || messageDigest.length !== 32) throw bad('lacks a SHA-256 messageDigest attribute');
  if (signingTime === undefined || Number.isNaN(signingTime.getTime())) throw bad('lacks the signingTime attribute');
  const certificate = Buffer.from(cert.toSchema().toBER(false));
  try {
    new X509Certificate(certificate);
  } catch (e) {
    throw bad('includes a certificate that cannot be parsed', e);
  }
  return {
    certificate,
    certificateSha256: createHash('sha256').update(certificate).digest('hex'),
    signingTime,
    messageDigest,
    signedAttributes: Buffer.from(si.signedAttrs.encodedValue),
    signature: Buffer.from(si.signature.valueBlock.valueHexView),
  };
}

/**
 * Verifies a parsed signature over `content` with the key of its (already pinned) certificate.
 * @throws {CoreError} ERR_BUNDLE_SIGNATURE_INVALID
 */
export function verifyDetachedSignature(parsed: ParsedSignature, content: Uint8Array): void {
  const digest = createHash('sha256').update(content).digest();
  if (!digest.equals(parsed.messageDigest)) throw bad('does not match manifest.json: the manifest was changed after it was signed');
  let ok: boolean;
  try {
    const key = new X509Certificate(parsed.certificate).publicKey;
    ok = nodeVerify('sha256', parsed.signedAttributes, key, parsed.signature);
  } catch (e) {
    throw bad('cannot be checked with its certificate', e);
  }
  if (!ok) throw bad('has a signature that does not verify with the sender certificate');
}
