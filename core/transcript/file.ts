/**
 * @module transcript/file
 * Reading transcript files for verification: a regular file (no symlink, FIFO or device), bounded
 * in size before a byte is read, and the previous ceremony's head for chaining the next one.
 *
 * Must never: read an unbounded file into memory, or hand out a head of a transcript that does not
 * verify and is not closed.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

import { CoreError } from '../errors.ts';
import { MAX_TRANSCRIPT_BYTES } from './record.ts';
import { verifyTranscript, type TranscriptVerification, type VerifyOptions } from './verify.ts';
import type { PreviousTranscript } from './writer.ts';

/**
 * Reads a transcript file (regular file, at most {@link MAX_TRANSCRIPT_BYTES}).
 * @throws {CoreError} ERR_NOT_FOUND, ERR_TRANSCRIPT_INVALID (symlink, not a regular file),
 * ERR_INPUT_TOO_LARGE, ERR_IO
 */
export function readTranscriptFile(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new CoreError('ERR_NOT_FOUND', `${path} does not exist`, { cause: e, details: { path } });
    if (code === 'ELOOP') throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} is a symbolic link; give the transcript file itself`, { cause: e, details: { path } });
    throw new CoreError('ERR_IO', `opening ${path} failed (${code ?? 'error'})`, { cause: e, details: { path } });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} is not a regular file`, { details: { path } });
    if (st.size > MAX_TRANSCRIPT_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `${path} is ${st.size} bytes; transcripts are at most ${MAX_TRANSCRIPT_BYTES} bytes`, { details: { path, bytes: st.size } });
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and verifies a transcript file. Content problems are in the result (`problem`), as
 * {@link verifyTranscript} returns them.
 * @throws {CoreError} as {@link readTranscriptFile}
 */
export function verifyTranscriptFile(path: string, options: VerifyOptions = {}): TranscriptVerification {
  return verifyTranscript(readTranscriptFile(path), { source: path, ...options });
}

/**
 * The head of a finished ceremony's transcript, for the next ceremony's first record
 * ({@link createTranscript}'s `previous`). The transcript must verify and be closed.
 * @throws {CoreError} the verification problem (ERR_TRANSCRIPT_NOT_CLOSED, _RECORD_*, _SIGNATURE_INVALID, …) and
 * as {@link readTranscriptFile}
 */
export function transcriptHead(path: string, options: VerifyOptions = {}): PreviousTranscript & { ceremony: string; records: number } {
  const v = verifyTranscriptFile(path, options);
  if (!v.ok) throw v.problem ?? new CoreError('ERR_TRANSCRIPT_INVALID', `${path} does not verify`);
  return { head: v.head as string, ceremony: v.ceremony as string, records: v.records.length };
}
