/**
 * Asynchronous approval end to end (issue 4, item 5), on SoftHSM with 3-of-5 custodians: root.yaml,
 * then a variant of ceremony-scripts/intermediate.yaml whose `collect-approvals` steps set
 * `imported: true`. The run stops at the unanswered approvals-folder question after showing the
 * request files and the `neam-ca approve` command; two custodians then approve each request on
 * "their own machines" with the real `neam-ca approve` (a child process on a pseudo-terminal, since
 * it asks only at a terminal), and `ceremony resume` imports their files while the third custodian
 * approves at the workstation. Before that, resumes with a bad file among good ones are each refused
 * with the file's code and nothing imported or signed: an approval over a different TBS, an expired
 * one, one by a key that is not enrolled, one for another request, the same custodian twice,
 * garbage, an oversized file; naming a custodian who already approved with files at the
 * workstation is refused too. A kill after the approvals were collected is redone without counting
 * anyone twice. The intermediates then pass `openssl verify -x509_strict`; the CRL is approved by
 * three custodians' files alone (nobody asked at the workstation) and verifies with OpenSSL; the
 * imported files are in the ceremony folder byte for byte with their SHA-256 in the transcript,
 * which verifies. A second intermediate ceremony (where an empty folder answer leaves M to the
 * workstation) is stopped by a custodian's remote decline, which stands on resume (leaving the
 * custodian out is refused), signs nothing, is aborted, and the three transcripts verify as one
 * chain.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, loadCustodianFile, openCaHome } from '../../../core/ceremony/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { spkiOf } from '../../../core/quorum/custodian-file.ts';
import { openCustodianFile, parseApprovalRequest, serializeApproval, signApproval, statementBytes, type Approval, type ApprovalRequest, type CustodianFile } from '../../../core/quorum/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { onTerminal, type TerminalReply, type TerminalRun } from '../../helpers/pty.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { BIN, cli, REPO } from './fixture.ts';
import { ceremonyFolder, custodianPassphrase, makeRootFixture, onlineSide, rootRun, type OnlineSide, type RootFixture } from './root-fixture.ts';

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** ceremony-scripts/intermediate.yaml with `imported: true` on both collect-approvals steps. */
function importedScript(fx: RootFixture, id: string): string {
  const text = readFileSync(join(REPO, 'ceremony-scripts/intermediate.yaml'), 'utf8');
  const variant = text
    .replace('\nid: intermediate\n', `\nid: ${id}\n`)
    .replace('    params:\n      for: review\n', '    params:\n      for: review\n      imported: true\n')
    .replace('    params:\n      for: crl-prepare\n', '    params:\n      for: crl-prepare\n      imported: true\n');
  expect(variant.match(/imported: true/gu)).toHaveLength(2);
  const path = join(fx.root, `${id}.yaml`);
  writeFileSync(path, variant);
  return path;
}

/** The fixture's answers up to `steps:`, then the given steps section. */
function answers(fx: RootFixture, name: string, steps: string): string {
  const head = readFileSync(join(REPO, 'test/fixtures/ceremonies/intermediate-answers.yaml'), 'utf8').replaceAll('{{MEDIA}}', fx.media).replace(/^steps:\n[\s\S]*$/mu, '');
  const path = join(fx.root, `${name}.yaml`);
  writeFileSync(path, `${head}steps:\n${steps}`);
  return path;
}

/** Answers up to the approvals (`approve`: that step's section, or none), and `crl` for crl-approve (none: the run stops there). */
function stepsUpToApprove(fx: RootFixture, online: OnlineSide, bundle: string, approve: string, crl = ''): string {
  return [
    '  clock:\n    reference-time: workstation\n',
    `  import-request:\n    bundle: "${bundle}"\n    peer-certificate: "${online.certificatePath}"\n    peer-fingerprint: "${online.fingerprint}"\n`,
    '  review:\n    decision:\n      int-2027q1: accept\n      int-2027q2: accept\n      int-2027q3: accept\n',
    approve,
    '  sign:\n    confirm-point-of-no-return: "YES"\n',
    crl,
    `  backup:\n    destination-1: "${join(fx.root, 'backup', '1')}"\n`,
    '  close:\n    co-signers: Carol Custodian, Grace Custodian\n',
  ].join('');
}

const approveSection = (folder: string, atWorkstation = 'Erin Custodian'): string =>
  `  approve:\n    approvals-folder: "${folder}"\n    approvers: ${atWorkstation}\n    decision:\n${atWorkstation
    .split(', ')
    .map((n) => `      ${n}: approve\n`)
    .join('')}`;

/**
 * `neam-ca approve` as a custodian runs it on their own machine: the real CLI in a child process on
 * a pseudo-terminal (util-linux `script`), answering each prompt when it appears.
 */
function approveOnOwnMachine(cwd: string, args: string[], replies: TerminalReply[]): Promise<TerminalRun> {
  return onTerminal([process.execPath, BIN, 'approve', ...args], replies, { cwd });
}

interface Custodian {
  name: string;
  media: string;
  file: CustodianFile;
  path: string;
}

function custodian(fx: RootFixture, media: string): Custodian {
  const name = `${media[0]!.toUpperCase()}${media.slice(1)} Custodian`;
  const ca = openCaHome(join(fx.caDir, 'rehearsal'));
  try {
    const { file, path } = loadCustodianFile(join(fx.media, media), name, ca.currentRoster()!);
    return { name, media, file, path };
  } finally {
    ca.close();
  }
}

/**
 * A custodian's machine: the request files copied from the ceremony folder, then `neam-ca approve`
 * for each with their custodian file and the approval-key fingerprint they wrote down at enrolment.
 */
async function approveRequests(fx: RootFixture, c: Custodian, ceremonyDir: string, requestFiles: string[], decision: 'approve' | 'decline' = 'approve', machine = join(fx.root, `${c.media}-machine`)): Promise<string[]> {
  mkdirSync(machine, { recursive: true });
  const written: string[] = [];
  for (const f of requestFiles) {
    copyFileSync(join(ceremonyDir, f), join(machine, f));
    const r = await approveOnOwnMachine(machine, [f, '--custodian', c.path, '--approval-key-sha256', c.file.approvalKey.sha256], [
      { when: 'Type "approve"', send: decision },
      { when: 'your passphrase (not shown)', send: custodianPassphrase(c.media) },
    ]);
    expect(r.code, r.output).toBe(0);
    // The custodian saw the bytes decoded on their machine and the digest as words.
    expect(r.output).toContain('Decoded ON THIS MACHINE');
    expect(r.output).toContain('Read aloud:');
    expect(r.output).not.toContain(custodianPassphrase(c.media));
    const out = join(machine, f.replace(/\.request\.json$/u, `.${c.media}-custodian.approval.json`));
    expect(existsSync(out), r.output).toBe(true);
    written.push(out);
  }
  return written;
}

/** A folder of returned approval files (copies), plus extra files by name. */
function returnedFolder(fx: RootFixture, name: string, files: string[], extra: Record<string, string | Buffer> = {}): string {
  const dir = join(fx.root, 'returned', name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, f.split('/').at(-1)!));
  for (const [n, content] of Object.entries(extra)) writeFileSync(join(dir, n), content);
  return dir;
}

/** Intermediates and approvals the CA folder holds. */
function caState(fx: RootFixture, requestIds: string[]): { intermediates: number; approvals: number } {
  const ca = openCaHome(join(fx.caDir, 'rehearsal'));
  try {
    return { intermediates: ca.pki.certificates({ role: 'intermediate' }).length, approvals: requestIds.reduce((n, id) => n + ca.quorum.approvals(id).length, 0) };
  } finally {
    ca.close();
  }
}

describe('asynchronous approval: neam-ca approve on custodian machines, imported by collect-approvals (3-of-5, SoftHSM)', () => {
  let fx: RootFixture | undefined;
  let online: OnlineSide | undefined;
  afterEach(() => {
    online?.close();
    online = undefined;
    fx?.cleanup();
    fx = undefined;
  });

  // About 90 s alone (two ceremonies, a dozen runs, 12 custodian reviews): room for a loaded machine.
  it('2 remote approvals + 1 at the workstation sign the intermediates; bad files are refused with their codes and sign nothing; a remote decline stops a ceremony', { timeout: 600_000 }, async () => {
    fx = makeRootFixture();
    const root = rootRun(fx);
    expect(root.code, root.stderr.slice(-3000)).toBe(0);
    const rootDir = ceremonyFolder(fx);
    online = onlineSide(fx, rootDir);
    const bundle = online.requestBundle([
      { name: 'int-2027q1', startsInDays: 0, key: 'rsa-2048' },
      { name: 'int-2027q2', startsInDays: 0, key: 'ec-p256' },
    ]);
    const script = importedScript(fx, 'intermediate');

    // 1. The run stops at the folder question, after telling the operator what to hand out.
    const first = cli(['ceremony', 'run', script, '--site', fx.sitePath, '--rehearsal', '--answers', answers(fx, 'answers-0', stepsUpToApprove(fx, online, bundle, ''))]);
    expect(first.code, first.stderr.slice(-3000)).toBe(1);
    expect(first.stderr).toContain('error [ERR_CEREMONY_ANSWERS_INVALID]: the ceremony needs an answer to steps.approve.approvals-folder');
    const dir = ceremonyFolder(fx, 'intermediate');
    const requestFiles = ['review-1.request.json', 'review-2.request.json'];
    for (const f of requestFiles) expect(existsSync(join(dir, f))).toBe(true);
    expect(first.stderr).toContain(`Approval requests to hand to the custodians who review on their own machines (in ${dir}):`);
    for (const f of requestFiles) expect(first.stderr).toContain(`neam-ca approve ${f} --custodian <your custodian file> --approval-key-sha256 <the fingerprint you wrote down at enrolment>`);
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'approve')!.status).toBe('started');
    const requests: ApprovalRequest[] = requestFiles.map((f) => parseApprovalRequest(readFileSync(join(dir, f))));
    const ids = requests.map((r) => r.requestId);

    // 2. Carol and Dave review and approve both requests on their own machines.
    const carol = custodian(fx, 'carol');
    const dave = custodian(fx, 'dave');
    const erin = custodian(fx, 'erin');
    const carolFiles = await approveRequests(fx, carol, dir, requestFiles);
    const daveFiles = await approveRequests(fx, dave, dir, requestFiles);

    // 3. Each bad file among Carol's good ones: refused with its own code, nothing imported or signed.
    const opened = await openCustodianFile(erin.file, Secret.fromString(custodianPassphrase('erin')), { approvalKey: true });
    const erinSigns = (request: ApprovalRequest, now = new Date()): string => serializeApproval(signApproval({ request, custodianFile: erin.file, approvalKey: opened.approvalKey!, decision: 'approve', now }));
    const strangerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = ((): Approval => {
      const statement = JSON.parse(erinSigns(requests[0]!)).statement as Approval['statement'];
      return { format: 'neam-ca/approval', version: 1, statement, signature: { alg: 'ECDSA-SHA256', publicKey: spkiOf(strangerKey).toString('base64'), value: softwareSigner(strangerKey, 'ECDSA-SHA256').sign(statementBytes(statement)).toString('base64') } };
    })();
    const carolAgain = await approveRequests(fx, carol, dir, ['review-1.request.json'], 'approve', join(fx.root, 'carol-machine-2'));
    const past = new Date(Date.now() - 3 * 86_400_000);
    const bad: Array<[string, Record<string, string | Buffer>, string, string]> = [
      ['different-tbs', { 'erin.approval.json': erinSigns({ ...requests[0]!, tbsSha256: sha256('other bytes') }) }, 'ERR_QUORUM_APPROVAL_WRONG_TBS', 'is for different content'],
      ['expired', { 'erin.approval.json': erinSigns({ ...requests[0]!, createdAt: new Date(past.getTime() - 3_600_000).toISOString(), expiresAt: new Date(past.getTime() + 3_600_000).toISOString() }, past) }, 'ERR_QUORUM_APPROVAL_EXPIRED', 'expired at'],
      ['not-enrolled', { 'erin.approval.json': serializeApproval(forged) }, 'ERR_QUORUM_APPROVAL_NOT_ENROLLED', "which is not the approval key enrolled for 'Erin Custodian'"],
      ['another-request', { 'erin.approval.json': erinSigns({ ...requests[0]!, requestId: randomBytes(16).toString('hex') }) }, 'ERR_QUORUM_APPROVAL_FOREIGN', 'which is not one this step collects (review-1.request.json, review-2.request.json)'],
      // Carol approved review-1 a second time: both files are hers and genuine, but she counts once.
      ['duplicate-custodian', { 'review-1.carol-again.approval.json': readFileSync(carolAgain[0]!) }, 'ERR_QUORUM_APPROVAL_DUPLICATE', "custodian 'Carol Custodian' already answered request"],
      ['garbage', { 'garbage.approval.json': randomBytes(2000) }, 'ERR_QUORUM_APPROVAL_INVALID', 'is not UTF-8 text'],
      ['oversized', { 'big.approval.json': Buffer.alloc(17 * 1024, 0x7b) }, 'ERR_INPUT_TOO_LARGE', 'more than the 16384 allowed'],
    ];
    for (const [name, extra, code, says] of bad) {
      const folder = returnedFolder(fx, name, carolFiles, extra);
      const r = cli(['ceremony', 'resume', dir, '--answers', answers(fx, `answers-${name}`, stepsUpToApprove(fx, online, bundle, approveSection(folder)))]);
      expect(r.code, `${name}: ${r.stderr.slice(-2000)}`).toBe(1);
      expect(r.stderr, name).toContain(`error [${code}]:`);
      expect(r.stderr, name).toContain('nothing was imported and nothing will be signed');
      expect(r.stderr, name).toContain(says);
      expect(caState(fx, ids), name).toEqual({ intermediates: 0, approvals: 0 });
      expect(ceremonyStatus(dir).steps.find((s) => s.id === 'sign')!.status, name).toBe('pending');
    }

    // 4. A custodian who approved every request with a file cannot approve again at the workstation
    // (they count once). Their files were imported before the question: a resume takes them again.
    const both = returnedFolder(fx, 'good', [...carolFiles, ...daveFiles]);
    const twice = cli(['ceremony', 'resume', dir, '--answers', answers(fx, 'answers-twice', stepsUpToApprove(fx, online, bundle, approveSection(both, 'Carol Custodian, Erin Custodian')))]);
    expect(twice.code, twice.stderr.slice(-2000)).toBe(1);
    expect(twice.stderr).toContain('error [ERR_CEREMONY_ANSWERS_INVALID]');
    expect(twice.stderr).toContain('Carol Custodian already answered every request with an approval file; each custodian counts once');
    expect(caState(fx, ids)).toEqual({ intermediates: 0, approvals: 4 });

    // 5. Carol and Dave by file, Erin at the workstation: 3 of 5 for each intermediate. The first
    // attempt is killed after the approvals were collected and before the step was recorded: the
    // redo sets its files aside, takes the recorded approvals as they are, and counts each once.
    const goodAnswers = answers(fx, 'answers-good', stepsUpToApprove(fx, online, bundle, approveSection(both)));
    const killed = cli(['ceremony', 'resume', dir, '--answers', goodAnswers], { env: { NEAM_CA_FAILPOINT: 'approve:after-act' } });
    expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
    expect(caState(fx, ids)).toEqual({ intermediates: 0, approvals: 6 });
    const done = cli(['ceremony', 'resume', dir, '--answers', goodAnswers]);
    // The intermediates are signed; the run stops at the CRL's approvals-folder question.
    expect(done.code, done.stderr.slice(-4000)).toBe(1);
    expect(done.stderr).toContain('needs an answer to steps.crl-approve.approvals-folder');
    expect(done.stderr).toContain('neam-ca approve crl-prepare.request.json --custodian <your custodian file>');
    expect(done.stderr).toContain('it was already recorded by an interrupted attempt');
    const setAside = ceremonyJournal(dir).filter((e) => e.type === 'step.outputs-set-aside' && e.step === 'approve').at(-1)!.data as { files: string[] };
    expect(setAside.files.sort()).toEqual(['approve-1-carol-custodian.approval.json', 'approve-1-dave-custodian.approval.json', 'approve-1-erin-custodian.approval.json', 'approve-2-carol-custodian.approval.json', 'approve-2-dave-custodian.approval.json', 'approve-2-erin-custodian.approval.json']);
    // M minus the two who approved every request with files: one more, not one of them.
    expect(done.stderr).toContain('Custodians who review and approve (1 to 3 of Erin Custodian, Frank Custodian, Grace Custodian)');
    expect(done.stderr).toContain('3 custodians approved 2 request(s): Erin Custodian, Carol Custodian, Dave Custodian (with approval files: Carol Custodian, Dave Custodian).');
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'sign')!.status).toBe('signed');
    const rootPem = join(rootDir, 'root.pem');
    for (const n of ['int-2027q1', 'int-2027q2']) expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', rootPem, join(dir, `intermediate-${n}.pem`)])).toContain(': OK');
    expect(caState(fx, ids)).toEqual({ intermediates: 2, approvals: 6 });

    // 6. The CRL request is approved by Carol, Dave and Grace on their machines: M files, so nobody
    // is asked at the workstation; the CRL is signed and verifies with OpenSSL.
    const crlFiles = [];
    for (const c of [carol, dave, custodian(fx, 'grace')]) crlFiles.push(...(await approveRequests(fx, c, dir, ['crl-prepare.request.json'], 'approve', join(fx.root, `${c.media}-machine-crl`))));
    const crlFolder = returnedFolder(fx, 'crl', crlFiles);
    const closed = cli(['ceremony', 'resume', dir, '--answers', answers(fx, 'answers-crl', stepsUpToApprove(fx, online, bundle, approveSection(both), `  crl-approve:\n    approvals-folder: "${crlFolder}"\n`))]);
    expect(closed.code, closed.stderr.slice(-4000)).toBe(0);
    expect(closed.stderr).toContain('Carol Custodian, Dave Custodian, Grace Custodian approved every request with a file: no approval is needed at this workstation.');
    expect(closed.stderr).not.toContain('Custodians who review and approve (');
    expect(ceremonyStatus(dir).steps.every((s) => s.status === 'signed')).toBe(true);
    const crlCheck = run('openssl', ['crl', '-in', join(dir, 'root.crl'), '-CAfile', rootPem, '-noout', '-verify']);
    expect(crlCheck.status, crlCheck.stderr).toBe(0);
    expect(crlCheck.stdout + crlCheck.stderr).toContain('verify OK');

    // The imported files are in the ceremony folder byte for byte, recorded with their SHA-256 and
    // origin; the quorum decisions name the three custodians.
    const journal = ceremonyJournal(dir);
    const imports = journal.filter((e) => e.type === 'quorum.approvals-imported' && e.step === 'approve');
    const lastImport = imports.at(-1)!.data as { files: Array<{ source: string; sourceSha256: string; custodian: string; file: string; decision: string }> };
    expect(lastImport.files).toHaveLength(4);
    for (const f of [...carolFiles, ...daveFiles]) {
      const entry = lastImport.files.find((x) => x.source === f.split('/').at(-1));
      expect(entry, f).toBeDefined();
      expect(entry!.sourceSha256).toBe(sha256(readFileSync(f)));
      expect(readFileSync(join(dir, entry!.file))).toEqual(readFileSync(f));
      expect(entry!.decision).toBe('approve');
    }
    const approvals = journal.filter((e) => e.type === 'quorum.approvals' && e.step === 'approve').at(-1)!.data as { approvers: Array<{ custodian: string; origin: string }> };
    expect(approvals.approvers).toEqual([
      { custodian: 'Erin Custodian', decision: 'approve', origin: 'workstation' },
      { custodian: 'Carol Custodian', decision: 'approve', origin: 'imported' },
      { custodian: 'Dave Custodian', decision: 'approve', origin: 'imported' },
    ]);
    const decisions = journal.filter((e) => e.type === 'quorum.decision' && e.step === 'sign');
    expect(decisions).toHaveLength(2);
    for (const d of decisions) expect((d.data['approvals'] as Array<{ custodian: string }>).map((a) => a.custodian).sort()).toEqual(['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    const crlDecision = journal.find((e) => e.type === 'quorum.decision' && e.step === 'crl-sign')!;
    expect((crlDecision.data['approvals'] as Array<{ custodian: string }>).map((a) => a.custodian).sort()).toEqual(['Carol Custodian', 'Dave Custodian', 'Grace Custodian']);
    const transcript = join(dir, 'transcript.jsonl');
    const v = verifyTranscriptFile(transcript);
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.records.some((r) => r.type === 'quorum.approvals-imported')).toBe(true);

    // 7. Another intermediate ceremony: Frank declines on his machine; the import stops the step,
    // nothing is signed, and the ceremony is aborted.
    const bundle2 = online.requestBundle([{ name: 'int-2027q3', startsInDays: 0, key: 'ec-p256' }]);
    const script2 = importedScript(fx, 'intermediate-b');
    const second = cli(['ceremony', 'run', script2, '--site', fx.sitePath, '--rehearsal', '--answers', answers(fx, 'answers-b0', stepsUpToApprove(fx, online, bundle2, ''))]);
    expect(second.code, second.stderr.slice(-3000)).toBe(1);
    expect(second.stderr).toContain('needs an answer to steps.approve.approvals-folder');
    const dir2 = ceremonyFolder(fx, 'intermediate-b');
    // An empty folder answer means no files: M custodians are then needed at the workstation.
    const noFiles = cli(['ceremony', 'resume', dir2, '--answers', answers(fx, 'answers-b-none', stepsUpToApprove(fx, online, bundle2, '  approve:\n    approvals-folder: ""\n    approvers: Dave Custodian, Erin Custodian\n'))]);
    expect(noFiles.code, noFiles.stderr.slice(-3000)).toBe(1);
    expect(noFiles.stderr).toContain('No approval files: every approval is signed at this workstation.');
    expect(noFiles.stderr).toContain('steps.approve.approvers: give 3 to 5 names');
    const request2 = parseApprovalRequest(readFileSync(join(dir2, 'review-1.request.json')));
    const frank = custodian(fx, 'frank');
    const declined = await approveRequests(fx, frank, dir2, ['review-1.request.json'], 'decline');
    const withDecline = returnedFolder(fx, 'decline', [...declined, ...(await approveRequests(fx, carol, dir2, ['review-1.request.json'], 'approve', join(fx.root, 'carol-machine-b')))]);
    const stopped = cli(['ceremony', 'resume', dir2, '--answers', answers(fx, 'answers-b1', stepsUpToApprove(fx, online, bundle2, approveSection(withDecline)))]);
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(1);
    expect(stopped.stderr).toContain('error [ERR_QUORUM_APPROVAL_DECLINED]: Frank Custodian declined with an approval file; nothing will be signed');
    expect(stopped.stderr).not.toContain('Custodians who review and approve (');
    expect(caState(fx, [request2.requestId])).toEqual({ intermediates: 2, approvals: 2 });
    const record2 = ceremonyJournal(dir2).filter((e) => e.type === 'quorum.approvals-imported').at(-1)!.data as { files: Array<{ custodian: string; decision: string }> };
    expect(record2.files.map((f) => [f.custodian, f.decision]).sort()).toEqual([
      ['Carol Custodian', 'approve'],
      ['Frank Custodian', 'decline'],
    ]);
    expect(readdirSync(dir2).filter((n) => n.endsWith('.pem') && n.startsWith('intermediate-'))).toEqual([]);
    // The decline stands: a resume that leaves Frank out is refused before anyone is asked.
    const around = cli(['ceremony', 'resume', dir2, '--answers', answers(fx, 'answers-b-around', stepsUpToApprove(fx, online, bundle2, approveSection(returnedFolder(fx, 'without-frank', [withDecline + '/review-1.carol-custodian.approval.json']), 'Dave Custodian, Erin Custodian')))]);
    expect(around.code, around.stderr.slice(-3000)).toBe(1);
    expect(around.stderr).toMatch(/error \[ERR_QUORUM_APPROVAL_DECLINED\]: Frank Custodian declined review-1\.request\.json at \S+ \(recorded by this CA\); nothing will be signed\. A decline stands for this request: abort this ceremony/u);
    expect(around.stderr).not.toContain('Custodians who review and approve (');
    expect(caState(fx, [request2.requestId])).toEqual({ intermediates: 2, approvals: 2 });
    const aborted = cli(['ceremony', 'abort', dir2, '--reason', 'Frank Custodian declined the intermediate', '--answers', answers(fx, 'answers-b2', stepsUpToApprove(fx, online, bundle2, approveSection(withDecline)))]);
    expect(aborted.code, aborted.stderr.slice(-3000)).toBe(0);
    expect(ceremonyStatus(dir2).status).toBe('aborted');
    const chain = cli(['transcript', 'verify', join(rootDir, 'transcript.jsonl'), transcript, join(dir2, 'transcript.jsonl'), '--genesis']);
    expect(chain.code, chain.stdout + chain.stderr).toBe(0);
  });
});
