import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { CoreError, ERROR_CODES, InternalError, isCoreErrorCode, serializeError } from '../../core/errors.ts';

describe('errors', () => {
  it('every code is documented in docs/errors.md, and every documented code exists', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const all = Object.values(ERROR_CODES).flat();
    for (const code of all) expect(doc, code).toContain(`\`${code}\``);
    const documented = [...doc.matchAll(/`(ERR_[A-Z0-9_]+)`/gu)].map((m) => m[1]);
    for (const code of documented) expect(isCoreErrorCode(code), code).toBe(true);
  });

  it('codes are unique and domain-prefixed', () => {
    const all: string[] = Object.values(ERROR_CODES).flat();
    expect(new Set(all).size).toBe(all.length);
    for (const c of all) expect(c).toMatch(/^ERR_[A-Z0-9_]+$/u);
  });

  it('serializeError keeps code and message of a CoreError and hides unknown errors', () => {
    expect(serializeError(new CoreError('ERR_HSM_PIN_INCORRECT', 'wrong'))).toEqual({ code: 'ERR_HSM_PIN_INCORRECT', message: 'wrong' });
    expect(serializeError(new Error('library said pin=1234'))).toEqual({ code: 'ERR_INTERNAL', message: expect.stringContaining('internal error') });
    expect(new InternalError('x').code).toBe('ERR_INTERNAL');
  });
});
