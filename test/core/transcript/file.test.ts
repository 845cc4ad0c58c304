import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { GENESIS_PREV, MAX_TRANSCRIPT_BYTES, readTranscriptFile, transcriptHead, verifyTranscript, verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { joinLines, linesOf, transferKeyOnSoftHsm, witnessKey, writeClosedTranscript, type TransferHsm } from './fixtures.ts';

let hsm: TransferHsm;
let path: string;
const dir = tempDir('neam-transcript-file-');
beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
  path = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer]).path;
});
afterAll(() => {
  hsm.hsm.close();
  dir.cleanup();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isCoreError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('readTranscriptFile', () => {
  const cases: Array<{ name: string; make: () => string; code: string }> = [
    { name: 'missing file', make: () => join(dir.dir, 'none.jsonl'), code: 'ERR_NOT_FOUND' },
    { name: 'directory', make: () => (mkdirSync(join(dir.dir, 'd.jsonl'), { recursive: true }), join(dir.dir, 'd.jsonl')), code: 'ERR_TRANSCRIPT_INVALID' },
    { name: 'symlink', make: () => (symlinkSync(path, join(dir.dir, 'l.jsonl')), join(dir.dir, 'l.jsonl')), code: 'ERR_TRANSCRIPT_INVALID' },
    {
      name: 'FIFO (would block a naive reader)',
      make: () => {
        const p = join(dir.dir, 'f.jsonl');
        expect(spawnSync('mkfifo', [p]).status).toBe(0);
        return p;
      },
      code: 'ERR_TRANSCRIPT_INVALID',
    },
    {
      name: 'over 64 MiB (sparse; refused before reading)',
      make: () => {
        const p = join(dir.dir, 'big.jsonl');
        writeFileSync(p, '');
        truncateSync(p, MAX_TRANSCRIPT_BYTES + 1);
        return p;
      },
      code: 'ERR_INPUT_TOO_LARGE',
    },
  ];
  for (const c of cases) {
    it(`refuses a ${c.name}`, () => {
      expect(codeOf(() => readTranscriptFile(c.make()))).toBe(c.code);
    });
  }

  it('reads a transcript and verifyTranscriptFile names the file in messages', () => {
    expect(readTranscriptFile(path).equals(readFileSync(path))).toBe(true);
    const broken = join(dir.dir, 'broken.jsonl');
    writeFileSync(broken, joinLines(linesOf(readFileSync(path)).filter((_, i) => i !== 3)));
    const v = verifyTranscriptFile(broken);
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_MISSING');
    expect(v.problem?.message.startsWith(`${broken}: record 4 is missing`)).toBe(true);
  });
});

describe('transcriptHead', () => {
  it('gives the head, ceremony and record count of a closed, verified transcript', () => {
    const v = verifyTranscript(readFileSync(path));
    expect(transcriptHead(path, { previousHead: GENESIS_PREV })).toEqual({ head: v.head, ceremony: 'root-2026-12-01', records: v.records.length });
  });

  it('refuses an unclosed or tampered transcript', () => {
    const open = join(dir.dir, 'open.jsonl');
    writeFileSync(open, joinLines(linesOf(readFileSync(path)).slice(0, 5)));
    expect(codeOf(() => transcriptHead(open))).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    const lines = linesOf(readFileSync(path));
    [lines[2], lines[3]] = [lines[3] as string, lines[2] as string];
    const swapped = join(dir.dir, 'swapped.jsonl');
    writeFileSync(swapped, joinLines(lines));
    expect(codeOf(() => transcriptHead(swapped))).toBe('ERR_TRANSCRIPT_RECORD_REORDERED');
  });
});
