/**
 * Child process for the writer's crash and full-disk tests (run with `node --import tsx`).
 *   loop PATH       create a transcript and append records until killed (prints "ready N" lines)
 *   fill DIR        on a small tmpfs at DIR: fill the disk, append until it fails, report as JSON
 */
import { writeFileSync, rmSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { isCoreError } from '../../../core/errors.ts';
import { createTranscript, verifyTranscript } from '../../../core/transcript/index.ts';

const [mode, target] = process.argv.slice(2);
if (mode === 'loop' && target !== undefined) {
  const w = createTranscript(target, { ceremony: 'crash-test', rehearsal: true, previous: null, actor: 'Alice Admin', role: 'administrator' });
  for (let i = 0; ; i++) {
    w.append({ actor: 'Alice Admin', role: 'administrator', type: 'step.progress', data: { i, pad: 'p'.repeat(200) } });
    if (i % 20 === 0) process.stdout.write(`ready ${w.seq}\n`);
  }
} else if (mode === 'fill' && target !== undefined) {
  const path = join(target, 'transcript.jsonl');
  const w = createTranscript(path, { ceremony: 'full-disk', rehearsal: true, previous: null, actor: 'Alice Admin', role: 'administrator' });
  // Leave a little room, then append records larger than what is left.
  const pad = join(target, 'pad');
  let size = 64 * 1024;
  for (;;) {
    try {
      writeFileSync(pad, Buffer.alloc(size));
      break;
    } catch {
      size -= 4096;
    }
  }
  let failure: string | undefined;
  let appended = 0;
  for (let i = 0; i < 100 && failure === undefined; i++) {
    try {
      w.append({ actor: 'Alice Admin', role: 'administrator', type: 'step.progress', data: { i, pad: 'q'.repeat(3000) } });
      appended++;
    } catch (e) {
      failure = isCoreError(e) ? e.code : String(e);
    }
  }
  const afterFailure = verifyTranscript(readFileSync(path));
  const sizeAfterFailure = statSync(path).size;
  const writerSize = w.size;
  rmSync(pad);
  let appendAfterSpace: string = 'ok';
  try {
    w.append({ actor: 'Alice Admin', role: 'administrator', type: 'step.progress', data: { after: 'space freed' } });
  } catch (e) {
    appendAfterSpace = isCoreError(e) ? e.code : String(e);
  }
  const final = verifyTranscript(readFileSync(path));
  process.stdout.write(
    `${JSON.stringify({ failure, appended, afterFailure: { code: afterFailure.problem?.code, intact: afterFailure.intact, records: afterFailure.records.length, torn: afterFailure.tornTail ?? null }, sizeAfterFailure, writerSize, appendAfterSpace, final: { code: final.problem?.code, intact: final.intact, records: final.records.length } })}\n`,
  );
} else {
  process.stderr.write('usage: child-writer loop PATH | fill DIR\n');
  process.exitCode = 2;
}
