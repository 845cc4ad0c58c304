/**
 * @module ceremony/actions/collect-approvals
 * Step action `collect-approvals` (format defined; runs when core/quorum and core/pki are part of the
 * build): for every TBS prepared by the referenced step (accepted intermediates or a CRL), collects
 * M distinct custodians' signed approval statements over its exact SHA-256, either signed at the
 * workstation (custodian file and passphrase) or imported from files made with `neam-ca approve`.
 *
 * Must never: count an approval over another digest, an expired one, a duplicate custodian, or a
 * key that is not enrolled.
 */
import { z } from 'zod';

import { pendingAction, stepRef } from './common.ts';
import { custodiansAtLeast } from './quorum-checks.ts';

const params = z.strictObject({
  for: stepRef,
  'valid-minutes': z.number().int().min(5).max(10080).default(240),
});

/** `collect-approvals`. */
export const collectApprovals = pendingAction('collect-approvals', 'core/quorum (issue 4) and core/pki (issue 3)', {
  summary: 'collect M custodian approvals over the exact TBS SHA-256 of each prepared certificate or CRL',
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['for'], step: p.for, actions: ['review-csr', 'prepare-crl'] }] }),
  check: (_p, ctx) => custodiansAtLeast(ctx, 'm', 'collecting approvals'),
  questions: (_p, step) => [
    { key: ['steps', step.id, 'approvers'], secret: false, attestation: true, description: 'comma-separated names of the approving custodians' },
    { key: ['steps', step.id, 'decision', '*'], secret: false, attestation: true, description: "'approve' or 'decline' (one per custodian name)" },
    { key: ['steps', step.id, 'file', '*'], secret: false, attestation: false, description: "path of a custodian's file or of an approval file (one per custodian name)" },
    { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "a custodian's passphrase to sign the approval (rehearsals only)" },
  ],
});
