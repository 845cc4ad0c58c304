/**
 * Approval files brought back to a ceremony (core/ceremony/approval-folder): the bounded read of the
 * folder (hostile, truncated, oversized, unreadable files, too many files) and the check of each
 * file against the step's requests before anything is imported (another request or ceremony, a
 * different TBS, expired, a key that is not enrolled, a changed statement, the same custodian
 * twice, an answer the store recorded differently), each named with its own code. No SoftHSM: a
 * 3-of-5 quorum enrolled in memory (test/core/quorum/fixtures.ts).
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkImportedApprovals, MAX_APPROVAL_FILES, readApprovalFolder, refusedFilesError, workstationNeeds, type ReadApprovalFile } from '../../../core/ceremony/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { createApprovalRequest, parseApproval, serializeApproval, signApproval, statementBytes, type Approval, type ApprovalRequest } from '../../../core/quorum/index.ts';
import { spkiOf } from '../../../core/quorum/custodian-file.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { caught, enrollQuorum, fileOf, type EnrolledQuorum } from '../quorum/fixtures.ts';

const NOW = new Date('2027-01-10T10:00:00.000Z');
const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

let q: EnrolledQuorum;
/** A quorum of another ceremony with custodians of the same names. */
let other: EnrolledQuorum;
let requests: Array<{ request: ApprovalRequest; file: string }>;
let tmp: { dir: string; cleanup(): void };

function sign(name: string, request: ApprovalRequest, decision: 'approve' | 'decline' = 'approve', now = NOW): Approval {
  return signApproval({ request, custodianFile: fileOf(q, name), approvalKey: q.approvalKeys.get(name)!, decision, now });
}

function asFile(name: string, approval: Approval): ReadApprovalFile {
  const bytes = Buffer.from(serializeApproval(approval));
  return { name, path: `/media/${name}`, sha256: createHash('sha256').update(bytes).digest('hex'), bytes, approval };
}

let folderN = 0;
function folder(files: Record<string, string | Buffer>): string {
  const dir = join(tmp.dir, `f${++folderN}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

beforeAll(async () => {
  tmp = tempDir('neam-approval-folder-');
  q = await enrollQuorum({ now: new Date('2027-01-10T09:00:00.000Z') });
  other = await enrollQuorum({ ceremony: 'other-root', now: new Date('2027-01-10T09:00:00.000Z') });
  const random = (n: number): Buffer => randomBytes(n);
  requests = ['intermediate A', 'intermediate B'].map((subject, i) => ({
    request: createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', subject, tbsSha256: digest(subject), now: new Date('2027-01-10T09:30:00.000Z'), random }),
    file: `review-${i + 1}.request.json`,
  }));
});

afterAll(() => {
  q.pin.wipe();
  other.pin.wipe();
  tmp.cleanup();
});

describe('readApprovalFolder', () => {
  it('reads every *.approval.json file (sorted), and lists what it did not read', () => {
    const a = serializeApproval(sign('alice', requests[0]!.request));
    const dir = folder({ 'b.approval.json': a, 'a.APPROVAL.JSON': a, 'notes.txt': 'hello', 'review-1.request.json': '{}', '._b.approval.json': 'AppleDouble junk' });
    mkdirSync(join(dir, 'sub'));
    const r = readApprovalFolder(dir);
    expect(r.files.map((f) => f.name)).toEqual(['a.APPROVAL.JSON', 'b.approval.json']);
    expect(r.files[0]!.sha256).toBe(createHash('sha256').update(a).digest('hex'));
    expect(r.ignored).toEqual(['._b.approval.json', 'notes.txt', 'review-1.request.json', 'sub']);
    expect(r.problems).toEqual([]);
  });

  it('an empty folder gives nothing', () => {
    expect(readApprovalFolder(folder({}))).toMatchObject({ files: [], ignored: [], problems: [] });
  });

  // Each hostile or damaged file is a problem named by its file and code; the good one is still read.
  // A named pipe on a custodian's medium must not hang the workstation (opened without blocking).
  const bad: Array<[string, () => string | Buffer | 'dir' | 'dangling' | 'fifo', string]> = [
    ['garbage', () => randomBytes(300), 'ERR_QUORUM_APPROVAL_INVALID'],
    ['truncated', () => serializeApproval(sign('bob', requests[0]!.request)).slice(0, 200), 'ERR_QUORUM_APPROVAL_INVALID'],
    ['not-json', () => 'approve\n', 'ERR_QUORUM_APPROVAL_INVALID'],
    ['wrong-format', () => JSON.stringify({ format: 'neam-ca/approval-request', version: 1 }), 'ERR_QUORUM_APPROVAL_INVALID'],
    ['extra-field', () => JSON.stringify({ ...sign('bob', requests[0]!.request), note: 'x' }), 'ERR_QUORUM_APPROVAL_INVALID'],
    ['oversized', () => Buffer.alloc(16 * 1024 + 1, 0x20), 'ERR_INPUT_TOO_LARGE'],
    ['a-directory', () => 'dir', 'ERR_IO'],
    ['unreadable', () => 'dangling', 'ERR_IO'],
    ['a-named-pipe', () => 'fifo', 'ERR_IO'],
  ];
  it.each(bad)('%s file: reported with its code, nothing thrown', (what, content, code) => {
    const good = serializeApproval(sign('alice', requests[0]!.request));
    const dir = folder({ 'good.approval.json': good });
    const name = `${what}.approval.json`;
    const c = content();
    if (c === 'dir') mkdirSync(join(dir, name));
    else if (c === 'dangling') symlinkSync(join(dir, 'no-such-file'), join(dir, name));
    else if (c === 'fifo') execFileSync('mkfifo', [join(dir, name)]);
    else writeFileSync(join(dir, name), c);
    const r = readApprovalFolder(dir);
    expect(r.files.map((f) => f.name)).toEqual(['good.approval.json']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ file: name, code });
    expect(r.problems[0]!.message).toContain(name);
  });

  it('file names that could move the cursor or reorder text are shown escaped, in the listing and in messages', () => {
    const dir = folder({ 'evil\u001b[2J.approval.json': randomBytes(100), 'big\u202e.approval.json': Buffer.alloc(16 * 1024 + 1, 0x20), 'notes\u202egpj.txt': 'x' });
    const r = readApprovalFolder(dir);
    expect(r.ignored).toEqual(['notes\\u{202E}gpj.txt']);
    expect(r.problems.map((p) => [p.file, p.code])).toEqual([
      ['big\\u{202E}.approval.json', 'ERR_INPUT_TOO_LARGE'],
      ['evil\\u{001B}[2J.approval.json', 'ERR_QUORUM_APPROVAL_INVALID'],
    ]);
    for (const p of r.problems) {
      expect(p.message).not.toContain('\u001b');
      expect(p.message).not.toContain('\u202e');
    }
  });

  it('refuses a folder that does not exist or is a file, and one with too many approval files', async () => {
    expect((await caught(() => readApprovalFolder(join(tmp.dir, 'nope')))).code).toBe('ERR_IO');
    const file = join(tmp.dir, 'plain.approval.json');
    writeFileSync(file, '{}');
    const notDir = await caught(() => readApprovalFolder(file));
    expect(notDir.code).toBe('ERR_IO');
    expect(notDir.message).toContain('is not a folder');
    const many = folder({});
    for (let i = 0; i <= MAX_APPROVAL_FILES; i++) writeFileSync(join(many, `${i}.approval.json`), '');
    const e = await caught(() => readApprovalFolder(many));
    expect(e.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(e.message).toContain(`${MAX_APPROVAL_FILES + 1} *.approval.json files`);
  });
});

describe('checkImportedApprovals', () => {
  const none = (): undefined => undefined;

  it('accepts approvals and valid declines of the step requests, with the request they answer', () => {
    const files = [asFile('a1', sign('alice', requests[0]!.request)), asFile('a2', sign('alice', requests[1]!.request)), asFile('b1', sign('bob', requests[0]!.request, 'decline'))];
    const r = checkImportedApprovals(q.roster, requests, files, NOW, none);
    expect(r.problems).toEqual([]);
    expect(r.accepted.map((a) => [a.file.name, a.requestIndex, a.custodian, a.decision, a.alreadyImported])).toEqual([
      ['a1', 0, 'alice', 'approve', false],
      ['a2', 1, 'alice', 'approve', false],
      ['b1', 0, 'bob', 'decline', false],
    ]);
  });

  // Table by what is wrong with the file; each is refused with its own code and counted nowhere.
  const cases: Array<[string, () => Approval, string, string]> = [
    ['requestId (another request of this quorum)', () => sign('carol', { ...requests[0]!.request, requestId: randomBytes(16).toString('hex') }), 'ERR_QUORUM_APPROVAL_FOREIGN', 'which is not one this step collects (review-1.request.json, review-2.request.json)'],
    [
      'ceremony (another ceremony)',
      () => {
        const request = createApprovalRequest({ roster: other.roster, operation: 'sign-intermediate', subject: 'intermediate A', tbsSha256: digest('intermediate A'), now: new Date('2027-01-10T09:30:00.000Z'), random: (n) => randomBytes(n) });
        return signApproval({ request, custodianFile: fileOf(other, 'carol'), approvalKey: other.approvalKeys.get('carol')!, decision: 'approve', now: NOW });
      },
      'ERR_QUORUM_APPROVAL_FOREIGN',
      "of ceremony 'other-root'",
    ],
    ['tbsSha256 (a different TBS)', () => sign('carol', { ...requests[0]!.request, tbsSha256: digest('something else') }), 'ERR_QUORUM_APPROVAL_WRONG_TBS', 'is for different content'],
    ['expiresAt (expired)', () => sign('carol', { ...requests[0]!.request, createdAt: '2027-01-01T00:00:00.000Z', expiresAt: '2027-01-02T00:00:00.000Z' }, 'approve', new Date('2027-01-01T12:00:00.000Z')), 'ERR_QUORUM_APPROVAL_EXPIRED', 'expired at 2027-01-02T00:00:00.000Z'],
    [
      'signature.publicKey (a key that is not enrolled)',
      () => {
        const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
        const statement = sign('carol', requests[0]!.request).statement;
        return { format: 'neam-ca/approval', version: 1, statement, signature: { alg: 'ECDSA-SHA256', publicKey: spkiOf(key).toString('base64'), value: softwareSigner(key, 'ECDSA-SHA256').sign(statementBytes(statement)).toString('base64') } };
      },
      'ERR_QUORUM_APPROVAL_NOT_ENROLLED',
      "which is not the approval key enrolled for 'carol'",
    ],
    ['statement.decision (changed after signing)', () => ((a) => ({ ...a, statement: { ...a.statement, decision: 'approve' as const } }))(sign('carol', requests[0]!.request, 'decline')), 'ERR_QUORUM_APPROVAL_SIGNATURE_INVALID', 'the signature does not verify'],
    ['statement.custodian (not in the roster)', () => ((a) => ({ ...a, statement: { ...a.statement, custodian: 'mallory' } }))(sign('carol', requests[0]!.request)), 'ERR_QUORUM_APPROVAL_NOT_ENROLLED', "its key belongs to 'carol'"],
  ];
  it.each(cases)('%s: refused with its code', (_what, make, code, says) => {
    const good = asFile('alice.approval.json', sign('alice', requests[0]!.request));
    const bad = asFile('carol.approval.json', parseApproval(JSON.stringify(make())));
    const r = checkImportedApprovals(q.roster, requests, [good, bad], NOW, none);
    expect(r.accepted.map((a) => a.file.name)).toEqual(['alice.approval.json']);
    expect(r.problems).toEqual([expect.objectContaining({ file: 'carol.approval.json', code })]);
    expect(r.problems[0]!.message).toContain('carol.approval.json');
    expect(r.problems[0]!.message).toContain(says);
  });

  it('the same custodian twice for one request: the second file is a duplicate', () => {
    const first = asFile('1.approval.json', sign('dave', requests[0]!.request));
    const second = asFile('2.approval.json', sign('dave', requests[0]!.request, 'approve', new Date(NOW.getTime() + 1000)));
    const other = asFile('3.approval.json', sign('dave', requests[1]!.request));
    const r = checkImportedApprovals(q.roster, requests, [first, second, other], NOW, none);
    expect(r.accepted.map((a) => a.file.name)).toEqual(['1.approval.json', '3.approval.json']);
    expect(r.problems).toEqual([expect.objectContaining({ file: '2.approval.json', code: 'ERR_QUORUM_APPROVAL_DUPLICATE', custodian: 'dave' })]);
    expect(r.problems[0]!.message).toContain('already answered request');
    expect(r.problems[0]!.message).toContain('1.approval.json');
  });

  it('an answer the store already holds: the same approval is taken as imported, a different one is a duplicate', () => {
    const recorded = sign('erin', requests[0]!.request);
    const same = asFile('same.approval.json', parseApproval(serializeApproval(recorded)));
    const lookup = (id: string, c: string): Approval | undefined => (id === requests[0]!.request.requestId && c === 'erin' ? recorded : undefined);
    expect(checkImportedApprovals(q.roster, requests, [same], NOW, lookup).accepted).toEqual([expect.objectContaining({ alreadyImported: true, custodian: 'erin' })]);
    const changed = asFile('changed.approval.json', sign('erin', requests[0]!.request, 'decline'));
    const r = checkImportedApprovals(q.roster, requests, [changed], NOW, lookup);
    expect(r.accepted).toEqual([]);
    expect(r.problems).toEqual([expect.objectContaining({ file: 'changed.approval.json', code: 'ERR_QUORUM_APPROVAL_DUPLICATE' })]);
    expect(r.problems[0]!.message).toContain('recorded by this CA');
  });
});

describe('refusedFilesError and workstationNeeds', () => {
  it('the error carries the first code by file name and names every refused file', () => {
    const e = refusedFilesError('/media/returned', [
      { file: 'z.approval.json', code: 'ERR_QUORUM_APPROVAL_EXPIRED', message: 'expired' },
      { file: 'a.approval.json', code: 'ERR_INPUT_TOO_LARGE', message: 'too large' },
    ]);
    expect(e.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(e.message).toMatch(/2 approval files in \/media\/returned were refused; nothing was imported[\s\S]*a\.approval\.json \[ERR_INPUT_TOO_LARGE\][\s\S]*z\.approval\.json \[ERR_QUORUM_APPROVAL_EXPIRED\]/u);
    expect(e.details?.['problems']).toHaveLength(2);
  });

  it('custodians who approved every request with a file count once; M minus them approve at the workstation', () => {
    const a = (requestIndex: number, custodian: string, decision: 'approve' | 'decline' = 'approve'): { requestIndex: number; custodian: string; decision: 'approve' | 'decline' } => ({ requestIndex, custodian, decision });
    expect(workstationNeeds(q.roster, 2, [])).toEqual({ allRemote: [], needed: 3 });
    expect(workstationNeeds(q.roster, 2, [a(0, 'alice'), a(1, 'alice'), a(0, 'bob'), a(1, 'bob')])).toEqual({ allRemote: ['alice', 'bob'], needed: 1 });
    // Only one of two requests with a file: still approves the other at the workstation.
    expect(workstationNeeds(q.roster, 2, [a(0, 'alice'), a(1, 'alice'), a(0, 'carol')])).toEqual({ allRemote: ['alice'], needed: 2 });
    // A decline is not an approval; names match as the roster does (case-insensitive).
    expect(workstationNeeds(q.roster, 1, [a(0, 'ALICE'), a(0, 'bob', 'decline')])).toEqual({ allRemote: ['alice'], needed: 2 });
    expect(workstationNeeds(q.roster, 1, [a(0, 'alice'), a(0, 'bob'), a(0, 'carol'), a(0, 'dave')])).toEqual({ allRemote: ['alice', 'bob', 'carol', 'dave'], needed: 0 });
  });
});
