/**
 * @module pki
 * Public surface of the PKI engine's pure building blocks: strict PEM/DER reading, decoding of
 * certificates, CSRs and CRLs, key checks, profiles, TBS builders, the linter, and assembly. No
 * I/O, no clock, no randomness of its own; the CA layer (core/ca) adds the store and the signer.
 */
export { parsePem, parsePemOne, toPem, readPemOrDer, looksLikePem, PEM_LABEL, DEFAULT_MAX_INPUT_BYTES } from './pem.ts';
export type { PemBlock, ParsePemOptions, ReadObject } from './pem.ts';
export { parseDer, readTlv, children, TAG } from './der.ts';
export type { Tlv } from './der.ts';
export {
  parseCertificate,
  parseCsr,
  parseCrl,
  parseTbsCertificate,
  parseTbsCertList,
  verifyCsrSignature,
  checkSignature,
  detectKind,
} from './decode.ts';
export type { AlgorithmInfo, CertificateInfo, CsrInfo, CrlInfo, TbsCertificateInfo, TbsCertListInfo, RevokedEntryInfo, ObjectKind, SignatureCheck } from './decode.ts';
export { KEY_USAGES, CRL_REASONS, formatGeneralName } from './extensions.ts';
export type { KeyUsageName, CrlReasonName, GeneralNameInfo, ExtensionInfo, NameConstraintsInfo } from './extensions.ts';
export {
  decodeSpki,
  describeKey,
  checkPublicKey,
  publicKeyProblem,
  keyIdentifier,
  spkiSha256,
  signatureAlgorithm,
  signAlgorithmFor,
  signAlgorithmOfIdentifier,
  algorithmFitsKey,
  keySpecName,
  KEY_SPECS,
} from './keys.ts';
export type { PublicKeyInfo, KeySpecName, KeyPolicy, HashName, SignatureAlgorithmInfo } from './keys.ts';
export { encodeName, decodeNameDer, nameToSpec, subjectProblems, SUBJECT_KEYS } from './name.ts';
export type { SubjectSpec, NameInfo, NameAttribute } from './name.ts';
export { parseProfile, profileFromObject, validateProfile, profileSha256, profileForTrustDomain, asCertificateProfile, asCrlProfile } from './profile.ts';
export type { Profile, CertificateProfile, CrlProfile, ProfileInput } from './profile.ts';
export { defaultProfile, DEFAULT_PROFILE_INPUTS, DEFAULT_PROFILE_NAMES, DEFAULT_TRUST_DOMAIN } from './default-profiles.ts';
export { newSerial, normalizeSerial, SERIAL_PREFIX } from './serial.ts';
export type { RandomSource } from './serial.ts';
export { buildTbsCertificate, buildTbsCertList, profileExtensions } from './tbs.ts';
export type { TbsCertificateParams, TbsCertListParams, ExtensionSpec, RevokedEntry, IssuingDistributionPointSpec, ProfileExtensionInput } from './tbs.ts';
export { lintTbsCertificate, lintTbsCertList, issuerFromCertificate, assertLintClean, formatLintProblems, spiffeIdProblem, describeDelay, DEFAULT_MAX_SIGNING_DELAY_MS } from './lint.ts';
export type { LintProblem, IssuerInfo, CertificateLintContext, CrlLintContext } from './lint.ts';
export { assembleCertificate, assembleCrl } from './assemble.ts';
export { buildCsr } from './csr.ts';
export { checkIssuedBy, checkCrlIssuedBy } from './chain.ts';
export type { BuildCsrInput } from './csr.ts';
export { summarizeCertificate, summarizeCsr, summarizeCrl, formatCertificate, formatCsr, formatCrl, describeExtension } from './describe.ts';
export type { CertificateSummary, CsrSummary, CrlSummary } from './describe.ts';
export { parseDuration, addDuration, isoSeconds, describeSpan, wholeSeconds } from './time.ts';
