/**
 * The day-of inputs: site files (table of broken ones by field), the roster check, answers files
 * (table by problem), the answering port, and the clock arithmetic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { answeringIo, clockSkewSeconds, parseReferenceTime, parseScript, planCeremony, rosterProblems, validateAnswers, validateSite, type CeremonyIo } from '../../../core/ceremony/index.ts';
import { FIXTURES } from './fixture.ts';

const SITE = `version: 1
site: Vault B
hsm:
  module: /usr/lib/softhsm/libsofthsm2.so
  token-label: neam-root
  token-serial: "8f3a21c07d5e9b10"
output-dir: /srv/neam-ca
participants:
  - name: Alice Admin
    roles: [administrator]
  - name: Wanda Witness
    roles: [witness]
`;

const SITE_CASES: Array<{ name: string; text: string; path: string; message: string; line?: number }> = [
  { name: 'version', text: SITE.replace('version: 1', 'version: 0'), path: 'version', message: 'must be 1', line: 1 },
  { name: 'hsm.module (missing)', text: SITE.replace('  module: /usr/lib/softhsm/libsofthsm2.so\n', ''), path: 'hsm.module', message: 'is required' },
  { name: 'hsm.token-label too long', text: SITE.replace('token-label: neam-root', `token-label: ${'x'.repeat(33)}`), path: 'hsm.token-label', message: '1-32 printable ASCII', line: 5 },
  { name: 'hsm.token-serial as a number', text: SITE.replace('token-serial: "8f3a21c07d5e9b10"', 'token-serial: 1234'), path: 'hsm.token-serial', message: 'must be a string', line: 6 },
  { name: 'hsm.pin (no such field: PINs never live in the site file)', text: SITE.replace('  token-label: neam-root', '  token-label: neam-root\n  pin: "1234"'), path: 'hsm.pin', message: "unknown field 'pin'", line: 6 },
  { name: 'output-dir (missing)', text: SITE.replace('output-dir: /srv/neam-ca\n', ''), path: 'output-dir', message: 'is required' },
  { name: 'participants (empty)', text: SITE.slice(0, SITE.indexOf('participants:')) + 'participants: []\n', path: 'participants', message: 'needs at least 1 entry' },
  { name: 'participants.1.name duplicate', text: SITE.replace('  - name: Wanda Witness', '  - name: alice admin'), path: 'participants.1.name', message: "'alice admin' is listed twice", line: 11 },
  { name: 'participants.0.roles.0 format', text: SITE.replace('roles: [administrator]', 'roles: [Administrator]'), path: 'participants.0.roles.0', message: 'lower-case', line: 10 },
  { name: 'participants.0.roles (missing)', text: SITE.replace('    roles: [administrator]\n', ''), path: 'participants.0.roles', message: 'is required' },
  { name: 'participants.0.name control character', text: SITE.replace('Alice Admin', 'Alice\\u0007Admin').replace('- name: Alice\\u0007Admin', '- name: "Alice\\u0007Admin"'), path: 'participants.0.name', message: 'control characters' },
];

describe('site files', () => {
  it('a valid site file resolves relative paths against its folder', () => {
    const v = validateSite(SITE.replace('output-dir: /srv/neam-ca', 'output-dir: ca'), 'site.yaml', '/media/ceremony');
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.site.outputDir).toBe('/media/ceremony/ca');
      expect(v.site.hsm).toEqual({ module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'neam-root', tokenSerial: '8f3a21c07d5e9b10' });
    }
  });

  for (const c of SITE_CASES) {
    it(c.name, () => {
      const v = validateSite(c.text, 'site.yaml', '/tmp');
      expect(v.ok).toBe(false);
      if (v.ok) return;
      const p = v.problems.find((x) => x.path === c.path && x.message.includes(c.message));
      expect(p, JSON.stringify(v.problems)).toBeDefined();
      if (c.line !== undefined) expect(p!.line).toBe(c.line);
    });
  }

  it('refuses oversized, binary and truncated site files without throwing', () => {
    const big = validateSite(`${SITE}# ${'x'.repeat(64 * 1024)}\n`, 'site.yaml', '/tmp');
    expect(!big.ok && big.problems[0]!.message).toContain('more than the 65536 allowed');
    const binary = validateSite(Buffer.from([0x76, 0x3a, 0xff, 0x00, 0x01]), 'site.yaml', '/tmp');
    expect(binary.ok).toBe(false);
    for (let n = 0; n < SITE.length; n += 7) expect(validateSite(SITE.slice(0, n), 'site.yaml', '/tmp').ok).toBe(false);
  });

  it('the roster must give every role its minimum and respect its maximum', () => {
    const script = parseScript(readFileSync(join(FIXTURES, '../../../ceremony-scripts/root.yaml')), 'root.yaml');
    const v = validateSite(SITE, 'site.yaml', '/tmp');
    if (!v.ok) throw new Error('site invalid');
    const problems = rosterProblems(script, v.site);
    expect(problems.map((p) => p.message)).toEqual([
      "the script needs at least 5 participant(s) with the role 'custodian'; the site file lists 0",
      "the script needs at least 2 participant(s) with the role 'witness'; the site file lists 1 (Wanda Witness)",
    ]);
    const twoAdmins = { participants: [...v.site.participants, { name: 'Bob', roles: ['administrator'] }] };
    expect(rosterProblems(script, twoAdmins).map((p) => p.message)).toContain("the script allows at most 1 participant(s) with the role 'administrator'; the site file lists 2");
  });
});

const PLAN = planCeremony(parseScript(readFileSync(join(FIXTURES, 'keygen-token-pin.yaml')), 'keygen-token-pin.yaml'));

const ANSWER_CASES: Array<{ name: string; text: string; rehearsal: boolean; path: string; message: string; line?: number }> = [
  { name: 'version (missing)', text: 'steps:\n  clock:\n    reference-time: workstation\n', rehearsal: true, path: 'version', message: 'is required' },
  { name: 'steps.clock.reference-tme (not a question)', text: 'version: 1\nsteps:\n  clock:\n    reference-tme: workstation\n', rehearsal: true, path: 'steps.clock.reference-tme', message: "is not a question this ceremony asks (did you mean 'reference-time'?)", line: 4 },
  { name: 'steps.nope (unknown step)', text: 'version: 1\nsteps:\n  nope:\n    reference-time: workstation\n', rehearsal: true, path: 'steps.nope.reference-time', message: 'is not a question this ceremony asks' },
  { name: 'token.user-pin as a number', text: 'version: 1\ntoken:\n  user-pin: 12345678\n', rehearsal: true, path: 'token.user-pin', message: 'quote it', line: 3 },
  { name: 'token.user-pin in a live ceremony', text: 'version: 1\ntoken:\n  user-pin: "12345678"\n', rehearsal: false, path: 'token.user-pin', message: 'accepted only in rehearsals', line: 3 },
  { name: 'sign-off.witness in a live ceremony', text: 'version: 1\nsign-off:\n  witness: Wanda Witness\n', rehearsal: false, path: 'sign-off.witness', message: "a person's statement on the day" },
  { name: 'steps.root-key.sign-off.auditor (role not signing that step)', text: 'version: 1\nsteps:\n  root-key:\n    sign-off:\n      auditor: Someone\n', rehearsal: true, path: 'steps.root-key.sign-off.auditor', message: 'is not a question' },
  { name: 'steps.clock (empty mapping)', text: 'version: 1\nsteps:\n  clock: {}\n', rehearsal: true, path: 'steps.clock', message: 'empty mapping' },
  { name: 'duplicate key', text: 'version: 1\ntoken:\n  user-pin: "a1234567"\n  user-pin: "b1234567"\n', rehearsal: true, path: 'token.user-pin', message: 'duplicate key' },
];

describe('answers files', () => {
  it('the fixture answers are valid for a rehearsal', () => {
    const v = validateAnswers(readFileSync(join(FIXTURES, 'keygen-answers.yaml')), 'answers.yaml', PLAN.questions, { rehearsal: true });
    expect(v.ok ? [] : v.problems).toEqual([]);
  });

  for (const c of ANSWER_CASES) {
    it(c.name, () => {
      const v = validateAnswers(c.text, 'answers.yaml', PLAN.questions, { rehearsal: c.rehearsal });
      expect(v.ok).toBe(false);
      if (v.ok) return;
      const p = v.problems.find((x) => x.path === c.path && x.message.includes(c.message));
      expect(p, JSON.stringify(v.problems)).toBeDefined();
      if (c.line !== undefined) expect(p!.line).toBe(c.line);
    });
  }

  it('refuses oversized and truncated answers files without throwing', () => {
    const text = readFileSync(join(FIXTURES, 'keygen-answers.yaml'), 'utf8');
    const big = validateAnswers(`${text}# ${'x'.repeat(256 * 1024)}\n`, 'a.yaml', PLAN.questions, { rehearsal: true });
    expect(!big.ok && big.problems[0]!.message).toContain('more than the');
    for (let n = 0; n < text.length; n += 5) validateAnswers(text.slice(0, n), 'a.yaml', PLAN.questions, { rehearsal: true });
  });

  it('names in wildcard keys must be participants of the site file', () => {
    const script = parseScript(readFileSync(join(FIXTURES, '../../../ceremony-scripts/intermediate.yaml')), 'intermediate.yaml');
    const q = planCeremony(script).questions;
    const ok = validateAnswers('version: 1\nactivation:\n  passphrase:\n    "Carol D. Smith": "correct horse battery"\ncustodians:\n  "Carol D. Smith":\n    file: /media/carol\n', 'a.yaml', q, { rehearsal: true, names: ['Carol D. Smith'] });
    expect(ok.ok ? [] : ok.problems).toEqual([]);
    const bad = validateAnswers('version: 1\nactivation:\n  passphrase:\n    Mallory: "x"\n', 'a.yaml', q, { rehearsal: true, names: ['Carol D. Smith'] });
    expect(!bad.ok && bad.problems[0]!.message).toContain("'Mallory' is not a participant named in the site file");
  });

  it('the answering port answers from the file, checks answers against the question, and falls back', async () => {
    const v = validateAnswers('version: 1\nsign-off:\n  witness: Wanda Witness\nsteps:\n  clock:\n    reference-time: "25:00:00"\n', 'a.yaml', PLAN.questions, { rehearsal: true });
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const asked: string[] = [];
    const fallback: CeremonyIo = { source: 'terminal', event: () => undefined, ask: (q) => (asked.push(q.key.join('.')), Promise.resolve('typed')), askSecret: () => Promise.reject(new Error('no')) };
    const io = answeringIo(v.answers, fallback);
    // A default signer for the role answers every step's sign-off of that role.
    expect(await io.ask({ kind: 'choice', key: ['steps', 'root-key', 'sign-off', 'witness'], prompt: 'who?', choices: ['Wanda Witness', 'Walter Witness'] })).toBe('Wanda Witness');
    // An answer that is not one of the choices is an error, never replaced by a prompt.
    await expect(io.ask({ kind: 'choice', key: ['steps', 'root-key', 'sign-off', 'witness'], prompt: 'who?', choices: ['Walter Witness'] })).rejects.toMatchObject({ code: 'ERR_CEREMONY_ANSWERS_INVALID' });
    // Validation applies to file answers too.
    await expect(io.ask({ kind: 'text', key: ['steps', 'clock', 'reference-time'], prompt: 't', validate: (a) => (a === '25:00:00' ? 'not a time' : undefined) })).rejects.toThrow(/a\.yaml line 6: steps\.clock\.reference-time: not a time/u);
    // Anything the file does not hold goes to the fallback.
    expect(await io.ask({ kind: 'text', key: ['steps', 'materials', 'hsm-bag'], prompt: 'bag' })).toBe('typed');
    expect(asked).toEqual(['steps.materials.hsm-bag']);
  });
});

describe('clock check arithmetic', () => {
  const now = new Date('2026-12-03T23:59:50Z');
  it('reads HH:MM:SS as the UTC time nearest the workstation clock (across midnight)', () => {
    const r = parseReferenceTime('00:00:05', now, { allowWorkstation: false });
    expect('reference' in r && r.reference.toISOString()).toBe('2026-12-04T00:00:05.000Z');
    expect('reference' in r && clockSkewSeconds(now, r.reference)).toBe(-15);
  });
  it('reads full ISO times and refuses impossible ones', () => {
    const r = parseReferenceTime('2026-12-03T23:58:50Z', now, { allowWorkstation: false });
    expect('reference' in r && clockSkewSeconds(now, r.reference)).toBe(60);
    expect(parseReferenceTime('2026-02-30T10:00:00Z', now, { allowWorkstation: false })).toHaveProperty('error');
    expect(parseReferenceTime('24:00:00', now, { allowWorkstation: false })).toHaveProperty('error');
    expect(parseReferenceTime('noon', now, { allowWorkstation: false })).toHaveProperty('error');
    expect(parseReferenceTime('2026-12-03T23:58:50+02:00', now, { allowWorkstation: false })).toHaveProperty('error');
  });
  it("accepts 'workstation' only in rehearsals", () => {
    expect(parseReferenceTime('workstation', now, { allowWorkstation: false })).toHaveProperty('error');
    const r = parseReferenceTime('workstation+30', now, { allowWorkstation: true });
    expect('reference' in r && clockSkewSeconds(now, r.reference)).toBe(-30);
  });
});
