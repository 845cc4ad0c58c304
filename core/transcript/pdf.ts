/**
 * @module transcript/pdf
 * Prints a report to PDF with the system's headless Chromium (`/usr/bin/chromium`, or
 * `$NEAM_CA_CHROMIUM`): the HTML is written to a private temporary folder, Chromium runs with a
 * throwaway profile, no sandbox escape hatches beyond `--no-sandbox` (needed as root), no network
 * features, and prints it; the PDF is checked and then written to its destination with exclusive
 * create.
 *
 * Must never: download a browser, overwrite an existing file, or leave the temporary folder behind.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { CoreError } from '../errors.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';

/** Default Chromium binary. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Options for {@link printReportPdf}. */
export interface PdfOptions {
  /** Chromium binary (default `$NEAM_CA_CHROMIUM` or {@link DEFAULT_CHROMIUM}). */
  chromium?: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Environment for Chromium (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** Chromium switches: headless, no first-run work, no background network, no GPU. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--no-pdf-header-footer'] as const;

/**
 * Prints `html` to a PDF at `outPath` (exclusive create).
 * @throws {CoreError} ERR_NOT_FOUND (no Chromium), ERR_ALREADY_EXISTS, ERR_IO (Chromium failed or
 * produced no PDF)
 */
export async function printReportPdf(html: string, outPath: string, options: PdfOptions = {}): Promise<{ bytes: number }> {
  const env = options.env ?? process.env;
  const chromium = options.chromium ?? (env['NEAM_CA_CHROMIUM'] !== undefined && env['NEAM_CA_CHROMIUM'] !== '' ? env['NEAM_CA_CHROMIUM'] : DEFAULT_CHROMIUM);
  if (!existsSync(chromium)) throw new CoreError('ERR_NOT_FOUND', `Chromium was not found at ${chromium}; install the Debian package 'chromium' or set NEAM_CA_CHROMIUM. The HTML report needs no browser`, { details: { chromium } });
  if (existsSync(outPath)) throw new CoreError('ERR_ALREADY_EXISTS', `${outPath} already exists; it is never overwritten. Move it away or choose another file`, { details: { path: outPath } });
  const dir = mkdtempSync(join(tmpdir(), 'neam-report-'));
  try {
    const htmlPath = join(dir, 'report.html');
    const pdfPath = join(dir, 'report.pdf');
    writeFileSync(htmlPath, html, { mode: 0o600 });
    const args = [...CHROMIUM_ARGS, `--user-data-dir=${join(dir, 'profile')}`, `--print-to-pdf=${pdfPath}`, pathToFileURL(htmlPath).href];
    await new Promise<void>((resolve, reject) => {
      execFile(chromium, args, { timeout: options.timeoutMs ?? 60_000, env: { ...env, HOME: dir }, maxBuffer: 4 * 1024 * 1024 }, (err, _stdout, stderr) => {
        if (err !== null) {
          const tail = String(stderr).split('\n').filter((l) => l.trim() !== '' && !l.includes('dbus')).slice(-3).join(' | ');
          reject(new CoreError('ERR_IO', `Chromium could not print the report (${err.killed ? 'timed out' : `exit ${String(err.code)}`})${tail === '' ? '' : `: ${tail.slice(0, 400)}`}`, { cause: err }));
        } else resolve();
      });
    });
    let pdf: Buffer;
    try {
      pdf = readFileSync(pdfPath);
    } catch (err) {
      throw new CoreError('ERR_IO', 'Chromium finished but wrote no PDF', { cause: err });
    }
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new CoreError('ERR_IO', 'Chromium wrote a file that is not a PDF');
    writeFileExclusive(outPath, pdf, 0o644);
    return { bytes: pdf.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
