/**
 * @module online/local-issue
 * Issuance on the CA host without the server: administrator client certificates for the admin
 * API (`neam-ca online admin-cert`), from a CSR or from a key generated here. The certificate is an
 * X509-SVID for `spiffe://TD/neam-ca/admin/NAME` signed by the active intermediate, recorded like
 * every other certificate.
 *
 * Must never: write a generated private key anywhere but the caller's file (mode 0600).
 */
import { generateKeyPairSync, sign as nodeSign } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import type { Store } from '../store/index.ts';
import { issuerProfile, readCaCertificate } from './ca-cert.ts';
import { insertCert, type CertKind } from './cert-store.ts';
import { issuedIntermediates, openIntermediateKeys } from './intermediates.ts';
import { finishSvid, prepareFromKey, prepareSvid } from './issuance.ts';
import { certificatePem, compileTemplate } from './svid-template.ts';
import { selectActive } from './windows.ts';

/** What to issue locally. */
export interface LocalIssueRequest {
  readonly kind: CertKind;
  readonly spiffeId: string;
  /** PEM CSR; when absent a P-256 key is generated and returned. */
  readonly csrPem?: string;
  readonly ttlSeconds: number;
  readonly nowMs: number;
  /** For the activation rule. */
  readonly maxSvidTtlSeconds: number;
}

/** The issued certificate. */
export interface LocalIssueResult {
  readonly certPem: string;
  readonly chainPem: string;
  /** PKCS#8 PEM of a generated key (only when no CSR was given). */
  readonly keyPem?: string;
  readonly serial: string;
  readonly notAfter: string;
  readonly issuerId: string;
}

/**
 * Issues and records a certificate from the active intermediate.
 * @throws {CoreError} ERR_ONLINE_NO_ACTIVE_INTERMEDIATE, CSR errors, HSM codes
 */
export async function issueLocally(store: Store, session: HsmSession, req: LocalIssueRequest): Promise<LocalIssueResult> {
  const issued = issuedIntermediates(store.db);
  const act = selectActive(issued, req.nowMs, req.maxSvidTtlSeconds * 1000);
  if (act === undefined) throw new CoreError('ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', 'no intermediate is valid now; import the intermediate-issuance first');
  const rec = act.active;
  const key = openIntermediateKeys(store.db, session, [rec.id]).get(rec.id);
  if (key === undefined) throw new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', `the key of intermediate ${rec.id} could not be opened`);
  const info = readCaCertificate(rec.cert, `intermediate ${rec.id}`);
  const template = compileTemplate(issuerProfile(rec.id, info));
  let keyPem: string | undefined;
  let prepared;
  if (req.csrPem !== undefined) {
    prepared = await prepareSvid(template, { csrPem: req.csrPem, spiffeId: req.spiffeId, dnsNames: [], ttlSeconds: req.ttlSeconds, nowMs: req.nowMs });
  } else {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    keyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    prepared = prepareFromKey(template, pair.publicKey.export({ type: 'spki', format: 'der' }), 26, { spiffeId: req.spiffeId, dnsNames: [], ttlSeconds: req.ttlSeconds, nowMs: req.nowMs });
  }
  const signature = key.kind === 'software' ? nodeSign(template.hash, prepared.tbs, key.key) : session.sign(key.ref, template.issuer.signatureAlgorithm, prepared.tbs);
  const svid = finishSvid(template, prepared, signature);
  store.transaction((db) =>
    insertCert(db, { serial: svid.serialHex, issuerId: rec.id, kind: req.kind, spiffeId: req.spiffeId, entryId: null, nodeId: null, notBeforeMs: svid.notBeforeMs, notAfterMs: svid.notAfterMs, issuedAtMs: req.nowMs, spkiSha256: svid.spkiSha256, der: svid.der }),
  );
  return {
    certPem: certificatePem(svid.der),
    chainPem: certificatePem(rec.cert),
    ...(keyPem === undefined ? {} : { keyPem }),
    serial: svid.serialHex,
    notAfter: new Date(svid.notAfterMs).toISOString(),
    issuerId: rec.id,
  };
}
