/**
 * @module cli/commands/transcript
 * `neam-ca transcript verify PATH…` checks one transcript, or a CA's whole history in order (each
 * transcript's first record must link to the previous one's head), naming the first record that
 * was changed, removed, inserted or reordered, and checking the closing signatures against pinned
 * fingerprints. `neam-ca transcript report PATH --out FILE.html [--pdf FILE.pdf]` writes the
 * printable record (and a PDF of it through headless Chromium).
 *
 * Must never: report success for a transcript that did not verify, or overwrite an output file.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import {
  GENESIS_PREV,
  normalizeFingerprint,
  printReportPdf,
  readTranscriptFile,
  renderReport,
  verifyTranscript,
  type SignerPins,
  type TranscriptVerification,
  type VerifyOptions,
} from '../../transcript/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';

const VERIFY_OPTIONS: Record<string, OptionSpec> = {
  'previous-head': { type: 'string', valueName: 'HEX', description: "the head of the previous ceremony's transcript that record 1 must link to" },
  genesis: { type: 'boolean', description: 'record 1 must be the first of the CA (link to the genesis value)' },
  'pin-transfer': { type: 'string', multiple: true, valueName: 'FP', description: 'SHA-256 fingerprint (of the SPKI or certificate) the transfer key must match' },
  'pin-witness': { type: 'string', multiple: true, valueName: 'FP', description: 'SHA-256 fingerprint every witness key must match one of' },
  'min-witnesses': { type: 'string', valueName: 'N', description: 'fewest witness co-signatures accepted (default 1)' },
  'allow-unclosed': { type: 'boolean', description: 'accept an intact transcript without a closing record (a ceremony in progress)' },
};

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

function verifyOptionsFrom(ctx: CommandContext): { options: VerifyOptions; allowUnclosed: boolean } {
  const options: VerifyOptions = {};
  const prevHead = ctx.values['previous-head'];
  if (typeof prevHead === 'string' && ctx.values['genesis'] === true) throw new CoreError('ERR_USAGE', 'give --previous-head or --genesis, not both');
  if (typeof prevHead === 'string') {
    try {
      options.previousHead = normalizeFingerprint(prevHead);
    } catch {
      throw new CoreError('ERR_USAGE', '--previous-head must be 64 hexadecimal digits (the previous transcript\'s head, as `transcript verify` prints it)');
    }
  }
  if (ctx.values['genesis'] === true) options.previousHead = GENESIS_PREV;
  const pins: { transfer?: string[]; witnesses?: string[] } = {};
  for (const [opt, key] of [
    ['pin-transfer', 'transfer'],
    ['pin-witness', 'witnesses'],
  ] as const) {
    const given = strings(ctx.values[opt]);
    if (given.length === 0) continue;
    try {
      pins[key] = given.map(normalizeFingerprint);
    } catch (e) {
      throw new CoreError('ERR_USAGE', `--${opt}: ${e instanceof Error ? e.message : 'not a fingerprint'}`);
    }
  }
  if (pins.transfer !== undefined || pins.witnesses !== undefined) options.pins = pins as SignerPins;
  const mw = ctx.values['min-witnesses'];
  if (typeof mw === 'string') {
    if (!/^\d{1,2}$/u.test(mw)) throw new CoreError('ERR_USAGE', '--min-witnesses must be a whole number (0-99)');
    options.minWitnesses = Number(mw);
  }
  return { options, allowUnclosed: ctx.values['allow-unclosed'] === true };
}

function accepted(v: TranscriptVerification, allowUnclosed: boolean): boolean {
  return v.ok || (allowUnclosed && v.intact && !v.closed && v.problem?.code === 'ERR_TRANSCRIPT_NOT_CLOSED');
}

function describe(path: string, v: TranscriptVerification): string {
  const first = v.records[0];
  const last = v.records[v.records.length - 1];
  const state = v.ok ? 'OK' : v.intact && !v.closed ? 'INTACT, NOT CLOSED' : 'FAILED';
  const lines = [
    `${state}  ${path}`,
    `  ceremony:   ${v.ceremony ?? '?'}${v.rehearsal === true ? ' (REHEARSAL)' : ''}, records 1-${v.records.length}${first === undefined ? '' : `, opened ${first.time}`}${v.closed && last !== undefined ? `, closed ${last.time} (${String(last.data['outcome'] ?? '?')})` : ''}`,
    `  links to:   ${v.previousHead === GENESIS_PREV ? 'genesis (the first ceremony of this CA)' : (v.previousHead ?? '?')}`,
    `  head:       ${v.head ?? '-'}`,
    `  file:       SHA-256 ${v.fileSha256}`,
  ];
  for (const s of v.signers) {
    lines.push(`  signed by:  ${s.kind === 'transfer' ? 'transfer key' : 'witness'} '${s.name}' (${s.role}) SHA-256(SPKI) ${s.spkiSha256}${s.signatureValid ? '' : ' INVALID'}${s.pinned === true ? ' [pinned]' : s.pinned === false ? ' [NOT PINNED]' : ''}`);
  }
  if (v.closed && v.signers.every((s) => s.pinned === undefined)) lines.push('  note:       no fingerprints pinned; compare the signers above with the fingerprints read aloud at the ceremony (--pin-transfer, --pin-witness)');
  for (const w of v.warnings) lines.push(`  warning:    ${w}`);
  return lines.join('\n');
}

function jsonOf(path: string, v: TranscriptVerification): Record<string, unknown> {
  return {
    path,
    ok: v.ok,
    intact: v.intact,
    closed: v.closed,
    ceremony: v.ceremony ?? null,
    rehearsal: v.rehearsal ?? null,
    records: v.records.length,
    previousHead: v.previousHead ?? null,
    head: v.head ?? null,
    fileSha256: v.fileSha256,
    signers: v.signers,
    warnings: v.warnings,
    problem: v.problem === undefined ? null : v.problem.toJSON(),
  };
}

const verify: Command = {
  path: ['transcript', 'verify'],
  summary: 'verify a ceremony transcript (or a CA history of transcripts, oldest first)',
  usage: 'PATH... [--genesis | --previous-head HEX] [--pin-transfer FP]... [--pin-witness FP]... [--min-witnesses N] [--allow-unclosed]',
  description:
    "Checks every record's hash chain, names the first record that was changed, removed, inserted or reordered (ERR_TRANSCRIPT_RECORD_CHANGED, _MISSING, _INSERTED, _REORDERED), and verifies the closing record's signatures by the transfer key and the witnesses (ERR_TRANSCRIPT_SIGNATURE_INVALID; ERR_TRANSCRIPT_SIGNER_NOT_PINNED when a key differs from a pinned fingerprint). With several paths, each transcript's first record must link to the previous one's head (ERR_TRANSCRIPT_CHAIN_BROKEN). An intact transcript without a closing record fails with ERR_TRANSCRIPT_NOT_CLOSED unless --allow-unclosed.",
  options: VERIFY_OPTIONS,
  positionals: { names: ['PATH...'], min: 1, max: 64 },
  run(ctx) {
    const { options, allowUnclosed } = verifyOptionsFrom(ctx);
    const results: Array<Record<string, unknown>> = [];
    let previousHead = options.previousHead;
    for (const [i, arg] of ctx.positionals.entries()) {
      const path = resolve(ctx.cwd, arg);
      const v = verifyTranscript(readTranscriptFile(path), { ...options, source: arg, ...(previousHead === undefined ? {} : { previousHead }) });
      if (!accepted(v, allowUnclosed && i === ctx.positionals.length - 1)) {
        if (!ctx.json) ctx.out.status(describe(arg, v));
        throw v.problem ?? new CoreError('ERR_TRANSCRIPT_INVALID', `${arg} does not verify`);
      }
      results.push(jsonOf(arg, v));
      if (!ctx.json) ctx.out.text(describe(arg, v));
      previousHead = v.head;
    }
    ctx.out.result({ transcripts: results });
    return Promise.resolve();
  },
};

function generator(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `neam-ca ${pkg.version ?? ''}`.trim();
  } catch {
    return 'neam-ca';
  }
}

const report: Command = {
  path: ['transcript', 'report'],
  summary: 'write the printable record of a transcript (HTML, and PDF through headless Chromium)',
  usage: 'PATH --out FILE.html [--pdf FILE.pdf] [verify options]',
  description:
    'Verifies the transcript, then writes a self-contained HTML report (participants and roles, steps with times and sign-offs, every fingerprint grouped for reading aloud, certificates, closing signatures, the full record log, lines for wet signatures). With --pdf, headless Chromium (/usr/bin/chromium or $NEAM_CA_CHROMIUM) prints it to PDF. Outputs are never overwritten. The report is written even when verification fails (it shows the failure); the command then exits 1 with the verification error.',
  options: {
    out: { type: 'string', valueName: 'FILE.html', description: 'the HTML report to write (must not exist)' },
    pdf: { type: 'string', valueName: 'FILE.pdf', description: 'also print it to this PDF (must not exist)' },
    ...VERIFY_OPTIONS,
  },
  positionals: { names: ['PATH'], min: 1, max: 1 },
  async run(ctx) {
    const outArg = ctx.values['out'];
    if (typeof outArg !== 'string') throw new CoreError('ERR_USAGE', '--out FILE.html is required');
    const pdfArg = ctx.values['pdf'];
    const { options, allowUnclosed } = verifyOptionsFrom(ctx);
    const arg = ctx.positionals[0] as string;
    const path = resolve(ctx.cwd, arg);
    const v = verifyTranscript(readTranscriptFile(path), { ...options, source: arg });
    const html = renderReport(v, {
      generatedAt: new Date(),
      source: basename(path),
      generator: generator(),
      ...(options.pins === undefined ? {} : { pinned: options.pins }),
    });
    const out = resolve(ctx.cwd, outArg);
    const pdfPath = typeof pdfArg === 'string' ? resolve(ctx.cwd, pdfArg) : undefined;
    for (const p of [out, pdfPath]) {
      if (p !== undefined && existsSync(p)) throw new CoreError('ERR_ALREADY_EXISTS', `${p} already exists; reports are never overwritten. Move it away or choose another file`, { details: { path: p } });
    }
    writeFileExclusive(out, html, 0o644);
    let pdf: { path: string; bytes: number } | undefined;
    if (pdfPath !== undefined) {
      try {
        const printed = await printReportPdf(html, pdfPath, { env: ctx.env });
        pdf = { path: pdfPath, bytes: printed.bytes };
      } catch (e) {
        // All or nothing: without the PDF that was asked for, the HTML written above goes too.
        rmSync(out, { force: true });
        throw e;
      }
    }
    const ok = accepted(v, allowUnclosed);
    if (!ok) {
      ctx.out.status(`Report written to ${out}${pdf === undefined ? '' : ` and ${pdf.path}`}; it shows the verification failure.`);
      throw v.problem ?? new CoreError('ERR_TRANSCRIPT_INVALID', `${arg} does not verify`);
    }
    ctx.out.result({ html: out, pdf: pdf?.path ?? null, verification: jsonOf(arg, v) }, () => `${describe(arg, v)}\nReport: ${out}${pdf === undefined ? '' : `\nPDF:    ${pdf.path} (${pdf.bytes} bytes)`}`);
  },
};

/** `neam-ca transcript …` commands. */
export const TRANSCRIPT_COMMANDS: Command[] = [verify, report];
