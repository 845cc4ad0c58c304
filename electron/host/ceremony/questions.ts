/**
 * @module electron/host/ceremony/questions
 * What a question of the ceremony runner is about, from its stable answers-file key (documented in
 * docs/ceremony-scripts.md): a sign-off, a custodian's file or passphrase, an approval decision,
 * the clock reading, a path on a medium… The UI uses this to show the right form on the right
 * screen (custodian questions on the shares screen, decisions on the approval screen); the
 * session uses it to check a custodian's answer before the runner gets it.
 *
 * Pure. Must never: look at an answer.
 */
import type { Question, SecretQuestion } from '../../../core/ceremony/io.ts';
import type { QUESTION_ROLES, QUESTION_SCREENS, SecretPurpose } from '../../ipc/ceremony-shapes.ts';

/** A question role (see the contract). */
export type QuestionRole = (typeof QUESTION_ROLES)[number];
/** Where a question is answered. */
export type QuestionScreen = (typeof QUESTION_SCREENS)[number];

/** The keys of custodian-name lists, and the custodian flow each one starts. */
export const NAME_LISTS = { custodians: 'activation', approvers: 'approval', 'co-signers': 'co-sign' } as const;
/** A custodian flow. */
export type CustodianMode = (typeof NAME_LISTS)[keyof typeof NAME_LISTS] | 'enrollment';

/** The classification of one question. */
export interface Classified {
  role: QuestionRole;
  screen: QuestionScreen;
  /** The custodian the question is for (from the key's last segment). */
  custodian: string | null;
  /** The step the question belongs to (from the key, else the step in progress). */
  step: string | null;
  purpose: SecretPurpose | null;
  /** The key without its custodian-specific tail (`['activation']`, `['steps', 'approve']`). */
  prefix: readonly string[];
}

/** Classifies a question by its key and kind. */
export function classify(q: Question | SecretQuestion, currentStep: string | null): Classified {
  const k = q.key;
  const last = k[k.length - 1] ?? '';
  const second = k[k.length - 2] ?? '';
  const step = k[0] === 'steps' && k[1] !== undefined ? k[1] : currentStep;
  const base = { step, purpose: null, custodian: null, prefix: k.slice(0, -1) };
  if (q.kind === 'secret') {
    if (second === 'passphrase') return { ...base, role: q.confirm === true ? 'custodian-new-passphrase' : 'custodian-passphrase', screen: 'shares', custodian: last, purpose: 'custodian-passphrase', prefix: k.slice(0, -2) };
    return { ...base, role: 'token-pin', screen: 'steps', purpose: 'ceremony-pin' };
  }
  if (q.kind === 'confirm') return { ...base, role: 'confirm', screen: 'steps' };
  if (q.kind === 'choice') {
    if (k[0] === 'steps' && k[2] === 'sign-off') return { ...base, role: 'sign-off', screen: 'steps' };
    if (second === 'decision' && q.choices.includes('approve')) return { ...base, role: 'approval-decision', screen: 'approval', custodian: last, prefix: k.slice(0, -2) };
    if (second === 'decision') return { ...base, role: 'review-decision', screen: 'approval', prefix: k.slice(0, -2) };
    return { ...base, role: 'choice', screen: 'steps' };
  }
  if (last in NAME_LISTS) return { ...base, role: 'custodian-names', screen: 'shares' };
  if (second === 'file') return { ...base, role: 'custodian-file', screen: 'shares', custodian: last, prefix: k.slice(0, -2) };
  if (second === 'medium') return { ...base, role: 'custodian-medium', screen: 'shares', custodian: last, prefix: k.slice(0, -2) };
  if (last === 'reference-time') return { ...base, role: 'clock', screen: 'steps' };
  if (last === 'peer-fingerprint') return { ...base, role: 'fingerprint', screen: 'steps' };
  if (last === 'bundle' || last === 'peer-certificate' || last.startsWith('destination-')) return { ...base, role: 'path', screen: 'steps' };
  if (q.attestation === true) return { ...base, role: 'record', screen: 'steps' };
  return { ...base, role: 'text', screen: 'steps' };
}
