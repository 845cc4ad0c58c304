/**
 * @module bundle/limits
 * The size limits every bundle reader enforces before it allocates or hashes anything: the whole
 * file, the number of archive entries, each entry, and the two manifest files. They are checked
 * from the file's size and the tar headers, so a hostile header declaring 2 GiB is refused
 * without reading (or allocating) a byte of its data.
 *
 * Must never: be raised silently; callers that need bigger bundles pass explicit limits.
 */

/** Size limits of a bundle (bytes and counts). */
export interface BundleLimits {
  /** Whole `.neambundle` file. */
  readonly maxBundleBytes: number;
  /** Archive entries, the two manifest files included. */
  readonly maxEntries: number;
  /** One payload file. */
  readonly maxEntryBytes: number;
  /** `manifest.json`. */
  readonly maxManifestBytes: number;
  /** `manifest.json.p7s`. */
  readonly maxSignatureBytes: number;
}

/** Default limits: generous for CSRs, certificates, CRLs and manifests; tiny for an attacker. */
export const DEFAULT_LIMITS: BundleLimits = Object.freeze({
  maxBundleBytes: 64 * 1024 * 1024,
  maxEntries: 258,
  maxEntryBytes: 16 * 1024 * 1024,
  maxManifestBytes: 1024 * 1024,
  maxSignatureBytes: 64 * 1024,
});

/** `n` bytes in a unit a person reads (`16 MiB`). */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / (1024 * 1024 * 1024)).toFixed(n % (1024 * 1024 * 1024) === 0 ? 0 : 1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  return `${n} bytes`;
}
