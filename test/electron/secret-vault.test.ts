/**
 * The main-side secret vault: secrets typed in the UI are held under single-use handles, wiped
 * when taken, discarded, expired or refused, and never reachable twice.
 */
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { registeredSecretTexts } from '../../core/util/secret.ts';
import { SecretVault } from '../../electron/host/secret-vault.ts';

function vault(now = { t: 1_000_000 }, capacity?: number): { v: SecretVault; now: { t: number } } {
  return { v: new SecretVault({ random: (n) => randomBytes(n), now: () => now.t, ttlSeconds: 60, ...(capacity === undefined ? {} : { capacity }) }), now };
}

describe('SecretVault', () => {
  it('returns an opaque handle matching the contract, and the secret once', () => {
    const { v } = vault();
    const h = v.put('hsm-user-pin', 'pin-1234-abcd');
    expect(h).toMatch(/^sh_[A-Za-z0-9_-]{22,64}$/u);
    expect(h).not.toContain('pin-1234-abcd');
    const s = v.take(h, 'hsm-user-pin');
    expect(s.use((b) => b.toString('utf8'))).toBe('pin-1234-abcd');
    s.wipe();
    expect(() => v.take(h, 'hsm-user-pin')).toThrow(expect.objectContaining({ code: 'ERR_SECRET_INVALID', message: expect.stringMatching(/expired or was already used; enter it again/u) }));
  });

  it('gives every secret its own handle', () => {
    const { v } = vault();
    const a = v.put('hsm-user-pin', 'same-text');
    const b = v.put('hsm-user-pin', 'same-text');
    expect(a).not.toBe(b);
    expect(v.size).toBe(2);
  });

  it('wipes an expired secret', () => {
    const { v, now } = vault();
    const h = v.put('hsm-user-pin', 'expiring-secret-77');
    expect(registeredSecretTexts().has('expiring-secret-77')).toBe(true);
    now.t += 60_000;
    expect(v.size).toBe(0);
    expect(registeredSecretTexts().has('expiring-secret-77')).toBe(false);
    expect(() => v.take(h, 'hsm-user-pin')).toThrow(expect.objectContaining({ code: 'ERR_SECRET_INVALID' }));
  });

  it('wipes a discarded secret and everything on wipeAll', () => {
    const { v } = vault();
    const h = v.put('hsm-user-pin', 'discard-me-please');
    expect(v.discard(h)).toBe(true);
    expect(v.discard(h)).toBe(false);
    expect(registeredSecretTexts().has('discard-me-please')).toBe(false);
    v.put('hsm-user-pin', 'first-of-many');
    v.put('hsm-user-pin', 'second-of-many');
    v.wipeAll();
    expect(v.size).toBe(0);
    expect(registeredSecretTexts().has('first-of-many')).toBe(false);
  });

  it('refuses an unknown handle without revealing anything', () => {
    const { v } = vault();
    expect(() => v.take('sh_AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'hsm-user-pin')).toThrow(expect.objectContaining({ code: 'ERR_SECRET_INVALID' }));
  });

  it('refuses to fill up', () => {
    const { v } = vault(undefined, 2);
    v.put('hsm-user-pin', 'one-1');
    v.put('hsm-user-pin', 'two-2');
    expect(() => v.put('hsm-user-pin', 'three-3')).toThrow(expect.objectContaining({ code: 'ERR_APP_STATE_INVALID' }));
  });
});
