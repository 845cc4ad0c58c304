/**
 * @module online/intermediate-csr
 * The PKCS#10 requests for the online intermediates, signed by the intermediate's own key (in the
 * token, or the software key before it is sealed). The subject names the trust domain and the
 * intermediate's id; the request carries the trust-domain URI (`spiffe://td`) as a hint. The
 * ceremony's intermediate profile decides the issued certificate's subject and extensions and
 * takes only the public key from this request.
 *
 * Interim: core/pki's `buildCsr({subject, signer})` replaces the encoder here once it is on main.
 *
 * Must never: include anything secret, or a request not signed by the key it names.
 */
import type { Signer } from '../crypto/signer.ts';
import { ascii, oid, seq, tlv } from './der.ts';
import { signatureAlgorithmDer } from './svid-template.ts';

/** Subject attributes of an intermediate request. */
export interface IntermediateCsrSubject {
  readonly commonName: string;
  readonly organization: string;
}

function rdn(type: string, value: string): Buffer {
  return tlv(0x31, seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
}

/** Builds and signs the DER request. */
export function buildIntermediateCsr(subject: IntermediateCsrSubject, signer: Signer, trustDomainUri: string): Buffer {
  const name = seq(rdn('2.5.4.10', subject.organization), rdn('2.5.4.3', subject.commonName));
  const san = seq(oid('2.5.29.17'), tlv(0x04, seq(ascii(0x86, trustDomainUri))));
  const basicConstraints = seq(oid('2.5.29.19'), Buffer.from([0x01, 0x01, 0xff]), tlv(0x04, seq(Buffer.from([0x01, 0x01, 0xff]), Buffer.from([0x02, 0x01, 0x00]))));
  const extReq = seq(oid('1.2.840.113549.1.9.14'), tlv(0x31, seq(basicConstraints, san)));
  const info = seq(Buffer.from([0x02, 0x01, 0x00]), name, signer.spki, tlv(0xa0, extReq));
  const signature = signer.sign(info);
  return seq(info, signatureAlgorithmDer(signer.algorithm), tlv(0x03, Buffer.from([0]), signature));
}

/** PEM text of a DER request. */
export function csrPem(der: Buffer): string {
  const b64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${body}-----END CERTIFICATE REQUEST-----\n`;
}
