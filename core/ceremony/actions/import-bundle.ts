/**
 * @module ceremony/actions/import-bundle
 * Step action `import-bundle` (core/bundle): brings a transfer bundle across the air gap. The first
 * time, the online side's transfer certificate is pinned: a person reads its SHA-256 aloud from the
 * online side and types it here, and the certificate is pinned only when they match. The bundle is
 * then verified completely and imported atomically (signature by the pinned sender, recipient is
 * this CA, not expired, next in sequence, every file's hash, kind checks such as each CSR's
 * self-signature and key), its SHA-256 shown, a copy kept in the ceremony folder, and, for an
 * `intermediate-request`, each CSR written out for review.
 *
 * Must never: act on a bundle that did not verify. Import is idempotent: after a crash the same
 * bundle is recognised and nothing changes.
 */
import { z } from 'zod';

import { formatFingerprint, importBundle, enrollPeer, intermediateRequestIndex, revocationRequestIndex, DEFAULT_LIMITS, INDEX_PATH } from '../../bundle/index.ts';
import { parseCertificate } from '../../pki/index.ts';
import { CoreError } from '../../errors.ts';
import { readLimited } from '../files.ts';
import type { JsonObject } from '../types.ts';
import { groupedHex, outputName, sha256Hex } from './common.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  kind: z.enum(['intermediate-request', 'revocation-request']),
  /** The enrolled name of the online side (pinned here the first time). */
  from: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/u, 'must be 1-63 lower-case letters, digits or dashes').default('online-ca'),
  copy: outputName.optional(),
});
type Params = z.infer<typeof params>;

function copyName(p: Params): string {
  return p.copy ?? `${p.kind}.neambundle`;
}

async function pinPeerIfNew(ctx: StepContext<Params>): Promise<JsonObject | null> {
  const state = ctx.ca().bundle;
  if (state.currentIdentity() === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder has no transfer identity; the root ceremony's transfer-certificate step creates it`);
  if (state.hasPeer(ctx.params.from)) return null;
  ctx.io.event({ type: 'display', step: ctx.step.id, message: `The online side '${ctx.params.from}' is not enrolled yet. Its transfer certificate is pinned now: read its SHA-256 fingerprint aloud from the online side.` });
  const certPath = await ctx.io.ask({ kind: 'text', key: ctx.key('peer-certificate'), prompt: `Path of '${ctx.params.from}''s transfer certificate (PEM or DER): ` });
  const fingerprint = await ctx.io.ask({ kind: 'text', key: ctx.key('peer-fingerprint'), prompt: 'Its SHA-256 fingerprint as read aloud: ', attestation: true });
  const pin = enrollPeer(state, { name: ctx.params.from, certificate: readLimited(certPath, 64 * 1024, 'transfer certificate'), fingerprint, now: ctx.now() });
  const data = { peer: ctx.params.from, fingerprint: pin.fingerprint };
  ctx.record('bundle.peer-enrolled', data);
  ctx.io.event({ type: 'display', step: ctx.step.id, message: `Pinned '${ctx.params.from}': ${formatFingerprint(pin.fingerprint)}` });
  return data;
}

/** Imports (or re-imports, idempotently) and writes what the next steps need. */
async function run(ctx: StepContext<Params>): Promise<StepOutcome> {
  const enrolled = await pinPeerIfNew(ctx);
  const path = await ctx.io.ask({ kind: 'text', key: ctx.key('bundle'), prompt: `Path of the ${ctx.params.kind} bundle on the transfer medium: ` });
  const bytes = readLimited(path, DEFAULT_LIMITS.maxBundleBytes, 'bundle');
  const fileSha = sha256Hex(bytes);
  const state = ctx.ca().bundle;
  const imported = importBundle(state, bytes, { now: ctx.now() });
  if (imported.manifest.kind !== ctx.params.kind) throw new CoreError('ERR_BUNDLE_KIND_INVALID', `${path} is a ${imported.manifest.kind} bundle; this step imports a ${ctx.params.kind} bundle`);
  if (imported.peer !== ctx.params.from) throw new CoreError('ERR_BUNDLE_SIGNER_NOT_PINNED', `${path} comes from '${imported.peer}', not from '${ctx.params.from}'`);
  ctx.io.event({
    type: 'display',
    step: ctx.step.id,
    message: `Bundle verified and ${imported.alreadyImported ? 'already imported before' : 'imported'}: ${imported.manifest.kind} #${imported.manifest.sequence} from '${imported.peer}'.\n    file SHA-256     ${groupedHex(fileSha)}\n    manifest SHA-256 ${groupedHex(imported.manifestSha256)}`,
    data: { fileSha256: fileSha, manifestSha256: imported.manifestSha256 },
  });
  const copy = copyName(ctx.params);
  if (ctx.files.exists(copy)) ctx.files.adopt(copy);
  else ctx.files.write(copy, bytes);
  const files = new Map(state.receivedFiles(imported.manifestSha256).map((f) => [f.path, f.data]));
  const result: JsonObject = { kind: imported.manifest.kind, peer: imported.peer, sequence: imported.manifest.sequence, manifestSha256: imported.manifestSha256, fileSha256: fileSha, copy, enrolled };
  if (ctx.params.kind === 'intermediate-request') {
    const index = intermediateRequestIndex.parse(JSON.parse(String(files.get(INDEX_PATH) ?? '{}')));
    result['requests'] = index.requests.map((r) => {
      const name = `${ctx.step.id}-${r.name}.csr`;
      const data = files.get(r.csr);
      if (data === undefined) throw new CoreError('ERR_BUNDLE_FILE_MISSING', `the bundle lists ${r.csr} but it is not recorded`);
      if (ctx.files.exists(name)) ctx.files.adopt(name);
      else ctx.files.write(name, data);
      return { name: r.name, csr: name, notBefore: r.notBefore, notAfter: r.notAfter };
    });
  }
  if (ctx.params.kind === 'revocation-request') {
    const index = revocationRequestIndex.parse(JSON.parse(String(files.get(INDEX_PATH) ?? '{}')));
    result['revocations'] = index.revocations.map((r, i) => {
      const data = files.get(r.certificate);
      if (data === undefined) throw new CoreError('ERR_BUNDLE_FILE_MISSING', `the bundle lists ${r.certificate} but it is not recorded`);
      const name = `${ctx.step.id}-${i + 1}.pem`;
      if (ctx.files.exists(name)) ctx.files.adopt(name);
      else ctx.files.write(name, data);
      const info = parseCertificate(data.toString('utf8'));
      return { certificate: name, serial: info.serial, sha256: info.sha256, reason: r.reason, ...(r.invalidityDate === undefined ? {} : { invalidityDate: r.invalidityDate }), ...(r.comment === undefined ? {} : { comment: r.comment }) };
    });
  }
  ctx.record('bundle.imported', { kind: imported.manifest.kind, peer: imported.peer, sequence: imported.manifest.sequence, manifestSha256: imported.manifestSha256, fileSha256: fileSha, alreadyImported: imported.alreadyImported });
  return { result };
}

/** `import-bundle`. */
export const importBundleAction: ActionDefinition<Params> = {
  summary: 'verify and import a transfer bundle brought across the air gap (pinning the online side the first time) and keep a copy',
  ceremonyTypes: ['intermediate', 'crl'],
  params,
  pointOfNoReturn: false,
  hsm: 'none',
  plan: (p) => ({ outputs: [copyName(p)], keyLabels: [], references: [] }),
  questions: (_p, step) => [
    { key: ['steps', step.id, 'bundle'], secret: false, attestation: false, description: 'path of the bundle file on the transfer medium' },
    { key: ['steps', step.id, 'peer-certificate'], secret: false, attestation: false, description: "path of the online side's transfer certificate (asked only when it is not pinned yet)" },
    { key: ['steps', step.id, 'peer-fingerprint'], secret: false, attestation: true, description: "its SHA-256 fingerprint as read aloud (asked only when it is not pinned yet)" },
  ],
  precondition: async (ctx) => {
    if (ctx.ca().bundle.currentIdentity() === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} has no transfer identity; the root ceremony's transfer-certificate step creates it`);
  },
  execute: run,
  // Import is idempotent: an interrupted import is done again (the same bundle changes nothing).
  reconcile: async (_ctx, record) => (record.status === 'started' ? { kind: 'redo', note: 'the bundle is imported again (an import that completed changes nothing the second time)' } : { kind: 'verified' }),
};
