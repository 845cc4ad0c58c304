/**
 * @module transcript/writer
 * The append-only transcript file: created exclusively (the opening record appears atomically, or
 * the file does not exist), one record per `append`, each written with a single `write` and
 * `fsync`ed before `append` returns, resumed after a crash only once the existing records verify,
 * and closed with a record signed by the offline transfer key and co-signed by witnesses.
 *
 * Crash policy (docs/transcript.md): a record whose line lacks its newline was never acknowledged
 * to the caller. On resume such a torn last line is copied to a side file
 * `<transcript>.torn-<seq>-<sha256 prefix>` (exclusive create, fsynced), cut from the transcript,
 * and the `transcript.resumed` record names the side file with the bytes' size and SHA-256, so
 * nothing is lost and the cut is itself on the record. `tornTail: 'refuse'` stops instead.
 *
 * Must never: rewrite or truncate a complete record, append to a transcript that does not verify or
 * is closed, write a closing record whose signatures do not verify, follow a symlink, or run two
 * writers on one file unnoticed (the file's size and identity are checked before every append).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { SignAlgorithm, Signer } from '../crypto/signer.ts';
import { verifySignature } from '../crypto/signer.ts';
import { CoreError } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import { closingBodyBytes, parseSignerEntries, type SignerEntry, type SignerKind } from './closing.ts';
import { dataProblems, decodeLine, encodeRecord, formatRecordTime, GENESIS_PREV, isSha256Hex, MAX_RECORD_BYTES, MAX_TRANSCRIPT_BYTES, RESERVED_TYPES, sha256Hex, TRANSCRIPT_FORMAT, type JsonObject, type TranscriptRecord } from './record.ts';
import { isCeremonyId, verifyTranscript } from './verify.ts';

/** What the runner records: who, in which role, what, with which details. */
export interface TranscriptEntry {
  actor: string;
  role: string;
  /** Dotted lower-case type, e.g. `step.started`; `transcript.*` types are the writer's own. */
  type: string;
  /** Plain JSON details (no Buffers or Dates: convert them to hex/base64 and ISO strings). */
  data?: Record<string, unknown>;
}

/** Where the new transcript's first record links to. */
export interface PreviousTranscript {
  /** Hash of the previous transcript's last record (its head). */
  head: string;
  /** The previous ceremony's id, for the reader. */
  ceremony?: string;
  /** How many records it had, for the reader. */
  records?: number;
}

/** Options for {@link createTranscript}. */
export interface CreateTranscriptOptions {
  /** Ceremony id (letters, digits, `.`, `_`, `:`, `-`). */
  ceremony: string;
  rehearsal: boolean;
  /** The previous ceremony's transcript head, or `null` for the first ceremony of the CA (genesis). */
  previous: PreviousTranscript | null;
  /** Who opens it (usually the ceremony administrator). */
  actor: string;
  role: string;
  /** More opening details: script name and SHA-256, site, title (`format`, `ceremony`, `previous` are reserved). */
  data?: Record<string, unknown>;
  /** Time source (default: the system clock). */
  clock?: () => Date;
}

/** Options for {@link openTranscript}. */
export interface ResumeTranscriptOptions {
  actor: string;
  role: string;
  /** Details for the `transcript.resumed` record (e.g. `{ reason: 'process restarted' }`; `tornTail` is reserved). */
  data?: Record<string, unknown>;
  /** When known, the hash record 1 must link to (checked before anything is appended). */
  previousHead?: string;
  /** What to do with an incomplete last line: set it aside (default) or refuse to resume. */
  tornTail?: 'set-aside' | 'refuse';
  clock?: () => Date;
}

/** A closing signer described by its public half (for {@link TranscriptWriter.prepareClose}). */
export interface ClosingSignerInfo {
  kind: SignerKind;
  /** Person or key name shown in the report. */
  name: string;
  role: string;
  algorithm: SignAlgorithm;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** Certificate DER (e.g. the transfer key's self-signed certificate), embedded for auditors. */
  certificate?: Uint8Array;
}

/** A closing signer with its key (for {@link TranscriptWriter.close}). */
export interface CloseSigner {
  kind: SignerKind;
  name: string;
  role: string;
  /** HSM signer for the transfer key, software signer for a witness's approval key. */
  signer: Signer;
  certificate?: Uint8Array;
}

/** How the ceremony ended. */
export type CeremonyOutcome = 'completed' | 'aborted';

/** Options shared by {@link TranscriptWriter.prepareClose} and {@link TranscriptWriter.close}. */
export interface CloseBase {
  actor: string;
  role: string;
  outcome: CeremonyOutcome;
  /** More closing details (`outcome`, `signers` are reserved). */
  data?: Record<string, unknown>;
  /** Fewest witness co-signers accepted (default 1). */
  minWitnesses?: number;
}

/** A closing record prepared for signing (two-phase close: signers may sign elsewhere). */
export interface ClosingDraft {
  /** The closing record without signatures. */
  readonly record: TranscriptRecord;
  /** The exact bytes each signer signs (canonical JSON of `record`). */
  readonly body: Buffer;
  readonly signers: readonly SignerEntry[];
}

/** A signature over a {@link ClosingDraft}'s body. */
export interface DraftSignature {
  spkiSha256: string;
  signature: Uint8Array;
}

/** What {@link openTranscript} found and did. */
export interface ResumeInfo {
  /** Records that verified before resuming. */
  records: number;
  /** The last of them (what the runner reconciles its state with). */
  last: TranscriptRecord;
  /** The incomplete last line that was set aside, if any. */
  tornTail?: { line: number; bytes: number; sha256: string; savedAs: string };
}

const writeOwn = Symbol('writeOwn');
const construct = Symbol('construct');

function ioError(e: unknown, what: string, path: string): CoreError {
  const code = (e as { code?: string }).code;
  if (code === 'EEXIST') return new CoreError('ERR_ALREADY_EXISTS', `${path} already exists; a transcript is never overwritten. Resume it, or choose another ceremony folder`, { cause: e, details: { path } });
  if (code === 'ENOENT') return new CoreError('ERR_NOT_FOUND', `${path} does not exist`, { cause: e, details: { path } });
  if (code === 'ELOOP') return new CoreError('ERR_TRANSCRIPT_INVALID', `${path} is a symbolic link; transcripts are regular files`, { cause: e, details: { path } });
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CoreError('ERR_IO', `no space left on the device while ${what} ${path}`, { cause: e, details: { path, errno: code } });
  return new CoreError('ERR_IO', `${what} ${path} failed (${code ?? 'error'})`, { cause: e, details: { path, errno: code ?? null } });
}

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

function checkEntryFields(actor: unknown, role: unknown, type: unknown, data: unknown, reservedKeys: readonly string[]): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new TypeError('transcript data must be a plain object');
  for (const k of reservedKeys) if (Object.hasOwn(data, k)) throw new TypeError(`transcript data key '${k}' is reserved for the writer`);
  const probeType = (RESERVED_TYPES as readonly unknown[]).includes(type) ? 'writer.probe' : type;
  const probe: TranscriptRecord = { seq: 1, time: '2000-01-01T00:00:00.000Z', actor: actor as string, role: role as string, type: probeType as string, data: data as JsonObject, rehearsal: false, prev: GENESIS_PREV };
  // encodeRecord runs the same schema and data checks the verifier runs.
  encodeRecord(probe);
}

function readAllFd(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * An open transcript. Obtain one with {@link createTranscript} or {@link openTranscript}; one
 * writer per file (the runner's state lock guarantees it; the writer also detects a second writer).
 */
export class TranscriptWriter {
  /** The transcript file. */
  readonly path: string;
  /** The ceremony id from the opening record. */
  readonly ceremony: string;
  /** Whether every record is marked as rehearsal. */
  readonly rehearsal: boolean;
  #fd: number | null;
  #size: number;
  #ino: number;
  #seq: number;
  #head: string;
  #closed = false;
  #broken = false;
  #clock: () => Date;

  /** @internal Use {@link createTranscript} or {@link openTranscript}; the token keeps others out. */
  constructor(token: symbol, state: { path: string; fd: number; size: number; ino: number; seq: number; head: string; ceremony: string; rehearsal: boolean; clock: () => Date }) {
    if (token !== construct) throw new TypeError('use createTranscript() or openTranscript() to obtain a TranscriptWriter');
    this.path = state.path;
    this.#fd = state.fd;
    this.#size = state.size;
    this.#ino = state.ino;
    this.#seq = state.seq;
    this.#head = state.head;
    this.ceremony = state.ceremony;
    this.rehearsal = state.rehearsal;
    this.#clock = state.clock;
  }

  /** `seq` of the last record written. */
  get seq(): number {
    return this.#seq;
  }

  /** Hash of the last record written (what the next record's `prev` will be). */
  get head(): string {
    return this.#head;
  }

  /** True once the closing record is written. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Size of the file in bytes. */
  get size(): number {
    return this.#size;
  }

  #ready(): number {
    if (this.#closed) throw new CoreError('ERR_TRANSCRIPT_CLOSED', `${this.path} is closed; a closed transcript never grows. A new ceremony starts a new transcript`, { details: { path: this.path } });
    if (this.#broken || this.#fd === null) {
      throw new CoreError('ERR_IO', `the writer of ${this.path} is no longer usable (released, or a failed write could not be undone); resume the ceremony to continue`, { details: { path: this.path } });
    }
    return this.#fd;
  }

  #build(entry: TranscriptEntry, extra: Record<string, unknown> = {}): TranscriptRecord {
    return {
      seq: this.#seq + 1,
      time: formatRecordTime(this.#clock()),
      actor: entry.actor,
      role: entry.role,
      type: entry.type,
      data: { ...(entry.data ?? {}), ...extra } as JsonObject,
      rehearsal: this.rehearsal,
      prev: this.#head,
    };
  }

  /** Writes one record line, fsyncs; on failure restores the previous size so no partial line stays. */
  #write(record: TranscriptRecord): TranscriptRecord {
    const fd = this.#ready();
    const text = encodeRecord(record);
    // The verifier must accept exactly what we write: decode our own line with its rules.
    const self = decodeLine(Buffer.from(text, 'utf8'));
    if (!self.ok) throw new CoreError('ERR_INPUT_INVALID', `transcript record ${record.seq} would not verify: ${self.problem}`, { details: { seq: record.seq } });
    const line = Buffer.from(`${text}\n`, 'utf8');
    const st = fstatSync(fd);
    let onDisk: number | undefined;
    try {
      onDisk = lstatSync(this.path).ino;
    } catch {
      onDisk = undefined;
    }
    if (st.size !== this.#size || onDisk !== this.#ino) {
      this.#broken = true;
      throw new CoreError('ERR_TRANSCRIPT_INVALID', `${this.path} was changed by someone else (expected ${this.#size} bytes, found ${st.size}${onDisk === this.#ino ? '' : '; the file was replaced or moved'}); nothing was appended. Verify it before going on`, {
        details: { path: this.path, expected: this.#size, found: st.size },
      });
    }
    try {
      writeAll(fd, line);
      fsyncSync(fd);
    } catch (e) {
      try {
        ftruncateSync(fd, this.#size);
        fsyncSync(fd);
      } catch {
        this.#broken = true;
      }
      throw ioError(e, 'appending to', this.path);
    }
    this.#size += line.length;
    this.#seq = record.seq;
    this.#head = sha256Hex(text);
    return record;
  }

  /**
   * Appends one record and fsyncs it before returning.
   * @throws {CoreError} ERR_INPUT_INVALID (bad actor, role, type or data; a private key in data),
   * ERR_INPUT_TOO_LARGE, ERR_TRANSCRIPT_CLOSED, ERR_TRANSCRIPT_INVALID (file changed behind the
   * writer), ERR_IO (nothing is left half-written)
   * @throws {TypeError} for a `transcript.*` type, which only the writer writes
   */
  append(entry: TranscriptEntry): TranscriptRecord {
    if ((RESERVED_TYPES as readonly string[]).includes(entry.type)) throw new TypeError(`record type ${entry.type} is written by the transcript writer itself`);
    this.#ready();
    checkEntryFields(entry.actor, entry.role, entry.type, entry.data ?? {}, []);
    return this.#write(this.#build(entry));
  }

  /**
   * Builds the closing record and the bytes to sign, without writing anything. Signers listed here
   * are part of the signed body; each must sign {@link ClosingDraft.body}.
   * @throws {CoreError} ERR_INPUT_INVALID (no transfer key, too few witnesses, a key listed twice),
   * ERR_TRANSCRIPT_CLOSED, ERR_IO
   */
  prepareClose(options: CloseBase & { signers: readonly ClosingSignerInfo[] }): ClosingDraft {
    this.#ready();
    const entries: SignerEntry[] = options.signers.map((s) => {
      const spki = Buffer.from(s.spki);
      const e: SignerEntry = { kind: s.kind, name: s.name, role: s.role, algorithm: s.algorithm, spki: spki.toString('base64'), spkiSha256: sha256Hex(spki) };
      if (s.certificate !== undefined) {
        const der = Buffer.from(s.certificate);
        e.certificate = der.toString('base64');
        e.certificateSha256 = sha256Hex(der);
      }
      return e;
    });
    if (options.outcome !== 'completed' && options.outcome !== 'aborted') throw new TypeError("outcome must be 'completed' or 'aborted'");
    const parsed = parseSignerEntries(entries, options.outcome);
    if (!parsed.ok) throw new CoreError('ERR_INPUT_INVALID', `cannot close ${this.path}: ${parsed.problem}`, { details: { path: this.path } });
    const minWitnesses = options.minWitnesses ?? 1;
    const witnesses = entries.filter((e) => e.kind === 'witness').length;
    if (witnesses < minWitnesses) throw new CoreError('ERR_INPUT_INVALID', `cannot close ${this.path}: ${witnesses} witness co-signer(s), at least ${minWitnesses} required`, { details: { witnesses, minWitnesses } });
    checkEntryFields(options.actor, options.role, 'transcript.closed', options.data ?? {}, ['outcome', 'signers']);
    const record = this.#build({ actor: options.actor, role: options.role, type: 'transcript.closed', data: options.data ?? {} }, { outcome: options.outcome, signers: entries });
    const problems = dataProblems(record.data);
    if (problems.length > 0) throw new CoreError('ERR_INPUT_INVALID', `cannot close ${this.path}: ${problems.join('; ')}`);
    return Object.freeze({ record, body: closingBodyBytes(record), signers: Object.freeze(entries) });
  }

  /**
   * Writes a prepared closing record with its signatures after checking every one of them; then
   * the file is closed for good.
   * @throws {CoreError} ERR_TRANSCRIPT_SIGNATURE_INVALID (a signature missing, extra or not
   * verifying: nothing is written), ERR_TRANSCRIPT_INVALID (the transcript grew since the draft),
   * ERR_TRANSCRIPT_CLOSED, ERR_IO
   */
  commitClose(draft: ClosingDraft, signatures: readonly DraftSignature[]): TranscriptRecord {
    this.#ready();
    if (draft.record.seq !== this.#seq + 1 || draft.record.prev !== this.#head) {
      throw new CoreError('ERR_TRANSCRIPT_INVALID', `the closing draft for ${this.path} was prepared at record ${draft.record.seq - 1}, but the transcript has moved on to record ${this.#seq}; prepare the close again`, { details: { path: this.path } });
    }
    const sigs: Array<{ spkiSha256: string; signature: string }> = [];
    for (const entry of draft.signers) {
      const mine = signatures.filter((s) => s.spkiSha256 === entry.spkiSha256);
      if (mine.length !== 1) throw new CoreError('ERR_TRANSCRIPT_SIGNATURE_INVALID', `${entry.kind} '${entry.name}' must sign the closing record exactly once (got ${mine.length}); nothing was written`, { details: { spkiSha256: entry.spkiSha256 } });
      const sig = Buffer.from((mine[0] as DraftSignature).signature);
      if (!verifySignature(entry.algorithm, Buffer.from(entry.spki, 'base64'), draft.body, sig)) {
        throw new CoreError('ERR_TRANSCRIPT_SIGNATURE_INVALID', `the signature of ${entry.kind} '${entry.name}' (SHA-256 of SPKI ${entry.spkiSha256}) does not verify over the closing record; nothing was written`, { details: { spkiSha256: entry.spkiSha256 } });
      }
      sigs.push({ spkiSha256: entry.spkiSha256, signature: sig.toString('base64') });
    }
    const extra = signatures.find((s) => !draft.signers.some((e) => e.spkiSha256 === s.spkiSha256));
    if (extra !== undefined) throw new CoreError('ERR_TRANSCRIPT_SIGNATURE_INVALID', `a signature by key ${extra.spkiSha256} is not from a listed signer; nothing was written`, { details: { spkiSha256: extra.spkiSha256 } });
    const record = this.#write({ ...draft.record, data: draft.record.data, signatures: sigs });
    this.#closed = true;
    this.#release();
    return record;
  }

  /**
   * Closes the transcript: prepares the closing record, has every signer sign it (the transfer key
   * in the HSM, the witnesses' approval keys), checks the signatures, writes it, closes the file.
   * @throws {CoreError} as {@link prepareClose} and {@link commitClose}, and the signer's own errors
   * (ERR_HSM_*)
   */
  close(options: CloseBase & { signers: readonly CloseSigner[] }): TranscriptRecord {
    const draft = this.prepareClose({ ...options, signers: options.signers.map((s) => ({ kind: s.kind, name: s.name, role: s.role, algorithm: s.signer.algorithm, spki: s.signer.spki, ...(s.certificate === undefined ? {} : { certificate: s.certificate }) })) });
    const signatures = options.signers.map((s, i) => ({ spkiSha256: (draft.signers[i] as SignerEntry).spkiSha256, signature: s.signer.sign(draft.body) }));
    return this.commitClose(draft, signatures);
  }

  #release(): void {
    if (this.#fd !== null) {
      closeSync(this.#fd);
      this.#fd = null;
    }
  }

  /** Closes the file without a closing record (process shutdown; {@link openTranscript} resumes). */
  release(): void {
    this.#release();
  }

  /** @internal Writes one of the writer's own record types (module-private through the symbol). */
  [writeOwn](type: 'transcript.resumed', entry: { actor: string; role: string; data: Record<string, unknown> }): TranscriptRecord {
    return this.#write(this.#build({ actor: entry.actor, role: entry.role, type, data: entry.data }));
  }
}

/**
 * Creates a new transcript holding its opening record. The file appears atomically with the
 * record (written to a temporary file, fsynced, hard-linked into place, which fails if the name
 * exists); on file systems without hard links it is created with O_EXCL and written at once.
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_INPUT_INVALID (ceremony id, actor, role, data),
 * ERR_IO
 */
export function createTranscript(path: string, options: CreateTranscriptOptions): TranscriptWriter {
  if (!isCeremonyId(options.ceremony)) throw new CoreError('ERR_INPUT_INVALID', `'${String(options.ceremony).slice(0, 80)}' is not a valid ceremony id (letters, digits, '.', '_', ':', '-'; at most 128)`);
  if (options.previous !== null && !isSha256Hex(options.previous.head)) throw new CoreError('ERR_INPUT_INVALID', 'the previous transcript head must be 64 lower-case hex digits');
  const clock = options.clock ?? ((): Date => new Date());
  checkEntryFields(options.actor, options.role, 'transcript.opened', options.data ?? {}, ['format', 'ceremony', 'previous']);
  const previous = options.previous === null ? null : { ...options.previous };
  const record: TranscriptRecord = {
    seq: 1,
    time: formatRecordTime(clock()),
    actor: options.actor,
    role: options.role,
    type: 'transcript.opened',
    data: { ...(options.data ?? {}), format: TRANSCRIPT_FORMAT, ceremony: options.ceremony, previous } as JsonObject,
    rehearsal: options.rehearsal,
    prev: previous === null ? GENESIS_PREV : previous.head,
  };
  const text = encodeRecord(record);
  const line = Buffer.from(`${text}\n`, 'utf8');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let tmpFd: number;
  try {
    tmpFd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    throw ioError(e, 'creating', path);
  }
  let linked = false;
  try {
    writeAll(tmpFd, line);
    fsyncSync(tmpFd);
    closeSync(tmpFd);
    try {
      linkSync(tmp, path);
      linked = true;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to remove
    }
    throw ioError(e, 'creating', path);
  }
  unlinkSync(tmp);
  if (!linked) writeFileExclusive(path, line, 0o644);
  fsyncDir(dir);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
  } catch (e) {
    throw ioError(e, 'opening', path);
  }
  const st = fstatSync(fd);
  if (st.size !== line.length) {
    closeSync(fd);
    throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} changed while it was being created; verify it`, { details: { path } });
  }
  return new TranscriptWriter(construct, { path, fd, size: st.size, ino: st.ino, seq: 1, head: sha256Hex(text), ceremony: options.ceremony, rehearsal: options.rehearsal, clock });
}

/**
 * Reopens an existing, unclosed transcript to append more records: verifies every complete record
 * first (refusing a transcript that was tampered with), sets aside an incomplete last line left by
 * a crash (see the module comment), and appends a `transcript.resumed` record.
 * @throws {CoreError} ERR_NOT_FOUND, ERR_TRANSCRIPT_CLOSED, ERR_TRANSCRIPT_INVALID (not a regular
 * file, torn tail refused or too large, no record), ERR_INPUT_TOO_LARGE, any verification error
 * (ERR_TRANSCRIPT_RECORD_CHANGED, _MISSING, _INSERTED, _REORDERED, ERR_TRANSCRIPT_CHAIN_BROKEN),
 * ERR_ALREADY_EXISTS (a different side file of the same name exists), ERR_IO
 */
export function openTranscript(path: string, options: ResumeTranscriptOptions): { writer: TranscriptWriter; resumed: ResumeInfo } {
  const clock = options.clock ?? ((): Date => new Date());
  checkEntryFields(options.actor, options.role, 'transcript.resumed', options.data ?? {}, ['tornTail']);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_NOFOLLOW);
  } catch (e) {
    throw ioError(e, 'opening', path);
  }
  let handedOver = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} is not a regular file`, { details: { path } });
    if (st.size > MAX_TRANSCRIPT_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `${path} is ${st.size} bytes; transcripts are at most ${MAX_TRANSCRIPT_BYTES} bytes`, { details: { path, bytes: st.size } });
    const bytes = readAllFd(fd, st.size);
    const cut = bytes.lastIndexOf(0x0a) + 1;
    const complete = bytes.subarray(0, cut);
    const torn = bytes.subarray(cut);
    const v = verifyTranscript(complete, { source: path, ...(options.previousHead === undefined ? {} : { previousHead: options.previousHead }) });
    if (v.problem === undefined || v.closed) throw new CoreError('ERR_TRANSCRIPT_CLOSED', `${path} is closed (record ${v.records.length}); a closed transcript is never resumed. Start a new ceremony`, { details: { path } });
    if (v.problem.code !== 'ERR_TRANSCRIPT_NOT_CLOSED') throw v.problem;
    const last = v.records[v.records.length - 1] as TranscriptRecord;
    const resumed: ResumeInfo = { records: v.records.length, last };
    if (torn.length > 0) {
      if (options.tornTail === 'refuse') {
        throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} ends with an incomplete line (line ${last.seq + 1}, ${torn.length} bytes): a write was interrupted. Records 1-${last.seq} verify. Resume without refusing torn tails to set it aside`, { details: { path, line: last.seq + 1, bytes: torn.length } });
      }
      if (torn.length >= MAX_RECORD_BYTES) {
        throw new CoreError('ERR_TRANSCRIPT_INVALID', `${path} ends with ${torn.length} bytes without a newline, more than any record; this is not an interrupted write. Records 1-${last.seq} verify; inspect the file`, { details: { path, bytes: torn.length } });
      }
      const digest = sha256Hex(torn);
      const side = `${path}.torn-${last.seq + 1}-${digest.slice(0, 12)}`;
      let existing: Buffer | undefined;
      try {
        existing = readFileSync(side);
      } catch {
        existing = undefined;
      }
      if (existing === undefined) writeFileExclusive(side, torn, 0o644);
      else if (!existing.equals(torn)) throw new CoreError('ERR_ALREADY_EXISTS', `${side} exists with other content; move it away and resume again`, { details: { path: side } });
      try {
        ftruncateSync(fd, cut);
        fsyncSync(fd);
      } catch (e) {
        throw ioError(e, 'cutting the incomplete last line of', path);
      }
      resumed.tornTail = { line: last.seq + 1, bytes: torn.length, sha256: digest, savedAs: basename(side) };
    } else {
      // A crash between setting a torn line aside and recording it leaves the side file unrecorded.
      const prefix = `${basename(path)}.torn-${last.seq + 1}-`;
      const found = readdirSync(dirname(path)).find((f) => f.startsWith(prefix));
      if (found !== undefined) {
        const kept = readFileSync(join(dirname(path), found));
        resumed.tornTail = { line: last.seq + 1, bytes: kept.length, sha256: sha256Hex(kept), savedAs: found };
      }
    }
    const st2 = fstatSync(fd);
    handedOver = true;
    const writer = new TranscriptWriter(construct, { path, fd, size: st2.size, ino: st2.ino, seq: last.seq, head: v.head as string, ceremony: v.ceremony as string, rehearsal: v.rehearsal as boolean, clock });
    try {
      writer[writeOwn]('transcript.resumed', { actor: options.actor, role: options.role, data: { ...(options.data ?? {}), ...(resumed.tornTail === undefined ? {} : { tornTail: resumed.tornTail }) } });
    } catch (e) {
      writer.release();
      throw e;
    }
    return { writer, resumed };
  } catch (e) {
    if (!handedOver) closeSync(fd);
    throw e;
  }
}
