/**
 * @module electron/host/product
 * Product name and version for the UI's frame, read once from the repository's package.json by
 * the loopback host (the Electron host asks `app.getVersion()`, which reads the same file).
 *
 * Must never: read anything but package.json's name and version.
 */
import { readFileSync } from 'node:fs';

/** The product name shown in the UI. */
export const PRODUCT = 'NEAM CA ceremony workstation';

/** The version in package.json next to `packageJsonUrl`. */
export function readVersion(packageJsonUrl: URL): string {
  const parsed: unknown = JSON.parse(readFileSync(packageJsonUrl, 'utf8'));
  const v = typeof parsed === 'object' && parsed !== null ? (parsed as { version?: unknown }).version : undefined;
  return typeof v === 'string' ? v : '0.0.0';
}
