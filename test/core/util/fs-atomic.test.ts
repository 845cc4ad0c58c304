import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { writeFileAtomic, writeFileExclusive } from '../../../core/util/fs-atomic.ts';
import { canonicalJson } from '../../../core/util/canonical-json.ts';
import { tempDir } from '../../helpers/softhsm.ts';

describe('fs-atomic', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('writeFileExclusive refuses an existing file and a planted symlink, keeping their content', () => {
    const d = dir();
    const p = join(d, 'out.pem');
    writeFileExclusive(p, 'first', 0o600);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    try {
      writeFileExclusive(p, 'second');
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_ALREADY_EXISTS')).toBe(true);
    }
    expect(readFileSync(p, 'utf8')).toBe('first');
    const target = join(d, 'target');
    writeFileSync(target, 'victim');
    symlinkSync(target, join(d, 'link'));
    expect(() => writeFileExclusive(join(d, 'link'), 'x')).toThrow();
    expect(readFileSync(target, 'utf8')).toBe('victim');
  });

  it('writeFileAtomic replaces content and leaves no temp files', () => {
    const d = dir();
    const p = join(d, 'svid.pem');
    writeFileAtomic(p, 'old');
    writeFileAtomic(p, 'new', 0o600);
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['svid.pem']);
  });

  it('canonicalJson follows RFC 8785 key order and number form', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 1e21, 0.5], c: 'é' })).toBe('{"a":[true,null,1e+21,0.5],"b":1,"c":"é"}');
  });
});
