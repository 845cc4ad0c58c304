/**
 * @module ceremony/script
 * Ceremony scripts: the reviewed plan of a ceremony (design brief §4), read strictly and validated
 * as a whole. Shapes are checked with zod, then the rules that span fields: unique step ids, known
 * actions allowed in the ceremony type, sign-off roles that someone is guaranteed to hold, a quorum
 * with M ≤ N, references to earlier steps, unique outputs and key labels, the air-gap and clock
 * checks before the token is touched, and `close` last. Every problem is reported at once with its
 * dotted path and line.
 *
 * Must never: do I/O (see `loadScript` in ceremony/files.ts), or accept a script with any problem.
 */
import { z } from 'zod';

import { CoreError, formatProblems, type Problem } from '../errors.ts';
import { ACTION_KINDS, ACTIONS, isActionKind, type ActionKind } from './actions/registry.ts';
import type { ActionPlan } from './actions/types.ts';
import { RESERVED_NAMES } from './layout.ts';
import { dotted, parseStrictYaml, schemaProblems, suggestion, type StrictYaml } from './strict-yaml.ts';
import { ACTIVATION_MODES, CEREMONY_TYPES, type CeremonyScript, type ScriptStep } from './types.ts';

/** Largest script accepted (a reviewed plan is a few kilobytes). */
export const MAX_SCRIPT_BYTES = 256 * 1024;

const ROLE_NAME = /^[a-z][a-z0-9-]{0,31}$/u;
const STEP_ID = /^[a-z][a-z0-9-]{0,63}$/u;

const roleSchema = z.strictObject({
  min: z.number().int().min(0).max(100),
  max: z.number().int().min(1).max(100).optional(),
  description: z.string().min(1).max(500).optional(),
});

const stepSchema = z.strictObject({
  id: z.string().regex(STEP_ID, 'must be lower-case letters, digits and "-", starting with a letter (at most 64)'),
  title: z.string().min(1).max(200),
  action: z.string().min(1).max(64),
  params: z.record(z.string(), z.unknown()).optional(),
  'sign-off': z.array(z.string()).max(10).default([]),
  instructions: z.string().min(1).max(4000).optional(),
});

const scriptSchema = z.strictObject({
  version: z.literal(1),
  'ceremony-type': z.enum(CEREMONY_TYPES),
  id: z.string().regex(/^[a-z][a-z0-9-]{0,47}$/u, 'must be lower-case letters, digits and "-", starting with a letter (at most 48)'),
  title: z.string().min(1).max(200),
  description: z.string().min(1).max(10_000).optional(),
  roles: z.record(z.string(), roleSchema),
  quorum: z.strictObject({
    m: z.number().int().min(1).max(255),
    n: z.number().int().min(1).max(255),
    activation: z.enum(ACTIVATION_MODES).default('shares'),
  }),
  steps: z.array(stepSchema).min(1).max(200),
});

/** The outcome of validating a script: the script, or every problem. */
export type ScriptValidation = { ok: true; script: CeremonyScript; plans: ActionPlan[] } | { ok: false; problems: Problem[]; sha256: string };

/** The plan of each step (outputs, key labels, references). Pure. */
export function planOf(step: ScriptStep): ActionPlan {
  return ACTIONS[step.action as ActionKind].plan(step.params, step);
}

/**
 * Validates script text. Never throws for bad input.
 * @param source file name for messages
 */
export function validateScript(input: string | Uint8Array, source: string): ScriptValidation {
  const yaml = parseStrictYaml(input, { what: 'ceremony script', maxBytes: MAX_SCRIPT_BYTES });
  const problems: Problem[] = [...yaml.problems];
  if (yaml.value === undefined || yaml.value === null || problems.some((p) => p.path === '' && p.message.startsWith('YAML syntax'))) {
    return { ok: false, problems, sha256: yaml.sha256 };
  }
  if (typeof yaml.value !== 'object' || Array.isArray(yaml.value)) {
    problems.push({ path: '', line: 1, message: 'a ceremony script is a mapping with version, ceremony-type, id, title, roles, quorum and steps' });
    return { ok: false, problems, sha256: yaml.sha256 };
  }
  const shape = schemaProblems(scriptSchema, yaml.value, yaml);
  problems.push(...shape.problems);
  const raw = yaml.value as Record<string, unknown>;
  // Semantic rules run on whatever parts are well-formed, so one pass reports everything.
  const rolesRaw = isRecord(raw['roles']) ? raw['roles'] : {};
  const roles: Record<string, { min: number; max?: number }> = {};
  for (const [name, spec] of Object.entries(rolesRaw)) {
    if (!ROLE_NAME.test(name)) problems.push({ path: dotted(['roles', name]), line: yaml.line(['roles', name], { key: true }), message: 'role names are lower-case letters, digits and "-", starting with a letter (at most 32)' });
    const r = roleSchema.safeParse(spec);
    if (r.success) {
      roles[name] = r.data;
      if (r.data.max !== undefined && r.data.max < r.data.min) problems.push({ path: dotted(['roles', name, 'max']), line: yaml.line(['roles', name, 'max']), message: `max (${r.data.max}) is less than min (${r.data.min})` });
    }
  }
  const admin = roles['administrator'];
  if (isRecord(raw['roles']) && (admin === undefined || admin.min < 1)) {
    problems.push({ path: admin === undefined ? 'roles' : 'roles.administrator.min', line: yaml.line(admin === undefined ? ['roles'] : ['roles', 'administrator', 'min']), message: 'a ceremony needs an administrator: declare roles.administrator with min ≥ 1' });
  }
  const quorumRaw = isRecord(raw['quorum']) ? raw['quorum'] : {};
  const m = quorumRaw['m'];
  const n = quorumRaw['n'];
  if (typeof m === 'number' && typeof n === 'number' && m > n) {
    problems.push({ path: 'quorum.m', line: yaml.line(['quorum', 'm']), message: `the threshold M (${m}) is larger than the number of custodians N (${n}); M must be at most N` });
  }

  const stepsRaw = Array.isArray(raw['steps']) ? (raw['steps'] as unknown[]) : [];
  const steps: ScriptStep[] = [];
  const stepOk: boolean[] = [];
  const firstIndexOfId = new Map<string, number>();
  stepsRaw.forEach((s, i) => {
    stepOk[i] = false;
    if (!isRecord(s)) return;
    const id = typeof s['id'] === 'string' ? s['id'] : undefined;
    if (id !== undefined) {
      const prev = firstIndexOfId.get(id);
      if (prev !== undefined) problems.push({ path: dotted(['steps', i, 'id']), line: yaml.line(['steps', i, 'id']), message: `duplicate step id '${id}' (also steps.${prev}.id)` });
      else firstIndexOfId.set(id, i);
    }
    const action = typeof s['action'] === 'string' ? s['action'] : undefined;
    if (action === undefined) return;
    if (!isActionKind(action)) {
      problems.push({ path: dotted(['steps', i, 'action']), line: yaml.line(['steps', i, 'action']), message: `unknown action '${action}'${suggestion(action, ACTION_KINDS)}; known actions: ${ACTION_KINDS.join(', ')}` });
      return;
    }
    const def = ACTIONS[action];
    const type = raw['ceremony-type'];
    if (typeof type === 'string' && (CEREMONY_TYPES as readonly string[]).includes(type) && !(def.ceremonyTypes as readonly string[]).includes(type)) {
      problems.push({ path: dotted(['steps', i, 'action']), line: yaml.line(['steps', i, 'action']), message: `action '${action}' is not allowed in a '${type}' ceremony (allowed in: ${def.ceremonyTypes.join(', ')})` });
    }
    const paramsRaw = s['params'] === undefined ? {} : s['params'];
    // A params value that is not a mapping was already reported by the shape check.
    const pr = isRecord(paramsRaw) ? schemaProblems(def.params, paramsRaw, yaml, ['steps', i, 'params'], raw) : { problems: [] };
    problems.push(...pr.problems);
    const signOff = Array.isArray(s['sign-off']) ? (s['sign-off'] as unknown[]) : [];
    signOff.forEach((role, j) => {
      if (typeof role !== 'string') return;
      const path = ['steps', i, 'sign-off', j];
      if (signOff.indexOf(role) !== j) problems.push({ path: dotted(path), line: yaml.line(path), message: `role '${role}' is listed twice; each sign-off is by a different person of a different role` });
      const spec = roles[role];
      if (isRecord(raw['roles']) && !Object.prototype.hasOwnProperty.call(rolesRaw, role)) {
        problems.push({ path: dotted(path), line: yaml.line(path), message: `role '${role}' is not declared under roles, so nobody holds it${suggestion(role, Object.keys(rolesRaw))}; declared roles: ${Object.keys(rolesRaw).join(', ') || 'none'}` });
      } else if (spec !== undefined && spec.min < 1) {
        problems.push({ path: dotted(path), line: yaml.line(path), message: `role '${role}' has min 0, so nobody may hold it on the day; a role that signs off steps needs min ≥ 1` });
      }
    });
    if (pr.data !== undefined && id !== undefined && typeof s['title'] === 'string') {
      const step: ScriptStep = { index: i, id, title: s['title'], action, params: pr.data, signOff: signOff.filter((r): r is string => typeof r === 'string') };
      if (typeof s['instructions'] === 'string') step.instructions = s['instructions'];
      steps[i] = step;
      stepOk[i] = true;
    }
  });

  const complete = steps.filter((s): s is ScriptStep => s !== undefined);
  const plans = new Map<number, ActionPlan>();
  for (const step of complete) plans.set(step.index, planOf(step));
  checkOrder(stepsRaw, yaml, problems);
  checkPlans(complete, plans, firstIndexOfId, stepsRaw, yaml, problems);

  // Action-specific rules need a well-formed header.
  if (shape.data !== undefined || (isRecord(raw['quorum']) && isRecord(raw['roles']))) {
    const q = scriptSchema.shape.quorum.safeParse(raw['quorum']);
    const type = scriptSchema.shape['ceremony-type'].safeParse(raw['ceremony-type']);
    if (q.success && type.success) {
      const header = {
        version: 1 as const,
        type: type.data,
        id: String(raw['id']),
        title: String(raw['title']),
        roles,
        quorum: q.data,
        sha256: yaml.sha256,
        source,
      };
      const outputsBefore: string[] = [];
      for (const step of complete) {
        const def = ACTIONS[step.action as ActionKind];
        for (const p of def.check?.(step.params, { script: header, steps: complete, step, outputsBefore: [...outputsBefore] }) ?? []) {
          const path = ['steps', step.index, ...p.path.split('.').filter((x) => x !== '').map((x) => (/^\d+$/u.test(x) ? Number(x) : x))];
          problems.push({ path: dotted(path), line: yaml.line(path), message: p.message });
        }
        outputsBefore.push(...(plans.get(step.index)?.outputs ?? []));
      }
    }
  }

  if (problems.length > 0 || shape.data === undefined || stepOk.some((ok) => !ok)) {
    return { ok: false, problems: problems.length > 0 ? problems : [{ path: '', message: 'the script is not valid' }], sha256: yaml.sha256 };
  }
  const d = shape.data;
  const script: CeremonyScript = {
    version: 1,
    type: d['ceremony-type'],
    id: d.id,
    title: d.title,
    roles,
    quorum: d.quorum,
    steps: complete,
    sha256: yaml.sha256,
    source,
  };
  if (d.description !== undefined) script.description = d.description;
  return { ok: true, script, plans: complete.map((s) => plans.get(s.index)!) };
}

/** `close` last and once; air-gap and clock checks before the first step that touches the token. */
function checkOrder(stepsRaw: unknown[], yaml: StrictYaml, problems: Problem[]): void {
  const actions = stepsRaw.map((s) => (isRecord(s) && typeof s['action'] === 'string' ? s['action'] : undefined));
  const closes = actions.flatMap((a, i) => (a === 'close' ? [i] : []));
  if (actions.length > 0) {
    if (closes.length === 0) problems.push({ path: 'steps', line: yaml.line(['steps'], { key: true }), message: "the last step must be a 'close' step" });
    for (const i of closes) {
      if (i !== actions.length - 1) problems.push({ path: dotted(['steps', i, 'action']), line: yaml.line(['steps', i, 'action']), message: "'close' must be the last step (exactly once)" });
    }
  }
  const firstHsm = actions.findIndex((a) => a !== undefined && isActionKind(a) && ACTIONS[a].hsm !== 'none');
  // A misspelt action is reported once, not again as a missing check.
  const allKnown = actions.every((a) => a !== undefined && isActionKind(a));
  for (const check of ['air-gap-check', 'clock-check'] as const) {
    const at = actions.indexOf(check);
    if (at === -1) {
      if (actions.length > 0 && allKnown) problems.push({ path: 'steps', line: yaml.line(['steps'], { key: true }), message: `every ceremony needs a '${check}' step before any step that touches the token` });
    } else if (firstHsm !== -1 && at > firstHsm) {
      problems.push({ path: dotted(['steps', at, 'action']), line: yaml.line(['steps', at, 'action']), message: `'${check}' must come before step ${firstHsm} ('${String(actions[firstHsm])}'), the first that touches the token` });
    }
  }
}

/** References to earlier steps, unique outputs and key labels. */
function checkPlans(steps: ScriptStep[], plans: Map<number, ActionPlan>, ids: Map<string, number>, stepsRaw: unknown[], yaml: StrictYaml, problems: Problem[]): void {
  const outputs = new Map<string, number>();
  const labels = new Map<string, number>();
  let tokenCreatedAt = -1;
  for (const step of steps) {
    const plan = plans.get(step.index)!;
    for (const ref of plan.references) {
      const path = ['steps', step.index, 'params', ...ref.path];
      const at = ids.get(ref.step);
      if (at === undefined) {
        problems.push({ path: dotted(path), line: yaml.line(path), message: `no step has the id '${ref.step}'${suggestion(ref.step, [...ids.keys()])}` });
        continue;
      }
      if (at >= step.index) {
        problems.push({ path: dotted(path), line: yaml.line(path), message: `step '${ref.step}' (steps.${at}) does not come before this step; a step can only use the results of earlier steps` });
        continue;
      }
      const target = stepsRaw[at];
      const targetAction = isRecord(target) ? target['action'] : undefined;
      if (typeof targetAction === 'string' && !ref.actions.includes(targetAction)) {
        problems.push({ path: dotted(path), line: yaml.line(path), message: `step '${ref.step}' is a '${targetAction}' step; expected ${ref.actions.map((a) => `'${a}'`).join(' or ')}` });
      }
    }
    plan.outputs.forEach((name) => {
      if (RESERVED_NAMES.has(name)) problems.push({ path: dotted(['steps', step.index, 'params']), line: yaml.line(['steps', step.index, 'params']), message: `'${name}' is a reserved name in the ceremony folder; choose another output name` });
      const prev = outputs.get(name);
      if (prev !== undefined) problems.push({ path: dotted(['steps', step.index, 'params']), line: yaml.line(['steps', step.index, 'params']), message: `output '${name}' is also written by steps.${prev}; every output file has one writer` });
      else outputs.set(name, step.index);
    });
    plan.keyLabels.forEach((label) => {
      const prev = labels.get(label);
      if (prev !== undefined) problems.push({ path: dotted(['steps', step.index, 'params', 'label']), line: yaml.line(['steps', step.index, 'params', 'label']), message: `key label '${label}' is also created by steps.${prev}` });
      else labels.set(label, step.index);
    });
    if (plan.createsToken === true) {
      if (tokenCreatedAt !== -1) problems.push({ path: dotted(['steps', step.index, 'action']), line: yaml.line(['steps', step.index, 'action']), message: `the token is already initialised by steps.${tokenCreatedAt}` });
      else tokenCreatedAt = step.index;
    }
    if (tokenCreatedAt === -1 || tokenCreatedAt > step.index) {
      // Steps before token-init in a root ceremony cannot use the token.
      const def = ACTIONS[step.action as ActionKind];
      const initLater = steps.some((s) => plans.get(s.index)?.createsToken === true && s.index > step.index);
      if (initLater && def.hsm !== 'none') {
        problems.push({ path: dotted(['steps', step.index, 'action']), line: yaml.line(['steps', step.index, 'action']), message: `'${step.action}' uses the token, which is only initialised by a later token-init step` });
      }
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates script text and returns the script, or throws with every problem listed.
 * @throws {CoreError} ERR_CEREMONY_SCRIPT_INVALID (details.problems), ERR_INPUT_TOO_LARGE
 */
export function parseScript(input: string | Uint8Array, source: string): CeremonyScript {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > MAX_SCRIPT_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `${source} is ${size} bytes, more than the ${MAX_SCRIPT_BYTES} a ceremony script may have`, { details: { source, size } });
  const v = validateScript(input, source);
  if (!v.ok) throw scriptInvalid(source, v.problems);
  return v.script;
}

/** The error for an invalid script, every problem in the message and in `details.problems`. */
export function scriptInvalid(source: string, problems: readonly Problem[]): CoreError {
  return new CoreError('ERR_CEREMONY_SCRIPT_INVALID', `${source} is not a valid ceremony script (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${formatProblems(problems)}`, {
    details: { source, problems: problems.map((p) => ({ ...p })) },
  });
}
