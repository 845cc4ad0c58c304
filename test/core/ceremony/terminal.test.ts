/**
 * `neam-ca ceremony run` at a real terminal (a pseudo-terminal from util-linux `script`): the
 * questions the answers file leaves open are asked there, and a secret typed there is never echoed,
 * printed, recorded or stored. The answers file here gives everything except the token's PINs, so
 * the security officer and the user type theirs, each twice.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyStatus } from '../../../core/ceremony/index.ts';
import { onTerminal } from '../../helpers/pty.ts';
import { requireTool } from '../../helpers/tools.ts';
import { BIN, FIXTURES, makeFixture, onlyCeremony, tokenObjects, type CeremonyFixture } from './fixture.ts';

const SO_PIN = 'typed-so-pin-4711';
const USER_PIN = 'typed-user-pin-0815';

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
      [process.execPath, BIN, 'ceremony', 'run', script, '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath],
      [
        { when: "New security-officer PIN for token 'neam-root': ", send: 'short' },
        { when: "New security-officer PIN for token 'neam-root': ", send: SO_PIN },
        { when: 'Type it again: ', send: SO_PIN },
        { when: "New user PIN for token 'neam-root': ", send: USER_PIN },
        { when: 'Type it again: ', send: `${USER_PIN}-not-the-same` },
        { when: "New user PIN for token 'neam-root': ", send: USER_PIN },
        { when: 'Type it again: ', send: USER_PIN },
      ],
      { timeoutMs: 180_000 },
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
