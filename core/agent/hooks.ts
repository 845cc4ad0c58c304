/**
 * @module agent/hooks
 * Runs a workload's post-rotation hook (e.g. `nginx -s reload`) with a timeout. The command is an
 * argv array run without a shell; its environment is minimal and names the delivered files. A hook
 * that fails or times out is reported (ERR_AGENT_HOOK_FAILED) but never undoes a delivery: the new
 * files are valid, and the hook runs again after the next rotation.
 *
 * Must never: pass secrets to the hook or run it through a shell.
 */
import { spawn } from 'node:child_process';

import { CoreError } from '../errors.ts';

/** A hook definition. */
export interface HookSpec {
  /** argv: program then arguments. */
  command: string[];
  /** Seconds before the hook is terminated (SIGTERM, then SIGKILL 2 s later). */
  timeoutSeconds: number;
}

/** What a hook run did. */
export interface HookResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
  /** Last 2 KiB of the hook's stderr, for the log. */
  stderrTail: string;
}

/**
 * Runs the hook; resolves with its result, rejects with ERR_AGENT_HOOK_FAILED when it cannot be
 * started, exits non-zero or times out (the result is in `details`).
 */
export function runHook(hook: HookSpec, env: Record<string, string>): Promise<HookResult> {
  const [program, ...args] = hook.command;
  if (program === undefined) return Promise.reject(new CoreError('ERR_AGENT_CONFIG_INVALID', 'a hook needs a command (argv array with at least the program)'));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let stderr = '';
    let timedOut = false;
    const child = spawn(program, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-2048);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    }, hook.timeoutSeconds * 1000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CoreError('ERR_AGENT_HOOK_FAILED', `the hook '${hook.command.join(' ')}' could not be started (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e }));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      const result: HookResult = { exitCode, signal, timedOut, durationMs: Date.now() - started, stderrTail: stderr };
      if (timedOut) reject(new CoreError('ERR_AGENT_HOOK_FAILED', `the hook '${hook.command.join(' ')}' did not finish within ${hook.timeoutSeconds} s and was stopped`, { details: { ...result } }));
      else if (exitCode !== 0) reject(new CoreError('ERR_AGENT_HOOK_FAILED', `the hook '${hook.command.join(' ')}' exited with ${exitCode ?? signal}`, { details: { ...result } }));
      else resolve(result);
    });
  });
}
