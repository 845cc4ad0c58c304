/**
 * @module bundle/paths
 * The names a bundle may contain: exactly `manifest.json`, `manifest.json.p7s`, and payload files
 * `payload/<segment>/…/<segment>` where every segment is `[A-Za-z0-9][A-Za-z0-9._-]*` and the
 * whole name fits the 100-byte ustar name field. The rule is deliberately narrow: no absolute
 * paths, no `..`, no hidden files, no characters a shell or another file system could reinterpret.
 *
 * Must never: accept a name that could leave the extraction folder when unpacked by any tar.
 */
import { CoreError } from '../errors.ts';

/** Name of the manifest entry. */
export const MANIFEST_NAME = 'manifest.json';
/** Name of the detached CMS signature over the manifest. */
export const SIGNATURE_NAME = 'manifest.json.p7s';
/** Folder of payload files. */
export const PAYLOAD_PREFIX = 'payload/';
/** ustar `name` field size: longer names would need the prefix field or extensions, which we refuse. */
export const MAX_NAME_BYTES = 100;

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/u;

/** Why a name is refused, or undefined when it is acceptable (`payload/…` or a manifest file). */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name.startsWith('/')) return 'it is an absolute path';
  if (/^[A-Za-z]:/u.test(name) || name.includes('\\')) return 'it is a Windows path';
  const segments = name.split('/');
  if (segments.includes('..')) return "it contains '..'";
  if (segments.includes('.')) return "it contains '.' as a path segment";
  if (segments.some((s) => s === '')) return 'it has an empty path segment (a leading, doubled or trailing /)';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `it is longer than ${MAX_NAME_BYTES} bytes`;
  if (name === MANIFEST_NAME || name === SIGNATURE_NAME) return undefined;
  if (!name.startsWith(PAYLOAD_PREFIX)) return `only ${MANIFEST_NAME}, ${SIGNATURE_NAME} and files under ${PAYLOAD_PREFIX} are allowed`;
  if (segments.length < 2) return 'it names no file under payload/';
  for (const s of segments) {
    if (!SEGMENT.test(s)) return `the segment '${printable(s)}' has characters outside A-Z a-z 0-9 . _ - or starts with '.', '_' or '-'`;
  }
  return undefined;
}

/** True when `name` is an acceptable payload file name (`payload/…`). */
export function isPayloadName(name: string): boolean {
  return name.startsWith(PAYLOAD_PREFIX) && nameProblem(name) === undefined;
}

/**
 * Throws when `name` is not an acceptable bundle entry name.
 * @throws {CoreError} ERR_BUNDLE_PATH_FORBIDDEN
 */
export function assertEntryName(name: string): void {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    throw new CoreError('ERR_BUNDLE_PATH_FORBIDDEN', `the bundle entry '${printable(name)}' is not allowed: ${problem}. Bundles hold only ${MANIFEST_NAME}, ${SIGNATURE_NAME} and payload/… files`, {
      details: { entry: printable(name) },
    });
  }
}

/** A name made safe to print (control and non-ASCII characters escaped, length capped). */
export function printable(name: string): string {
  const escaped = name.replace(/[^\x20-\x7e]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > 160 ? `${escaped.slice(0, 160)}…` : escaped;
}
