/**
 * @module cli/command
 * The shape of a `neam-ca` command and the context it runs in. Commands are registered in
 * `commands/index.ts`; each domain contributes its own file. A command reads its options through
 * the context, writes results through `ctx.out` (text for people, `--json` for machines) and
 * throws {@link CoreError}s; the runner turns them into messages and exit codes.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
import type { ParseArgsConfig } from 'node:util';

import type { Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';

/** Option definitions (node:util parseArgs) with help text. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & {
  /** Help text. */
  description: string;
  /** Placeholder shown in help, e.g. `LABEL`. */
  valueName?: string;
};

/** Everything a command can touch. */
export interface CommandContext {
  /** Parsed option values. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** `--json` was given. */
  json: boolean;
  /** NEAM CA state home (`--home`, `NEAM_CA_HOME`, or ~/.local/state/neam-ca). */
  home: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: Output;
  log: Logger;
  prompt: Prompter;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop cleanly. */
  signal: AbortSignal;
}

/** Output channel of a command. */
export interface Output {
  /** Human text (suppressed with --json). */
  text(line: string): void;
  /** A machine result: printed as JSON with --json; otherwise `render` (if given) prints text. */
  result(value: unknown, render?: (value: unknown) => string): void;
  /** Progress/status lines for people on stderr (kept out of --json stdout). */
  status(line: string): void;
}

/** Interactive input. */
export interface Prompter {
  /** True when a person can answer (stdin is a TTY). */
  readonly interactive: boolean;
  /** Asks for a secret without echo. */
  secret(question: string): Promise<Secret>;
  /** Asks for a line of text. */
  line(question: string): Promise<string>;
}

/** A `neam-ca` command. */
export interface Command {
  /** Words after `neam-ca`, e.g. `['hsm', 'list']`. */
  path: readonly string[];
  summary: string;
  /** Usage line after the command path, e.g. `--token LABEL [--serial SERIAL]`. */
  usage?: string;
  /** Longer help (paragraphs). */
  description?: string;
  options?: Record<string, OptionSpec>;
  /** Positional argument names for help, and the accepted count. */
  positionals?: { names: string[]; min: number; max: number };
  run(ctx: CommandContext): Promise<number | void>;
}
