/**
 * @module electron/electron-binary
 * Finds the Electron executable the way the `electron` npm package does (`path.txt` plus `dist/`,
 * or `ELECTRON_OVERRIDE_DIST_PATH`) without importing it (its index throws when the binary is
 * missing), and says what to do when it is missing. Used by `npm run app` and the `_electron` test.
 *
 * Must never: download anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Where the executable is, or why it is not there. */
export type ElectronBinary = { found: true; path: string } | { found: false; reason: string };

/** Looks for the Electron executable. */
export function findElectronBinary(env: Readonly<Record<string, string | undefined>> = process.env): ElectronBinary {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { found: false, reason: 'the electron npm package is not installed (run npm ci)' };
  }
  const pathTxt = join(pkgDir, 'path.txt');
  const exe = existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : process.platform === 'win32' ? 'electron.exe' : 'electron';
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  const full = override !== undefined && override !== '' ? join(override, exe) : join(pkgDir, 'dist', exe);
  if (existsSync(full)) return { found: true, path: full };
  return {
    found: false,
    reason:
      override !== undefined && override !== ''
        ? `ELECTRON_OVERRIDE_DIST_PATH is set but ${full} does not exist`
        : `${join(pkgDir, 'dist')} is missing: the npm install skipped Electron's binary download (bin/setup does that when GitHub is unreachable)`,
  };
}

/** What to tell a person whose machine has no Electron binary. */
export function electronMissingHelp(reason: string): string {
  return [
    'The Electron binary is not installed, so the desktop app cannot start.',
    `  Why: ${reason}.`,
    '  To get it, on a machine that can reach GitHub (or with ELECTRON_MIRROR set to a reachable mirror):',
    '      node node_modules/electron/install.js',
    '  or unpack an Electron release matching node_modules/electron/package.json and set',
    '      ELECTRON_OVERRIDE_DIST_PATH=/path/to/that/folder',
    '  Meanwhile the same UI, with the same operations, runs in Chromium through the loopback host:',
    '      npm run app:browser',
  ].join('\n');
}
