/**
 * @module bundle/create
 * Making bundles. {@link assembleBundle} is the pure core: canonical manifest bytes, the detached
 * CMS signature (through the Signer port), the deterministic tar. {@link createBundle} is the
 * shell around it: in one store transaction it takes the next sequence number and previous
 * manifest hash of the channel to the recipient, builds the manifest, refuses private key
 * material and invalid payloads, signs, verifies its own signature (sign, then check: a token
 * that returns a bad signature is caught here, not at the recipient), hands the bytes to the
 * caller's writer, and only then records the bundle (its bytes kept for a resend), the channel
 * advance and the kind's records (e.g. the CSRs sent). If writing fails nothing is recorded.
 *
 * Must never: sign a payload that contains private key material, or consume a sequence number
 * for a bundle that was not written.
 */
import { createHash, randomUUID } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';
import { readSignature, signDetached, verifyDetachedSignature } from './cms.ts';
import { assertSignerMatches } from './identity.ts';
import { INDEX_PATH, KindRegistry, validatePayload } from './kinds/index.ts';
import { DEFAULT_LIMITS, formatBytes, type BundleLimits } from './limits.ts';
import { DEFAULT_BUNDLE_LIFETIME_DAYS, makeManifest, manifestBytes, manifestSha256, mediaTypeFor, type BundleKind, type Manifest } from './manifest.ts';
import { assertEntryName, MANIFEST_NAME, PAYLOAD_PREFIX, SIGNATURE_NAME } from './paths.ts';
import type { BundleState, SentBundle } from './state.ts';
import { writeTar } from './tar.ts';
import { checkTransferCertificate } from './transfer-certificate.ts';
import { unpackBundle } from './verify.ts';

/** A payload file to put in a bundle. */
export interface PayloadFile {
  /** `payload/…` path. */
  readonly path: string;
  readonly data: Buffer;
}

/** A finished bundle. */
export interface BuiltBundle {
  /** The `.neambundle` bytes. */
  readonly bytes: Buffer;
  readonly manifest: Manifest;
  readonly manifestBytes: Buffer;
  readonly manifestSha256: string;
}

/**
 * The manifest's file list for payload files (size, SHA-256, media type from the extension).
 * @throws {CoreError} ERR_BUNDLE_PATH_FORBIDDEN, ERR_BUNDLE_MANIFEST_INVALID (unknown extension)
 */
export function describeFiles(files: readonly PayloadFile[]): Manifest['files'] {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => {
      assertEntryName(f.path);
      if (!f.path.startsWith(PAYLOAD_PREFIX)) throw new CoreError('ERR_BUNDLE_PATH_FORBIDDEN', `${f.path} must be under payload/`);
      const mediaType = mediaTypeFor(f.path);
      if (mediaType === undefined) throw new CoreError('ERR_BUNDLE_MANIFEST_INVALID', `${f.path} has an extension a bundle may not carry (.json .csr .pem .crl .yaml .txt)`, { details: { path: f.path } });
      return { path: f.path, size: f.data.length, sha256: createHash('sha256').update(f.data).digest('hex'), mediaType };
    });
}

/**
 * Pure: signs `manifest` and packs it with the payload into a deterministic tar (mtime =
 * createdAt). Does not check the payload (see {@link createBundle}); tests use it to build hostile
 * bundles with valid signatures.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID, ERR_BUNDLE_PATH_FORBIDDEN, signer errors
 */
export function assembleBundle(input: { manifest: Manifest; files: readonly PayloadFile[]; signer: Signer; certificate: Buffer; signingTime?: Date; extraEntries?: readonly PayloadFile[] }): BuiltBundle {
  const mBytes = manifestBytes(input.manifest);
  const signature = signDetached({ content: mBytes, certificate: input.certificate, signer: input.signer, signingTime: input.signingTime ?? new Date(input.manifest.createdAt) });
  const mtime = Math.floor(Date.parse(input.manifest.createdAt) / 1000);
  const bytes = writeTar(
    [{ name: MANIFEST_NAME, data: mBytes }, { name: SIGNATURE_NAME, data: signature }, ...input.files.map((f) => ({ name: f.path, data: f.data })), ...(input.extraEntries ?? []).map((f) => ({ name: f.path, data: f.data }))],
    mtime,
  );
  return { bytes, manifest: input.manifest, manifestBytes: mBytes, manifestSha256: manifestSha256(mBytes) };
}

/** Inputs of {@link createBundle}. */
export interface CreateBundleInput {
  readonly kind: BundleKind;
  /** Name of the enrolled peer that will receive it. */
  readonly to: string;
  /** Payload files, `payload/index.json` included. */
  readonly files: readonly PayloadFile[];
  /** The key of our current transfer identity. */
  readonly signer: Signer;
  readonly now: Date;
  /** Days until it expires (default 14, at most 90). */
  readonly lifetimeDays?: number;
  /** A random v4 UUID; generated when omitted. */
  readonly id?: string;
  readonly kinds?: KindRegistry;
  readonly limits?: BundleLimits;
  /**
   * Receives the finished bytes inside the transaction (e.g. writes the file exclusively). If it
   * throws, nothing is recorded.
   */
  readonly write?: (bundle: BuiltBundle) => void;
  /** Called when recording failed after `write` succeeded (e.g. removes the written file). */
  readonly unwrite?: (bundle: BuiltBundle) => void;
}

/**
 * Creates, signs, writes and records a bundle to an enrolled peer (see the module comment).
 * @throws {CoreError} ERR_NOT_FOUND (no identity, unknown peer), ERR_BUNDLE_IDENTITY_INVALID,
 *   ERR_BUNDLE_PRIVATE_KEY, ERR_BUNDLE_KIND_INVALID, ERR_BUNDLE_MANIFEST_INVALID,
 *   ERR_BUNDLE_PATH_FORBIDDEN, ERR_BUNDLE_TOO_LARGE, ERR_BUNDLE_SIGNATURE_INVALID, writer errors
 */
export function createBundle(state: BundleState, input: CreateBundleInput): BuiltBundle {
  const limits = input.limits ?? DEFAULT_LIMITS;
  const kinds = input.kinds ?? KindRegistry.withDefaults();
  const handler = kinds.handler(input.kind);
  for (const f of input.files) {
    if (f.data.length > limits.maxEntryBytes) {
      throw new CoreError('ERR_BUNDLE_TOO_LARGE', `${f.path} is ${formatBytes(f.data.length)}, more than the limit of ${formatBytes(limits.maxEntryBytes)} per file`, { details: { path: f.path } });
    }
  }
  if (!input.files.some((f) => f.path === INDEX_PATH)) throw new CoreError('ERR_BUNDLE_KIND_INVALID', `the payload needs ${INDEX_PATH}, the description of a ${input.kind} payload`);
  let built: BuiltBundle | undefined;
  let written = false;
  try {
    return state.transaction(() => {
      const me = state.currentIdentity();
      if (me === undefined) throw new CoreError('ERR_NOT_FOUND', "no transfer identity yet; create one with 'neam-ca bundle identity create'");
      assertSignerMatches(me, input.signer);
      checkTransferCertificate(me.certificate, input.now);
      const peerPin = state.currentPin(input.to);
      if (peerPin === undefined) throw new CoreError('ERR_NOT_FOUND', `no peer named '${input.to}' is enrolled; enroll it with 'neam-ca bundle peer add'`, { details: { peer: input.to } });
      const channel = state.channel(input.to, 'out');
      const id = input.id ?? randomUUID();
      if (state.idSeen(id)) throw new CoreError('ERR_BUNDLE_MANIFEST_INVALID', `the bundle id ${id} was already used`);
      const lifetime = input.lifetimeDays ?? DEFAULT_BUNDLE_LIFETIME_DAYS;
      const createdAt = new Date(Math.floor(input.now.getTime() / 1000) * 1000);
      const manifest = makeManifest({
        kind: input.kind,
        id,
        sender: me.fingerprint,
        recipient: peerPin.fingerprint,
        sequence: channel.lastSequence + 1,
        previousManifestSha256: channel.lastManifestSha256,
        createdAt: createdAt.toISOString().replace('.000Z', 'Z'),
        expiresAt: new Date(createdAt.getTime() + lifetime * 86_400_000).toISOString().replace('.000Z', 'Z'),
        files: describeFiles(input.files),
      });
      const files = new Map(input.files.map((f) => [f.path, f.data]));
      const mHash = manifestSha256(manifestBytes(manifest));
      const index = validatePayload(handler, manifest, mHash, files, input.now);
      const ctx = { manifest, manifestSha256: mHash, index, files, now: input.now, peer: input.to, state };
      handler.checkOutgoing?.(ctx);
      built = assembleBundle({ manifest, files: input.files, signer: input.signer, certificate: me.certificate, signingTime: input.now });
      if (built.bytes.length > limits.maxBundleBytes) {
        throw new CoreError('ERR_BUNDLE_TOO_LARGE', `the bundle would be ${formatBytes(built.bytes.length)}, more than the limit of ${formatBytes(limits.maxBundleBytes)}; split the payload`);
      }
      // Sign, then check our own signature before anything leaves.
      const own = unpackBundle(built.bytes, limits);
      verifyDetachedSignature(readSignature(own.signature), own.manifestBytes);
      input.write?.(built);
      written = input.write !== undefined;
      state.addSent({ manifestSha256: built.manifestSha256, id, peer: input.to, sequence: manifest.sequence, kind: input.kind, createdAt: manifest.createdAt, expiresAt: manifest.expiresAt, bundle: built.bytes });
      state.advanceChannel(input.to, 'out', manifest.sequence, built.manifestSha256, input.now.toISOString());
      handler.onCreate?.(ctx);
      return built;
    });
  } catch (e) {
    if (written && built !== undefined) input.unwrite?.(built);
    throw e;
  }
}

/**
 * Withdraws the last bundle sent to `peer` after the receiver refused it, so that a corrected
 * bundle can take its sequence number (the channel would otherwise stay blocked: every later
 * bundle is a gap). Only the last bundle can be retracted. If the receiver did import it, the
 * replacement will be refused there as a replay, which is the safe outcome.
 * @throws {CoreError} ERR_NOT_FOUND (nothing sent to that peer)
 */
export function retractLastSent(state: BundleState, peer: string, now: Date): SentBundle {
  return state.transaction(() => {
    const r = state.retractLastSent(peer, now.toISOString());
    if (r === undefined) throw new CoreError('ERR_NOT_FOUND', `no bundle was sent to '${peer}' that could be retracted`, { details: { peer } });
    return r;
  });
}
