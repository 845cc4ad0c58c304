/**
 * @module demo/processes
 * The demo's child processes: the online CA server, the agent, the workloads' TLS server and
 * client, and the independent verifiers (OpenSSL, GnuTLS, tar, sha256sum). Every child is started
 * in its own process group (so a TLS server and anything it spawns can be stopped together), its
 * output is appended to a log file and kept (bounded) in memory, and it is registered until it has
 * exited. {@link ProcessSupervisor.stopAll} stops every group still running (SIGTERM, then SIGKILL
 * after a grace period); {@link ProcessSupervisor.killAllSync} is the last resort from a process
 * `exit` handler.
 *
 * Must never: leave a process it started running after the demo ends (success, failure or
 * interruption), pass a secret on a command line, or run a command through a shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, writeSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { CoreError } from '../errors.ts';

/** How a child ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started child process. */
export interface ManagedProcess {
  /** Short name for messages (`online CA`, `agent`, `orders TLS server`). */
  readonly name: string;
  readonly pid: number;
  /** Log file receiving stdout and stderr. */
  readonly logPath: string | undefined;
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /** Exit status once exited. */
  readonly status: ExitStatus | undefined;
  /** Everything it printed so far (stdout and stderr interleaved; at most the last 1 MiB). */
  output(): string;
}

/** Result of a short-lived command. */
export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const MAX_KEPT = 1024 * 1024;

/** Where a missing tool comes from (Debian package), for the error message. */
const PACKAGES: Record<string, string> = { openssl: 'openssl', certtool: 'gnutls-bin', curl: 'curl', tar: 'tar', sha256sum: 'coreutils' };

function toolMissing(cmd: string, cause: unknown): CoreError {
  return new CoreError('ERR_DEMO_TOOL_MISSING', `the demo needs '${cmd}' on PATH; install the Debian package '${PACKAGES[cmd] ?? cmd}' (bin/setup installs it) and run the demo again`, { cause, details: { tool: cmd } });
}

/** The stock tools the demo runs. */
export const DEMO_TOOLS = ['openssl', 'certtool', 'curl', 'tar', 'sha256sum'] as const;

/**
 * Checks that every tool is an executable on PATH, before anything is done.
 * @throws {CoreError} ERR_DEMO_TOOL_MISSING naming the first missing tool and its package
 */
export function requireTools(tools: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const dirs = (env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const t of tools) {
    const found = dirs.some((d) => {
      try {
        accessSync(join(d, t), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) throw toolMissing(t, undefined);
  }
}

/** Starts, tracks and stops the demo's child processes. */
export class ProcessSupervisor {
  readonly #running = new Map<number, { p: ManagedProcess; child: ChildProcess }>();
  /** Every pid ever started (for the summary and tests). */
  readonly started: Array<{ name: string; pid: number }> = [];

  /** With `signal`: when it aborts, every running group gets SIGTERM at once (SIGKILL 5 s later). */
  constructor(signal?: AbortSignal) {
    signal?.addEventListener('abort', () => void this.stopAll(), { once: true });
  }

  /**
   * Starts a long-running child in its own process group; stdout and stderr go to `logPath` (when
   * given) and to the in-memory output.
   * @throws {CoreError} ERR_DEMO_TOOL_MISSING when the executable does not exist
   */
  async start(name: string, cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; logPath?: string } = {}): Promise<ManagedProcess> {
    const child = spawn(cmd, [...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e) => resolve(e));
    });
    if (spawned !== undefined || child.pid === undefined) throw toolMissing(cmd, spawned);
    const pid = child.pid;
    const fd = options.logPath === undefined ? undefined : openSync(options.logPath, 'a', 0o600);
    let kept = '';
    const onData = (d: Buffer): void => {
      if (fd !== undefined) writeSync(fd, d);
      kept += d.toString('utf8');
      if (kept.length > MAX_KEPT) kept = kept.slice(kept.length - MAX_KEPT);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let status: ExitStatus | undefined;
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('close', (code, signal) => {
        status = { code, signal };
        this.#running.delete(pid);
        if (fd !== undefined) closeSync(fd);
        resolve(status);
      });
    });
    const p: ManagedProcess = {
      name,
      pid,
      logPath: options.logPath,
      exited,
      get status() {
        return status;
      },
      output: () => kept,
    };
    this.#running.set(pid, { p, child });
    this.started.push({ name, pid });
    return p;
  }

  /**
   * Runs a short-lived command to completion (also in its own process group, so an interruption
   * stops it). Never throws for a non-zero exit; the caller judges the result.
   * @throws {CoreError} ERR_DEMO_TOOL_MISSING; ERR_DEMO_PROCESS_FAILED when it outlives `timeoutMs`
   */
  async run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeoutMs?: number } = {}): Promise<ToolResult> {
    const child = spawn(cmd, [...args], { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e) => resolve(e));
    });
    if (spawned !== undefined || child.pid === undefined) throw toolMissing(cmd, spawned);
    const pid = child.pid;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
    const p: ManagedProcess = { name: cmd, pid, logPath: undefined, exited: Promise.resolve({ code: null, signal: null }), status: undefined, output: () => '' };
    this.#running.set(pid, { p, child });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(pid, 'SIGKILL');
    }, options.timeoutMs ?? 60_000);
    const status = await new Promise<ExitStatus>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    clearTimeout(timer);
    this.#running.delete(pid);
    if (timedOut) throw new CoreError('ERR_DEMO_PROCESS_FAILED', `'${cmd} ${args.join(' ')}' did not finish within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s and was stopped`);
    return { ...status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  /** The children still running. */
  running(): ManagedProcess[] {
    return [...this.#running.values()].map((r) => r.p);
  }

  /** Stops one child's process group: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(p: ManagedProcess, graceMs = 5000): Promise<ExitStatus> {
    if (p.status !== undefined) return p.status;
    signalGroup(p.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(p.pid, 'SIGKILL'), graceMs);
    const s = await p.exited;
    clearTimeout(timer);
    // Anything the child left in its group (it should have none) goes too.
    signalGroup(p.pid, 'SIGKILL');
    return s;
  }

  /** Stops every child still running (in reverse start order). */
  async stopAll(graceMs = 5000): Promise<void> {
    const list = this.running().reverse();
    await Promise.all(list.map((p) => this.stop(p, graceMs)));
  }

  /** SIGKILL to every process group still registered; for a process `exit` handler (synchronous). */
  killAllSync(): void {
    for (const pid of this.#running.keys()) signalGroup(pid, 'SIGKILL');
  }
}

/** Sends `signal` to the process group led by `pid` (ignores a group that is already gone). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has exited already.
  }
}

/**
 * Waits until `p`'s output matches `pattern`, it exits, `timeoutMs` passes, or `signal` aborts.
 * @throws {CoreError} ERR_DEMO_PROCESS_FAILED naming the process, its log and the last lines it
 *   printed; ERR_DEMO_INTERRUPTED when aborted
 */
export async function waitForOutput(p: ManagedProcess, pattern: RegExp, timeoutMs: number, signal?: AbortSignal): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(p.output());
    if (m !== null) return m;
    if (signal?.aborted === true) throw interrupted();
    if (p.status !== undefined) throw processFailed(p, `exited (${p.status.signal ?? `code ${String(p.status.code)}`}) before it was ready`);
    if (Date.now() > deadline) throw processFailed(p, `was not ready within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(50);
  }
}

/**
 * Polls `check` until it returns a value (not undefined), failing when a watched process exits,
 * the time runs out, or `signal` aborts.
 * @throws {CoreError} ERR_DEMO_CHECK_FAILED (timeout, with `what`), ERR_DEMO_PROCESS_FAILED,
 *   ERR_DEMO_INTERRUPTED
 */
export async function pollUntil<T>(what: string, check: () => T | undefined, options: { timeoutMs: number; signal?: AbortSignal; watch?: ManagedProcess[]; intervalMs?: number }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (options.signal?.aborted === true) throw interrupted();
    for (const p of options.watch ?? []) if (p.status !== undefined) throw processFailed(p, `exited (${p.status.signal ?? `code ${String(p.status.code)}`}) while the demo waited for ${what}`);
    if (Date.now() > deadline) throw new CoreError('ERR_DEMO_CHECK_FAILED', `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Like {@link pollUntil}, but resolves undefined when the time runs out (for things worth showing
 * that the demo does not depend on).
 * @throws {CoreError} ERR_DEMO_PROCESS_FAILED, ERR_DEMO_INTERRUPTED
 */
export async function pollFor<T>(what: string, check: () => T | undefined, options: { timeoutMs: number; signal?: AbortSignal; watch?: ManagedProcess[]; intervalMs?: number }): Promise<T | undefined> {
  try {
    return await pollUntil(what, check, options);
  } catch (e) {
    if (e instanceof CoreError && e.code === 'ERR_DEMO_CHECK_FAILED') return undefined;
    throw e;
  }
}

/** The last `n` non-empty lines of a text (for error messages). */
export function lastLines(text: string, n = 8): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .map((l) => `    ${l.length > 400 ? `${l.slice(0, 400)}…` : l}`)
    .join('\n');
}

function processFailed(p: ManagedProcess, what: string): CoreError {
  const tail = lastLines(p.output());
  return new CoreError('ERR_DEMO_PROCESS_FAILED', `${p.name} (pid ${p.pid}) ${what}${p.logPath === undefined ? '' : `; its log is ${p.logPath}`}${tail === '' ? '' : `. Last lines:\n${tail}`}`, { details: { process: p.name, pid: p.pid } });
}

/** The error for a run stopped by SIGINT/SIGTERM. */
export function interrupted(): CoreError {
  return new CoreError('ERR_DEMO_INTERRUPTED', 'the demo was interrupted (SIGINT/SIGTERM)');
}

/** Throws {@link interrupted} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw interrupted();
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
