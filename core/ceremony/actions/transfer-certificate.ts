/**
 * @module ceremony/actions/transfer-certificate
 * Step action `transfer-certificate` (format defined; runs when core/pki and core/bundle are part of
 * the build): the self-signed certificate of the offline transfer key (EC P-256, 2 years) that signs
 * bundle manifests; the online side pins its SHA-256, which is read aloud and recorded.
 *
 * Must never: be issued for a key that is not the referenced step's.
 */
import { z } from 'zod';

import { outputName, pendingAction, stepRef, subjectSchema } from './common.ts';

const params = z.strictObject({
  key: stepRef,
  subject: subjectSchema,
  'validity-days': z.number().int().min(1).max(1096).default(730),
  certificate: outputName.default('transfer.pem'),
});

/** `transfer-certificate`. */
export const transferCertificate = pendingAction('transfer-certificate', 'core/pki (issue 3) and core/bundle (issue 6)', {
  summary: 'issue the self-signed certificate of the offline transfer key that signs bundle manifests; its fingerprint is read aloud for pinning',
  ceremonyTypes: ['root', 'custodian-rotation'],
  params,
  pointOfNoReturn: false,
  hsm: 'login',
  plan: (p) => ({ outputs: [p.certificate], keyLabels: [], references: [{ path: ['key'], step: p.key, actions: ['generate-key'] }] }),
  questions: () => [],
});
