/**
 * @module ceremony/actions/root-certificate
 * Step action `root-certificate` (format defined; runs when core/pki is part of the build): builds
 * the self-signed root certificate for a key generated earlier in the ceremony, lints the exact
 * to-be-signed bytes against the root profile, signs in the HSM, verifies the signature and that the
 * signed TBS equals the linted one, and writes it (PEM). Its SHA-256 is read aloud.
 *
 * Must never: sign before the lint passed, or use a key other than the referenced step's.
 */
import { z } from 'zod';

import { outputName, pendingAction, stepRef, subjectSchema } from './common.ts';

const params = z.strictObject({
  key: stepRef,
  subject: subjectSchema,
  'validity-days': z.number().int().min(1).max(9131).default(3652),
  'path-length': z.number().int().min(0).max(4).default(1),
  certificate: outputName.default('root.pem'),
});

/** `root-certificate`. */
export const rootCertificate = pendingAction('root-certificate', 'core/pki (issue 3)', {
  summary: 'build, lint, sign (in the HSM) and verify the self-signed root certificate for a key generated earlier',
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.certificate], keyLabels: [], references: [{ path: ['key'], step: p.key, actions: ['generate-key'] }] }),
  questions: () => [],
});
