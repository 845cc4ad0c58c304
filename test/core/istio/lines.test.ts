import { describe, expect, it } from 'vitest';

import { readLines, type Line } from '../../../core/istio/lines.ts';

async function all(chunks: Array<string | Buffer>, max = 64): Promise<Line[]> {
  const out: Line[] = [];
  async function* src(): AsyncGenerator<Buffer> {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  for await (const l of readLines(src(), max)) out.push(l);
  return out;
}

describe('readLines (bounded line splitter)', () => {
  it('splits LF and CRLF lines across chunk boundaries, with or without a final newline', async () => {
    const lines = await all(['ab', 'c\r\nde', 'f\n\ng', 'h']);
    expect(lines.map((l) => l.text)).toEqual(['abc', 'def', '', 'gh']);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4]);
  });
  it('decodes a multi-byte character split between chunks', async () => {
    const b = Buffer.from('é\n');
    expect((await all([b.subarray(0, 1), b.subarray(1)])).map((l) => l.text)).toEqual(['é']);
  });
  it('reports an over-long line without buffering it, and keeps counting lines after it', async () => {
    const huge = 'x'.repeat(10_000);
    const lines = await all(['ok\n', huge.slice(0, 5000), huge.slice(5000), '\nnext\n', 'y'.repeat(65), '\nz'], 64);
    expect(lines.map((l) => (l.tooLong === true ? `TOO LONG ${l.bytes}` : l.text))).toEqual(['ok', 'TOO LONG 10000', 'next', 'TOO LONG 65', 'z']);
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3, 4, 5]);
  });
  it('keeps memory bounded for a 64 MiB line without a newline', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    async function* src(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 64; i++) yield chunk;
    }
    const before = process.memoryUsage().arrayBuffers;
    let got: Line | undefined;
    for await (const l of readLines(src(), 4096)) got = l;
    expect(got).toMatchObject({ tooLong: true, bytes: 64 * 1024 * 1024 });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});
