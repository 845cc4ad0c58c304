/**
 * @module ceremony/lock
 * One runner per ceremony folder: a lock file created with exclusive create, holding the pid and
 * the process start time. A lock left by a process that no longer exists (a crash, SIGKILL) is
 * stale and is taken over; a live holder is refused.
 *
 * Must never: take over a lock whose process is still running.
 */
import { readFileSync, unlinkSync } from 'node:fs';

import { CoreError, isCoreError } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';

/** A held lock. */
export interface CeremonyLock {
  /** Whether a stale lock of a dead process was taken over (and whose). */
  readonly tookOver: { pid: number; since: string } | undefined;
  release(): void;
}

/** Linux process start time (clock ticks since boot), to tell a reused pid from the holder. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the parenthesised command name (which may contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
  const now = startTime(pid);
  return start === undefined || now === undefined || now === start;
}

/**
 * Acquires the lock at `path`.
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID (another runner holds it), ERR_IO
 */
export function acquireLock(path: string, now: Date): CeremonyLock {
  const mine = JSON.stringify({ pid: process.pid, start: startTime(process.pid) ?? null, since: now.toISOString() });
  let tookOver: CeremonyLock['tookOver'];
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileExclusive(path, mine, 0o600);
      let released = false;
      return {
        tookOver,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if (!isCoreError(e, 'ERR_ALREADY_EXISTS')) throw e;
      let holder: { pid?: unknown; start?: unknown; since?: unknown } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        holder = {};
      }
      const pid = typeof holder.pid === 'number' ? holder.pid : undefined;
      if (pid !== undefined && alive(pid, typeof holder.start === 'string' ? holder.start : undefined)) {
        throw new CoreError('ERR_CEREMONY_STATE_INVALID', `another neam-ca process (pid ${pid}, since ${String(holder.since)}) is running this ceremony; only one runner may work on it at a time`, { details: { pid } });
      }
      tookOver = { pid: pid ?? -1, since: typeof holder.since === 'string' ? holder.since : 'unknown' };
      unlinkSync(path);
    }
  }
  throw new CoreError('ERR_CEREMONY_STATE_INVALID', `could not take the ceremony lock ${path}`);
}
