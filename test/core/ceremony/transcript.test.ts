/**
 * The ceremony's transcript as the runner writes it (core/transcript underneath): every journal
 * entry once and in order, signed at close by the transfer key in the HSM, chained to the previous
 * ceremony of the same CA folder, and `neam-ca transcript verify` names the record when a byte is
 * flipped, a line deleted or two lines swapped. The report opens in Chromium.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal } from '../../../core/ceremony/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { cli, FIXTURE_USER_PIN, FIXTURES, makeFixture, tokenObjects, type CeremonyFixture } from './fixture.ts';

function ceremonyDirs(fx: CeremonyFixture): string[] {
  return runOk('ls', [join(fx.caDir, 'rehearsal', 'ceremonies')])
    .split('\n')
    .filter((l) => l !== '')
    .map((n) => join(fx.caDir, 'rehearsal', 'ceremonies', n));
}

describe('ceremony transcripts', () => {
  let fx: CeremonyFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('two rehearsals in one CA folder: each transcript verifies, is signed by the transfer key, and the second links to the first; tampering is named', () => {
    fx = makeFixture();
    const first = cli(['ceremony', 'run', join(FIXTURES, 'keygen-token-pin.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath]);
    expect(first.code, first.stderr).toBe(0);
    const [dir1] = ceremonyDirs(fx);
    const t1 = join(dir1!, 'transcript.jsonl');
    const v1 = verifyTranscriptFile(t1, { minWitnesses: 0 });
    expect(v1.ok, v1.problem?.message).toBe(true);
    expect(v1.previousHead).toBe('0'.repeat(64));
    expect(v1.rehearsal).toBe(true);
    // Every journal entry is in the transcript once, in order; nothing secret is.
    const journal = ceremonyJournal(dir1!);
    expect(v1.records.filter((r) => typeof r.data['journalSeq'] === 'number').map((r) => r.data['journalSeq'])).toEqual(journal.map((e) => e.seq));
    const text = readFileSync(t1, 'utf8');
    expect(text).not.toContain(FIXTURE_USER_PIN);
    expect(text).not.toContain('rehearsal-so-pin-0001');
    // The closing signature is the transfer key's, which is on the token.
    const transfer = tokenObjects(fx).find((k) => k.label === 'neam-offline-transfer' && k.class === 'public')!;
    expect(v1.signers).toEqual([expect.objectContaining({ kind: 'transfer', spkiSha256: transfer.spkiSha256, signatureValid: true })]);
    // The records the report understands are there.
    expect(v1.records.filter((r) => r.type === 'participant.registered')).toHaveLength(3);
    expect(v1.records.filter((r) => r.type === 'key.generated').map((r) => r.data['label'])).toEqual(['neam-root-key', 'neam-offline-transfer']);

    // A second ceremony in the same CA folder links to the first one's head.
    writeFileSync(fx.answersPath, `version: 1\ntoken:\n  user-pin: ${FIXTURE_USER_PIN}\nsign-off:\n  witness: Wanda Witness\nsteps:\n  clock:\n    reference-time: workstation\n  close:\n    confirm-point-of-no-return: "YES"\n`);
    const second = cli(['ceremony', 'run', join(FIXTURES, 'keygen-existing-token.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath]);
    expect(second.code, second.stderr).toBe(0);
    const dirs = ceremonyDirs(fx);
    expect(dirs).toHaveLength(2);
    const t2 = join(dirs[1]!, 'transcript.jsonl');
    expect(verifyTranscriptFile(t2, { minWitnesses: 0 }).previousHead).toBe(v1.head);
    const chain = cli(['transcript', 'verify', t1, t2, '--genesis', '--min-witnesses', '0']);
    expect(chain.code, chain.stdout + chain.stderr).toBe(0);

    // Tampering: one flipped byte, a deleted line, two swapped lines: each named by record.
    const lines = text.split('\n').filter((l) => l !== '');
    const tampered = join(fx.root, 'tampered.jsonl');
    const check = (content: string): { code: number; out: string } => {
      writeFileSync(tampered, content);
      const r = cli(['transcript', 'verify', tampered, '--min-witnesses', '0']);
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const flipped = Buffer.from(text);
    const at = text.indexOf('"type":"step.completed"');
    flipped[at + 2] = flipped[at + 2]! ^ 0x01;
    const lineOfFlip = text.slice(0, at).split('\n').length;
    const f = check(flipped.toString('latin1'));
    expect(f.code).toBe(1);
    expect(f.out).toContain('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(f.out).toContain(`record ${lineOfFlip}`);
    const d = check(`${[...lines.slice(0, 9), ...lines.slice(10)].join('\n')}\n`);
    expect(d.code).toBe(1);
    expect(d.out).toContain('ERR_TRANSCRIPT_RECORD_MISSING');
    expect(d.out).toContain('record 10');
    const swapped = [...lines];
    [swapped[11], swapped[12]] = [swapped[12]!, swapped[11]!];
    const s = check(`${swapped.join('\n')}\n`);
    expect(s.code).toBe(1);
    expect(s.out).toContain('ERR_TRANSCRIPT_RECORD_REORDERED');
    expect(s.out).toContain('record 12');
  });

  it('after a kill and a resume the transcript verifies and holds every journal entry exactly once', () => {
    fx = makeFixture();
    const killed = cli(['ceremony', 'run', join(FIXTURES, 'keygen-token-pin.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath], { env: { NEAM_CA_FAILPOINT: 'transfer-key:after-completed' } });
    expect(killed.signal).toBe('SIGKILL');
    const [dir] = ceremonyDirs(fx);
    const resumed = cli(['ceremony', 'resume', dir!, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const path = join(dir!, 'transcript.jsonl');
    const v = verifyTranscriptFile(path, { minWitnesses: 0 });
    expect(v.ok, v.problem?.message).toBe(true);
    const seqs = v.records.filter((r) => typeof r.data['journalSeq'] === 'number').map((r) => r.data['journalSeq']);
    expect(seqs).toEqual(ceremonyJournal(dir!).map((e) => e.seq));
    expect(v.records.some((r) => r.type === 'transcript.resumed')).toBe(true);
    const report = join(fx.root, 'report.html');
    const r = cli(['transcript', 'report', path, '--out', report, '--min-witnesses', '0']);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('neam-root-key');
    expect(html).toContain('REHEARSAL');
  });
});
