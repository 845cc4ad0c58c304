/**
 * @module agent/delivery
 * Delivers a workload's SVID files so that a reader never sees a partial file or a certificate
 * with the wrong key. The workload path `ROOT/NAME` is a symbolic link the agent owns, pointing to
 * a generation directory `ROOT/.NAME.g<N>-<rand>/` holding `svid.pem` (leaf then chain),
 * `svid.key` (mode 0600), `bundle.pem` and, when asked for, `crls.pem`. A delivery:
 *
 *  1. creates a new generation directory (mode 0750);
 *  2. writes the files with exclusive create, each fsynced (and, when the workload has an `owner`,
 *     gives the directory and files to that uid:gid before anyone can see them);
 *  3. fsyncs the generation directory;
 *  4. creates a temporary symlink to it and renames it over `ROOT/NAME` (rename(2) is atomic), then
 *     fsyncs `ROOT`;
 *  5. removes generations older than the previous one (the previous one stays for readers that
 *     resolved the old link a moment ago).
 *
 * So key and certificate change together: a reader that opens `ROOT/NAME/svid.pem` and
 * `ROOT/NAME/svid.key` after the swap gets the new pair; before it, the old pair. If anything fails
 * (e.g. the disk is full) the link is untouched, the half-written generation is removed, and the
 * still-valid files keep being served.
 *
 * Must never: leave `ROOT/NAME` pointing at an incomplete generation, write a key readable by
 * others, or follow a symlink it did not create.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, constants, fsyncSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

import { CoreError } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';

/** The files of one delivery. */
export interface SvidFiles {
  /** Leaf certificate then intermediate chain, PEM. */
  certChainPem: string;
  /** PKCS#8 PEM private key (written 0600). */
  keyPem: string;
  /** Trust bundle PEM. */
  bundlePem: string;
  /** CRLs (PEM) for relying parties such as nginx `ssl_crl`; written only when given. */
  crlsPem?: string;
}

/** Who owns a workload's delivered files (numeric ids). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** File names inside a workload folder. */
export const FILE_NAMES = { cert: 'svid.pem', key: 'svid.key', bundle: 'bundle.pem', crls: 'crls.pem' } as const;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/u;

/** Checks a workload folder name (one path segment, no dot-files). */
export function validateWorkloadName(name: string): void {
  if (!NAME_RE.test(name) || name.includes('..')) {
    throw new CoreError('ERR_AGENT_CONFIG_INVALID', `workload name '${name}' is invalid: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function generationOf(entry: string, name: string): number | undefined {
  const m = new RegExp(`^\\.${name.replace(/[.]/gu, '\\.')}\\.g(\\d+)-[0-9a-f]+$`, 'u').exec(entry);
  return m === null ? undefined : Number(m[1]);
}

/** The generation directory `ROOT/NAME` points to, or undefined when not delivered yet. */
export function currentGeneration(root: string, name: string): string | undefined {
  validateWorkloadName(name);
  const link = join(root, name);
  let st;
  try {
    st = lstatSync(link);
  } catch {
    return undefined;
  }
  if (!st.isSymbolicLink()) {
    throw new CoreError('ERR_AGENT_STATE_INVALID', `${link} exists but is not a link managed by the agent; move it away (the agent delivers ${name} as a link to a generation folder)`);
  }
  const target = readlinkSync(link);
  if (generationOf(target, name) === undefined) {
    throw new CoreError('ERR_AGENT_STATE_INVALID', `${link} points to '${target}', which the agent did not create; remove the link`);
  }
  return join(root, target);
}

function mapWriteError(e: unknown, where: string, owner: FileOwner | undefined): CoreError {
  const errno = (e as { code?: string; details?: { errno?: string } }).code ?? '';
  const inner = e instanceof CoreError ? (e.details?.['errno'] as string | undefined) : errno;
  if (inner === 'ENOSPC' || inner === 'EDQUOT' || errno === 'ENOSPC') {
    return new CoreError('ERR_AGENT_DISK_FULL', `no space left while writing ${where}; the previous SVID files are still in place. Free disk space; the agent retries`, { cause: e });
  }
  if (owner !== undefined && (errno === 'EPERM' || errno === 'EINVAL') && /^l?chown$/u.test((e as { syscall?: string }).syscall ?? '')) {
    return new CoreError('ERR_AGENT_WRITE_FAILED', `cannot give ${where} to ${owner.uid}:${owner.gid} (${errno}); setting an owner needs an agent running as root (or with CAP_CHOWN). The previous SVID files are still in place`, { cause: e });
  }
  return new CoreError('ERR_AGENT_WRITE_FAILED', `writing ${where} failed${inner === '' ? '' : ` (${inner})`}; the previous SVID files are still in place`, { cause: e });
}

/**
 * Atomically delivers `files` to `ROOT/NAME` (see module doc). With `owner`, the generation folder,
 * the files and the link belong to that uid:gid (the key stays 0600, so only that user reads it).
 * Returns the new generation folder.
 * @throws {CoreError} ERR_AGENT_DISK_FULL, ERR_AGENT_WRITE_FAILED, ERR_AGENT_STATE_INVALID, ERR_AGENT_CONFIG_INVALID
 */
export function deliverSvid(root: string, name: string, files: SvidFiles, owner?: FileOwner): string {
  validateWorkloadName(name);
  const previous = currentGeneration(root, name);
  const prevGen = previous === undefined ? 0 : (generationOf(previous.slice(root.length + 1), name) ?? 0);
  const genName = `.${name}.g${prevGen + 1}-${randomBytes(4).toString('hex')}`;
  const genDir = join(root, genName);
  const tmpLink = join(root, `.${name}.link-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(genDir, { mode: 0o750 });
    // The umask must not narrow the folder: the owner's group (and only it) may enter.
    chmodSync(genDir, 0o750);
    const written: string[] = [FILE_NAMES.key, FILE_NAMES.cert, FILE_NAMES.bundle];
    writeFileExclusive(join(genDir, FILE_NAMES.key), files.keyPem, 0o600);
    writeFileExclusive(join(genDir, FILE_NAMES.cert), files.certChainPem, 0o644);
    writeFileExclusive(join(genDir, FILE_NAMES.bundle), files.bundlePem, 0o644);
    if (files.crlsPem !== undefined) {
      writeFileExclusive(join(genDir, FILE_NAMES.crls), files.crlsPem, 0o644);
      written.push(FILE_NAMES.crls);
    }
    if (owner !== undefined) {
      // Before the swap: no reader ever sees the files with another owner.
      for (const f of written) chownSync(join(genDir, f), owner.uid, owner.gid);
      chownSync(genDir, owner.uid, owner.gid);
    }
    fsyncDir(genDir);
    symlinkSync(genName, tmpLink);
    if (owner !== undefined) lchownSync(tmpLink, owner.uid, owner.gid);
    renameSync(tmpLink, join(root, name));
    fsyncDir(root);
  } catch (e) {
    rmSync(genDir, { recursive: true, force: true });
    try {
      unlinkSync(tmpLink);
    } catch {
      // never created
    }
    throw mapWriteError(e, `the SVID files of '${name}'`, owner);
  }
  pruneGenerations(root, name, [genName, previous === undefined ? '' : previous.slice(root.length + 1)]);
  return genDir;
}

/** The owner of the current generation folder of `ROOT/NAME`, or undefined when nothing was delivered. */
export function deliveredOwner(root: string, name: string): FileOwner | undefined {
  const dir = currentGeneration(root, name);
  if (dir === undefined) return undefined;
  const st = statSync(dir);
  return { uid: st.uid, gid: st.gid };
}

/**
 * Reads the files of the current generation (resolving the link once), or undefined when nothing
 * was delivered. Used to re-deliver the same key and certificate with a new bundle or CRLs.
 * @throws {CoreError} ERR_AGENT_STATE_INVALID (not a link the agent made, or files missing)
 */
export function readDelivery(root: string, name: string): (SvidFiles & { dir: string }) | undefined {
  const dir = currentGeneration(root, name);
  if (dir === undefined) return undefined;
  try {
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    let crlsPem: string | undefined;
    try {
      crlsPem = read(FILE_NAMES.crls);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return { dir, certChainPem: read(FILE_NAMES.cert), keyPem: read(FILE_NAMES.key), bundlePem: read(FILE_NAMES.bundle), ...(crlsPem === undefined ? {} : { crlsPem }) };
  } catch (e) {
    throw new CoreError('ERR_AGENT_STATE_INVALID', `the delivered files in ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}); the agent will issue a new SVID for '${name}'`, { cause: e });
  }
}

function pruneGenerations(root: string, name: string, keep: string[]): void {
  for (const entry of readdirSync(root)) {
    if (keep.includes(entry)) continue;
    if (generationOf(entry, name) !== undefined || entry.startsWith(`.${name}.link-`)) {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}

/**
 * Removes a workload's delivered files (its entry was deleted): the link first, then every
 * generation folder.
 */
export function removeDelivery(root: string, name: string): void {
  validateWorkloadName(name);
  if (currentGeneration(root, name) !== undefined) unlinkSync(join(root, name));
  pruneGenerations(root, name, []);
  fsyncDir(root);
}
