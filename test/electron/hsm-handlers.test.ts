/**
 * The `hsm` and `secrets` operations through the real routes against a SoftHSM token: the module
 * and token list, and a token's keys after a PIN submitted to the vault (single use, wiped, never
 * logged). Fingerprints are checked against pkcs11-tool + OpenSSL.
 */
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LogRecord } from '../../core/log/logger.ts';
import { createHandlers } from '../../electron/host/handlers/index.ts';
import { createRouter, type Router } from '../../electron/host/router.ts';
import { contract } from '../../electron/ipc/contract.ts';
import { createSoftHsm, TEST_USER_PIN, type SoftHsmFixture } from '../helpers/softhsm.ts';
import { runOk } from '../helpers/tools.ts';
import { recordingLogger, testConfig, testDeps } from './helpers.ts';

type Answer = { ok: true; value: any } | { ok: false; error: { code: string; message: string } }; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('hsm operations on SoftHSM', () => {
  let fx: SoftHsmFixture;
  let router: Router;
  let records: LogRecord[];
  const call = async (channel: string, request: unknown): Promise<Answer> => (await router.get(channel)!(request, { host: 'electron' })) as Answer;
  const submit = async (value: string): Promise<string> => {
    const r = await call('secrets:submit', { purpose: 'hsm-user-pin', value });
    if (!r.ok) throw new Error(r.error.message);
    return r.value.handle as string;
  };

  beforeAll(() => {
    fx = createSoftHsm('ws-token');
    fx.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'ws-key' });
    // PKCS#11 login state belongs to the process: log the fixture out so the handler logs in itself.
    fx.session.logout();
    const rec = recordingLogger();
    records = rec.records;
    router = createRouter(contract, createHandlers(testDeps(testConfig({ modulePath: fx.modulePath, softhsmConf: fx.conf }), rec.logger)), rec.logger);
  });
  afterAll(() => fx.close());

  it('status lists the module and the token', async () => {
    const r = await call('hsm:status', {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.module.path).toBe(fx.modulePath);
    expect(r.value.tokens.find((t: { label: string }) => t.label === 'ws-token')).toMatchObject({ serial: fx.token.serial, initialized: true, userPinInitialized: true });
  });

  it('keys lists the key with its protection and a fingerprint OpenSSL agrees with', async () => {
    const r = await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: await submit(TEST_USER_PIN) });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const priv = r.value.keys.find((k: { class: string; label: string }) => k.class === 'private' && k.label === 'ws-key');
    expect(priv.protection).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true, local: true, sign: true, decrypt: false });
    const der = join(fx.dir, 'ws-key.der');
    runOk('pkcs11-tool', ['--module', fx.modulePath, '--token-label', 'ws-token', '--read-object', '--type', 'pubkey', '--label', 'ws-key', '-o', der], { env: fx.env });
    expect(priv.spkiSha256).toBe(runOk('openssl', ['dgst', '-sha256', '-r', der]).split(' ')[0]);
  });

  it('a wrong PIN is ERR_HSM_PIN_INCORRECT, and its handle is used up', async () => {
    const handle = await submit('not-the-pin-1');
    const r = await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: handle });
    expect(r).toMatchObject({ ok: false, error: { code: 'ERR_HSM_PIN_INCORRECT' } });
    const again = await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: handle });
    expect(again).toMatchObject({ ok: false, error: { code: 'ERR_SECRET_INVALID' } });
  });

  it('a used handle cannot list the keys a second time', async () => {
    const handle = await submit(TEST_USER_PIN);
    expect((await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: handle })).ok).toBe(true);
    expect(await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: handle })).toMatchObject({ ok: false, error: { code: 'ERR_SECRET_INVALID' } });
  });

  it('an unknown token is ERR_HSM_TOKEN_NOT_PRESENT, and still consumes the PIN', async () => {
    const handle = await submit(TEST_USER_PIN);
    expect(await call('hsm:keys', { token: { label: 'nope', serial: '0000' }, pin: handle })).toMatchObject({ ok: false, error: { code: 'ERR_HSM_TOKEN_NOT_PRESENT' } });
    expect(await call('secrets:discard', { handle })).toEqual({ ok: true, value: { discarded: false } });
  });

  it('a discarded PIN cannot be used', async () => {
    const handle = await submit(TEST_USER_PIN);
    expect(await call('secrets:discard', { handle })).toEqual({ ok: true, value: { discarded: true } });
    expect(await call('hsm:keys', { token: { label: 'ws-token', serial: fx.token.serial }, pin: handle })).toMatchObject({ ok: false, error: { code: 'ERR_SECRET_INVALID' } });
  });

  it('never logs or returns a PIN', () => {
    const all = JSON.stringify(records);
    expect(all).not.toContain(TEST_USER_PIN);
    expect(all).not.toContain('not-the-pin-1');
  });

  it('a missing module is ERR_HSM_MODULE_NOT_FOUND with what to do', async () => {
    const { logger } = recordingLogger();
    const r2 = createRouter(contract, createHandlers(testDeps(testConfig({ modulePath: '/nonexistent/libpkcs11.so' }), logger)), logger);
    const r = (await r2.get('hsm:status')!({}, { host: 'loopback' })) as Answer;
    expect(r).toMatchObject({ ok: false, error: { code: 'ERR_HSM_MODULE_NOT_FOUND', message: expect.stringContaining('--module') } });
  });
});
