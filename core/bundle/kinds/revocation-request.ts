/**
 * @module bundle/kinds/revocation-request
 * `revocation-request` (online → offline): intermediates the online side asks the root to revoke
 * at the next CRL ceremony, each with the certificate itself (so the custodians see exactly what
 * they revoke), an RFC 5280 reason and an optional invalidity date and comment. Structural checks
 * only: the certificate parses and is a CA, no certificate twice, the invalidity date is not in
 * the future. The ceremony domain registers the check that the certificate was issued by our root.
 *
 * Must never: accept `certificateHold` or `removeFromCRL` (a CA intermediate is revoked for good).
 */
import { z } from 'zod';

import { mediaTypeFor } from '../manifest.ts';
import { oneCertificate, pathField, Problems, timeField } from './common.ts';
import type { KindHandler, KindInput } from './types.ts';

/** CRL reasons a revocation request may give (RFC 5280 §5.3.1, without hold/removeFromCRL). */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn', 'aACompromise'] as const;

/** `payload/index.json` of a revocation-request bundle. */
export const revocationRequestIndex = z.strictObject({
  revocations: z
    .array(
      z.strictObject({
        certificate: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
        reason: z.enum(REVOCATION_REASONS),
        invalidityDate: timeField.optional(),
        comment: z.string().max(500).optional(),
      }),
    )
    .min(1)
    .max(64),
});
/** Parsed index of a revocation-request bundle. */
export type RevocationRequestIndex = z.infer<typeof revocationRequestIndex>;

function validate(input: KindInput<RevocationRequestIndex>): void {
  const problems = new Problems('revocation-request');
  const seen = new Set<string>();
  input.index.revocations.forEach((r, i) => {
    const x = oneCertificate(input.files, r.certificate, problems, `revocations.${i}.certificate`);
    if (x !== undefined) {
      if (!x.ca) problems.add(`revocations.${i}.certificate`, `${r.certificate} is not a CA certificate; the root revokes intermediates only`);
      if (seen.has(x.fingerprint256)) problems.add(`revocations.${i}.certificate`, `${r.certificate} repeats a certificate`);
      seen.add(x.fingerprint256);
    }
    if (r.invalidityDate !== undefined && Date.parse(r.invalidityDate) > input.now.getTime() + 5 * 60_000) problems.add(`revocations.${i}.invalidityDate`, 'is in the future');
  });
  problems.throwIfAny();
}

/** The revocation-request kind. */
export const revocationRequestKind: KindHandler<RevocationRequestIndex> = {
  kind: 'revocation-request',
  description: 'intermediates to revoke at the next CRL ceremony (online → offline)',
  indexSchema: revocationRequestIndex,
  references: (index) => index.revocations.map((r, i) => ({ path: r.certificate, mediaType: mediaTypeFor(r.certificate) ?? '', field: `revocations.${i}.certificate` })),
  validate,
};
