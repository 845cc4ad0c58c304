import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { softwareSigner } from '../../../core/crypto/signer.ts';
import { isCoreError } from '../../../core/errors.ts';
import { createTranscript, GENESIS_PREV, MAX_RECORD_BYTES, openTranscript, verifyTranscript, type TranscriptRecord, type TranscriptWriter } from '../../../core/transcript/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { closingSigners, linesOf, steppingClock, transferKeyOnSoftHsm, witnessKey, writeRootCeremonyBody, type TransferHsm } from './fixtures.ts';

const ADMIN = { actor: 'Alice Admin', role: 'administrator' };
let hsm: TransferHsm;
beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
});
afterAll(() => hsm.hsm.close());

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function folder(): string {
  const t = tempDir('neam-writer-');
  cleanups.push(t.cleanup);
  return t.dir;
}
function open(path: string, extra: Partial<Parameters<typeof createTranscript>[1]> = {}): TranscriptWriter {
  return createTranscript(path, { ceremony: 'root-2026-12-01', rehearsal: true, previous: null, ...ADMIN, clock: steppingClock(), ...extra });
}
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}
function codeOf(fn: () => unknown): string {
  const e = thrown(fn);
  return isCoreError(e) ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
}

describe('createTranscript', () => {
  it('writes the opening record (seq 1, genesis prev, format, ceremony) and nothing else', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path, { data: { title: 'Root key ceremony' } });
    w.release();
    const [line, ...rest] = linesOf(readFileSync(path));
    expect(rest).toEqual([]);
    const r = JSON.parse(line as string) as TranscriptRecord;
    expect(r).toMatchObject({ seq: 1, type: 'transcript.opened', prev: GENESIS_PREV, rehearsal: true, actor: 'Alice Admin', role: 'administrator', time: '2026-12-01T09:00:00.000Z', data: { format: 'neam-ca-transcript/1', ceremony: 'root-2026-12-01', previous: null, title: 'Root key ceremony' } });
    expect(readdirSync(join(path, '..'))).toEqual(['t.jsonl']);
  });

  it('links the first record to the previous ceremony’s head', () => {
    const path = join(folder(), 't.jsonl');
    const head = 'ab'.repeat(32);
    open(path, { previous: { head, ceremony: 'root-2026-12-01', records: 20 } }).release();
    const r = JSON.parse(linesOf(readFileSync(path))[0] as string) as TranscriptRecord;
    expect(r.prev).toBe(head);
    expect(r.data['previous']).toEqual({ head, ceremony: 'root-2026-12-01', records: 20 });
    expect(verifyTranscript(readFileSync(path), { previousHead: head }).intact).toBe(true);
  });

  it('never overwrites: an existing file (or a symlink at the path) is refused and left untouched', () => {
    const dir = folder();
    const path = join(dir, 't.jsonl');
    writeFileSync(path, 'precious\n');
    expect(codeOf(() => open(path))).toBe('ERR_ALREADY_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('precious\n');
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'link.jsonl'));
    expect(codeOf(() => open(join(dir, 'link.jsonl')))).toBe('ERR_ALREADY_EXISTS');
    expect(existsSync(join(dir, 'elsewhere'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['link.jsonl', 't.jsonl']);
  });

  const bad: Array<{ name: string; options: Partial<Parameters<typeof createTranscript>[1]>; code: string }> = [
    { name: 'ceremony', options: { ceremony: 'has spaces' }, code: 'ERR_INPUT_INVALID' },
    { name: 'ceremony (too long)', options: { ceremony: 'c'.repeat(129) }, code: 'ERR_INPUT_INVALID' },
    { name: 'previous.head', options: { previous: { head: 'xyz' } }, code: 'ERR_INPUT_INVALID' },
    { name: 'actor', options: { actor: '' }, code: 'ERR_INPUT_INVALID' },
    { name: 'role', options: { role: 'Administrator' }, code: 'ERR_INPUT_INVALID' },
    { name: 'data.format (reserved)', options: { data: { format: 'x' } }, code: 'TypeError' },
    { name: 'data.previous (reserved)', options: { data: { previous: null } }, code: 'TypeError' },
    { name: 'data (private key)', options: { data: { key: '-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----' } }, code: 'ERR_INPUT_INVALID' },
  ];
  for (const c of bad) {
    it(`refuses a bad ${c.name} and creates nothing`, () => {
      const dir = folder();
      expect(codeOf(() => open(join(dir, 't.jsonl'), c.options))).toMatch(new RegExp(`^${c.code}`, 'u'));
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});

describe('TranscriptWriter.append', () => {
  it('appends fsynced records with consecutive seq, chained prev, the clock’s UTC time and the rehearsal flag', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    const r2 = w.append({ ...ADMIN, type: 'check.airgap', data: { interfaces: ['lo'] } });
    const r3 = w.append({ actor: 'Wendy Witness', role: 'witness', type: 'step.signed-off', data: { step: 'x' } });
    expect([r2.seq, r3.seq, w.seq]).toEqual([2, 3, 3]);
    expect(r3.prev).toBe(verifyTranscript(readFileSync(path)).hashes[1]);
    expect(r2.prev).toBe(verifyTranscript(readFileSync(path)).hashes[0]);
    expect(r2.time).toBe('2026-12-01T09:01:01.000Z');
    expect(r3.rehearsal).toBe(true);
    expect(w.size).toBe(statSync(path).size);
    const v = verifyTranscript(readFileSync(path));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_NOT_CLOSED');
    expect(v.intact).toBe(true);
    expect(v.head).toBe(w.head);
    w.release();
  });

  const circular: Record<string, unknown> = {};
  circular['self'] = circular;
  const cases: Array<{ name: string; entry: { actor: unknown; role: unknown; type: unknown; data?: unknown }; code: string; message?: RegExp }> = [
    { name: 'actor (empty)', entry: { ...ADMIN, actor: '', type: 'x.y' }, code: 'ERR_INPUT_INVALID', message: /actor/u },
    { name: 'actor (newline)', entry: { ...ADMIN, actor: 'Alice\nBob', type: 'x.y' }, code: 'ERR_INPUT_INVALID', message: /actor/u },
    { name: 'actor (201 characters)', entry: { ...ADMIN, actor: 'a'.repeat(201), type: 'x.y' }, code: 'ERR_INPUT_INVALID', message: /actor/u },
    { name: 'actor (not a string)', entry: { ...ADMIN, actor: 42, type: 'x.y' }, code: 'ERR_INPUT_INVALID', message: /actor/u },
    { name: 'role', entry: { ...ADMIN, role: 'Witness!', type: 'x.y' }, code: 'ERR_INPUT_INVALID', message: /role/u },
    { name: 'type', entry: { ...ADMIN, type: 'Step Started' }, code: 'ERR_INPUT_INVALID', message: /type/u },
    { name: 'type (reserved)', entry: { ...ADMIN, type: 'transcript.closed' }, code: 'TypeError' },
    { name: 'data (array)', entry: { ...ADMIN, type: 'x.y', data: [] }, code: 'TypeError' },
    { name: 'data (Buffer value)', entry: { ...ADMIN, type: 'x.y', data: { der: Buffer.from('ab') } }, code: 'ERR_INPUT_INVALID', message: /Buffer object is not plain JSON/u },
    { name: 'data (Date value)', entry: { ...ADMIN, type: 'x.y', data: { at: new Date() } }, code: 'ERR_INPUT_INVALID', message: /Date/u },
    { name: 'data (undefined value)', entry: { ...ADMIN, type: 'x.y', data: { a: undefined } }, code: 'ERR_INPUT_INVALID', message: /data\.a: is undefined/u },
    { name: 'data (NaN)', entry: { ...ADMIN, type: 'x.y', data: { n: Number.NaN } }, code: 'ERR_INPUT_INVALID', message: /data\.n/u },
    { name: 'data (Infinity)', entry: { ...ADMIN, type: 'x.y', data: { n: [1, Infinity] } }, code: 'ERR_INPUT_INVALID', message: /data\.n\[1\]/u },
    { name: 'data (lone surrogate)', entry: { ...ADMIN, type: 'x.y', data: { s: 'a\ud800b' } }, code: 'ERR_INPUT_INVALID', message: /surrogate/u },
    { name: 'data (function)', entry: { ...ADMIN, type: 'x.y', data: { f: () => 1 } }, code: 'ERR_INPUT_INVALID', message: /function/u },
    { name: 'data (circular)', entry: { ...ADMIN, type: 'x.y', data: circular }, code: 'ERR_INPUT_INVALID', message: /circular/u },
    { name: 'data (nested 40 deep)', entry: { ...ADMIN, type: 'x.y', data: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) as unknown }, code: 'ERR_INPUT_INVALID', message: /nested deeper/u },
    { name: 'data (PKCS#8 private key)', entry: { ...ADMIN, type: 'x.y', data: { pem: '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n' } }, code: 'ERR_INPUT_INVALID', message: /private key/u },
    { name: 'data (encrypted private key)', entry: { ...ADMIN, type: 'x.y', data: { list: ['ok', '-----BEGIN ENCRYPTED PRIVATE KEY-----'] } }, code: 'ERR_INPUT_INVALID', message: /private key/u },
    { name: 'data (RSA private key)', entry: { ...ADMIN, type: 'x.y', data: { pem: '-----BEGIN RSA PRIVATE KEY-----' } }, code: 'ERR_INPUT_INVALID', message: /private key/u },
    { name: 'data (over the record size)', entry: { ...ADMIN, type: 'x.y', data: { big: 'z'.repeat(MAX_RECORD_BYTES) } }, code: 'ERR_INPUT_TOO_LARGE', message: /at most/u },
  ];
  for (const c of cases) {
    it(`refuses a bad ${c.name}, writes nothing and stays usable`, () => {
      const path = join(folder(), 't.jsonl');
      const w = open(path);
      const before = readFileSync(path);
      const e = thrown(() => w.append(c.entry as never));
      if (c.code === 'TypeError') expect(e).toBeInstanceOf(TypeError);
      else {
        expect(isCoreError(e) ? e.code : e).toBe(c.code);
        if (c.message !== undefined) expect((e as Error).message).toMatch(c.message);
      }
      expect(readFileSync(path).equals(before)).toBe(true);
      w.append({ ...ADMIN, type: 'still.works' });
      expect(w.seq).toBe(2);
      w.release();
    });
  }

  it('keeps public certificates and fingerprints (a PEM CERTIFICATE is fine)', () => {
    const w = open(join(folder(), 't.jsonl'));
    w.append({ ...ADMIN, type: 'certificate.issued', data: { pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', sha256: 'ab'.repeat(32) } });
    w.release();
  });

  it('detects a second writer (bytes appended behind its back) and appends nothing', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    appendFileSync(path, '{"sneaky":true}\n');
    const size = statSync(path).size;
    expect(codeOf(() => w.append({ ...ADMIN, type: 'x.y' }))).toBe('ERR_TRANSCRIPT_INVALID');
    expect(statSync(path).size).toBe(size);
    expect(codeOf(() => w.append({ ...ADMIN, type: 'x.y' }))).toBe('ERR_IO');
    w.release();
  });

  it('detects the file being replaced under it', () => {
    const dir = folder();
    const path = join(dir, 't.jsonl');
    const w = open(path);
    renameSync(path, join(dir, 'moved.jsonl'));
    writeFileSync(path, readFileSync(join(dir, 'moved.jsonl')));
    expect(codeOf(() => w.append({ ...ADMIN, type: 'x.y' }))).toBe('ERR_TRANSCRIPT_INVALID');
    w.release();
  });

  it('refuses to append after release', () => {
    const w = open(join(folder(), 't.jsonl'));
    w.release();
    expect(codeOf(() => w.append({ ...ADMIN, type: 'x.y' }))).toBe('ERR_IO');
  });

  it('on a full disk the failed append leaves no partial line and appending works again once there is space', () => {
    // A real 64 KiB tmpfs in a private mount namespace (needs root, as CI has).
    const dir = folder();
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "$1" && exec "$2" --import tsx "$3" fill "$1"`, 'sh', dir, process.execPath, join(import.meta.dirname, 'child-writer.ts')], { encoding: 'utf8', cwd: join(import.meta.dirname, '../../..'), timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { failure?: string; appended: number; afterFailure: { code?: string; intact: boolean; torn: unknown }; sizeAfterFailure: number; writerSize: number; appendAfterSpace: string; final: { code?: string; intact: boolean; records: number } };
    expect(out.failure).toBe('ERR_IO');
    expect(out.afterFailure).toMatchObject({ code: 'ERR_TRANSCRIPT_NOT_CLOSED', intact: true, torn: null });
    expect(out.sizeAfterFailure).toBe(out.writerSize);
    expect(out.appendAfterSpace).toBe('ok');
    expect(out.final).toMatchObject({ code: 'ERR_TRANSCRIPT_NOT_CLOSED', intact: true, records: out.appended + 2 });
  });
});

describe('TranscriptWriter.close', () => {
  it('writes a closing record signed by the HSM transfer key and the witnesses, then refuses to grow', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    writeRootCeremonyBody(w);
    const witnesses = [witnessKey().signer, witnessKey().signer];
    const signaturesBefore = hsm.hsm.hsm.stats.signatures;
    const closing = w.close({ ...ADMIN, outcome: 'completed', data: { summary: 'root created' }, signers: closingSigners(hsm.signer, witnesses) });
    expect(hsm.hsm.hsm.stats.signatures).toBe(signaturesBefore + 1);
    expect(closing.type).toBe('transcript.closed');
    expect(closing.signatures).toHaveLength(3);
    expect(closing.data).toMatchObject({ outcome: 'completed', summary: 'root created' });
    expect(w.closed).toBe(true);
    expect(codeOf(() => w.append({ ...ADMIN, type: 'x.y' }))).toBe('ERR_TRANSCRIPT_CLOSED');
    const v = verifyTranscript(readFileSync(path));
    expect(v.ok, v.problem?.message).toBe(true);
    expect(codeOf(() => openTranscript(path, ADMIN))).toBe('ERR_TRANSCRIPT_CLOSED');
  });

  const bad: Array<{ name: string; signers: () => ReturnType<typeof closingSigners>; message: RegExp }> = [
    { name: 'no transfer key', signers: () => closingSigners(witnessKey().signer, [witnessKey().signer]).map((s) => ({ ...s, kind: 'witness' as const })), message: /exactly one transfer key/u },
    { name: 'two transfer keys', signers: () => [...closingSigners(hsm.signer, [witnessKey().signer]), { kind: 'transfer' as const, name: 'other', role: 'system', signer: witnessKey().signer }], message: /exactly one transfer key/u },
    { name: 'no witness', signers: () => closingSigners(hsm.signer, []), message: /at least 1 required/u },
    { name: 'the same key twice', signers: () => closingSigners(hsm.signer, [hsm.signer]), message: /same key twice/u },
  ];
  for (const c of bad) {
    it(`refuses to close with ${c.name} and writes nothing`, () => {
      const path = join(folder(), 't.jsonl');
      const w = open(path);
      const before = readFileSync(path);
      const e = thrown(() => w.close({ ...ADMIN, outcome: 'completed', signers: c.signers() }));
      expect(isCoreError(e, 'ERR_INPUT_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(c.message);
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(w.closed).toBe(false);
      w.release();
    });
  }

  it('an aborted ceremony may be closed by the witnesses alone (its transfer key may not exist yet)', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    w.append({ ...ADMIN, type: 'step.started', data: { step: 'airgap' } });
    const wendy = witnessKey().signer;
    w.close({ ...ADMIN, outcome: 'aborted', data: { reason: 'network interface eth0 is up' }, signers: [{ kind: 'witness', name: 'Wendy Witness', role: 'witness', signer: wendy }] });
    const v = verifyTranscript(readFileSync(path));
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.signers.map((s) => s.kind)).toEqual(['witness']);
    const pinned = verifyTranscript(readFileSync(path), { pins: { transfer: ['ab'.repeat(32)] } });
    expect(pinned.problem?.code).toBe('ERR_TRANSCRIPT_SIGNER_NOT_PINNED');
    expect(pinned.problem?.message).toContain('signed by witnesses only');
    // "completed" cannot be claimed without the transfer key: the outcome is inside the signed body.
    const lines = linesOf(readFileSync(path));
    const closing = lines[lines.length - 1] as string;
    const forged = verifyTranscript(`${lines.slice(0, -1).join('\n')}\n${closing.replace('"outcome":"aborted"', '"outcome":"completed"')}\n`);
    expect(forged.ok).toBe(false);
    expect(forged.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
  });

  it('refuses a signer whose signature does not verify (e.g. a broken token) and writes nothing', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    const before = readFileSync(path);
    const good = witnessKey().signer;
    const liar = { ...good, sign: (d: Uint8Array) => witnessKey().signer.sign(d) };
    expect(codeOf(() => w.close({ ...ADMIN, outcome: 'completed', signers: closingSigners(hsm.signer, [liar]) }))).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(readFileSync(path).equals(before)).toBe(true);
    w.release();
  });

  it('two-phase close: signatures gathered separately over the draft body', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    const wit = witnessKey();
    const draft = w.prepareClose({ ...ADMIN, outcome: 'aborted', data: { reason: 'HSM refused the PIN' }, signers: [{ kind: 'transfer', name: 'offline transfer key', role: 'system', algorithm: 'ECDSA-SHA256', spki: hsm.signer.spki }, { kind: 'witness', name: 'Wendy Witness', role: 'witness', algorithm: 'ECDSA-SHA256', spki: wit.signer.spki }] });
    const sigT = { spkiSha256: draft.signers[0]?.spkiSha256 as string, signature: hsm.signer.sign(draft.body) };
    const sigW = { spkiSha256: draft.signers[1]?.spkiSha256 as string, signature: wit.signer.sign(draft.body) };
    expect(codeOf(() => w.commitClose(draft, [sigT]))).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(codeOf(() => w.commitClose(draft, [sigT, { ...sigW, signature: wit.signer.sign(Buffer.from('other')) }]))).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(codeOf(() => w.commitClose(draft, [sigT, sigW, { spkiSha256: 'ee'.repeat(32), signature: Buffer.from('x') }]))).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    w.commitClose(draft, [sigT, sigW]);
    const v = verifyTranscript(readFileSync(path));
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.records[1]?.data).toMatchObject({ outcome: 'aborted', reason: 'HSM refused the PIN' });
  });

  it('a draft is stale once another record is appended', () => {
    const w = open(join(folder(), 't.jsonl'));
    const wit = witnessKey();
    const draft = w.prepareClose({ ...ADMIN, outcome: 'completed', signers: [{ kind: 'transfer', name: 't', role: 'system', algorithm: 'ECDSA-SHA256', spki: hsm.signer.spki }, { kind: 'witness', name: 'w', role: 'witness', algorithm: 'ECDSA-SHA256', spki: wit.signer.spki }] });
    w.append({ ...ADMIN, type: 'late.record' });
    expect(codeOf(() => w.commitClose(draft, [{ spkiSha256: draft.signers[0]?.spkiSha256 as string, signature: hsm.signer.sign(draft.body) }, { spkiSha256: draft.signers[1]?.spkiSha256 as string, signature: wit.signer.sign(draft.body) }]))).toBe('ERR_TRANSCRIPT_INVALID');
    w.release();
  });

  it('minWitnesses 0 closes with the transfer key alone (verify must then be told so too)', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    w.close({ ...ADMIN, outcome: 'completed', minWitnesses: 0, signers: [{ kind: 'transfer', name: 'offline transfer key', role: 'system', signer: softwareSigner(witnessKey().privateKey, 'ECDSA-SHA256') }] });
    expect(verifyTranscript(readFileSync(path)).problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(verifyTranscript(readFileSync(path), { minWitnesses: 0 }).ok).toBe(true);
  });
});

describe('openTranscript (resume)', () => {
  it('continues after release with a transcript.resumed record; the whole chain verifies once closed', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    w.append({ ...ADMIN, type: 'step.started', data: { step: 'a' } });
    const head = w.head;
    w.release();
    const { writer, resumed } = openTranscript(path, { ...ADMIN, data: { reason: 'workstation restarted' }, clock: steppingClock('2026-12-01T10:00:00.000Z') });
    expect(resumed).toMatchObject({ records: 2, last: { seq: 2, type: 'step.started', data: { step: 'a' } } });
    expect(resumed.tornTail).toBeUndefined();
    expect(writer.seq).toBe(3);
    const r3 = JSON.parse(linesOf(readFileSync(path))[2] as string) as TranscriptRecord;
    expect(r3).toMatchObject({ seq: 3, type: 'transcript.resumed', prev: head, data: { reason: 'workstation restarted' }, rehearsal: true });
    writer.append({ ...ADMIN, type: 'step.completed', data: { step: 'a' } });
    writer.close({ ...ADMIN, outcome: 'completed', signers: closingSigners(hsm.signer, [witnessKey().signer]) });
    const v = verifyTranscript(readFileSync(path), { previousHead: GENESIS_PREV });
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.records.map((r) => r.type)).toEqual(['transcript.opened', 'step.started', 'transcript.resumed', 'step.completed', 'transcript.closed']);
  });

  it('sets an incomplete last line aside in a side file, cuts it, and records that it did', () => {
    const dir = folder();
    const path = join(dir, 't.jsonl');
    const w = open(path);
    w.append({ ...ADMIN, type: 'step.started', data: { step: 'a' } });
    w.release();
    const torn = '{"actor":"Alice Admin","data":{"step":"a"},"prev":"12';
    appendFileSync(path, torn);
    const { writer, resumed } = openTranscript(path, ADMIN);
    writer.release();
    expect(resumed.tornTail).toMatchObject({ line: 3, bytes: torn.length });
    const side = join(dir, resumed.tornTail?.savedAs as string);
    expect(readFileSync(side, 'utf8')).toBe(torn);
    const lines = linesOf(readFileSync(path));
    expect(lines).toHaveLength(3);
    const r3 = JSON.parse(lines[2] as string) as TranscriptRecord;
    expect(r3.type).toBe('transcript.resumed');
    expect(r3.data['tornTail']).toMatchObject({ line: 3, bytes: torn.length, savedAs: resumed.tornTail?.savedAs });
    expect(verifyTranscript(readFileSync(path)).intact).toBe(true);
  });

  it('a crash between setting the line aside and cutting it is resumed without loss', () => {
    const dir = folder();
    const path = join(dir, 't.jsonl');
    open(path).release();
    appendFileSync(path, '{"half":');
    const first = openTranscript(path, ADMIN);
    first.writer.release();
    // Re-create the situation: the torn bytes are back and the side file exists with them.
    const lines = linesOf(readFileSync(path));
    writeFileSync(path, `${lines[0] as string}\n{"half":`);
    const again = openTranscript(path, ADMIN);
    again.writer.release();
    expect(again.resumed.tornTail?.savedAs).toBe(first.resumed.tornTail?.savedAs);
    expect(readdirSync(dir).filter((f) => f.includes('.torn-'))).toHaveLength(1);
  });

  it('refuses to set aside when asked to refuse, changing nothing', () => {
    const path = join(folder(), 't.jsonl');
    open(path).release();
    appendFileSync(path, '{"half":');
    const before = readFileSync(path);
    expect(codeOf(() => openTranscript(path, { ...ADMIN, tornTail: 'refuse' }))).toBe('ERR_TRANSCRIPT_INVALID');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses a tail longer than any record (not an interrupted write)', () => {
    const path = join(folder(), 't.jsonl');
    open(path).release();
    appendFileSync(path, 'x'.repeat(MAX_RECORD_BYTES));
    expect(codeOf(() => openTranscript(path, ADMIN))).toBe('ERR_TRANSCRIPT_INVALID');
  });

  it('refuses a transcript that was tampered with, naming the record, and changes nothing', () => {
    const path = join(folder(), 't.jsonl');
    const w = open(path);
    for (let i = 0; i < 5; i++) w.append({ ...ADMIN, type: 'step.progress', data: { i } });
    w.release();
    const lines = linesOf(readFileSync(path));
    writeFileSync(path, `${lines.filter((_, i) => i !== 2).join('\n')}\n`);
    const before = readFileSync(path);
    const e = thrown(() => openTranscript(path, ADMIN));
    expect(isCoreError(e, 'ERR_TRANSCRIPT_RECORD_MISSING')).toBe(true);
    expect((e as { details?: { record?: number } }).details?.record).toBe(3);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses when record 1 does not link to the expected previous head', () => {
    const path = join(folder(), 't.jsonl');
    open(path).release();
    expect(codeOf(() => openTranscript(path, { ...ADMIN, previousHead: 'cd'.repeat(32) }))).toBe('ERR_TRANSCRIPT_CHAIN_BROKEN');
  });

  it('refuses a missing file, a symlink, and an empty file', () => {
    const dir = folder();
    expect(codeOf(() => openTranscript(join(dir, 'none.jsonl'), ADMIN))).toBe('ERR_NOT_FOUND');
    const real = join(dir, 'real.jsonl');
    open(real).release();
    symlinkSync(real, join(dir, 'link.jsonl'));
    expect(codeOf(() => openTranscript(join(dir, 'link.jsonl'), ADMIN))).toBe('ERR_TRANSCRIPT_INVALID');
    truncateSync(real, 0);
    expect(codeOf(() => openTranscript(real, ADMIN))).toBe('ERR_TRANSCRIPT_INVALID');
  });

  it('after the writer process is killed with SIGKILL mid-stream, resume continues a consistent chain', async () => {
    const path = join(folder(), 't.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'child-writer.ts'), 'loop', path], { cwd: join(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      let seen = 0;
      child.stdout.on('data', (d: Buffer) => {
        seen += (d.toString().match(/ready/gu) ?? []).length;
        if (seen >= 5) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (code === null ? undefined : reject(new Error(`child exited ${code}: ${stderr}`))));
    });
    await new Promise((r) => child.on('close', r));
    expect(child.signalCode).toBe('SIGKILL');
    const before = verifyTranscript(readFileSync(path));
    expect(before.intact, before.problem?.message).toBe(true);
    expect(before.records.length).toBeGreaterThan(80);
    const { writer } = openTranscript(path, { ...ADMIN, data: { reason: 'writer was killed' } });
    writer.close({ ...ADMIN, outcome: 'aborted', signers: closingSigners(hsm.signer, [witnessKey().signer]) });
    const after = verifyTranscript(readFileSync(path));
    expect(after.ok, after.problem?.message).toBe(true);
    expect(after.records.map((r) => r.seq)).toEqual(after.records.map((_, i) => i + 1));
    expect(after.records[before.records.length]?.type).toBe('transcript.resumed');
  });

  it('a clock that moved back is recorded faithfully and reported as a warning', () => {
    const path = join(folder(), 't.jsonl');
    const times = ['2026-12-01T10:00:00.000Z', '2026-12-01T10:05:00.000Z', '2026-12-01T09:59:00.000Z'];
    const w = open(path, { clock: () => new Date(times.shift() as string) });
    w.append({ ...ADMIN, type: 'a.b' });
    w.append({ ...ADMIN, type: 'a.c' });
    w.release();
    const v = verifyTranscript(readFileSync(path));
    expect(v.intact).toBe(true);
    expect(v.warnings.join('\n')).toContain('clock moved back');
  });
});
