/**
 * @module ceremony
 * Public surface of the ceremony engine: strict scripts, site and answers files, the plan, the
 * action registry, and the persisted runner (start, resume, abort, status) used by the CLI and the
 * desktop app.
 */
export { ACTION_KINDS, ACTIONS, isActionKind, type ActionKind, type AnyActionDefinition } from './actions/registry.ts';
export type * from './actions/types.ts';
export { evaluateAirGap, probeAirGap, describeOffending, parseIpJson, type AirGapReport, type InterfaceState } from './air-gap.ts';
export { answeringIo, parseAnswers, validateAnswers, MAX_ANSWERS_BYTES, type AnswersFile, type AnswersOptions } from './answers.ts';
export { clockSkewSeconds, parseReferenceTime, utcSeconds } from './clock.ts';
export { loadAnswers, loadScript, loadSite, readLimited, type LoadedScript, type LoadedSite } from './files.ts';
export { FAILPOINT_PHASES, type FailpointPhase } from './failpoints.ts';
export { keyText, type AnswerKey, type CeremonyEvent, type CeremonyIo, type ChoiceQuestion, type ConfirmQuestion, type Question, type SecretQuestion, type TextQuestion } from './io.ts';
export { caHomeOf, CEREMONY_FILES, rehearsalSoftHsmDir } from './layout.ts';
export { planCeremony, type CeremonyPlan, type PlannedStep } from './plan.ts';
export {
  abortCeremony,
  ceremonyJournal,
  ceremonyPlanOf,
  ceremonyStatus,
  resumeCeremony,
  startCeremony,
  type AbortSummary,
  type CeremonyStatusView,
  type RunnerEnvironment,
  type RunSummary,
  type StartOptions,
} from './runner.ts';
export { MAX_SCRIPT_BYTES, parseScript, scriptInvalid, validateScript, type ScriptValidation } from './script.ts';
export { holders, MAX_SITE_BYTES, parseSite, rosterProblems, validateSite, type SiteValidation } from './site.ts';
export { CEREMONY_MIGRATIONS, CeremonyState, type JournalEntry } from './state.ts';
export { CA_DB, CEREMONY_CA_MIGRATIONS, openCaHome, type CaHome } from './ca-home.ts';
export { activateWithQuorum, approveAtWorkstation, coSignersFromQuorum, loadCustodianFile, type WorkstationApprovalOptions } from './quorum-io.ts';
export { APPROVAL_FILE_SUFFIX, checkImportedApprovals, MAX_APPROVAL_FILES, readApprovalFolder, refusedFilesError, workstationNeeds, type ApprovalFileProblem, type ApprovalFolder, type CheckedApproval, type ImportCheck, type ReadApprovalFile } from './approval-folder.ts';
export type { TranscriptClosingRequest, TranscriptEntry, TranscriptSink, TranscriptSinkFactory } from './transcript-sink.ts';
export { fileTranscript, previousTranscript, type FileTranscriptOptions } from './transcript-file.ts';
export type * from './types.ts';
export { ACTIVATION_MODES, CEREMONY_TYPES } from './types.ts';
