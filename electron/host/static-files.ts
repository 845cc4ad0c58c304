/**
 * @module electron/host/static-files
 * Serves the built renderer (`dist/renderer`) to either host: maps a URL path to a file inside the
 * renderer folder, with a content type from a short allow-list. Paths are decoded once, refused if
 * they contain `..`, backslashes or NUL, and must still be inside the folder after links are
 * resolved.
 *
 * Must never: serve a file outside the renderer folder, list a folder, or guess a content type.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/** Content types of the files a Vite build produces; anything else is not served. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/** A file to serve. */
export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/**
 * The file for `urlPath` (already stripped of any host-specific prefix), or null when there is
 * none or it is not allowed. `/` and `` mean `index.html`.
 */
export function readStatic(rootDir: string, urlPath: string): StaticFile | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.')) return null;
  const rel = segments.length === 0 ? ['index.html'] : segments;
  const contentType = CONTENT_TYPES[extname(rel[rel.length - 1]!).toLowerCase()];
  if (contentType === undefined) return null;
  try {
    const rootReal = realpathSync(rootDir);
    const real = realpathSync(join(rootReal, ...rel));
    const inside = relative(rootReal, real);
    if (inside === '' || inside.startsWith('..') || inside.split(sep).includes('..')) return null;
    if (!statSync(real).isFile()) return null;
    return { body: readFileSync(real), contentType };
  } catch {
    return null;
  }
}
