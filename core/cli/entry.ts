/**
 * @module cli/entry
 * Process entry for `neam-ca`: wires the real stdio, environment and signals into {@link runCli}.
 */
import { runCli } from './main.ts';

/** Runs the CLI for this process; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runCli(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
