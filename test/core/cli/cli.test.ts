import { spawnSync } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('neam-ca CLI', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('--help lists the commands and exits 0; no arguments exits 2', () => {
    const help = cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('hsm keys');
    expect(cli([]).code).toBe(2);
  });

  it('every command has --help', () => {
    for (const c of ['demo', 'hsm list', 'hsm keys', 'hsm init-token', 'hsm keygen', 'version']) {
      const r = cli([...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: neam-ca ${c}`);
    }
  });

  it('an unknown command or option is a usage error (exit 2) with a code', () => {
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[ERR_USAGE]');
    expect(cli(['hsm', 'list', '--bogus']).code).toBe(2);
    const j = cli(['hsm', 'keys', '--bogus', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: { code: 'ERR_USAGE' } });
  });

  it('init-token, keygen and keys work on SoftHSM and show the protection attributes', () => {
    const home = dir();
    const pins = join(home, 'pins');
    const init = cli(['hsm', 'init-token', '--home', home, '--label', 'cli-token', '--generate-pins', pins, '--json']);
    expect(init.code, init.stderr).toBe(0);
    const pinFile = join(pins, 'cli-token.pin');
    const gen = cli(['hsm', 'keygen', '--home', home, '--token', 'cli-token', '--label', 'root', '--type', 'ec-p384', '--pin-file', pinFile]);
    expect(gen.code, gen.stderr).toBe(0);
    const keys = cli(['hsm', 'keys', '--home', home, '--token', 'cli-token', '--pin-file', pinFile]);
    expect(keys.code, keys.stderr).toBe(0);
    expect(keys.stdout).toMatch(/root\s+private\s+EC P-384\s+\S+\s+yes\s+yes\s+no\s+yes\s+yes\s+sign$/mu);
    const json = JSON.parse(cli(['hsm', 'keys', '--home', home, '--token', 'cli-token', '--pin-file', pinFile, '--json']).stdout) as { value: { keys: Array<{ class: string; protection?: Record<string, boolean> }> } };
    expect(json.value.keys.find((k) => k.class === 'private')?.protection).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, local: true });
    const list = cli(['hsm', 'list', '--home', home]);
    expect(list.stdout).toContain('cli-token');
    // Duplicate label: exit 1 with the code.
    const dup = cli(['hsm', 'keygen', '--home', home, '--token', 'cli-token', '--label', 'root', '--type', 'rsa-2048', '--pin-file', pinFile]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('[ERR_HSM_OBJECT_EXISTS]');
  });

  it('refuses a PIN file readable by others, and a wrong PIN never reaches the output', () => {
    const home = dir();
    const pins = join(home, 'pins');
    expect(cli(['hsm', 'init-token', '--home', home, '--label', 't', '--generate-pins', pins]).code).toBe(0);
    const loose = join(home, 'loose.pin');
    writeFileSync(loose, 'whatever-pin');
    chmodSync(loose, 0o644);
    const r = cli(['hsm', 'keys', '--home', home, '--token', 't', '--pin-file', loose]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_SECRET_INVALID]');
    expect(r.stderr).toContain('chmod 600');
    const wrong = join(home, 'wrong.pin');
    writeFileSync(wrong, 'definitely-wrong-pin-99', { mode: 0o600 });
    const w = cli(['hsm', 'keys', '--home', home, '--token', 't', '--pin-file', wrong, '--log-level', 'debug']);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('[ERR_HSM_PIN_INCORRECT]');
    expect(w.stdout + w.stderr).not.toContain('definitely-wrong-pin-99');
  });

  it('a missing module is reported with ERR_HSM_MODULE_NOT_FOUND and exit 1', () => {
    const r = cli(['hsm', 'list', '--module', '/nope/lib.so']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_HSM_MODULE_NOT_FOUND]');
  });
});
