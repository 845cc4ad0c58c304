/**
 * The root ceremony's token and quorum set-up (ceremony-scripts/root.yaml, 3-of-5, SoftHSM) killed
 * with SIGKILL at every point where the token's PINs are in a different state, then resumed
 * through the real CLI. The token is initialised with temporary PINs that exist only in the
 * runner's memory (security review H1), so:
 * - before the custodian enrollment replaced them, the token is unusable after a kill: the resume
 *   stops and names the token and the reset command; after the reset it is initialised again;
 * - after the SO PIN changed but not the user PIN, three custodians finish with repairUserPin;
 * - after both changed, three custodians open the token and the enrollment is adopted.
 * softhsm2-util and OpenSC's pkcs11-tool are the independent readers of the token.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, openCaHome } from '../../../core/ceremony/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { cli } from './fixture.ts';
import { ceremonyFolder, CUSTODIANS, deleteToken, makeRootFixture, p11, quorumPins, rehearsalConf, rootRun, tokenSerials, type RootFixture } from './root-fixture.ts';

/** Custodian files on each medium. */
function filesPerMedium(fx: RootFixture): number[] {
  return CUSTODIANS.map((c) => readdirSync(join(fx.media, c)).length);
}

/** The ceremony finished: root verifies, the token opens with the quorum's PINs and nothing else. */
async function finishedWell(fx: RootFixture, dir: string): Promise<void> {
  const view = ceremonyStatus(dir);
  expect(view.status).toBe('completed');
  expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', join(dir, 'root.pem'), join(dir, 'root.pem')])).toContain('OK');
  expect(tokenSerials(fx)).toEqual([view.token.serial]);
  const pins = await quorumPins(fx);
  expect(p11(fx, ['--login', '--pin', pins.user, '--list-objects']).out).toContain('neam-root-key');
  expect(p11(fx, ['--login', '--login-type', 'so', '--so-pin', pins.so, '--init-pin', '--new-pin', pins.user]).code).toBe(0);
  const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'));
  expect(v.ok, v.problem?.message).toBe(true);
  const journal = ceremonyJournal(dir);
  expect(v.records.filter((r) => typeof r.data['journalSeq'] === 'number').map((r) => r.data['journalSeq'])).toEqual(journal.map((e) => e.seq));
}

describe('root.yaml killed around the token PINs: resume under the secure enrollment (SoftHSM)', () => {
  let fx: RootFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('killed right after the token was initialised (before the step was recorded): resume names the unusable token and its reset; after the reset it is initialised again', async () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'init-token:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const [orphan] = tokenSerials(fx);
    expect(orphan).toMatch(/^[0-9a-f]{16}$/u);
    const dir = ceremonyFolder(fx);
    const refused = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[ERR_CEREMONY_RECONCILE_FAILED]');
    expect(refused.stderr).toContain(`temporary PINs that existed only in the stopped process`);
    expect(refused.stderr).toContain(`SOFTHSM2_CONF=${rehearsalConf(fx)} softhsm2-util --delete-token --serial ${orphan}`);
    // Nothing was enrolled for the unusable token.
    expect(filesPerMedium(fx)).toEqual([0, 0, 0, 0, 0]);
    deleteToken(fx, orphan!);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toContain('the token had not been initialised before the interruption');
    expect(ceremonyStatus(dir).token.serial).not.toBe(orphan);
    expect(filesPerMedium(fx)).toEqual([1, 1, 1, 1, 1]);
    await finishedWell(fx, dir);
  });

  it('killed after token-init was signed off, before the enrollment: resume refuses at the enrollment; after the reset the enrollment initialises the token again', async () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'init-token:after-signed' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    const first = ceremonyStatus(dir).token.serial!;
    expect(tokenSerials(fx)).toEqual([first]);
    const refused = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[ERR_CEREMONY_RECONCILE_FAILED]');
    expect(refused.stderr).toContain(`token 'neam-root' (serial ${first}) was initialised with temporary PINs by an earlier run of this ceremony`);
    expect(refused.stderr).toContain(`softhsm2-util --delete-token --serial ${first}`);
    deleteToken(fx, first);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    const second = ceremonyStatus(dir).token.serial!;
    expect(second).not.toBe(first);
    expect(resumed.stderr).toContain(`initialised again: serial ${second} (it replaces serial ${first}`);
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'token.bound').map((e) => e.data['serial'])).toEqual([first, second]);
    expect(journal.find((e) => e.type === 'token.initialised-again')?.data).toMatchObject({ serial: second, previousSerial: first });
    await finishedWell(fx, dir);
  });

  it('killed after the roster was recorded, before the SO PIN changed: the token refuses the quorum, the quorum is abandoned, and after the reset everyone enrols again', async () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'enroll:before-pin-change' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    const first = ceremonyStatus(dir).token.serial!;
    expect(filesPerMedium(fx)).toEqual([1, 1, 1, 1, 1]);
    const refused = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(refused.code).toBe(1);
    // Three custodians opened their files; the token's SO PIN was still the temporary one.
    expect(refused.stderr).toContain('Share of Erin Custodian accepted (3 of 3)');
    expect(refused.stderr).toContain(`softhsm2-util --delete-token --serial ${first}`);
    const ca = openCaHome(join(fx.caDir, 'rehearsal'));
    let abandoned: string;
    try {
      const rosters = ca.quorum.rostersOf(ceremonyStatus(dir).id);
      expect(rosters.map((r) => r.status)).toEqual(['abandoned']);
      abandoned = rosters[0]!.roster.quorumId;
    } finally {
      ca.close();
    }
    deleteToken(fx, first);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    // Each medium now holds the void file of the abandoned quorum and the file of the new one.
    expect(filesPerMedium(fx)).toEqual([2, 2, 2, 2, 2]);
    const ca2 = openCaHome(join(fx.caDir, 'rehearsal'));
    try {
      const rosters = ca2.quorum.rostersOf(ceremonyStatus(dir).id);
      expect(rosters.map((r) => [r.roster.quorumId === abandoned, r.status])).toEqual([
        [true, 'abandoned'],
        [false, 'current'],
      ]);
    } finally {
      ca2.close();
    }
    const journal = ceremonyJournal(dir);
    expect(journal.find((e) => e.type === 'quorum.abandoned')?.data).toMatchObject({ quorumId: abandoned });
    await finishedWell(fx, dir);
  });

  it('killed between the SO PIN change and the user PIN: three custodians finish with repairUserPin and the enrollment is adopted', async () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'enroll:after-so-pin-change' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    const serial = ceremonyStatus(dir).token.serial;
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toContain("the quorum's security-officer PIN then sets the user PIN");
    expect(resumed.stderr).toMatch(/quorum [0-9a-f]{32} holds both token PINs and opens the token; adopted/u);
    // The same token and the same custodian files: nobody enrolled again.
    expect(ceremonyStatus(dir).token.serial).toBe(serial);
    expect(filesPerMedium(fx)).toEqual([1, 1, 1, 1, 1]);
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'quorum.activated').map((e) => e.data['reason'])).toEqual(['finishing an enrollment interrupted after the SO PIN change (user PIN set by the quorum)']);
    expect(journal.find((e) => e.type === 'step.completed' && e.step === 'enroll')!.data).toMatchObject({ how: 'adopted' });
    await finishedWell(fx, dir);
  });

  it('killed after both PINs changed, before the step was recorded: three custodians open the token and the enrollment is adopted', async () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'enroll:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toContain('finished before the interruption. 3 custodians open their files');
    expect(filesPerMedium(fx)).toEqual([1, 1, 1, 1, 1]);
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'quorum.activated').map((e) => e.data['reason'])).toEqual(['finishing an interrupted enrollment']);
    expect(journal.find((e) => e.type === 'step.completed' && e.step === 'enroll')!.data).toMatchObject({ how: 'adopted' });
    await finishedWell(fx, dir);
  });
});
