import { createPublicKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { openHsm, type KeySpec } from '../../../core/hsm/index.ts';
import { protectionProblems } from '../../../core/hsm/pkcs11.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import { createLogger, memorySink } from '../../../core/log/logger.ts';
import { Secret } from '../../../core/util/secret.ts';
import { createSoftHsm, tempDir, TEST_SO_PIN, TEST_USER_PIN, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';

/** Captures the CoreError thrown by fn. */
function caught(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isCoreError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a CoreError, nothing was thrown');
}

const SPECS: Array<{ spec: KeySpec; alg: 'RSA-PKCS1-SHA256' | 'ECDSA-SHA256' | 'ECDSA-SHA384'; digest: string; bits?: number; curve?: string }> = [
  { spec: { type: 'RSA', bits: 2048 }, alg: 'RSA-PKCS1-SHA256', digest: '-sha256' },
  { spec: { type: 'RSA', bits: 3072 }, alg: 'RSA-PKCS1-SHA256', digest: '-sha256' },
  { spec: { type: 'RSA', bits: 4096 }, alg: 'RSA-PKCS1-SHA256', digest: '-sha256' },
  { spec: { type: 'EC', curve: 'P-256' }, alg: 'ECDSA-SHA256', digest: '-sha256' },
  { spec: { type: 'EC', curve: 'P-384' }, alg: 'ECDSA-SHA384', digest: '-sha384' },
];

describe('PKCS#11 adapter on SoftHSM', () => {
  let fx: SoftHsmFixture | undefined;
  const logs = memorySink();
  const log = createLogger({ level: 'debug', sinks: [logs] });
  afterEach(() => {
    fx?.close();
    fx = undefined;
  });

  for (const { spec, alg, digest } of SPECS) {
    const name = spec.type === 'RSA' ? `RSA-${spec.bits}` : `EC ${spec.curve}`;
    it(`generateKeyPair ${name}: protected key whose signature openssl verifies`, () => {
      fx = createSoftHsm();
      const pair = fx.session.generateKeyPair(spec, { label: `key-${name}` });
      log.info('generated key', { label: `key-${name}`, pin: TEST_USER_PIN });
      const p = fx.session.protection(pair.privateKey);
      expect(p).toEqual({ token: true, private: true, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, local: true, modifiable: true, sign: true, decrypt: false, unwrap: false, wrap: false, encrypt: false, derive: false });

      // Independent oracle 1: pkcs11-tool reads the same attributes from the token.
      const listed = runOk('pkcs11-tool', ['--module', fx.modulePath, '--token-label', fx.token.label, '--login', '--pin', TEST_USER_PIN, '-O', '--type', 'privkey'], { env: fx.env });
      expect(listed).toContain(`label:      key-${name}`);
      expect(listed).toMatch(/Access:\s+sensitive, always sensitive, never extractable, local/u);

      // Independent oracle 2: OpenSSL verifies a signature made through the port.
      const data = Buffer.from(`message signed by ${name}`);
      const sig = fx.session.sign(pair.privateKey, alg, data);
      const dir = fx.dir;
      writeFileSync(join(dir, 'data.bin'), data);
      writeFileSync(join(dir, 'sig.bin'), sig);
      writeFileSync(join(dir, 'pub.pem'), createPublicKey({ key: pair.spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }));
      const verified = run('openssl', ['dgst', digest, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.bin'), join(dir, 'data.bin')]);
      expect(verified.stdout.trim()).toBe('Verified OK');
      // and rejects a signature over other data (the oracle can fail).
      writeFileSync(join(dir, 'data.bin'), Buffer.from('other message'));
      const refused = run('openssl', ['dgst', digest, '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.bin'), join(dir, 'data.bin')]);
      expect(refused.status).not.toBe(0);
      // The SPKI read back from the token equals the one returned at generation.
      expect(fx.session.publicKeySpki(fx.session.findKey('private', `key-${name}`))).toEqual(pair.spki);
    });
  }

  it('findKey finds keys by label and id, never by slot', () => {
    fx = createSoftHsm();
    const a = fx.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'a', id: Buffer.from('0102', 'hex') });
    expect(fx.session.findKey('private', 'a').id).toBe('0102');
    expect(fx.session.findKey('private', 'a', '0102').id).toBe(a.privateKey.id);
    expect(caught(() => fx!.session.findKey('private', 'a', '0303')).code).toBe('ERR_HSM_OBJECT_NOT_FOUND');
    expect(caught(() => fx!.session.findKey('private', 'missing')).message).toContain("no private key labelled 'missing'");
  });

  it('generateKeyPair refuses a duplicate label with ERR_HSM_OBJECT_EXISTS and keeps the existing key', () => {
    fx = createSoftHsm();
    const first = fx.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'root' });
    const err = caught(() => fx!.session.generateKeyPair({ type: 'RSA', bits: 2048 }, { label: 'root' }));
    expect(err.code).toBe('ERR_HSM_OBJECT_EXISTS');
    expect(err.message).toContain("a key labelled 'root' already exists");
    expect(fx.session.findKeys({ label: 'root' }).map((k) => k.id)).toEqual([first.privateKey.id, first.privateKey.id]);
  });

  it('login with a wrong PIN gives ERR_HSM_PIN_INCORRECT with what the token says about attempts, and no PIN in the message', () => {
    fx = createSoftHsm();
    fx.session.logout(); // PKCS#11 login state is shared by all sessions of the application
    const s = fx.hsm.openSession({ label: fx.token.label });
    try {
      const err = caught(() => s.login(Secret.fromString('wrong-pin-0000')));
      expect(err.code).toBe('ERR_HSM_PIN_INCORRECT');
      expect(err.message).toContain('the PIN is incorrect');
      expect(err.message).not.toContain('wrong-pin-0000');
      log.warn(err.message, { err });
    } finally {
      s.close();
    }
  });

  it('openSession on a missing token gives ERR_HSM_TOKEN_NOT_PRESENT naming the tokens present', () => {
    fx = createSoftHsm('present-token');
    const err = caught(() => fx!.hsm.openSession({ label: 'absent-token' }));
    expect(err.code).toBe('ERR_HSM_TOKEN_NOT_PRESENT');
    expect(err.message).toContain("token 'absent-token' is not present");
    expect(err.message).toContain("'present-token'");
    expect(caught(() => fx!.hsm.openSession({ label: 'present-token', serial: '0000000000000000' })).code).toBe('ERR_HSM_TOKEN_NOT_PRESENT');
  });

  it('initToken refuses a label that exists with ERR_HSM_TOKEN_EXISTS', () => {
    fx = createSoftHsm('dup');
    expect(caught(() => fx!.hsm.initToken('dup', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN))).code).toBe('ERR_HSM_TOKEN_EXISTS');
  });

  it('setPin changes the user PIN: the old PIN stops working, the new one logs in', () => {
    fx = createSoftHsm();
    fx.session.setPin(Secret.fromString(TEST_USER_PIN), Secret.fromString('rotated-pin-4242'));
    fx.session.logout();
    expect(caught(() => fx!.session.login(Secret.fromString(TEST_USER_PIN))).code).toBe('ERR_HSM_PIN_INCORRECT');
    fx.session.login(Secret.fromString('rotated-pin-4242'));
    expect(fx.session.loggedIn).toBe(true);
  });

  it('random draws bytes from the token RNG', () => {
    fx = createSoftHsm();
    const a = fx.session.random(32);
    const b = fx.session.random(32);
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
  });

  it('AES-GCM with a token-held key round-trips and detects tampering', () => {
    fx = createSoftHsm();
    const kek = fx.session.generateAesKey(256, { label: 'kek' });
    expect(fx.session.protection(kek)).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true });
    const iv = fx.session.random(12);
    const ct = fx.session.encryptAesGcm(kek, iv, Buffer.from('aad'), Buffer.from('payload'));
    expect(fx.session.decryptAesGcm(kek, iv, Buffer.from('aad'), ct).toString()).toBe('payload');
    ct[0]! ^= 1;
    expect(() => fx!.session.decryptAesGcm(kek, iv, Buffer.from('aad'), ct)).toThrow();
  });

  it('a closed session reports ERR_HSM_SESSION_CLOSED', () => {
    fx = createSoftHsm();
    const s = fx.hsm.openSession({ label: fx.token.label });
    s.close();
    expect(caught(() => s.random(8)).code).toBe('ERR_HSM_SESSION_CLOSED');
  });

  it('sign counts signatures in the module stats', () => {
    fx = createSoftHsm();
    const k = fx.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'k' });
    const before = fx.hsm.stats.signatures;
    fx.session.sign(k.privateKey, 'ECDSA-SHA256', Buffer.from('x'));
    expect(fx.hsm.stats.signatures).toBe(before + 1);
    expect(caught(() => fx!.session.sign(k.privateKey, 'RSA-PKCS1-SHA256', Buffer.from('x'))).code).toBe('ERR_HSM_KEY_TYPE_UNSUPPORTED');
  });

  it('no PIN appears in any log output of this test file', () => {
    const text = JSON.stringify(logs.records);
    expect(logs.records.length).toBeGreaterThan(0);
    expect(text).not.toContain(TEST_USER_PIN);
    expect(text).not.toContain(TEST_SO_PIN);
  });
});

describe('opening modules', () => {
  it('a missing module path gives ERR_HSM_MODULE_NOT_FOUND with advice', () => {
    const err = caught(() => openHsm({ modulePath: '/nonexistent/libpkcs11.so' }));
    expect(err.code).toBe('ERR_HSM_MODULE_NOT_FOUND');
    expect(err.message).toContain('/nonexistent/libpkcs11.so');
    expect(err.message).toContain('--module');
  });

  it('a file that is not a PKCS#11 library gives ERR_HSM_MODULE_INVALID', () => {
    const t = tempDir();
    try {
      const fake = join(t.dir, 'libfake.so');
      writeFileSync(fake, 'not a shared library');
      expect(caught(() => openHsm({ modulePath: fake })).code).toBe('ERR_HSM_MODULE_INVALID');
      // A real shared library without C_GetFunctionList is refused the same way.
      const libz = ['/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib/aarch64-linux-gnu/libz.so.1'].find((p) => run('test', ['-f', p]).status === 0);
      if (libz !== undefined) expect(caught(() => openHsm({ modulePath: libz })).code).toBe('ERR_HSM_MODULE_INVALID');
    } finally {
      t.cleanup();
    }
  });

  it('each test gets its own token directory: a second configuration starts empty', () => {
    const a = createSoftHsm('first');
    a.close();
    const t = tempDir();
    try {
      const hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(t.dir) });
      try {
        expect(hsm.tokens().filter((x) => x.initialized)).toEqual([]);
      } finally {
        hsm.close();
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('initialisation and protection checks (review findings)', () => {
  it('initToken refuses a user PIN the token cannot take before touching the token, and finishes an interrupted initialisation', () => {
    const t = tempDir();
    const hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(t.dir) });
    try {
      const err = caught(() => hsm.initToken('root', Secret.fromString(TEST_SO_PIN), Secret.fromString('abc')));
      expect(err.code).toBe('ERR_HSM_PIN_INVALID');
      expect(err.message).toContain('nothing was changed');
      expect(hsm.tokens().filter((x) => x.initialized)).toEqual([]);
      const token = hsm.initToken('root', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN));
      expect(token.userPinInitialized).toBe(true);
      hsm.close();
      // A token whose initialisation stopped before the user PIN was set (C_InitToken only, as
      // pkcs11-tool --init-token does) is finished by a retry with the same SO PIN, and only then.
      const env = { ...process.env, SOFTHSM2_CONF: ensureSoftHsmConf(t.dir) };
      const free = runOk('softhsm2-util', ['--show-slots'], { env })
        .split(/^Slot /mu)
        .map((block) => /^(\d+)\s[\s\S]*Initialized:\s+no/u.exec(block))
        .find((m) => m !== null);
      expect(free).not.toBeNull();
      runOk('pkcs11-tool', ['--module', findSoftHsmModule(), '--init-token', '--label', 'half', '--so-pin', TEST_SO_PIN, '--slot', free![1]!], { env });
      const again = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(t.dir) });
      try {
        expect(again.findToken({ label: 'half' }).userPinInitialized).toBe(false);
        expect(caught(() => again.initToken('half', Secret.fromString('wrong-so-pin-000'), Secret.fromString(TEST_USER_PIN))).code).toBe('ERR_HSM_PIN_INCORRECT');
        expect(again.initToken('half', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN)).userPinInitialized).toBe(true);
        expect(caught(() => again.initToken('half', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN))).code).toBe('ERR_HSM_TOKEN_EXISTS');
        expect(caught(() => again.initToken('root', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN))).code).toBe('ERR_HSM_TOKEN_EXISTS');
      } finally {
        again.close();
      }
    } finally {
      hsm.close();
      t.cleanup();
    }
  });

  it('protectionProblems names every missing protection and fails closed', () => {
    const ok = { token: true, private: true, sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, local: true, modifiable: true, sign: true, decrypt: false, unwrap: false, wrap: false, encrypt: false, derive: false };
    expect(protectionProblems(ok)).toEqual([]);
    expect(protectionProblems({ ...ok, extractable: true, local: false, decrypt: true })).toEqual(['extractable', 'not generated on the token', 'may decrypt']);
  });
});
