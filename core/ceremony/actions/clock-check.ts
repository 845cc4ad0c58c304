/**
 * @module ceremony/actions/clock-check
 * Step action `clock-check`: shows the workstation's UTC time, asks a person to type the time shown
 * by an independent reference clock, records both and the skew, and refuses when the skew exceeds
 * `max-skew-seconds`. Certificates signed with a wrong clock are "not yet valid" or expire early.
 *
 * Must never: accept the workstation's own clock as the reference outside a rehearsal.
 */
import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { clockSkewSeconds, parseReferenceTime, utcSeconds } from '../clock.ts';
import { CEREMONY_TYPES } from '../types.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({
  'max-skew-seconds': z.number().int().min(1).max(3600).default(60),
});

/** `clock-check`. */
export const clockCheck: ActionDefinition<z.infer<typeof params>> = {
  summary: 'confirm the workstation clock against an independent reference clock; record the skew; refuse above max-skew-seconds',
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  questions: (_p, step) => [
    { key: ['steps', step.id, 'reference-time'], secret: false, attestation: true, description: "the reference clock's UTC time (HH:MM:SS or YYYY-MM-DDTHH:MM:SSZ; in rehearsals also 'workstation', 'workstation+N', 'workstation-N' seconds)" },
  ],
  precondition: async () => {},
  async execute(ctx) {
    const shown = ctx.now();
    const reference = ctx.site.referenceClock ?? 'an independent reference clock';
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Workstation clock (UTC): ${utcSeconds(shown)}. Compare it with ${reference}.`, data: { workstation: utcSeconds(shown) } });
    let parsed: ReturnType<typeof parseReferenceTime> | undefined;
    const answer = await ctx.io.ask({
      kind: 'text',
      key: ctx.key('reference-time'),
      prompt: `Type the UTC time shown by ${reference} (HH:MM:SS): `,
      attestation: true,
      validate: (text) => {
        parsed = parseReferenceTime(text, ctx.now(), { allowWorkstation: ctx.ceremony.rehearsal });
        return 'error' in parsed ? parsed.error : undefined;
      },
    });
    const answeredAt = ctx.now();
    parsed = parseReferenceTime(answer, answeredAt, { allowWorkstation: ctx.ceremony.rehearsal });
    if ('error' in parsed) throw new CoreError('ERR_CEREMONY_CLOCK_REJECTED', `clock check: ${parsed.error}`);
    const skew = clockSkewSeconds(answeredAt, parsed.reference);
    const max = ctx.params['max-skew-seconds'];
    const result = { workstationShown: utcSeconds(shown), workstationAtAnswer: utcSeconds(answeredAt), reference: utcSeconds(parsed.reference), referenceForm: parsed.form, referenceClock: reference, skewSeconds: skew, maxSkewSeconds: max };
    ctx.record('clock.checked', result);
    if (Math.abs(skew) > max) {
      throw new CoreError(
        'ERR_CEREMONY_CLOCK_REJECTED',
        `the workstation clock is ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} the reference (at most ${max} s allowed). Set the clock (e.g. 'date -u -s HH:MM:SS'), then resume the ceremony to repeat the check`,
        { details: { skewSeconds: skew, maxSkewSeconds: max } },
      );
    }
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Clock confirmed: skew ${skew} s (limit ${max} s).` });
    return { result };
  },
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the clock check is repeated' } : { kind: 'verified' }),
};
