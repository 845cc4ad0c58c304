import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canonicalJson } from '../../../core/util/canonical-json.ts';
import { GENESIS_PREV, MAX_RECORD_BYTES, MAX_TRANSCRIPT_BYTES, recordHash, verifyTranscript, type TranscriptRecord } from '../../../core/transcript/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { joinLines, linesOf, transferKeyOnSoftHsm, witnessKey, writeClosedTranscript, type TransferHsm } from './fixtures.ts';

// One closed, signed transcript (transfer key in SoftHSM, two software witness keys) shared by
// every tampering case below; each case changes a copy of its bytes.
let hsm: TransferHsm;
let bytes: Buffer;
let lines: string[];
const dir = tempDir('neam-transcript-');

beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
  bytes = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer, witnessKey().signer]).bytes;
  lines = linesOf(bytes);
});
afterAll(() => {
  hsm.hsm.close();
  dir.cleanup();
});

function detail(v: ReturnType<typeof verifyTranscript>): { record?: number; line?: number } {
  return (v.problem?.details ?? {}) as { record?: number; line?: number };
}

describe('verifyTranscript on an untouched transcript', () => {
  it('verifies: chain intact, closed, three signatures valid, genesis link', () => {
    const v = verifyTranscript(bytes, { previousHead: GENESIS_PREV });
    expect(v.problem?.message).toBeUndefined();
    expect(v).toMatchObject({ ok: true, intact: true, closed: true, ceremony: 'root-2026-12-01', rehearsal: true, previousHead: GENESIS_PREV });
    expect(v.records).toHaveLength(lines.length);
    expect(v.records.map((r) => r.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(v.signers.map((s) => [s.kind, s.signatureValid])).toEqual([
      ['transfer', true],
      ['witness', true],
      ['witness', true],
    ]);
    expect(v.head).toBe(recordHash(v.records[v.records.length - 1] as TranscriptRecord));
    expect(v.unverified).toEqual([]);
  });

  it('every line is the canonical JSON of its record and every prev is the SHA-256 of the line before', () => {
    for (const [i, line] of lines.entries()) {
      const r = JSON.parse(line) as TranscriptRecord;
      expect(canonicalJson(r)).toBe(line);
      if (i > 0) expect(r.prev).toBe(recordHash(JSON.parse(lines[i - 1] as string) as TranscriptRecord));
    }
  });
});

describe('verifyTranscript names the tampered record', () => {
  it('flipping any single bit of any byte (every offset) fails and names the record on that line', () => {
    const lineAt: number[] = [];
    let line = 1;
    for (const b of bytes) {
      lineAt.push(line);
      if (b === 0x0a) line++;
    }
    const misnamed: string[] = [];
    for (let off = 0; off < bytes.length; off++) {
      const copy = Buffer.from(bytes);
      copy[off] = (copy[off] as number) ^ 0x01;
      const v = verifyTranscript(copy);
      expect(v.ok, `offset ${off}`).toBe(false);
      const d = detail(v);
      if (d.record !== lineAt[off] || !['ERR_TRANSCRIPT_RECORD_CHANGED', 'ERR_TRANSCRIPT_SIGNATURE_INVALID'].includes(v.problem?.code ?? '')) misnamed.push(`offset ${off}: ${v.problem?.code} ${v.problem?.message}`);
    }
    expect(misnamed).toEqual([]);
  });

  it('flipping a byte in a record body names that record as changed', () => {
    const copy = [...lines];
    copy[6] = (copy[6] as string).replace('"name":"Walter Witness"', '"name":"Walter Witnesz"');
    expect(copy[6]).not.toBe(lines[6]);
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: 7, line: 7 });
    expect(v.problem?.message).toContain('record 7 (line 7) was changed');
    expect(v.records).toHaveLength(6);
    expect(v.unverified[0]?.line).toBe(7);
  });

  it('a change to the closing record body breaks all its signatures and is named as a change', () => {
    const copy = [...lines];
    copy[copy.length - 1] = (copy[copy.length - 1] as string).replace('"outcome":"completed"', '"outcome":"completes"');
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: lines.length });
    expect(v.problem?.message).toContain('none of its 3 signatures verify');
  });

  for (let k = 0; k < 19; k++) {
    it(`deleting line ${k + 1} names record ${k + 1} as missing`, () => {
      const v = verifyTranscript(joinLines(lines.filter((_, i) => i !== k)));
      expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_MISSING');
      expect(detail(v)).toMatchObject({ record: k + 1, line: k + 1, count: 1 });
      expect(v.problem?.message).toContain(`record ${k + 1} is missing`);
    });
  }

  it('deleting two consecutive lines names both', () => {
    const v = verifyTranscript(joinLines(lines.filter((_, i) => i !== 4 && i !== 5)));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_MISSING');
    expect(v.problem?.message).toContain('records 5-6 are missing');
  });

  it('deleting the closing line leaves an intact but unclosed transcript (the end cannot be told from a crash)', () => {
    const v = verifyTranscript(joinLines(lines.slice(0, -1)));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    expect(v).toMatchObject({ ok: false, intact: true, closed: false });
    expect(v.records).toHaveLength(lines.length - 1);
  });

  for (let k = 0; k + 1 < 20; k++) {
    it(`swapping lines ${k + 1} and ${k + 2} names record ${k + 1} as reordered`, () => {
      const copy = [...lines];
      [copy[k], copy[k + 1]] = [copy[k + 1] as string, copy[k] as string];
      const v = verifyTranscript(joinLines(copy));
      expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_REORDERED');
      expect(detail(v)).toMatchObject({ record: k + 1, line: k + 1, foundSeq: k + 2 });
    });
  }

  it('swapping distant lines names the first out of place', () => {
    const copy = [...lines];
    [copy[3], copy[12]] = [copy[12] as string, copy[3] as string];
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_REORDERED');
    expect(detail(v)).toMatchObject({ record: 4, line: 4, foundSeq: 13 });
    expect(v.problem?.message).toContain('line 4 holds record 13, but record 4 (found at line 13) must come first');
  });

  const insertions: Array<{ name: string; at: number; line: () => string; record?: number }> = [
    { name: 'a copy of an earlier line', at: 6, line: () => lines[2] as string, record: 3 },
    { name: 'a copy of a later line', at: 3, line: () => lines[10] as string, record: 11 },
    { name: 'a copy of the line before it (replay)', at: 8, line: () => lines[7] as string },
    { name: 'a non-JSON line', at: 5, line: () => 'not json at all' },
    { name: 'an empty line', at: 9, line: () => '' },
    { name: 'a forged record claiming an existing seq', at: 4, line: () => canonicalJson({ ...(JSON.parse(lines[9] as string) as object), data: { forged: true } }) },
    { name: 'a line after the closing record', at: 20, line: () => lines[3] as string },
  ];
  for (const c of insertions) {
    it(`inserting ${c.name} names that line as inserted`, () => {
      const copy = [...lines];
      copy.splice(c.at, 0, c.line());
      const v = verifyTranscript(joinLines(copy));
      expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_INSERTED');
      expect(detail(v).line).toBe(c.at + 1);
      expect(v.problem?.message).toContain(`line ${c.at + 1}`);
    });
  }

  it('inserting a well-forged record (right seq, right prev) names the forged record, not the genuine one after it', () => {
    const before = JSON.parse(lines[4] as string) as TranscriptRecord;
    const forged: TranscriptRecord = { ...before, seq: 6, prev: recordHash(before), data: { name: 'Mallory', role: 'custodian' }, type: 'participant.registered' };
    const copy = [...lines];
    copy.splice(5, 0, canonicalJson(forged));
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_INSERTED');
    expect(detail(v)).toMatchObject({ line: 6, record: 6 });
  });

  it('a record whose seq was changed but whose link holds is named as changed', () => {
    const r = JSON.parse(lines[4] as string) as TranscriptRecord;
    const copy = [...lines];
    copy[4] = canonicalJson({ ...r, seq: 9 });
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: 5, line: 5 });
    expect(v.problem?.message).toContain('its sequence number is 9');
  });

  it('a re-encoded but equivalent line (whitespace) is named as changed: bytes are the record', () => {
    const copy = [...lines];
    copy[2] = JSON.stringify(JSON.parse(lines[2] as string), null, 0).replace('{"', '{ "');
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: 3 });
    expect(v.problem?.message).toContain('not in canonical form');
  });

  it('in an unclosed transcript a broken last link names both candidates', () => {
    const open = lines.slice(0, 10);
    open[8] = (open[8] as string).replace('"confirmedBy":"Wendy Witness"', '"confirmedBy":"Wendy Witnesz"');
    expect(open[8]).not.toBe(lines[8]);
    const v = verifyTranscript(joinLines(open));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: 9, alsoPossible: 10 });
  });
});

describe('verifyTranscript links ceremonies into one chain', () => {
  it('checks record 1 against the given previous head', () => {
    expect(verifyTranscript(bytes, { previousHead: GENESIS_PREV }).ok).toBe(true);
    const v = verifyTranscript(bytes, { previousHead: 'ab'.repeat(32) });
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_CHAIN_BROKEN');
    expect(detail(v)).toMatchObject({ record: 1, line: 1 });
    expect(v.problem?.message).toContain('does not continue that one');
  });

  it('a second ceremony links to the first one’s head', () => {
    const first = verifyTranscript(bytes);
    const second = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer], { name: 'second.jsonl', ceremony: 'intermediate-2027-01', previous: { head: first.head as string, ceremony: 'root-2026-12-01' } });
    const v = verifyTranscript(second.bytes, { previousHead: first.head as string });
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.previousHead).toBe(first.head);
    expect(verifyTranscript(second.bytes, { previousHead: GENESIS_PREV }).problem?.code).toBe('ERR_TRANSCRIPT_CHAIN_BROKEN');
  });

  it('record 1 must agree with its own data.previous', () => {
    const r = JSON.parse(lines[0] as string) as TranscriptRecord;
    const copy = [...lines];
    copy[0] = canonicalJson({ ...r, prev: 'cd'.repeat(32) });
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: 1 });
  });
});

describe('verifyTranscript on an unclosed transcript', () => {
  it('reports ERR_TRANSCRIPT_NOT_CLOSED and still verifies the prefix', () => {
    const v = verifyTranscript(joinLines(lines.slice(0, 12)));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    expect(v).toMatchObject({ ok: false, intact: true, closed: false });
    expect(v.records).toHaveLength(12);
    expect(v.problem?.message).toContain('records 1-12 verify');
  });

  it('an incomplete last line (torn write) is reported and kept out of the chain', () => {
    const torn = `${joinLines(lines.slice(0, 12))}${(lines[12] as string).slice(0, 40)}`;
    const v = verifyTranscript(torn);
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    expect(v.intact).toBe(true);
    expect(v.tornTail).toMatchObject({ line: 13, bytes: 40 });
    expect(v.problem?.message).toContain('Line 13 is incomplete');
  });

  it('a closing record cut short reads as an interrupted close: intact, not closed, torn tail reported', () => {
    const cut = `${joinLines(lines.slice(0, -1))}${(lines[lines.length - 1] as string).slice(0, 300)}`;
    const v = verifyTranscript(cut);
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    expect(v.tornTail).toMatchObject({ line: lines.length, bytes: 300 });
  });

  it('a complete closing record that lost its final newline is named as changed', () => {
    const v = verifyTranscript(joinLines(lines).slice(0, -1));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v)).toMatchObject({ record: lines.length });
  });

  it('bytes after the closing record are an insertion even without a newline', () => {
    const v = verifyTranscript(`${joinLines(lines)}{"x":1}`);
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_INSERTED');
    expect(detail(v).line).toBe(lines.length + 1);
  });
});

describe('verifyTranscript refuses malformed and hostile input with a clear error', () => {
  const r1 = (): Record<string, unknown> => JSON.parse(lines[0] as string) as Record<string, unknown>;
  const withLine1 = (value: unknown): string => joinLines([typeof value === 'string' ? value : JSON.stringify(value), ...lines.slice(1)]);
  const cases: Array<{ name: string; input: () => string | Buffer; code: string; message?: RegExp; record?: number }> = [
    { name: 'empty file', input: () => '', code: 'ERR_TRANSCRIPT_INVALID', message: /is empty/u },
    { name: 'a lone newline', input: () => '\n', code: 'ERR_TRANSCRIPT_INVALID' },
    { name: 'not JSON at all', input: () => 'hello world\n', code: 'ERR_TRANSCRIPT_INVALID', message: /not a NEAM CA transcript/u },
    { name: 'binary garbage', input: () => Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x01, 0x0a]), code: 'ERR_TRANSCRIPT_INVALID' },
    { name: 'byte order mark', input: () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), code: 'ERR_TRANSCRIPT_INVALID', message: /byte order mark/u },
    { name: 'CRLF line endings', input: () => lines.map((l) => `${l}\r\n`).join(''), code: 'ERR_TRANSCRIPT_INVALID', message: /CRLF/u },
    { name: 'one CR inserted in a record', input: () => joinLines([...lines.slice(0, 3), `${lines[3] as string}\r`, ...lines.slice(4)]), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', record: 4 },
    { name: 'invalid UTF-8 in a record', input: () => Buffer.concat([Buffer.from(joinLines(lines.slice(0, 2))), Buffer.from((lines[2] as string).replace('Admin', 'Adm\u00e9n'), 'latin1'), Buffer.from(`\n${joinLines(lines.slice(3))}`)]), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', record: 3 },
    { name: 'huge line', input: () => joinLines([lines[0] as string, 'x'.repeat(MAX_RECORD_BYTES + 10), ...lines.slice(1)]), code: 'ERR_TRANSCRIPT_RECORD_INSERTED', message: /records are at most/u },
    { name: 'file over the size limit', input: () => Buffer.alloc(MAX_TRANSCRIPT_BYTES + 1, 0x20), code: 'ERR_INPUT_TOO_LARGE' },
    { name: 'millions of empty lines', input: () => Buffer.alloc(300_000, 0x0a), code: 'ERR_INPUT_TOO_LARGE', message: /lines/u },
    { name: 'missing field seq', input: () => withLine1({ ...r1(), seq: undefined }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /missing member 'seq'/u, record: 1 },
    { name: 'missing field prev', input: () => withLine1({ ...r1(), prev: undefined }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /missing member 'prev'/u, record: 1 },
    { name: 'extra field', input: () => withLine1({ ...r1(), note: 'hi' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /unknown member 'note'/u, record: 1 },
    { name: 'extra field __proto__', input: () => withLine1(`${JSON.stringify(r1()).slice(0, -1)},"__proto__":{"x":1}}`), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /__proto__/u, record: 1 },
    { name: 'signatures on a non-closing record', input: () => withLine1({ ...r1(), signatures: [] }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /unknown member 'signatures'/u, record: 1 },
    { name: 'seq as a string', input: () => withLine1({ ...r1(), seq: '1' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /seq: must be a whole number/u, record: 1 },
    { name: 'seq zero', input: () => withLine1({ ...r1(), seq: 0 }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', record: 1 },
    { name: 'seq fractional', input: () => withLine1({ ...r1(), seq: 1.5 }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', record: 1 },
    { name: 'time not UTC', input: () => withLine1({ ...r1(), time: '2026-12-01T09:00:00.000+01:00' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /time:/u, record: 1 },
    { name: 'time impossible date', input: () => withLine1({ ...r1(), time: '2026-02-30T09:00:00.000Z' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /time:/u, record: 1 },
    { name: 'actor empty', input: () => withLine1({ ...r1(), actor: '' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /actor:/u, record: 1 },
    { name: 'actor with a bidi override', input: () => withLine1({ ...r1(), actor: 'Alice\u202eevil' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /actor:/u, record: 1 },
    { name: 'role upper case', input: () => withLine1({ ...r1(), role: 'Admin' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /role:/u, record: 1 },
    { name: 'type with spaces', input: () => withLine1({ ...r1(), type: 'transcript opened' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /type:/u, record: 1 },
    { name: 'data an array', input: () => withLine1({ ...r1(), data: [] }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /data: must be a JSON object/u, record: 1 },
    { name: 'rehearsal a string', input: () => withLine1({ ...r1(), rehearsal: 'yes' }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /rehearsal:/u, record: 1 },
    { name: 'prev upper-case hex', input: () => withLine1({ ...r1(), prev: 'AB'.repeat(32) }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /prev:/u, record: 1 },
    { name: 'record is an array', input: () => withLine1([1, 2, 3]), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /not a JSON object/u, record: 1 },
    { name: 'deeply nested data', input: () => withLine1(`${JSON.stringify({ ...r1(), data: {} }).replace('"data":{}', `"data":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`)}`), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /nested deeper/u, record: 1 },
    { name: 'a private key in data', input: () => withLine1({ ...r1(), data: { ...(r1()['data'] as object), key: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----' } }), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /private key/u, record: 1 },
    { name: 'duplicate key in a record', input: () => withLine1(`${(lines[0] as string).slice(0, -1)},"seq":1}`), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', record: 1 },
    { name: 'the opening record is not first', input: () => joinLines([canonicalJson({ ...r1(), type: 'step.started' }), ...lines.slice(1)]), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /opening record/u, record: 1 },
    { name: 'unknown format version', input: () => joinLines([canonicalJson({ ...r1(), data: { ...(r1()['data'] as object), format: 'neam-ca-transcript/9' } }), ...lines.slice(1)]), code: 'ERR_TRANSCRIPT_RECORD_CHANGED', message: /data.format/u, record: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}`, () => {
      const v = verifyTranscript(c.input());
      expect(v.ok).toBe(false);
      expect(v.problem?.code, v.problem?.message).toBe(c.code);
      if (c.message !== undefined) expect(v.problem?.message).toMatch(c.message);
      if (c.record !== undefined) expect(detail(v).record).toBe(c.record);
    });
  }

  it('shows at most 4,000 characters of an unverified line', () => {
    const v = verifyTranscript(joinLines([lines[0] as string, 'y'.repeat(100_000), ...lines.slice(1)]));
    expect(v.unverified[0]?.text.length).toBeLessThanOrEqual(4001);
  });

  it('a record with a different rehearsal flag than record 1 is a change', () => {
    const copy = [...lines];
    const r = JSON.parse(copy[1] as string) as TranscriptRecord;
    copy[1] = canonicalJson({ ...r, rehearsal: false });
    const v = verifyTranscript(joinLines(copy));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(detail(v).record).toBe(2);
  });
});
