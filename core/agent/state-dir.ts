/**
 * @module agent/state-dir
 * The agent's state directory holds its node key (0600), node SVID and renewal schedule. It must be
 * a directory owned by the agent's user and closed to everyone else; anything looser is refused
 * with the command that fixes it, because a readable node key lets anyone impersonate the node.
 *
 * Must never: loosen permissions itself on an existing directory, or follow a symlinked state dir.
 */
import { lstatSync, mkdirSync } from 'node:fs';

import { CoreError } from '../errors.ts';

/**
 * Creates the state directory (0700) or checks an existing one.
 * @throws {CoreError} ERR_AGENT_STATE_PERMISSIONS, ERR_AGENT_STATE_INVALID
 */
export function ensureStateDir(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new CoreError('ERR_AGENT_STATE_INVALID', `the agent state path ${dir} is not a plain directory (a file or a symlink); give a directory the agent owns`);
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CoreError('ERR_AGENT_STATE_PERMISSIONS', `the agent state directory ${dir} belongs to uid ${st.uid}, not to the agent's user (uid ${uid}); run 'chown ${uid} ${dir}'`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new CoreError('ERR_AGENT_STATE_PERMISSIONS', `the agent state directory ${dir} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); run 'chmod 700 ${dir}'`, {
      details: { mode: (st.mode & 0o777).toString(8) },
    });
  }
}

/**
 * Checks that a key file is a regular file of mode 0600 (or stricter) owned by us.
 * @throws {CoreError} ERR_AGENT_STATE_PERMISSIONS
 */
export function checkKeyFile(path: string): void {
  const st = lstatSync(path);
  if (!st.isFile() || (st.mode & 0o077) !== 0) {
    throw new CoreError('ERR_AGENT_STATE_PERMISSIONS', `the key file ${path} must be a regular file readable only by the agent (mode 600); run 'chmod 600 ${path}'`);
  }
}
