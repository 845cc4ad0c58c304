/**
 * @module cli/secret-input
 * Where the CLI takes secrets from, in order: a file named on the command line (must be mode 0600
 * or stricter, owned by us), an environment variable named by the command (for automation; the
 * variable is removed from the environment after reading), or a no-echo terminal prompt.
 *
 * Must never: accept a secret as a command-line argument (it would show in `ps`).
 */
import { readFileSync, statSync } from 'node:fs';

import { CoreError } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import type { CommandContext } from './command.ts';

/** Maximum size of a secret file (a PIN or passphrase, not a document). */
const MAX_SECRET_FILE = 4096;

/**
 * Reads a secret file, refusing group/world-readable files and oversized ones. A single trailing
 * newline is removed.
 * @throws {CoreError} ERR_IO, ERR_SECRET_INVALID
 */
export function readSecretFile(path: string, what: string): Secret {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new CoreError('ERR_IO', `cannot read the ${what} file ${path}: it does not exist or is not accessible`, { cause: e });
  }
  if (!st.isFile()) throw new CoreError('ERR_SECRET_INVALID', `the ${what} file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new CoreError('ERR_SECRET_INVALID', `the ${what} file ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run 'chmod 600 ${path}' first`);
  }
  if (st.size > MAX_SECRET_FILE) throw new CoreError('ERR_SECRET_INVALID', `the ${what} file ${path} is larger than ${MAX_SECRET_FILE} bytes; it should hold only the ${what}`);
  const bytes = readFileSync(path);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const secret = Secret.fromBytes(Buffer.from(bytes.subarray(0, end)));
  bytes.fill(0);
  if (secret.length === 0) {
    secret.wipe();
    throw new CoreError('ERR_SECRET_INVALID', `the ${what} file ${path} is empty`);
  }
  return secret;
}

/**
 * Gets a secret from `--<option>` (a file), the environment variable `envName`, or a prompt.
 * @throws {CoreError} ERR_IO, ERR_SECRET_INVALID, ERR_USAGE
 */
export async function obtainSecret(ctx: CommandContext, option: string, envName: string, what: string): Promise<Secret> {
  const file = ctx.values[option];
  if (typeof file === 'string') return readSecretFile(file, what);
  const fromEnv = ctx.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') {
    delete ctx.env[envName];
    return Secret.fromString(fromEnv);
  }
  if (!ctx.prompt.interactive) {
    throw new CoreError('ERR_USAGE', `the ${what} is needed: give --${option} FILE (mode 0600), set ${envName}, or run in a terminal to be asked`);
  }
  return ctx.prompt.secret(`${what[0]!.toUpperCase()}${what.slice(1)}: `);
}
