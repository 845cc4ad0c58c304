/**
 * @module demo/stages/root
 * Stage 1: the root key ceremony (`ceremony-scripts/root.yaml`) rehearsed on a throwaway SoftHSM
 * token: five custodians enrolled (3-of-5 activation shares sealed under their generated
 * passphrases, each on its own medium folder), the RSA-4096 root key generated inside the token,
 * the self-signed root and the root's first CRL each approved by three custodians over their exact
 * bytes, the offline transfer key and certificate, backups, and a transcript closed by the transfer
 * key and co-signed by two custodians.
 *
 * Must never: write a custodian passphrase outside DEMO-ONLY-secrets/.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { certificateFingerprint, certificateFromInput } from '../../bundle/index.ts';
import { findSoftHsmModule } from '../../hsm/softhsm.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import { rootAnswersYaml, siteYaml } from '../answers.ts';
import { runScriptedCeremony, scriptAsks } from '../ceremony.ts';
import type { DemoContext } from '../context.ts';
import { CUSTODIANS } from '../layout.ts';
import { writeSecretDocument } from '../secrets.ts';

/** What the root ceremony produced. */
export interface RootResult {
  /** The ceremony folder. */
  dir: string;
  rootPem: string;
  rootCrl: string;
  transferPem: string;
  transcript: string;
  /** SHA-256 of the root certificate (DER), as pinned by the online CA and agents. */
  rootFingerprint: string;
  /** SHA-256 of the offline transfer certificate (DER), read aloud and pinned by the online CA. */
  transferFingerprint: string;
  /** SHA-256 of the offline transfer key (SPKI DER): the key that closes every transcript. */
  transferSpkiSha256: string;
  tokenSerial: string | null;
  /** Custodian name → medium folder. */
  media: Map<string, string>;
}

/**
 * Runs stage 1.
 * @throws {CoreError} the ceremony's codes (ERR_CEREMONY_*, ERR_QUORUM_*, ERR_HSM_*, ERR_PKI_*), ERR_DEMO_CHECK_FAILED, ERR_DEMO_INTERRUPTED
 */
export async function rootCeremonyStage(ctx: DemoContext): Promise<RootResult> {
  const { layout } = ctx;
  mkdirSync(layout.offline.dir, { mode: 0o700 });
  const media = new Map<string, string>();
  for (const c of CUSTODIANS) {
    const dir = join(layout.offline.media, c.medium);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    media.set(c.name, dir);
  }
  const backup: [string, string] = [join(layout.offline.backup, '1'), join(layout.offline.backup, '2')];
  for (const b of backup) mkdirSync(b, { recursive: true, mode: 0o700 });
  writeFileExclusive(layout.offline.site, siteYaml({ modulePath: findSoftHsmModule(), outputDir: layout.offline.caDir }), 0o644);
  const soPin = scriptAsks(ctx.repo, 'ceremony-scripts/root.yaml', 'token.so-pin') ? ctx.secrets.rootSoPin : undefined;
  const answers = rootAnswersYaml({ media, passphrases: ctx.secrets.custodians, soPin, backup });
  writeSecretDocument(layout.secrets.rootAnswers, answers);
  ctx.detail(`custodians ${CUSTODIANS.map((c) => c.medium).join(', ')} (3 of 5); passphrases generated, DEMO ONLY copy in ${layout.secrets.rootAnswers}`);

  const summary = await runScriptedCeremony(ctx, { script: 'ceremony-scripts/root.yaml', answers, answersSource: layout.secrets.rootAnswers, logFile: '1-root-ceremony.log' });
  const dir = summary.dir;
  const rootPem = join(dir, 'root.pem');
  const transferPem = join(dir, 'transfer.pem');
  const rootFingerprint = certificateFingerprint(certificateFromInput(readFileSync(rootPem)));
  const transferDer = certificateFromInput(readFileSync(transferPem));
  const transferFingerprint = certificateFingerprint(transferDer);
  const transferSpkiSha256 = createHash('sha256').update(new X509Certificate(transferDer).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
  ctx.detail(`ceremony ${summary.id} completed: ${dir}`);
  ctx.detail(`root certificate SHA-256 ${rootFingerprint}`);
  ctx.detail(`offline transfer certificate SHA-256 ${transferFingerprint}`);
  return { dir, rootPem, rootCrl: join(dir, 'root.crl'), transferPem, transcript: join(dir, 'transcript.jsonl'), rootFingerprint, transferFingerprint, transferSpkiSha256, tokenSerial: summary.tokenSerial, media };
}
