/**
 * @module bundle/verify
 * Verification of a received bundle, in exactly this order (the first failure is reported):
 *  1. size limits: whole file, entry count, each entry (from the tar headers, before reading data);
 *  2. archive sanity: regular files only, no absolute paths or `..`, no duplicates, only
 *     `manifest.json`, `manifest.json.p7s` and `payload/…`, not truncated;
 *  3. signature against the pinned sender: the embedded certificate's SHA-256 must be a current
 *     pin (the embedded certificate is never trusted by itself), valid now, and the CMS signature
 *     must verify over `manifest.json`;
 *  4. manifest schema (strict, canonical JSON), and the manifest's sender is the signer;
 *  5. recipient is us (our current identity, or one retired less than 30 days ago);
 *  6. not expired and not created in the future;
 *  7. sequence and previous-manifest hash on the channel: replays and gaps are refused with the
 *     expected and seen numbers; the bundle already imported at that sequence is recognised;
 *  8. every listed file present with its size and SHA-256, then no unlisted file;
 *  9. kind-specific checks (private key material refused, index schema, references, the kind's
 *     own checks, then validators registered by other domains). Skipped for an already-imported
 *     bundle, whose kind checks passed when it was imported.
 *
 * Pure with respect to the store: reads {@link BundleState}, never writes it.
 *
 * Must never: trust the manifest before step 3, or touch the payload before step 8.
 */
import { createHash, X509Certificate } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { readSignature, verifyDetachedSignature } from './cms.ts';
import { checkIncoming, KindRegistry, validatePayload } from './kinds/index.ts';
import { DEFAULT_LIMITS, type BundleLimits } from './limits.ts';
import { CLOCK_SKEW_MS, manifestSha256 as hashManifest, parseManifest, type Manifest } from './manifest.ts';
import { MANIFEST_NAME, PAYLOAD_PREFIX, SIGNATURE_NAME } from './paths.ts';
import type { BundleState } from './state.ts';
import { readTar } from './tar.ts';

/** How long after our own identity rotation bundles addressed to the retired identity are accepted. */
export const RECIPIENT_GRACE_DAYS = 30;

/** Options of {@link verifyBundle}. */
export interface VerifyOptions {
  /** The current time (verification is a pure function of bytes, state and `now`). */
  now: Date;
  limits?: BundleLimits;
  /** Accepted kinds and extra validators; the built-in kinds when omitted. */
  kinds?: KindRegistry;
}

/** The three parts of an unpacked bundle. */
export interface UnpackedBundle {
  readonly manifestBytes: Buffer;
  readonly signature: Buffer;
  /** Payload files by path (`payload/…`). */
  readonly payload: ReadonlyMap<string, Buffer>;
}

/** A bundle that passed every check. */
export interface VerifiedBundle extends UnpackedBundle {
  readonly manifest: Manifest;
  /** SHA-256 of `manifest.json`, hex. */
  readonly manifestSha256: string;
  /** The enrolled peer that signed it. */
  readonly peer: string;
  /** SHA-256 of the signer's transfer certificate (= `manifest.sender`). */
  readonly signerFingerprint: string;
  readonly signingTime: Date;
  /** The parsed `payload/index.json` (undefined for an already-imported bundle). */
  readonly index: unknown;
  /** True when this exact bundle was imported before (then nothing will change). */
  readonly alreadyImported: boolean;
  /** When it was imported, for an already-imported bundle. */
  readonly importedAt: string | undefined;
}

/**
 * Steps 1 and 2: limits and archive sanity, then the bundle layout (both manifest files present).
 * @throws {CoreError} ERR_BUNDLE_TOO_LARGE, ERR_BUNDLE_ARCHIVE_INVALID, ERR_BUNDLE_ENTRY_FORBIDDEN,
 *   ERR_BUNDLE_PATH_FORBIDDEN, ERR_BUNDLE_DUPLICATE_ENTRY
 */
export function unpackBundle(bytes: Buffer, limits: BundleLimits = DEFAULT_LIMITS): UnpackedBundle {
  const entries = readTar(bytes, limits);
  let manifestBytes: Buffer | undefined;
  let signature: Buffer | undefined;
  const payload = new Map<string, Buffer>();
  for (const e of entries) {
    if (e.name === MANIFEST_NAME) manifestBytes = e.data;
    else if (e.name === SIGNATURE_NAME) signature = e.data;
    else if (e.name.startsWith(PAYLOAD_PREFIX)) payload.set(e.name, e.data);
  }
  if (manifestBytes === undefined || signature === undefined) {
    throw new CoreError('ERR_BUNDLE_ARCHIVE_INVALID', `the archive lacks ${manifestBytes === undefined ? MANIFEST_NAME : SIGNATURE_NAME}; it is not a NEAM bundle`, {
      details: { missing: manifestBytes === undefined ? MANIFEST_NAME : SIGNATURE_NAME },
    });
  }
  return { manifestBytes, signature, payload };
}

function isoDays(days: number): number {
  return days * 86_400_000;
}

/**
 * Verifies a bundle against our state (see the module comment for the order). Read-only.
 * @throws {CoreError} every ERR_BUNDLE_* code of the steps, in their order
 */
export function verifyBundle(bytes: Buffer, state: BundleState, options: VerifyOptions): VerifiedBundle {
  const now = options.now;
  const kinds = options.kinds ?? KindRegistry.withDefaults();

  // 1, 2
  const unpacked = unpackBundle(bytes, options.limits ?? DEFAULT_LIMITS);

  // 3: signature against the pinned sender
  const sig = readSignature(unpacked.signature);
  const pin = state.pin(sig.certificateSha256);
  if (pin === undefined) {
    throw new CoreError(
      'ERR_BUNDLE_SIGNER_NOT_PINNED',
      `the bundle is signed by a transfer certificate that is not pinned here (SHA-256 ${sig.certificateSha256}). Enroll the sender with the fingerprint read aloud at its enrollment, or ask for a bundle signed by an enrolled sender`,
      { details: { signer: sig.certificateSha256 } },
    );
  }
  if (pin.status !== 'current') {
    throw new CoreError(
      'ERR_BUNDLE_SIGNER_NOT_PINNED',
      `the bundle is signed by the transfer certificate ${pin.fingerprint} of '${pin.peer}', which was retired on ${pin.retiredAt ?? '?'} by a rotation; only the current identity of a peer is trusted`,
      { details: { signer: pin.fingerprint, peer: pin.peer } },
    );
  }
  if (!pin.certificate.equals(sig.certificate)) {
    throw new CoreError('ERR_INTERNAL', 'a pinned certificate differs from a certificate with the same SHA-256');
  }
  verifyDetachedSignature(sig, unpacked.manifestBytes);
  const signerCert = pinnedValidity(pin.certificate);
  if (now > signerCert.notAfter) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the transfer certificate of '${pin.peer}' expired on ${signerCert.notAfter.toISOString()}; '${pin.peer}' must rotate its transfer identity (or be enrolled again)`, {
      details: { peer: pin.peer, notAfter: signerCert.notAfter.toISOString() },
    });
  }

  // 4: manifest schema; the manifest's sender must be the signer
  const manifest = parseManifest(unpacked.manifestBytes);
  if (manifest.sender !== pin.fingerprint) {
    throw new CoreError('ERR_BUNDLE_MANIFEST_INVALID', `manifest.json names the sender ${manifest.sender}, but the bundle was signed by ${pin.fingerprint} ('${pin.peer}')`, {
      details: { sender: manifest.sender, signer: pin.fingerprint },
    });
  }
  const mHash = hashManifest(unpacked.manifestBytes);

  // 5: recipient is us
  const me = state.identity(manifest.recipient);
  const meOk = me !== undefined && (me.status === 'current' || (me.retiredAt !== null && now.getTime() - Date.parse(me.retiredAt) <= isoDays(RECIPIENT_GRACE_DAYS)));
  if (!meOk) {
    const current = state.currentIdentity();
    throw new CoreError(
      'ERR_BUNDLE_WRONG_RECIPIENT',
      me === undefined
        ? `the bundle is addressed to ${manifest.recipient}, which is not our transfer identity (${current?.fingerprint ?? 'none yet'}); it was meant for another system`
        : `the bundle is addressed to our transfer identity ${manifest.recipient}, retired on ${me.retiredAt ?? '?'} (more than ${RECIPIENT_GRACE_DAYS} days ago); ask for a bundle addressed to ${current?.fingerprint ?? 'our current identity'}`,
      { details: { recipient: manifest.recipient, us: current?.fingerprint ?? null } },
    );
  }

  // 6: time window
  if (now.getTime() > Date.parse(manifest.expiresAt)) {
    throw new CoreError('ERR_BUNDLE_EXPIRED', `the bundle expired at ${manifest.expiresAt} (it is now ${now.toISOString()}); ask the sender for a new bundle`, {
      details: { expiresAt: manifest.expiresAt, now: now.toISOString() },
    });
  }
  if (Date.parse(manifest.createdAt) > now.getTime() + CLOCK_SKEW_MS) {
    throw new CoreError('ERR_BUNDLE_NOT_YET_VALID', `the bundle was created at ${manifest.createdAt}, in the future (it is now ${now.toISOString()}); check both clocks`, {
      details: { createdAt: manifest.createdAt, now: now.toISOString() },
    });
  }

  // 7: sequence and chain on the channel
  const channel = state.channel(pin.peer, 'in');
  const expected = channel.lastSequence + 1;
  let alreadyImported = false;
  let importedAt: string | undefined;
  if (manifest.sequence < expected) {
    const earlier = state.receivedAt(pin.peer, manifest.sequence);
    if (earlier !== undefined && earlier.manifestSha256 === mHash) {
      alreadyImported = true;
      importedAt = earlier.importedAt;
    } else {
      throw new CoreError(
        'ERR_BUNDLE_REPLAYED',
        `the bundle has sequence ${manifest.sequence} on the channel from '${pin.peer}', but ${channel.lastSequence} bundles were already imported (expected ${expected}); it is a replay or a conflicting copy and was refused`,
        { details: { peer: pin.peer, expected, seen: manifest.sequence } },
      );
    }
  } else if (manifest.sequence > expected) {
    throw new CoreError(
      'ERR_BUNDLE_SEQUENCE_GAP',
      `the bundle has sequence ${manifest.sequence} on the channel from '${pin.peer}', but the next expected is ${expected}; import the missing bundle(s) ${expected}${manifest.sequence - 1 > expected ? `-${manifest.sequence - 1}` : ''} first`,
      { details: { peer: pin.peer, expected, seen: manifest.sequence } },
    );
  } else if (manifest.previousManifestSha256 !== channel.lastManifestSha256) {
    throw new CoreError(
      'ERR_BUNDLE_PREVIOUS_HASH_MISMATCH',
      `the bundle names the previous manifest ${manifest.previousManifestSha256 ?? 'null'}, but the last bundle imported from '${pin.peer}' has ${channel.lastManifestSha256 ?? 'null (none yet)'}; the channel history differs`,
      { details: { peer: pin.peer, expected: channel.lastManifestSha256, seen: manifest.previousManifestSha256 } },
    );
  }

  // 8: every file's size and hash, then no unlisted file
  for (const f of manifest.files) {
    const data = unpacked.payload.get(f.path);
    if (data === undefined) throw new CoreError('ERR_BUNDLE_FILE_MISSING', `${f.path} is listed in the manifest but not in the bundle`, { details: { path: f.path } });
    if (data.length !== f.size) {
      throw new CoreError('ERR_BUNDLE_FILE_HASH_MISMATCH', `${f.path} has ${data.length} bytes, the manifest says ${f.size}`, { details: { path: f.path, expected: f.size, seen: data.length } });
    }
    const h = createHash('sha256').update(data).digest('hex');
    if (h !== f.sha256) throw new CoreError('ERR_BUNDLE_FILE_HASH_MISMATCH', `${f.path} has SHA-256 ${h}, the manifest says ${f.sha256}; the file was changed`, { details: { path: f.path, expected: f.sha256, seen: h } });
  }
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const path of unpacked.payload.keys()) {
    if (!listed.has(path)) throw new CoreError('ERR_BUNDLE_FILE_UNLISTED', `${path} is in the bundle but not in the signed manifest; it was added after signing`, { details: { path } });
  }

  // 9: kind-specific checks
  let index: unknown;
  if (!alreadyImported) {
    const handler = kinds.handler(manifest.kind);
    index = validatePayload(handler, manifest, mHash, unpacked.payload, now);
    checkIncoming(kinds, { manifest, manifestSha256: mHash, index, files: unpacked.payload, now, peer: pin.peer, state });
  }

  return {
    ...unpacked,
    manifest,
    manifestSha256: mHash,
    peer: pin.peer,
    signerFingerprint: pin.fingerprint,
    signingTime: sig.signingTime,
    index,
    alreadyImported,
    importedAt,
  };
}

function pinnedValidity(der: Buffer): { notBefore: Date; notAfter: Date } {
  const x = new X509Certificate(der);
  return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}
