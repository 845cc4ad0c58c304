/**
 * @module bundle
 * Public surface of the transfer-bundle domain: the only thing that crosses the air gap.
 * See docs/bundle-format.md for the format, and each module for its rules.
 */
export { DEFAULT_LIMITS, type BundleLimits } from './limits.ts';
export { MANIFEST_NAME, SIGNATURE_NAME, PAYLOAD_PREFIX, nameProblem } from './paths.ts';
export { readTar, writeTar, type TarEntry } from './tar.ts';
export { signDetached, readSignature, verifyDetachedSignature, type ParsedSignature, type DetachedSignInput } from './cms.ts';
export {
  BUNDLE_FORMAT_VERSION,
  BUNDLE_KINDS,
  DEFAULT_BUNDLE_LIFETIME_DAYS,
  MAX_BUNDLE_LIFETIME_DAYS,
  MEDIA_TYPES,
  manifestSchema,
  parseManifest,
  makeManifest,
  manifestBytes,
  manifestSha256,
  mediaTypeFor,
  type BundleKind,
  type Manifest,
  type ManifestFile,
} from './manifest.ts';
export { buildTransferCertificate, checkTransferCertificate, certificateFingerprint, TRANSFER_VALIDITY_DAYS, type TransferCertificateInfo } from './transfer-certificate.ts';
export { findPrivateKeyMaterial } from './private-key-scan.ts';
export { BUNDLE_MIGRATIONS, BundleState, bundleState, type KeyRef, type SelfIdentity, type PeerPin, type RootPin, type ChannelState, type SentCsr, type ReceivedBundle, type ReceivedFile, type SentBundle } from './state.ts';
export { KindRegistry, INDEX_PATH, REVOCATION_REASONS, type KindHandler, type KindValidator, type ChannelContext, type KindInput } from './kinds/index.ts';
export {
  intermediateRequestIndex,
  intermediateIssuanceIndex,
  crlIndex,
  revocationRequestIndex,
  istioManifestsIndex,
  identityRotationIndex,
  type IntermediateRequestIndex,
  type IntermediateIssuanceIndex,
  type CrlIndex,
  type RevocationRequestIndex,
  type IstioManifestsIndex,
  type IdentityRotationIndex,
} from './kinds/index.ts';
export { writeEncryptedKeyFile, loadKeyFileSigner, KEY_FILE_FORMAT } from './key-file.ts';
export {
  generateHsmIdentity,
  generateFileIdentity,
  recordIdentity,
  hsmIdentitySigner,
  fileIdentitySigner,
  enrollPeer,
  pinRoot,
  normalizeFingerprint,
  formatFingerprint,
  certificateFromInput,
  type GeneratedIdentity,
} from './identity.ts';
export { assembleBundle, createBundle, describeFiles, retractLastSent, type PayloadFile, type BuiltBundle, type CreateBundleInput } from './create.ts';
export { verifyBundle, unpackBundle, RECIPIENT_GRACE_DAYS, type VerifyOptions, type VerifiedBundle, type UnpackedBundle } from './verify.ts';
export { importBundle, type ImportOptions, type ImportResult } from './import.ts';
export { inspectBundle, type InspectReport } from './inspect.ts';
export { rotateIdentity, type RotateIdentityInput } from './rotate.ts';
export { readBundleFile, writeBundleFile, extractBundle } from './io.ts';
export { toPem, parsePem } from './pkix.ts';
