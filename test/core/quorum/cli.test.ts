/**
 * The custodians' commands end to end on SoftHSM, run in-process with a scripted no-echo prompter:
 * enrol 2-of-3 on a token, drill, build a request from TBS bytes, approve and decline on
 * "custodian machines", check the approvals, rotate, change a passphrase. The last test scans
 * everything the commands printed, logged or wrote for the secret and the passphrases.
 */
import { generateKeyPairSync, hkdfSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Prompter } from '../../../core/cli/command.ts';
import { runCli } from '../../../core/cli/main.ts';
import { COMMANDS } from '../../../core/cli/commands/index.ts';
import { openCustodianFile, parseCustodianFile, parseRoster } from '../../../core/quorum/index.ts';
import { combineShares } from '../../../core/quorum/shares.ts';
import { Secret } from '../../../core/util/secret.ts';
import { findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { buildCaTbs } from './fixtures.ts';
import { countFiles, findSecretLeaks, secretForms } from './scan.ts';

const PASS: Record<string, string> = {
  alice: 'alice keeps the brass key 31',
  bob: 'bob hums under the bridge 88',
  carol: 'carol paints green doors 502',
  dave: 'dave counts crows at noon 14',
  erin: 'erin folds paper cranes 9000',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  prompts: string[];
}

describe('neam-ca approve and neam-ca quorum (in-process, SoftHSM)', () => {
  let dir: { dir: string; cleanup(): void };
  const d = (...p: string[]): string => join(dir.dir, ...p);
  const transcript: string[] = [];
  let softhsm: string;

  async function cli(args: string[], answers: string[] = [], prompter = true): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const prompts: string[] = [];
    const queue = [...answers];
    const next = (q: string): string => {
      prompts.push(q);
      const a = queue.shift();
      if (a === undefined) throw new Error(`unexpected prompt: ${q}`);
      return a;
    };
    const scripted: Prompter = {
      interactive: true,
      secret: (q) => Promise.resolve(Secret.fromString(next(q))),
      line: (q) => Promise.resolve(next(q)),
    };
    const sink = (append: (s: string) => void): Writable => new Writable({ write: (c: Buffer, _e, cb) => (append(c.toString('utf8')), cb()) });
    const code = await runCli([...args, '--log-level', 'debug'], {
      stdout: sink((s) => (stdout += s)) as unknown as NodeJS.WritableStream,
      stderr: sink((s) => (stderr += s)) as unknown as NodeJS.WritableStream,
      stdin: process.stdin,
      env: { PATH: process.env['PATH'] ?? '' },
      cwd: dir.dir,
      ...(prompter ? { prompter: scripted } : {}),
    });
    transcript.push(stdout, stderr, ...prompts);
    expect(queue, `unused answers for ${args.join(' ')}`).toEqual([]);
    return { code, stdout, stderr, prompts };
  }

  beforeAll(async () => {
    dir = tempDir('neam-qcli-');
    softhsm = d('softhsm');
    const init = await cli(['hsm', 'init-token', '--softhsm-dir', softhsm, '--label', 'root', '--generate-pins', d('pins')]);
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(() => dir.cleanup());

  it('every quorum command has --help', async () => {
    for (const c of COMMANDS.filter((x) => x.path[0] === 'quorum' || x.path[0] === 'approve')) {
      const r = await cli([...c.path, '--help']);
      expect(r.code, c.path.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: neam-ca ${c.path.join(' ')}`);
    }
  });

  it('enroll: each custodian types a passphrase twice (re-asked when weak); files are 0600; the token PIN is replaced', async () => {
    const r = await cli(
      ['quorum', 'enroll', '--softhsm-dir', softhsm, '--token', 'root', '--so-pin-file', d('pins', 'root.so-pin'), '--ceremony', 'cli-2027', '--threshold', '2', '--custodian', 'alice', '--custodian', 'bob', '--custodian', 'carol', '--out', 'q1'],
      ['too short', 'too short', PASS['alice'] as string, PASS['alice'] as string, PASS['bob'] as string, PASS['bob'] as string, PASS['carol'] as string, PASS['carol'] as string],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('at least 12 characters');
    expect(r.prompts.filter((p) => p.includes("Custodian 'alice'"))).toHaveLength(4);
    expect(r.stdout).toContain("user PIN and security officer PIN are now derived from the quorum's secret; the SO PIN used for the enrolment no longer works");
    expect(r.stdout).toContain('It governs both token PINs (user and security officer).');
    // Each custodian is shown their approval-key fingerprint to write down.
    expect(r.stderr).toMatch(/alice, write down your approval-key fingerprint \(SHA-256\)[^\n]*\n\s+[0-9a-f]{64}/u);
    expect(r.stdout).toMatch(/Roster SHA-256 \(record it in the transcript\): [0-9a-f]{64}/u);
    const files = readdirSync(d('q1')).sort();
    expect(files).toEqual(['custodian-1-alice.json', 'custodian-2-bob.json', 'custodian-3-carol.json', 'roster.json']);
    expect(statSync(d('q1', 'custodian-1-alice.json')).mode & 0o777).toBe(0o600);
    const roster = parseRoster(readFileSync(d('q1', 'roster.json')));
    expect(roster).toMatchObject({ ceremony: 'cli-2027', threshold: 2, generation: 1 });
    // The PIN generated by init-token no longer opens the token.
    const old = await cli(['hsm', 'keys', '--softhsm-dir', softhsm, '--token', 'root', '--pin-file', d('pins', 'root.pin')]);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('[ERR_HSM_PIN_INCORRECT]');
  });

  it('enroll: the SO PIN it was given no longer works; the review\'s attack (SO login, C_InitPIN of a chosen PIN) fails in pkcs11-tool', () => {
    const so = readFileSync(d('pins', 'root.so-pin'), 'utf8').trim();
    const r = run('pkcs11-tool', ['--module', findSoftHsmModule(), '--token-label', 'root', '--login', '--login-type', 'so', '--so-pin', so, '--init-pin', '--new-pin', 'hijacked-pin-1234'], { env: { ...process.env, SOFTHSM2_CONF: join(softhsm, 'softhsm2.conf') } });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain('CKR_PIN_INCORRECT');
  });

  it('hsm init-token refuses --generate-pins for a token marked --root, and warns without --root', async () => {
    const refused = await cli(['hsm', 'init-token', '--softhsm-dir', softhsm, '--label', 'root-gen', '--root', '--generate-pins', d('pins-root')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('[ERR_USAGE]');
    expect(refused.stderr).toContain('quorum enroll --init-token');
    expect(readdirSync(dir.dir)).not.toContain('pins-root');
    const warned = await cli(['hsm', 'init-token', '--softhsm-dir', softhsm, '--label', 'online', '--generate-pins', d('pins')]);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain('WARNING: the PINs of \'online\' are written to files. Use this only for rehearsal and online tokens');
  });

  it('enroll --init-token creates a root token whose PINs never leave memory; both are the quorum\'s', async () => {
    const r = await cli(
      ['quorum', 'enroll', '--softhsm-dir', softhsm, '--token', 'root-mem', '--init-token', '--ceremony', 'cli-mem', '--threshold', '2', '--custodian', 'alice', '--custodian', 'bob', '--out', 'qm'],
      [PASS['alice'] as string, PASS['alice'] as string, PASS['bob'] as string, PASS['bob'] as string],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('temporary PINs that exist only in this process');
    expect(r.stdout).toContain("security officer PIN are now derived from the quorum's secret");
    expect(readdirSync(d('qm')).sort()).toEqual(['custodian-1-alice.json', 'custodian-2-bob.json', 'roster.json']);
    expect(parseRoster(readFileSync(d('qm', 'roster.json'))).pin).toEqual({ encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user', 'so'] });
    expect(readdirSync(dir.dir).filter((f) => f.includes('pin'))).toEqual(['pins']);
  });

  it('enroll refuses mismatched confirmations three times and leaves no files', async () => {
    const r = await cli(
      ['quorum', 'enroll', '--softhsm-dir', softhsm, '--token', 'root-x', '--init-token', '--ceremony', 'cli-x', '--threshold', '2', '--custodian', 'zed', '--custodian', 'yan', '--out', 'qx'],
      ['a good passphrase 1', 'a good passphrase 2', 'a good passphrase 1', 'a good passphrase 2', 'a good passphrase 1', 'a good passphrase 2'],
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_QUORUM_PASSPHRASE_MISMATCH]');
    expect(readdirSync(d('qx'))).toEqual([]);
  });

  it('drill: two custodians reach the threshold; a wrong passphrase is named', async () => {
    const ok = await cli(['quorum', 'drill', '--roster', 'q1/roster.json', '--custodian', 'q1/custodian-3-carol.json', '--custodian', 'q1/custodian-1-alice.json'], [PASS['carol'] as string, PASS['alice'] as string]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Drill passed: carol, alice');
    const bad = await cli(['quorum', 'drill', '--roster', 'q1/roster.json', '--custodian', 'q1/custodian-2-bob.json'], [PASS['alice'] as string]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[ERR_QUORUM_PASSPHRASE_INCORRECT]');
    const few = await cli(['quorum', 'drill', '--roster', 'q1/roster.json', '--custodian', 'q1/custodian-2-bob.json', '--json'], [PASS['bob'] as string]);
    expect(few.code).toBe(1);
    expect(JSON.parse(few.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_QUORUM_NOT_MET' } });
  });

  it('request, approve on custodian machines, decline, and check', async () => {
    const k = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' });
    writeFileSync(d('inter.tbs'), buildCaTbs({ issuer: 'CN=CLI Root', subject: 'CN=CLI Intermediate,O=NEAM', subjectSpki: k, issuerSpki: k, notBefore: new Date(), days: 90, pathLen: 0 }));
    const req = await cli(['quorum', 'request', '--roster', 'q1/roster.json', '--operation', 'sign-intermediate', '--tbs', 'inter.tbs', '--out', 'req.json', '--json']);
    expect(req.code, req.stderr).toBe(0);
    const { value } = JSON.parse(req.stdout) as { value: { tbsSha256: string; words: string[] } };

    const a = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--out', 'alice.approval.json'], ['approve', PASS['alice'] as string]);
    expect(a.code, a.stderr).toBe(0);
    // What the reviewer saw: local decode, hex digest, words; then the exact question.
    expect(a.stderr).toContain('Decoded ON THIS MACHINE');
    expect(a.stderr).toContain('CN=CLI Intermediate, O=NEAM');
    expect(a.stderr).toContain('CA: TRUE, pathLen: 0');
    expect(a.stderr.replace(/\s/gu, '')).toContain(value.tbsSha256);
    expect(a.stderr).toContain(value.words.slice(0, 4).join(' '));
    expect(a.prompts[0]).toContain('Type "approve"');
    expect(statSync(d('alice.approval.json')).mode & 0o777).toBe(0o644);

    const wrongAnswer = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-2-bob.json', '--out', 'bob.approval.json'], ['yes']);
    expect(wrongAnswer.code).toBe(2);
    expect(wrongAnswer.stderr).toContain('nothing was signed');
    expect(readdirSync(dir.dir)).not.toContain('bob.approval.json');

    const b = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-2-bob.json', '--out', 'bob.approval.json'], ['approve', PASS['bob'] as string]);
    expect(b.code, b.stderr).toBe(0);
    const c = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-3-carol.json', '--out', 'carol.decline.json'], ['decline', PASS['carol'] as string]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('DECLINE signed');

    const met = await cli(['quorum', 'check', '--roster', 'q1/roster.json', '--request', 'req.json', '--approval', 'alice.approval.json', '--approval', 'bob.approval.json']);
    expect(met.code, met.stderr).toBe(0);
    expect(met.stdout).toContain('Quorum met: alice, bob');
    const declined = await cli(['quorum', 'check', '--roster', 'q1/roster.json', '--request', 'req.json', '--approval', 'alice.approval.json', '--approval', 'bob.approval.json', '--approval', 'carol.decline.json']);
    expect(declined.code).toBe(1);
    expect(declined.stdout).toMatch(/carol\.decline\.json\s+carol\s+ERR_QUORUM_APPROVAL_DECLINED/u);
    expect(declined.stderr).toContain('[ERR_QUORUM_APPROVAL_DECLINED]');
    const twice = await cli(['quorum', 'check', '--roster', 'q1/roster.json', '--request', 'req.json', '--approval', 'alice.approval.json', '--approval', 'alice.approval.json', '--json']);
    expect(JSON.parse(twice.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_QUORUM_APPROVAL_DUPLICATE' } });
    // An existing output is never overwritten.
    const again = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--out', 'alice.approval.json']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[ERR_ALREADY_EXISTS]');
  });

  it('approve needs a terminal to ask', async () => {
    const r = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--out', 'x.json'], [], false);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no terminal');
  });

  it('approve checks the custodian file against a pinned approval-key fingerprint before anything is shown or typed', async () => {
    const alice = parseCustodianFile(readFileSync(d('q1', 'custodian-1-alice.json')));
    const wrong = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--approval-key-sha256', 'ab'.repeat(32), '--out', 'pinned-wrong.json'], []);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[ERR_QUORUM_SHARE_TAMPERED]');
    expect(wrong.prompts).toEqual([]);
    const right = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--approval-key-sha256', alice.approvalKey.sha256.replace(/(..)(?=.)/gu, '$1:'), '--out', 'pinned-right.json'], ['approve', PASS['alice'] as string]);
    expect(right.code, right.stderr).toBe(0);
    expect(right.stderr).not.toContain('cannot confirm that your custodian file is genuine');
    const unpinned = await cli(['approve', 'req.json', '--custodian', 'q1/custodian-1-alice.json', '--out', 'unpinned.json'], ['approve', PASS['alice'] as string]);
    expect(unpinned.code, unpinned.stderr).toBe(0);
    expect(unpinned.stderr).toContain('cannot confirm that your custodian file is genuine');
  });

  it('passphrase: a custodian changes their passphrase; the new file works, the old passphrase does not', async () => {
    const r = await cli(['quorum', 'passphrase', '--custodian', 'q1/custodian-2-bob.json', '--roster', 'q1/roster.json', '--out', 'bob-new.json'], [PASS['bob'] as string, 'bob has a new secret 2027', 'bob has a new secret 2027']);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(d('bob-new.json')).mode & 0o777).toBe(0o600);
    const ok = await cli(['quorum', 'drill', '--roster', 'q1/roster.json', '--custodian', 'bob-new.json', '--custodian', 'q1/custodian-1-alice.json'], ['bob has a new secret 2027', PASS['alice'] as string]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('rotate: alice and bob replace the quorum with dave and erin; old files are refused; the new ones drill', async () => {
    const r = await cli(
      ['quorum', 'rotate', '--softhsm-dir', softhsm, '--token', 'root', '--roster', 'q1/roster.json', '--custodian', 'q1/custodian-1-alice.json', '--custodian', 'q1/custodian-2-bob.json', '--new-custodian', 'dave', '--new-custodian', 'erin', '--threshold', '2', '--out', 'q2'],
      [PASS['alice'] as string, PASS['bob'] as string, PASS['dave'] as string, PASS['dave'] as string, PASS['erin'] as string, PASS['erin'] as string],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('The token PINs were changed (user and security officer)');
    const roster2 = parseRoster(readFileSync(d('q2', 'roster.json')));
    expect(roster2.generation).toBe(2);
    const old = await cli(['quorum', 'drill', '--roster', 'q2/roster.json', '--custodian', 'q1/custodian-1-alice.json']);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('[ERR_QUORUM_SHARE_FOREIGN]');
    const fresh = await cli(['quorum', 'drill', '--roster', 'q2/roster.json', '--custodian', 'q2/custodian-1-dave.json', '--custodian', 'q2/custodian-2-erin.json'], [PASS['dave'] as string, PASS['erin'] as string]);
    expect(fresh.code, fresh.stderr).toBe(0);
    // The old request belongs to the retired quorum: a new custodian's file is foreign to it.
    const foreign = await cli(['approve', 'req.json', '--custodian', 'q2/custodian-1-dave.json', '--out', 'dave.json']);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('[ERR_QUORUM_SHARE_FOREIGN]');
  });

  it('words and show print public content only', async () => {
    const w = await cli(['quorum', 'words', 'E58294F2']);
    expect(w.stdout.trim()).toBe('00  topmost Istanbul Pluto vagabond');
    for (const f of ['q1/roster.json', 'q1/custodian-1-alice.json', 'req.json', 'alice.approval.json']) {
      const s = await cli(['quorum', 'show', f]);
      expect(s.code, `${f}: ${s.stderr}`).toBe(0);
      expect(s.stdout).not.toContain('ciphertext');
    }
    const bad = await cli(['quorum', 'show', 'inter.tbs']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('[ERR_INPUT_INVALID]');
  });

  it('nothing printed, prompted, logged or written (sealed custodian files and the token store included) contains the activation secrets or a passphrase', async () => {
    // Rebuild both generations' secrets from the files (the test knows the passphrases).
    const secrets: Buffer[] = [];
    for (const [folder, names] of [['q1', ['alice', 'bob']], ['q2', ['dave', 'erin']]] as const) {
      const shares = [];
      for (const [i, n] of names.entries()) {
        const file = parseCustodianFile(readFileSync(d(folder, `custodian-${i + 1}-${n}.json`)));
        shares.push((await openCustodianFile(file, Secret.fromString(PASS[n] as string), { share: true })).share as Secret);
      }
      const secret = await combineShares(shares);
      secrets.push(secret.use((b) => Buffer.from(b)));
    }
    const forms = secretForms({ secrets, texts: [...Object.values(PASS), 'bob has a new secret 2027'] });
    // The scan sees real material: the diagnostic log lines (debug level) and every file written,
    // the sealed custodian files and SoftHSM's token store included.
    expect(transcript.join('\n')).toContain('custodian share accepted');
    expect(countFiles(dir.dir)).toBeGreaterThanOrEqual(18);
    expect(findSecretLeaks({ root: dir.dir, texts: transcript, forms })).toEqual([]);
    // Positive controls: the scan does find each kind of leak.
    const pin = secrets[1]?.toString('base64url') ?? '';
    expect(findSecretLeaks({ texts: [`log: pin=${pin}`], forms })).toContain('text#0: secret#1 pin utf8');
    expect(findSecretLeaks({ texts: [Buffer.from(PASS['erin'] as string).toString('base64')], forms })).toContain('text#0: passphrase#4 base64');
    const userPin = Buffer.from(hkdfSync('sha256', secrets[0] as Buffer, Buffer.alloc(0), Buffer.from('neam-ca/quorum/token-pin/v1/user', 'utf8'), 32)).toString('base64url');
    expect(findSecretLeaks({ texts: [userPin], forms })).toContain('text#0: secret#0 user-pin utf8');
  });
});
