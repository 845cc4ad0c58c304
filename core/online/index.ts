/**
 * @module online
 * Public surface of the online CA (docs/online.md): SPIFFE IDs, the issuance fast path,
 * intermediates and their transfer bundles, entries, join tokens, nodes, the certificate record
 * and revocation, the server, status, and the HTTP API's wire types.
 */
export * from './api.ts';
export { parseSpiffeId, parseWorkloadSpiffeId, parseTrustDomain, nodeSpiffeId, adminSpiffeId, identityKind, MAX_SPIFFE_ID_BYTES, NODE_PREFIX, ADMIN_PREFIX, SERVER_PATH, RESERVED_PREFIX } from './spiffe-id.ts';
export type { SpiffeId, IdentityKind } from './spiffe-id.ts';
export { decodeCsrPem, parseCsr, verifyCsr, MAX_CSR_DER_BYTES } from './csr.ts';
export type { ParsedCsr, RequestedSans } from './csr.ts';
export { compileTemplate, buildTbs, assembleCertificate, certificatePem } from './svid-template.ts';
export type { IssuerProfile, SvidTemplate, SvidFields } from './svid-template.ts';
export { issueSvid, prepareSvid, prepareFromKey, finishSvid, checkRequestedNames, NOT_BEFORE_CUSHION_MS } from './issuance.ts';
export type { IssueRequest, IssuedSvid, PreparedSvid } from './issuance.ts';
export { svidLintProfile, lintSvid, selfCheckTemplate } from './svid-lint.ts';
export { readCaCertificate, issuerProfile, splitPemCertificates } from './ca-cert.ts';
export type { CaCertInfo } from './ca-cert.ts';
export { planWindows, selectActive, coverage, DAY_MS } from './windows.ts';
export type { Window, Activation, Coverage } from './windows.ts';
export { openOnlineStore, onlineDbPath, readSettings, findSettings, INTERMEDIATE_ALGORITHMS } from './settings.ts';
export type { OnlineSettings, KeyStoreMode, IntermediateAlgorithm } from './settings.ts';
export { ONLINE_MIGRATIONS } from './schema.ts';
export { initOnline, prepareBatch, exportRequests, importIssuance, importRootCrls, listIntermediates, issuedIntermediates, listRoots, openIntermediateKeys } from './intermediates.ts';
export type { IntermediateRecord, IntermediateRequest, ImportResult, IssuanceInput } from './intermediates.ts';
export { exportRequestPayload, importTransferBundle, requestPayload, intermediateName } from './transfer.ts';
export type { TransferImportResult } from './transfer.ts';
export { createEntry, updateEntry, deleteEntry, getEntry, listEntries, validateEntrySpec, dnsNameProblem } from './entries.ts';
export type { Entry, EntrySpec, EntryLimits } from './entries.ts';
export { createJoinToken, checkJoinToken, consumeJoinToken, listJoinTokens, hashToken } from './join-tokens.ts';
export type { JoinTokenInfo } from './join-tokens.ts';
export { recordAttestation, listNodes, evictNode } from './nodes.ts';
export type { NodeInfo } from './nodes.ts';
export { revoke, certStatus, listCerts, normaliseSerial, REVOCATION_REASONS } from './cert-store.ts';
export type { CertRecord, CertKind, RevocationReason, RevokeResult } from './cert-store.ts';
export { issueLocally } from './local-issue.ts';
export { parseServeConfig, parseDuration } from './config.ts';
export type { ServeConfig } from './config.ts';
export { startOnlineServer } from './server.ts';
export type { OnlineServer, StartServerOptions } from './server.ts';
export { collectStatus } from './status.ts';
export type { StatusReport } from './status.ts';
export { respondOcsp } from './ocsp.ts';
export { spiffeBundle, bundlePem } from './trust-bundle.ts';
