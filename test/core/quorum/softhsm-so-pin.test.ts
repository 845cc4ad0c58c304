/**
 * Security review H1: the security officer must not be able to bypass the M-of-N activation. The
 * activation secret governs BOTH token PINs (user and SO, derived with HKDF-SHA256 under distinct
 * labels); the enrolment replaces the token's temporary SO PIN while logged in as SO, so the
 * review's attack (log in as SO with the PIN the token was initialised with, C_InitPIN a user PIN
 * of one's choice, sign with the root key) no longer works. pkcs11-tool (OpenSC) is the
 * independent oracle for every token-side claim; it runs that exact attack.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CoreError } from '../../../core/errors.ts';
import { openHsm, type HsmModule, type HsmSession } from '../../../core/hsm/index.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import { ActivationSession, beginRotation, initTokenWithTemporaryPins, QuorumEnrollment, rosterGovernsSoPin, type CustodianFile, type Roster } from '../../../core/quorum/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { caught, FAST_KDF, passphraseOf, recordingRandom } from './fixtures.ts';

const NOW = new Date('2027-02-01T09:00:00.000Z');
const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'];
const pass = (n: string): Secret => Secret.fromString(passphraseOf(n));

/** The PINs as the documentation defines them, computed here independently of core/quorum. */
function pinsOf(secret: Buffer): { user: string; so: string; legacy: string } {
  const derive = (label: string): string => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.from(label, 'utf8'), 32)).toString('base64url');
  return { user: derive('neam-ca/quorum/token-pin/v1/user'), so: derive('neam-ca/quorum/token-pin/v1/so'), legacy: secret.toString('base64url') };
}

describe('the activation secret governs both token PINs (SoftHSM; pkcs11-tool is the oracle)', () => {
  let dir: { dir: string; cleanup(): void };
  let conf: string;
  let hsm: HsmModule;
  let session: HsmSession | undefined;

  beforeEach(() => {
    dir = tempDir('neam-so-pin-');
    conf = ensureSoftHsmConf(join(dir.dir, 'softhsm'));
    hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: conf });
  });
  afterEach(() => {
    session?.close();
    session = undefined;
    hsm.close();
    dir.cleanup();
  });

  /** pkcs11-tool against the test's token directory; returns exit code and output. */
  const p11 = (label: string, args: string[]): { code: number; out: string } => {
    const r = run('pkcs11-tool', ['--module', findSoftHsmModule(), '--token-label', label, ...args], { env: { ...process.env, SOFTHSM2_CONF: conf } });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  /** The review's attack: log in as SO and set a user PIN of one's choice. */
  const hijack = (label: string, soPin: string): { code: number; out: string } => p11(label, ['--login', '--login-type', 'so', '--so-pin', soPin, '--init-pin', '--new-pin', 'hijacked-pin-1234']);
  const userLogin = (label: string, pin: string): { code: number; out: string } => p11(label, ['--login', '--pin', pin, '--list-objects']);

  async function enrol(names = FIVE, threshold = 3): Promise<{ enrollment: QuorumEnrollment; files: Map<string, CustodianFile>; secret: Buffer }> {
    const rec = recordingRandom();
    const enrollment = await QuorumEnrollment.start({ ceremony: 'so-pin-2027', threshold, total: names.length, now: NOW, random: rec.random, kdf: FAST_KDF });
    const files = new Map<string, CustodianFile>();
    for (const n of names) files.set(n, await enrollment.addCustodian({ name: n, passphrase: pass(n), confirmation: pass(n) }));
    return { enrollment, files, secret: rec.draws[0] as Buffer };
  }
  async function activate(roster: Roster, files: Map<string, CustodianFile>, names: string[]): Promise<ActivationSession> {
    const a = new ActivationSession(roster);
    for (const n of names) await a.addCustodian(files.get(n) as CustodianFile, pass(n));
    return a;
  }

  it('after enrolment the temporary SO PIN no longer works (the C_InitPIN attack fails) and the derived SO PIN is reachable only with M shares', async () => {
    const { enrollment, files, secret } = await enrol();
    const { token, temporarySoPin } = initTokenWithTemporaryPins(hsm, 'neam-root');
    const temporary = temporarySoPin.use((b) => b.toString('ascii'));
    expect(token.label).toBe('neam-root');
    // Positive control: before the enrolment, whoever holds the SO PIN can do the attack.
    expect(hijack('neam-root', temporary).code).toBe(0);

    session = hsm.openSession({ label: 'neam-root' });
    const { roster } = await enrollment.commitToToken(session, { temporarySoPin });
    temporarySoPin.wipe();
    expect(enrollment.soPinChanged).toBe(true);
    expect(roster.pin).toEqual({ encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user', 'so'] });
    expect(rosterGovernsSoPin(roster)).toBe(true);
    expect(session.loggedIn).toBe(false);

    // The attack with the temporary SO PIN now fails, in OpenSC and in our own port.
    const attack = hijack('neam-root', temporary);
    expect(attack.code).not.toBe(0);
    expect(attack.out).toContain('CKR_PIN_INCORRECT');
    expect((await caught(() => session?.login(Secret.fromString(temporary), 'so'))).code).toBe('ERR_HSM_PIN_INCORRECT');
    expect(userLogin('neam-root', 'hijacked-pin-1234').code).not.toBe(0);

    // The PINs are the documented derivations, computed here independently.
    const pins = pinsOf(secret);
    expect(new Set([pins.user, pins.so, pins.legacy]).size).toBe(3);
    expect(userLogin('neam-root', pins.user).code).toBe(0);
    expect(userLogin('neam-root', pins.legacy).code).not.toBe(0);
    // The derived SO PIN works: setting the user PIN to the quorum's own (no net change).
    expect(p11('neam-root', ['--login', '--login-type', 'so', '--so-pin', pins.so, '--init-pin', '--new-pin', pins.user]).code).toBe(0);

    // Two custodians cannot reach the SO PIN; nothing is sent to the token.
    const two = await activate(roster, files, ['alice', 'bob']);
    const logins = hsm.stats.logins;
    const e = await caught(() => two.login(session as HsmSession, 'so'));
    expect(e.code).toBe('ERR_QUORUM_NOT_MET');
    expect(hsm.stats.logins).toBe(logins);
    expect(session.loggedIn).toBe(false);
    two.wipe();
    // Three can, as security officer and as user.
    await (await activate(roster, files, ['alice', 'carol', 'erin'])).login(session, 'so');
    expect(session.loggedIn).toBe(true);
    session.logout();
    await (await activate(roster, files, ['bob', 'dave', 'erin'])).login(session);
    expect(session.loggedIn).toBe(true);
    session.logout();
  });

  it('commitToToken with loginAsUser leaves the session logged in as user (the derived PIN), for a ceremony that uses the token next', async () => {
    const { enrollment, secret } = await enrol();
    const { temporarySoPin } = initTokenWithTemporaryPins(hsm, 'neam-root');
    const temporary = temporarySoPin.use((b) => b.toString('ascii'));
    session = hsm.openSession({ label: 'neam-root' });
    const logins = hsm.stats.logins;
    await enrollment.commitToToken(session, { temporarySoPin, loginAsUser: true });
    temporarySoPin.wipe();
    expect(session.loggedIn).toBe(true);
    // Temporary SO login, then the two proofs, then the user login that stays open.
    expect(hsm.stats.logins - logins).toBe(4);
    // Logged in as user: private objects are visible (none yet) and an SO-only operation is refused.
    expect(session.findKeys({ class: 'private' })).toEqual([]);
    expect((await caught(() => session?.initUserPin(Secret.fromString('hijacked-pin-1234')))).code).toMatch(/^ERR_HSM_/u);
    session.logout();
    expect(hijack('neam-root', temporary).code).not.toBe(0);
    expect(userLogin('neam-root', pinsOf(secret).user).code).toBe(0);
  });

  it('a wrong temporary SO PIN changes nothing, and the enrolment stays open for the right one', async () => {
    const { enrollment, files } = await enrol();
    const { temporarySoPin } = initTokenWithTemporaryPins(hsm, 'neam-root');
    session = hsm.openSession({ label: 'neam-root' });
    expect((await caught(() => enrollment.commitToToken(session as HsmSession, { temporarySoPin: Secret.fromString('not-the-so-pin-1') }))).code).toBe('ERR_HSM_PIN_INCORRECT');
    expect(enrollment.soPinChanged).toBe(false);
    expect(enrollment.remaining).toBe(0);
    const { roster } = await enrollment.commitToToken(session, { temporarySoPin });
    temporarySoPin.wipe();
    expect((await caught(() => enrollment.commitToToken(session as HsmSession, { temporarySoPin: Secret.fromString('x') }))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    await (await activate(roster, files, ['alice', 'bob', 'carol'])).login(session);
    expect(session.loggedIn).toBe(true);
  });

  it('an interruption after the SO PIN changed is finished by M custodians (repairUserPin); the temporary PINs never return', async () => {
    const { enrollment, files, secret } = await enrol();
    const { temporarySoPin } = initTokenWithTemporaryPins(hsm, 'neam-root');
    const temporary = temporarySoPin.use((b) => b.toString('ascii'));
    session = hsm.openSession({ label: 'neam-root' });
    const real = session;
    // A session whose C_InitPIN fails (power cut, token error) after C_SetPIN succeeded.
    const failing = new Proxy(real, {
      get(target, prop) {
        if (prop === 'initUserPin') return () => {
          throw new CoreError('ERR_HSM_DEVICE_ERROR', 'the token stopped answering');
        };
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const e = await caught(() => enrollment.commitToToken(failing, { temporarySoPin }));
    expect(e.code).toBe('ERR_HSM_FAILED');
    expect(e.message).toContain('keep every custodian file');
    expect(enrollment.soPinChanged).toBe(true);
    expect(real.loggedIn).toBe(false);
    expect(hijack('neam-root', temporary).code).not.toBe(0);
    const roster = enrollment.roster();
    // The user PIN is still the temporary random one: M custodians set the quorum's.
    await (await activate(roster, files, ['carol', 'dave', 'erin'])).repairUserPin(real);
    expect(real.loggedIn).toBe(true);
    real.logout();
    expect(userLogin('neam-root', pinsOf(secret).user).code).toBe(0);
  });

  it('a rotation changes both PINs: the retired quorum reaches neither, the new quorum reaches both', async () => {
    const { enrollment, files, secret } = await enrol();
    const { temporarySoPin } = initTokenWithTemporaryPins(hsm, 'neam-root');
    session = hsm.openSession({ label: 'neam-root' });
    const { roster } = await enrollment.commitToToken(session, { temporarySoPin });
    temporarySoPin.wipe();

    const rec = recordingRandom();
    const rotation = await beginRotation(await activate(roster, files, ['alice', 'bob', 'carol']), { threshold: 2, total: 3, now: NOW, random: rec.random, kdf: FAST_KDF });
    const newFiles = new Map<string, CustodianFile>();
    for (const n of ['bob', 'frank', 'grace']) newFiles.set(n, await rotation.addCustodian({ name: n, passphrase: pass(n), confirmation: pass(n) }));
    const { roster: next } = await rotation.commit(session);
    expect(rotation.pinChanged).toBe(true);
    expect(rosterGovernsSoPin(next)).toBe(true);
    expect(session.loggedIn).toBe(true);
    session.logout();

    const oldPins = pinsOf(secret);
    const newPins = pinsOf(rec.draws[0] as Buffer);
    expect(hijack('neam-root', oldPins.so).out).toContain('CKR_PIN_INCORRECT');
    expect(userLogin('neam-root', oldPins.user).code).not.toBe(0);
    expect(userLogin('neam-root', newPins.user).code).toBe(0);
    // The retired quorum still rebuilds its secret, but neither PIN opens the token.
    const s2 = hsm.openSession({ label: 'neam-root' });
    try {
      const oldFiles = files;
      expect((await caught(async () => (await activate(roster, oldFiles, ['carol', 'dave', 'erin'])).login(s2, 'so'))).code).toBe('ERR_HSM_PIN_INCORRECT');
      await (await activate(next, newFiles, ['frank', 'grace'])).login(s2, 'so');
      expect(s2.loggedIn).toBe(true);
      s2.logout();
    } finally {
      s2.close();
    }
  });

  it('a roster that does not govern the SO PIN says so; its rotation needs the current SO PIN and then governs both', async () => {
    const { enrollment, files, secret } = await enrol();
    const { roster, pin } = enrollment.finish();
    expect(roster.pin).toEqual({ encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user'] });
    expect(rosterGovernsSoPin(roster)).toBe(false);
    hsm.initToken('neam-old', Secret.fromString('known-so-pin-01'), pin);
    pin.wipe();
    session = hsm.openSession({ label: 'neam-old' });
    expect((await caught(async () => (await activate(roster, files, ['alice', 'bob', 'carol'])).login(session as HsmSession, 'so'))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    const without = await caught(async () => beginRotation(await activate(roster, files, ['alice', 'bob', 'carol']), { threshold: 2, total: 2, now: NOW, random: recordingRandom().random, kdf: FAST_KDF }));
    expect(without.code).toBe('ERR_QUORUM_PARAMS_INVALID');
    expect(without.message).toContain('does not govern the token\'s security officer PIN');

    const rec = recordingRandom();
    const currentSoPin = Secret.fromString('known-so-pin-01');
    const rotation = await beginRotation(await activate(roster, files, ['alice', 'bob', 'carol']), { threshold: 2, total: 2, now: NOW, random: rec.random, kdf: FAST_KDF, currentSoPin });
    currentSoPin.wipe();
    for (const n of ['frank', 'grace']) await rotation.addCustodian({ name: n, passphrase: pass(n), confirmation: pass(n) });
    const { roster: next } = await rotation.commit(session);
    session.logout();
    expect(rosterGovernsSoPin(next)).toBe(true);
    expect(hijack('neam-old', 'known-so-pin-01').out).toContain('CKR_PIN_INCORRECT');
    expect(userLogin('neam-old', pinsOf(secret).user).code).not.toBe(0);
    expect(userLogin('neam-old', pinsOf(rec.draws[0] as Buffer).user).code).toBe(0);
  });

  it('a roster of the first format version (no derivation) still opens its token with the base64url PIN', async () => {
    const { enrollment, files, secret } = await enrol(['alice', 'bob', 'carol'], 2);
    const { roster } = enrollment.finish();
    const legacy: Roster = { ...roster, pin: { encoding: 'base64url', secretBytes: 32 } };
    hsm.initToken('neam-v1', Secret.fromString(randomBytes(12).toString('hex')), Secret.fromString(pinsOf(secret).legacy));
    session = hsm.openSession({ label: 'neam-v1' });
    await (await activate(legacy, files, ['alice', 'carol'])).login(session);
    expect(session.loggedIn).toBe(true);
  });
});
