/**
 * @module demo/stages/intermediate
 * Stage 3: the intermediate signing ceremony (`ceremony-scripts/intermediate.yaml`) on the same
 * rehearsal CA: the `intermediate-request` bundle is verified and imported (the online CA's
 * transfer certificate enrolled by the fingerprint read aloud), each CSR reviewed and its exact
 * intermediate certificate prepared, three custodians open the root token, three approve the
 * certificates' exact bytes, the root key signs them, a new root CRL is approved and signed, and
 * the `intermediate-issuance` bundle is exported signed by the offline transfer key.
 *
 * Must never: sign anything the answers did not approve (the runner enforces it; the demo only
 * answers).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';

import { CoreError } from '../../errors.ts';
import { intermediateAnswersYaml } from '../answers.ts';
import { runScriptedCeremony } from '../ceremony.ts';
import type { DemoContext } from '../context.ts';
import { writeSecretDocument } from '../secrets.ts';
import type { OnlineInitResult } from './online-init.ts';
import type { RootResult } from './root.ts';

/** What the intermediate ceremony produced. */
export interface IntermediateResult {
  dir: string;
  transcript: string;
  /** Issued intermediate certificates (PEM files in the ceremony folder). */
  certificates: string[];
  /** Their chains (intermediate + root). */
  chains: string[];
  rootCrl: string;
}

/**
 * Runs stage 3.
 * @throws {CoreError} the ceremony's codes (ERR_CEREMONY_*, ERR_BUNDLE_*, ERR_QUORUM_*, ERR_PKI_*), ERR_DEMO_CHECK_FAILED, ERR_DEMO_INTERRUPTED
 */
export async function intermediateCeremonyStage(ctx: DemoContext, root: RootResult, online: OnlineInitResult): Promise<IntermediateResult> {
  const { layout } = ctx;
  const backup = join(layout.offline.backup, 'intermediate');
  mkdirSync(backup, { mode: 0o700 });
  const answers = intermediateAnswersYaml({
    media: root.media,
    passphrases: ctx.secrets.custodians,
    bundle: layout.transfer.request,
    peerCertificate: layout.transfer.onlineCert,
    peerFingerprint: online.transferFingerprint,
    intermediates: online.requests.map((r) => r.name),
    backup,
  });
  writeSecretDocument(layout.secrets.intermediateAnswers, answers);
  const summary = await runScriptedCeremony(ctx, { script: 'ceremony-scripts/intermediate.yaml', answers, answersSource: layout.secrets.intermediateAnswers, logFile: '3-intermediate-ceremony.log' });
  const dir = summary.dir;
  const pems = summary.outputs.filter((o) => o.step === 'sign').map((o) => join(dir, o.name));
  const certificates = pems.filter((p) => !p.endsWith('-chain.pem'));
  const chains = pems.filter((p) => p.endsWith('-chain.pem'));
  const bundle = summary.outputs.find((o) => o.step === 'export');
  if (bundle === undefined || certificates.length === 0) throw new CoreError('ERR_DEMO_CHECK_FAILED', `the intermediate ceremony in ${dir} recorded ${certificates.length} certificate(s) and ${bundle === undefined ? 'no' : 'an'} exported bundle; see logs/3-intermediate-ceremony.log`);
  copyFileSync(join(dir, bundle.name), layout.transfer.issuance);
  ctx.detail(`ceremony ${summary.id} completed: ${dir}`);
  ctx.detail(`${certificates.length} intermediates signed by the root key after 3-of-5 activation and approval: ${certificates.map((c) => basename(c)).join(', ')}`);
  ctx.detail(`intermediate-issuance bundle: ${layout.transfer.issuance}`);
  return { dir, transcript: join(dir, 'transcript.jsonl'), certificates, chains, rootCrl: join(dir, 'root.crl') };
}
