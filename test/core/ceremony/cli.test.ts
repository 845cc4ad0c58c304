import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { cli, FIXTURES, REPO } from './fixture.ts';

describe('neam-ca ceremony (CLI)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('every ceremony command has --help', () => {
    for (const c of ['validate', 'run', 'resume', 'abort', 'status', 'air-gap']) {
      const r = cli(['ceremony', c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: neam-ca ceremony ${c}`);
    }
  });

  it('validate prints the SHA-256 and the plan of a valid script, with the point of no return', () => {
    const r = cli(['ceremony', 'validate', join(REPO, 'ceremony-scripts/root.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SHA-256: [0-9a-f]{64}/u);
    expect(r.stdout).toContain('quorum: 3 of 5 (activation: shares)');
    expect(r.stdout).toContain("point of no return: step 14 'root-crl-sign'");
    expect(r.stdout).toMatch(/root-key\s+generate-key\s+administrator, witness\s+key neam-root-key, neam-root-key.pub.pem/u);
    const j = JSON.parse(cli(['ceremony', 'validate', join(REPO, 'ceremony-scripts/root.yaml'), '--json']).stdout) as { ok: boolean; value: { valid: boolean; questions: Array<{ key: string }> } };
    expect(j.value.valid).toBe(true);
    expect(j.value.questions.map((q) => q.key)).toContain('steps.clock.reference-time');
  });

  it('validate lists every problem of a broken script with path and line, exit 1', () => {
    const d = dir();
    const path = join(d, 'broken.yaml');
    writeFileSync(path, 'version: 1\nceremony-type: root\nid: x\ntitle: X\nroles:\n  administrator:\n    min: 1\nquorum:\n  m: 4\n  n: 3\nsteps:\n  - id: a\n    title: A\n    action: air-gap-chek\n  - id: close\n    title: Close\n    action: close\n    sign-off: [auditor]\n    params:\n      transfer-key-label: t\n');
    const r = cli(['ceremony', 'validate', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('quorum.m (line 9): the threshold M (4) is larger than the number of custodians N (3)');
    expect(r.stdout).toContain("steps.0.action (line 14): unknown action 'air-gap-chek' (did you mean 'air-gap-check'?)");
    expect(r.stdout).toContain("steps.1.sign-off.0 (line 18): role 'auditor' is not declared under roles, so nobody holds it");
    const j = JSON.parse(cli(['ceremony', 'validate', path, '--json']).stdout) as { value: { valid: boolean; problems: Array<{ path: string; line: number }> } };
    expect(j.value.valid).toBe(false);
    expect(j.value.problems.map((p) => p.path)).toEqual(['quorum.m', 'steps.0.action', 'steps.1.sign-off.0']);
  });

  it('validate checks a site roster and an answers file against the script', () => {
    const d = dir();
    const site = join(d, 'site.yaml');
    writeFileSync(site, 'version: 1\nhsm:\n  module: /usr/lib/softhsm/libsofthsm2.so\n  token-label: t\noutput-dir: out\nparticipants:\n  - name: A\n    roles: [administrator]\n');
    const answers = join(d, 'answers.yaml');
    writeFileSync(answers, 'version: 1\ntoken:\n  user-pin: "12345678"\n');
    const r = cli(['ceremony', 'validate', join(FIXTURES, 'keygen-token-pin.yaml'), '--site', site, '--answers', answers]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("the script needs at least 2 participant(s) with the role 'witness'");
    expect(r.stdout).toContain('token.user-pin (line 3): secrets (PINs, passphrases) in an answers file are accepted only in rehearsals');
    expect(cli(['ceremony', 'validate', join(FIXTURES, 'keygen-token-pin.yaml'), '--answers', answers, '--rehearsal']).code).toBe(0);
  });

  it('run needs --site; a missing script file, and a folder that is not a ceremony, are clear errors', () => {
    const r = cli(['ceremony', 'run', join(FIXTURES, 'keygen-token-pin.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[ERR_USAGE]: --site SITE is required');
    const missing = cli(['ceremony', 'validate', '/nonexistent/script.yaml']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[ERR_IO]');
    const notCeremony = cli(['ceremony', 'status', dir()]);
    expect(notCeremony.code).toBe(1);
    expect(notCeremony.stderr).toContain('[ERR_CEREMONY_STATE_INVALID]');
  });

  it('run without a terminal and without an answer names the missing answers-file key', () => {
    const d = dir();
    const site = join(d, 'site.yaml');
    writeFileSync(site, `version: 1\nhsm:\n  module: /usr/lib/softhsm/libsofthsm2.so\n  token-label: neam-root\noutput-dir: ${join(d, 'ca')}\nparticipants:\n  - name: A\n    roles: [administrator]\n  - name: W1\n    roles: [witness]\n  - name: W2\n    roles: [witness]\n`);
    const r = cli(['ceremony', 'run', join(FIXTURES, 'keygen-token-pin.yaml'), '--site', site, '--rehearsal']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_CEREMONY_ANSWERS_INVALID]: the ceremony needs an answer to steps.air-gap.sign-off.administrator');
  });
});
