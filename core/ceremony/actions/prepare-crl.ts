/**
 * @module ceremony/actions/prepare-crl
 * Step action `prepare-crl` (format defined; runs when core/pki is part of the build): builds the
 * exact TBS of the root's next CRL (CRL number from the CA store, every recorded revocation, this
 * and next update), lints it, writes it, and shows its SHA-256 for the approvals that follow.
 *
 * Must never: reuse or lower a CRL number.
 */
import { z } from 'zod';

import { pendingAction, stepRef } from './common.ts';

const params = z.strictObject({
  issuer: stepRef.optional(),
  'next-update-days': z.number().int().min(1).max(365).default(90),
});

/** `prepare-crl`. */
export const prepareCrl = pendingAction('prepare-crl', 'core/pki (issue 3)', {
  summary: "build and lint the exact TBS of the root's next CRL (number, revocations, next update) for approval",
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: p.issuer === undefined ? [] : [{ path: ['issuer'], step: p.issuer, actions: ['root-certificate'] }] }),
  check: (p, ctx) => (ctx.script.type === 'root' && p.issuer === undefined ? [{ path: 'params.issuer', message: 'in a root ceremony, name the root-certificate step that issues the CRL' }] : []),
  questions: () => [],
});
