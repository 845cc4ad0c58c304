/**
 * @module ceremony/transcript-sink
 * The port through which the runner writes the ceremony transcript (design brief §5). The runner
 * keeps its own journal in the ceremony database and feeds every committed journal entry to the
 * sink, so the transcript can be completed up to the last committed entry after a crash: on resume
 * the runner asks the sink which journal entry it holds last and appends the missing ones. The
 * hash-chained, signed transcript file (ceremony/transcript-file.ts over core/transcript)
 * implements it.
 *
 * Must never: receive a secret (journal entries never hold one).
 */
import type { CloseSigner, PreviousTranscript } from '../transcript/index.ts';
import type { CeremonyInfo } from './actions/types.ts';
import type { JsonObject } from './types.ts';

/** One journal entry as handed to the transcript. */
export interface TranscriptEntry {
  /** The runner's journal sequence number (1, 2, …), for replay after a crash. */
  journalSeq: number;
  /** UTC time the journal recorded it (ISO 8601). */
  at: string;
  actor: string;
  role: string;
  type: string;
  step: string | null;
  data: JsonObject;
  rehearsal: boolean;
  /** True when appended after a crash from the journal (the transcript then also keeps `at`). */
  replayed?: boolean;
}

/** What closing the transcript needs. */
export interface TranscriptClosingRequest {
  /** Who closes it (the administrator). */
  actor: string;
  role: string;
  outcome: 'completed' | 'aborted';
  /** Hash of the token inventory at the end, when a token was used. */
  inventorySha256: string | null;
  summary: JsonObject;
  /** The offline transfer key (in the HSM) and the co-signers' approval keys. */
  signers: CloseSigner[];
  /** Fewest co-signers (witness signatures) the script requires. */
  minWitnesses: number;
}

/** A ceremony transcript being written. */
export interface TranscriptSink {
  /** Highest journal sequence number already in the transcript (0 when none). */
  lastJournalSeq(): number;
  /** Appends one entry (entries arrive in journal order, without gaps). */
  append(entry: TranscriptEntry): void;
  /** Writes the signed closing record. */
  close(closing: TranscriptClosingRequest): Promise<void>;
  /** True once the closing record is written. */
  isClosed(): boolean;
  /** Lets go of the file without closing the transcript (end of a process run). */
  release(): void;
}

/**
 * Opens (or creates) the transcript of a ceremony; `who` is recorded as its opener. `previous` is
 * given when a new ceremony starts: the head of the CA's previous transcript (null for the first
 * ceremony of the CA folder), which record 1 links to.
 */
export type TranscriptSinkFactory = (ceremony: CeremonyInfo, who: { actor: string; role: string }, previous?: PreviousTranscript | null) => TranscriptSink;
