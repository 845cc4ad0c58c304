/**
 * @module pki/assemble
 * Certificate and CRL assembly from (tbs bytes, signature algorithm, signature): the TBS bytes
 * are placed verbatim, never re-encoded, so the signed object carries exactly the bytes that were
 * linted and approved.
 *
 * Must never: re-serialise the TBS through an ASN.1 library.
 */
import type { SignAlgorithm } from '../hsm/types.ts';
import { derBitString, derSequence, parseDer, TAG } from './der.ts';
import { signatureAlgorithm } from './keys.ts';
import { CoreError } from '../errors.ts';

function assemble(tbsDer: Uint8Array, sign: SignAlgorithm, signature: Uint8Array, what: string): Buffer {
  const tbs = parseDer(tbsDer, what);
  if (tbs.tag !== TAG.SEQUENCE) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: expected a SEQUENCE`);
  if (signature.length === 0) throw new CoreError('ERR_PKI_SIGNATURE_INVALID', 'the signature is empty');
  return derSequence([tbs.bytes, signatureAlgorithm(sign).der, derBitString(signature)]);
}

/**
 * Certificate DER = SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 §4.1).
 * @throws {CoreError} ERR_PKI_DER_INVALID, ERR_PKI_SIGNATURE_INVALID
 */
export function assembleCertificate(tbsDer: Uint8Array, sign: SignAlgorithm, signature: Uint8Array): Buffer {
  return assemble(tbsDer, sign, signature, 'the tbsCertificate');
}

/**
 * CRL DER = SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue } (RFC 5280 §5.1).
 * @throws {CoreError} ERR_PKI_DER_INVALID, ERR_PKI_SIGNATURE_INVALID
 */
export function assembleCrl(tbsDer: Uint8Array, sign: SignAlgorithm, signature: Uint8Array): Buffer {
  return assemble(tbsDer, sign, signature, 'the tbsCertList');
}
