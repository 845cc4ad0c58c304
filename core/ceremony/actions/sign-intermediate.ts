/**
 * @module ceremony/actions/sign-intermediate
 * Step action `sign-intermediate` (format defined; runs when core/pki and core/quorum are part of the
 * build): checks the quorum of approvals over each accepted TBS, signs it with the root key in the
 * HSM, verifies the signature, confirms the signed TBS equals the approved bytes, lints again and
 * writes the certificate. This is the point of no return: a signature cannot be taken back.
 *
 * Must never: sign without M valid approvals over exactly these bytes.
 */
import { z } from 'zod';

import { keyLabel, pendingAction, stepRef } from './common.ts';

const params = z.strictObject({
  approvals: stepRef,
  'root-key-label': keyLabel,
  'file-prefix': z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/u).default('intermediate'),
});

/** `sign-intermediate`. */
export const signIntermediate = pendingAction('sign-intermediate', 'core/pki (issue 3) and core/quorum (issue 4)', {
  summary: 'sign each approved intermediate TBS with the root key; verify; check the signed TBS equals the approved bytes (point of no return)',
  ceremonyTypes: ['intermediate'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['approvals'], step: p.approvals, actions: ['collect-approvals'] }], usesKeyLabels: [p['root-key-label']] }),
  questions: () => [],
});
