import { createHash, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { abortCeremony, ceremonyJournal, ceremonyStatus, rehearsalSoftHsmDir, resumeCeremony, startCeremony, type CeremonyEvent } from '../../../core/ceremony/index.ts';
import { isCoreError } from '../../../core/errors.ts';
import { openHsm } from '../../../core/hsm/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { runOk } from '../../helpers/tools.ts';
import { env, FIXTURE_USER_PIN, FIXTURES, fileIo, makeFixture, onlyCeremony, REPO, startOptions, tokenObjects, type CeremonyFixture } from './fixture.ts';
import { makeRootFixture } from './root-fixture.ts';

const require = createRequire(import.meta.url);

async function rejects(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isCoreError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a CoreError, the promise resolved');
}

/** Prepares the rehearsal token of a fixture by hand (for scripts that expect an existing token). */
function prepareRehearsalToken(fx: CeremonyFixture, keys: Array<{ label: string; spec: { type: 'RSA'; bits: 2048 } | { type: 'EC'; curve: 'P-256' } }>): void {
  const hsm = openHsm({ softhsmDir: rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')) });
  try {
    const token = hsm.initToken('neam-root', Secret.fromString('rehearsal-so-pin-0001'), Secret.fromString(FIXTURE_USER_PIN));
    const s = hsm.openSession({ label: token.label, serial: token.serial });
    try {
      s.login(Secret.fromString(FIXTURE_USER_PIN));
      for (const k of keys) s.generateKeyPair(k.spec, { label: k.label });
    } finally {
      s.close();
    }
  } finally {
    hsm.close();
  }
}

const EXISTING_ANSWERS = `version: 1
token:
  user-pin: ${FIXTURE_USER_PIN}
sign-off:
  witness: Wanda Witness
steps:
  clock:
    reference-time: workstation
  close:
    confirm-point-of-no-return: "YES"
`;

describe('ceremony runner on SoftHSM (rehearsal)', () => {
  let fx: CeremonyFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('runs keygen-token-pin.yaml to completion: protected keys, recorded outputs, sign-offs, rehearsal marks', async () => {
    fx = makeFixture();
    const events: CeremonyEvent[] = [];
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    const io = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: script }, true, events);
    const summary = await startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(io));
    expect(summary.status).toBe('completed');
    expect(summary.rehearsal).toBe(true);
    expect(summary.id).toMatch(/-keygen-rehearsal$/u);
    const dir = onlyCeremony(fx);
    expect(dir).toBe(summary.dir);
    expect(readFileSync(join(dir, 'REHEARSAL.txt'), 'utf8')).toContain('REHEARSAL');

    // Every key on the token is the ceremony's, protected, and matches the recorded fingerprint.
    const keys = tokenObjects(fx);
    expect(keys.map((k) => `${k.label}/${k.class}`).sort()).toEqual(['neam-offline-transfer/private', 'neam-offline-transfer/public', 'neam-root-key/private', 'neam-root-key/public']);
    for (const k of keys.filter((x) => x.class === 'private')) {
      expect(k.protection).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, alwaysSensitive: true, local: true });
      const recorded = summary.objects.find((o) => o.label === k.label);
      expect(recorded?.spkiSha256).toBe(k.spkiSha256);
    }
    expect(keys.find((k) => k.label === 'neam-root-key' && k.class === 'private')?.algorithm).toBe('RSA-4096');
    expect(keys.find((k) => k.label === 'neam-offline-transfer' && k.class === 'private')?.algorithm).toBe('EC P-256');

    // Outputs: digests recorded; the public key file is what the token holds (checked by OpenSSL too).
    const view = ceremonyStatus(dir);
    expect(view.status).toBe('completed');
    expect(view.steps.every((s) => s.status === 'signed')).toBe(true);
    for (const o of view.outputs) expect(createHash('sha256').update(readFileSync(join(dir, o.name))).digest('hex')).toBe(o.sha256);
    const pemText = readFileSync(join(dir, 'neam-root-key.pub.pem'), 'utf8');
    const der = createPublicKey(pemText).export({ type: 'spki', format: 'der' });
    expect(createHash('sha256').update(der).digest('hex')).toBe(summary.objects.find((o) => o.label === 'neam-root-key')?.spkiSha256);
    expect(runOk('openssl', ['pkey', '-pubin', '-in', join(dir, 'neam-root-key.pub.pem'), '-noout', '-text'])).toContain('Public-Key: (4096 bit)');

    // Sign-offs by distinct people per step; the root key signed by Alice and Walter.
    const rootKey = view.steps.find((s) => s.id === 'root-key')!;
    expect(rootKey.signedBy.map((x) => `${x.participant}/${x.role}`)).toEqual(['Alice Admin/administrator', 'Walter Witness/witness']);

    // Backup copies verify with sha256sum.
    const backup = join(fx.backupDir, summary.id);
    expect(runOk('sha256sum', ['-c', 'SHA256SUMS'], { cwd: backup })).toContain('neam-root-key.pub.pem: OK');

    // The journal tells the story in order, once, and the record never held the PIN.
    const journal = ceremonyJournal(dir);
    expect(journal.map((e) => e.seq)).toEqual(journal.map((_, i) => i + 1));
    expect(journal[0]!.type).toBe('ceremony.started');
    expect(journal.at(-1)!.type).toBe('ceremony.completed');
    expect(journal.filter((e) => e.type === 'step.completed')).toHaveLength(8);
    // The reviewed script is the one that ran: its SHA-256 (and the site file's) is in the first
    // record, and the copy in the ceremony folder is byte for byte the script given.
    const scriptSha256 = createHash('sha256').update(readFileSync(script)).digest('hex');
    expect(journal.find((e) => e.type === 'ceremony.started')!.data).toMatchObject({ rehearsal: true, script: { source: script, sha256: scriptSha256 }, site: { source: fx.sitePath, sha256: createHash('sha256').update(readFileSync(fx.sitePath)).digest('hex') } });
    expect(runOk('sha256sum', [join(dir, 'script.yaml')]).split(' ')[0]).toBe(scriptSha256);
    const db = readFileSync(join(dir, 'ceremony.sqlite'));
    expect(db.includes(Buffer.from(FIXTURE_USER_PIN))).toBe(false);
    expect(db.includes(Buffer.from('rehearsal-so-pin-0001'))).toBe(false);
    expect(JSON.stringify(events)).not.toContain(FIXTURE_USER_PIN);

    // The clock check recorded the reading and the skew.
    expect(view.steps.find((s) => s.id === 'clock')!.result).toMatchObject({ referenceForm: 'workstation', skewSeconds: 0, maxSkewSeconds: 120 });
    // A completed ceremony can be neither resumed nor aborted.
    expect((await rejects(resumeCeremony(dir, env(io)))).code).toBe('ERR_CEREMONY_COMPLETED');
    expect((await rejects(abortCeremony(dir, 'too late', env(io)))).code).toBe('ERR_CEREMONY_COMPLETED');
  });

  it('refuses to start when a planned key label already exists on the token; nothing is created', async () => {
    fx = makeFixture();
    prepareRehearsalToken(fx, [{ label: 'neam-extra-key', spec: { type: 'EC', curve: 'P-256' } }]);
    const before = tokenObjects(fx);
    const io = fileIo(EXISTING_ANSWERS, 'inline', { scriptPath: join(FIXTURES, 'keygen-existing-token.yaml') }, true, []);
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-existing-token.yaml'), env(io)));
    expect(err.code).toBe('ERR_CEREMONY_KEY_LABEL_EXISTS');
    expect(err.message).toContain("already holds an object labelled 'neam-extra-key'");
    expect(err.message).toContain('steps.2.params.label');
    expect(existsSync(join(fx.caDir, 'rehearsal', 'ceremonies'))).toBe(false);
    expect(tokenObjects(fx)).toEqual(before);
  });

  it('a ceremony always starts in a new folder: an existing one is refused before the token is touched', async () => {
    fx = makeFixture();
    prepareRehearsalToken(fx, []);
    const before = tokenObjects(fx);
    const taken = join(fx.root, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'notes.txt'), 'an earlier ceremony was here');
    const io = fileIo(EXISTING_ANSWERS, 'inline', { scriptPath: join(FIXTURES, 'keygen-existing-token.yaml') }, true, []);
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-existing-token.yaml', true, taken), env(io)));
    expect(err.code).toBe('ERR_CEREMONY_OUTPUT_EXISTS');
    expect(err.message).toContain(`the ceremony folder ${taken} already exists`);
    expect(readdirSync(taken)).toEqual(['notes.txt']);
    expect(tokenObjects(fx)).toEqual(before);
  });

  it('refuses to start a root ceremony whose token already exists', async () => {
    fx = makeFixture();
    prepareRehearsalToken(fx, []);
    const io = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: join(FIXTURES, 'keygen-token-pin.yaml') }, true, []);
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(io)));
    expect(err.code).toBe('ERR_HSM_TOKEN_EXISTS');
    expect(existsSync(join(fx.caDir, 'rehearsal', 'ceremonies'))).toBe(false);
  });

  it('refuses an intermediate rehearsal before any root ceremony, naming what to do, before creating anything', async () => {
    const rf = makeRootFixture();
    try {
      const script = join(REPO, 'ceremony-scripts/intermediate.yaml');
      const opts = { scriptBytes: readFileSync(script), scriptSource: script, siteBytes: readFileSync(rf.sitePath), siteSource: rf.sitePath, siteBaseDir: rf.root, rehearsal: true };
      const err = await rejects(startCeremony(opts, env(fileIo('version: 1\n', 'inline', { scriptPath: script }, true, []))));
      expect(err.code).toBe('ERR_HSM_TOKEN_NOT_PRESENT');
      expect(err.message).toContain('rehearse the root ceremony first with the same site file');
      expect(existsSync(join(rf.caDir, 'rehearsal', 'ceremonies'))).toBe(false);
    } finally {
      rf.cleanup();
    }
  });

  it('refuses a roster that does not provide the minimum number of a role', async () => {
    fx = makeFixture();
    writeFileSync(fx.sitePath, readFileSync(fx.sitePath, 'utf8').replace('  - name: Walter Witness\n    roles: [witness]\n', ''));
    const io = fileIo(readFileSync(fx.answersPath, 'utf8').replace(/ {6}witness: Walter Witness\n/gu, '      witness: Wanda Witness\n'), 'inline', { scriptPath: join(FIXTURES, 'keygen-token-pin.yaml') }, true, []);
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(io)));
    expect(err.code).toBe('ERR_CEREMONY_ROLE_MISSING');
    expect(err.message).toContain("needs at least 2 participant(s) with the role 'witness'; the site file lists 1 (Wanda Witness)");
    expect(existsSync(fx.caDir)).toBe(false);
  });

  it('refuses a live ceremony without a transcript, and crash injection outside rehearsals', async () => {
    fx = makeFixture();
    const io = fileIo('version: 1\n', 'inline', { scriptPath: join(FIXTURES, 'keygen-token-pin.yaml') }, false, []);
    const noTranscript = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml', false), env(io)));
    expect(noTranscript.code).toBe('ERR_NOT_IMPLEMENTED');
    expect(noTranscript.message).toContain('transcript');
    const failpoint = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml', false), env(io, { failpoint: 'root-key:after-act' })));
    expect(failpoint.code).toBe('ERR_USAGE');
    expect(existsSync(fx.caDir)).toBe(false);
  });

  it('stops on a clock skew beyond the limit; resume repeats the check and finishes', async () => {
    fx = makeFixture();
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    const skewed = readFileSync(fx.answersPath, 'utf8').replace('reference-time: workstation', 'reference-time: workstation-600');
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(fileIo(skewed, 'skewed', { scriptPath: script }, true, []))));
    expect(err.code).toBe('ERR_CEREMONY_CLOCK_REJECTED');
    expect(err.message).toContain('600 s ahead of the reference (at most 120 s allowed)');
    const dir = onlyCeremony(fx);
    const view = ceremonyStatus(dir);
    expect(view.steps.find((s) => s.id === 'clock')!.status).toBe('started');
    expect(ceremonyJournal(dir).some((e) => e.type === 'step.failed' && e.data['code'] === 'ERR_CEREMONY_CLOCK_REJECTED')).toBe(true);
    const done = await resumeCeremony(dir, env(fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { dir }, true, [])));
    expect(done.status).toBe('completed');
    const clock = ceremonyStatus(dir).steps.find((s) => s.id === 'clock')!;
    expect(clock.attempt).toBe(2);
    expect(clock.result).toMatchObject({ skewSeconds: 0 });
  });

  it('abort before the point of no return destroys exactly what the ceremony created and leaves older keys', async () => {
    fx = makeFixture();
    prepareRehearsalToken(fx, [{ label: 'pre-existing', spec: { type: 'EC', curve: 'P-256' } }]);
    const before = tokenObjects(fx);
    const controller = new AbortController();
    const events: CeremonyEvent[] = [];
    const io = fileIo(EXISTING_ANSWERS, 'inline', { scriptPath: join(FIXTURES, 'keygen-existing-token.yaml') }, true, events);
    const watching = { ...io, event: (e: CeremonyEvent) => {
      io.event(e);
      if (e.type === 'step.signed-off' && e.step === 'extra-key') controller.abort();
    } };
    const run = await startCeremony(startOptions(fx, 'keygen-existing-token.yaml'), env(watching, { signal: controller.signal }));
    expect(run.status).toBe('interrupted');
    const dir = run.dir;
    expect(tokenObjects(fx).map((k) => k.label)).toContain('neam-extra-key');
    const aborted = await abortCeremony(dir, 'witness reported a broken seal', env(fileIo(EXISTING_ANSWERS, 'inline', { dir }, true, [])));
    expect(aborted.restored).toBe(true);
    expect(aborted.destroyed.map((d) => `${d.label}/${d.class}`).sort()).toEqual(['neam-extra-key/private', 'neam-extra-key/public']);
    expect(tokenObjects(fx)).toEqual(before);
    const view = ceremonyStatus(dir);
    expect(view.status).toBe('aborted');
    expect(view.abortReason).toBe('witness reported a broken seal');
    expect(view.objects.find((o) => o.label === 'neam-extra-key')!.state).toBe('destroyed');
    const journal = ceremonyJournal(dir);
    expect(journal.at(-1)).toMatchObject({ type: 'ceremony.aborted', data: { reason: 'witness reported a broken seal', restored: true } });
    expect((await rejects(resumeCeremony(dir, env(io)))).code).toBe('ERR_CEREMONY_ABORTED');
  });

  it('refuses to abort once the point of no return is crossed; resume then finishes', async () => {
    fx = makeFixture();
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    // The close step (the point of no return) runs, but its sign-off answer is missing.
    const partial = readFileSync(fx.answersPath, 'utf8').replace('  close:\n    confirm-point-of-no-return: "YES"\n    sign-off:\n      witness: Walter Witness\n', '  close:\n    confirm-point-of-no-return: "YES"\n');
    const noAdminDefault = partial.replace('  administrator: Alice Admin\n', '').replace('steps:\n', 'steps:\n  air-gap:\n    sign-off:\n      administrator: Alice Admin\n  root-key:\n    sign-off:\n      administrator: Alice Admin\n      witness: Walter Witness\n').replace('  root-key:\n    sign-off:\n      witness: Walter Witness\n  backup', '  backup');
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(fileIo(noAdminDefault, 'partial', { scriptPath: script }, true, []))));
    expect(err.code).toBe('ERR_CEREMONY_ANSWERS_INVALID');
    expect(err.message).toContain('steps.close.sign-off.administrator');
    const dir = onlyCeremony(fx);
    expect(ceremonyStatus(dir).pointOfNoReturnCrossed).toBe(true);
    const refused = await rejects(abortCeremony(dir, 'changed our mind', env(fileIo(readFileSync(fx.answersPath, 'utf8'), 'full', { dir }, true, []))));
    expect(refused.code).toBe('ERR_CEREMONY_PAST_POINT_OF_NO_RETURN');
    expect(ceremonyJournal(dir).some((e) => e.type === 'ceremony.abort-refused')).toBe(true);
    const done = await resumeCeremony(dir, env(fileIo(readFileSync(fx.answersPath, 'utf8'), 'full', { dir }, true, [])));
    expect(done.status).toBe('completed');
    expect(tokenObjects(fx).filter((k) => k.class === 'private')).toHaveLength(2);
  });

  it('resume refuses a ceremony whose script copy or outputs changed', async () => {
    fx = makeFixture();
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    const controller = new AbortController();
    const io = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: script }, true, []);
    const stopAfterRootKey = { ...io, event: (e: CeremonyEvent) => (e.type === 'step.signed-off' && e.step === 'root-key' ? controller.abort() : undefined) };
    const run = await startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(stopAfterRootKey, { signal: controller.signal }));
    expect(run.status).toBe('interrupted');
    const resumeIo = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { dir: run.dir }, true, []);

    const pub = join(run.dir, 'neam-root-key.pub.pem');
    const original = readFileSync(pub);
    writeFileSync(pub, Buffer.concat([original, Buffer.from('\n')]));
    const changedOutput = await rejects(resumeCeremony(run.dir, env(resumeIo)));
    expect(changedOutput.code).toBe('ERR_CEREMONY_RECONCILE_FAILED');
    expect(changedOutput.message).toContain('neam-root-key.pub.pem');
    writeFileSync(pub, original);

    const copy = join(run.dir, 'script.yaml');
    chmodSync(copy, 0o644);
    writeFileSync(copy, readFileSync(copy, 'utf8').replace('max-skew-seconds: 120', 'max-skew-seconds: 3600'));
    const changedScript = await rejects(resumeCeremony(run.dir, env(resumeIo)));
    expect(changedScript.code).toBe('ERR_CEREMONY_SCRIPT_CHANGED');
  });

  it('one runner per ceremony: a live holder is refused, a dead holder\'s lock is taken over and recorded', async () => {
    fx = makeFixture();
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    const controller = new AbortController();
    controller.abort();
    const run = await startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: script }, true, []), { signal: controller.signal }));
    expect(run.status).toBe('interrupted');
    const lock = join(run.dir, 'ceremony.lock');
    const io = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { dir: run.dir }, true, []);
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start: null, since: 'now' }));
    const busy = await rejects(resumeCeremony(run.dir, env(io)));
    expect(busy.code).toBe('ERR_CEREMONY_STATE_INVALID');
    expect(busy.message).toContain(`pid ${process.pid}`);
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, start: null, since: 'earlier' }));
    const done = await resumeCeremony(run.dir, env(io));
    expect(done.status).toBe('completed');
    expect(ceremonyJournal(run.dir).some((e) => e.type === 'ceremony.stale-lock')).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  it('the journal is append-only: the database refuses to change or delete an entry', async () => {
    fx = makeFixture();
    const controller = new AbortController();
    controller.abort();
    const run = await startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: join(FIXTURES, 'keygen-token-pin.yaml') }, true, []), { signal: controller.signal }));
    const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
    const db = new Sqlite(join(run.dir, 'ceremony.sqlite'));
    try {
      expect(() => db.prepare("UPDATE journal SET type = 'forged' WHERE seq = 1").run()).toThrow(/append-only/u);
      expect(() => db.prepare('DELETE FROM journal WHERE seq = 1').run()).toThrow(/append-only/u);
    } finally {
      db.close();
    }
  });

  it('a person cannot sign off the same step twice under two roles', async () => {
    fx = makeFixture();
    writeFileSync(fx.sitePath, readFileSync(fx.sitePath, 'utf8').replace('  - name: Alice Admin\n    roles: [administrator]', '  - name: Alice Admin\n    roles: [administrator, witness]'));
    const answers = readFileSync(fx.answersPath, 'utf8').replace('  witness: Wanda Witness\n', '  witness: Alice Admin\n');
    const err = await rejects(startCeremony(startOptions(fx, 'keygen-token-pin.yaml'), env(fileIo(answers, 'same-person', { scriptPath: join(FIXTURES, 'keygen-token-pin.yaml') }, true, []))));
    expect(err.code).toBe('ERR_CEREMONY_ANSWERS_INVALID');
    expect(err.message).toContain("'Alice Admin' is not one of: Wanda Witness, Walter Witness");
    const view = ceremonyStatus(onlyCeremony(fx));
    expect(view.steps[0]!.signedBy).toEqual([expect.objectContaining({ participant: 'Alice Admin', role: 'administrator' })]);
    expect(readdirSync(join(fx.caDir, 'rehearsal'))).toContain('ceremonies');
  });
});
