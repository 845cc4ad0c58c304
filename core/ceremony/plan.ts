/**
 * @module ceremony/plan
 * The plan of a ceremony, derived purely from a validated script: for every step its outputs, key
 * labels, sign-offs, whether it touches the token, and where
 * the point of no return lies; plus every question the ceremony may ask (the keys an answers file
 * may hold). Reviewers read it (`neam-ca ceremony validate`), the runner follows it.
 *
 * Must never: do I/O.
 */
import { ACTIONS, type ActionKind } from './actions/registry.ts';
import type { ActionPlan, QuestionSpec } from './actions/types.ts';
import { planOf } from './script.ts';
import type { CeremonyScript, ScriptStep } from './types.ts';

/** One step of the plan. */
export interface PlannedStep {
  step: ScriptStep;
  plan: ActionPlan;
  summary: string;
  hsm: 'none' | 'module' | 'login';
  pointOfNoReturn: boolean;
}

/** The plan of a whole ceremony. */
export interface CeremonyPlan {
  script: CeremonyScript;
  steps: PlannedStep[];
  /** Index of the first step that crosses the point of no return (-1 when none). */
  pointOfNoReturn: number;
  /** True when some step uses the token. */
  usesToken: boolean;
  /** True when the script initialises the token itself. */
  createsToken: boolean;
  /** Every question the ceremony may ask. */
  questions: QuestionSpec[];
}

/** Plans a validated script. */
export function planCeremony(script: CeremonyScript): CeremonyPlan {
  const steps = script.steps.map((step): PlannedStep => {
    const def = ACTIONS[step.action as ActionKind];
    return { step, plan: planOf(step), summary: def.summary, hsm: def.hsm, pointOfNoReturn: def.pointOfNoReturn };
  });
  const pointOfNoReturn = steps.findIndex((s) => s.pointOfNoReturn);
  const usesToken = steps.some((s) => s.hsm !== 'none');
  const createsToken = steps.some((s) => s.plan.createsToken === true);
  return { script, steps, pointOfNoReturn, usesToken, createsToken, questions: questionsOf(script, steps, pointOfNoReturn, usesToken) };
}

function questionsOf(script: CeremonyScript, steps: PlannedStep[], ponr: number, usesToken: boolean): QuestionSpec[] {
  const qs: QuestionSpec[] = [];
  const signOffRoles = new Set<string>();
  for (const s of steps) {
    qs.push(...ACTIONS[s.step.action as ActionKind].questions(s.step.params, s.step, script));
    for (const role of s.step.signOff) {
      signOffRoles.add(role);
      qs.push({ key: ['steps', s.step.id, 'sign-off', role], secret: false, attestation: true, description: `name of the ${role} who signs off step '${s.step.id}'` });
    }
  }
  if (ponr !== -1) {
    qs.push({ key: ['steps', steps[ponr]!.step.id, 'confirm-point-of-no-return'], secret: false, attestation: true, description: "'YES' to cross the point of no return" });
  }
  for (const role of signOffRoles) qs.push({ key: ['sign-off', role], secret: false, attestation: true, description: `default name of the ${role} who signs off steps` });
  if (usesToken && script.quorum.activation === 'token-pin' && !qs.some((q) => q.key.join('.') === 'token.user-pin')) {
    qs.push({ key: ['token', 'user-pin'], secret: true, attestation: false, description: "the token's user PIN (token-pin activation)" });
  }
  if (usesToken && script.quorum.activation === 'shares') {
    qs.push(
      { key: ['activation', 'custodians'], secret: false, attestation: false, description: 'custodians who open the token (comma-separated; at least M), whenever the token must be opened again (e.g. after a crash)' },
      { key: ['activation', 'file', '*'], secret: false, attestation: false, description: "a custodian's file or medium folder, for opening the token" },
      { key: ['activation', 'passphrase', '*'], secret: true, attestation: false, description: "a custodian's passphrase, for opening the token (rehearsals only)" },
    );
  }
  if (qs.some((q) => q.key.length >= 2 && ['file', 'passphrase', 'medium'].includes(q.key[q.key.length - 2]!) && q.key[q.key.length - 1] === '*')) {
    qs.push(
      { key: ['custodians', '*', 'file'], secret: false, attestation: false, description: "a custodian's file or medium folder, for every step that asks for it" },
      { key: ['custodians', '*', 'medium'], secret: false, attestation: false, description: "the folder of a custodian's medium (enrollment writes their file there)" },
      { key: ['custodians', '*', 'passphrase'], secret: true, attestation: false, description: "a custodian's passphrase, for every step that asks for it (rehearsals only)" },
    );
  }
  // Deduplicate (an action may declare a shared key that the runner also needs).
  const seen = new Set<string>();
  return qs.filter((q) => {
    const k = JSON.stringify(q.key);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
