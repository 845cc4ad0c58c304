/**
 * @module demo/stages/online-init
 * Stage 2: the online CA host is set up the way `neam-ca hsm init-token`, `neam-ca online init`,
 * `neam-ca bundle identity create`, `neam-ca bundle peer add` and `neam-ca online export-csrs` +
 * `neam-ca bundle create` would (same public functions, one process): its own SoftHSM token
 * holding the key-encryption key, four staggered RSA-2048 intermediate keys sealed under it with
 * their CSRs, a transfer identity in an encrypted key file, the offline side enrolled by the
 * transfer fingerprint and root fingerprint the ceremony recorded, and the CSRs sent in a signed
 * `intermediate-request` bundle on the removable medium (`transfer/`).
 *
 * Must never: let an intermediate key leave the online host (only CSRs go into the bundle).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { bundleState, createBundle, enrollPeer, generateFileIdentity, pinRoot, recordIdentity, toPem } from '../../bundle/index.ts';
import type { Signer } from '../../crypto/signer.ts';
import { openHsm } from '../../hsm/index.ts';
import { exportRequestPayload, initOnline, intermediateName, onlineDbPath, openOnlineStore } from '../../online/index.ts';
import type { Store } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import { TRUST_DOMAIN, type DemoContext } from '../context.ts';
import { writeSecretFile } from '../secrets.ts';
import type { RootResult } from './root.ts';

/** The online token's label. */
export const ONLINE_TOKEN_LABEL = 'neam-online';
/** The name under which each side knows the other. */
export const PEERS = { offline: 'offline-root', online: 'online-ca', mesh: 'mesh-gitops' } as const;

/** What stage 2 produced (the store stays open for the later stages; the caller closes it). */
export interface OnlineInitResult {
  store: Store;
  /** The online transfer key (kept in memory for later bundles). */
  signer: Signer;
  transferFingerprint: string;
  /** Requested intermediates: bundle name and window. */
  requests: Array<{ name: string; notBefore: string; notAfter: string }>;
}

/**
 * Runs stage 2.
 * @throws {CoreError} ERR_HSM_*, ERR_ONLINE_*, ERR_BUNDLE_* (a fingerprint that does not match the certificate: ERR_BUNDLE_IDENTITY_INVALID), ERR_IO
 */
export function onlineInitStage(ctx: DemoContext, root: RootResult): OnlineInitResult {
  const { layout, secrets } = ctx;
  const home = layout.online.home;
  mkdirSync(home, { mode: 0o700 });
  writeSecretFile(layout.secrets.onlinePin, secrets.onlinePin);
  writeSecretFile(layout.secrets.onlineSoPin, secrets.onlineSoPin);

  const store = openOnlineStore(onlineDbPath(home));
  try {
    const hsm = openHsm({ softhsmDir: join(home, 'softhsm') });
    try {
      const token = hsm.initToken(ONLINE_TOKEN_LABEL, secrets.onlineSoPin, secrets.onlinePin);
      const session = hsm.openSession({ label: token.label, serial: token.serial });
      try {
        session.login(secrets.onlinePin);
        const now = ctx.now();
        const r = initOnline(store, session, { trustDomain: TRUST_DOMAIN, keyStore: 'sealed', keyAlgorithm: 'rsa-2048', windows: 4, windowDays: 90, overlapDays: 7, nowMs: now.getTime(), maxSvidTtlSeconds: 86_400 });
        ctx.detail(`online token '${token.label}' (serial ${token.serial}); trust domain ${r.settings.trustDomain}; ${r.batch.length} staggered RSA-2048 intermediate keys sealed under the token's KEK`);
      } finally {
        session.close();
      }
    } finally {
      hsm.close();
    }

    // The transfer identity and the offline side, pinned by the fingerprints the ceremony recorded.
    const now = ctx.now();
    const state = bundleState(store);
    writeSecretFile(layout.secrets.onlineTransferPassphrase, secrets.onlineTransfer);
    const identity = generateFileIdentity({ name: 'NEAM CA transfer: online', path: layout.online.transferKey, passphrase: secrets.onlineTransfer, now });
    recordIdentity(state, identity, now);
    enrollPeer(state, { name: PEERS.offline, certificate: readFileSync(root.transferPem), fingerprint: root.transferFingerprint, now });
    pinRoot(state, { peer: PEERS.offline, certificate: readFileSync(root.rootPem), fingerprint: root.rootFingerprint, now });

    // The removable medium: the CSRs in a signed bundle, plus the certificates that verify bundles.
    mkdirSync(layout.transfer.dir, { mode: 0o755 });
    writeFileExclusive(layout.transfer.onlineCert, toPem('CERTIFICATE', identity.certificate));
    copyFileSync(root.transferPem, layout.transfer.offlineCert);
    copyFileSync(root.rootPem, layout.transfer.root);
    const payload = exportRequestPayload(store);
    createBundle(state, {
      kind: 'intermediate-request',
      to: PEERS.offline,
      files: payload.files.map((f) => ({ path: `payload/${f.path}`, data: f.data })),
      signer: identity.signer,
      now,
      write: (b) => writeFileExclusive(layout.transfer.request, b.bytes),
    });
    const requests = payload.requests.map((r) => ({ name: intermediateName(r.id), notBefore: r.notBefore, notAfter: r.notAfter }));
    for (const r of requests) ctx.detail(`CSR ${r.name}: window ${r.notBefore.slice(0, 10)} – ${r.notAfter.slice(0, 10)}`);
    ctx.detail(`online transfer certificate SHA-256 ${identity.fingerprint}`);
    ctx.detail(`intermediate-request bundle: ${layout.transfer.request}`);
    return { store, signer: identity.signer, transferFingerprint: identity.fingerprint, requests };
  } catch (e) {
    store.close();
    throw e;
  }
}
