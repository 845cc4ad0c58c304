/**
 * @module cli/main
 * The `neam-ca` command runner: finds the command from the leading words, parses its options
 * strictly, prints help, runs it, and maps failures to messages and exit codes
 * (0 ok, 1 operation failed, 2 usage). With `--json`, results and errors are JSON on stdout.
 *
 * Must never: print a stack trace or an unvetted library message for an expected failure.
 */
import 'reflect-metadata';

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { CoreError, serializeError } from '../errors.ts';
import { createLogger, jsonLineSink, textSink, type LogLevel } from '../log/logger.ts';
import { redactText } from '../log/redact.ts';
import type { Command, CommandContext, OptionSpec, Output, Prompter } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { terminalPrompter } from './prompt.ts';

/** Exit codes of `neam-ca`. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** Options every command accepts. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
  home: { type: 'string', valueName: 'DIR', description: 'state directory (default $NEAM_CA_HOME or ~/.local/state/neam-ca)' },
  'log-level': { type: 'string', valueName: 'LEVEL', description: 'diagnostic log level on stderr: debug|info|warn|error (default warn)' },
};

/** Process I/O for {@link runCli} (injectable for tests). */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  prompter?: Prompter;
  signal?: AbortSignal;
}

function findCommand(words: string[], commands: readonly Command[]): { command?: Command; rest: string[]; prefix: string[] } {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w) && (best === undefined || c.path.length > best.path.length)) best = c;
  }
  if (best !== undefined) return { command: best, rest: words.slice(best.path.length), prefix: [...best.path] };
  // Longest prefix that is a group of commands, for group help.
  const prefix: string[] = [];
  for (const w of words) {
    if (w.startsWith('-')) break;
    const next = [...prefix, w];
    if (commands.some((c) => next.every((x, i) => c.path[i] === x))) prefix.push(w);
    else break;
  }
  return { rest: words.slice(prefix.length), prefix };
}

function optionHelp(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short === undefined ? '    ' : `-${o.short}, `}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}${o.multiple === true ? ' (repeatable)' : ''}`;
    return `  ${flag.padEnd(34)} ${o.description}`;
  });
}

/** Help text of one command. */
export function commandHelp(c: Command): string {
  const lines = [`Usage: neam-ca ${c.path.join(' ')}${c.usage === undefined ? '' : ` ${c.usage}`}`, '', c.summary];
  if (c.description !== undefined) lines.push('', c.description);
  if (c.options !== undefined && Object.keys(c.options).length > 0) lines.push('', 'Options:', ...optionHelp(c.options));
  lines.push('', 'Global options:', ...optionHelp(GLOBAL_OPTIONS), '', 'Exit codes: 0 success, 1 operation failed, 2 usage error.');
  return lines.join('\n');
}

/** Help text listing the commands under `prefix` (all commands when empty). */
export function groupHelp(prefix: string[], commands: readonly Command[]): string {
  const under = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...under.map((c) => c.path.join(' ').length)) + 2;
  return [
    `Usage: neam-ca ${prefix.length === 0 ? '<command>' : `${prefix.join(' ')} <command>`} [options]`,
    '',
    prefix.length === 0 ? 'NEAM CA: key ceremonies, signed transfer bundles and a SPIFFE workload CA.' : `The '${prefix.join(' ')}' commands.`,
    '',
    'Commands:',
    ...under.map((c) => `  ${c.path.join(' ').padEnd(width)} ${c.summary}`),
    '',
    `Run 'neam-ca <command> --help' for a command's options. Global options: ${Object.keys(GLOBAL_OPTIONS)
      .map((o) => `--${o}`)
      .join(', ')}.`,
    'Exit codes: 0 success, 1 operation failed, 2 usage error.',
  ].join('\n');
}

function defaultHome(env: NodeJS.ProcessEnv, cwd: string): string {
  const fromEnv = env['NEAM_CA_HOME'];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(cwd, fromEnv);
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'neam-ca');
}

/**
 * Runs `neam-ca` with `argv` (without node and script). Returns the exit code.
 */
export async function runCli(argv: string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const wantsJson = argv.includes('--json');
  const writeErr = (e: unknown): void => {
    const s = serializeError(e);
    if (wantsJson) io.stdout.write(`${JSON.stringify({ ok: false, error: s })}\n`);
    else io.stderr.write(`neam-ca: error [${s.code}]: ${redactText(s.message)}\n`);
  };
  const { command, rest, prefix } = findCommand(argv, commands);
  if (command === undefined) {
    const asked = rest.find((w) => !w.startsWith('-'));
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || (asked === undefined && prefix.length > 0)) {
      io.stdout.write(`${groupHelp(prefix, commands)}\n`);
      return argv.length === 0 ? EXIT.USAGE : EXIT.OK;
    }
    if (argv[0] === 'help') {
      const sub = findCommand(argv.slice(1), commands);
      io.stdout.write(`${sub.command === undefined ? groupHelp(sub.prefix, commands) : commandHelp(sub.command)}\n`);
      return EXIT.OK;
    }
    writeErr(new CoreError('ERR_USAGE', `unknown command '${[...prefix, asked ?? ''].join(' ').trim()}'. Run 'neam-ca --help' for the list`));
    return EXIT.USAGE;
  }
  const options = { ...GLOBAL_OPTIONS, ...(command.options ?? {}) };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple === undefined ? {} : { multiple: o.multiple }), ...(o.default === undefined ? {} : { default: o.default }) }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    writeErr(new CoreError('ERR_USAGE', `${e instanceof Error ? e.message.replace(/\. To specify.*$/su, '') : 'invalid arguments'}. Run 'neam-ca ${command.path.join(' ')} --help'`));
    return EXIT.USAGE;
  }
  if (parsed.values['help'] === true) {
    io.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.OK;
  }
  const pos = command.positionals ?? { names: [], min: 0, max: 0 };
  if (parsed.positionals.length < pos.min || parsed.positionals.length > pos.max) {
    writeErr(
      new CoreError(
        'ERR_USAGE',
        `'neam-ca ${command.path.join(' ')}' takes ${pos.min === pos.max ? pos.min : `${pos.min} to ${pos.max}`} argument(s) (${pos.names.join(' ') || 'none'}), got ${parsed.positionals.length}. Run with --help`,
      ),
    );
    return EXIT.USAGE;
  }
  const json = parsed.values['json'] === true;
  const levelArg = parsed.values['log-level'];
  const level: LogLevel = levelArg === 'debug' || levelArg === 'info' || levelArg === 'warn' || levelArg === 'error' ? levelArg : 'warn';
  const log = createLogger({ level, sinks: [json ? jsonLineSink(io.stderr) : textSink(io.stderr)], scope: command.path.join(' ') });
  const out: Output = {
    text(line) {
      if (!json) io.stdout.write(`${line}\n`);
    },
    result(value, render) {
      if (json) io.stdout.write(`${JSON.stringify({ ok: true, value }, null, 2)}\n`);
      else if (render !== undefined) io.stdout.write(`${render(value)}\n`);
    },
    status(line) {
      io.stderr.write(`${line}\n`);
    },
  };
  const homeArg = parsed.values['home'];
  const ctx: CommandContext = {
    values: parsed.values as CommandContext['values'],
    positionals: parsed.positionals,
    json,
    home: typeof homeArg === 'string' ? resolve(io.cwd, homeArg) : defaultHome(io.env, io.cwd),
    cwd: io.cwd,
    env: io.env,
    out,
    log,
    prompt: io.prompter ?? terminalPrompter(io.stdin, io.stderr),
    signal: io.signal ?? new AbortController().signal,
  };
  try {
    const code = await command.run(ctx);
    return code ?? EXIT.OK;
  } catch (e) {
    writeErr(e);
    if (!(e instanceof CoreError) || e.code === 'ERR_INTERNAL') {
      log.error('unexpected failure', { error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) });
    }
    return e instanceof CoreError && e.code === 'ERR_USAGE' ? EXIT.USAGE : EXIT.FAILED;
  }
}
