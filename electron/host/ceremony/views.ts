/**
 * @module electron/host/ceremony/views
 * Reads what the ceremony screens show from the ceremony folder and the HSM, in the contract's
 * shapes: a ceremony's record (steps, sign-offs, outputs, keys), the ceremonies of a CA folder, the
 * token as the HSM reports it now, the transcript's verification (chained to the previous
 * ceremony of the CA folder), the certificates and bundles a ceremony wrote, and the printable
 * report. Read-only, except {@link saveReport}, which writes the report files with exclusive create.
 *
 * Must never: change a ceremony's record, log in to a token, or overwrite a file.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import { ceremonyPlanOf, ceremonyStatus, type CeremonyStatusView } from '../../../core/ceremony/runner.ts';
import { CEREMONY_FILES } from '../../../core/ceremony/layout.ts';
import type { JournalEntry } from '../../../core/ceremony/state.ts';
import { CoreError, serializeError } from '../../../core/errors.ts';
import type { HsmConfig, HsmModule } from '../../../core/hsm/index.ts';
import { GENESIS_PREV, printReportPdf, renderReport, verifyTranscriptFile, type TranscriptVerification } from '../../../core/transcript/index.ts';
import { writeFileExclusive } from '../../../core/util/fs-atomic.ts';
import type { z } from 'zod';
import type { TokenView } from '../../ipc/ceremony-shapes.ts';

type Json = Record<string, unknown>;

/** A journal entry as the contract carries it. */
export function journalView(e: JournalEntry, rehearsal: boolean): { seq: number; at: string; actor: string; role: string; type: string; step: string | null; data: Json; rehearsal: boolean } {
  return { seq: e.seq, at: e.at, actor: e.actor, role: e.role, type: e.type, step: e.step, data: e.data as Json, rehearsal };
}

/** The ceremony folders of a CA folder, oldest first (folder names start with the UTC time). */
export function ceremonyFolders(caHome: string): string[] {
  const base = join(caHome, 'ceremonies');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((n) => {
      try {
        return statSync(join(base, n)).isDirectory() && existsSync(join(base, n, CEREMONY_FILES.db));
      } catch {
        return false;
      }
    })
    .sort()
    .map((n) => join(base, n));
}

/** The ceremonies of a CA folder (newest first), for resume and abort. */
export function listCeremonies(caHome: string): Array<{ id: string; title: string; type: string; status: 'running' | 'completed' | 'aborted'; rehearsal: boolean; createdAt: string; next: string | null; pointOfNoReturnCrossed: boolean; stepsSigned: number; stepsTotal: number }> {
  const out = [];
  for (const dir of ceremonyFolders(caHome).reverse()) {
    try {
      const v = ceremonyStatus(dir);
      out.push({ id: v.id, title: v.title, type: v.type, status: v.status, rehearsal: v.rehearsal, createdAt: v.createdAt, next: v.next, pointOfNoReturnCrossed: v.pointOfNoReturnCrossed, stepsSigned: v.steps.filter((s) => s.status === 'signed').length, stepsTotal: v.steps.length });
    } catch {
      // not a readable ceremony folder: not offered
    }
  }
  return out;
}

/** The token of a ceremony as the HSM reports it now (public facts, no login). */
export function tokenView(
  openHsm: (c: HsmConfig) => HsmModule,
  config: HsmConfig,
  token: { label: string; serial: string | null },
): z.input<typeof TokenView> {
  const base = { module: config.modulePath ?? 'SoftHSM2', softhsmDir: config.softhsmDir ?? null, label: token.label, serial: token.serial };
  let hsm: HsmModule | undefined;
  try {
    hsm = openHsm(config);
    const found = hsm.tokens().filter((t) => t.initialized && t.label === token.label && (token.serial === null || t.serial === token.serial));
    if (found.length !== 1) {
      return { ...base, module: hsm.modulePath, present: false, token: null, keys: [], problem: found.length === 0 ? null : { code: 'ERR_HSM_TOKEN_AMBIGUOUS', message: `${found.length} tokens are labelled '${token.label}'; the ceremony names its token by serial` } };
    }
    const t = found[0]!;
    const session = hsm.openSession({ label: t.label, serial: t.serial }, { readWrite: false });
    try {
      const keys = session.describeKeys().map((k) => ({ class: k.class, label: k.label, id: k.id, algorithm: k.algorithm, spkiSha256: k.spkiSha256 ?? null }));
      return {
        ...base,
        module: hsm.modulePath,
        serial: t.serial,
        present: true,
        token: { label: t.label, serial: t.serial, manufacturer: t.manufacturer, model: t.model, initialized: t.initialized, userPinInitialized: t.userPinInitialized, userPinCountLow: t.userPinCountLow, userPinFinalTry: t.userPinFinalTry, userPinLocked: t.userPinLocked, soPinLocked: t.soPinLocked },
        keys,
        problem: null,
      };
    } finally {
      session.close();
    }
  } catch (e) {
    const err = serializeError(e);
    return { ...base, present: false, token: null, keys: [], problem: { code: err.code, message: err.message } };
  } finally {
    hsm?.close();
  }
}

/** The transcript head the ceremony in `dir` must link to: the previous ceremony's, or genesis. */
function previousHeadOf(dir: string, caHome: string): { previousHead: string | null; chainedTo: string } {
  const folders = ceremonyFolders(caHome);
  const i = folders.indexOf(dir);
  if (i <= 0) return { previousHead: GENESIS_PREV, chainedTo: 'genesis' };
  const prev = folders[i - 1]!;
  try {
    const v = verifyTranscriptFile(join(prev, CEREMONY_FILES.transcript), { minWitnesses: 0 });
    return { previousHead: v.intact && v.head !== undefined ? v.head : null, chainedTo: basename(prev) };
  } catch {
    return { previousHead: null, chainedTo: basename(prev) };
  }
}

/** How many co-signers the script's `close` step asks for (what a completed transcript must carry). */
function coSignersOf(dir: string): number {
  try {
    const last = ceremonyPlanOf(dir).plan.script.steps.at(-1);
    const n = (last?.params as { 'co-signers'?: unknown } | undefined)?.['co-signers'];
    return typeof n === 'number' ? n : 1;
  } catch {
    return 1;
  }
}

/** Verifies the transcript of the ceremony in `dir`: chain, link to the previous ceremony, closing signatures. */
export function transcriptCheck(dir: string, caHome: string, status: CeremonyStatusView['status']): { check: ReturnType<typeof checkShape>; verification: TranscriptVerification } {
  const path = join(dir, CEREMONY_FILES.transcript);
  const { previousHead, chainedTo } = previousHeadOf(dir, caHome);
  const verification = verifyTranscriptFile(path, { ...(previousHead === null ? {} : { previousHead }), minWitnesses: status === 'completed' ? coSignersOf(dir) : 0 });
  return { check: checkShape(path, verification, chainedTo, previousHead), verification };
}

function checkShape(path: string, v: TranscriptVerification, chainedTo: string, expectedPrevious: string | null) {
  return {
    path,
    ok: v.ok,
    intact: v.intact,
    closed: v.closed,
    records: v.records.length,
    lines: v.lines,
    head: v.head ?? null,
    previousHead: v.previousHead ?? null,
    chainedTo,
    chainOk: expectedPrevious !== null && v.intact && v.previousHead === expectedPrevious,
    fileSha256: v.fileSha256,
    signers: v.signers.map((s) => ({ kind: s.kind, name: s.name, role: s.role, ok: s.signatureValid && s.pinned !== false, fingerprint: s.spkiSha256 ?? null, problem: s.problem ?? null })),
    problem: v.problem === undefined ? null : { code: v.problem.code, message: v.problem.message },
    warnings: [...v.warnings],
    rehearsal: v.rehearsal === true,
  };
}

/** SHA-256 (hex) of the DER of the first certificate in a PEM file, or undefined. */
function certificateSha256(pem: string): string | undefined {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/u.exec(pem);
  if (m === null) return undefined;
  return createHash('sha256').update(Buffer.from(m[1]!.replace(/\s+/gu, ''), 'base64')).digest('hex');
}

/**
 * Bundles and certificates among a ceremony's outputs. A bundle an `export-bundle` step made is
 * `written` (to carry across the air gap); any other (the copy an `import-bundle` step keeps with
 * the record) is `received`.
 */
export function artefactsOf(v: CeremonyStatusView): { bundles: Array<{ name: string; path: string; sha256: string; size: number; step: string; direction: 'written' | 'received' }>; certificates: Array<{ name: string; path: string; sha256: string; step: string }> } {
  const exporting = new Set(v.steps.filter((s) => s.action === 'export-bundle').map((s) => s.id));
  const bundles = v.outputs
    .filter((o) => o.name.endsWith('.neambundle'))
    .map((o) => ({ name: o.name, path: join(v.dir, o.name), sha256: o.sha256, size: o.size, step: o.step, direction: exporting.has(o.step) ? ('written' as const) : ('received' as const) }));
  const certificates: Array<{ name: string; path: string; sha256: string; step: string }> = [];
  for (const o of v.outputs) {
    if (!o.name.endsWith('.pem') || o.size > 64 * 1024) continue;
    try {
      const sha = certificateSha256(readFileSync(join(v.dir, o.name), 'utf8'));
      if (sha !== undefined) certificates.push({ name: o.name, path: join(v.dir, o.name), sha256: sha, step: o.step });
    } catch {
      // an output that vanished is reported by the record's own checks
    }
  }
  return { bundles, certificates };
}

/** A report file already written, with its digest. */
export function writtenFile(path: string, existed: boolean): { path: string; sha256: string; bytes: number; existed: boolean } | null {
  if (!existsSync(path)) return null;
  const bytes = readFileSync(path);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, existed };
}

/**
 * Writes the printable report (`transcript.html`, and `transcript.pdf` through headless Chromium)
 * into the ceremony folder; files already there are kept and reported as such.
 * @throws {CoreError} ERR_NOT_FOUND (no Chromium), ERR_IO, and the transcript's reading errors
 */
export async function saveReport(dir: string, verification: TranscriptVerification, software: string, now: Date): Promise<{ html: NonNullable<ReturnType<typeof writtenFile>>; pdf: NonNullable<ReturnType<typeof writtenFile>> }> {
  const htmlPath = join(dir, 'transcript.html');
  const pdfPath = join(dir, 'transcript.pdf');
  const html = renderReport(verification, { generatedAt: now, source: join(dir, CEREMONY_FILES.transcript), generator: software });
  const htmlExisted = existsSync(htmlPath);
  if (!htmlExisted) writeFileExclusive(htmlPath, html, 0o644);
  const pdfExisted = existsSync(pdfPath);
  if (!pdfExisted) await printReportPdf(readFileSync(htmlPath, 'utf8'), pdfPath);
  const h = writtenFile(htmlPath, htmlExisted);
  const p = writtenFile(pdfPath, pdfExisted);
  if (h === null || p === null) throw new CoreError('ERR_IO', `the report files were not found in ${dir} after writing them`);
  return { html: h, pdf: p };
}
