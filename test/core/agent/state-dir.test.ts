import { chmodSync, mkdirSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { checkKeyFile, ensureStateDir } from '../../../core/agent/state-dir.ts';
import { isCoreError } from '../../../core/errors.ts';
import { tempDir } from '../../helpers/softhsm.ts';

function code(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (isCoreError(e)) return e.code;
    throw e;
  }
  return 'none';
}

describe('agent state directory', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const root = (): string => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('creates a missing directory with mode 0700 and accepts it afterwards', () => {
    const d = join(root(), 'state');
    ensureStateDir(d);
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(code(() => ensureStateDir(d))).toBe('none');
  });

  it('refuses a group/world-accessible directory, a symlink and a file, saying how to fix it', () => {
    const r = root();
    const open = join(r, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    expect(code(() => ensureStateDir(open))).toBe('ERR_AGENT_STATE_PERMISSIONS');
    try {
      ensureStateDir(open);
    } catch (e) {
      expect((e as Error).message).toContain(`chmod 700 ${open}`);
    }
    symlinkSync(open, join(r, 'link'));
    expect(code(() => ensureStateDir(join(r, 'link')))).toBe('ERR_AGENT_STATE_INVALID');
    writeFileSync(join(r, 'file'), 'x');
    expect(code(() => ensureStateDir(join(r, 'file')))).toBe('ERR_AGENT_STATE_INVALID');
  });

  it('refuses a key file readable by others', () => {
    const r = root();
    const k = join(r, 'node.key');
    writeFileSync(k, 'k', { mode: 0o644 });
    expect(code(() => checkKeyFile(k))).toBe('ERR_AGENT_STATE_PERMISSIONS');
    chmodSync(k, 0o600);
    expect(code(() => checkKeyFile(k))).toBe('none');
  });
});
