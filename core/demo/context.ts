/**
 * @module demo/context
 * What every stage of the demo is given: the output layout, the process supervisor, the abort
 * signal, the run's secrets and randomness, the clock, where the repository's scripts and samples
 * are, and a way to report detail lines and append to a stage log.
 *
 * Must never: hold anything but references; stages own their I/O.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

import type { DemoLayout } from './layout.ts';
import type { ProcessSupervisor } from './processes.ts';
import type { DemoSecrets, RandomBytes } from './secrets.ts';

/** The trust domain of the demo (intermediate.yaml's review step constrains intermediates to it). */
export const TRUST_DOMAIN = 'example.org';

/** Shared by every stage. */
export interface DemoContext {
  layout: DemoLayout;
  /** Repository root: ceremony-scripts/, samples/, bin/neam-ca.mjs. */
  repo: string;
  procs: ProcessSupervisor;
  signal: AbortSignal;
  secrets: DemoSecrets;
  random: RandomBytes;
  now(): Date;
  /** A detail line shown under the stage's progress line (facts worth reading: fingerprints, serials, paths). */
  detail(line: string): void;
  /** `node` and the CLI entry, for child processes. */
  cli: { node: string; bin: string };
  /** The version string recorded by ceremonies. */
  software: string;
}

/** Appends one line to a log file under `logs/` (created 0600 on first use). */
export function appendLog(ctx: Pick<DemoContext, 'layout'>, file: string, line: string): void {
  appendFileSync(join(ctx.layout.logs, file), `${line}\n`, { mode: 0o600 });
}

/** The argv for running the `neam-ca` CLI as a child process. */
export function cliArgs(ctx: Pick<DemoContext, 'cli'>, args: readonly string[]): { cmd: string; args: string[] } {
  return { cmd: ctx.cli.node, args: [ctx.cli.bin, ...args] };
}
