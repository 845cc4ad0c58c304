import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GENESIS_PREV, verifyTranscript } from '../../../core/transcript/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { joinLines, linesOf, transferKeyOnSoftHsm, witnessKey, writeClosedTranscript, type TransferHsm } from './fixtures.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let hsm: TransferHsm;
let first: string;
let second: string;
let transferFp: string;
const dir = tempDir('neam-transcript-cli-');

beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
  transferFp = createHash('sha256').update(hsm.signer.spki).digest('hex');
  first = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer], { name: 'root.jsonl' }).path;
  const head = verifyTranscript(readFileSync(first)).head as string;
  second = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer], { name: 'intermediate.jsonl', ceremony: 'intermediate-2027-01', previous: { head } }).path;
});
afterAll(() => {
  hsm.hsm.close();
  dir.cleanup();
});

describe('neam-ca transcript verify', () => {
  it('has help', () => {
    for (const c of ['verify', 'report']) {
      const r = cli(['transcript', c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: neam-ca transcript ${c}`);
    }
  });

  it('verifies a transcript and prints its head, link and signers (exit 0)', () => {
    const r = cli(['transcript', 'verify', first, '--genesis', '--pin-transfer', transferFp]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('OK  ');
    expect(r.stdout).toContain('genesis (the first ceremony of this CA)');
    expect(r.stdout).toContain(`transfer key 'offline transfer key' (system) SHA-256(SPKI) ${transferFp} [pinned]`);
    expect(r.stdout).toContain(`head:       ${verifyTranscript(readFileSync(first)).head as string}`);
  });

  it('verifies a CA history in order and refuses it out of order', () => {
    const ok = cli(['transcript', 'verify', first, second, '--genesis', '--json']);
    expect(ok.code, ok.stdout).toBe(0);
    const value = (JSON.parse(ok.stdout) as { value: { transcripts: Array<{ ok: boolean; previousHead: string; head: string }> } }).value.transcripts;
    expect(value.map((t) => t.ok)).toEqual([true, true]);
    expect(value[0]?.previousHead).toBe(GENESIS_PREV);
    expect(value[1]?.previousHead).toBe(value[0]?.head);
    const wrong = cli(['transcript', 'verify', second, first]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[ERR_TRANSCRIPT_CHAIN_BROKEN]');
  });

  it('names the tampered record and exits 1', () => {
    const lines = linesOf(readFileSync(first));
    const swapped = join(dir.dir, 'swapped.jsonl');
    [lines[6], lines[7]] = [lines[7] as string, lines[6] as string];
    writeFileSync(swapped, joinLines(lines));
    const r = cli(['transcript', 'verify', swapped]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_TRANSCRIPT_RECORD_REORDERED]');
    expect(r.stderr).toContain('line 7 holds record 8, but record 7 (found at line 8) must come first');
    const j = JSON.parse(cli(['transcript', 'verify', swapped, '--json']).stdout) as { ok: boolean; error: { code: string; details: { record: number; line: number } } };
    expect(j).toMatchObject({ ok: false, error: { code: 'ERR_TRANSCRIPT_RECORD_REORDERED', details: { record: 7, line: 7 } } });
  });

  it('fails on a key other than the pinned one', () => {
    const r = cli(['transcript', 'verify', first, '--pin-transfer', 'ab'.repeat(32)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_TRANSCRIPT_SIGNER_NOT_PINNED]');
  });

  it('an unclosed transcript fails unless --allow-unclosed', () => {
    const open = join(dir.dir, 'open.jsonl');
    writeFileSync(open, joinLines(linesOf(readFileSync(first)).slice(0, 9)));
    const r = cli(['transcript', 'verify', open]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_TRANSCRIPT_NOT_CLOSED]');
    const allowed = cli(['transcript', 'verify', open, '--allow-unclosed']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('INTACT, NOT CLOSED');
  });

  const usage: Array<{ name: string; args: string[] }> = [
    { name: 'no path', args: ['transcript', 'verify'] },
    { name: '--pin-transfer', args: ['transcript', 'verify', 'x.jsonl', '--pin-transfer', 'nothex'] },
    { name: '--previous-head', args: ['transcript', 'verify', 'x.jsonl', '--previous-head', '1234'] },
    { name: '--genesis with --previous-head', args: ['transcript', 'verify', 'x.jsonl', '--genesis', '--previous-head', 'ab'.repeat(32)] },
    { name: '--min-witnesses', args: ['transcript', 'verify', 'x.jsonl', '--min-witnesses', '-1'] },
    { name: 'report without --out', args: ['transcript', 'report', 'x.jsonl'] },
  ];
  for (const u of usage) {
    it(`a bad ${u.name} is a usage error (exit 2)`, () => {
      const r = cli(u.args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('[ERR_USAGE]');
    });
  }

  it('a missing file is ERR_NOT_FOUND', () => {
    const r = cli(['transcript', 'verify', join(dir.dir, 'none.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_NOT_FOUND]');
  });
});

describe('neam-ca transcript report', () => {
  it('writes the HTML and PDF reports and never overwrites them', () => {
    const html = join(dir.dir, 'root.html');
    const pdf = join(dir.dir, 'root.pdf');
    const r = cli(['transcript', 'report', first, '--out', html, '--pdf', pdf]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('VERIFIED');
    expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const again = cli(['transcript', 'report', first, '--out', html]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[ERR_ALREADY_EXISTS]');
  });

  it('writes nothing when the PDF cannot be printed (no Chromium)', () => {
    const html = join(dir.dir, 'nopdf.html');
    const r = spawnSync(process.execPath, [BIN, 'transcript', 'report', first, '--out', html, '--pdf', join(dir.dir, 'nopdf.pdf')], { encoding: 'utf8', env: { ...process.env, NEAM_CA_CHROMIUM: '/nonexistent/chromium' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[ERR_NOT_FOUND]');
    expect(existsSync(html)).toBe(false);
    expect(existsSync(join(dir.dir, 'nopdf.pdf'))).toBe(false);
  });

  it('for a tampered transcript still writes the report (showing the failure) and exits 1', () => {
    const lines = linesOf(readFileSync(first));
    const deleted = join(dir.dir, 'deleted.jsonl');
    writeFileSync(deleted, joinLines(lines.filter((_, i) => i !== 4)));
    const html = join(dir.dir, 'deleted.html');
    const r = cli(['transcript', 'report', deleted, '--out', html]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[ERR_TRANSCRIPT_RECORD_MISSING]');
    expect(existsSync(html)).toBe(true);
    expect(readFileSync(html, 'utf8')).toContain('VERIFICATION FAILED');
  });
});
