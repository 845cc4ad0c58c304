/**
 * @module istio/export
 * The payload of an `istio-manifests` transfer bundle: the generated files as `{path, bytes,
 * mediaType, sha256, size}`, sorted by path, with every safety property a bundle needs checked
 * here too (relative POSIX paths without `..`, regular text content, no private key anywhere —
 * including inside base64 Secret data). The bundle domain signs and packs this list; nothing here
 * signs or writes.
 *
 * Must never: let a private key or an unsafe path through.
 */
import { createHash } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { containsPrivateKey } from './cacerts.ts';
import { cmp } from './model.ts';
import type { OutputFile } from './render.ts';

/** The bundle kind these files travel in. */
export const ISTIO_BUNDLE_KIND = 'istio-manifests';

/** One payload file of an `istio-manifests` bundle. */
export interface BundlePayloadFile {
  path: string;
  bytes: Buffer;
  mediaType: string;
  sha256: string;
  size: number;
}

/** Media type of a generated file by its name. */
export function mediaTypeOf(path: string): OutputFile['mediaType'] | undefined {
  if (/\.ya?ml$/u.test(path)) return 'application/yaml';
  if (path.endsWith('.md')) return 'text/markdown';
  if (path.endsWith('.jsonl')) return 'application/jsonl';
  if (path.endsWith('.json')) return 'application/json';
  return undefined;
}

/**
 * Turns generated files into a bundle payload.
 * @throws {CoreError} ERR_ISTIO_PRIVATE_KEY_REFUSED when any file (or Secret data in it) holds a
 *   private key; ERR_ISTIO_MANIFEST_INVALID for unsafe paths, duplicates or unknown file types.
 */
export function istioBundlePayload(files: readonly OutputFile[]): BundlePayloadFile[] {
  const seen = new Set<string>();
  const out: BundlePayloadFile[] = [];
  for (const f of files) {
    if (f.path === '' || f.path.startsWith('/') || f.path.includes('\\') || f.path.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `unsafe payload path "${f.path}"`);
    if (seen.has(f.path)) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `duplicate payload path "${f.path}"`);
    seen.add(f.path);
    if (mediaTypeOf(f.path) === undefined) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `"${f.path}" is not a file the Istio generator produces`);
    if (containsPrivateKey(f.bytes)) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} holds a private key; an istio-manifests bundle never carries one`);
    // Secret data values are base64: decode every long base64 run of a YAML file and look inside.
    if (f.mediaType === 'application/yaml') {
      for (const m of f.bytes.toString('utf8').matchAll(/[A-Za-z0-9+/]{40,}={0,2}/gu)) {
        if (containsPrivateKey(Buffer.from(m[0], 'base64'))) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} holds a base64-encoded private key; an istio-manifests bundle never carries one`);
      }
      if (/^\s*(?:ca-key\.pem|tls\.key)\s*:/mu.test(f.bytes.toString('utf8'))) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${f.path} has a Secret key field for a private key (ca-key.pem / tls.key)`);
    }
    out.push({ path: f.path, bytes: f.bytes, mediaType: f.mediaType, sha256: createHash('sha256').update(f.bytes).digest('hex'), size: f.bytes.length });
  }
  return out.sort((a, b) => cmp(a.path, b.path));
}
