/**
 * @module ceremony/actions/close
 * Step action `close`, always the last step: takes the final inventory of the token (label, class,
 * CKA_ID and public-key SHA-256 of every object, and its hash) so the next ceremony can check
 * nothing changed in between, summarises the outputs, and lets the runner mark the ceremony
 * completed and close the transcript. Crossing it ends the chance to abort.
 *
 * Must never: list anything secret (the inventory holds public-key hashes only).
 */
import { z } from 'zod';

import { canonicalJson } from '../../util/canonical-json.ts';
import { CEREMONY_TYPES, type JsonObject } from '../types.ts';
import { sha256Hex } from './common.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({});

/** `close`. */
export const close: ActionDefinition<z.infer<typeof params>> = {
  summary: "final step: record the token's inventory and its hash, summarise the outputs, complete the ceremony",
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: true,
  hsm: 'none',
  availability: { available: true },
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  questions: () => [],
  precondition: async () => {},
  async execute(ctx) {
    const usesToken = ctx.ceremony.usesToken;
    let inventory: JsonObject[] = [];
    let token: JsonObject | null = null;
    if (usesToken) {
      const session = await ctx.hsm.login();
      token = { label: session.token.label, serial: session.token.serial };
      inventory = session.describeKeys().map((k) => ({ label: k.label, class: k.class, algorithm: k.algorithm, keyId: k.id, spkiSha256: k.spkiSha256 ?? null }));
    }
    const inventorySha256 = sha256Hex(canonicalJson(inventory));
    ctx.io.event({
      type: 'display',
      step: ctx.step.id,
      message: usesToken ? `Token inventory at close: ${inventory.length} object(s); inventory SHA-256 ${inventorySha256}` : 'This ceremony did not use a token.',
      data: { inventorySha256 },
    });
    return { result: { token, inventory, inventorySha256 } };
  },
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the closing inventory is taken again' } : { kind: 'verified' }),
};
