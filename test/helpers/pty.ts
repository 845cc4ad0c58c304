/**
 * A command on a pseudo-terminal (util-linux `script`), as a person at a terminal runs it: each
 * reply is typed once its prompt has appeared in the output, in order. Used to prove that secrets
 * typed at a prompt are not echoed, and that prompts appear where expected.
 */
import { spawn } from 'node:child_process';

/** A reply typed (followed by Enter) once the output shows `when` after the previous reply's prompt. */
export interface TerminalReply {
  when: string;
  send: string;
}

/** The exit code, everything the terminal showed, and how many replies were typed. */
export interface TerminalRun {
  code: number | null;
  output: string;
  sent: number;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Runs `argv` on a pseudo-terminal; rejects (after killing it) when it runs longer than `timeoutMs`. */
export function onTerminal(argv: readonly string[], replies: readonly TerminalReply[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<TerminalRun> {
  const command = argv.map(shellQuote).join(' ');
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' } });
    let output = '';
    let next = 0;
    let seenUpTo = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.slice(1, 3).join(' ')} timed out on the terminal; output so far:\n${output}`));
    }, options.timeoutMs ?? 120_000);
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
