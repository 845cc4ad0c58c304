/**
 * @module bundle/tar
 * A strict, minimal POSIX ustar reader and a deterministic writer, for bundles only (no tar
 * library: the format is small and every leniency of a general-purpose tar is an attack surface).
 *
 * The reader works on bytes already in memory (the file half checked the file size first) and
 * validates in two passes, so the first error reported follows the bundle verification order:
 *  1. limits: every header's checksum is checked, then the entry count and each entry's declared
 *     size against the limits, before any data is touched; a truncated archive is refused;
 *  2. sanity: regular files only (no links, devices, directories, FIFOs, pax or GNU extension
 *     headers), no special mode bits, no link target, no ustar prefix, names by the rules of
 *     `paths.ts` (no absolute paths, no `..`), no duplicate names, names in byte order (so one
 *     bundle has one archive form: reordering entries changes the bytes and is refused).
 * Padding after each file's data and after the end-of-archive marker (two zero blocks) must be
 * zero bytes, and the checksum field must have the form every tar writes (six octal digits, NUL,
 * space), so that no byte of the archive is both ignored and alterable.
 *
 * The writer emits ustar headers with fixed mode 0644, uid/gid 0, empty owner names, one mtime for
 * every entry and entries sorted by name, then two zero blocks: the same entries always give the
 * same bytes, and GNU tar extracts them.
 *
 * Must never: allocate or copy based on a declared size before it was checked against the limits;
 * return an entry whose name could escape the extraction folder.
 */
import { CoreError } from '../errors.ts';
import { formatBytes, type BundleLimits } from './limits.ts';
import { assertEntryName, MANIFEST_NAME, printable, SIGNATURE_NAME } from './paths.ts';

const BLOCK = 512;

/** One regular file of an archive. `data` is a view into the archive bytes (not a copy). */
export interface TarEntry {
  readonly name: string;
  readonly data: Buffer;
}

/** Header offsets (POSIX.1-1988 ustar). */
const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;

function field(header: Buffer, f: readonly [number, number]): Buffer {
  return header.subarray(f[0], f[0] + f[1]);
}

function isZero(b: Buffer): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

function invalid(message: string, details: Record<string, unknown> = {}): CoreError {
  return new CoreError('ERR_BUNDLE_ARCHIVE_INVALID', `${message}. The bundle is damaged or not a NEAM bundle; ask the sender for a new copy`, { details });
}

/**
 * Parses a numeric header field: octal digits (leading spaces allowed) ended by NUL or space, or
 * the base-256 form (first byte 0x80) some tars use for large values. Returns a bigint so a
 * hostile value can be compared with a limit without overflowing.
 */
function parseNumber(b: Buffer, what: string, offset: number): bigint {
  if (b.length > 0 && ((b[0] ?? 0) & 0x80) !== 0) {
    if (b[0] !== 0x80) throw invalid(`the tar header at byte ${offset} has a negative ${what}`, { offset });
    let v = 0n;
    for (const x of b.subarray(1)) v = (v << 8n) | BigInt(x);
    return v;
  }
  let i = 0;
  while (i < b.length && b[i] === 0x20) i++;
  const start = i;
  let v = 0n;
  while (i < b.length && (b[i] ?? 0) >= 0x30 && (b[i] ?? 0) <= 0x37) {
    v = v * 8n + BigInt((b[i] ?? 0x30) - 0x30);
    i++;
  }
  if (i === start) throw invalid(`the tar header at byte ${offset} has no ${what}`, { offset });
  for (; i < b.length; i++) {
    if (b[i] !== 0 && b[i] !== 0x20) throw invalid(`the tar header at byte ${offset} has a malformed ${what} field`, { offset });
  }
  return v;
}

function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= F.chksum[0] && i < F.chksum[0] + F.chksum[1] ? 0x20 : (header[i] ?? 0);
  return sum;
}

/** A NUL-terminated text field; everything after the first NUL must be NUL (no hidden bytes). */
function text(b: Buffer): { value: string; clean: boolean; ascii: boolean } {
  const nul = b.indexOf(0);
  const body = nul === -1 ? b : b.subarray(0, nul);
  const clean = nul === -1 || isZero(b.subarray(nul));
  let ascii = true;
  for (const x of body) if (x < 0x20 || x > 0x7e) ascii = false;
  return { value: body.toString('latin1'), clean, ascii };
}

interface RawHeader {
  offset: number;
  header: Buffer;
  size: number;
  data: Buffer;
}

/** Pass 1: walk headers, check checksums and limits, find the data of every entry. */
function walk(bytes: Buffer, limits: BundleLimits): RawHeader[] {
  if (bytes.length > limits.maxBundleBytes) {
    throw new CoreError('ERR_BUNDLE_TOO_LARGE', `the bundle is ${formatBytes(bytes.length)}, more than the limit of ${formatBytes(limits.maxBundleBytes)}`, {
      details: { size: bytes.length, limit: limits.maxBundleBytes },
    });
  }
  const out: RawHeader[] = [];
  let off = 0;
  for (;;) {
    if (off + BLOCK > bytes.length) {
      throw invalid(`the archive is truncated: it ends at byte ${bytes.length} without the end-of-archive marker`, { offset: off });
    }
    const header = bytes.subarray(off, off + BLOCK);
    if (isZero(header)) {
      if (off + 2 * BLOCK > bytes.length || !isZero(bytes.subarray(off + BLOCK, off + 2 * BLOCK))) {
        throw invalid(`the archive is truncated: a lone zero block at byte ${off} instead of the two-block end-of-archive marker`, { offset: off });
      }
      if (!isZero(bytes.subarray(off + 2 * BLOCK))) throw invalid(`data follows the end-of-archive marker at byte ${off}`, { offset: off });
      if (bytes.length % BLOCK !== 0) throw invalid(`the archive length ${bytes.length} is not a multiple of ${BLOCK} bytes`, { offset: off });
      return out;
    }
    // Every tar writes the checksum as six octal digits, NUL, space; anything else is refused so
    // that no byte of a header escapes the checksum.
    const chk = field(header, F.chksum);
    if (!/^[0-7]{6}\0 $/u.test(chk.toString('latin1'))) throw invalid(`the tar header at byte ${off} has a malformed checksum field`, { offset: off });
    const stored = parseNumber(chk, 'checksum', off);
    if (stored !== BigInt(checksumOf(header))) {
      throw invalid(`the tar header at byte ${off} has a wrong checksum (stored ${stored.toString(8)}, computed ${checksumOf(header).toString(8)})`, { offset: off });
    }
    const magic = field(header, F.magic).toString('latin1');
    const version = field(header, F.version).toString('latin1');
    const ustar = magic === 'ustar\0' && version === '00';
    const oldGnu = magic === 'ustar ' && version === ' \0';
    if (!ustar && !oldGnu) throw invalid(`the tar header at byte ${off} is not a ustar header (magic '${printable(magic)}')`, { offset: off });
    if (out.length + 1 > limits.maxEntries) {
      throw new CoreError('ERR_BUNDLE_TOO_LARGE', `the bundle has more than ${limits.maxEntries} entries, the limit`, { details: { limit: limits.maxEntries } });
    }
    const declared = parseNumber(field(header, F.size), 'size', off);
    const rawName = text(field(header, F.name)).value;
    const limit = rawName === MANIFEST_NAME ? limits.maxManifestBytes : rawName === SIGNATURE_NAME ? limits.maxSignatureBytes : limits.maxEntryBytes;
    if (declared > BigInt(limit)) {
      throw new CoreError(
        'ERR_BUNDLE_TOO_LARGE',
        `the bundle entry '${printable(rawName)}' declares ${declared <= BigInt(Number.MAX_SAFE_INTEGER) ? formatBytes(Number(declared)) : `${declared} bytes`}, more than the limit of ${formatBytes(limit)} per entry; it was not read`,
        { details: { entry: printable(rawName), declared: declared.toString(), limit } },
      );
    }
    const size = Number(declared);
    const dataStart = off + BLOCK;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (dataStart + padded > bytes.length) {
      throw invalid(`the archive is truncated: entry '${printable(rawName)}' declares ${size} bytes but only ${Math.max(0, bytes.length - dataStart)} remain`, { offset: off });
    }
    if (!isZero(bytes.subarray(dataStart + size, dataStart + padded))) throw invalid(`entry '${printable(rawName)}' is followed by non-zero padding`, { offset: off });
    out.push({ offset: off, header, size, data: bytes.subarray(dataStart, dataStart + size) });
    off = dataStart + padded;
  }
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  x: 'a pax extended header',
  g: 'a pax global header',
  L: 'a GNU long-name header',
  K: 'a GNU long-link header',
  S: 'a GNU sparse file',
  M: 'a GNU multi-volume continuation',
  V: 'a GNU volume header',
  D: 'a GNU dump directory',
};

/** Pass 2: regular files only, safe names, no duplicates. */
function sanity(raw: RawHeader[]): TarEntry[] {
  const seen = new Set<string>();
  const out: TarEntry[] = [];
  for (const r of raw) {
    const name = text(field(r.header, F.name));
    const shown = printable(name.value);
    const type = String.fromCharCode(r.header[F.typeflag[0]] ?? 0);
    if (type !== '0' && type !== '\0') {
      throw new CoreError('ERR_BUNDLE_ENTRY_FORBIDDEN', `the bundle entry '${shown}' is ${TYPE_NAMES[type] ?? `of tar type '${printable(type)}'`}; bundles hold regular files only`, {
        details: { entry: shown, type: printable(type) },
      });
    }
    const mode = parseNumber(field(r.header, F.mode), 'mode', r.offset);
    if ((mode & ~0o777n) !== 0n) {
      throw new CoreError('ERR_BUNDLE_ENTRY_FORBIDDEN', `the bundle entry '${shown}' has mode ${mode.toString(8)} (setuid, setgid or sticky bits); bundles hold plain files only`, {
        details: { entry: shown, mode: mode.toString(8) },
      });
    }
    if (!isZero(field(r.header, F.linkname))) {
      throw new CoreError('ERR_BUNDLE_ENTRY_FORBIDDEN', `the bundle entry '${shown}' carries a link target; bundles hold regular files only`, { details: { entry: shown } });
    }
    if (!isZero(field(r.header, F.prefix))) {
      throw new CoreError('ERR_BUNDLE_PATH_FORBIDDEN', `the bundle entry '${shown}' uses the ustar name prefix (a name longer than 100 bytes or GNU time fields); bundle names are at most 100 bytes`, {
        details: { entry: shown },
      });
    }
    if (!name.clean || !name.ascii) {
      throw new CoreError('ERR_BUNDLE_PATH_FORBIDDEN', `the bundle entry '${shown}' has a name with control, non-ASCII or hidden bytes`, { details: { entry: shown } });
    }
    assertEntryName(name.value);
    if (seen.has(name.value)) {
      throw new CoreError('ERR_BUNDLE_DUPLICATE_ENTRY', `the bundle holds '${shown}' more than once; an archive with duplicate names is ambiguous and refused`, { details: { entry: shown } });
    }
    seen.add(name.value);
    const prev = out[out.length - 1];
    if (prev !== undefined && Buffer.compare(Buffer.from(prev.name, 'latin1'), Buffer.from(name.value, 'latin1')) >= 0) {
      throw new CoreError('ERR_BUNDLE_ARCHIVE_INVALID', `the bundle entry '${shown}' comes after '${printable(prev.name)}'; entries must be in byte order of their names (create the archive with names sorted by 'LC_ALL=C sort')`, {
        details: { entry: shown, after: printable(prev.name) },
      });
    }
    out.push({ name: name.value, data: r.data });
  }
  return out;
}

/**
 * Reads a bundle archive strictly (see the module comment for the rules and their order).
 * @throws {CoreError} ERR_BUNDLE_TOO_LARGE, ERR_BUNDLE_ARCHIVE_INVALID, ERR_BUNDLE_ENTRY_FORBIDDEN,
 *   ERR_BUNDLE_PATH_FORBIDDEN, ERR_BUNDLE_DUPLICATE_ENTRY
 */
export function readTar(bytes: Buffer, limits: BundleLimits): TarEntry[] {
  return sanity(walk(bytes, limits));
}

function putText(header: Buffer, f: readonly [number, number], value: string): void {
  header.write(value, f[0], f[1], 'latin1');
}

function putOctal(header: Buffer, f: readonly [number, number], value: number): void {
  // f[1]-1 octal digits, then NUL (POSIX).
  const digits = value.toString(8).padStart(f[1] - 1, '0');
  if (digits.length > f[1] - 1) throw new RangeError(`value ${value} does not fit a ${f[1]}-byte tar field`);
  putText(header, f, `${digits}\0`);
}

function headerFor(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  putText(h, F.name, name);
  putOctal(h, F.mode, 0o644);
  putOctal(h, F.uid, 0);
  putOctal(h, F.gid, 0);
  putOctal(h, F.size, size);
  putOctal(h, F.mtime, mtime);
  h[F.typeflag[0]] = 0x30;
  putText(h, F.magic, 'ustar\0');
  putText(h, F.version, '00');
  putOctal(h, F.devmajor, 0);
  putOctal(h, F.devminor, 0);
  const sum = checksumOf(h);
  putText(h, F.chksum, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/**
 * Writes a deterministic ustar archive: entries sorted by name (byte order), mode 0644, uid/gid 0,
 * the given mtime (seconds since the epoch) on every entry, two zero blocks at the end.
 * @throws {CoreError} ERR_BUNDLE_PATH_FORBIDDEN (a name outside the bundle rules),
 *   ERR_BUNDLE_DUPLICATE_ENTRY
 */
export function writeTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > 0o77777777777) throw new RangeError(`mtime ${mtime} out of range`);
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8')));
  const parts: Buffer[] = [];
  let prev: string | undefined;
  for (const e of sorted) {
    assertEntryName(e.name);
    if (e.name === prev) throw new CoreError('ERR_BUNDLE_DUPLICATE_ENTRY', `'${printable(e.name)}' is given twice`, { details: { entry: printable(e.name) } });
    prev = e.name;
    parts.push(headerFor(e.name, e.data.length, mtime), e.data);
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
