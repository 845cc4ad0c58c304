/**
 * @module ceremony/actions/sign-crl
 * Step action `sign-crl` (format defined; runs when core/pki and core/quorum are part of the build):
 * checks the approvals over the prepared CRL TBS, signs it with the root key, verifies it, confirms
 * the signed TBS equals the approved bytes, and writes the CRL. A CRL signed by an existing root
 * cannot be taken back: this is a point of no return.
 *
 * Must never: sign without M valid approvals over exactly these bytes.
 */
import { z } from 'zod';

import { keyLabel, outputName, pendingAction, stepRef } from './common.ts';

const params = z.strictObject({
  approvals: stepRef,
  'root-key-label': keyLabel.optional(),
  crl: outputName.default('root.crl'),
});

/** `sign-crl`. */
export const signCrl = pendingAction('sign-crl', 'core/pki (issue 3) and core/quorum (issue 4)', {
  summary: 'sign the approved CRL TBS with the root key; verify; check the signed TBS equals the approved bytes (point of no return)',
  ceremonyTypes: ['root', 'intermediate', 'crl'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.crl], keyLabels: [], references: [{ path: ['approvals'], step: p.approvals, actions: ['collect-approvals'] }], ...(p['root-key-label'] === undefined ? {} : { usesKeyLabels: [p['root-key-label']] }) }),
  check: (p, ctx) => (ctx.script.type !== 'root' && p['root-key-label'] === undefined ? [{ path: 'params.root-key-label', message: 'outside a root ceremony, name the root key by its label' }] : []),
  questions: () => [],
});
