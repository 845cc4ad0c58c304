/**
 * @module errors
 * The one error vocabulary of NEAM CA. Every expected failure is a `CoreError` whose `code` is a
 * stable, domain-prefixed string that callers (CLI, IPC, HTTP API, tests) branch on; messages are
 * written for the person at the desk: what was wrong, where, and what to do.
 *
 * Must never: carry a secret (PIN, passphrase, share, private key) in `message`, `details` or
 * `cause`. Sensitive context is simply not attached. Programmer misuse is a `TypeError`; a broken
 * invariant is an `InternalError` and is reported as a bug.
 */

/** Every stable error code, grouped by domain. Add new codes to the domain's list. */
export const ERROR_CODES = {
  general: [
    'ERR_USAGE',
    'ERR_IO',
    'ERR_NOT_FOUND',
    'ERR_ALREADY_EXISTS',
    'ERR_INPUT_INVALID',
    'ERR_INPUT_TOO_LARGE',
    'ERR_CONFIG_INVALID',
    'ERR_SECRET_INVALID',
    'ERR_NOT_IMPLEMENTED',
  ],
  hsm: [
    'ERR_HSM_MODULE_NOT_FOUND',
    'ERR_HSM_MODULE_INVALID',
    'ERR_HSM_MODULE_INIT_FAILED',
    'ERR_HSM_TOKEN_NOT_PRESENT',
    'ERR_HSM_TOKEN_AMBIGUOUS',
    'ERR_HSM_TOKEN_NOT_INITIALIZED',
    'ERR_HSM_TOKEN_EXISTS',
    'ERR_HSM_PIN_INCORRECT',
    'ERR_HSM_PIN_LOCKED',
    'ERR_HSM_PIN_INVALID',
    'ERR_HSM_NOT_LOGGED_IN',
    'ERR_HSM_ALREADY_LOGGED_IN',
    'ERR_HSM_OBJECT_EXISTS',
    'ERR_HSM_OBJECT_NOT_FOUND',
    'ERR_HSM_OBJECT_AMBIGUOUS',
    'ERR_HSM_KEY_NOT_PROTECTED',
    'ERR_HSM_KEY_MISMATCH',
    'ERR_HSM_MECHANISM_NOT_SUPPORTED',
    'ERR_HSM_KEY_TYPE_UNSUPPORTED',
    'ERR_HSM_SESSION_CLOSED',
    'ERR_HSM_DEVICE_ERROR',
    'ERR_HSM_READ_ONLY',
    'ERR_HSM_FAILED',
  ],
  store: ['ERR_STORE_OPEN_FAILED', 'ERR_STORE_MIGRATION_FAILED', 'ERR_STORE_FROM_FUTURE', 'ERR_STORE_CONSTRAINT', 'ERR_STORE_FAILED'],
  pki: [
    'ERR_PKI_PROFILE_INVALID',
    'ERR_PKI_LINT_FAILED',
    'ERR_PKI_CSR_INVALID',
    'ERR_PKI_CSR_SIGNATURE_INVALID',
    'ERR_PKI_KEY_WEAK',
    'ERR_PKI_KEY_UNSUPPORTED',
    'ERR_PKI_DER_INVALID',
    'ERR_PKI_PEM_INVALID',
    'ERR_PKI_VALIDITY_INVALID',
    'ERR_PKI_SERIAL_COLLISION',
    'ERR_PKI_SIGNATURE_INVALID',
    'ERR_PKI_TBS_MISMATCH',
    'ERR_PKI_CERT_INVALID',
    'ERR_PKI_CHAIN_INVALID',
    'ERR_PKI_CRL_INVALID',
    'ERR_PKI_NOT_REVOCABLE',
    'ERR_PKI_PREPARED_UNVERIFIED',
  ],
  quorum: [
    'ERR_QUORUM_NOT_MET',
    'ERR_QUORUM_PASSPHRASE_WEAK',
    'ERR_QUORUM_PASSPHRASE_MISMATCH',
    'ERR_QUORUM_PASSPHRASE_INCORRECT',
    'ERR_QUORUM_SHARE_TAMPERED',
    'ERR_QUORUM_SHARE_FOREIGN',
    'ERR_QUORUM_SHARE_DUPLICATE',
    'ERR_QUORUM_CUSTODIAN_FILE_INVALID',
    'ERR_QUORUM_CUSTODIAN_UNKNOWN',
    'ERR_QUORUM_APPROVAL_INVALID',
    'ERR_QUORUM_APPROVAL_SIGNATURE_INVALID',
    'ERR_QUORUM_APPROVAL_EXPIRED',
    'ERR_QUORUM_APPROVAL_WRONG_TBS',
    'ERR_QUORUM_APPROVAL_DUPLICATE',
    'ERR_QUORUM_APPROVAL_NOT_ENROLLED',
    'ERR_QUORUM_APPROVAL_DECLINED',
    'ERR_QUORUM_APPROVAL_FOREIGN',
    'ERR_QUORUM_PARAMS_INVALID',
    'ERR_QUORUM_COMMITMENT_MISMATCH',
    'ERR_QUORUM_ROSTER_INVALID',
  ],
  ceremony: [
    'ERR_CEREMONY_SCRIPT_INVALID',
    'ERR_CEREMONY_SITE_INVALID',
    'ERR_CEREMONY_ANSWERS_INVALID',
    'ERR_CEREMONY_NOT_AIR_GAPPED',
    'ERR_CEREMONY_CLOCK_REJECTED',
    'ERR_CEREMONY_OUTPUT_EXISTS',
    'ERR_CEREMONY_KEY_LABEL_EXISTS',
    'ERR_CEREMONY_STEP_OUT_OF_ORDER',
    'ERR_CEREMONY_STEP_FAILED',
    'ERR_CEREMONY_ROLE_MISSING',
    'ERR_CEREMONY_SIGNOFF_MISSING',
    'ERR_CEREMONY_STATE_INVALID',
    'ERR_CEREMONY_RECONCILE_FAILED',
    'ERR_CEREMONY_PAST_POINT_OF_NO_RETURN',
    'ERR_CEREMONY_ABORTED',
    'ERR_CEREMONY_COMPLETED',
    'ERR_CEREMONY_SCRIPT_CHANGED',
  ],
  transcript: [
    'ERR_TRANSCRIPT_INVALID',
    'ERR_TRANSCRIPT_RECORD_CHANGED',
    'ERR_TRANSCRIPT_RECORD_MISSING',
    'ERR_TRANSCRIPT_RECORD_INSERTED',
    'ERR_TRANSCRIPT_RECORD_REORDERED',
    'ERR_TRANSCRIPT_SIGNATURE_INVALID',
    'ERR_TRANSCRIPT_NOT_CLOSED',
    'ERR_TRANSCRIPT_CLOSED',
    'ERR_TRANSCRIPT_SIGNER_NOT_PINNED',
    'ERR_TRANSCRIPT_CHAIN_BROKEN',
  ],
  bundle: [
    'ERR_BUNDLE_TOO_LARGE',
    'ERR_BUNDLE_ARCHIVE_INVALID',
    'ERR_BUNDLE_ENTRY_FORBIDDEN',
    'ERR_BUNDLE_PATH_FORBIDDEN',
    'ERR_BUNDLE_DUPLICATE_ENTRY',
    'ERR_BUNDLE_SIGNATURE_INVALID',
    'ERR_BUNDLE_SIGNER_NOT_PINNED',
    'ERR_BUNDLE_MANIFEST_INVALID',
    'ERR_BUNDLE_WRONG_RECIPIENT',
    'ERR_BUNDLE_EXPIRED',
    'ERR_BUNDLE_NOT_YET_VALID',
    'ERR_BUNDLE_REPLAYED',
    'ERR_BUNDLE_SEQUENCE_GAP',
    'ERR_BUNDLE_PREVIOUS_HASH_MISMATCH',
    'ERR_BUNDLE_FILE_HASH_MISMATCH',
    'ERR_BUNDLE_FILE_MISSING',
    'ERR_BUNDLE_FILE_UNLISTED',
    'ERR_BUNDLE_PRIVATE_KEY',
    'ERR_BUNDLE_KIND_INVALID',
    'ERR_BUNDLE_CHAIN_INVALID',
    'ERR_BUNDLE_UNSOLICITED_CERT',
    'ERR_BUNDLE_ALREADY_IMPORTED',
    'ERR_BUNDLE_IDENTITY_INVALID',
  ],
  online: [
    'ERR_SPIFFE_ID_INVALID',
    'ERR_ONLINE_NO_ACTIVE_INTERMEDIATE',
    'ERR_ONLINE_ENTRY_NOT_FOUND',
    'ERR_ONLINE_ENTRY_EXISTS',
    'ERR_ONLINE_NOT_PARENT',
    'ERR_ONLINE_TOKEN_INVALID',
    'ERR_ONLINE_TOKEN_EXPIRED',
    'ERR_ONLINE_TOKEN_USED',
    'ERR_ONLINE_UNAUTHENTICATED',
    'ERR_ONLINE_FORBIDDEN',
    'ERR_ONLINE_RATE_LIMITED',
    'ERR_ONLINE_REQUEST_INVALID',
    'ERR_ONLINE_REQUEST_TOO_LARGE',
    'ERR_ONLINE_SAN_MISMATCH',
    'ERR_ONLINE_NOT_INITIALIZED',
    'ERR_ONLINE_INTERMEDIATE_INVALID',
    'ERR_ONLINE_UNAVAILABLE',
  ],
  agent: [
    'ERR_AGENT_STATE_INVALID',
    'ERR_AGENT_STATE_PERMISSIONS',
    'ERR_AGENT_NOT_ATTESTED',
    'ERR_AGENT_SERVER_UNREACHABLE',
    'ERR_AGENT_SERVER_ERROR',
    'ERR_AGENT_WRITE_FAILED',
    'ERR_AGENT_DISK_FULL',
    'ERR_AGENT_HOOK_FAILED',
    'ERR_AGENT_CONFIG_INVALID',
    'ERR_AGENT_RESPONSE_INVALID',
    'ERR_AGENT_SERVER_UNTRUSTED',
    'ERR_AGENT_TRUST_ANCHOR_MISMATCH',
    'ERR_AGENT_SYNC_INCOMPLETE',
  ],
  istio: [
    'ERR_ISTIO_INVENTORY_INVALID',
    'ERR_ISTIO_TRAFFIC_INVALID',
    'ERR_ISTIO_EXCEPTION_INVALID',
    'ERR_ISTIO_EXCEPTION_EXPIRED',
    'ERR_ISTIO_CONFIG_INVALID',
    'ERR_ISTIO_MANIFEST_INVALID',
    'ERR_ISTIO_CASES_INVALID',
    'ERR_ISTIO_POLICY_MISMATCH',
    'ERR_ISTIO_CACERTS_INVALID',
    'ERR_ISTIO_PRIVATE_KEY_REFUSED',
    'ERR_ISTIO_CRDS_NOT_FOUND',
  ],
  demo: ['ERR_DEMO_OUTPUT_EXISTS', 'ERR_DEMO_TOOL_MISSING', 'ERR_DEMO_PROCESS_FAILED', 'ERR_DEMO_CHECK_FAILED', 'ERR_DEMO_INTERRUPTED'],
  app: ['ERR_APP_FORBIDDEN', 'ERR_APP_REQUEST_INVALID', 'ERR_APP_STATE_INVALID', 'ERR_APP_HOST_UNAVAILABLE', 'ERR_APP_STOPPED'],
  internal: ['ERR_INTERNAL'],
} as const;

type Codes = typeof ERROR_CODES;
/** A stable error code (string-literal union of every code in {@link ERROR_CODES}). */
export type CoreErrorCode = Codes[keyof Codes][number];

const ALL_CODES: ReadonlySet<string> = new Set(Object.values(ERROR_CODES).flat());

/** True when `code` is one of our stable codes (used at process and IPC boundaries). */
export function isCoreErrorCode(code: unknown): code is CoreErrorCode {
  return typeof code === 'string' && ALL_CODES.has(code);
}

/** Structured, non-secret context attached to an error (paths, counts, record numbers). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options for {@link CoreError}. */
export interface CoreErrorOptions {
  /** The underlying driver error (e.g. a `Pkcs11Error`); never a secret. */
  cause?: unknown;
  /** Machine-readable context (never secrets). */
  details?: ErrorDetails;
}

/**
 * An expected, explainable failure with a stable {@link CoreErrorCode}.
 * Branch on `code`, never on `message` or `instanceof` across process boundaries.
 */
export class CoreError extends Error {
  readonly code: CoreErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: CoreErrorCode, message: string, options: CoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoreError';
    this.code = code;
    this.details = options.details;
  }

  /** The shape sent across IPC, HTTP and worker boundaries: code, message, details only. */
  toJSON(): SerializedError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** A broken invariant: a bug in NEAM CA, not a user error. */
export class InternalError extends CoreError {
  constructor(message: string, options: CoreErrorOptions = {}) {
    super('ERR_INTERNAL', `internal error (please report this as a bug): ${message}`, options);
    this.name = 'InternalError';
  }
}

/** Wire form of an error. */
export interface SerializedError {
  code: CoreErrorCode;
  message: string;
  details?: ErrorDetails;
}

/** True when `e` is a {@link CoreError}, optionally with the given code. */
export function isCoreError(e: unknown, code?: CoreErrorCode): e is CoreError {
  return e instanceof CoreError && (code === undefined || e.code === code);
}

/**
 * Converts anything thrown into the wire form. Unknown errors become `ERR_INTERNAL` with a
 * generic message: their text may come from a library and is not vetted for secrets.
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof CoreError) return e.toJSON();
  return { code: 'ERR_INTERNAL', message: 'internal error (please report this as a bug): unexpected failure' };
}

/**
 * A validation problem at a path; validators collect all of them and throw once.
 */
export interface Problem {
  /** Dotted path of the offending field (`steps.3.params.label`), or '' for the whole input. */
  path: string;
  /** What is wrong and, where useful, what to do. */
  message: string;
  /** 1-based line number in the source file, when known. */
  line?: number;
}

/** Formats problems one per line, `path (line N): message`. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems
    .map((p) => `  - ${p.path === '' ? '(root)' : p.path}${p.line === undefined ? '' : ` (line ${p.line})`}: ${p.message}`)
    .join('\n');
}
