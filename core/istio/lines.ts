/**
 * @module istio/lines
 * Splits a byte stream into lines with a hard cap on line length. `readline` would buffer a line
 * of any size (a hostile or broken 4 GB "line" would exhaust memory); here a line longer than the
 * cap is reported as over-long and its bytes are dropped as they arrive, so memory stays bounded
 * by the cap whatever the input.
 *
 * Must never: hold more than `maxLineBytes` plus one chunk of input, or lose a line boundary.
 */

/** One line: its 1-based number and text, or `tooLong` when it exceeded the cap. */
export type Line = { n: number; text: string; tooLong?: false } | { n: number; text: ''; tooLong: true; bytes: number };

/**
 * Yields the lines of `source` (UTF-8; `\n` or `\r\n`) in batches, one batch per input chunk (so a
 * consumer pays the async-iteration cost per chunk, not per line). The last line need not end in a
 * newline.
 */
export async function* readLineBatches(source: AsyncIterable<Buffer | Uint8Array | string>, maxLineBytes: number): AsyncGenerator<Line[]> {
  let n = 0;
  let parts: Buffer[] = [];
  let partLen = 0;
  let overflow = 0; // > 0 while dropping an over-long line
  const emit = (tail: Buffer): Line => {
    n++;
    if (overflow > 0) {
      const bytes = overflow + tail.length;
      overflow = 0;
      parts = [];
      partLen = 0;
      return { n, text: '', tooLong: true, bytes };
    }
    let buf = partLen === 0 ? tail : Buffer.concat([...parts, tail], partLen + tail.length);
    parts = [];
    partLen = 0;
    if (buf.length > 0 && buf[buf.length - 1] === 13) buf = buf.subarray(0, buf.length - 1);
    if (buf.length > maxLineBytes) return { n, text: '', tooLong: true, bytes: buf.length };
    return { n, text: buf.toString('utf8') };
  };
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const batch: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      batch.push(emit(chunk.subarray(start, nl)));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (overflow > 0) overflow += rest.length;
      else if (partLen + rest.length > maxLineBytes + 1) {
        overflow = partLen + rest.length;
        parts = [];
        partLen = 0;
      } else {
        // Copy: the caller may reuse the chunk's memory.
        parts.push(Buffer.from(rest));
        partLen += rest.length;
      }
    }
    if (batch.length > 0) yield batch;
  }
  if (partLen > 0 || overflow > 0) yield [emit(Buffer.alloc(0))];
}

/** Yields the lines of `source` one by one (see {@link readLineBatches}). */
export async function* readLines(source: AsyncIterable<Buffer | Uint8Array | string>, maxLineBytes: number): AsyncGenerator<Line> {
  for await (const batch of readLineBatches(source, maxLineBytes)) yield* batch;
}
