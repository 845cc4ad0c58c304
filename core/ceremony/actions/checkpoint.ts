/**
 * @module ceremony/actions/checkpoint
 * Step action `checkpoint`: a procedural step with no machine effect (open the safe, check the
 * tamper-evident bag numbers, hand the custodian media over). It shows its instructions, records
 * the values people read out (e.g. bag serial numbers), and is closed by the step's sign-offs.
 *
 * Must never: ask for or record a secret.
 */
import { z } from 'zod';

import { CEREMONY_TYPES, type JsonObject } from '../types.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({
  instructions: z.string().min(1).max(4000).optional(),
  record: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/u, 'must be lower-case letters, digits and "-"'),
        prompt: z.string().min(1).max(200),
      }),
    )
    .max(20)
    .optional(),
});
type Params = z.infer<typeof params>;

/** `checkpoint`. */
export const checkpoint: ActionDefinition<Params> = {
  summary: 'a procedural step: show instructions, record values read out (e.g. tamper-evident bag numbers), then the sign-offs',
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  check(p) {
    const names = (p.record ?? []).map((r) => r.name);
    return names.flatMap((n, i) => (names.indexOf(n) !== i ? [{ path: `params.record.${i}.name`, message: `duplicate name '${n}'` }] : []));
  },
  questions: (p, step) => (p.record ?? []).map((r) => ({ key: ['steps', step.id, r.name], secret: false, attestation: true, description: r.prompt })),
  precondition: async () => {},
  async execute(ctx) {
    if (ctx.params.instructions !== undefined) ctx.io.event({ type: 'display', step: ctx.step.id, message: ctx.params.instructions });
    const values: JsonObject = {};
    for (const r of ctx.params.record ?? []) {
      values[r.name] = await ctx.io.ask({ kind: 'text', key: ctx.key(r.name), prompt: `${r.prompt}: `, attestation: true, validate: (a) => (a.trim() === '' ? 'an answer is required' : a.length > 500 ? 'at most 500 characters' : undefined) });
    }
    return { result: { values } };
  },
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the checkpoint is repeated' } : { kind: 'verified' }),
};
