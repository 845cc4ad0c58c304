/**
 * @module ceremony/actions/import-bundle
 * Step action `import-bundle` (format defined; runs when core/bundle is part of the build): asks for
 * the path of a transfer bundle brought across the air gap, verifies it completely (signature
 * against the pinned online sender, recipient, expiry, sequence, file hashes, kind checks), shows
 * its SHA-256 for reading aloud, and copies it into the ceremony folder.
 *
 * Must never: act on a bundle that did not verify.
 */
import { z } from 'zod';

import { outputName, pendingAction } from './common.ts';

const params = z.strictObject({
  kind: z.enum(['intermediate-request', 'revocation-request']),
  copy: outputName.optional(),
});

/** `import-bundle`. */
export const importBundle = pendingAction('import-bundle', 'core/bundle (issue 6)', {
  summary: 'verify a transfer bundle brought across the air gap (intermediate-request or revocation-request) and keep a copy',
  ceremonyTypes: ['intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [p.copy ?? `${p.kind}.neambundle`], keyLabels: [], references: [] }),
  questions: (_p, step) => [{ key: ['steps', step.id, 'bundle'], secret: false, attestation: false, description: 'path of the bundle file on the transfer medium' }],
});
