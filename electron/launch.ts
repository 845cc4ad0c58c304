/**
 * @module electron/launch
 * `npm run app`: builds the renderer, main process and preload, then starts Electron on them. When
 * the Electron binary is missing it says so, how to get it, and offers the browser mode (it asks
 * on a terminal; either way the command exits non-zero unless the browser mode ran).
 *
 * Must never: download anything, or start a host the person did not ask for.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';

import { electronMissingHelp, findElectronBinary } from './electron-binary.ts';

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolveRun(code ?? (signal === null ? 1 : 128)));
    child.on('error', () => resolveRun(1));
  });
}

async function main(argv: string[]): Promise<number> {
  const binary = findElectronBinary();
  if (!binary.found) {
    process.stderr.write(`${electronMissingHelp(binary.reason)}\n`);
    if (!process.stdin.isTTY || !process.stdout.isTTY) return 1;
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = (await rl.question('Start the browser mode now? [y/N] ')).trim().toLowerCase();
    rl.close();
    if (answer !== 'y' && answer !== 'yes') return 1;
    return run(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('loopback/cli.ts', import.meta.url)), ...argv]);
  }
  const { buildElectron, buildRenderer } = await import('../build/build-app.ts');
  process.stderr.write('building the renderer, main process and preload with Vite…\n');
  await buildRenderer();
  const out = await buildElectron();
  return run(binary.path, [`${out}/main.mjs`, ...argv]);
}

process.exitCode = await main(process.argv.slice(2));
