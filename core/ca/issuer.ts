/**
 * @module ca/issuer
 * Where an issuer certificate's authority comes from. A certificate handed to `prepare*`,
 * carried in a prepared object or a prepared file is never trusted as given: it counts only when
 * (1) it is byte for byte a certificate this CA recorded (everything `signPrepared` signed, the
 * self-signed root included), or (2) it is byte for byte a trust anchor the caller passes in
 * process (e.g. the online CA's root from its pinned trust bundle), or (3) it is not self-issued
 * and verifies, one level up, with a CA certificate of kind (1) or (2): names chain byte for
 * byte, key identifiers agree, the signature verifies, and its validity lies within that CA's.
 * Everything the linter then judges (validity, name constraints, path length, key identifier)
 * comes from a certificate whose content this CA vouches for.
 *
 * Must never: accept a certificate because of what it says about itself, or follow more than one
 * level of chain (NEAM CA's hierarchy is root → intermediate → leaf).
 */
import { CoreError } from '../errors.ts';
import { checkIssuedBy } from '../pki/chain.ts';
import { checkSignature, parseCertificate, type CertificateInfo } from '../pki/decode.ts';
import { isoSeconds } from '../pki/time.ts';
import type { CaStore } from './store.ts';

/** Certificates the caller trusts beyond the store (PEM or DER each). */
export type TrustAnchors = readonly (string | Uint8Array)[];

/** A resolved issuer and why it is trusted. */
export interface ResolvedIssuer {
  cert: CertificateInfo;
  /** `recorded`: issued and recorded by this CA; `anchor`: a trust anchor passed by the caller; `chain`: verified by one of those. */
  basis: 'recorded' | 'anchor' | 'chain';
  /** For `chain`: the SHA-256 of the certificate that vouches for it. */
  vouchedBySha256?: string;
}

function untrusted(cert: CertificateInfo, what: string, detail: string): CoreError {
  return new CoreError(
    'ERR_PKI_CHAIN_INVALID',
    `${what} '${cert.subject.text}' (SHA-256 ${cert.sha256}) is not a certificate recorded in this CA's store, and it does not verify up to a root recorded there${detail}; a certificate is never trusted as given. Use the issuer certificate this CA issued (or pass the root you trust as a trust anchor)`,
    { details: { sha256: cert.sha256, subject: cert.subject.text } },
  );
}

/** The CA certificates that can vouch: recorded roots and intermediates, then the anchors. */
function vouchers(store: CaStore, anchors: readonly CertificateInfo[], issuerNameText: string): Array<{ cert: CertificateInfo; basis: 'recorded' | 'anchor' }> {
  const out: Array<{ cert: CertificateInfo; basis: 'recorded' | 'anchor' }> = [];
  for (const role of ['root', 'intermediate'] as const) {
    for (const rec of store.certificates({ role })) {
      if (rec.isCa && rec.subject === issuerNameText) out.push({ cert: parseCertificate(rec.pem, `the recorded certificate ${rec.serial}`), basis: 'recorded' });
    }
  }
  for (const a of anchors) out.push({ cert: a, basis: 'anchor' });
  return out;
}

/**
 * Resolves an issuer certificate against the store and the caller's trust anchors (see the module
 * description). A self-issued certificate must also carry a valid self-signature.
 * @throws {CoreError} ERR_PKI_CHAIN_INVALID (not trusted, or a self-signature that does not verify),
 *   ERR_PKI_PEM_INVALID, ERR_PKI_DER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function resolveIssuer(store: CaStore, input: string | Uint8Array, options: { trustAnchors?: TrustAnchors; what?: string } = {}): ResolvedIssuer {
  const what = options.what ?? 'the issuer certificate';
  const cert = parseCertificate(input, what);
  if (cert.selfIssued && !checkSignature(cert.signatureAlgorithm, cert.spki, cert.tbsDer, cert.signatureValue).ok) {
    throw new CoreError('ERR_PKI_CHAIN_INVALID', `${what} '${cert.subject.text}' claims to be self-signed but its signature does not verify; it was altered`);
  }
  if (store.certificateBySha256(cert.sha256) !== undefined) return { cert, basis: 'recorded' };
  const anchors = (options.trustAnchors ?? []).map((a, i) => parseCertificate(a, `trust anchor ${i + 1}`));
  if (anchors.some((a) => a.der.equals(cert.der))) return { cert, basis: 'anchor' };
  if (cert.selfIssued) throw untrusted(cert, what, ' (a root is recorded when this CA issues it, or passed as a trust anchor)');
  const reasons: string[] = [];
  for (const v of vouchers(store, anchors, cert.issuer.text)) {
    if (!v.cert.subject.der.equals(cert.issuer.der)) continue;
    try {
      checkIssuedBy(cert, v.cert);
    } catch (e) {
      reasons.push(e instanceof CoreError ? e.message : 'it does not chain');
      continue;
    }
    if (cert.notBefore.getTime() < v.cert.notBefore.getTime() || cert.notAfter.getTime() > v.cert.notAfter.getTime()) {
      reasons.push(`its validity (${isoSeconds(cert.notBefore)} to ${isoSeconds(cert.notAfter)}) is not within that of '${v.cert.subject.text}' (${isoSeconds(v.cert.notBefore)} to ${isoSeconds(v.cert.notAfter)})`);
      continue;
    }
    return { cert, basis: 'chain', vouchedBySha256: v.cert.sha256 };
  }
  throw untrusted(cert, what, reasons.length === 0 ? ` or to a trust anchor (no CA named '${cert.issuer.text}' is known)` : ` or to a trust anchor (${reasons.join('; ')})`);
}
