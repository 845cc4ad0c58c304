/**
 * @module pki/chain
 * Checks that one object was issued by a given CA certificate: names chain byte for byte, the
 * authority key identifier (when present) matches, the issuer is a CA allowed to sign it, and the
 * signature verifies with the issuer's key. Used when importing what the other side of the air
 * gap issued (transfer bundles) and by tests. It is not a full RFC 5280 path validation (no
 * policy processing, no time check unless `at` is given): callers that need one use OpenSSL.
 *
 * Must never: accept a signature it could not verify.
 */
import { CoreError } from '../errors.ts';
import { checkSignature, type CertificateInfo, type CrlInfo } from './decode.ts';
import { keyIdentifier } from './keys.ts';
import { isoSeconds } from './time.ts';

function chainError(message: string): CoreError {
  return new CoreError('ERR_PKI_CHAIN_INVALID', message);
}

/**
 * Throws unless `cert` was issued by `issuer` (and, with `at`, both are valid at that time).
 * @throws {CoreError} ERR_PKI_CHAIN_INVALID
 */
export function checkIssuedBy(cert: CertificateInfo, issuer: CertificateInfo, at?: Date): void {
  const what = `'${cert.subject.text || '(empty subject)'}' (serial ${cert.serial})`;
  if (!cert.issuer.der.equals(issuer.subject.der)) throw chainError(`${what} names issuer '${cert.issuer.text}', not '${issuer.subject.text}'`);
  const issuerKid = issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.spki);
  const aki = cert.authorityKeyIdentifier?.keyIdentifier;
  if (aki !== undefined && aki !== issuerKid) throw chainError(`${what} has authority key identifier ${aki}, not the issuer's ${issuerKid}`);
  if (issuer.basicConstraints?.ca !== true || (issuer.keyUsage !== undefined && !issuer.keyUsage.usages.includes('keyCertSign'))) {
    if (!(cert.selfIssued && cert.der.equals(issuer.der))) throw chainError(`'${issuer.subject.text}' is not a CA that may sign certificates`);
  }
  if (!cert.signature.der.equals(cert.signatureAlgorithm.der)) throw chainError(`${what} names different signature algorithms inside and outside the TBS`);
  const sig = checkSignature(cert.signatureAlgorithm, issuer.spki, cert.tbsDer, cert.signatureValue);
  if (!sig.ok) throw chainError(`the signature of ${what} does not verify with the key of '${issuer.subject.text}': ${sig.message}`);
  if (at !== undefined) {
    for (const c of [cert, issuer]) {
      if (at.getTime() < c.notBefore.getTime() || at.getTime() > c.notAfter.getTime()) {
        throw chainError(`'${c.subject.text}' is not valid at ${isoSeconds(at)} (valid ${isoSeconds(c.notBefore)} to ${isoSeconds(c.notAfter)})`);
      }
    }
  }
}

/**
 * Throws unless `crl` was signed by `issuer` (names, AKI, cRLSign, signature).
 * @throws {CoreError} ERR_PKI_CHAIN_INVALID
 */
export function checkCrlIssuedBy(crl: CrlInfo, issuer: CertificateInfo): void {
  if (!crl.issuer.der.equals(issuer.subject.der)) throw chainError(`the CRL names issuer '${crl.issuer.text}', not '${issuer.subject.text}'`);
  const issuerKid = issuer.subjectKeyIdentifier ?? keyIdentifier(issuer.spki);
  const aki = crl.authorityKeyIdentifier?.keyIdentifier;
  if (aki !== undefined && aki !== issuerKid) throw chainError(`the CRL has authority key identifier ${aki}, not the issuer's ${issuerKid}`);
  if (issuer.basicConstraints?.ca !== true || (issuer.keyUsage !== undefined && !issuer.keyUsage.usages.includes('cRLSign'))) throw chainError(`'${issuer.subject.text}' is not a CA that may sign CRLs`);
  const sig = checkSignature(crl.signatureAlgorithm, issuer.spki, crl.tbsDer, crl.signatureValue);
  if (!sig.ok) throw chainError(`the CRL's signature does not verify with the key of '${issuer.subject.text}': ${sig.message}`);
}
