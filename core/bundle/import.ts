/**
 * @module bundle/import
 * Importing a received bundle: one IMMEDIATE store transaction runs the whole verification
 * against the state it will change (so two imports cannot race past the sequence check), then
 * records the bundle with its payload files, advances the channel and lets the kind record what
 * it means (CSRs answered, CRL number, a rotated pin). Nothing is visible until every check passed;
 * a failure rolls everything back.
 *
 * Idempotent: importing the same bundle again is not an error. It changes nothing and returns
 * `alreadyImported: true` with the first import's time; callers that want an error pass
 * `requireNew` and get ERR_BUNDLE_ALREADY_IMPORTED.
 *
 * Must never: record anything for a bundle that failed a check.
 */
import { CoreError } from '../errors.ts';
import type { Manifest } from './manifest.ts';
import { KindRegistry } from './kinds/index.ts';
import type { BundleState } from './state.ts';
import { verifyBundle, type VerifyOptions } from './verify.ts';

/** Options of {@link importBundle}. */
export interface ImportOptions extends VerifyOptions {
  /** Refuse (ERR_BUNDLE_ALREADY_IMPORTED) instead of reporting `alreadyImported: true`. */
  requireNew?: boolean;
}

/** What an import did. */
export interface ImportResult {
  /** True when this bundle had been imported before; nothing changed. */
  readonly alreadyImported: boolean;
  /** When it was (first) imported. */
  readonly importedAt: string;
  readonly manifestSha256: string;
  readonly manifest: Manifest;
  readonly peer: string;
}

/**
 * Verifies and imports a bundle atomically (see the module comment).
 * @throws {CoreError} every verification code (see verify.ts), ERR_BUNDLE_ALREADY_IMPORTED with
 *   `requireNew`, ERR_STORE_*
 */
export function importBundle(state: BundleState, bytes: Buffer, options: ImportOptions): ImportResult {
  const kinds = options.kinds ?? KindRegistry.withDefaults();
  return state.transaction(() => {
    const v = verifyBundle(bytes, state, { ...options, kinds });
    if (v.alreadyImported) {
      if (options.requireNew === true) {
        throw new CoreError('ERR_BUNDLE_ALREADY_IMPORTED', `this bundle (sequence ${v.manifest.sequence} from '${v.peer}') was already imported on ${v.importedAt ?? '?'}; nothing changed`, {
          details: { manifestSha256: v.manifestSha256, importedAt: v.importedAt ?? null },
        });
      }
      return { alreadyImported: true, importedAt: v.importedAt ?? '', manifestSha256: v.manifestSha256, manifest: v.manifest, peer: v.peer };
    }
    const now = options.now.toISOString();
    state.addReceived(
      {
        manifestSha256: v.manifestSha256,
        id: v.manifest.id,
        peer: v.peer,
        sequence: v.manifest.sequence,
        kind: v.manifest.kind,
        sender: v.manifest.sender,
        recipient: v.manifest.recipient,
        createdAt: v.manifest.createdAt,
        manifest: v.manifestBytes,
        signature: v.signature,
      },
      v.manifest.files.map((f) => ({ path: f.path, mediaType: f.mediaType, sha256: f.sha256, data: v.payload.get(f.path) ?? Buffer.alloc(0) })),
      now,
    );
    state.advanceChannel(v.peer, 'in', v.manifest.sequence, v.manifestSha256, now);
    kinds.handler(v.manifest.kind).onImport?.({ manifest: v.manifest, manifestSha256: v.manifestSha256, index: v.index, files: v.payload, now: options.now, peer: v.peer, state });
    return { alreadyImported: false, importedAt: now, manifestSha256: v.manifestSha256, manifest: v.manifest, peer: v.peer };
  });
}
