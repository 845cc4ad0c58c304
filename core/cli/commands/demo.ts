/**
 * @module cli/commands/demo
 * `neam-ca demo [--out DIR]` (`npm run demo`): the README's main job, the whole system end to end on
 * the embedded default (SoftHSM + SQLite). This file only parses the options and prints; the
 * stages live in core/demo.
 *
 * Must never: print a secret (the demo's rehearsal secrets stay in DIR/DEMO-ONLY-secrets).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

import { renderDemoSummary, runDemo, type DemoReport } from '../../demo/index.ts';
import { isCoreError } from '../../errors.ts';
import type { Command } from '../command.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function version(): string {
  const pkg = JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { version: string };
  return `neam-ca ${pkg.version} (demo)`;
}

const demo: Command = {
  path: ['demo'],
  summary: 'run the end-to-end demo on SoftHSM and SQLite into a new folder',
  usage: '[--out DIR]',
  description:
    'Rehearses the root key ceremony (3-of-5 custodians), initialises the online CA, signs its staggered intermediates in an intermediate ceremony (signed transfer bundles both ways), serves SVIDs on loopback to an agent, proves mutual TLS between two workloads with OpenSSL and curl (and that a revoked SVID is refused), generates and replays Istio manifests from a sample mesh, and verifies every transcript, bundle and chain with stock tools. Everything lands in DIR (default ./demo-out), which must not exist or be empty; docs/demo.md describes the layout. Ctrl-C stops it and every process it started.',
  options: { out: { type: 'string', valueName: 'DIR', description: 'output folder (default ./demo-out); must not exist or be empty' } },
  async run(ctx) {
    const outArg = ctx.values['out'];
    const out = resolve(ctx.cwd, typeof outArg === 'string' ? outArg : 'demo-out');
    let report: DemoReport;
    try {
      report = await runDemo({
        out,
        repo: REPO,
        signal: ctx.signal,
        progress: (line) => ctx.out.status(line),
        cli: { node: process.execPath, bin: resolve(REPO, 'bin/neam-ca.mjs') },
        software: version(),
      });
    } catch (e) {
      if (isCoreError(e, 'ERR_DEMO_INTERRUPTED')) {
        ctx.out.status(`Interrupted: every process the demo started was stopped. The partial output is in ${out}; remove it before running the demo again.`);
        return 130;
      }
      if (!isCoreError(e, 'ERR_DEMO_OUTPUT_EXISTS')) ctx.out.status(`The demo failed; the output so far is in ${out} (logs in ${resolve(out, 'logs')}, report in ${resolve(out, 'summary.json')}).`);
      throw e;
    }
    ctx.out.result(report, () => renderDemoSummary(report));
    return 0;
  },
};

/** `neam-ca demo`. */
export const DEMO_COMMANDS: Command[] = [demo];
