/**
 * @module ceremony/actions/quorum-activation
 * Step action `quorum-activation` (format defined; runs when core/quorum is part of the build):
 * custodians open their custodian files one at a time; a wrong passphrase, a foreign, tampered or
 * duplicate share is named as soon as it is entered; with M valid shares the token PIN is rebuilt
 * in memory, used to log in, and wiped. After a crash the runner asks for the quorum again.
 *
 * Must never: keep the rebuilt PIN beyond the login, or reveal which share was wrong beyond its owner.
 */
import { z } from 'zod';

import { pendingAction } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';

const params = z.strictObject({});

/** `quorum-activation`. */
export const quorumActivation = pendingAction('quorum-activation', 'core/quorum (issue 4)', {
  summary: 'M custodians unlock their shares one at a time; the token PIN is rebuilt in memory, used to log in, and wiped',
  ceremonyTypes: ['intermediate', 'crl', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'module',
  plan: () => ({ outputs: [], keyLabels: [], references: [] }),
  check: (_p, ctx) => [...needsShares(ctx, 'quorum activation'), ...custodiansAtLeast(ctx, 'm', 'quorum activation')],
  questions: (_p, step) => [
    { key: ['steps', step.id, 'custodians'], secret: false, attestation: true, description: 'comma-separated names of the custodians who open their shares, in order' },
    { key: ['steps', step.id, 'file', '*'], secret: false, attestation: false, description: "path of a custodian's file (one per custodian name)" },
    { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "a custodian's passphrase (one per custodian name; rehearsals only)" },
  ],
});
