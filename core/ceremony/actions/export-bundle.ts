/**
 * @module ceremony/actions/export-bundle
 * Step action `export-bundle` (format defined; runs when core/bundle is part of the build): builds
 * the outgoing transfer bundle (`intermediate-issuance`: certificates, chain, root, root CRL and
 * trust bundle; or `crl`), signs its manifest with the offline transfer key in the HSM, verifies it,
 * and shows its SHA-256 for reading aloud.
 *
 * Must never: put a private key, PIN or share in a bundle.
 */
import { z } from 'zod';

import { keyLabel, outputName, pendingAction } from './common.ts';

const params = z.strictObject({
  kind: z.enum(['intermediate-issuance', 'crl']),
  'transfer-key-label': keyLabel,
  'valid-days': z.number().int().min(1).max(90).default(14),
  file: outputName.optional(),
});

/** `export-bundle`. */
export const exportBundle = pendingAction('export-bundle', 'core/bundle (issue 6)', {
  summary: 'build and sign (with the offline transfer key) the outgoing bundle: intermediate-issuance or crl',
  ceremonyTypes: ['intermediate', 'crl'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.file ?? `${p.kind}.neambundle`], keyLabels: [], references: [], usesKeyLabels: [p['transfer-key-label']] }),
  questions: () => [],
});
