/**
 * @module demo/stages/istio
 * Stage 6: the Istio security rollout for the bundled sample mesh (`samples/istio/`: inventory,
 * Envoy access log, configuration, policy cases), as `neam-ca istio generate`, `istio replay`,
 * `istio test` and `istio export` do it (same public functions, one process): the phased manifests
 * validated against Istio's CRD schemas when they are available, every observed request replayed
 * against the final state (all must be allowed), the hand-written cases checked (least privilege,
 * admin paths, plaintext), and the rollout sent by the online CA's transfer key in a signed
 * `istio-manifests` bundle to the mesh's GitOps side, which verifies and imports it with the Istio
 * validator.
 *
 * Must never: put a private key in the bundle (core/istio refuses it before signing).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { BUNDLE_MIGRATIONS, bundleState, createBundle, enrollPeer, generateFileIdentity, importBundle, KindRegistry, recordIdentity, toPem } from '../../bundle/index.ts';
import { CoreError } from '../../errors.ts';
import { generateRollout, istioBundlePayload, istioManifestsValidator, loadConfig, loadCrds, loadInventory, loadManifests, locateCrds, replayTraffic, testCases, validatePayloadFiles, writeTree, type CrdContext } from '../../istio/index.ts';
import { openStore, type Store } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { DemoContext } from '../context.ts';
import { writeSecretFile } from '../secrets.ts';
import { PEERS, type OnlineInitResult } from './online-init.ts';

/** What stage 6 produced. */
export interface IstioResult {
  rollout: string;
  requests: number;
  cases: number;
  schema: 'validated' | 'skipped';
  /** SHA-256 of the mesh side's transfer certificate. */
  meshFingerprint: string;
  meshDb: string;
}

/** The sample's input files under the repository. */
export function sampleFiles(repo: string): { inventory: string; accessLog: string; config: string; cases: string } {
  const dir = join(repo, 'samples', 'istio');
  return { inventory: join(dir, 'inventory.yaml'), accessLog: join(dir, 'access-log.jsonl'), config: join(dir, 'config.yaml'), cases: join(dir, 'cases.yaml') };
}

/**
 * Runs stage 6.
 * @throws {CoreError} ERR_ISTIO_* (ERR_ISTIO_POLICY_MISMATCH when an observed request or a case fails), ERR_BUNDLE_*
 */
export async function istioStage(ctx: DemoContext, online: OnlineInitResult): Promise<IstioResult> {
  const { layout } = ctx;
  const s = sampleFiles(ctx.repo);
  mkdirSync(layout.istio.dir, { mode: 0o755 });
  const where = locateCrds(ctx.repo, process.env);
  let crds: CrdContext | undefined;
  if (where.found) {
    crds = loadCrds(ctx.repo, process.env);
  } else {
    ctx.detail(`WARNING: Istio's CRD schemas were not found (looked at ${where.tried.join(', ')}); the manifests are checked against Istio's webhook rules only. Set NEAM_CA_ISTIO_CRDS=DIR to validate them too`);
  }
  const now = ctx.now();
  const out = await generateRollout({ inventory: [s.inventory], accessLogs: [s.accessLog], metrics: [], config: s.config }, now, crds);
  writeTree(layout.istio.rollout, out.files);
  const phases = [...new Set(out.files.map((f) => f.path.split('/')[0] ?? '').filter((p) => /^\d\d-/u.test(p)))].sort();
  ctx.detail(`generated ${out.files.length} files (${phases.join(', ')}) from ${out.traffic.requests} observed requests into ${layout.istio.rollout}; ${crds === undefined ? "CRD schema validation skipped, Istio's rules checked" : "validated against Istio's CRD schemas, CEL and webhook rules"}: ${out.validation.errors} errors, ${out.validation.warnings} warnings`);

  // Replay: every observed request must be allowed by the final (STRICT) state.
  const { config } = loadConfig(s.config);
  const { index } = loadInventory([s.inventory], config);
  const docs = loadManifests(layout.istio.rollout);
  const replay = await replayTraffic(docs, index, [s.accessLog], [], false);
  writeFileSync(layout.istio.replay, `neam-ca istio replay --manifests ${layout.istio.rollout} --inventory ${s.inventory} --access-log ${s.accessLog} --config ${s.config}\n${replay.result.requests} requests replayed: ${replay.result.allowed} allowed, ${replay.result.denied} denied\n${JSON.stringify(replay.result.groups, null, 2)}\n`);
  if (replay.result.denied > 0 || replay.result.requests === 0) throw new CoreError('ERR_ISTIO_POLICY_MISMATCH', `${replay.result.denied} of ${replay.result.requests} observed requests would be denied by the generated policies; see ${layout.istio.replay}`);
  ctx.detail(`replay: all ${replay.result.requests} observed requests are allowed by the STRICT configuration`);

  // The hand-written cases: least privilege, admin paths, plaintext.
  const tc = testCases(docs, index, s.cases);
  writeFileSync(layout.istio.cases, `${tc.results.map((r) => `${r.pass ? 'ok  ' : 'FAIL'}  ${r.expected.padEnd(5)} ${r.actual.padEnd(5)}  ${r.name}: ${r.request}`).join('\n')}\n`);
  const failed = tc.results.filter((r) => !r.pass);
  if (failed.length > 0) throw new CoreError('ERR_ISTIO_POLICY_MISMATCH', `${failed.length} policy case(s) failed: ${failed.map((f) => f.name).join('; ')}; see ${layout.istio.cases}`);
  ctx.detail(`policy cases: ${tc.results.length} match (${tc.results.filter((r) => r.expected === 'deny').length} denials: unobserved pairs, admin paths, plaintext)`);

  // The mesh's GitOps side: its own bundle state and transfer key; each side enrolls the other.
  mkdirSync(layout.mesh.dir, { mode: 0o700 });
  writeSecretFile(layout.secrets.meshTransferPassphrase, ctx.secrets.meshTransfer);
  const mesh: Store = openStore(layout.mesh.db, { migrations: [BUNDLE_MIGRATIONS] });
  try {
    const meshState = bundleState(mesh);
    const meshId = generateFileIdentity({ name: 'NEAM CA transfer: mesh gitops', path: layout.mesh.transferKey, passphrase: ctx.secrets.meshTransfer, now });
    recordIdentity(meshState, meshId, now);
    writeFileExclusive(layout.transfer.meshCert, toPem('CERTIFICATE', meshId.certificate));
    const onlineState = bundleState(online.store);
    const onlineCert = readFileSync(layout.transfer.onlineCert);
    enrollPeer(meshState, { name: PEERS.online, certificate: onlineCert, fingerprint: online.transferFingerprint, now });
    enrollPeer(onlineState, { name: PEERS.mesh, certificate: meshId.certificate, fingerprint: meshId.fingerprint, now });

    const payload = istioBundlePayload(out.files);
    validatePayloadFiles(new Map(payload.map((p) => [p.path, p.bytes])), crds?.set);
    createBundle(onlineState, { kind: 'istio-manifests', to: PEERS.mesh, files: payload.map((p) => ({ path: p.path, data: p.bytes })), signer: online.signer, now, write: (b) => writeFileExclusive(layout.transfer.istio, b.bytes) });
    const kinds = KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(crds?.set));
    const imported = importBundle(meshState, readFileSync(layout.transfer.istio), { now: ctx.now(), kinds });
    ctx.detail(`istio-manifests bundle ${imported.manifest.sequence} (${payload.length} files) signed by the online CA's transfer key: ${layout.transfer.istio}`);
    ctx.detail(`the mesh GitOps side (${layout.mesh.db}) verified and imported it with the Istio validator`);
    return { rollout: layout.istio.rollout, requests: replay.result.requests, cases: tc.results.length, schema: crds === undefined ? 'skipped' : 'validated', meshFingerprint: meshId.fingerprint, meshDb: layout.mesh.db };
  } finally {
    mesh.close();
  }
}
