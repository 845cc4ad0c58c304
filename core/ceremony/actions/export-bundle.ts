/**
 * @module ceremony/actions/export-bundle
 * Step action `export-bundle` (core/bundle): builds the outgoing transfer bundle from what this
 * ceremony issued (`intermediate-issuance`: each intermediate with its chain, the root, the root's
 * new CRL and the trust bundle; or `crl`), signs its manifest with the offline transfer key in the
 * HSM, checks its own signature, records it on the channel to the online side, writes it into the
 * ceremony folder, and shows its SHA-256 for reading aloud. The bundle's id is derived from the
 * ceremony and the step, so after a crash the bundle already recorded is recognised, never made
 * twice.
 *
 * Must never: put a private key, PIN or share in a bundle (core/bundle refuses any key material).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { createBundle, formatFingerprint, hsmIdentitySigner, INDEX_PATH, type PayloadFile } from '../../bundle/index.ts';
import { CoreError } from '../../errors.ts';
import { parsePemOne } from '../../pki/index.ts';
import type { JsonObject } from '../types.ts';
import { groupedHex, keyLabel, outputName, sha256Hex, stepRef } from './common.ts';
import { issuerPem } from './prepare-crl.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  kind: z.enum(['intermediate-issuance', 'crl']),
  'transfer-key-label': keyLabel,
  /** The `sign-intermediate` step whose certificates are sent (intermediate-issuance). */
  certificates: stepRef.optional(),
  /** The `sign-crl` step whose CRL is sent. */
  crl: stepRef,
  to: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/u).default('online-ca'),
  'valid-days': z.number().int().min(1).max(90).default(14),
  file: outputName.optional(),
});
type Params = z.infer<typeof params>;

function fileName(p: Params): string {
  return p.file ?? `${p.kind}.neambundle`;
}

/** A v4-shaped UUID derived from the ceremony and step: the same bundle id after a crash. */
function bundleId(ctx: StepContext<Params>): string {
  const h = createHash('sha256').update(`${ctx.ceremony.uuid}/${ctx.step.id}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function payload(ctx: StepContext<Params>): PayloadFile[] {
  const crlResult = ctx.resultOf(ctx.params.crl);
  if (typeof crlResult?.['crl'] !== 'string') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${ctx.params.crl}' has not signed its CRL yet`);
  const crlDer = parsePemOne(readFileSync(ctx.files.path(crlResult['crl']), 'utf8'), 'X509 CRL');
  const rootPem = issuerPem(ctx, undefined);
  if (ctx.params.kind === 'crl') {
    return [
      { path: 'payload/root.crl', data: crlDer },
      { path: INDEX_PATH, data: Buffer.from(JSON.stringify({ crls: [{ name: 'root', crl: 'payload/root.crl' }] })) },
    ];
  }
  const signed = ctx.params.certificates === undefined ? undefined : ctx.resultOf(ctx.params.certificates);
  const list = Array.isArray(signed?.['intermediates']) ? (signed['intermediates'] as JsonObject[]) : undefined;
  if (list === undefined || list.length === 0) throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${String(ctx.params.certificates)}' has not signed any intermediate yet`);
  const files: PayloadFile[] = [
    { path: 'payload/root.pem', data: Buffer.from(rootPem) },
    { path: 'payload/root.crl', data: crlDer },
    { path: 'payload/trust-bundle.pem', data: Buffer.from(rootPem) },
  ];
  const certificates = list.map((c) => {
    const name = String(c['name']);
    const cert = `payload/intermediates/${name}.pem`;
    const chain = `payload/intermediates/${name}-chain.pem`;
    files.push({ path: cert, data: readFileSync(ctx.files.path(String(c['certificate']))) }, { path: chain, data: readFileSync(ctx.files.path(String(c['chain']))) });
    return { name, certificate: cert, chain, csrSha256: String(c['csrSha256']) };
  });
  files.push({ path: INDEX_PATH, data: Buffer.from(JSON.stringify({ root: 'payload/root.pem', rootCrl: 'payload/root.crl', trustBundle: 'payload/trust-bundle.pem', certificates })) });
  return files;
}

function outcomeOf(ctx: StepContext<Params>, b: { manifestSha256: string; sequence: number; id: string; bytes: Buffer; expiresAt: string }): StepOutcome {
  return { result: { bundle: fileName(ctx.params), kind: ctx.params.kind, to: ctx.params.to, id: b.id, sequence: b.sequence, manifestSha256: b.manifestSha256, sha256: sha256Hex(b.bytes), expiresAt: b.expiresAt } };
}

/** `export-bundle`. */
export const exportBundle: ActionDefinition<Params> = {
  summary: 'build and sign (with the offline transfer key) the outgoing bundle: intermediate-issuance or crl',
  ceremonyTypes: ['intermediate', 'crl'],
  params,
  pointOfNoReturn: true,
  hsm: 'login',
  plan: (p) => ({
    outputs: [fileName(p)],
    keyLabels: [],
    references: [{ path: ['crl'], step: p.crl, actions: ['sign-crl'] }, ...(p.certificates === undefined ? [] : [{ path: ['certificates'], step: p.certificates, actions: ['sign-intermediate'] }])],
    usesKeyLabels: [p['transfer-key-label']],
  }),
  check: (p) => (p.kind === 'intermediate-issuance' && p.certificates === undefined ? [{ path: 'params.certificates', message: 'an intermediate-issuance bundle needs the sign-intermediate step whose certificates it carries' }] : []),
  questions: () => [],
  async precondition(ctx) {
    const state = ctx.ca().bundle;
    const me = state.currentIdentity();
    if (me === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', 'the CA folder has no transfer identity');
    if (me.key.store !== 'hsm' || me.key.keyLabel !== ctx.params['transfer-key-label']) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the CA's transfer identity is the key '${me.key.store === 'hsm' ? me.key.keyLabel : 'in a key file'}', not '${ctx.params['transfer-key-label']}'`);
    if (!state.hasPeer(ctx.params.to)) throw new CoreError('ERR_NOT_FOUND', `no peer named '${ctx.params.to}' is enrolled; it is pinned when its first bundle is imported`);
  },
  async execute(ctx) {
    const state = ctx.ca().bundle;
    const session = await ctx.hsm.login();
    const signer = hsmIdentitySigner(state.currentIdentity()!, session);
    const built = createBundle(state, { kind: ctx.params.kind, to: ctx.params.to, files: payload(ctx), signer, now: ctx.now(), lifetimeDays: ctx.params['valid-days'], id: bundleId(ctx), write: (b) => ctx.files.write(fileName(ctx.params), b.bytes) });
    const out = { manifestSha256: built.manifestSha256, sequence: built.manifest.sequence, id: built.manifest.id, bytes: built.bytes, expiresAt: built.manifest.expiresAt };
    ctx.record('bundle.exported', { kind: ctx.params.kind, to: ctx.params.to, id: out.id, sequence: out.sequence, manifestSha256: out.manifestSha256, sha256: sha256Hex(out.bytes), signer: formatFingerprint(state.currentIdentity()!.fingerprint) });
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Bundle ${fileName(ctx.params)} signed by the offline transfer key for '${ctx.params.to}' (#${out.sequence}).\n    file SHA-256     ${groupedHex(sha256Hex(out.bytes))}\n    manifest SHA-256 ${groupedHex(out.manifestSha256)}`, data: { manifestSha256: out.manifestSha256 } });
    return outcomeOf(ctx, out);
  },
  async reconcile(ctx, record) {
    const sent = ctx.ca().bundle.sentBundles(ctx.params.to).find((b) => b.id === bundleId(ctx) && b.retractedAt === null);
    if (record.status !== 'started') {
      if (sent === undefined || sent.manifestSha256 !== record.result?.['manifestSha256']) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', 'the bundle this step recorded is not in the CA folder\'s outbox');
      return { kind: 'verified' };
    }
    if (sent === undefined) return { kind: 'redo', note: 'the bundle had not been created' };
    // Created and recorded before the interruption: keep exactly those bytes.
    const name = fileName(ctx.params);
    if (ctx.files.exists(name)) {
      if (!readFileSync(ctx.files.path(name)).equals(sent.bundle)) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(name)} differs from the bundle recorded in the outbox; move it away and resume`);
      ctx.files.adopt(name);
    } else {
      ctx.files.write(name, sent.bundle);
    }
    return { kind: 'adopt', outcome: outcomeOf(ctx, { manifestSha256: sent.manifestSha256, sequence: sent.sequence, id: sent.id, bytes: sent.bundle, expiresAt: sent.expiresAt }), note: `bundle #${sent.sequence} was created and recorded before the interruption; adopted` };
  },
};
