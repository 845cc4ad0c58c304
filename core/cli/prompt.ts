/**
 * @module cli/prompt
 * Terminal prompts. Secrets are read without echo (the TTY's echo is left on but nothing typed is
 * written back), straight into a {@link Secret}.
 *
 * Must never: echo, log or keep a typed secret beyond the returned Secret.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

import { CoreError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import type { Prompter } from './command.ts';

/** A prompter over a terminal. */
export function terminalPrompter(input: NodeJS.ReadStream, output: NodeJS.WritableStream): Prompter {
  const interactive = input.isTTY === true;
  const ask = (question: string, mute: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      if (!interactive) {
        reject(new CoreError('ERR_USAGE', `'${question.trim()}' needs an answer, but there is no terminal; use the corresponding --*-file option or an answers file`));
        return;
      }
      let muted = false;
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (!muted) output.write(chunk);
          cb();
        },
      });
      const rl = createInterface({ input, output: sink, terminal: true });
      rl.question(question, (answer) => {
        rl.close();
        if (mute) output.write('\n');
        resolve(answer);
      });
      muted = mute;
      rl.on('SIGINT', () => {
        rl.close();
        reject(new CoreError('ERR_USAGE', 'cancelled'));
      });
    });
  return {
    interactive,
    async secret(question) {
      return Secret.fromString(await ask(question, true));
    },
    line(question) {
      return ask(question, false);
    },
  };
}
