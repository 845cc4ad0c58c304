/**
 * @module ceremony/answers
 * Answers files: the unattended driver of a ceremony (tests, the demo, rehearsals). A strict YAML
 * mapping whose paths are the questions' keys (`steps: {clock: {reference-time: workstation}}`,
 * `token: {user-pin: …}`, `sign-off: {witness: …}` as the default signer of a role,
 * `custodians: {<name>: {file, medium, passphrase}}` for every step that asks a custodian). Every key must
 * be a question the script can ask; every value is a string. Secrets (PINs, passphrases) and
 * attestations (sign-offs, clock readings, confirmations: a person's word on the day) are accepted
 * only in rehearsals. {@link answeringIo} answers from the file and falls back to the terminal.
 *
 * Must never: accept a secret or an attestation from a file for a live ceremony, or echo a secret.
 */
import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { Secret } from '../util/secret.ts';
import type { QuestionSpec } from './actions/types.ts';
import { keyText, type AnswerKey, type CeremonyIo, type Question, type SecretQuestion } from './io.ts';
import { parseStrictYaml, suggestion, type ValuePath } from './strict-yaml.ts';

/** Largest answers file accepted. */
export const MAX_ANSWERS_BYTES = 256 * 1024;

/** A validated answers file. */
export interface AnswersFile {
  source: string;
  sha256: string;
  /** Answer text by JSON-encoded key. */
  values: ReadonlyMap<string, { value: string; line?: number }>;
}

function matches(spec: readonly string[], key: readonly string[]): boolean {
  return spec.length === key.length && spec.every((s, i) => s === '*' || s === key[i]);
}

/** Options for {@link validateAnswers}. */
export interface AnswersOptions {
  rehearsal: boolean;
  /** Names allowed where a question key has `*` (the site's participants), when known. */
  names?: readonly string[];
}

/**
 * Validates an answers file against the questions a ceremony may ask. Never throws for bad input.
 */
export function validateAnswers(input: string | Uint8Array, source: string, questions: readonly QuestionSpec[], options: AnswersOptions): { ok: true; answers: AnswersFile } | { ok: false; problems: Problem[] } {
  const yaml = parseStrictYaml(input, { what: 'answers file', maxBytes: MAX_ANSWERS_BYTES });
  const problems: Problem[] = [...yaml.problems];
  if (yaml.value === undefined || yaml.value === null || problems.length > 0) return { ok: false, problems };
  if (typeof yaml.value !== 'object' || Array.isArray(yaml.value)) return { ok: false, problems: [{ path: '', line: 1, message: 'an answers file is a mapping (version: 1, then the answers)' }] };
  const root = yaml.value as Record<string, unknown>;
  if (root['version'] !== 1) problems.push({ path: 'version', line: yaml.line(['version']), message: root['version'] === undefined ? 'is required (version: 1)' : 'must be 1' });
  const values = new Map<string, { value: string; line?: number }>();
  const leaves: Array<{ path: string[]; value: unknown }> = [];
  const walk = (v: unknown, path: string[]): void => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) problems.push({ path: path.join('.'), line: yaml.line(path), message: 'is an empty mapping; remove it or give answers' });
      for (const [k, c] of entries) walk(c, [...path, k]);
    } else {
      leaves.push({ path, value: v });
    }
  };
  for (const [k, v] of Object.entries(root)) if (k !== 'version') walk(v, [k]);
  const names = options.names === undefined ? undefined : new Set(options.names);
  for (const { path, value } of leaves) {
    const at = keyText(path);
    const line = yaml.line(path as ValuePath);
    const spec = questions.find((q) => matches(q.key, path));
    if (spec === undefined) {
      const near = questions.filter((q) => q.key.length === path.length && q.key.slice(0, -1).every((s, i) => s === '*' || s === path[i])).map((q) => q.key[q.key.length - 1]!);
      const hint = suggestion(path[path.length - 1]!, near);
      problems.push({ path: at, line, message: `is not a question this ceremony asks${hint}${near.length > 0 ? `; questions here: ${near.join(', ')}` : ''}` });
      continue;
    }
    if (names !== undefined && spec.wildcard !== 'name') {
      spec.key.forEach((s, i) => {
        if (s === '*' && !names.has(path[i]!)) problems.push({ path: at, line, message: `'${path[i]}' is not a participant named in the site file` });
      });
    }
    if (typeof value !== 'string') {
      problems.push({ path: at, line, message: `must be a string${typeof value === 'number' ? " (quote it: numbers lose leading zeros, e.g. '0042')" : ''}` });
      continue;
    }
    if (spec.secret && !options.rehearsal) {
      problems.push({ path: at, line, message: 'secrets (PINs, passphrases) in an answers file are accepted only in rehearsals (--rehearsal); on the day they are typed without echo' });
      continue;
    }
    if (spec.attestation && !options.rehearsal) {
      problems.push({ path: at, line, message: "is a person's statement on the day (a sign-off, a reading, a confirmation); an answers file may give it only in rehearsals (--rehearsal)" });
      continue;
    }
    values.set(JSON.stringify(path), line === undefined ? { value } : { value, line });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, answers: { source, sha256: yaml.sha256, values } };
}

/**
 * Parses an answers file or throws with every problem.
 * @throws {CoreError} ERR_CEREMONY_ANSWERS_INVALID
 */
export function parseAnswers(input: string | Uint8Array, source: string, questions: readonly QuestionSpec[], options: AnswersOptions): AnswersFile {
  const v = validateAnswers(input, source, questions, options);
  if (!v.ok) {
    throw new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `${source} is not a valid answers file for this ceremony (${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}):\n${formatProblems(v.problems)}`, {
      details: { source, problems: v.problems.map((p) => ({ ...p })) },
    });
  }
  return v.answers;
}

/** The answer for a key, with the sign-off fallback `steps.<id>.sign-off.<role>` → `sign-off.<role>`. */
function lookup(answers: AnswersFile, key: AnswerKey): { value: string; line?: number; key: AnswerKey } | undefined {
  const direct = answers.values.get(JSON.stringify(key));
  if (direct !== undefined) return { ...direct, key };
  if (key.length === 4 && key[0] === 'steps' && key[2] === 'sign-off') {
    const fallback = ['sign-off', key[3]!];
    const d = answers.values.get(JSON.stringify(fallback));
    if (d !== undefined) return { ...d, key: fallback };
  }
  // A custodian's file, medium and passphrase may be given once for every step that asks.
  const kind = key[key.length - 2];
  if (key.length >= 3 && (kind === 'file' || kind === 'passphrase' || kind === 'medium')) {
    const fallback = ['custodians', key[key.length - 1]!, kind];
    const d = answers.values.get(JSON.stringify(fallback));
    if (d !== undefined) return { ...d, key: fallback };
  }
  return undefined;
}

function bad(answers: AnswersFile, at: { key: AnswerKey; line?: number }, message: string): CoreError {
  return new CoreError('ERR_CEREMONY_ANSWERS_INVALID', `${answers.source}${at.line === undefined ? '' : ` line ${at.line}`}: ${keyText(at.key)}: ${message}`, { details: { source: answers.source, key: keyText(at.key), line: at.line ?? null } });
}

/**
 * An interaction port that answers from `answers` and asks `fallback` (the terminal, the app) for
 * anything the file does not hold. An answer that does not fit the question is an error, never
 * silently replaced by a prompt.
 */
export function answeringIo(answers: AnswersFile, fallback: CeremonyIo): CeremonyIo {
  return {
    source: `answers file ${answers.source} (SHA-256 ${answers.sha256}), then ${fallback.source}`,
    event: (e) => fallback.event(e),
    async ask(q: Question): Promise<string> {
      const a = lookup(answers, q.key);
      if (a === undefined) return fallback.ask(q);
      if (q.kind === 'choice' && !q.choices.includes(a.value)) throw bad(answers, a, `'${a.value}' is not one of: ${q.choices.join(', ')}`);
      if (q.kind === 'confirm' && a.value !== q.expect) throw bad(answers, a, `must be exactly '${q.expect}'`);
      if (q.kind === 'text' && q.validate !== undefined) {
        const err = q.validate(a.value);
        if (err !== undefined) throw bad(answers, a, err);
      }
      fallback.event({ type: 'answer', message: `${q.prompt.trim()} ${a.value}  [from ${answers.source}]` });
      return a.value;
    },
    async askSecret(q: SecretQuestion): Promise<Secret> {
      const a = lookup(answers, q.key);
      if (a === undefined) return fallback.askSecret(q);
      if (q.minLength !== undefined && Buffer.byteLength(a.value) < q.minLength) throw bad(answers, a, `must be at least ${q.minLength} characters`);
      fallback.event({ type: 'answer', message: `${q.prompt.trim()} ******  [from ${answers.source}]` });
      return Secret.fromString(a.value);
    },
  };
}
