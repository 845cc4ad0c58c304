/**
 * @module ceremony/io
 * The runner's only way to talk to people: a narrow port ({@link CeremonyIo}) with typed questions
 * and events. The terminal (CLI), an answers file (unattended rehearsals) and later the desktop
 * app's IPC implement it. Every question has a stable key, a dotted path that is also where an
 * answers file holds its answer (`steps.clock.reference-time`, `token.user-pin`).
 *
 * Must never: log or echo a secret answer; secrets come back as {@link Secret}s only.
 */
import type { Secret } from '../util/secret.ts';
import type { JsonObject } from './types.ts';

/**
 * The stable key of a question: the path of its answer in an answers file, as segments
 * (`['steps', 'clock', 'reference-time']`). Segments may hold dots or spaces (custodian names).
 */
export type AnswerKey = readonly string[];

/** A key for messages: segments joined by dots, quoted when they hold a dot, space or quote. */
export function keyText(key: AnswerKey): string {
  return key.map((k) => (/^[A-Za-z0-9_*-]+$/u.test(k) ? k : JSON.stringify(k))).join('.');
}

/** Fields every question has. */
interface QuestionBase {
  /** Stable key; also the answers-file path. */
  key: AnswerKey;
  /** The question as shown to people. */
  prompt: string;
  /** Longer guidance shown before the prompt. */
  help?: string;
  /**
   * True when the answer is a person's statement made on the day (a sign-off, a clock reading, a
   * confirmation): an answers file may give it only in a rehearsal.
   */
  attestation?: boolean;
}

/** A free-text answer; `validate` returns an error message or undefined. */
export interface TextQuestion extends QuestionBase {
  kind: 'text';
  validate?: (answer: string) => string | undefined;
}

/** A choice among fixed values (e.g. which witness signs off). */
export interface ChoiceQuestion extends QuestionBase {
  kind: 'choice';
  choices: string[];
}

/** A confirmation that must be typed exactly (e.g. `YES`). */
export interface ConfirmQuestion extends QuestionBase {
  kind: 'confirm';
  /** The exact text to type. */
  expect: string;
}

/** A question the runner asks. */
export type Question = TextQuestion | ChoiceQuestion | ConfirmQuestion;

/** A secret question (PIN, passphrase): never echoed; the answer is a {@link Secret}. */
export interface SecretQuestion extends QuestionBase {
  kind: 'secret';
  /** Ask twice and compare (new PINs and passphrases). */
  confirm?: boolean;
  /** Minimum length in bytes (checked before the secret is used). */
  minLength?: number;
}

/** Something the runner tells the people in the room (and the transcript pane). */
export interface CeremonyEvent {
  /** `ceremony.started`, `step.started`, `step.completed`, `display`, `warning`, … */
  type: string;
  /** One line for people. */
  message: string;
  /** The step concerned, when any. */
  step?: string;
  /** Structured detail (fingerprints, paths); never secrets. */
  data?: JsonObject;
}

/** The interaction port. */
export interface CeremonyIo {
  /** Narration: progress, values to read aloud, warnings. */
  event(e: CeremonyEvent): void;
  /** Asks a question and returns the (validated) answer. */
  ask(q: Question): Promise<string>;
  /** Asks for a secret without echo. */
  askSecret(q: SecretQuestion): Promise<Secret>;
  /** Where answers came from, for the record (`terminal`, `answers file <sha256>`, `desktop app`). */
  readonly source: string;
}
