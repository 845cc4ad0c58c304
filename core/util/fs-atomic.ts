/**
 * @module util/fs-atomic
 * File writes that never leave partial state: exclusive create (refuse to overwrite, boulder's
 * O_EXCL rule for ceremony outputs) and atomic replace (temp file, fsync, rename, directory fsync)
 * for files readers may open at any moment (agent-delivered SVIDs, state).
 *
 * Must never: leave a temp file behind on failure, or follow a symlink planted at the target.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { CoreError } from '../errors.ts';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

function ioError(e: unknown, what: string, path: string): CoreError {
  const code = (e as { code?: string }).code;
  if (code === 'EEXIST') return new CoreError('ERR_ALREADY_EXISTS', `${path} already exists; it is never overwritten. Move it away or choose another output`, { cause: e, details: { path } });
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CoreError('ERR_IO', `no space left on the device while ${what} ${path}; nothing was replaced`, { cause: e, details: { path, errno: code } });
  return new CoreError('ERR_IO', `${what} ${path} failed (${code ?? 'error'})`, { cause: e, details: { path, errno: code ?? null } });
}

/**
 * Creates `path` with `data`, failing if it exists (O_EXCL, no symlink following), then fsyncs
 * the file and its directory.
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_IO
 */
export function writeFileExclusive(path: string, data: Uint8Array | string, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw ioError(e, 'creating', path);
  }
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // the partial file could not be removed; the error below says the write failed
    }
    throw ioError(e, 'writing', path);
  }
  closeSync(fd);
  fsyncDir(dirname(path));
}

/**
 * Replaces `path` atomically: writes a temp file in the same directory, fsyncs it, renames it over
 * `path`, fsyncs the directory. Readers see the old or the new content, never a mix.
 * @throws {CoreError} ERR_IO
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (e) {
    throw ioError(e, 'creating a temporary file for', path);
  }
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed or never created
    }
    throw ioError(e, 'writing', path);
  }
  fsyncDir(dir);
}
