/**
 * Crash safety, proven with real kills: the headless runner (`neam-ca ceremony run`) is killed with
 * SIGKILL at exact points (rehearsal failpoints make the process kill itself) and at an arbitrary
 * moment during RSA-4096 generation (killed from outside); `resume` must finish with exactly one
 * key per label on the token and a consistent record, and `abort` must leave the token as it was.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, rehearsalSoftHsmDir } from '../../../core/ceremony/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { openHsm } from '../../../core/hsm/index.ts';
import type { KeyDescription } from '../../../core/hsm/types.ts';
import { Secret } from '../../../core/util/secret.ts';
import { cli, cliChild, FIXTURE_USER_PIN, FIXTURES, makeFixture, onlyCeremony, tokenObjects, type CeremonyFixture } from './fixture.ts';

const SCRIPT = join(FIXTURES, 'keygen-token-pin.yaml');

function runArgs(fx: CeremonyFixture, script = SCRIPT): string[] {
  return ['ceremony', 'run', script, '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath];
}

function labelsAndClasses(keys: KeyDescription[]): string[] {
  return keys.map((k) => `${k.label}/${k.class}`).sort();
}

/** The record and the token agree: every recorded key is there exactly once with its fingerprint. */
function expectConsistent(fx: CeremonyFixture, dir: string): void {
  const view = ceremonyStatus(dir);
  const keys = tokenObjects(fx);
  for (const o of view.objects.filter((x) => x.state === 'present')) {
    const same = keys.filter((k) => k.label === o.label);
    expect(same.map((k) => k.class).sort(), o.label).toEqual(['private', 'public']);
    for (const k of same) expect(k.spkiSha256, o.label).toBe(o.spkiSha256);
  }
  const journal = ceremonyJournal(dir);
  expect(journal.map((e) => e.seq)).toEqual(journal.map((_, i) => i + 1));
  // Every completion follows a start of the same step; no step completes twice.
  const completed = journal.filter((e) => e.type === 'step.completed').map((e) => e.step);
  expect(new Set(completed).size).toBe(completed.length);
  for (const e of journal.filter((x) => x.type === 'step.completed')) {
    const started = journal.findIndex((x) => x.type === 'step.started' && x.step === e.step);
    expect(started, `step ${e.step ?? '?'} started before completing`).toBeGreaterThan(-1);
    expect(started).toBeLessThan(e.seq - 1);
  }
}

describe('crash safety of the ceremony runner (SIGKILL)', () => {
  let fx: CeremonyFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('killed right after the root key was generated (before it was recorded): resume adopts it; exactly one root key', () => {
    fx = makeFixture();
    const killed = cli(runArgs(fx), { env: { NEAM_CA_FAILPOINT: 'root-key:after-act' } });
    expect(killed.signal).toBe('SIGKILL');
    const dir = onlyCeremony(fx);
    const view = ceremonyStatus(dir);
    expect(view.steps.find((s) => s.id === 'root-key')!.status).toBe('started');
    // The key exists on the token but the record does not know its fingerprint yet.
    expect(labelsAndClasses(tokenObjects(fx))).toEqual(['neam-root-key/private', 'neam-root-key/public']);
    expect(view.objects.find((o) => o.label === 'neam-root-key')).toMatchObject({ state: 'intended', spkiSha256: null });

    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('was generated before the interruption and is intact');
    expect(JSON.parse(resumed.stdout)).toMatchObject({ ok: true, value: { status: 'completed' } });
    expect(labelsAndClasses(tokenObjects(fx))).toEqual(['neam-offline-transfer/private', 'neam-offline-transfer/public', 'neam-root-key/private', 'neam-root-key/public']);
    const journal = ceremonyJournal(dir);
    expect(journal.find((e) => e.type === 'step.completed' && e.step === 'root-key')!.data).toMatchObject({ how: 'adopted' });
    expect(journal.some((e) => e.type === 'ceremony.stale-lock')).toBe(true);
    expect(journal.filter((e) => e.type === 'step.started' && e.step === 'root-key')).toHaveLength(1);
    expectConsistent(fx, dir);
  });

  it('killed after the root step was recorded as started but before key generation: resume generates it once', () => {
    fx = makeFixture();
    const killed = cli(runArgs(fx), { env: { NEAM_CA_FAILPOINT: 'root-key:after-started' } });
    expect(killed.signal).toBe('SIGKILL');
    const dir = onlyCeremony(fx);
    expect(tokenObjects(fx)).toEqual([]);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("no key labelled 'neam-root-key' was on the token");
    expect(tokenObjects(fx).filter((k) => k.label === 'neam-root-key')).toHaveLength(2);
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'step.started' && e.step === 'root-key').map((e) => e.data['attempt'])).toEqual([1, 2]);
    expectConsistent(fx, dir);
  });

  it('killed from outside while the RSA-4096 key is being generated: resume ends with exactly one root key', async () => {
    fx = makeFixture();
    const child = cliChild(runArgs(fx));
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the runner never reached key generation:\n${stderr}`)), 120_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("Generating RSA-4096 key 'neam-root-key'")) {
          child.kill('SIGKILL');
        }
      });
      child.on('exit', (_code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL') resolve();
        else reject(new Error(`runner exited without being killed (${String(signal)}):\n${stderr}`));
      });
    });
    const dir = onlyCeremony(fx);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const roots = tokenObjects(fx).filter((k) => k.label === 'neam-root-key');
    expect(roots.map((k) => k.class).sort()).toEqual(['private', 'public']);
    expectConsistent(fx, dir);
  });

  it('killed after the root key was recorded: abort destroys it and the token holds nothing new', () => {
    fx = makeFixture();
    const killed = cli(runArgs(fx), { env: { NEAM_CA_FAILPOINT: 'root-key:after-completed' } });
    expect(killed.signal).toBe('SIGKILL');
    const dir = onlyCeremony(fx);
    expect(tokenObjects(fx)).toHaveLength(2);
    const aborted = cli(['ceremony', 'abort', dir, '--reason', 'rehearsal of an abort after a crash', '--answers', fx.answersPath, '--json']);
    expect(aborted.code, aborted.stderr).toBe(0);
    const value = (JSON.parse(aborted.stdout) as { value: { restored: boolean; destroyed: unknown[]; tokenLeft?: string } }).value;
    expect(value.restored).toBe(true);
    expect(value.destroyed).toHaveLength(2);
    expect(value.tokenLeft).toContain('was initialised by this ceremony');
    expect(tokenObjects(fx)).toEqual([]);
    const view = ceremonyStatus(dir);
    expect(view.status).toBe('aborted');
    const journal = ceremonyJournal(dir);
    expect(journal.find((e) => e.type === 'ceremony.aborted')).toMatchObject({ data: { reason: 'rehearsal of an abort after a crash', restored: true } });
    // The transfer key was this ceremony's and is gone, and this build has no co-signers: the
    // transcript stays open, recorded, and still verifies as an intact chain.
    expect(journal.at(-1)).toMatchObject({ type: 'transcript.left-open', data: { outcome: 'aborted' } });
    const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'), { minWitnesses: 0 });
    expect(v.intact && !v.closed).toBe(true);
    expect(v.records.at(-1)).toMatchObject({ type: 'transcript.left-open' });
    // A second abort, or a resume, is refused.
    expect(cli(['ceremony', 'abort', dir, '--reason', 'again', '--answers', fx.answersPath]).stderr).toContain('[ERR_CEREMONY_ABORTED]');
  });

  it('killed after the root key was recorded, then the key swapped on the token: resume refuses, names the key, and changes nothing', () => {
    fx = makeFixture();
    const killed = cli(runArgs(fx), { env: { NEAM_CA_FAILPOINT: 'root-key:after-completed' } });
    expect(killed.signal).toBe('SIGKILL');
    const dir = onlyCeremony(fx);
    const recorded = ceremonyStatus(dir).objects.find((o) => o.label === 'neam-root-key')!.spkiSha256;
    // Someone replaces the root key by another under the same label.
    const hsm = openHsm({ softhsmDir: rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')) });
    try {
      const t = hsm.tokens().find((x) => x.initialized && x.label === 'neam-root')!;
      const s = hsm.openSession({ label: t.label, serial: t.serial });
      s.login(Secret.fromString(FIXTURE_USER_PIN));
      for (const k of s.findKeys({ label: 'neam-root-key' })) s.destroy(k);
      s.generateKeyPair({ type: 'RSA', bits: 2048 }, { label: 'neam-root-key' });
      s.close();
    } finally {
      hsm.close();
    }
    const swapped = tokenObjects(fx);
    expect(swapped.find((k) => k.label === 'neam-root-key')!.spkiSha256).not.toBe(recorded);
    const stepsBefore = ceremonyStatus(dir).steps.map((x) => `${x.id}:${x.status}`);

    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain('[ERR_CEREMONY_RECONCILE_FAILED]');
    // (The CLI's redactor masks long hex strings in errors; the fingerprint is in the record.)
    expect(resumed.stderr).toMatch(/key 'neam-root-key' recorded by this ceremony \(SHA-256 [^)]+\) is not on token 'neam-root' as recorded \(found 1 private and 1 public object\(s\) with that label\)/u);
    expect(resumed.stderr).toContain('the token may have been swapped or altered');
    // Nothing ran: same steps, same token, the refusal recorded.
    expect(ceremonyStatus(dir).steps.map((x) => `${x.id}:${x.status}`)).toEqual(stepsBefore);
    expect(tokenObjects(fx)).toEqual(swapped);
    expect(ceremonyJournal(dir).filter((e) => e.type === 'ceremony.reconcile-failed')).toEqual([expect.objectContaining({ data: expect.objectContaining({ code: 'ERR_CEREMONY_RECONCILE_FAILED', message: expect.stringContaining(`SHA-256 ${recorded}`) }) })]);
  });

  it('killed mid-key-generation on a token that already held keys: abort leaves exactly the old objects', () => {
    fx = makeFixture();
    // An existing rehearsal token with a key the ceremony must never touch.
    const hsm = openHsm({ softhsmDir: rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')) });
    try {
      const t = hsm.initToken('neam-root', Secret.fromString('rehearsal-so-pin-0001'), Secret.fromString(FIXTURE_USER_PIN));
      const s = hsm.openSession({ label: t.label, serial: t.serial });
      s.login(Secret.fromString(FIXTURE_USER_PIN));
      s.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'older-key' });
      s.close();
    } finally {
      hsm.close();
    }
    const before = tokenObjects(fx);
    writeFileSync(fx.answersPath, `version: 1\ntoken:\n  user-pin: ${FIXTURE_USER_PIN}\nsign-off:\n  witness: Wanda Witness\nsteps:\n  clock:\n    reference-time: workstation\n  close:\n    confirm-point-of-no-return: "YES"\n`);
    const killed = cli(runArgs(fx, join(FIXTURES, 'keygen-existing-token.yaml')), { env: { NEAM_CA_FAILPOINT: 'second-key:after-act' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(labelsAndClasses(tokenObjects(fx))).toEqual(['neam-extra-key/private', 'neam-extra-key/public', 'neam-second-key/private', 'neam-second-key/public', 'older-key/private', 'older-key/public']);
    const dir = onlyCeremony(fx);
    const aborted = cli(['ceremony', 'abort', dir, '--reason', 'tamper-evident bag number did not match', '--answers', fx.answersPath]);
    expect(aborted.code, `${aborted.stdout}\n${aborted.stderr}`).toBe(0);
    expect(aborted.stdout).toContain('matches its inventory from before the ceremony');
    expect(tokenObjects(fx)).toEqual(before);
    const status = cli(['ceremony', 'status', dir]);
    expect(status.stdout).toContain('aborted');
    expect(readFileSync(join(dir, 'REHEARSAL.txt'), 'utf8')).toContain('REHEARSAL');
  });
});
