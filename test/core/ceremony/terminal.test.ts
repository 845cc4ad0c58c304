/**
 * `neam-ca ceremony run` at a real terminal (a pseudo-terminal from util-linux `script`): the
 * questions the answers file leaves open are asked there, and a secret typed there is never echoed,
 * printed, recorded or stored. The answers file here gives everything except the token's PINs, so
 * the security officer and the user type theirs, each twice.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyStatus } from '../../../core/ceremony/index.ts';
import { requireTool } from '../../helpers/tools.ts';
import { BIN, FIXTURES, makeFixture, onlyCeremony, tokenObjects, type CeremonyFixture } from './fixture.ts';

const SO_PIN = 'typed-so-pin-4711';
const USER_PIN = 'typed-user-pin-0815';

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs the CLI on a pseudo-terminal, sending each reply once its prompt appeared (in order). */
function onTerminal(args: string[], replies: Array<{ when: string; send: string }>): Promise<{ code: number | null; output: string; sent: number }> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' } });
    let output = '';
    let next = 0;
    let seenUpTo = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`neam-ca ceremony run timed out; output so far:\n${output}`));
    }, 180_000);
    const onData = (d: Buffer): void => {
      output += d.toString('utf8');
      while (next < replies.length) {
        const at = output.indexOf(replies[next]!.when, seenUpTo);
        if (at < 0) break;
        seenUpTo = at + replies[next]!.when.length;
        child.stdin.write(`${replies[next]!.send}\r`);
        next++;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolvePromise({ code, output, sent: next });
    });
  });
}

describe('neam-ca ceremony run at a terminal (pseudo-terminal)', () => {
  let fx: CeremonyFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('asks the PINs the answers file leaves open without echo; a too short PIN and a mismatch are asked again; no PIN in the output, the record or the folder', { timeout: 300_000 }, async () => {
    requireTool('script');
    fx = makeFixture();
    // The fixture's answers without the token section: the PINs come from the keyboard.
    const answers = readFileSync(fx.answersPath, 'utf8').replace(/^token:\n(?: {2}.*\n)+/mu, '');
    expect(answers).not.toMatch(/-pin:/u);
    writeFileSync(fx.answersPath, answers);
    const script = join(FIXTURES, 'keygen-token-pin.yaml');
    const r = await onTerminal(
      ['ceremony', 'run', script, '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath],
      [
        { when: "New security-officer PIN for token 'neam-root': ", send: 'short' },
        { when: "New security-officer PIN for token 'neam-root': ", send: SO_PIN },
        { when: 'Type it again: ', send: SO_PIN },
        { when: "New user PIN for token 'neam-root': ", send: USER_PIN },
        { when: 'Type it again: ', send: `${USER_PIN}-not-the-same` },
        { when: "New user PIN for token 'neam-root': ", send: USER_PIN },
        { when: 'Type it again: ', send: USER_PIN },
      ],
    );
    expect(r.sent, r.output).toBe(7);
    expect(r.code, r.output.slice(-3000)).toBe(0);
    // Both refusals were said, and nothing typed was echoed back.
    expect(r.output).toContain('It must be at least');
    expect(r.output).toContain('The two entries differ; try again.');
    for (const s of [SO_PIN, USER_PIN, 'short', 'not-the-same']) expect(r.output).not.toContain(s);

    const dir = onlyCeremony(fx);
    expect(ceremonyStatus(dir).status).toBe('completed');
    // The typed user PIN is the token's: the keys are there behind it.
    expect(tokenObjects(fx, 'neam-root', USER_PIN).map((k) => k.label).sort()).toEqual(['neam-offline-transfer', 'neam-offline-transfer', 'neam-root-key', 'neam-root-key']);
    // No PIN in any file of the ceremony folder (the journal database and the transcript included).
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const bytes = readFileSync(join(f.parentPath, f.name));
      for (const s of [SO_PIN, USER_PIN]) expect(bytes.includes(Buffer.from(s)), `${f.name} holds a PIN`).toBe(false);
    }
  });
});
