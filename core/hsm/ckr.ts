/**
 * @module hsm/ckr
 * Maps PKCS#11 return values (CKR_*) to stable {@link CoreErrorCode}s with messages a person can
 * act on. Mapping is by numeric code, never by message text.
 *
 * Must never: include a PIN or attribute values in a message.
 */
import { CoreError, type CoreErrorCode } from '../errors.ts';

/** CKR values we give specific meaning to (PKCS#11 v2.40 §3.6 / pkcs11t.h). */
export const CKR = {
  OK: 0x0,
  SLOT_ID_INVALID: 0x3,
  GENERAL_ERROR: 0x5,
  FUNCTION_FAILED: 0x6,
  ARGUMENTS_BAD: 0x7,
  ATTRIBUTE_SENSITIVE: 0x11,
  ATTRIBUTE_TYPE_INVALID: 0x12,
  ATTRIBUTE_VALUE_INVALID: 0x13,
  DATA_LEN_RANGE: 0x21,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  ENCRYPTED_DATA_INVALID: 0x40,
  FUNCTION_NOT_SUPPORTED: 0x54,
  KEY_HANDLE_INVALID: 0x60,
  KEY_SIZE_RANGE: 0x62,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_COUNT: 0xb1,
  SESSION_HANDLE_INVALID: 0xb3,
  SESSION_READ_ONLY: 0xb5,
  SESSION_EXISTS: 0xb6,
  SESSION_READ_WRITE_SO_EXISTS: 0xb8,
  TEMPLATE_INCOMPLETE: 0xd0,
  TEMPLATE_INCONSISTENT: 0xd1,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  TOKEN_WRITE_PROTECTED: 0xe2,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  USER_PIN_NOT_INITIALIZED: 0x102,
  USER_TYPE_INVALID: 0x103,
  USER_ANOTHER_ALREADY_LOGGED_IN: 0x104,
  USER_TOO_MANY_TYPES: 0x105,
  ENCRYPTED_DATA_LEN_RANGE: 0x41,
  SIGNATURE_INVALID: 0xc0,
  BUFFER_TOO_SMALL: 0x150,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;

const NAMES = new Map<number, string>(Object.entries(CKR).map(([k, v]) => [v, `CKR_${k}`]));

/** Human name of a CKR value, e.g. `CKR_PIN_INCORRECT (0xa0)`. */
export function ckrName(rv: number): string {
  return `${NAMES.get(rv) ?? 'CKR_VENDOR_OR_UNKNOWN'} (0x${rv.toString(16)})`;
}

interface Mapping {
  code: CoreErrorCode;
  message: (ctx: string) => string;
}

const MAP = new Map<number, Mapping>([
  [CKR.PIN_INCORRECT, { code: 'ERR_HSM_PIN_INCORRECT', message: (c) => `${c}: the PIN is incorrect. Check it and try again; repeated failures may lock the token` }],
  [CKR.PIN_LOCKED, { code: 'ERR_HSM_PIN_LOCKED', message: (c) => `${c}: the PIN is locked after too many wrong attempts. The security officer must unlock or re-initialise the token` }],
  [CKR.PIN_INVALID, { code: 'ERR_HSM_PIN_INVALID', message: (c) => `${c}: the PIN contains characters the token does not accept` }],
  [CKR.PIN_LEN_RANGE, { code: 'ERR_HSM_PIN_INVALID', message: (c) => `${c}: the PIN length is outside the range the token accepts` }],
  [CKR.PIN_EXPIRED, { code: 'ERR_HSM_PIN_INVALID', message: (c) => `${c}: the PIN has expired; set a new one with the token's tools` }],
  [CKR.TOKEN_NOT_PRESENT, { code: 'ERR_HSM_TOKEN_NOT_PRESENT', message: (c) => `${c}: the token is not present. Insert it (or check the module configuration) and retry` }],
  [CKR.SLOT_ID_INVALID, { code: 'ERR_HSM_TOKEN_NOT_PRESENT', message: (c) => `${c}: the token's slot disappeared (device removed or module reconfigured). Reconnect and retry` }],
  [CKR.DEVICE_REMOVED, { code: 'ERR_HSM_TOKEN_NOT_PRESENT', message: (c) => `${c}: the device was removed. Reconnect it and retry` }],
  [CKR.TOKEN_NOT_RECOGNIZED, { code: 'ERR_HSM_DEVICE_ERROR', message: (c) => `${c}: the module does not recognise the token` }],
  [CKR.DEVICE_ERROR, { code: 'ERR_HSM_DEVICE_ERROR', message: (c) => `${c}: the HSM reported a device error. Check its status and logs` }],
  [CKR.DEVICE_MEMORY, { code: 'ERR_HSM_DEVICE_ERROR', message: (c) => `${c}: the HSM is out of memory` }],
  [CKR.MECHANISM_INVALID, { code: 'ERR_HSM_MECHANISM_NOT_SUPPORTED', message: (c) => `${c}: the token does not support this mechanism. Choose another algorithm or token` }],
  [CKR.MECHANISM_PARAM_INVALID, { code: 'ERR_HSM_MECHANISM_NOT_SUPPORTED', message: (c) => `${c}: the token rejected the mechanism parameters` }],
  [CKR.KEY_SIZE_RANGE, { code: 'ERR_HSM_MECHANISM_NOT_SUPPORTED', message: (c) => `${c}: the token does not support this key size` }],
  [CKR.FUNCTION_NOT_SUPPORTED, { code: 'ERR_HSM_MECHANISM_NOT_SUPPORTED', message: (c) => `${c}: the module does not implement this function` }],
  [CKR.SESSION_CLOSED, { code: 'ERR_HSM_SESSION_CLOSED', message: (c) => `${c}: the session was closed. Open a new session and retry` }],
  [CKR.SESSION_HANDLE_INVALID, { code: 'ERR_HSM_SESSION_CLOSED', message: (c) => `${c}: the session is no longer valid (closed or token reset). Open a new session and retry` }],
  [CKR.USER_NOT_LOGGED_IN, { code: 'ERR_HSM_NOT_LOGGED_IN', message: (c) => `${c}: log in to the token first` }],
  [CKR.USER_ALREADY_LOGGED_IN, { code: 'ERR_HSM_ALREADY_LOGGED_IN', message: (c) => `${c}: already logged in to this token` }],
  [CKR.USER_ANOTHER_ALREADY_LOGGED_IN, { code: 'ERR_HSM_ALREADY_LOGGED_IN', message: (c) => `${c}: another user type is logged in to this token; log out first` }],
  [CKR.USER_PIN_NOT_INITIALIZED, { code: 'ERR_HSM_TOKEN_NOT_INITIALIZED', message: (c) => `${c}: the token's user PIN has not been set` }],
  [CKR.TOKEN_WRITE_PROTECTED, { code: 'ERR_HSM_READ_ONLY', message: (c) => `${c}: the token is write-protected` }],
  [CKR.SESSION_READ_ONLY, { code: 'ERR_HSM_READ_ONLY', message: (c) => `${c}: the session is read-only; open a read-write session` }],
  [CKR.KEY_TYPE_INCONSISTENT, { code: 'ERR_HSM_KEY_TYPE_UNSUPPORTED', message: (c) => `${c}: the key type does not fit this mechanism` }],
  [CKR.KEY_FUNCTION_NOT_PERMITTED, { code: 'ERR_HSM_KEY_TYPE_UNSUPPORTED', message: (c) => `${c}: the key's attributes do not permit this use` }],
  [CKR.KEY_HANDLE_INVALID, { code: 'ERR_HSM_OBJECT_NOT_FOUND', message: (c) => `${c}: the key no longer exists in this session` }],
  [CKR.OBJECT_HANDLE_INVALID, { code: 'ERR_HSM_OBJECT_NOT_FOUND', message: (c) => `${c}: the object no longer exists in this session` }],
  [CKR.ENCRYPTED_DATA_INVALID, { code: 'ERR_HSM_FAILED', message: (c) => `${c}: decryption failed: the data was modified or the wrong key was used` }],
  [CKR.CRYPTOKI_NOT_INITIALIZED, { code: 'ERR_HSM_MODULE_INIT_FAILED', message: (c) => `${c}: the PKCS#11 module is not initialised` }],
]);

/** Shape of a pkcs11js `Pkcs11Error` (code is the CKR value, method the C_* function). */
interface Pkcs11LikeError {
  name?: string;
  code?: unknown;
  method?: unknown;
}

/** The CKR value of a pkcs11js error, or undefined. */
export function ckrOf(e: unknown): number | undefined {
  const err = e as Pkcs11LikeError | null;
  if (err !== null && typeof err === 'object' && err.name === 'Pkcs11Error' && typeof err.code === 'number') return err.code;
  return undefined;
}

/**
 * Converts a binding error into a {@link CoreError}. `context` says what we were doing
 * ("logging in to token 'root-2026'"); it must not contain secrets.
 */
export function mapPkcs11Error(e: unknown, context: string): CoreError {
  if (e instanceof CoreError) return e;
  const rv = ckrOf(e);
  const method = typeof (e as Pkcs11LikeError | null)?.method === 'string' ? String((e as Pkcs11LikeError).method) : undefined;
  if (rv === undefined) {
    return new CoreError('ERR_HSM_FAILED', `${context}: the PKCS#11 binding failed (${e instanceof Error ? e.name : 'unknown error'})`, {
      cause: e,
    });
  }
  const mapping = MAP.get(rv);
  const details = { ckr: rv, ckrName: ckrName(rv), ...(method === undefined ? {} : { method }) };
  if (mapping === undefined) {
    return new CoreError('ERR_HSM_FAILED', `${context}: the token returned ${ckrName(rv)}`, { cause: e, details });
  }
  return new CoreError(mapping.code, mapping.message(context), { cause: e, details });
}
