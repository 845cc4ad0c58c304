/**
 * @module ceremony/actions/air-gap-check
 * Step action `air-gap-check`: refuses to go on while any network interface other than loopback is
 * up, naming each one. In a rehearsal the check still runs and is recorded, but an interface that is
 * up only produces a warning (the one check rehearsals relax). The runner repeats the probe before
 * every later step of a live ceremony.
 *
 * Must never: pass a live ceremony whose interfaces could not be read.
 */
import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { describeOffending } from '../air-gap.ts';
import { CEREMONY_TYPES, type JsonObject } from '../types.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({});

/** `air-gap-check`. */
export const airGapCheck: ActionDefinition<z.infer<typeof params>> = {
  summary: 'refuse to continue while a network interface other than loopback is up (relaxed to a warning in rehearsals)',
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  questions: () => [],
  precondition: async () => {},
  async execute(ctx) {
    const report = await ctx.airGap();
    const interfaces = report.interfaces.map((i): JsonObject => ({ name: i.name, up: i.up, loopback: i.loopback, flags: i.flags, addresses: i.addresses, unknown: i.unknown === true }));
    if (!report.ok) {
      if (!ctx.ceremony.rehearsal) {
        throw new CoreError('ERR_CEREMONY_NOT_AIR_GAPPED', `air-gap check failed: ${describeOffending(report)}`, {
          details: { interfaces: report.offending.map((i) => i.name) },
        });
      }
      ctx.io.event({ type: 'warning', step: ctx.step.id, message: `REHEARSAL: the air-gap check is relaxed; ${describeOffending(report)}` });
    } else {
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Air gap confirmed: no interface other than loopback is up (${report.interfaces.map((i) => i.name).join(', ') || 'no interfaces'}; read via ${report.method})` });
    }
    return { result: { ok: report.ok, relaxed: !report.ok, method: report.method, offending: report.offending.map((i) => i.name), interfaces } };
  },
  // The check has no effect: an interrupted check simply runs again.
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the air-gap check is repeated' } : { kind: 'verified' }),
};
