/**
 * @module electron/host/handlers/files
 * Handlers of the `files` group: list the YAML files (ceremony scripts, site files) in the
 * configured folders, and read one with its problems: YAML syntax (line and column), then the
 * ceremony engine's validation of the file as a script or a site file (dotted path and line). The
 * check runs in a worker thread with a deadline, and at most 200 problems are returned with the
 * total (`yaml-checker.ts`, `yaml-check.ts`), so a hostile file can neither stall the main process
 * nor flood the UI.
 *
 * The renderer names a file only as (folder id, relative path) from the listing; the path is
 * resolved here and must stay inside its folder after following links. Must never: read outside a
 * configured folder, follow a symbolic link out of it, read a file larger than 256 KiB, or parse
 * YAML on the main thread.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

import { CoreError } from '../../../core/errors.ts';
import type { Contract, Handlers } from '../../ipc/contract.ts';
import type { FileRoot } from '../config.ts';
import { MAX_YAML_BYTES } from '../yaml-check.ts';
import type { HandlerDeps } from './deps.ts';

export { MAX_REPORTED_PROBLEMS, MAX_YAML_BYTES, yamlProblems } from '../yaml-check.ts';

/** At most this many files are listed per folder. */
export const MAX_LISTED_FILES = 500;
const MAX_DEPTH = 3;
const YAML_FILE = /\.ya?ml$/iu;

interface Listed {
  path: string;
  size: number;
}

function listFolder(root: FileRoot): { files: Listed[]; problem: string | null } {
  const files: Listed[] = [];
  let rootReal: string;
  try {
    rootReal = realpathSync(root.path);
    if (!statSync(rootReal).isDirectory()) return { files, problem: `${root.path} is not a folder` };
  } catch {
    return { files, problem: `the folder ${root.path} does not exist or cannot be read; start the workstation with --scripts DIR` };
  }
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (files.length >= MAX_LISTED_FILES || name.startsWith('.')) continue;
      const full = join(dir, name);
      const st = lstatSync(full, { throwIfNoEntry: false });
      // Symbolic links are not offered: what is listed is what is in the folder.
      if (st === undefined || st.isSymbolicLink()) continue;
      if (st.isDirectory() && depth < MAX_DEPTH) walk(full, depth + 1);
      else if (st.isFile() && YAML_FILE.test(name)) files.push({ path: relative(rootReal, full).split(sep).join('/'), size: st.size });
    }
  };
  walk(rootReal, 0);
  return { files, problem: null };
}

/**
 * Resolves (root id, relative path) to a real file inside that root.
 * @throws {CoreError} ERR_NOT_FOUND, ERR_APP_FORBIDDEN, ERR_INPUT_TOO_LARGE, ERR_INPUT_INVALID
 */
export function resolveInside(roots: readonly FileRoot[], rootId: string, path: string): { full: string; display: string; size: number } {
  const root = roots.find((r) => r.id === rootId);
  if (root === undefined) throw new CoreError('ERR_NOT_FOUND', `no configured folder has the id ${rootId}; reload the file list`);
  if (!YAML_FILE.test(path)) throw new CoreError('ERR_APP_FORBIDDEN', `${path} is not a YAML file (.yaml or .yml); only ceremony scripts and site files can be opened`);
  let rootReal: string;
  let real: string;
  try {
    rootReal = realpathSync(root.path);
    real = realpathSync(join(rootReal, ...path.split('/')));
  } catch (e) {
    throw new CoreError('ERR_NOT_FOUND', `${path} is no longer in ${root.path}; reload the file list`, { cause: e });
  }
  const inside = relative(rootReal, real);
  if (inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) {
    throw new CoreError('ERR_APP_FORBIDDEN', `${path} resolves outside ${root.path}; only files inside the configured folders can be opened`);
  }
  const lst = lstatSync(join(rootReal, ...path.split('/')));
  if (lst.isSymbolicLink() || !lst.isFile()) throw new CoreError('ERR_APP_FORBIDDEN', `${path} is not a regular file in ${root.path}`);
  if (lst.size > MAX_YAML_BYTES) {
    throw new CoreError('ERR_INPUT_TOO_LARGE', `${path} is ${lst.size} bytes; a ceremony script or site file is at most ${MAX_YAML_BYTES} bytes (256 KiB). Check that this is the right file`);
  }
  return { full: real, display: join(root.path, ...path.split('/')), size: lst.size };
}

/** A ceremony file read from a configured folder: exact bytes, text, SHA-256. */
export interface CeremonyFile {
  full: string;
  display: string;
  bytes: Buffer;
  text: string;
  sha256: string;
}

/**
 * Reads one listed YAML file (inside its folder, bounded, UTF-8).
 * @throws {CoreError} ERR_NOT_FOUND, ERR_APP_FORBIDDEN, ERR_INPUT_TOO_LARGE, ERR_INPUT_INVALID
 */
export function readCeremonyFile(roots: readonly FileRoot[], ref: { root: string; path: string }): CeremonyFile {
  const { full, display } = resolveInside(roots, ref.root, ref.path);
  const bytes = readFileSync(full);
  if (bytes.length > MAX_YAML_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `${ref.path} grew beyond ${MAX_YAML_BYTES} bytes while being read`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new CoreError('ERR_INPUT_INVALID', `${display} is not UTF-8 text; a ceremony script or site file is plain YAML. Check that this is the right file`, { cause: e });
  }
  return { full, display, bytes, text, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The `files` handlers. */
export function filesHandlers(deps: HandlerDeps): Handlers<Contract>['files'] {
  return {
    listYaml: () => ({
      roots: deps.config.fileRoots.map((root) => ({ id: root.id, label: root.label, path: root.path, ...listFolder(root) })),
    }),
    readYaml: async (request) => {
      const file = readCeremonyFile(deps.config.fileRoots, request.file);
      const check = await deps.yaml.check(file.text, file.display, dirname(file.full));
      return {
        file: request.file,
        displayPath: file.display,
        size: file.bytes.length,
        sha256: file.sha256,
        text: file.text,
        documents: check.documents,
        kind: check.kind,
        valid: check.valid,
        problems: check.problems,
        problemsTotal: check.problemsTotal,
      };
    },
  };
}
