#!/usr/bin/env node
// Entry point of the `neam-ca` command. The code base is TypeScript run through tsx's loader,
// so there is no build step between a checkout and a working CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../core/cli/entry.ts');
process.exitCode = await main(process.argv.slice(2));
