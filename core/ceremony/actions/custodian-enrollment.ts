/**
 * @module ceremony/actions/custodian-enrollment
 * Step action `custodian-enrollment` (format defined; runs when core/quorum is part of the build):
 * creates the random activation secret that becomes the token's user PIN, splits it into N Shamir
 * shares with threshold M, and gives every custodian (the site file's participants holding the
 * `custodian` role) a custodian file on their own medium: their share and a new personal approval
 * key, sealed under the passphrase they type, bound to this ceremony. Comes before `token-init`,
 * so a crash can never leave a token whose PIN nobody can rebuild.
 *
 * Must never: show, log or store the activation secret or a passphrase.
 */
import { z } from 'zod';

import { pendingAction } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';

const params = z.strictObject({});

/** `custodian-enrollment`. */
export const custodianEnrollment = pendingAction('custodian-enrollment', 'core/quorum (issue 4)', {
  summary: "create the token's activation secret, split it M-of-N, and seal each custodian's share and new approval key under their passphrase onto their own medium",
  ceremonyTypes: ['root', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  check(_p, ctx) {
    const problems = [...needsShares(ctx, 'custodian enrollment'), ...custodiansAtLeast(ctx, 'n', 'custodian enrollment')];
    const tokenInit = ctx.steps.findIndex((s) => s.action === 'token-init');
    if (tokenInit !== -1 && tokenInit < ctx.step.index) {
      problems.push({ path: 'action', message: `custodian enrollment must come before token-init (step ${tokenInit}), so the token's PIN exists in sealed shares before the token does` });
    }
    return problems;
  },
  questions: (_p, step) => [
    { key: ['steps', step.id, 'medium', '*'], secret: false, attestation: false, description: "folder on the custodian's own medium for their custodian file (one per custodian name)" },
    { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "the custodian's new passphrase (one per custodian name; rehearsals only)" },
  ],
});
