/**
 * Custodian rotation and quorum drills on SoftHSM: only the current quorum can rotate; the
 * rotation changes the token PIN (C_SetPIN) so the old shares stop working; the new quorum opens
 * the token; an aborted rotation leaves the PIN as it was; a drill proves reachability without
 * logging in.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CoreError } from '../../../core/errors.ts';
import { openHsm, type HsmModule, type HsmSession } from '../../../core/hsm/index.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import { ActivationSession, beginRotation, type CustodianFile } from '../../../core/quorum/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { caught, enrollQuorum, FAST_KDF, fileOf, passphraseOf, recordingRandom, type EnrolledQuorum } from './fixtures.ts';

const NOW = new Date('2027-03-01T09:00:00.000Z');
const pass = (name: string): Secret => Secret.fromString(passphraseOf(name));

async function activate(roster: EnrolledQuorum['roster'], files: Map<string, CustodianFile>, names: string[]): Promise<ActivationSession> {
  const a = new ActivationSession(roster);
  for (const n of names) await a.addCustodian(files.get(n) as CustodianFile, pass(n));
  return a;
}

describe('custodian rotation on SoftHSM', () => {
  let dir: { dir: string; cleanup(): void };
  let hsm: HsmModule;
  let q: EnrolledQuorum;
  let session: HsmSession;

  beforeEach(async () => {
    dir = tempDir('neam-rotation-');
    hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(dir.dir) });
    q = await enrollQuorum({ kdf: FAST_KDF, token: { hsm, label: 'neam-root' } });
    q.pin.wipe();
    session = hsm.openSession({ label: 'neam-root' });
  });
  afterEach(() => {
    session.close();
    hsm.close();
    dir.cleanup();
  });

  it('rotates 3-of-5 to 2-of-3 with the current quorum: the PIN changes, old shares stop working, the new quorum opens the token', async () => {
    const current = await activate(q.roster, q.files, ['alice', 'bob', 'carol']);
    const rotation = await beginRotation(current, { threshold: 2, total: 3, now: NOW, random: recordingRandom().random, kdf: FAST_KDF });
    const newFiles = new Map<string, CustodianFile>();
    for (const name of ['bob', 'frank', 'grace']) {
      newFiles.set(name, await rotation.addCustodian({ name, passphrase: pass(name), confirmation: pass(name) }));
    }
    const pending = rotation.pendingRoster();
    expect(pending).toMatchObject({ generation: 2, previousQuorumId: q.roster.quorumId, threshold: 2, ceremony: q.roster.ceremony });
    expect(pending.quorumId).not.toBe(q.roster.quorumId);
    const { roster, retired } = await rotation.commit(session);
    expect(roster).toEqual(pending);
    expect(retired).toBe(q.roster);
    // The session was re-logged in with the new PIN to prove it.
    expect(session.loggedIn).toBe(true);
    session.logout();

    // Old custodian files against the new roster: refused at entry as retired.
    const e = await caught(() => new ActivationSession(roster).addCustodian(fileOf(q, 'alice'), pass('alice')));
    expect(e.code).toBe('ERR_QUORUM_SHARE_FOREIGN');
    expect(e.message).toContain('retired');
    // Bob's old file is refused too although bob stays a custodian.
    expect((await caught(() => new ActivationSession(roster).addCustodian(fileOf(q, 'bob'), pass('bob')))).code).toBe('ERR_QUORUM_SHARE_FOREIGN');

    // The old quorum still rebuilds its old secret, but that is no longer the PIN.
    const old = await activate(q.roster, q.files, ['alice', 'dave', 'erin']);
    const s2 = hsm.openSession({ label: 'neam-root' });
    try {
      expect((await caught(() => old.login(s2))).code).toBe('ERR_HSM_PIN_INCORRECT');
      // Two of the new custodians open the token.
      const fresh = await activate(roster, newFiles, ['frank', 'grace']);
      await fresh.login(s2);
      expect(s2.loggedIn).toBe(true);
      s2.logout();
    } finally {
      s2.close();
    }
  });

  it('refuses to start a rotation without the current quorum (ERR_QUORUM_NOT_MET)', async () => {
    const partial = await activate(q.roster, q.files, ['alice', 'bob']);
    const e = await caught(() => beginRotation(partial, { threshold: 2, total: 3, now: NOW, random: recordingRandom().random, kdf: FAST_KDF }));
    expect(e.code).toBe('ERR_QUORUM_NOT_MET');
    expect(e.message).toContain('1 more needed');
  });

  it('refuses to commit before every new custodian is enrolled; the PIN is unchanged', async () => {
    const rotation = await beginRotation(await activate(q.roster, q.files, ['alice', 'bob', 'carol']), { threshold: 2, total: 3, now: NOW, random: recordingRandom().random, kdf: FAST_KDF });
    await rotation.addCustodian({ name: 'frank', passphrase: pass('frank'), confirmation: pass('frank') });
    expect((await caught(() => rotation.commit(session))).code).toBe('ERR_QUORUM_NOT_MET');
    rotation.abort();
    const again = await activate(q.roster, q.files, ['carol', 'dave', 'erin']);
    await again.login(session);
    expect(session.loggedIn).toBe(true);
  });

  it('an aborted rotation leaves the old quorum working', async () => {
    const rotation = await beginRotation(await activate(q.roster, q.files, ['alice', 'bob', 'carol']), { threshold: 2, total: 2, now: NOW, random: recordingRandom().random, kdf: FAST_KDF });
    for (const name of ['frank', 'grace']) await rotation.addCustodian({ name, passphrase: pass(name), confirmation: pass(name) });
    rotation.abort();
    expect((await caught(() => rotation.commit(session))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    const again = await activate(q.roster, q.files, ['alice', 'bob', 'erin']);
    await again.login(session);
    expect(session.loggedIn).toBe(true);
  });

  it('a failing C_SetPIN leaves the old PINs in place and ends the rotation', async () => {
    const rotation = await beginRotation(await activate(q.roster, q.files, ['alice', 'bob', 'carol']), { threshold: 2, total: 2, now: NOW, random: recordingRandom().random, kdf: FAST_KDF });
    for (const name of ['frank', 'grace']) await rotation.addCustodian({ name, passphrase: pass(name), confirmation: pass(name) });
    // A session whose C_SetPIN fails (as a token in a read-only state would).
    const failing = new Proxy(session, {
      get(target, prop) {
        if (prop === 'setPin') return () => {
          throw new CoreError('ERR_HSM_READ_ONLY', 'the token is read-only');
        };
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    expect((await caught(() => rotation.commit(failing))).code).toBe('ERR_HSM_READ_ONLY');
    session.logout();
    const again = await activate(q.roster, q.files, ['carol', 'dave', 'erin']);
    await again.login(session);
    expect(session.loggedIn).toBe(true);
  });

  it('a drill proves that three custodians reach the threshold without logging in', async () => {
    const logins = hsm.stats.logins;
    const drill = await activate(q.roster, q.files, ['bob', 'dave', 'erin', 'alice']);
    const report = await drill.drill(NOW);
    expect(report).toMatchObject({ ceremony: q.roster.ceremony, quorumId: q.roster.quorumId, threshold: 3, subsetsChecked: 4, commitmentVerified: true });
    expect(report.custodians.map((c) => c.name)).toEqual(['bob', 'dave', 'erin', 'alice']);
    expect(hsm.stats.logins).toBe(logins);
    expect(session.loggedIn).toBe(false);
  });
});
