/**
 * A live (non-rehearsal) ceremony on a SoftHSM token standing in for the site's HSM: the air gap is
 * enforced before the ceremony and re-checked before every step, the transcript receives every
 * journal entry in order (and, after a crash, exactly the ones it lost), and answers files may not
 * carry secrets or attestations. The interfaces come from an injected probe here (the real probe is
 * tested under `unshare -n` in air-gap.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, evaluateAirGap, fileTranscript, loadAnswers, planCeremony, parseScript, resumeCeremony, startCeremony, type AirGapReport, type CeremonyIo, type Question } from '../../../core/ceremony/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { isCoreError } from '../../../core/errors.ts';
import { openHsm, type HsmConfig } from '../../../core/hsm/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { FIXTURES, makeFixture, onlyCeremony, startOptions, type CeremonyFixture } from './fixture.ts';

const OFFLINE: AirGapReport = evaluateAirGap('netlink', [{ name: 'lo', up: true, loopback: true, flags: ['LOOPBACK', 'UP'], addresses: ['127.0.0.1/8'] }]);
const ONLINE: AirGapReport = evaluateAirGap('netlink', [
  { name: 'lo', up: true, loopback: true, flags: ['LOOPBACK', 'UP'], addresses: [] },
  { name: 'enp3s0', up: true, loopback: false, flags: ['BROADCAST', 'UP', 'LOWER_UP'], addresses: ['10.1.2.3/24'] },
]);

/** People at a terminal: fixed answers by key. */
function people(answers: Record<string, string>, log: string[]): CeremonyIo {
  const answer = (q: Question | { key: readonly string[] }): string => {
    const k = q.key.join('.');
    const a = answers[k] ?? (q.key[0] === 'steps' && q.key[2] === 'sign-off' ? answers[`sign-off.${q.key[3]}`] : undefined);
    if (a === undefined) throw new Error(`unexpected question ${k}`);
    return a;
  };
  return {
    source: 'terminal (test)',
    event: (e) => log.push(e.message),
    ask: (q) => Promise.resolve(answer(q)),
    askSecret: (q) => Promise.resolve(Secret.fromString(answer(q))),
  };
}

const ANSWERS = {
  'token.so-pin': 'live-so-pin-000001',
  'token.user-pin': 'live-user-pin-00001',
  'sign-off.administrator': 'Alice Admin',
  'sign-off.witness': 'Wanda Witness',
  'steps.root-key.sign-off.witness': 'Walter Witness',
  'steps.close.sign-off.witness': 'Walter Witness',
  'steps.clock.reference-time': '', // filled with the current time of day
  'steps.materials.hsm-bag': 'TEB-42',
  'steps.backup.destination-1': '',
  'steps.close.confirm-point-of-no-return': 'YES',
};

describe('live ceremony (air gap enforced, transcript port fed)', () => {
  let fx: CeremonyFixture | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
    cleanups.splice(0).forEach((c) => c());
  });

  function liveEnv(io: CeremonyIo, probe: () => AirGapReport, tokens: string) {
    return {
      io,
      software: 'neam-ca test',
      airGap: () => Promise.resolve(probe()),
      // The site's module is SoftHSM; give it a private token directory instead of the system's.
      openHsm: (c: HsmConfig) => openHsm({ ...c, softhsmDir: tokens }),
      transcript: fileTranscript(),
    };
  }

  it('refuses to run while an interface is up, naming it, and records nothing irreversible', async () => {
    fx = makeFixture();
    const tokens = tempDir('neam-live-hsm-');
    cleanups.push(tokens.cleanup);
    const log: string[] = [];
    const now = new Date();
    const answers = { ...ANSWERS, 'steps.clock.reference-time': now.toISOString().slice(11, 19), 'steps.backup.destination-1': fx.backupDir };
    try {
      await startCeremony(startOptions(fx, 'keygen-token-pin.yaml', false), liveEnv(people(answers, log), () => ONLINE, tokens.dir));
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_CEREMONY_NOT_AIR_GAPPED')).toBe(true);
      expect((e as Error).message).toContain('enp3s0 (BROADCAST,UP,LOWER_UP; 10.1.2.3/24)');
    }
    const dir = onlyCeremony(fx, false);
    const view = ceremonyStatus(dir);
    expect(view.rehearsal).toBe(false);
    expect(view.steps[0]).toMatchObject({ id: 'air-gap', status: 'started' });
    expect(view.steps.slice(1).every((s) => s.status === 'pending')).toBe(true);
    // Nothing touched the token: it was never initialised.
    const hsm = openHsm({ softhsmDir: tokens.dir });
    try {
      expect(hsm.tokens().filter((t) => t.initialized)).toEqual([]);
    } finally {
      hsm.close();
    }
  });

  it('re-checks the air gap before every step; resume after reconnecting finishes; the transcript holds every entry once', async () => {
    fx = makeFixture();
    const tokens = tempDir('neam-live-hsm-');
    cleanups.push(tokens.cleanup);
    const log: string[] = [];
    const answers = { ...ANSWERS, 'steps.clock.reference-time': new Date().toISOString().slice(11, 19), 'steps.backup.destination-1': fx.backupDir };
    let online = false;
    const io = people(answers, log);
    const ioWatching: CeremonyIo = { ...io, event: (e) => {
      io.event(e);
      // Someone plugs a cable in right after the root key was signed off.
      if (e.type === 'step.signed-off' && e.step === 'root-key' && e.message.includes('witness')) online = true;
    } };
    try {
      await startCeremony(startOptions(fx, 'keygen-token-pin.yaml', false), liveEnv(ioWatching, () => (online ? ONLINE : OFFLINE), tokens.dir));
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_CEREMONY_NOT_AIR_GAPPED')).toBe(true);
      expect((e as Error).message).toContain("before step 'transfer-key'");
    }
    const dir = onlyCeremony(fx, false);
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'transfer-key')!.status).toBe('pending');
    expect(ceremonyJournal(dir).some((e) => e.type === 'air-gap.lost')).toBe(true);

    // Every journal entry so far is in the transcript, in order.
    const path = join(dir, 'transcript.jsonl');
    const before = verifyTranscriptFile(path, { minWitnesses: 0 });
    expect(before.intact).toBe(true);
    expect(before.closed).toBe(false);
    const journalSoFar = ceremonyJournal(dir).length;
    expect(before.records.filter((r) => typeof r.data['journalSeq'] === 'number').map((r) => r.data['journalSeq'])).toEqual(Array.from({ length: journalSoFar }, (_, i) => i + 1));
    // Lose the last three records, as a crash before they reached the disk would (the end of an
    // unclosed transcript carries no proof of its length): resume appends exactly those again.
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    writeFileSync(path, `${lines.slice(0, -3).join('\n')}\n`);
    online = false;
    const done = await resumeCeremony(dir, liveEnv(io, () => OFFLINE, tokens.dir));
    expect(done.status).toBe('completed');
    const v = verifyTranscriptFile(path, { minWitnesses: 0 });
    expect(v.ok, v.problem?.message).toBe(true);
    const journal = ceremonyJournal(dir);
    const carried = v.records.filter((r) => typeof r.data['journalSeq'] === 'number');
    expect(carried.map((r) => r.data['journalSeq'])).toEqual(journal.map((e) => e.seq));
    expect(carried.filter((r) => r.data['journalAt'] !== undefined)).toHaveLength(3);
    expect(v.records.every((r) => r.rehearsal === false)).toBe(true);
    expect(v.records.at(-1)).toMatchObject({ type: 'transcript.closed', data: { outcome: 'completed' } });
    expect(v.signers.map((x) => x.kind)).toEqual(['transfer']);
    expect(readFileSync(path, 'utf8')).not.toContain('live-user-pin-00001');
    const clock = ceremonyStatus(dir).steps.find((s) => s.id === 'clock')!.result!;
    expect(clock['referenceForm']).toBe('time-of-day');
    expect(Math.abs(Number(clock['skewSeconds']))).toBeLessThanOrEqual(120);
  });

  it('an answers file for a live ceremony may not hold secrets or attestations', () => {
    fx = makeFixture();
    const plan = planCeremony(parseScript(readFileSync(join(FIXTURES, 'keygen-token-pin.yaml')), 'keygen-token-pin.yaml'));
    try {
      loadAnswers(fx.answersPath, plan.questions, { rehearsal: false });
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_CEREMONY_ANSWERS_INVALID')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('token.user-pin');
      expect(msg).toContain('secrets (PINs, passphrases) in an answers file are accepted only in rehearsals');
      expect(msg).toContain('sign-off.witness');
      expect(msg).toContain("a person's statement on the day");
      // The same file is fine for a rehearsal.
      expect(() => loadAnswers(fx!.answersPath, plan.questions, { rehearsal: true })).not.toThrow();
    }
  });
});
