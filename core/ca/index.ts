/**
 * @module ca
 * Public surface of the CA layer: prepare (build + lint, no key) and sign (HSM, verify, re-lint,
 * record) certificates and CRLs, revocations, and the `pki` store. Pure building blocks are in
 * core/pki.
 */
export { prepareRoot, prepareSelfSigned, prepareIntermediate, prepareCertificate, prepareCrl, certificateLintContext, crlLintContext } from './prepare.ts';
export type { Prepared, PreparedCertificate, PreparedCrl, PreparedOrigin, PrepareSelfSignedInput, PrepareIntermediateInput, PrepareCertificateInput, PrepareCrlInput, LintContextOverrides } from './prepare.ts';
export { resolveIssuer } from './issuer.ts';
export type { ResolvedIssuer, TrustAnchors } from './issuer.ts';
export { signPrepared } from './sign.ts';
export type { SignOptions, IssuedCertificate, IssuedCrl } from './sign.ts';
export { revokeCertificate, REVOCATION_REASONS } from './revoke.ts';
export type { RevokeInput } from './revoke.ts';
export { openCaStore, PKI_MIGRATIONS } from './store.ts';
export type { CaStore, CeremonyRef, CertificateRecord, CrlRecord, RevocationRecord } from './store.ts';
export { preparedToJson, preparedFromJson, PREPARED_FORMAT } from './prepared-json.ts';
export type { PreparedJson, PreparedLoadOptions } from './prepared-json.ts';
