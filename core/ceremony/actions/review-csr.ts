/**
 * @module ceremony/actions/review-csr
 * Step action `review-csr` (format defined; runs when core/pki is part of the build): for each CSR
 * of an imported `intermediate-request` bundle, verifies it, builds the exact to-be-signed
 * intermediate certificate from the profile (only the public key comes from the CSR), lints it,
 * writes the TBS bytes, and shows the decoded fields and the TBS SHA-256 (hex and words) for the
 * administrator to accept or reject each one.
 *
 * Must never: copy subject or extensions from a CSR, or build a TBS that fails the lint.
 */
import { z } from 'zod';

import { pendingAction, stepRef } from './common.ts';

const params = z.strictObject({
  request: stepRef,
  'trust-domain': z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/u, "must be a SPIFFE trust domain name such as 'example.org'"),
  'validity-days': z.number().int().min(1).max(365).default(90),
  'key-algorithms': z.array(z.enum(['rsa-2048', 'rsa-3072', 'rsa-4096', 'ec-p256', 'ec-p384'])).min(1).default(['rsa-2048', 'ec-p256']),
  'max-csrs': z.number().int().min(1).max(16).default(8),
});

/** `review-csr`. */
export const reviewCsr = pendingAction('review-csr', 'core/pki (issue 3)', {
  summary: 'verify each CSR of an imported request, build and lint the exact TBS of each intermediate, show its fields and SHA-256 for acceptance',
  ceremonyTypes: ['intermediate'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [], keyLabels: [], references: [{ path: ['request'], step: p.request, actions: ['import-bundle'] }] }),
  questions: (_p, step) => [{ key: ['steps', step.id, 'decision', '*'], secret: false, attestation: true, description: "'accept' or 'reject' for each CSR (by its index, 1-based)" }],
});
