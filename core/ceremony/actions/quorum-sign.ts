/**
 * @module ceremony/actions/quorum-sign
 * The one way a ceremony step signs with a root key: the prepared object, the root key found by
 * label and proven by its public-key hash, and the approval files a `collect-approvals` step wrote,
 * through core/quorum's `signPreparedWithQuorum` (the quorum checked over the exact bytes before
 * the HSM is asked, the issued TBS compared with the approved bytes after); the decision recorded.
 * Used by `root-certificate`, `sign-crl` and `sign-intermediate`.
 *
 * Must never: sign without the quorum check, or with a key other than the prepared object's.
 */
import { readFileSync } from 'node:fs';

import type { IssuedCertificate, IssuedCrl, Prepared, PreparedCertificate, PreparedCrl } from '../../ca/index.ts';
import { hsmSigner } from '../../crypto/signer.ts';
import { CoreError } from '../../errors.ts';
import type { HsmSession } from '../../hsm/types.ts';
import { parseApproval, signPreparedWithQuorum, type QuorumDecision } from '../../quorum/index.ts';
import type { JsonObject } from '../types.ts';
import { ceremonyRef, keyByLabel } from './pki-helpers.ts';
import type { StepContext } from './types.ts';

/**
 * Signs `prepared` with the root key labelled `keyLabel` under the quorum of `approvalFiles`, and
 * records `quorum.decision`.
 * @throws {CoreError} ERR_CEREMONY_STATE_INVALID (no roster), ERR_HSM_* (key missing or not the
 *   prepared object's), every code of `signPreparedWithQuorum` (nothing signed)
 */
export async function signUnderQuorum<P>(ctx: StepContext<P>, session: HsmSession, keyLabel: string, prepared: PreparedCertificate, approvalFiles: readonly string[]): Promise<{ issued: IssuedCertificate; decision: QuorumDecision }>;
export async function signUnderQuorum<P>(ctx: StepContext<P>, session: HsmSession, keyLabel: string, prepared: PreparedCrl, approvalFiles: readonly string[]): Promise<{ issued: IssuedCrl; decision: QuorumDecision }>;
export async function signUnderQuorum<P>(ctx: StepContext<P>, session: HsmSession, keyLabel: string, prepared: Prepared, approvalFiles: readonly string[]): Promise<{ issued: IssuedCertificate | IssuedCrl; decision: QuorumDecision }> {
  const ca = ctx.ca();
  const roster = ca.currentRoster();
  if (roster === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', 'the CA folder has no quorum roster to check the approvals against');
  const { key } = keyByLabel(session, keyLabel, prepared.signerSpkiSha256);
  const { result, decision } = await signPreparedWithQuorum({
    roster,
    prepared,
    approvals: approvalFiles.map((f) => parseApproval(readFileSync(f), f)),
    now: ctx.now(),
    signer: hsmSigner(session, key, prepared.signatureAlgorithm),
    options: { store: ca.pki, ceremony: ceremonyRef(ctx) },
  });
  ctx.record('quorum.decision', JSON.parse(JSON.stringify(decision)) as JsonObject);
  return { issued: result, decision };
}
