/**
 * @module online/transfer
 * The online CA's side of the signed transfer bundles (core/bundle): the `intermediate-request`
 * payload for the CSRs awaiting certificates (written as a payload folder that `neam-ca bundle
 * create --kind intermediate-request` signs and records as sent), and the import of
 * `intermediate-issuance` and `crl` bundles. The bundle channel state lives in the online
 * database, so the bundle's verification (signature, pinned sender and root, sequence, CSRs we
 * sent, windows) and our own import checks run in one transaction: either the bundle is recorded
 * and the intermediates and root CRLs are imported, or nothing changes.
 *
 * Must never: import a certificate from a bundle that failed any check.
 */
import { CoreError } from '../errors.ts';
import { bundleState, importBundle, KindRegistry, type BundleKind, type CrlIndex, type ImportResult as BundleImportResult, type IntermediateIssuanceIndex } from '../bundle/index.ts';
import type { Store } from '../store/index.ts';
import { splitPemCertificates } from './ca-cert.ts';
import { exportRequests, importIssuance, importRootCrls, type ImportResult, type IntermediateRequest } from './intermediates.ts';

/** A payload file (`payload/…`, relative to the payload folder without the prefix). */
export interface PayloadFileOut {
  /** Path inside the payload folder (`index.json`, `csr/NAME.csr`). */
  readonly path: string;
  readonly data: Buffer;
}

/** The bundle name of an intermediate (`[a-z0-9-]`, ≤ 63 characters). */
export function intermediateName(id: string): string {
  return `intermediate-${id}`;
}

/** The `intermediate-request` payload (docs/bundle-format.md §7.1) for pending CSRs. */
export function requestPayload(requests: readonly IntermediateRequest[]): PayloadFileOut[] {
  const index = {
    requests: requests.map((r) => ({ name: intermediateName(r.id), csr: `payload/csr/${intermediateName(r.id)}.csr`, notBefore: new Date(r.notBefore).toISOString().replace(/\.000Z$/u, 'Z'), notAfter: new Date(r.notAfter).toISOString().replace(/\.000Z$/u, 'Z') })),
  };
  return [{ path: 'index.json', data: Buffer.from(`${JSON.stringify(index, null, 2)}\n`) }, ...requests.map((r) => ({ path: `csr/${intermediateName(r.id)}.csr`, data: Buffer.from(r.csrPem) }))];
}

/**
 * The pending CSRs as an `intermediate-request` payload (marks them requested).
 * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED, ERR_NOT_FOUND
 */
export function exportRequestPayload(store: Store): { trustDomain: string; requests: IntermediateRequest[]; files: PayloadFileOut[] } {
  const r = exportRequests(store);
  return { ...r, files: requestPayload(r.requests) };
}

/** Outcome of {@link importTransferBundle}. */
export interface TransferImportResult {
  readonly bundle: BundleImportResult;
  /** What the intermediate-issuance import did (undefined for a bundle already imported, or a crl bundle). */
  readonly issuance?: ImportResult;
  /** Root CRLs recorded from a crl bundle. */
  readonly rootCrlsImported?: number;
}

const ACCEPTED: readonly BundleKind[] = ['intermediate-issuance', 'crl'];

/**
 * Verifies and imports an `intermediate-issuance` or `crl` bundle addressed to this online CA,
 * atomically with the bundle channel state (kept in the same database). Importing the same bundle
 * again changes nothing.
 * @throws {CoreError} every bundle verification code (ERR_BUNDLE_*), ERR_ONLINE_INTERMEDIATE_INVALID,
 *   ERR_PKI_CRL_INVALID, ERR_ONLINE_NOT_INITIALIZED
 */
export function importTransferBundle(store: Store, bytes: Buffer, nowMs: number): TransferImportResult {
  const state = bundleState(store);
  const kinds = KindRegistry.withDefaults();
  let issuance: ImportResult | undefined;
  let rootCrlsImported: number | undefined;
  for (const k of kinds.kinds()) {
    if (!ACCEPTED.includes(k)) {
      kinds.addValidator(k, () => {
        throw new CoreError('ERR_BUNDLE_KIND_INVALID', `this is a '${k}' bundle; 'neam-ca online import-issuance' takes intermediate-issuance and crl bundles (use 'neam-ca bundle import' for others)`);
      });
    }
  }
  // Runs inside importBundle's transaction, after every built-in check passed; a failure here
  // rolls the bundle import back too.
  kinds.addValidator('intermediate-issuance', (ctx) => {
    const index = ctx.index as IntermediateIssuanceIndex;
    const text = (path: string): string => {
      const data = ctx.files.get(path);
      if (data === undefined) throw new CoreError('ERR_BUNDLE_FILE_MISSING', `${path} is missing from the bundle`);
      return data.toString('utf8');
    };
    const intermediates = index.certificates.flatMap((c) => splitPemCertificates(text(c.certificate), c.certificate));
    const roots = splitPemCertificates(text(index.trustBundle), index.trustBundle);
    const rootCrl = ctx.files.get(index.rootCrl);
    issuance = importIssuance(store, { intermediates, roots, rootCrls: rootCrl === undefined ? [] : [rootCrl] }, nowMs);
  });
  kinds.addValidator('crl', (ctx) => {
    const index = ctx.index as CrlIndex;
    const crls = index.crls.flatMap((c) => {
      const data = ctx.files.get(c.crl);
      return data === undefined ? [] : [data];
    });
    rootCrlsImported = importRootCrls(store, crls, nowMs);
  });
  const bundle = importBundle(state, bytes, { now: new Date(nowMs), kinds });
  return { bundle, ...(issuance === undefined ? {} : { issuance }), ...(rootCrlsImported === undefined ? {} : { rootCrlsImported }) };
}
