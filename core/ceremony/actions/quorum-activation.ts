/**
 * @module ceremony/actions/quorum-activation
 * Step action `quorum-activation` (core/quorum): M custodians open their custodian files one at a
 * time; a wrong passphrase, a foreign, tampered or duplicate share is named as soon as it is
 * entered; with M valid shares the token PIN is rebuilt in memory, checked against the roster's
 * commitment, used to log in, and wiped. The names of the custodians who opened the token are
 * recorded. After a crash the runner asks the quorum again whenever the token must be opened.
 *
 * Must never: keep the rebuilt PIN beyond the login.
 */
import { z } from 'zod';

import { custodiansAtLeast, needsShares } from './quorum-checks.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({});

/** `quorum-activation`. */
export const quorumActivation: ActionDefinition<z.infer<typeof params>> = {
  summary: 'M custodians unlock their shares one at a time; the token PIN is rebuilt in memory, used to log in, and wiped',
  ceremonyTypes: ['intermediate', 'crl', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  check: (_p, ctx) => [...needsShares(ctx, 'quorum activation'), ...custodiansAtLeast(ctx, 'm', 'quorum activation')],
  // The custodians answer the shared activation questions (activation.custodians, .file.*, .passphrase.*).
  questions: () => [],
  precondition: async () => {},
  async execute(ctx) {
    // A fresh activation by the quorum present now, even if this run had opened the token before.
    ctx.hsm.logout();
    await ctx.hsm.login();
    const who = ctx.hsm.lastActivation() ?? {};
    return { result: { ...who } };
  },
  // Logging in has no lasting effect: an interrupted activation is simply asked again.
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the custodians open the token again' } : { kind: 'verified' }),
};
