/**
 * @module bundle/inspect
 * A look inside a bundle without trusting it: after the size and archive checks (which protect
 * the reader), it shows the entries, the manifest as written, the signer certificate and whether
 * it is pinned here, and whether the signature matches that (untrusted) certificate. Every field
 * is marked for what it is; nothing here is a verification verdict (use verify for that).
 *
 * Must never: present unverified content as verified.
 */
import { X509Certificate } from 'node:crypto';

import { isCoreError } from '../errors.ts';
import { readSignature, verifyDetachedSignature } from './cms.ts';
import { DEFAULT_LIMITS, type BundleLimits } from './limits.ts';
import { manifestSha256, parseManifest } from './manifest.ts';
import type { BundleState } from './state.ts';
import { readTar } from './tar.ts';
import { unpackBundle } from './verify.ts';

/** What {@link inspectBundle} found. Nothing in it is trusted. */
export interface InspectReport {
  /** Archive entries in order, with sizes. */
  readonly entries: ReadonlyArray<{ name: string; size: number }>;
  /** SHA-256 of manifest.json. */
  readonly manifestSha256: string;
  /** The manifest as JSON (even when it fails the schema), or undefined when it is not JSON. */
  readonly manifest: unknown;
  /** Why the manifest fails the schema, when it does. */
  readonly manifestProblem: string | undefined;
  /** The embedded signer certificate, when the signature parses. */
  readonly signer: { fingerprint: string; subject: string; notBefore: string; notAfter: string; signingTime: string } | undefined;
  /** Why the signature cannot be read or does not match, when it does not. */
  readonly signatureProblem: string | undefined;
  /** The signature matches the embedded certificate (which proves nothing unless it is pinned). */
  readonly signatureMatchesEmbeddedCertificate: boolean;
  /** The pin of the signer here: peer and status, or null when not pinned (undefined without a store). */
  readonly pinned: { peer: string; status: string } | null | undefined;
}

/**
 * Inspects a bundle (see the module comment).
 * @throws {CoreError} ERR_BUNDLE_TOO_LARGE, ERR_BUNDLE_ARCHIVE_INVALID, ERR_BUNDLE_ENTRY_FORBIDDEN,
 *   ERR_BUNDLE_PATH_FORBIDDEN, ERR_BUNDLE_DUPLICATE_ENTRY
 */
export function inspectBundle(bytes: Buffer, state?: BundleState, limits: BundleLimits = DEFAULT_LIMITS): InspectReport {
  const entries = readTar(bytes, limits).map((e) => ({ name: e.name, size: e.data.length }));
  const u = unpackBundle(bytes, limits);
  let manifest: unknown;
  try {
    manifest = JSON.parse(u.manifestBytes.toString('utf8'));
  } catch {
    manifest = undefined;
  }
  let manifestProblem: string | undefined;
  try {
    parseManifest(u.manifestBytes);
  } catch (e) {
    manifestProblem = isCoreError(e) ? e.message : 'unreadable';
  }
  let signer: InspectReport['signer'];
  let signatureProblem: string | undefined;
  let matches = false;
  let pinned: InspectReport['pinned'];
  try {
    const sig = readSignature(u.signature);
    const x = new X509Certificate(sig.certificate);
    signer = {
      fingerprint: sig.certificateSha256,
      subject: x.subject.replace(/\n/gu, ', '),
      notBefore: new Date(x.validFrom).toISOString(),
      notAfter: new Date(x.validTo).toISOString(),
      signingTime: sig.signingTime.toISOString(),
    };
    if (state !== undefined) {
      const pin = state.pin(sig.certificateSha256);
      pinned = pin === undefined ? null : { peer: pin.peer, status: pin.status };
    }
    verifyDetachedSignature(sig, u.manifestBytes);
    matches = true;
  } catch (e) {
    signatureProblem = isCoreError(e) ? e.message : 'unreadable';
  }
  return { entries, manifestSha256: manifestSha256(u.manifestBytes), manifest, manifestProblem, signer, signatureProblem, signatureMatchesEmbeddedCertificate: matches, pinned };
}
