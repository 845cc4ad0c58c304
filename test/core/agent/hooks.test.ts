import { describe, expect, it } from 'vitest';

import { runHook } from '../../../core/agent/hooks.ts';
import { isCoreError } from '../../../core/errors.ts';

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isCoreError(e)) return { code: e.code, message: e.message, details: e.details as Record<string, unknown> };
    throw e;
  }
  throw new Error('expected failure');
}

describe('post-rotation hooks', () => {
  it('runs without a shell and passes only the given environment', async () => {
    const r = await runHook({ command: ['sh', '-c', 'test "$SVID_DIR" = /x && test -z "$HOME_SECRET"'], timeoutSeconds: 5 }, { SVID_DIR: '/x' });
    expect(r.exitCode).toBe(0);
    const f = await failure(runHook({ command: ['echo hello; true'], timeoutSeconds: 5 }, {}));
    expect(f.code).toBe('ERR_AGENT_HOOK_FAILED');
    expect(f.message).toContain('could not be started');
  });

  it('reports a non-zero exit with the stderr tail', async () => {
    const f = await failure(runHook({ command: ['sh', '-c', 'echo reload failed >&2; exit 3'], timeoutSeconds: 5 }, {}));
    expect(f.code).toBe('ERR_AGENT_HOOK_FAILED');
    expect(f.details?.['exitCode']).toBe(3);
    expect(String(f.details?.['stderrTail'])).toContain('reload failed');
  });

  it('stops a hook that outlives its timeout', async () => {
    const started = Date.now();
    const f = await failure(runHook({ command: ['sleep', '30'], timeoutSeconds: 0.3 }, {}));
    expect(f.code).toBe('ERR_AGENT_HOOK_FAILED');
    expect(f.details?.['timedOut']).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
