/**
 * @module cli/commands/demo
 * `neam-ca demo`: the README's main job on the embedded default (SoftHSM + SQLite). At this stage
 * of the project it creates a rehearsal SoftHSM token in the output folder, generates a root-shaped
 * RSA-4096 key and a P-256 transfer key inside it, and lists the token with its keys and their
 * protection attributes. Later stages grow it into the full end-to-end demo.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import { openHsm } from '../../hsm/index.ts';
import { readSecretFile } from '../secret-input.ts';
import type { Command } from '../command.ts';
import { renderKeys, renderTokens } from './hsm.ts';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Secret } from '../../util/secret.ts';

const TOKEN_LABEL = 'neam-rehearsal';

const demo: Command = {
  path: ['demo'],
  summary: 'run the end-to-end demo on SoftHSM and SQLite into a new folder',
  usage: '[--out DIR]',
  options: { out: { type: 'string', valueName: 'DIR', description: 'output folder (default ./demo-out); must not exist or be empty' } },
  async run(ctx) {
    const outArg = ctx.values['out'];
    const out = resolve(ctx.cwd, typeof outArg === 'string' ? outArg : 'demo-out');
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new CoreError('ERR_ALREADY_EXISTS', `the demo folder ${out} already exists and is not empty; the demo never overwrites. Remove it or pass --out NEWDIR`, { details: { out } });
    }
    mkdirSync(out, { recursive: true, mode: 0o700 });
    const started = Date.now();
    const stage = (n: number, text: string): void => ctx.out.status(`[${n}] ${text} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const hsm = openHsm({ softhsmDir: join(out, 'softhsm') });
    try {
      stage(1, `rehearsal SoftHSM token directory ${join(out, 'softhsm')}`);
      const pinDir = join(out, 'pins');
      mkdirSync(pinDir, { mode: 0o700 });
      for (const name of ['so-pin', 'pin']) {
        const pin = Secret.fromBytes(Buffer.from(randomBytes(24).toString('base64url')));
        pin.use((b) => writeFileSync(join(pinDir, name), b, { mode: 0o600, flag: 'wx' }));
        pin.wipe();
      }
      const so = readSecretFile(join(pinDir, 'so-pin'), 'SO PIN');
      const user = readSecretFile(join(pinDir, 'pin'), 'user PIN');
      const token = hsm.initToken(TOKEN_LABEL, so, user);
      so.wipe();
      stage(2, `token '${token.label}' initialised (serial ${token.serial})`);
      const session = hsm.openSession({ label: token.label, serial: token.serial });
      try {
        const pin = readSecretFile(join(pinDir, 'pin'), 'user PIN');
        session.login(pin);
        pin.wipe();
        session.generateKeyPair({ type: 'RSA', bits: 4096 }, { label: 'root-rehearsal' });
        stage(3, 'RSA-4096 root-rehearsal key generated inside the token');
        session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'transfer-rehearsal' });
        stage(4, 'EC P-256 transfer-rehearsal key generated inside the token');
        const keys = session.describeKeys();
        const tokens = hsm.tokens();
        ctx.out.result({ out, module: hsm.modulePath, tokens, keys }, () => `\n${renderTokens(hsm.modulePath, tokens)}\n\n${renderKeys(session.token, keys)}\n\nDemo state: ${out} (SoftHSM tokens in ${join(out, 'softhsm')}, PIN files in ${pinDir}, mode 0600).`);
      } finally {
        session.close();
        user.wipe();
      }
    } finally {
      hsm.close();
    }
  },
};

/** `neam-ca demo`. */
export const DEMO_COMMANDS: Command[] = [demo];
