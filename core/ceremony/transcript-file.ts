/**
 * @module ceremony/transcript-file
 * The ceremony's transcript on disk: the runner's {@link TranscriptSink} port implemented with
 * core/transcript (append-only, hash-chained JSON lines in `<ceremony>/transcript.jsonl`, signed
 * closing record). Journal entries become transcript records in the shapes the report understands
 * (`data.step`, `data.error`, outputs), each carrying its journal sequence number so a resumed
 * runner can append exactly the entries a crash kept from the transcript. The first record links
 * to the head of the previous ceremony of the same CA folder, so the CA's history is one chain.
 *
 * Must never: write a secret (journal entries hold none), or start a ceremony while an earlier one
 * in the same CA folder is still running (the chain would fork).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { CoreError, isCoreError } from '../errors.ts';
import { createTranscript, openTranscript, verifyTranscriptFile, type PreviousTranscript, type TranscriptRecord, type TranscriptWriter } from '../transcript/index.ts';
import type { CeremonyInfo } from './actions/types.ts';
import { CEREMONY_FILES } from './layout.ts';
import { CeremonyState } from './state.ts';
import type { TranscriptClosingRequest, TranscriptEntry, TranscriptSink, TranscriptSinkFactory } from './transcript-sink.ts';
import type { JsonObject } from './types.ts';

/** Highest journal sequence number carried by the records of a transcript. */
function lastJournalSeqOf(records: readonly TranscriptRecord[]): number {
  let last = 0;
  for (const r of records) {
    const s = (r.data as Record<string, unknown>)['journalSeq'];
    if (typeof s === 'number' && Number.isInteger(s) && s > last) last = s;
  }
  return last;
}

/** Transcript data for a journal entry, in the report's conventions (docs/transcript.md). */
function recordData(entry: TranscriptEntry): JsonObject {
  const data: JsonObject = { ...entry.data };
  if (entry.step !== null) data['step'] = entry.step;
  if (entry.type === 'step.failed' && typeof entry.data['code'] === 'string') {
    data['error'] = { code: entry.data['code'], message: String(entry.data['message'] ?? '') };
    delete data['code'];
    delete data['message'];
  }
  data['journalSeq'] = entry.journalSeq;
  if (entry.replayed === true) data['journalAt'] = entry.at;
  return data;
}

/**
 * The transcript head the new ceremony of `caHome` links to: that of the latest earlier ceremony
 * (completed, or aborted), or `null` for the CA's first ceremony.
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID (an earlier ceremony is still running, or its
 *   transcript is missing or does not verify)
 */
export function previousTranscript(caHome: string): PreviousTranscript | null {
  const base = join(caHome, 'ceremonies');
  if (!existsSync(base)) return null;
  const folders = readdirSync(base)
    .filter((n) => statSync(join(base, n)).isDirectory() && existsSync(join(base, n, CEREMONY_FILES.db)))
    .sort();
  let previous: PreviousTranscript | null = null;
  for (const name of folders) {
    const dir = join(base, name);
    const state = CeremonyState.open(join(dir, CEREMONY_FILES.db));
    let status: string;
    try {
      status = state.ceremony().status;
    } finally {
      state.close();
    }
    if (status === 'running') {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `ceremony ${name} in ${base} is still running; resume it or abort it before starting another (the CA's transcripts form one chain)`, { details: { dir } });
    }
    const path = join(dir, CEREMONY_FILES.transcript);
    if (!existsSync(path)) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `ceremony ${name} has no transcript (${path}); the chain of the CA's transcripts cannot continue from it`, { details: { dir } });
    }
    // The chain continues from a closed transcript, or from an aborted ceremony's intact one that
    // no signer could close; the signatures themselves are checked by `neam-ca transcript verify`.
    const v = verifyTranscriptFile(path, { minWitnesses: 0 });
    if (!v.intact || v.head === undefined) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the transcript of ceremony ${name} does not verify (${v.problem?.message ?? 'unknown problem'}); investigate before any further ceremony`, { cause: v.problem, details: { dir } });
    }
    previous = { head: v.head, ceremony: v.ceremony ?? name, records: v.records.length };
  }
  return previous;
}

/** Options of {@link fileTranscript}. */
export interface FileTranscriptOptions {
  /** More opening data. */
  opening?: JsonObject;
  clock?: () => Date;
}

class FileTranscript implements TranscriptSink {
  readonly #writer: TranscriptWriter | undefined;
  #last: number;
  #closed: boolean;

  constructor(writer: TranscriptWriter | undefined, last: number, closed: boolean) {
    this.#writer = writer;
    this.#last = last;
    this.#closed = closed;
  }

  lastJournalSeq(): number {
    return this.#last;
  }

  append(entry: TranscriptEntry): void {
    if (this.#writer === undefined) throw new CoreError('ERR_TRANSCRIPT_CLOSED', 'the ceremony transcript is closed; nothing more can be recorded');
    this.#writer.append({ actor: entry.actor, role: entry.role, type: entry.type, data: recordData(entry) });
    this.#last = entry.journalSeq;
  }

  async close(closing: TranscriptClosingRequest): Promise<void> {
    if (this.#writer === undefined) throw new CoreError('ERR_TRANSCRIPT_CLOSED', 'the ceremony transcript is already closed');
    this.#writer.close({
      actor: closing.actor,
      role: closing.role,
      outcome: closing.outcome,
      minWitnesses: closing.minWitnesses,
      data: { ...closing.summary, inventorySha256: closing.inventorySha256 },
      signers: closing.signers,
    });
    this.#closed = true;
    return Promise.resolve();
  }

  isClosed(): boolean {
    return this.#closed;
  }

  release(): void {
    if (!this.#closed) this.#writer?.release();
  }
}

/**
 * The transcript factory the runner uses: creates `<ceremony>/transcript.jsonl` for a new
 * ceremony, or reopens it (verifying every record; a torn last line is set aside by
 * core/transcript) for resume and abort.
 * @throws {CoreError} ERR_TRANSCRIPT_* when an existing transcript does not verify, ERR_IO
 */
export function fileTranscript(options: FileTranscriptOptions = {}): TranscriptSinkFactory {
  return (ceremony: CeremonyInfo, who: { actor: string; role: string }, previous?: PreviousTranscript | null) => {
    const path = join(ceremony.dir, CEREMONY_FILES.transcript);
    const clock = options.clock ?? ((): Date => new Date());
    if (!existsSync(path)) {
      const writer = createTranscript(path, { ceremony: ceremony.id, rehearsal: ceremony.rehearsal, previous: previous ?? null, actor: who.actor, role: who.role, data: { ...(options.opening ?? {}), uuid: ceremony.uuid, type: ceremony.type }, clock });
      return new FileTranscript(writer, 0, false);
    }
    const v = verifyTranscriptFile(path, { minWitnesses: 0 });
    if (v.closed && v.intact) return new FileTranscript(undefined, lastJournalSeqOf(v.records), true);
    try {
      const { writer, resumed } = openTranscript(path, { actor: who.actor, role: who.role, data: { reason: 'the ceremony runner started again (resume or abort)' }, clock });
      return new FileTranscript(writer, Math.max(lastJournalSeqOf(v.records), lastJournalSeqOf([resumed.last])), false);
    } catch (e) {
      if (isCoreError(e, 'ERR_TRANSCRIPT_CLOSED')) return new FileTranscript(undefined, lastJournalSeqOf(v.records), true);
      throw e;
    }
  };
}
