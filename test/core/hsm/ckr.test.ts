/**
 * The PKCS#11 return-value mapping (core/hsm/ckr.ts) for the values SoftHSM cannot be made to
 * return (it never locks a PIN, and supports every mechanism NEAM CA asks for): each maps to its
 * stable code with a message that says what was being done and what to do, and keeps the binding's
 * error as the cause. The values SoftHSM does return are proven on the token in pkcs11.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { CoreError } from '../../../core/errors.ts';
import { CKR, ckrName, ckrOf, mapPkcs11Error } from '../../../core/hsm/ckr.ts';

/** A pkcs11js Pkcs11Error as the binding throws it. */
function bindingError(rv: number, method = 'C_Login'): Error {
  const e = new Error(`${method}: CKR ${rv}`) as Error & { code: number; method: string };
  e.name = 'Pkcs11Error';
  e.code = rv;
  e.method = method;
  return e;
}

describe('PKCS#11 return values mapped to stable codes', () => {
  it.each([
    [CKR.PIN_LOCKED, 'ERR_HSM_PIN_LOCKED', /the PIN is locked after too many wrong attempts\. The security officer must unlock or re-initialise the token/u],
    [CKR.MECHANISM_INVALID, 'ERR_HSM_MECHANISM_NOT_SUPPORTED', /does not support this mechanism\. Choose another algorithm or token/u],
    [CKR.MECHANISM_PARAM_INVALID, 'ERR_HSM_MECHANISM_NOT_SUPPORTED', /rejected the mechanism parameters/u],
    [CKR.KEY_SIZE_RANGE, 'ERR_HSM_MECHANISM_NOT_SUPPORTED', /does not support this key size/u],
    [CKR.FUNCTION_NOT_SUPPORTED, 'ERR_HSM_MECHANISM_NOT_SUPPORTED', /does not implement this function/u],
  ] as const)('CKR value %i → %s', (rv, code, text) => {
    const cause = bindingError(rv);
    expect(ckrOf(cause)).toBe(rv);
    const err = mapPkcs11Error(cause, "logging in as user on token 'root-2026'");
    expect(err).toBeInstanceOf(CoreError);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/^logging in as user on token 'root-2026'/u);
    expect(err.message).toMatch(text);
    expect(err.cause).toBe(cause);
    expect(ckrName(rv)).toMatch(/^CKR_/u);
  });

  it('an error that is not the binding\'s is ERR_HSM_FAILED naming only its type; a CoreError passes through', () => {
    const err = mapPkcs11Error(new TypeError('secret-looking detail 1234'), 'signing with key root');
    expect(err.code).toBe('ERR_HSM_FAILED');
    expect(err.message).toBe('signing with key root: the PKCS#11 binding failed (TypeError)');
    const mine = new CoreError('ERR_HSM_PIN_INCORRECT', 'x');
    expect(mapPkcs11Error(mine, 'y')).toBe(mine);
    expect(ckrOf({ name: 'Pkcs11Error', code: '164' })).toBeUndefined();
  });
});
