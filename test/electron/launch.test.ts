/**
 * `npm run app` where the Electron binary is missing says so, how to get it, offers the browser
 * mode, and exits non-zero; the binary lookup follows the electron package's own rules.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findElectronBinary } from '../../electron/electron-binary.ts';
import { tempDir } from '../helpers/softhsm.ts';

describe('npm run app', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('neam-launch-');
  });
  afterAll(() => tmp.cleanup());

  it('without the Electron binary: explains, offers the browser mode, exits 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../electron/launch.ts', import.meta.url))], {
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: tmp.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('The Electron binary is not installed, so the desktop app cannot start.');
    expect(r.stderr).toContain(`ELECTRON_OVERRIDE_DIST_PATH is set but ${join(tmp.dir, 'electron')} does not exist`);
    expect(r.stderr).toContain('node node_modules/electron/install.js');
    expect(r.stderr).toContain('npm run app:browser');
  });

  it('finds the binary where ELECTRON_OVERRIDE_DIST_PATH points', () => {
    const exe = join(tmp.dir, 'electron');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    expect(findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: tmp.dir })).toEqual({ found: true, path: exe });
  });
});
