/**
 * @module demo/layout
 * Where the demo puts everything under its output folder (documented in docs/demo.md, which the
 * demo test checks against a real run), and the refusal to reuse a folder that is not empty.
 *
 * Must never: choose a path outside the output folder, or overwrite anything in it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { CoreError } from '../errors.ts';

/** The custodians of the rehearsal (3-of-5): display name and medium folder. */
export const CUSTODIANS = [
  { name: 'Carol Custodian', medium: 'carol' },
  { name: 'Dave Custodian', medium: 'dave' },
  { name: 'Erin Custodian', medium: 'erin' },
  { name: 'Frank Custodian', medium: 'frank' },
  { name: 'Grace Custodian', medium: 'grace' },
] as const;

/** Every path the demo writes, under `out`. */
export interface DemoLayout {
  out: string;
  readme: string;
  summary: string;
  logs: string;
  secrets: {
    dir: string;
    readme: string;
    rootAnswers: string;
    intermediateAnswers: string;
    onlinePin: string;
    onlineSoPin: string;
    onlineTransferPassphrase: string;
    meshTransferPassphrase: string;
  };
  offline: { dir: string; site: string; caDir: string; caHome: string; ceremonies: string; media: string; backup: string };
  transfer: { dir: string; request: string; issuance: string; istio: string; root: string; offlineCert: string; onlineCert: string; meshCert: string };
  online: { home: string; transferKey: string; serveConfig: string };
  node: { dir: string; config: string; joinToken: string; state: string; workloads: string };
  mtls: { dir: string; revoked: string };
  istio: { dir: string; rollout: string; replay: string; cases: string };
  mesh: { dir: string; db: string; transferKey: string };
  verify: { dir: string };
  reports: { dir: string; root: string; intermediate: string };
}

/** The layout under `out` (pure; nothing is created). */
export function demoLayout(outDir: string): DemoLayout {
  const out = resolve(outDir);
  const secrets = join(out, 'DEMO-ONLY-secrets');
  const offline = join(out, 'offline');
  const caDir = join(offline, 'ca');
  const transfer = join(out, 'transfer');
  const online = join(out, 'online-ca');
  const node = join(out, 'node');
  const mtls = join(out, 'mtls');
  const istio = join(out, 'istio');
  const mesh = join(out, 'mesh');
  return {
    out,
    readme: join(out, 'README.txt'),
    summary: join(out, 'summary.json'),
    logs: join(out, 'logs'),
    secrets: {
      dir: secrets,
      readme: join(secrets, 'README.txt'),
      rootAnswers: join(secrets, 'root-answers.yaml'),
      intermediateAnswers: join(secrets, 'intermediate-answers.yaml'),
      onlinePin: join(secrets, 'online-token.pin'),
      onlineSoPin: join(secrets, 'online-token.so-pin'),
      onlineTransferPassphrase: join(secrets, 'online-transfer.passphrase'),
      meshTransferPassphrase: join(secrets, 'mesh-transfer.passphrase'),
    },
    offline: { dir: offline, site: join(offline, 'site.yaml'), caDir, caHome: join(caDir, 'rehearsal'), ceremonies: join(caDir, 'rehearsal', 'ceremonies'), media: join(offline, 'media'), backup: join(offline, 'backup') },
    transfer: {
      dir: transfer,
      request: join(transfer, '1-intermediate-request.neambundle'),
      issuance: join(transfer, '2-intermediate-issuance.neambundle'),
      istio: join(transfer, '3-istio-manifests.neambundle'),
      root: join(transfer, 'root.pem'),
      offlineCert: join(transfer, 'offline-transfer.pem'),
      onlineCert: join(transfer, 'online-transfer.pem'),
      meshCert: join(transfer, 'mesh-transfer.pem'),
    },
    online: { home: online, transferKey: join(online, 'transfer.key'), serveConfig: join(online, 'serve.yaml') },
    node: { dir: node, config: join(node, 'agent.yaml'), joinToken: join(node, 'join-token'), state: join(node, 'agent-state'), workloads: join(node, 'workloads') },
    mtls: { dir: mtls, revoked: join(mtls, 'revoked-svid') },
    istio: { dir: istio, rollout: join(istio, 'rollout'), replay: join(istio, 'replay.txt'), cases: join(istio, 'policy-test.txt') },
    mesh: { dir: mesh, db: join(mesh, 'mesh.db'), transferKey: join(mesh, 'transfer.key') },
    verify: { dir: join(out, 'verify') },
    reports: { dir: join(out, 'reports'), root: join(out, 'reports', 'root-ceremony.html'), intermediate: join(out, 'reports', 'intermediate-ceremony.html') },
  };
}

/**
 * Refuses an output folder that exists and is not empty (or is not a folder): the demo never
 * overwrites, so a second run into the same folder stops before doing anything.
 * @throws {CoreError} ERR_DEMO_OUTPUT_EXISTS naming the folder and `--out`
 */
export function checkOutputFolder(out: string): void {
  if (!existsSync(out)) return;
  const isDir = statSync(out).isDirectory();
  if (isDir && readdirSync(out).length === 0) return;
  throw new CoreError(
    'ERR_DEMO_OUTPUT_EXISTS',
    `${out} already exists and ${isDir ? 'is not empty (an earlier demo run?)' : 'is not a folder'}; the demo never overwrites. Remove it (rm -rf ${out}) or choose another folder with --out DIR`,
    { details: { out } },
  );
}
