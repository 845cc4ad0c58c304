/**
 * @module cli/commands/version
 * `neam-ca version`.
 */
import { readFileSync } from 'node:fs';

import type { Command } from '../command.ts';

const version: Command = {
  path: ['version'],
  summary: 'print the NEAM CA version',
  run(ctx) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    ctx.out.result({ version: pkg.version, node: process.version }, () => `neam-ca ${pkg.version} (Node ${process.version})`);
    return Promise.resolve();
  },
};

/** `neam-ca version`. */
export const VERSION_COMMANDS: Command[] = [version];
