/**
 * @module pki/csr
 * Building PKCS#10 certification requests (RFC 2986) for a key behind a {@link Signer}: the online
 * CA asks the offline root for intermediates this way, with keys generated in its HSM. The CSR
 * carries only a subject and the public key (no extension request: the root's profile decides
 * every extension), and its self-signature is verified before it is returned.
 *
 * Must never: hold a private key; the signer signs.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Attributes, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { Name, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';

import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';
import { buf, derBitString, derSequence } from './der.ts';
import { parseCsr, verifyCsrSignature, type CsrInfo } from './decode.ts';
import { checkPublicKey, signatureAlgorithm } from './keys.ts';
import { encodeName, type SubjectSpec } from './name.ts';

/** Input of {@link buildCsr}. */
export interface BuildCsrInput {
  subject: SubjectSpec;
  /** Signs with the key being certified (e.g. `hsmSigner(session, key, 'RSA-PKCS1-SHA256')`). */
  signer: Signer;
}

/**
 * Builds and self-verifies a CSR. Returns its DER and decoded form.
 * @throws {CoreError} ERR_INPUT_INVALID (subject), ERR_PKI_KEY_WEAK / ERR_PKI_KEY_UNSUPPORTED (signer key),
 *   ERR_PKI_SIGNATURE_INVALID (the signer produced a bad signature), HSM errors from the signer
 */
export function buildCsr(input: BuildCsrInput): { der: Buffer; info: CsrInfo } {
  checkPublicKey(input.signer.spki, {}, 'the CSR key');
  const info = new CertificationRequestInfo({
    version: 0,
    subject: AsnConvert.parse(encodeName(input.subject), Name),
    subjectPKInfo: AsnConvert.parse(input.signer.spki, SubjectPublicKeyInfo),
    attributes: new Attributes(),
  });
  const infoDer = buf(AsnConvert.serialize(info));
  const signature = input.signer.sign(infoDer);
  const der = derSequence([infoDer, signatureAlgorithm(input.signer.algorithm).der, derBitString(signature)]);
  const parsed = parseCsr(der);
  try {
    verifyCsrSignature(parsed);
  } catch (e) {
    throw new CoreError('ERR_PKI_SIGNATURE_INVALID', 'the signer produced a CSR signature that does not verify with its own public key (wrong key or algorithm?)', { cause: e });
  }
  return { der, info: parsed };
}
