/**
 * @module bundle/io
 * The file half of bundles: reading a `.neambundle` with its size checked from `fstat` before a
 * byte is read, writing a new bundle file exclusively (never overwriting), and extracting a
 * verified bundle into a new folder through a staging folder renamed into place, so the folder
 * either appears complete or not at all.
 *
 * Must never: read a file larger than the limit, follow a symlink planted at an output path,
 * overwrite an existing file or folder, or write a name that was not validated.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { CoreError } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import { DEFAULT_LIMITS, formatBytes, type BundleLimits } from './limits.ts';
import { assertEntryName, MANIFEST_NAME, SIGNATURE_NAME } from './paths.ts';
import type { UnpackedBundle } from './verify.ts';

/**
 * Reads a bundle file; refuses non-regular files and files over the size limit before reading.
 * @throws {CoreError} ERR_IO, ERR_NOT_FOUND, ERR_BUNDLE_TOO_LARGE
 */
export function readBundleFile(path: string, limits: BundleLimits = DEFAULT_LIMITS): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new CoreError('ERR_NOT_FOUND', `the bundle file ${path} does not exist`, { details: { path } });
    throw new CoreError('ERR_IO', `cannot open the bundle file ${path} (${code ?? 'error'})`, { cause: e, details: { path } });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CoreError('ERR_IO', `${path} is not a regular file`, { details: { path } });
    if (st.size > limits.maxBundleBytes) {
      throw new CoreError('ERR_BUNDLE_TOO_LARGE', `the bundle file ${path} is ${formatBytes(st.size)}, more than the limit of ${formatBytes(limits.maxBundleBytes)}; it was not read`, {
        details: { path, size: st.size, limit: limits.maxBundleBytes },
      });
    }
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== st.size) throw new CoreError('ERR_IO', `the bundle file ${path} changed while it was read`, { details: { path } });
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates a bundle file (mode 0644; refuses to overwrite or follow a symlink).
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_IO
 */
export function writeBundleFile(path: string, bytes: Buffer): void {
  writeFileExclusive(path, bytes, 0o644);
}

/**
 * Writes the manifest, signature and payload of a verified bundle into the new folder `dir`
 * (staged next to it, then renamed; `dir` must not exist).
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_IO, ERR_BUNDLE_PATH_FORBIDDEN
 */
export function extractBundle(bundle: UnpackedBundle, dir: string): void {
  if (existsSync(dir)) throw new CoreError('ERR_ALREADY_EXISTS', `${dir} already exists; extraction writes a new folder only`, { details: { path: dir } });
  const staging = join(dirname(dir), `.${basename(dir)}.staging-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(staging, { mode: 0o700 });
    const files: Array<[string, Buffer]> = [[MANIFEST_NAME, bundle.manifestBytes], [SIGNATURE_NAME, bundle.signature], ...bundle.payload];
    for (const [name, data] of files) {
      assertEntryName(name);
      const target = join(staging, name);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeFileExclusive(target, data, 0o644);
    }
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (e instanceof CoreError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') throw new CoreError('ERR_ALREADY_EXISTS', `${dir} already exists; extraction writes a new folder only`, { cause: e, details: { path: dir } });
    throw new CoreError('ERR_IO', `extracting into ${dir} failed (${code ?? 'error'}); nothing was left behind`, { cause: e, details: { path: dir } });
  }
}
