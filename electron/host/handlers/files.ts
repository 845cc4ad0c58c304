/**
 * @module electron/host/handlers/files
 * Handlers of the `files` group: list the YAML files (ceremony scripts, site files) in the
 * configured folders, and read one with its syntax problems, line by line. This is the placeholder
 * for ceremony-script validation: when the ceremony engine lands, `readYaml`'s problems come from
 * its validator (dotted field paths) instead of the YAML parser alone.
 *
 * The renderer names a file only as (folder id, relative path) from the listing; the path is
 * resolved here and must stay inside its folder after following links. Must never: read outside a
 * configured folder, follow a symbolic link out of it, or read an unbounded file.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import { LineCounter, parseAllDocuments } from 'yaml';

import { CoreError } from '../../../core/errors.ts';
import type { Contract, Handlers } from '../../ipc/contract.ts';
import type { FileRoot } from '../config.ts';
import type { HandlerDeps } from './deps.ts';

/** Largest YAML file the UI reads (a ceremony script is a few kilobytes). */
export const MAX_YAML_BYTES = 1024 * 1024;
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
function resolveInside(roots: readonly FileRoot[], rootId: string, path: string): { full: string; display: string; size: number } {
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
    throw new CoreError('ERR_INPUT_TOO_LARGE', `${path} is ${lst.size} bytes; a ceremony script or site file is at most ${MAX_YAML_BYTES} bytes. Check that this is the right file`);
  }
  return { full: real, display: join(root.path, ...path.split('/')), size: lst.size };
}

type Problem = { severity: 'error' | 'warning'; path: string; message: string; line?: number; column?: number };

/** Parses YAML text and lists every syntax problem with its line and column (all at once). */
export function yamlProblems(text: string): { documents: number; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: Problem[] = [];
  const at = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // An empty stream is an empty array that still carries stream-level errors.
  const list = Array.from(docs);
  if ('empty' in docs) {
    for (const e of docs.errors) problems.push({ severity: 'error', path: '', message: e.message, ...at(e.pos[0]) });
  }
  list.forEach((doc, i) => {
    for (const e of doc.errors) problems.push({ severity: 'error', path: '', message: e.message, ...at(e.pos[0]) });
    for (const w of doc.warnings) problems.push({ severity: 'warning', path: '', message: w.message, ...at(w.pos[0]) });
    if (i > 0) {
      const start = doc.range[0];
      problems.push({ severity: 'error', path: '', message: 'a ceremony file holds exactly one YAML document; remove the second document (the `---` separator and what follows)', ...at(start) });
    }
  });
  if (list.length === 0 && problems.length === 0) problems.push({ severity: 'error', path: '', message: 'the file is empty' });
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { documents: list.length, problems };
}

/** The `files` handlers. */
export function filesHandlers(deps: HandlerDeps): Handlers<Contract>['files'] {
  return {
    listYaml: () => ({
      roots: deps.config.fileRoots.map((root) => ({ id: root.id, label: root.label, path: root.path, ...listFolder(root) })),
    }),
    readYaml: (request) => {
      const { full, display, size } = resolveInside(deps.config.fileRoots, request.file.root, request.file.path);
      const bytes = readFileSync(full);
      if (bytes.length > MAX_YAML_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `${request.file.path} grew beyond ${MAX_YAML_BYTES} bytes while being read`);
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch (e) {
        throw new CoreError('ERR_INPUT_INVALID', `${display} is not UTF-8 text; a ceremony script or site file is plain YAML. Check that this is the right file`, { cause: e });
      }
      const { documents, problems } = yamlProblems(text);
      return { file: request.file, displayPath: display, size, sha256: createHash('sha256').update(bytes).digest('hex'), text, documents, problems };
    },
  };
}
