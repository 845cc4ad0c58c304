/**
 * @module transcript
 * Public surface of the transcript domain: the tamper-evident, signed ceremony record (append-only
 * JSON lines, SHA-256 hash chain over RFC 8785 canonical JSON), its verification, and its printable
 * report. See docs/transcript.md.
 */
export { GENESIS_PREV, MAX_DATA_DEPTH, MAX_RECORD_BYTES, MAX_TRANSCRIPT_BYTES, RESERVED_TYPES, TRANSCRIPT_FORMAT, decodeLine, recordHash, type ClosingSignature, type JsonObject, type JsonValue, type TranscriptRecord } from './record.ts';
export { closingBodyBytes, normalizeFingerprint, type CertificateFields, type SignerCheck, type SignerEntry, type SignerKind, type SignerPins } from './closing.ts';
export { isCeremonyId, MAX_TRANSCRIPT_LINES, openingProblems, verifyTranscript, type TranscriptVerification, type UnverifiedLine, type VerifyOptions } from './verify.ts';
export {
  createTranscript,
  openTranscript,
  TranscriptWriter,
  type CeremonyOutcome,
  type CloseBase,
  type CloseSigner,
  type ClosingDraft,
  type ClosingSignerInfo,
  type CreateTranscriptOptions,
  type DraftSignature,
  type PreviousTranscript,
  type ResumeInfo,
  type ResumeTranscriptOptions,
  type TranscriptEntry,
} from './writer.ts';
export { readTranscriptFile, transcriptHead, verifyTranscriptFile } from './file.ts';
export { summarizeTranscript, type CertificateSummary, type Fingerprint, type FingerprintUse, type Participant, type SignOff, type StepOutput, type StepSummary, type TranscriptSummary } from './summary.ts';
export { escapeHtml, renderReport, type ReportOptions } from './report.ts';
export { CHROMIUM_ARGS, DEFAULT_CHROMIUM, printReportPdf, type PdfOptions } from './pdf.ts';
export { RECORD_TYPES, type CertificateRecord, type KeyGeneratedData, type OutputRecord, type StepCompletedData, type StepFailedData, type StepStartedData } from './conventions.ts';
