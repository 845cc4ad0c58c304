/**
 * The loopback host for browser tests, started the way a person starts it (`npm run app:browser`'s
 * entry, in a child process: its own PKCS#11 application, like production), against a SoftHSM
 * token directory and a folder of ceremony files. Resolves once the host printed its URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A running host. */
export interface HostProcess {
  url: string;
  origin: string;
  token: string;
  stdout: () => string;
  stderr: () => string;
  stop(): Promise<number | null>;
}

const CLI = fileURLToPath(new URL('../../../electron/loopback/cli.ts', import.meta.url));

/** Starts the host; `args` are the CLI options (`--softhsm-conf`, `--scripts`, `--renderer-dir`). */
export function startHost(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<HostProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolveHost, reject) => {
    const timer = setTimeout(() => reject(new Error(`the host printed no URL within 60 s\nstdout:\n${out}\nstderr:\n${err}`)), 60_000);
    const check = (): void => {
      const m = /^URL: (http:\/\/127\.0\.0\.1:\d+)\/([A-Za-z0-9_-]+)\/$/mu.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolveHost({
        url: `${m[1]}/${m[2]}/`,
        origin: m[1]!,
        token: m[2]!,
        stdout: () => out,
        stderr: () => err,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the host exited (${String(code)}) before printing its URL\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
}
