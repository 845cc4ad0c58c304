/**
 * @module transcript/verify
 * Verifies a transcript's bytes: file-level sanity (size, BOM, CRLF), every line decoded strictly,
 * the hash chain from the first record (and, when given, from the previous ceremony's head), the
 * closing record's signatures and pins. It names the **first** problem precisely: which record was
 * changed, which are missing, which line was inserted, which records were reordered. Pure: bytes
 * in, a result out; never throws for bad input.
 *
 * How the diagnosis works: every record carries its 1-based `seq` and the hash of its predecessor.
 * Walking the lines, a record is accepted when its `seq` is the next one and its `prev` is the hash
 * of the last accepted line. At the first line that is not accepted:
 *  - a line byte-identical to another line is an inserted copy;
 *  - if the record that should come next (right `seq`, right `prev`) is found further down, the
 *    line in its place is out of order when it belongs to the chain (some line links to it or it
 *    links to some line), and inserted otherwise;
 *  - a record that links to its predecessor but carries the wrong `seq` or breaks a positional
 *    rule was changed;
 *  - a record with the expected `seq` whose `prev` does not match: the predecessor was changed when
 *    this record is itself intact (its successor links to it, or it is the closing record and its
 *    signatures verify), else this record was changed;
 *  - a `seq` that jumps ahead, with the skipped numbers found nowhere: those records are missing;
 *  - a `seq` that goes back: a forged branch (the first record of the dead branch is named) or an
 *    inserted stale record.
 * Limits (inherent to any hash chain, documented in docs/transcript.md): records removed from the
 * end of an unclosed transcript, or appended to it, cannot be detected without a known head.
 *
 * Must never: report a transcript as verified when any byte of it differs from what the writer
 * wrote, or check signatures of a closing record that does not sit at the end of an intact chain.
 */
import { CoreError, type CoreErrorCode } from '../errors.ts';
import { checkClosingSignatures, type SignerCheck, type SignerPins } from './closing.ts';
import { decodeLine, GENESIS_PREV, isSha256Hex, MAX_TRANSCRIPT_BYTES, sha256Hex, TRANSCRIPT_FORMAT, type DecodedLine, type TranscriptRecord } from './record.ts';

/** How to verify. */
export interface VerifyOptions {
  /**
   * The hash record 1 must link to: the previous ceremony transcript's head, or
   * {@link GENESIS_PREV} for the first ceremony of a CA. When omitted, record 1's own claim is
   * accepted and reported as `previousHead` for the auditor to compare.
   */
  previousHead?: string;
  /** Pinned fingerprints of the transfer key and witness keys. */
  pins?: SignerPins;
  /** Fewest valid witness co-signatures on the closing record (default 1). */
  minWitnesses?: number;
  /** Name of the transcript in messages (a file path). */
  source?: string;
}

/** A line after the first problem, shown to auditors but not trusted. */
export interface UnverifiedLine {
  line: number;
  /** The line as text (lossy UTF-8, at most 4,000 characters). */
  text: string;
  /** The record, when the line decodes as one. */
  record?: TranscriptRecord;
  /** Why the line does not decode, when it does not. */
  problem?: string;
}

/** Everything an auditor needs to know about a transcript. */
export interface TranscriptVerification {
  /** Intact, closed, and the closing signatures verify (and match the pins, when given). */
  ok: boolean;
  /** Every complete line forms one unbroken chain (the problem, if any, is only ERR_TRANSCRIPT_NOT_CLOSED). */
  intact: boolean;
  /** The chain ends with a closing record. */
  closed: boolean;
  /** The first problem (`code`, message naming the record and line, `details`). */
  problem?: CoreError;
  /** The verified records, in order (the prefix before the first problem). */
  records: TranscriptRecord[];
  /** Hash of each verified record (same index as `records`). */
  hashes: string[];
  /** Lines from the first problem on. */
  unverified: UnverifiedLine[];
  /** Complete lines read. */
  lines: number;
  ceremony?: string;
  rehearsal?: boolean;
  /** What record 1 links to (previous ceremony's head, or {@link GENESIS_PREV}). */
  previousHead?: string;
  /** Hash of the last verified record: what the next ceremony's first record links to. */
  head?: string;
  /** Closing signers and their checks (empty unless the chain is intact and closed). */
  signers: SignerCheck[];
  /** An incomplete last line (no newline), as left by an interrupted write. */
  tornTail?: { line: number; bytes: number; sha256: string };
  /** Oddities that do not break integrity (a clock that went back). */
  warnings: string[];
  /** SHA-256 of the whole input. */
  fileSha256: string;
  /** Size of the input. */
  bytes: number;
}

interface Entry {
  line: number;
  bytes: Uint8Array;
  decoded: DecodedLine;
}

/** Most lines a transcript may have (a 64 MiB file of empty lines must not become 64 M records). */
export const MAX_TRANSCRIPT_LINES = 200_000;

const CEREMONY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/u;

/** True when `id` is a valid ceremony id (letters, digits, `.`, `_`, `:`, `-`; at most 128). */
export function isCeremonyId(id: unknown): id is string {
  return typeof id === 'string' && CEREMONY_ID.test(id);
}

/** Problems of an opening record's own content (format, ceremony id, link to the previous head). */
export function openingProblems(r: TranscriptRecord): string[] {
  const problems: string[] = [];
  if (r.type !== 'transcript.opened') problems.push(`record 1 must be the opening record (type transcript.opened), not ${r.type}`);
  if (r.data['format'] !== TRANSCRIPT_FORMAT) problems.push(`data.format must be '${TRANSCRIPT_FORMAT}'`);
  if (!isCeremonyId(r.data['ceremony'])) problems.push('data.ceremony must be a ceremony id');
  const prevInfo = r.data['previous'];
  if (prevInfo === null) {
    if (r.prev !== GENESIS_PREV) problems.push('data.previous is null (first ceremony) but prev is not the genesis value');
  } else if (typeof prevInfo === 'object' && !Array.isArray(prevInfo) && isSha256Hex((prevInfo as Record<string, unknown>)['head'])) {
    if ((prevInfo as Record<string, unknown>)['head'] !== r.prev) problems.push('prev differs from data.previous.head');
  } else problems.push('data.previous must be null or an object with the previous head');
  return problems;
}

function lossyText(bytes: Uint8Array): string {
  const s = Buffer.from(bytes.subarray(0, 16_000)).toString('utf8');
  return s.length > 4000 ? `${s.slice(0, 4000)}…` : s;
}

function claimedSeq(bytes: Uint8Array): number | undefined {
  const m = /"seq":(\d{1,15})[,}]/u.exec(Buffer.from(bytes).toString('latin1'));
  return m === null ? undefined : Number(m[1]);
}

function claimedPrev(bytes: Uint8Array): string | undefined {
  const m = /"prev":"([0-9a-f]{64})"/u.exec(Buffer.from(bytes).toString('latin1'));
  return m === null ? undefined : m[1];
}

/**
 * Verifies a transcript (the bytes of a `.jsonl` file). Never throws: the first problem is in
 * `problem` as a {@link CoreError} with one of ERR_TRANSCRIPT_RECORD_CHANGED, _MISSING, _INSERTED,
 * _REORDERED, ERR_TRANSCRIPT_CHAIN_BROKEN, ERR_TRANSCRIPT_SIGNATURE_INVALID,
 * ERR_TRANSCRIPT_SIGNER_NOT_PINNED, ERR_TRANSCRIPT_NOT_CLOSED, ERR_TRANSCRIPT_INVALID or
 * ERR_INPUT_TOO_LARGE; `details` carry `line` and `record` (1-based) where they apply.
 */
export function verifyTranscript(input: Uint8Array | string, options: VerifyOptions = {}): TranscriptVerification {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const src = options.source ?? 'the transcript';
  const result: TranscriptVerification = { ok: false, intact: false, closed: false, records: [], hashes: [], unverified: [], lines: 0, signers: [], warnings: [], fileSha256: sha256Hex(bytes), bytes: bytes.length };
  const fail = (code: CoreErrorCode, message: string, details: Record<string, unknown> = {}): TranscriptVerification => {
    result.problem = new CoreError(code, `${src}: ${message}`, { details: { source: src, ...details } });
    return result;
  };
  if (options.previousHead !== undefined && !isSha256Hex(options.previousHead)) throw new TypeError('previousHead must be 64 lower-case hex digits');
  if (bytes.length > MAX_TRANSCRIPT_BYTES) return fail('ERR_INPUT_TOO_LARGE', `is ${bytes.length} bytes; transcripts are at most ${MAX_TRANSCRIPT_BYTES} bytes`, { bytes: bytes.length });
  if (bytes.length === 0) return fail('ERR_TRANSCRIPT_INVALID', 'is empty: a transcript starts with its opening record');
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return fail('ERR_TRANSCRIPT_INVALID', 'starts with a UTF-8 byte order mark: the file was re-saved by an editor, which changes its bytes. Verify the original file', { line: 1 });
  }

  // Split into newline-terminated lines; a non-empty remainder is an incomplete (torn) last line.
  const entries: Entry[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      if (entries.length >= MAX_TRANSCRIPT_LINES) return fail('ERR_INPUT_TOO_LARGE', `has more than ${MAX_TRANSCRIPT_LINES} lines; no ceremony writes that many records`, { lines: entries.length });
      const lineBytes = bytes.subarray(start, i);
      entries.push({ line: entries.length + 1, bytes: lineBytes, decoded: decodeLine(lineBytes) });
      start = i + 1;
    }
  }
  const tail = bytes.subarray(start);
  if (tail.length > 0) result.tornTail = { line: entries.length + 1, bytes: tail.length, sha256: sha256Hex(tail) };
  result.lines = entries.length;
  if (entries.length > 0 && entries.every((e) => e.bytes[e.bytes.length - 1] === 0x0d)) {
    return fail('ERR_TRANSCRIPT_INVALID', 'has CRLF line endings: the file was converted by a text tool, which changes its bytes. Verify the original file (LF line endings)', { line: 1 });
  }

  const n = entries.length;
  const rec = (i: number): TranscriptRecord | undefined => {
    const d = entries[i]?.decoded;
    return d?.ok === true ? d.record : undefined;
  };
  const byHash = new Map<string, number[]>();
  const byPrev = new Map<string, number[]>();
  const seqCount = new Map<number, number>();
  const push = (m: Map<string, number[]>, k: string, i: number): void => {
    const l = m.get(k);
    if (l === undefined) m.set(k, [i]);
    else l.push(i);
  };
  entries.forEach((e, i) => {
    push(byHash, e.decoded.hash, i);
    const r = rec(i);
    if (r !== undefined) {
      push(byPrev, r.prev, i);
      seqCount.set(r.seq, (seqCount.get(r.seq) ?? 0) + 1);
    }
  });

  let cur = options.previousHead;
  let expSeq = 1;
  let rehearsal: boolean | undefined;
  const accepted: number[] = [];
  let closedAt = -1;

  /** Why record `r` at index `i` may not take position `expSeq` even though it links correctly. */
  const positionalProblem = (r: TranscriptRecord, i: number): string | undefined => {
    if (r.seq !== expSeq) return `its sequence number is ${r.seq}, but it follows record ${expSeq - 1}`;
    if (i === 0) {
      const p = openingProblems(r);
      return p.length > 0 ? p.join('; ') : undefined;
    }
    if (r.type === 'transcript.opened') return 'it is a second opening record';
    if (rehearsal !== undefined && r.rehearsal !== rehearsal) return `its rehearsal flag is ${String(r.rehearsal)} but record 1's is ${String(rehearsal)}`;
    return undefined;
  };
  const linksFrom = (j: number, hash: string, seq: number): boolean => {
    const r = rec(j);
    return r !== undefined && r.seq === seq && r.prev === hash;
  };
  const closingIntact = (r: TranscriptRecord): boolean => {
    if (r.type !== 'transcript.closed') return false;
    const c = checkClosingSignatures(r);
    return c.entriesProblem === undefined && c.listProblems.length === 0 && c.signers.length > 0 && c.signers.every((s) => s.signatureValid);
  };
  const recordAt = (i: number): string => `record ${rec(i)?.seq ?? i + 1} (line ${i + 1})`;

  const diagnose = (i: number): TranscriptVerification => {
    const e = entries[i] as Entry;
    const line = i + 1;
    const r = rec(i);
    const good = accepted.length === 0 ? 'No record verifies.' : expSeq - 1 === 1 ? 'Record 1 verifies.' : `Records 1-${expSeq - 1} verify.`;
    // 1. A byte-identical copy of another line.
    const twin = (byHash.get(e.decoded.hash) ?? []).find((j) => j !== i);
    if (twin !== undefined && e.bytes.length > 0) {
      return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${line} was inserted: it is a copy of line ${twin + 1}${r === undefined ? '' : ` (record ${r.seq})`}. ${good}`, { line, record: r?.seq, copyOf: twin + 1 });
    }
    // 2. The record that should come next is further down.
    let p = -1;
    for (let j = i + 1; j < n; j++) {
      const c = rec(j);
      if (c !== undefined && c.seq === expSeq && (cur === undefined || c.prev === cur) && (expSeq !== 1 || c.type === 'transcript.opened')) {
        p = j;
        break;
      }
    }
    if (p >= 0) {
      // It belongs to the chain when a line links to it, or when it links to a line and no rival
      // line claims its sequence number (a forged twin of a real record has such a rival).
      const belongs = r !== undefined && (byPrev.has(e.decoded.hash) || (byHash.has(r.prev) && (seqCount.get(r.seq) ?? 0) === 1));
      if (r !== undefined && r.seq > expSeq && belongs) {
        return fail('ERR_TRANSCRIPT_RECORD_REORDERED', `records were reordered: line ${line} holds record ${r.seq}, but record ${expSeq} (found at line ${p + 1}) must come first. ${good}`, { line, record: expSeq, foundSeq: r.seq, expectedAtLine: line, foundAtLine: p + 1 });
      }
      const what = r === undefined ? `it ${e.decoded.ok ? '' : (e.decoded as { problem: string }).problem}` : `it claims to be record ${r.seq} but does not belong to the chain`;
      return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${line} was inserted (${what.trim()}); record ${expSeq} follows on line ${p + 1}. ${good}`, { line, record: r?.seq, before: expSeq });
    }
    // 3. The line does not decode.
    if (r === undefined) {
      const problem = (e.decoded as { problem: string }).problem;
      const claim = claimedSeq(e.bytes);
      // A damaged record still names its place (seq) or its predecessor (prev); an appended foreign line does neither.
      const ownsPlace = claim === expSeq || (cur !== undefined && claimedPrev(e.bytes) === cur);
      if (i === n - 1 && accepted.length > 0 && !ownsPlace) {
        return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${line} was appended and is not a record (it ${problem}). ${good}`, { line });
      }
      if (accepted.length === 0 && rec(i + 1) === undefined && claim === undefined) {
        return fail('ERR_TRANSCRIPT_INVALID', `is not a NEAM CA transcript: line 1 ${problem}`, { line: 1 });
      }
      return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq} (line ${line}) was changed: the line ${problem}. ${good}`, { line, record: expSeq, reason: problem });
    }
    // 4. It links to the last verified record but something else is wrong with it.
    if (cur !== undefined && r.prev === cur) {
      const why = positionalProblem(r, i) ?? 'it breaks the transcript rules';
      return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq} (line ${line}) was changed: ${why}. ${good}`, { line, record: expSeq, reason: why });
    }
    // 5. Right sequence number, wrong link.
    if (r.seq === expSeq) {
      const intactSelf = (i + 1 < n && linksFrom(i + 1, e.decoded.hash, expSeq + 1)) || (i === n - 1 && closingIntact(r));
      if (i === 0) {
        const own = openingProblems(r);
        if (own.length === 0) {
          return fail('ERR_TRANSCRIPT_CHAIN_BROKEN', `record 1 links to ${r.prev}, but the previous transcript ends with ${cur ?? '?'}: this transcript does not continue that one (a ceremony transcript is missing from the history, or the wrong previous transcript was given)`, {
            line: 1,
            record: 1,
            links: r.prev,
            expected: cur,
          });
        }
        return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record 1 (line 1) was changed: ${own.join('; ')}`, { line: 1, record: 1 });
      }
      if (intactSelf) {
        return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq - 1} (line ${i}) was changed: record ${expSeq} (line ${line}) recorded a different hash for it. ${expSeq - 2 >= 1 ? `Records before it (1-${expSeq - 2}) verify.` : 'It is the first record.'}`, {
          line: i,
          record: expSeq - 1,
        });
      }
      if (i === n - 1 && r.type !== 'transcript.closed') {
        // Nothing after this record and no signature to vouch for it: either it or its predecessor changed.
        return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq - 1} (line ${i}) or the link in record ${expSeq} (line ${line}) was changed: the hashes no longer match, and the transcript is not closed, so nothing tells which. ${expSeq - 2 >= 1 ? `Records before it (1-${expSeq - 2}) verify.` : 'It is the first record.'}`, {
          line: i,
          record: expSeq - 1,
          alsoPossible: expSeq,
        });
      }
      return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq} (line ${line}) was changed: its prev is not the hash of record ${expSeq - 1}. ${good}`, { line, record: expSeq });
    }
    // 6. The sequence number jumps ahead.
    if (r.seq > expSeq) {
      const laterSame = entries.slice(i + 1).findIndex((_, k) => rec(i + 1 + k)?.seq === expSeq);
      if (laterSame >= 0) {
        return fail('ERR_TRANSCRIPT_RECORD_REORDERED', `records were reordered: line ${line} holds record ${r.seq}, but record ${expSeq} (found at line ${i + 2 + laterSame}) must come first. ${good}`, { line, record: expSeq, foundSeq: r.seq, foundAtLine: i + 2 + laterSame });
      }
      const count = r.seq - expSeq;
      const which = count === 1 ? `record ${expSeq} is` : `records ${expSeq}-${r.seq - 1} are`;
      return fail('ERR_TRANSCRIPT_RECORD_MISSING', `${which} missing: line ${line} holds record ${r.seq} where record ${expSeq} belongs. ${good}`, { line, record: expSeq, count });
    }
    // 7. The sequence number goes back: a forged branch, or a stale record.
    const j = accepted.findIndex((a) => entries[a]?.decoded.hash === r.prev);
    const continues = i === n - 1 || linksFrom(i + 1, e.decoded.hash, r.seq + 1);
    if (j >= 0 && j + 1 < accepted.length && r.seq === j + 2 && continues) {
      const forged = accepted[j + 1] as number;
      return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `${recordAt(forged)} was inserted: line ${line} holds a different record ${r.seq} that continues the chain. ${r.seq > 2 ? `Records 1-${r.seq - 1} verify.` : 'Record 1 verifies.'}`, { line: forged + 1, record: r.seq });
    }
    return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${line} was inserted: it claims to be record ${r.seq}, which came earlier. ${good}`, { line, record: r.seq });
  };

  let outcome: TranscriptVerification | undefined;
  for (let i = 0; i < n; i++) {
    const e = entries[i] as Entry;
    if (closedAt >= 0) {
      outcome = fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${i + 1} was inserted after the closing record (record ${expSeq - 1}, line ${closedAt + 1}); a closed transcript never grows`, { line: i + 1, record: rec(i)?.seq });
      break;
    }
    const r = rec(i);
    if (r !== undefined && r.seq === expSeq && (cur === undefined || r.prev === cur) && positionalProblem(r, i) === undefined) {
      if (i === 0) {
        rehearsal = r.rehearsal;
        result.ceremony = r.data['ceremony'] as string;
        result.rehearsal = r.rehearsal;
        result.previousHead = r.prev;
      } else {
        const before = result.records[result.records.length - 1] as TranscriptRecord;
        if (r.time < before.time) result.warnings.push(`record ${r.seq} (${r.time}) is timed earlier than record ${before.seq} (${before.time}): the clock moved back`);
      }
      accepted.push(i);
      result.records.push(r);
      result.hashes.push(e.decoded.hash);
      cur = e.decoded.hash;
      expSeq++;
      if (r.type === 'transcript.closed') closedAt = i;
      continue;
    }
    outcome = diagnose(i);
    break;
  }
  // A problem can only show at the record after the damaged one: never present the damaged
  // record (or a forged one accepted before the fork was seen) as verified.
  const badLine = (outcome?.problem?.details as { line?: unknown } | undefined)?.line;
  if (typeof badLine === 'number' && badLine - 1 < accepted.length) {
    accepted.length = badLine - 1;
    result.records.length = badLine - 1;
    result.hashes.length = badLine - 1;
  }
  result.head = result.hashes[result.hashes.length - 1];
  for (let i = accepted.length; i < n; i++) {
    const e = entries[i] as Entry;
    result.unverified.push({ line: i + 1, text: lossyText(e.bytes), ...(e.decoded.ok ? { record: e.decoded.record } : { problem: e.decoded.problem }) });
  }
  if (outcome !== undefined) return outcome;
  if (n === 0) return fail('ERR_TRANSCRIPT_INVALID', 'holds no complete record (no line ends with a newline)', { line: 1 });

  // The chain of complete lines is intact. Now the torn tail, closing and signatures.
  if (result.tornTail !== undefined) {
    const t = result.tornTail;
    result.unverified.push({ line: t.line, text: lossyText(tail) });
    if (closedAt >= 0) return fail('ERR_TRANSCRIPT_RECORD_INSERTED', `line ${t.line} (${t.bytes} bytes, no newline) was added after the closing record`, { line: t.line });
    const text = Buffer.from(tail.subarray(0, 4096)).toString('latin1');
    if (text.includes('"type":"transcript.closed"')) {
      return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${expSeq} (line ${t.line}), the closing record, was changed or cut: it is not a complete line. Records 1-${expSeq - 1} verify`, { line: t.line, record: expSeq });
    }
  }
  const last = result.records[result.records.length - 1] as TranscriptRecord;
  if (closedAt < 0) {
    result.intact = true;
    const torn = result.tornTail === undefined ? '' : ` Line ${result.tornTail.line} is incomplete (${result.tornTail.bytes} bytes without a newline): a write was interrupted; resuming the ceremony sets it aside.`;
    return fail('ERR_TRANSCRIPT_NOT_CLOSED', `records 1-${last.seq} verify (the chain is intact), but the transcript has no closing record: the ceremony is still running, crashed, or the end was removed.${torn}`, { record: last.seq, line: last.seq, ...(result.tornTail === undefined ? {} : { tornTail: result.tornTail }) });
  }
  result.intact = true;
  result.closed = true;
  const closing = last;
  const line = closedAt + 1;
  const checks = checkClosingSignatures(closing, options.pins ?? {});
  result.signers = checks.signers;
  if (checks.entriesProblem !== undefined) {
    result.intact = false;
    return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${closing.seq} (line ${line}), the closing record, was changed: ${checks.entriesProblem}`, { line, record: closing.seq });
  }
  const invalid = checks.signers.filter((s) => !s.signatureValid);
  if (checks.signers.length >= 2 && invalid.length === checks.signers.length && checks.listProblems.length === 0 && checks.signers.every((s) => s.problem?.includes('does not verify') === true)) {
    result.intact = false;
    return fail('ERR_TRANSCRIPT_RECORD_CHANGED', `record ${closing.seq} (line ${line}), the closing record, was changed after it was signed: none of its ${checks.signers.length} signatures verify`, { line, record: closing.seq });
  }
  const bad = [...invalid.map((s) => `${s.kind} ${s.name} (${s.spkiSha256}): ${s.problem ?? 'invalid'}`), ...checks.signers.filter((s) => s.signatureValid && s.problem !== undefined).map((s) => `${s.kind} ${s.name}: ${s.problem ?? ''}`), ...checks.listProblems];
  if (bad.length > 0) return fail('ERR_TRANSCRIPT_SIGNATURE_INVALID', `the closing record (record ${closing.seq}, line ${line}) has bad signatures: ${bad.join('; ')}`, { line, record: closing.seq, signers: bad });
  const minWitnesses = options.minWitnesses ?? 1;
  const witnesses = checks.signers.filter((s) => s.kind === 'witness').length;
  if (witnesses < minWitnesses) {
    return fail('ERR_TRANSCRIPT_SIGNATURE_INVALID', `the closing record (record ${closing.seq}, line ${line}) is co-signed by ${witnesses} witness(es); at least ${minWitnesses} required`, { line, record: closing.seq, witnesses, minWitnesses });
  }
  if (options.pins?.transfer !== undefined && !checks.signers.some((s) => s.kind === 'transfer')) {
    return fail('ERR_TRANSCRIPT_SIGNER_NOT_PINNED', `the closing record (record ${closing.seq}, line ${line}) of this ${String(closing.data['outcome'])} ceremony is signed by witnesses only; the pinned transfer key did not sign it`, { line, record: closing.seq });
  }
  const unpinned = checks.signers.filter((s) => s.pinned === false);
  if (unpinned.length > 0) {
    return fail('ERR_TRANSCRIPT_SIGNER_NOT_PINNED', `the closing record (record ${closing.seq}, line ${line}) is signed by ${unpinned.map((s) => `${s.kind} key '${s.name}' (SHA-256 of SPKI ${s.spkiSha256})`).join(', ')}, which does not match the pinned fingerprint(s). Check you pinned the right keys; otherwise this transcript was not signed by your ceremony's keys`, {
      line,
      record: closing.seq,
      unpinned: unpinned.map((s) => ({ kind: s.kind, name: s.name, spkiSha256: s.spkiSha256 })),
    });
  }
  for (const s of checks.signers) {
    if (s.certificate !== undefined && (closing.time < s.certificate.notBefore || closing.time > s.certificate.notAfter)) {
      result.warnings.push(`the ${s.kind} certificate of '${s.name}' was not valid at the closing time ${closing.time} (valid ${s.certificate.notBefore} to ${s.certificate.notAfter})`);
    }
  }
  result.ok = true;
  return result;
}
