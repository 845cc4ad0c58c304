/**
 * Test helpers for the independent oracles (OpenSSL, GnuTLS certtool, pkcs11-tool). A missing tool
 * fails the test with the package to install: CI installs them (.ci/run), so nothing is skipped.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** Debian package that provides each tool. */
const PACKAGES: Record<string, string> = {
  openssl: 'openssl',
  certtool: 'gnutls-bin',
  'pkcs11-tool': 'opensc',
  'softhsm2-util': 'softhsm2',
  nginx: 'nginx',
  curl: 'curl',
  cfssl: 'golang-cfssl',
  chromium: 'chromium',
};

/** Throws a clear error when `tool` is not on PATH. */
export function requireTool(tool: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} is required by this test; install Debian package '${PACKAGES[tool] ?? tool}' (bin/setup does)`);
}

/** Runs a tool and returns the result without throwing (stdout/stderr as text). */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {}): SpawnSyncReturns<string> {
  requireTool(cmd);
  return spawnSync(cmd, args, { encoding: 'utf8', env: options.env ?? process.env, input: options.input, cwd: options.cwd, timeout: 120_000 });
}

/** Runs a tool and returns stdout; throws with stderr when it fails. */
export function runOk(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {}): string {
  requireTool(cmd);
  return execFileSync(cmd, args, { encoding: 'utf8', env: options.env ?? process.env, input: options.input, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
}
