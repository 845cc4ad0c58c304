/**
 * @module istio/io
 * The imperative shell of the Istio domain: reading input files (with size limits), opening
 * traffic files as byte streams, loading a manifests folder in apply order, locating Istio's CRD
 * file, and writing a generated tree atomically (everything is written into a temporary sibling
 * directory, fsynced, then renamed into place, so a failed run leaves nothing behind).
 *
 * Must never: overwrite an existing output, follow a symlink planted in the output, or read a file
 * without a size bound (traffic files are streamed, never read whole).
 */
import { createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

import { CoreError, type CoreErrorCode } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import { CrdSchemaSet } from './crd-schema.ts';
import { mediaTypeOf } from './export.ts';
import type { OutputFile } from './render.ts';
import { identityOf, type ManifestDoc } from './validate.ts';
import { parseYamlStream } from './yaml-source.ts';

/**
 * Reads a text file of at most `maxBytes`.
 * @throws {CoreError} ERR_NOT_FOUND, ERR_INPUT_TOO_LARGE, ERR_IO (or `code` for unreadable content).
 */
export function readTextFile(path: string, maxBytes: number, what: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new CoreError('ERR_INPUT_INVALID', `${what} ${path} is not a regular file`, { details: { path } });
    size = st.size;
  } catch (e) {
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_NOT_FOUND', `${what} ${path} cannot be read (${(e as { code?: string }).code ?? 'error'})`, { cause: e, details: { path } });
  }
  if (size > maxBytes) throw new CoreError('ERR_INPUT_TOO_LARGE', `${what} ${path} is ${size} bytes, more than the limit of ${maxBytes}`, { details: { path, size, maxBytes } });
  const buf = readFileSync(path);
  if (buf.includes(0)) throw new CoreError('ERR_INPUT_INVALID', `${what} ${path} is binary, not text`, { details: { path } });
  return buf.toString('utf8');
}

/** A traffic file as a byte stream (64 KiB chunks). Throws ERR_NOT_FOUND early when absent. */
export function openStream(path: string, what: string): AsyncIterable<Buffer> {
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
  } catch (e) {
    throw new CoreError('ERR_NOT_FOUND', `${what} ${path} cannot be read`, { cause: e, details: { path } });
  }
  return createReadStream(path, { highWaterMark: 64 * 1024 });
}

function yamlFiles(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) yamlFiles(p, out);
    else if (st.isFile() && /\.ya?ml$/u.test(name)) out.push(p);
  }
}

/**
 * Loads every `*.yaml`/`*.yml` under `path` (a file or a folder, recursively, sorted by path: the
 * apply order of the numbered rollout folders). `upTo` stops after the folder of that phase.
 * @throws {CoreError} ERR_NOT_FOUND when nothing is there; ERR_INPUT_TOO_LARGE for oversized files.
 */
export function loadManifests(path: string, options: { upTo?: string; maxFileBytes?: number } = {}): ManifestDoc[] {
  const root = resolve(path);
  if (!existsSync(root)) throw new CoreError('ERR_NOT_FOUND', `manifests ${path} do not exist`, { details: { path } });
  let files: string[] = [];
  if (statSync(root).isDirectory()) yamlFiles(root, files);
  else files = [root];
  if (options.upTo !== undefined) {
    const limit = options.upTo;
    const phases = readdirSync(statSync(root).isDirectory() ? root : dirname(root)).filter((n) => /^\d\d-/u.test(n)).sort();
    if (!phases.includes(limit)) throw new CoreError('ERR_USAGE', `--phase ${limit} is not a rollout folder of ${path} (have: ${phases.join(', ') || 'none'})`);
    files = files.filter((f) => {
      const top = relative(root, f).split(sep)[0] ?? '';
      return !/^\d\d-/u.test(top) || top <= limit;
    });
  }
  if (files.length === 0) throw new CoreError('ERR_NOT_FOUND', `no YAML files under ${path}`, { details: { path } });
  const docs: ManifestDoc[] = [];
  for (const f of files) {
    const text = readTextFile(f, options.maxFileBytes ?? 64 * 1024 * 1024, 'manifest');
    const shown = statSync(root).isDirectory() ? relative(root, f) : basename(f);
    for (const d of parseYamlStream(text)) docs.push(d.error === undefined ? { file: shown, line: d.line, index: d.index, value: d.value } : { file: shown, line: d.line, index: d.index, value: undefined, error: d.error });
  }
  return docs;
}

/** The final state of documents in apply order: a later resource with the same identity replaces an earlier one. */
export function finalState(docs: readonly ManifestDoc[]): unknown[] {
  const m = new Map<string, unknown>();
  for (const d of docs) {
    if (d.error !== undefined || typeof d.value !== 'object' || d.value === null || Array.isArray(d.value)) continue;
    const id = identityOf(d.value as Record<string, unknown>);
    const k = `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
    m.delete(k);
    m.set(k, d.value);
  }
  return [...m.values()];
}

/** Where Istio's CRD file was found, or every place that was tried. */
export type CrdLocation = { found: true; dir: string; file: string } | { found: false; tried: string[] };

const CRD_FILE = 'customresourcedefinitions.gen.yaml';

/**
 * Locates Istio's CRDs: `explicit` (a folder or the file), `$NEAM_CA_ISTIO_CRDS`, then
 * `shared/istio-crds/` in `start` and each of its ancestors (the steering repository's data).
 */
export function locateCrds(start: string, env: NodeJS.ProcessEnv, explicit?: string): CrdLocation {
  const tried: string[] = [];
  const check = (p: string): CrdLocation | undefined => {
    const file = p.endsWith('.yaml') ? p : join(p, CRD_FILE);
    tried.push(file);
    return existsSync(file) ? { found: true, dir: dirname(file), file } : undefined;
  };
  if (explicit !== undefined) return check(resolve(start, explicit)) ?? { found: false, tried };
  const fromEnv = env['NEAM_CA_ISTIO_CRDS'];
  if (fromEnv !== undefined && fromEnv !== '') return check(resolve(start, fromEnv)) ?? { found: false, tried };
  let dir = resolve(start);
  for (;;) {
    const hit = check(join(dir, 'shared', 'istio-crds'));
    if (hit !== undefined) return hit;
    const up = dirname(dir);
    if (up === dir) return { found: false, tried };
    dir = up;
  }
}

const crdCache = new Map<string, { set: CrdSchemaSet; sha256: string }>();

/**
 * Loads and compiles the CRDs found by {@link locateCrds} (cached per file).
 * @throws {CoreError} ERR_ISTIO_CRDS_NOT_FOUND naming every place tried and how to point at them.
 */
export function loadCrds(start: string, env: NodeJS.ProcessEnv, explicit?: string): { set: CrdSchemaSet; file: string; sha256: string } {
  const loc = locateCrds(start, env, explicit);
  if (!loc.found) {
    throw new CoreError('ERR_ISTIO_CRDS_NOT_FOUND', `Istio's CRD schemas (${CRD_FILE}, Istio 1.30) were not found; looked at:\n${loc.tried.map((t) => `  - ${t}`).join('\n')}\nPoint at them with --crds DIR or NEAM_CA_ISTIO_CRDS=DIR`, { details: { tried: loc.tried } });
  }
  const hit = crdCache.get(loc.file);
  if (hit !== undefined) return { ...hit, file: loc.file };
  const text = readTextFile(loc.file, 64 * 1024 * 1024, 'CRD file');
  const entry = { set: CrdSchemaSet.fromYaml(text, loc.file), sha256: createHash('sha256').update(text).digest('hex') };
  crdCache.set(loc.file, entry);
  return { ...entry, file: loc.file };
}

/**
 * Writes `files` as a new directory `out`, atomically: into a temporary sibling, then renamed.
 * @throws {CoreError} ERR_ALREADY_EXISTS when `out` exists (never overwritten); ERR_IO.
 */
export function writeTree(out: string, files: readonly OutputFile[], code: CoreErrorCode = 'ERR_IO'): void {
  const target = resolve(out);
  if (existsSync(target)) throw new CoreError('ERR_ALREADY_EXISTS', `${out} already exists; generated output is never written over. Choose a new --out folder`, { details: { path: out } });
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    mkdirSync(tmp, { mode: 0o755 });
    for (const f of files) {
      if (f.path.startsWith('/') || f.path.split('/').includes('..')) throw new CoreError(code, `refusing to write outside the output folder: ${f.path}`);
      const p = join(tmp, ...f.path.split('/'));
      mkdirSync(dirname(p), { recursive: true });
      writeFileExclusive(p, f.bytes, 0o644);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof CoreError) throw e;
    throw new CoreError('ERR_IO', `writing ${out} failed (${(e as { code?: string }).code ?? 'error'}); nothing was written`, { cause: e, details: { path: out } });
  }
}

/**
 * Reads a generated output folder back as files (for export): regular files only, no symlinks,
 * each at most `maxFileBytes`.
 * @throws {CoreError} ERR_NOT_FOUND; ERR_ISTIO_MANIFEST_INVALID for links, special or unknown files.
 */
export function readGeneratedTree(dir: string, maxFileBytes = 256 * 1024 * 1024): OutputFile[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new CoreError('ERR_NOT_FOUND', `${dir} is not a folder of generated manifests`, { details: { path: dir } });
  const out: OutputFile[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(root, p).split(sep).join('/');
      const st = lstatSync(p);
      if (st.isSymbolicLink()) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `${rel} is a symbolic link; generated output holds regular files only`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const mediaType = mediaTypeOf(rel);
        if (mediaType === undefined) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `${rel} is not a file the Istio generator produces`);
        if (st.size > maxFileBytes) throw new CoreError('ERR_INPUT_TOO_LARGE', `${rel} is larger than ${maxFileBytes} bytes`);
        out.push({ path: rel, bytes: readFileSync(p), mediaType });
      } else throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `${rel} is not a regular file`);
    }
  };
  walk(root);
  return out;
}
