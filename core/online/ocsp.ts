/**
 * @module online/ocsp
 * The OCSP responder (RFC 6960): parses a DER OCSPRequest (from POST bodies or the base64 path of
 * a GET, RFC 6960 Appendix A), matches each CertID against our intermediates by issuer name and
 * key hash (SHA-1 or SHA-256), looks each serial up in the certificate record, and returns a
 * BasicOCSPResponse signed by the issuing intermediate itself (responderID byKey, the
 * intermediate certificate included, the request's nonce echoed). Malformed input gets the
 * unsigned `malformedRequest` status, certificates of other issuers `unauthorized`.
 *
 * Must never: answer `good` for a serial we did not issue, or sign with a key other than the
 * issuer's.
 */
import { createHash } from 'node:crypto';

import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, CRLReason, Extension } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  CertID,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
  KeyHash,
} from '@peculiar/asn1-ocsp';

import type { SignAlgorithm } from '../hsm/types.ts';
import { normalizeSerial } from '../pki/index.ts';
import { expectTlv, seq, tlv } from './der.ts';
import { signatureAlgorithmDer } from './svid-template.ts';

/** Largest OCSP request accepted (bytes of DER). */
export const MAX_OCSP_REQUEST_BYTES = 4096;
/** Most certificates asked about in one request. */
export const MAX_OCSP_CERTS = 16;

const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';

/** An intermediate able to answer for its certificates. */
export interface OcspIssuer {
  readonly id: string;
  readonly certDer: Buffer;
  readonly signatureAlgorithm: SignAlgorithm;
  readonly nameHash: Readonly<Record<string, Buffer>>;
  readonly keyHash: Readonly<Record<string, Buffer>>;
  /** Signs the DER ResponseData. */
  readonly sign: (data: Buffer) => Buffer | Promise<Buffer>;
}

/** Status of one serial. */
export type OcspStatus = { status: 'good' } | { status: 'revoked'; revokedAtMs: number; reason: number } | { status: 'unknown' };

/** The subjectPublicKey bits of an SPKI (what the key hash covers). */
export function spkiKeyBits(spki: Buffer): Buffer {
  const outer = expectTlv(spki, 0, spki.length, 0x30, 'SubjectPublicKeyInfo');
  const alg = expectTlv(spki, outer.valueStart, outer.end, 0x30, 'algorithm');
  const bits = expectTlv(spki, alg.end, outer.end, 0x03, 'subjectPublicKey');
  return spki.subarray(bits.valueStart + 1, bits.end);
}

/** Precomputes the CertID hashes of an intermediate. */
export function ocspIssuer(id: string, certDer: Buffer, subjectDer: Buffer, spki: Buffer, signatureAlgorithm: SignAlgorithm, sign: OcspIssuer['sign']): OcspIssuer {
  const bits = spkiKeyBits(spki);
  const h = (alg: string, data: Buffer): Buffer => createHash(alg).update(data).digest();
  return {
    id,
    certDer,
    signatureAlgorithm,
    nameHash: { [SHA1]: h('sha1', subjectDer), [SHA256]: h('sha256', subjectDer) },
    keyHash: { [SHA1]: h('sha1', bits), [SHA256]: h('sha256', bits) },
    sign,
  };
}

function statusOnly(status: OCSPResponseStatus): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

function serialHex(buf: ArrayBuffer): string {
  return normalizeSerial(Buffer.from(buf).toString('hex') || '00');
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** Outcome of {@link respondOcsp}, for metrics and logs. */
export interface OcspOutcome {
  readonly der: Buffer;
  readonly result: 'malformed' | 'unauthorized' | 'good' | 'revoked' | 'unknown' | 'mixed';
}

/**
 * Answers one DER OCSP request.
 */
export async function respondOcsp(request: Buffer, issuers: readonly OcspIssuer[], lookup: (serialHex: string, issuerId: string) => OcspStatus, nowMs: number, validityMs: number): Promise<OcspOutcome> {
  let req: OCSPRequest;
  try {
    if (request.length === 0 || request.length > MAX_OCSP_REQUEST_BYTES) throw new RangeError('size');
    const outer = expectTlv(request, 0, request.length, 0x30, 'OCSPRequest');
    if (outer.end !== request.length) throw new RangeError('trailing data');
    req = AsnConvert.parse(request, OCSPRequest);
  } catch {
    return { der: statusOnly(OCSPResponseStatus.malformedRequest), result: 'malformed' };
  }
  const list = req.tbsRequest.requestList;
  if (list.length === 0 || list.length > MAX_OCSP_CERTS) return { der: statusOnly(OCSPResponseStatus.malformedRequest), result: 'malformed' };
  let issuer: OcspIssuer | undefined;
  for (const r of list) {
    const alg = r.reqCert.hashAlgorithm.algorithm;
    const name = Buffer.from(r.reqCert.issuerNameHash.buffer);
    const key = Buffer.from(r.reqCert.issuerKeyHash.buffer);
    const match = issuers.find((i) => i.nameHash[alg]?.equals(name) === true && i.keyHash[alg]?.equals(key) === true);
    // One signer per response: every CertID must name the same intermediate (RFC 6960 §4.2.2.2).
    if (match === undefined || (issuer !== undefined && issuer !== match)) return { der: statusOnly(OCSPResponseStatus.unauthorized), result: 'unauthorized' };
    issuer = match;
  }
  if (issuer === undefined) return { der: statusOnly(OCSPResponseStatus.malformedRequest), result: 'malformed' };
  const thisUpdate = wholeSeconds(nowMs);
  const nextUpdate = wholeSeconds(nowMs + validityMs);
  const results = new Set<string>();
  const responses = list.map((r) => {
    const st = lookup(serialHex(r.reqCert.serialNumber), issuer.id);
    results.add(st.status);
    const certID = new CertID({ hashAlgorithm: r.reqCert.hashAlgorithm, issuerNameHash: r.reqCert.issuerNameHash, issuerKeyHash: r.reqCert.issuerKeyHash, serialNumber: r.reqCert.serialNumber });
    let certStatus: CertStatus;
    if (st.status === 'good') certStatus = new CertStatus({ good: null });
    else if (st.status === 'revoked') certStatus = new CertStatus({ revoked: new RevokedInfo({ revocationTime: wholeSeconds(st.revokedAtMs), ...(st.reason === 0 ? {} : { revocationReason: new CRLReason(st.reason) }) }) });
    else certStatus = new CertStatus({ unknown: null });
    return new SingleResponse({ certID, certStatus, thisUpdate, nextUpdate });
  });
  const nonce = req.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  const cert = AsnConvert.parse(issuer.certDer, Certificate);
  const data = new ResponseData({
    responderID: new ResponderID({ byKey: new KeyHash(issuer.keyHash[SHA1] as Buffer) }),
    producedAt: thisUpdate,
    responses,
    ...(nonce === undefined ? {} : { responseExtensions: [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonce.extnValue.buffer) })] }),
  });
  const tbs = Buffer.from(AsnConvert.serialize(data));
  const signature = await issuer.sign(tbs);
  // BasicOCSPResponse assembled by hand so the signed bytes are exactly `tbs`.
  const basic = seq(tbs, signatureAlgorithmDer(issuer.signatureAlgorithm), tlv(0x03, Buffer.from([0]), signature), tlv(0xa0, seq(Buffer.from(AsnConvert.serialize(cert)))));
  AsnConvert.parse(basic, BasicOCSPResponse); // self-check: the structure parses
  const response = new OCSPResponse({
    responseStatus: OCSPResponseStatus.successful,
    responseBytes: new ResponseBytes({ responseType: id_pkix_ocsp_basic, response: new OctetString(basic) }),
  });
  return { der: Buffer.from(AsnConvert.serialize(response)), result: results.size === 1 ? ([...results][0] as 'good' | 'revoked' | 'unknown') : 'mixed' };
}

/**
 * Decodes the GET form of a request: the path after `/ocsp/` is the URL-encoded base64 of the
 * DER request (RFC 6960 Appendix A.1). Returns undefined when it is not valid.
 */
export function decodeOcspGetPath(encoded: string): Buffer | undefined {
  let b64: string;
  try {
    b64 = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  if (b64.length === 0 || b64.length > MAX_OCSP_REQUEST_BYTES * 2 || !/^[A-Za-z0-9+/]+={0,2}$/u.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}
