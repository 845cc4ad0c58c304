/**
 * @module ceremony/files
 * The I/O half of reading scripts, site files and answers files: size-checked reads that hand the
 * bytes to the pure validators.
 *
 * Must never: read more than the format's size limit.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { CoreError } from '../errors.ts';
import type { QuestionSpec } from './actions/types.ts';
import { MAX_ANSWERS_BYTES, parseAnswers, type AnswersFile, type AnswersOptions } from './answers.ts';
import { MAX_SCRIPT_BYTES, parseScript } from './script.ts';
import { MAX_SITE_BYTES, parseSite } from './site.ts';
import type { CeremonyScript, SiteConfig } from './types.ts';

/**
 * Reads a regular file of at most `max` bytes. Opened without blocking, so a named pipe or device
 * (on a custodian's medium, say) is refused at once instead of hanging the workstation.
 * @throws {CoreError} ERR_IO, ERR_INPUT_TOO_LARGE
 */
export function readLimited(path: string, max: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new CoreError('ERR_IO', `cannot read the ${what} ${path}: ${(e as { code?: string }).code === 'ENOENT' ? 'it does not exist' : ((e as { code?: string }).code ?? 'error')}`, { cause: e, details: { path } });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CoreError('ERR_IO', `the ${what} ${path} is not a regular file`, { details: { path } });
    if (st.size > max) throw new CoreError('ERR_INPUT_TOO_LARGE', `the ${what} ${path} is ${st.size} bytes, more than the ${max} allowed`, { details: { path, size: st.size } });
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** A script file with its exact bytes. */
export interface LoadedScript {
  script: CeremonyScript;
  bytes: Buffer;
}

/**
 * Reads and validates a ceremony script.
 * @throws {CoreError} ERR_IO, ERR_INPUT_TOO_LARGE, ERR_CEREMONY_SCRIPT_INVALID
 */
export function loadScript(path: string): LoadedScript {
  const bytes = readLimited(path, MAX_SCRIPT_BYTES, 'ceremony script');
  return { script: parseScript(bytes, path), bytes };
}

/** A site file with its exact bytes. */
export interface LoadedSite {
  site: SiteConfig;
  bytes: Buffer;
}

/**
 * Reads and validates a site file; relative paths inside are resolved against its folder
 * (or `baseDir` when given, e.g. for the copy kept in a ceremony folder).
 * @throws {CoreError} ERR_IO, ERR_INPUT_TOO_LARGE, ERR_CEREMONY_SITE_INVALID
 */
export function loadSite(path: string, baseDir?: string): LoadedSite {
  const bytes = readLimited(path, MAX_SITE_BYTES, 'site file');
  return { site: parseSite(bytes, path, baseDir ?? dirname(resolve(path))), bytes };
}

/**
 * Reads and validates an answers file against a ceremony's questions.
 * @throws {CoreError} ERR_IO, ERR_INPUT_TOO_LARGE, ERR_CEREMONY_ANSWERS_INVALID
 */
export function loadAnswers(path: string, questions: readonly QuestionSpec[], options: AnswersOptions): AnswersFile {
  return parseAnswers(readLimited(path, MAX_ANSWERS_BYTES, 'answers file'), path, questions, options);
}
