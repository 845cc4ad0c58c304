/**
 * The demo's process supervisor with real processes: every child runs in its own process group,
 * and stopping it (at the end, on abort, or from an exit handler) takes what the child spawned
 * with it; a child that ignores SIGTERM is killed after the grace period; a child that exits
 * early is reported with its log; a command that outlives its timeout is stopped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { pollUntil, ProcessSupervisor, waitForOutput } from '../../../core/demo/processes.ts';
import { isCoreError } from '../../../core/errors.ts';
import { tempDir } from '../../helpers/softhsm.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A shell that starts a grandchild (printing its pid) and waits. */
const FAMILY = ['-c', 'sleep 300 & echo "grandchild $!"; wait'];

describe('demo process supervisor', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const grandchild = async (p: Parameters<typeof waitForOutput>[0]): Promise<number> => Number((await waitForOutput(p, /grandchild (\d+)/u, 10_000))[1]);

  it('stopAll stops each child and what it spawned (its process group)', async () => {
    const s = new ProcessSupervisor();
    const a = await s.start('a', 'sh', FAMILY);
    const b = await s.start('b', 'sh', FAMILY);
    const ga = await grandchild(a);
    const gb = await grandchild(b);
    expect([a.pid, b.pid, ga, gb].every(alive)).toBe(true);
    await s.stopAll(2000);
    await pollUntil('the grandchildren to go', () => ([ga, gb].some(alive) ? undefined : true), { timeoutMs: 5000 });
    expect([a.pid, b.pid, ga, gb].filter(alive)).toEqual([]);
    expect(s.running()).toEqual([]);
    expect(s.started.map((x) => x.name)).toEqual(['a', 'b']);
  });

  it('an abort of the signal stops every running group at once', async () => {
    const ac = new AbortController();
    const s = new ProcessSupervisor(ac.signal);
    const a = await s.start('a', 'sh', FAMILY);
    const g = await grandchild(a);
    ac.abort();
    await a.exited;
    await pollUntil('the grandchild to go', () => (alive(g) ? undefined : true), { timeoutMs: 5000 });
    expect(alive(a.pid)).toBe(false);
  });

  it('a child that ignores SIGTERM is killed after the grace period', async () => {
    const s = new ProcessSupervisor();
    const p = await s.start('stubborn', 'sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']);
    await waitForOutput(p, /ready/u, 5000);
    const t0 = Date.now();
    const st = await s.stop(p, 500);
    expect(st.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('killAllSync (the exit handler) SIGKILLs every group still registered', async () => {
    const s = new ProcessSupervisor();
    const a = await s.start('a', 'sh', FAMILY);
    const g = await grandchild(a);
    s.killAllSync();
    const st = await a.exited;
    expect(st.signal).toBe('SIGKILL');
    await pollUntil('the grandchild to go', () => (alive(g) ? undefined : true), { timeoutMs: 5000 });
  });

  it('a child that exits before it is ready is reported with its log and last lines', async () => {
    const t = tempDir('neam-demo-proc-');
    cleanups.push(t.cleanup);
    const s = new ProcessSupervisor();
    const log = join(t.dir, 'x.log');
    const p = await s.start('the failing server', 'sh', ['-c', 'echo "bind: address in use" >&2; exit 3'], { logPath: log });
    const e = await waitForOutput(p, /listening/u, 5000).catch((x: unknown) => x);
    expect(isCoreError(e, 'ERR_DEMO_PROCESS_FAILED'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/the failing server \(pid \d+\) exited \(code 3\) before it was ready; its log is .*x\.log\. Last lines:\n {4}bind: address in use/u);
    expect(readFileSync(log, 'utf8')).toContain('bind: address in use');
  });

  it('a missing executable is ERR_DEMO_TOOL_MISSING; a command that outlives its timeout is stopped', async () => {
    const s = new ProcessSupervisor();
    const missing = await s.start('x', 'neam-no-such-tool', []).catch((x: unknown) => x);
    expect(isCoreError(missing, 'ERR_DEMO_TOOL_MISSING'), String(missing)).toBe(true);
    const slow = await s.run('sleep', ['30'], { timeoutMs: 300 }).catch((x: unknown) => x);
    expect(isCoreError(slow, 'ERR_DEMO_PROCESS_FAILED'), String(slow)).toBe(true);
    expect(s.running()).toEqual([]);
    const ok = await s.run('sh', ['-c', 'cat; echo err >&2; exit 4'], { input: 'in' });
    expect(ok).toEqual({ code: 4, signal: null, stdout: 'in', stderr: 'err\n' });
  });
});
