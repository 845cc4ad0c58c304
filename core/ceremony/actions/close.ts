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
import { CoreError } from '../../errors.ts';
import { CEREMONY_TYPES, type JsonObject } from '../types.ts';
import { keyLabel, sha256Hex } from './common.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({
  /** The offline transfer key (EC) that signs the transcript's closing record. */
  'transfer-key-label': keyLabel,
  /** How many co-signers (approval keys) must sign the closing record with the transfer key. */
  'co-signers': z.number().int().min(0).max(16).default(1),
});
type Params = z.infer<typeof params>;

/** `close`. */
export const close: ActionDefinition<Params> = {
  summary: "final step: record the token's inventory and its hash, complete the ceremony, close the transcript signed by the transfer key and co-signers",
  ceremonyTypes: CEREMONY_TYPES,
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [], usesKeyLabels: [p['transfer-key-label']] }),
  check(p, ctx) {
    const gen = ctx.steps.find((s) => s.action === 'generate-key' && (s.params as { label?: string }).label === p['transfer-key-label']);
    const alg = gen === undefined ? undefined : (gen.params as { algorithm?: string }).algorithm;
    const problems = alg !== undefined && !alg.startsWith('ec-') ? [{ path: 'params.transfer-key-label', message: `the transfer key '${p['transfer-key-label']}' must be an EC key (it is ${alg} in steps.${gen!.index})` }] : [];
    if (p['co-signers'] > 0 && ctx.script.quorum.activation !== 'shares') problems.push({ path: 'params.co-signers', message: "co-signers are custodians with approval keys, which exist only with quorum.activation 'shares'" });
    if (p['co-signers'] > ctx.script.quorum.n) problems.push({ path: 'params.co-signers', message: `${p['co-signers']} co-signers requested, but the quorum has only ${ctx.script.quorum.n} custodians` });
    return problems;
  },
  questions: (p, step) =>
    p['co-signers'] > 0
      ? [
          { key: ['steps', step.id, 'co-signers'], secret: false, attestation: true, description: 'the custodians who co-sign the transcript (comma-separated)' },
          { key: ['steps', step.id, 'file', '*'], secret: false, attestation: false, description: "a co-signer's custodian file or medium folder" },
          { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "a co-signer's passphrase (rehearsals only)" },
        ]
      : [],
  async precondition(ctx) {
    const session = await ctx.hsm.login();
    const label = ctx.params['transfer-key-label'];
    const keys = session.findKeys({ label, class: 'private' });
    if (keys.length !== 1 || keys[0]!.keyType !== 'EC') {
      throw new CoreError('ERR_HSM_OBJECT_NOT_FOUND', `the transcript is signed by the transfer key '${label}', but token '${session.token.label}' holds ${keys.length === 0 ? 'no private key with that label' : keys.length > 1 ? `${keys.length} private keys with that label` : `a ${keys[0]!.keyType} key with that label, not an EC key`}`, { details: { label } });
    }
  },
  async execute(ctx) {
    const session = await ctx.hsm.login();
    const token: JsonObject = { label: session.token.label, serial: session.token.serial };
    const inventory: JsonObject[] = session.describeKeys().map((k) => ({ label: k.label, class: k.class, algorithm: k.algorithm, keyId: k.id, spkiSha256: k.spkiSha256 ?? null }));
    const inventorySha256 = sha256Hex(canonicalJson(inventory));
    ctx.io.event({
      type: 'display',
      step: ctx.step.id,
      message: `Token inventory at close: ${inventory.length} object(s); inventory SHA-256 ${inventorySha256}`,
      data: { inventorySha256 },
    });
    return { result: { token, inventory, inventorySha256 } };
  },
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the closing inventory is taken again' } : { kind: 'verified' }),
};
