/**
 * @module ceremony/actions/revoke
 * Step action `revoke` (format defined; runs when core/pki is part of the build): records the
 * revocation of an intermediate issued by this root (serial typed on the day or taken from an
 * imported revocation request), after showing the certificate for confirmation. The next
 * `prepare-crl` includes it.
 *
 * Must never: revoke a serial this root did not issue.
 */
import { z } from 'zod';

import { pendingAction, stepRef } from './common.ts';

/** RFC 5280 §5.3.1 reason codes a root may give for an intermediate. */
const REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'] as const;

const params = z.strictObject({
  /** When absent, the reason is chosen on the day (and recorded). */
  reason: z.enum(REASONS).optional(),
  request: stepRef.optional(),
});

/** `revoke`. */
export const revoke = pendingAction('revoke', 'core/pki (issue 3)', {
  summary: 'record the revocation of an intermediate issued by this root, for the next CRL',
  ceremonyTypes: ['crl', 'intermediate'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: p.request === undefined ? [] : [{ path: ['request'], step: p.request, actions: ['import-bundle'] }] }),
  questions: (_p, step) => [
    { key: ['steps', step.id, 'serial'], secret: false, attestation: false, description: 'serial number (hex) of the intermediate to revoke' },
    { key: ['steps', step.id, 'reason'], secret: false, attestation: false, description: `RFC 5280 reason when the script gives none: ${REASONS.join(', ')}` },
    { key: ['steps', step.id, 'confirm'], secret: false, attestation: true, description: "'REVOKE' to confirm after the certificate is shown" },
  ],
});
