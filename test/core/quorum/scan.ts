/**
 * Secret scanning for tests: every encoding a secret could leak in (raw bytes, hex in both cases,
 * base64, base64url, UTF-8 and UTF-16 text, the PIN text), searched in every file under a folder
 * and in captured text (logs, prompts, error messages, outputs).
 */
import { hkdfSync } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One encoded form of a secret. */
export interface SecretForm {
  label: string;
  bytes: Buffer;
}

/** The encodings of binary secrets and of text secrets (passphrases, PINs). */
export function secretForms(input: { secrets?: Buffer[]; texts?: string[] }): SecretForm[] {
  const out: SecretForm[] = [];
  const add = (label: string, b: Buffer): void => {
    if (b.length >= 8) out.push({ label, bytes: b });
  };
  const text = (label: string, t: string): void => {
    add(`${label} utf8`, Buffer.from(t, 'utf8'));
    add(`${label} utf16le`, Buffer.from(t, 'utf16le'));
    add(`${label} hex`, Buffer.from(Buffer.from(t, 'utf8').toString('hex'), 'ascii'));
    add(`${label} base64`, Buffer.from(Buffer.from(t, 'utf8').toString('base64').replace(/=+$/u, ''), 'ascii'));
    add(`${label} base64url`, Buffer.from(Buffer.from(t, 'utf8').toString('base64url'), 'ascii'));
    add(`${label} url-encoded`, Buffer.from(encodeURIComponent(t), 'ascii'));
    add(`${label} json`, Buffer.from(JSON.stringify(t).slice(1, -1), 'utf8'));
  };
  (input.secrets ?? []).forEach((s, i) => {
    const label = `secret#${i}`;
    add(`${label} raw`, s);
    text(`${label} hex`, s.toString('hex'));
    text(`${label} HEX`, s.toString('hex').toUpperCase());
    text(`${label} base64`, s.toString('base64').replace(/=+$/u, ''));
    // The token PINs: the base64url text of the secret (first roster format) and the HKDF-derived
    // user and security officer PINs (docs/quorum.md), computed here independently.
    text(`${label} pin`, s.toString('base64url'));
    if (s.length === 32) {
      for (const role of ['user', 'so']) {
        text(`${label} ${role}-pin`, Buffer.from(hkdfSync('sha256', s, Buffer.alloc(0), Buffer.from(`neam-ca/quorum/token-pin/v1/${role}`, 'utf8'), 32)).toString('base64url'));
      }
    }
    // A 16-byte prefix catches truncated dumps too.
    add(`${label} raw-prefix`, s.subarray(0, 16));
    text(`${label} hex-prefix`, s.subarray(0, 16).toString('hex'));
  });
  (input.texts ?? []).forEach((t, i) => text(`passphrase#${i}`, t));
  return out;
}

function walk(root: string, exclude: (p: string) => boolean, files: string[] = []): string[] {
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, exclude, files);
    else if (st.isFile() && !exclude(p)) files.push(p);
  }
  return files;
}

/** Every place (file path or text index) where a form occurs; empty when clean. */
export function findSecretLeaks(input: { root?: string; exclude?: (path: string) => boolean; texts?: string[]; forms: SecretForm[] }): string[] {
  const leaks: string[] = [];
  const scan = (where: string, data: Buffer): void => {
    for (const f of input.forms) if (data.includes(f.bytes)) leaks.push(`${where}: ${f.label}`);
  };
  if (input.root !== undefined) for (const p of walk(input.root, input.exclude ?? (() => false))) scan(p, readFileSync(p));
  (input.texts ?? []).forEach((t, i) => scan(`text#${i}`, Buffer.from(t, 'utf8')));
  return leaks;
}

/** Number of files a scan would read (tests assert the scan is not empty). */
export function countFiles(root: string, exclude: (p: string) => boolean = () => false): number {
  return walk(root, exclude).length;
}
