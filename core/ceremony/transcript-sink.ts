/**
 * @module ceremony/transcript-sink
 * The port through which the runner writes the ceremony transcript (design brief §5). The runner
 * keeps its own journal in the ceremony database and feeds every committed journal entry to the
 * sink, so the transcript can be rebuilt up to the last committed entry after a crash: on resume the
 * runner asks the sink which journal entry it holds last and appends the missing ones. The real
 * hash-chained, signed transcript (core/transcript) implements this port.
 *
 * Must never: receive a secret (journal entries never hold one).
 */
import type { CeremonyInfo } from './actions/types.ts';
import type { JsonObject } from './types.ts';

/** One journal entry as handed to the transcript. */
export interface TranscriptEntry {
  /** The runner's journal sequence number (1, 2, …), for replay after a crash. */
  journalSeq: number;
  /** UTC time (ISO 8601). */
  at: string;
  actor: string;
  role: string;
  type: string;
  step: string | null;
  data: JsonObject;
  rehearsal: boolean;
}

/** What the transcript needs to close. */
export interface TranscriptClosing {
  at: string;
  outcome: 'completed' | 'aborted';
  /** Hash of the token inventory at the end, when a token was used. */
  inventorySha256: string | null;
  summary: JsonObject;
}

/** A ceremony transcript being written. */
export interface TranscriptSink {
  /** Highest journal sequence number already in the transcript (0 when empty). */
  lastJournalSeq(): number;
  /** Appends one entry (entries arrive in journal order, without gaps). */
  append(entry: TranscriptEntry): void;
  /** Writes the closing record (signed by the transfer key and witnesses in the real transcript). */
  close(closing: TranscriptClosing): Promise<void>;
  /** True once the closing record is written. */
  isClosed(): boolean;
}

/** Opens (or creates) the transcript of a ceremony. */
export type TranscriptSinkFactory = (ceremony: CeremonyInfo) => TranscriptSink;
