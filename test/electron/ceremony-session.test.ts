/**
 * The `ceremony` operations through the real routes and the real runner on SoftHSM, without a
 * browser: the IPC-backed CeremonyIo turns the runner's questions into the session's waiting
 * question and the answers back into the runner's answers. A short rehearsal (EC keys only,
 * token-pin activation) walks every question kind: a refused answer leaves the question open with
 * its reason (wrong choice, bad clock reading, mismatched or short PIN, wrong confirmation); the
 * administrator stops the run while it waits, and resumes it; the transcript verifies. Secrets
 * cross only as vault handles and appear in no reply, event or log record.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createHandlers } from '../../electron/host/handlers/index.ts';
import { createRouter, type Router } from '../../electron/host/router.ts';
import { contract } from '../../electron/ipc/contract.ts';
import type { SessionView } from '../../electron/ipc/ceremony-shapes.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { runOk } from '../helpers/tools.ts';
import type { z } from 'zod';
import { recordingLogger, testConfig, testDeps } from './helpers.ts';

type Session = z.output<typeof SessionView>;
type Reply<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

const REPO = new URL('../../', import.meta.url).pathname;
const SO_PIN = 'session-so-pin-0001';
const USER_PIN = 'session-user-pin-0001';

const SCRIPT = `version: 1
ceremony-type: root
id: quick
title: Quick key ceremony (test)
roles:
  administrator: { min: 1, max: 1 }
  witness: { min: 2 }
quorum: { m: 1, n: 1, activation: token-pin }
steps:
  - id: air-gap
    title: Confirm the workstation is offline
    action: air-gap-check
    sign-off: [administrator]
  - id: clock
    title: Check the clock
    action: clock-check
    sign-off: [witness]
  - id: materials
    title: Check the bags
    action: checkpoint
    params:
      instructions: Compare the bag numbers with the review record.
      record:
        - name: hsm-bag
          prompt: HSM bag serial number
  - id: init-token
    title: Initialise the token
    action: token-init
  - id: transfer-key
    title: Generate the transfer key
    action: generate-key
    params: { label: quick-transfer, algorithm: ec-p256 }
    sign-off: [witness]
  - id: close
    title: Close
    action: close
    params: { transfer-key-label: quick-transfer, co-signers: 0 }
    sign-off: [administrator]
`;

describe('ceremony session over the contract (real runner, SoftHSM)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let router: Router;
  let records: ReturnType<typeof recordingLogger>['records'];
  const replies: string[] = [];
  const call = async <T = Session>(channel: string, request: unknown = {}): Promise<Reply<T>> => {
    const r = (await router.get(channel)!(request, { host: 'loopback' })) as Reply<T>;
    replies.push(JSON.stringify(r));
    return r;
  };
  const ok = async <T = Session>(channel: string, request: unknown = {}): Promise<T> => {
    const r = await call<T>(channel, request);
    if (!r.ok) throw new Error(`${channel} failed: ${r.error.code} ${r.error.message}`);
    return r.value;
  };
  /** Polls the session until `pred` holds (the runner works in the background). */
  const until = async (pred: (s: Session) => boolean, what: string, ms = 60_000): Promise<Session> => {
    const end = Date.now() + ms;
    for (;;) {
      const s = await ok('ceremony:session');
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; phase ${s.phase}, question ${s.question?.keyText ?? '-'}, error ${s.error?.code ?? '-'} ${s.error?.message ?? ''}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const question = (key: string): Promise<Session> => until((s) => s.question?.keyText === key, `question ${key}`);
  const secret = async (purpose: string, value: string): Promise<string> => (await ok<{ handle: string }>('secrets:submit', { purpose, value })).handle;

  beforeAll(() => {
    tmp = tempDir('neam-session-');
    const scripts = join(tmp.dir, 'scripts');
    mkdirSync(scripts);
    mkdirSync(join(tmp.dir, 'backup'));
    writeFileSync(join(scripts, 'quick.yaml'), SCRIPT);
    writeFileSync(join(scripts, 'broken.yaml'), SCRIPT.replace('action: clock-check', 'action: clock-chek').replace('max: 1', 'max: 1, mni: 2'));
    writeFileSync(join(scripts, 'site.yaml'), readFileSync(join(REPO, 'test/fixtures/ceremonies/site.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(tmp.dir, 'ca')));
    const rec = recordingLogger();
    records = rec.records;
    router = createRouter(contract, createHandlers(testDeps(testConfig({ scripts: [scripts] }), rec.logger)), rec.logger);
  });
  afterAll(() => tmp?.cleanup());

  it('lists an invalid script’s problems with dotted paths and lines, and prepares nothing', async () => {
    const s = await ok('ceremony:prepare', { script: { root: 'r0', path: 'broken.yaml' }, site: { root: 'r0', path: 'site.yaml' } });
    expect(s.phase).toBe('idle');
    expect(s.plan).toBeNull();
    expect(s.files?.script.valid).toBe(false);
    expect(s.files?.script.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'roles.administrator.mni', line: 6 }),
        expect.objectContaining({ path: 'steps.1.action', line: 16, message: expect.stringContaining("did you mean 'clock-check'") }),
      ]),
    );
    expect(await call('ceremony:start')).toEqual({ ok: false, error: { code: 'ERR_APP_STATE_INVALID', message: expect.stringContaining('choose a valid script and site file') } });
  });

  it('prepares a valid script and site, and starts only when everyone is checked in', async () => {
    const s = await ok('ceremony:prepare', { script: { root: 'r0', path: 'quick.yaml' }, site: { root: 'r0', path: 'site.yaml' } });
    expect(s.phase).toBe('prepared');
    expect(s.plan?.steps.map((x) => x.id)).toEqual(['air-gap', 'clock', 'materials', 'init-token', 'transfer-key', 'close']);
    expect(s.plan?.steps[2]).toMatchObject({ instructions: 'Compare the bag numbers with the review record.', summary: expect.stringContaining('procedural step') });
    expect(s.plan?.pointOfNoReturn).toBe('close');
    expect(s.site?.participants.map((p) => p.name)).toEqual(['Alice Admin', 'Wanda Witness', 'Walter Witness']);
    expect(s.ready).toBe(false);
    await ok('ceremony:checkIn', { name: 'Alice Admin', present: true });
    await ok('ceremony:checkIn', { name: 'Wanda Witness', present: true });
    const refused = await call('ceremony:start');
    expect(refused).toEqual({ ok: false, error: { code: 'ERR_APP_STATE_INVALID', message: expect.stringContaining('check in Walter Witness') } });
    expect(await call('ceremony:checkIn', { name: 'Mallory', present: true })).toMatchObject({ ok: false, error: { code: 'ERR_NOT_FOUND' } });
    const ready = await ok('ceremony:checkIn', { name: 'Walter Witness', present: true });
    expect(ready.ready).toBe(true);
  });

  it('asks every question through the session; refused answers leave the question open with the reason', async () => {
    await ok('ceremony:start');
    let s = await question('steps.air-gap.sign-off.administrator');
    expect(s.question).toMatchObject({ kind: 'choice', role: 'sign-off', screen: 'steps', choices: ['Alice Admin'], attestation: true, step: 'air-gap' });
    expect(s.rehearsal).toBe(true);
    expect(s.ceremony?.rehearsal).toBe(true);
    const wrong = await call('ceremony:answer', { question: s.question!.id, answer: 'Wanda Witness' });
    expect(wrong).toEqual({ ok: false, error: { code: 'ERR_INPUT_INVALID', message: 'choose one of: Alice Admin' } });
    s = await ok('ceremony:session');
    expect(s.question).toMatchObject({ keyText: 'steps.air-gap.sign-off.administrator', attempts: 1, lastError: { code: 'ERR_INPUT_INVALID' } });
    await ok('ceremony:answer', { question: s.question!.id, answer: 'Alice Admin' });
    // A stale question id is refused.
    expect(await call('ceremony:answer', { question: s.question!.id, answer: 'Alice Admin' })).toMatchObject({ ok: false, error: { code: 'ERR_APP_STATE_INVALID' } });

    s = await question('steps.clock.reference-time');
    expect(s.question).toMatchObject({ role: 'clock', kind: 'text' });
    expect(s.events.some((e) => e.type === 'display' && e.step === 'clock' && /Workstation clock \(UTC\)/u.test(e.message))).toBe(true);
    expect(await call('ceremony:answer', { question: s.question!.id, answer: 'half past nine' })).toMatchObject({ ok: false, error: { code: 'ERR_INPUT_INVALID' } });
    await ok('ceremony:answer', { question: s.question!.id, answer: 'workstation' });
    s = await question('steps.clock.sign-off.witness');
    await ok('ceremony:answer', { question: s.question!.id, answer: 'Walter Witness' });

    s = await question('steps.materials.hsm-bag');
    expect(s.question).toMatchObject({ role: 'record', attestation: true });
    expect(s.currentStep).toBe('materials');
    await ok('ceremony:answer', { question: s.question!.id, answer: 'TEB-000777' });

    s = await question('token.so-pin');
    expect(s.question).toMatchObject({ kind: 'secret', role: 'token-pin', purpose: 'ceremony-pin', confirm: true, minLength: 8 });
    // Two different entries: refused, the question stays.
    expect(await call('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', SO_PIN), again: await secret('ceremony-pin', `${SO_PIN}x`) })).toEqual({
      ok: false,
      error: { code: 'ERR_SECRET_INVALID', message: expect.stringContaining('the two entries differ') },
    });
    // Too short.
    expect(await call('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', 'short'), again: await secret('ceremony-pin', 'short') })).toMatchObject({ ok: false, error: { code: 'ERR_SECRET_INVALID', message: expect.stringContaining('at least 8') } });
    // A handle for another purpose is refused.
    expect(await call('ceremony:answerSecret', { question: s.question!.id, secret: await secret('hsm-user-pin', SO_PIN), again: await secret('ceremony-pin', SO_PIN) })).toMatchObject({ ok: false, error: { code: 'ERR_SECRET_INVALID', message: expect.stringContaining('another purpose') } });
    await ok('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', SO_PIN), again: await secret('ceremony-pin', SO_PIN) });
    s = await question('token.user-pin');
    await ok('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', USER_PIN), again: await secret('ceremony-pin', USER_PIN) });
  });

  it('stops at once while waiting for an answer, and resumes from that step', async () => {
    let s = await question('steps.transfer-key.sign-off.witness');
    expect(s.ceremony?.steps.find((x) => x.id === 'transfer-key')).toMatchObject({ status: 'completed', result: expect.objectContaining({ spkiSha256: expect.stringMatching(/^[0-9a-f]{64}$/u) }) });
    await ok('ceremony:interrupt');
    s = await until((x) => x.phase === 'stopped', 'the run to stop');
    expect(s.error).toMatchObject({ code: 'ERR_APP_STOPPED', message: expect.stringContaining('resume it to continue') });
    expect(s.outcome?.status).toBe('failed');
    expect(s.ceremony?.status).toBe('running');

    // Two resumes at once, the first still checking its site file when the second starts the
    // runner: one runner only, the other is refused.
    const listed = await ok<{ ceremonies: Array<{ id: string }> }>('ceremony:list', { site: { root: 'r0', path: 'site.yaml' } });
    const id = listed.ceremonies[0]!.id;
    const [viaList, direct] = await Promise.all([call('ceremony:resume', { target: { site: { root: 'r0', path: 'site.yaml' }, id } }), call('ceremony:resume', {})]);
    expect(direct.ok).toBe(true);
    expect(viaList).toEqual({ ok: false, error: { code: 'ERR_APP_STATE_INVALID', message: expect.stringContaining('a ceremony is running') } });
    // Resuming re-verifies the token: with token-pin activation the user PIN is asked again. A wrong
    // token PIN cannot be checked before the token itself checks it (that would spend a try twice):
    // the run stops with the token's code, named, and resumes again.
    s = await question('token.user-pin');
    await ok('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', 'wrong-user-pin-00') });
    s = await until((x) => x.phase === 'stopped', 'the run to stop at the wrong PIN');
    expect(s.error?.code).toBe('ERR_HSM_PIN_INCORRECT');
    await ok('ceremony:resume', {});
    s = await question('token.user-pin');
    await ok('ceremony:answerSecret', { question: s.question!.id, secret: await secret('ceremony-pin', USER_PIN) });
    s = await question('steps.transfer-key.sign-off.witness');
    await ok('ceremony:answer', { question: s.question!.id, answer: 'Wanda Witness' });

    s = await question('steps.close.confirm-point-of-no-return');
    expect(s.question).toMatchObject({ kind: 'confirm', role: 'confirm', expect: 'YES' });
    expect(s.events.some((e) => e.type === 'warning' && /point of no return/u.test(e.message))).toBe(true);
    expect(await call('ceremony:answer', { question: s.question!.id, answer: 'yes' })).toMatchObject({ ok: false, error: { code: 'ERR_INPUT_INVALID', message: expect.stringContaining('type exactly YES') } });
    await ok('ceremony:answer', { question: s.question!.id, answer: 'YES' });
    s = await question('steps.close.sign-off.administrator');
    await ok('ceremony:answer', { question: s.question!.id, answer: 'Alice Admin' });
    s = await until((x) => x.phase === 'completed', 'completion');
    expect(s.outcome?.status).toBe('completed');
    expect(s.ceremony?.steps.every((x) => x.status === 'signed')).toBe(true);
  });

  it('verifies the transcript (also with neam-ca transcript verify) and lists the ceremony for its site', async () => {
    const v = await ok<{ ok: boolean; chainOk: boolean; chainedTo: string; path: string; records: number; signers: Array<{ kind: string; ok: boolean }> }>('ceremony:verifyTranscript');
    expect(v).toMatchObject({ ok: true, chainOk: true, chainedTo: 'genesis' });
    expect(v.signers).toEqual([expect.objectContaining({ kind: 'transfer', ok: true })]);
    const out = runOk(process.execPath, [join(REPO, 'bin/neam-ca.mjs'), 'transcript', 'verify', v.path, '--genesis', '--min-witnesses', '0']);
    expect(out).toMatch(/^OK {2}.*transcript\.jsonl$/mu);
    const journal = await ok<{ entries: Array<{ seq: number; type: string; rehearsal: boolean }>; total: number }>('ceremony:journal', { after: 0 });
    expect(journal.total).toBeGreaterThan(10);
    expect(journal.entries[0]).toMatchObject({ seq: 1, type: 'ceremony.started', rehearsal: true });
    const listed = await ok<{ caFolder: string; ceremonies: Array<{ id: string; status: string }> }>('ceremony:list', { site: { root: 'r0', path: 'site.yaml' } });
    expect(listed.caFolder).toBe(join(tmp.dir, 'ca', 'rehearsal'));
    expect(listed.ceremonies).toEqual([expect.objectContaining({ status: 'completed', id: expect.stringMatching(/-quick-rehearsal$/u) })]);
    const token = await ok<{ present: boolean; keys: Array<{ label: string; class: string }> }>('ceremony:token');
    expect(token.present).toBe(true);
    expect(token.keys.map((k) => k.label)).toContain('quick-transfer');
  });

  it('asks for a fresh check-in of everyone for the next ceremony', async () => {
    const s = await ok('ceremony:prepare', { script: { root: 'r0', path: 'quick.yaml' }, site: { root: 'r0', path: 'site.yaml' } });
    expect(s.phase).toBe('prepared');
    expect(s.checkIns).toEqual([]);
    expect(s.ready).toBe(false);
    expect(await call('ceremony:start')).toEqual({ ok: false, error: { code: 'ERR_APP_STATE_INVALID', message: expect.stringContaining('check in Alice Admin, Wanda Witness, Walter Witness') } });
  });

  it('never put a secret in a reply or a log record', () => {
    const all = replies.join('\n') + JSON.stringify(records);
    for (const s of [SO_PIN, USER_PIN, 'wrong-user-pin-00']) expect(all).not.toContain(s);
  });
});
