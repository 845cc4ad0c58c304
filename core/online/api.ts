/**
 * @module online/api
 * The wire contract of the online CA's HTTP API (docs/online.md), as TypeScript types the agent
 * and other clients import: route paths, request bodies and responses. The server's handlers
 * produce exactly these shapes.
 *
 * Must never: describe a field the server does not send.
 */

/** Route paths. */
export const API_ROUTES = {
  attest: '/v1/attest',
  renewNode: '/v1/node/renew',
  entries: '/v1/entries',
  svids: '/v1/svids',
  svidsBatch: '/v1/svids/batch',
  bundle: '/v1/bundle',
  bundlePem: '/v1/bundle.pem',
  crlsPem: '/v1/crls.pem',
  ocsp: '/ocsp',
  health: '/healthz',
  metrics: '/metrics',
} as const;

/** `POST /v1/attest` (no client certificate). */
export interface AttestRequest {
  /** The single-use join token (`neamjt1_…`). */
  token: string;
  /** PEM PKCS#10 request for the node's new key (P-256 or P-384). */
  csr: string;
}

/** `POST /v1/node/renew` (node SVID over mTLS). */
export interface RenewNodeRequest {
  csr: string;
}

/** `POST /v1/svids` (node SVID over mTLS). */
export interface SvidRequest {
  entryId: string;
  /** PEM PKCS#10 request; its subjectAltName, if any, must equal the entry's names. */
  csr: string;
}

/** `POST /v1/svids/batch`. */
export interface SvidBatchRequest {
  requests: SvidRequest[];
}

/** An issued certificate with what a workload needs to use it. */
export interface SvidResponse {
  spiffeId: string;
  /** Present for workload SVIDs. */
  entryId?: string;
  /** Lower-case hex. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** The leaf, PEM. */
  svid: string;
  /** Intermediate certificate(s), PEM (write `svid + chain` as the certificate file). */
  chain: string;
  /** Trust anchors of the trust domain, PEM. */
  bundle: string;
  bundleSequence: number;
}

/** One item of a batch response. */
export type SvidBatchItem = ({ ok: true } & SvidResponse) | { ok: false; entryId: string | null; error: ApiError };

/** `POST /v1/svids/batch` response. */
export interface SvidBatchResponse {
  results: SvidBatchItem[];
}

/** An entry as a node sees it. */
export interface NodeEntry {
  id: string;
  spiffeId: string;
  selectors: string[];
  ttlSeconds: number;
  dnsNames: string[];
  updatedAt: string;
}

/** `GET /v1/entries` response (with an ETag; `If-None-Match` gives 304 when unchanged). */
export interface EntriesResponse {
  entries: NodeEntry[];
  /** The same value as the ETag, unquoted. */
  revision: string;
}

/** The SPIFFE bundle served at `GET /v1/bundle`. */
export interface SpiffeBundleResponse {
  keys: Array<Record<string, string | string[]>>;
  spiffe_sequence: number;
  spiffe_refresh_hint: number;
}

/** An error body's `error`. */
export interface ApiError {
  /** A stable code from core/errors.ts (`ERR_…`). */
  code: string;
  message: string;
}

/** Every error response: `{"error":{"code","message"}}`. */
export interface ApiErrorResponse {
  error: ApiError;
}
