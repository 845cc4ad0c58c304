/**
 * Issue 4 for the root certificate, through the shipped root.yaml on SoftHSM and the real CLI: the
 * root is signed only after M custodians approved its exact TBS (`root-cert-prepare`,
 * `root-cert-approve`, `root-cert`). A decline stops the ceremony before the signing step starts
 * (no root.pem, no root in the CA store, the token asked for no signature); approvals that are no
 * longer valid when the root is signed are refused by the signing step itself (the token's
 * signature count does not move); an approval file changed between the steps is refused on
 * resume; and the digest the custodians approved is the TBS of the issued root.pem as OpenSSL cuts
 * it out.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, openCaHome, startCeremony, type CeremonyEvent, type CeremonyIo, type JournalEntry, type StartOptions } from '../../../core/ceremony/index.ts';
import { isCoreError } from '../../../core/errors.ts';
import { openHsm, type HsmModule } from '../../../core/hsm/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { cli, fileIo, REPO } from './fixture.ts';
import { ceremonyFolder, makeRootFixture, rootRun, type RootFixture } from './root-fixture.ts';

const ROOT_SCRIPT = join(REPO, 'ceremony-scripts/root.yaml');

/** SHA-256 of the tbsCertificate of a PEM certificate, cut out by OpenSSL's own DER parser. */
function tbsSha256ByOpenssl(pemPath: string, scratch: string): string {
  const der = join(scratch, 'root-under-test.der');
  runOk('openssl', ['x509', '-in', pemPath, '-outform', 'DER', '-out', der]);
  // The second line of asn1parse is the certificate's first element: the TBSCertificate SEQUENCE.
  const line = runOk('openssl', ['asn1parse', '-inform', 'DER', '-in', der]).split('\n')[1] ?? '';
  const m = /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)\s+cons: SEQUENCE/u.exec(line);
  if (m === null) throw new Error(`unexpected asn1parse output: ${line}`);
  const [off, hl, len] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return runOk('openssl', ['dgst', '-sha256', '-r'], { input: readFileSync(der).subarray(off, off + hl + len) }).split(' ')[0]!;
}

/** The answers with `root-cert-approve`'s decision for `custodian` changed to `decision`. */
function withRootCertDecision(fx: RootFixture, custodian: string, decision: 'decline'): void {
  const text = readFileSync(fx.answersPath, 'utf8');
  const block = /( {2}root-cert-approve:\n(?: {4}.*\n)+)/u.exec(text)?.[1];
  if (block === undefined || !block.includes(`${custodian}: approve`)) throw new Error('the root answers have no root-cert-approve block for this custodian');
  writeFileSync(fx.answersPath, text.replace(block, block.replace(`${custodian}: approve`, `${custodian}: ${decision}`)));
}

function rootsInStore(fx: RootFixture): number {
  const ca = openCaHome(join(fx.caDir, 'rehearsal'));
  try {
    return ca.pki.certificates({ role: 'root' }).length;
  } finally {
    ca.close();
  }
}

/** The signing step never started: the HSM was never asked for the root signature. */
function expectRootCertNeverStarted(dir: string, journal: JournalEntry[]): void {
  expect(ceremonyStatus(dir).steps.find((s) => s.id === 'root-cert')!.status).toBe('pending');
  expect(journal.some((e) => e.step === 'root-cert')).toBe(false);
  expect(existsSync(join(dir, 'root.pem'))).toBe(false);
}

describe('root.yaml: the root certificate is signed only under a quorum over its exact TBS (SoftHSM)', () => {
  let fx: RootFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('a custodian declining at root-cert-approve stops the ceremony with ERR_QUORUM_APPROVAL_DECLINED: no root.pem, no root in the CA store, no signature; resume refuses again', () => {
    fx = makeRootFixture();
    withRootCertDecision(fx, 'Dave Custodian', 'decline');
    const r = rootRun(fx);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[ERR_QUORUM_APPROVAL_DECLINED]');
    expect(r.stderr).toContain('Dave Custodian declined');
    const dir = ceremonyFolder(fx);
    const view = ceremonyStatus(dir);
    expect(view.steps.find((s) => s.id === 'root-cert-prepare')!.status).toBe('signed');
    expect(view.steps.find((s) => s.id === 'root-cert-approve')!.status).not.toBe('signed');
    const journal = ceremonyJournal(dir);
    expectRootCertNeverStarted(dir, journal);
    expect(rootsInStore(fx)).toBe(0);
    // The decline is on the record, for the digest that was prepared.
    const prepared = journal.find((e) => e.type === 'root-certificate.prepared')!.data as { tbsSha256: string; requestId: string };
    const approvals = journal.find((e) => e.type === 'quorum.approvals')!.data as { requests: Array<{ requestId: string; tbsSha256: string; operation: string }>; approvers: Array<{ custodian: string; decision: string }> };
    expect(approvals.requests).toEqual([expect.objectContaining({ requestId: prepared.requestId, tbsSha256: prepared.tbsSha256, operation: 'sign-root-certificate' })]);
    expect(approvals.approvers).toContainEqual({ custodian: 'Dave Custodian', decision: 'decline' });

    // A decline stands: resuming (even with everyone approving now) does not collect around it.
    const approving = readFileSync(fx.answersPath, 'utf8').replace('Dave Custodian: decline', 'Dave Custodian: approve');
    writeFileSync(fx.answersPath, approving);
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain('[ERR_QUORUM_APPROVAL_DECLINED]');
    expectRootCertNeverStarted(dir, ceremonyJournal(dir));
    expect(rootsInStore(fx)).toBe(0);
  });

  it('approvals no longer valid when root-cert signs are refused by root-cert itself (ERR_QUORUM_APPROVAL_EXPIRED): the HSM signs nothing, no root is recorded or written', async () => {
    fx = makeRootFixture();
    // The clock moves 25 hours on when root-cert starts: the three approvals (valid 24 hours,
    // approval-valid-hours' default) were checked by root-cert-approve and have now expired.
    let offsetMs = 0;
    let signaturesBefore: number | undefined;
    const modules: HsmModule[] = [];
    // Modules opened on the same library share one counter; a counter first seen later starts at 0.
    const signatures = (): number => [...new Set(modules.map((m) => m.stats))].reduce((n, s) => n + s.signatures, 0);
    const events: CeremonyEvent[] = [];
    const io = fileIo(readFileSync(fx.answersPath, 'utf8'), fx.answersPath, { scriptPath: ROOT_SCRIPT }, true, events);
    const watching: CeremonyIo = {
      ...io,
      event: (e) => {
        if (e.type === 'step.started' && e.step === 'root-cert') {
          offsetMs = 25 * 3_600_000;
          signaturesBefore = signatures();
        }
        io.event(e);
      },
    };
    const scriptBytes = readFileSync(ROOT_SCRIPT);
    const options: StartOptions = { scriptBytes, scriptSource: ROOT_SCRIPT, siteBytes: readFileSync(fx.sitePath), siteSource: fx.sitePath, siteBaseDir: dirname(fx.sitePath), rehearsal: true };
    const failed = await startCeremony(options, {
      io: watching,
      software: 'neam-ca test',
      now: () => new Date(Date.now() + offsetMs),
      openHsm: (config) => {
        const m = openHsm(config);
        modules.push(m);
        return m;
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCoreError(failed, 'ERR_QUORUM_APPROVAL_EXPIRED'), String(failed)).toBe(true);
    expect((failed as Error).message).toMatch(/nothing was signed/iu);
    expect(signaturesBefore).toBeDefined();
    expect(signatures()).toBe(signaturesBefore);
    const dir = ceremonyFolder(fx);
    expect(existsSync(join(dir, 'root.pem'))).toBe(false);
    expect(rootsInStore(fx)).toBe(0);
    expect(ceremonyJournal(dir).some((e) => e.type === 'certificate.issued' || e.type === 'quorum.decision')).toBe(false);
  });

  it('an approval file changed between root-cert-approve and root-cert is refused on resume: nothing signed or recorded', () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'root-cert-approve:after-signed' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'root-cert-approve')!.status).toBe('signed');
    // Dave's approval replaced by a copy of Carol's: only two distinct custodians would remain.
    copyFileSync(join(dir, 'root-cert-approve-1-carol-custodian.approval.json'), join(dir, 'root-cert-approve-1-dave-custodian.approval.json'));
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain('[ERR_CEREMONY_RECONCILE_FAILED]');
    expect(resumed.stderr).toContain("root-cert-approve-1-dave-custodian.approval.json: changed since step 'root-cert-approve' recorded it");
    expectRootCertNeverStarted(dir, ceremonyJournal(dir));
    expect(rootsInStore(fx)).toBe(0);
  });

  it('killed right after root-cert signed: resume adopts the recorded root (the approved TBS), signs nothing again', () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'root-cert:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'root-cert')!.status).toBe('started');
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toMatch(/root certificate [0-9a-f]{64} was issued and recorded before the interruption; adopted/u);
    expect(rootsInStore(fx)).toBe(1);
    const journal = ceremonyJournal(dir);
    expect(journal.find((e) => e.type === 'step.completed' && e.step === 'root-cert')!.data).toMatchObject({ how: 'adopted' });
    expect(journal.filter((e) => e.type === 'quorum.decision' && e.data['operation'] === 'sign-root-certificate')).toHaveLength(1);
    const root = join(dir, 'root.pem');
    expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', root, root])).toContain('OK');
    expect(tbsSha256ByOpenssl(root, fx.root)).toBe((journal.find((e) => e.type === 'root-certificate.prepared')!.data as { tbsSha256: string }).tbsSha256);
  });

  it('the transcript records the approvals and the quorum decision for the TBS SHA-256 of the issued root.pem (as OpenSSL computes it)', () => {
    fx = makeRootFixture();
    const r = rootRun(fx);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const dir = ceremonyFolder(fx);
    const root = join(dir, 'root.pem');
    expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', root, root])).toContain('OK');
    const tbs = tbsSha256ByOpenssl(root, fx.root);

    const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'));
    expect(v.ok, v.problem?.message).toBe(true);
    const prepared = v.records.filter((x) => x.type === 'root-certificate.prepared');
    expect(prepared).toHaveLength(1);
    expect(prepared[0]!.data['tbsSha256']).toBe(tbs);
    const approvals = v.records.filter((x) => x.type === 'quorum.approvals').map((x) => x.data as { requests: Array<{ operation: string; tbsSha256: string; requestId: string; files: string[] }>; approvers: Array<{ custodian: string; decision: string }> });
    const forRoot = approvals.filter((a) => a.requests.some((q) => q.operation === 'sign-root-certificate'));
    expect(forRoot).toHaveLength(1);
    expect(forRoot[0]!.requests).toEqual([expect.objectContaining({ operation: 'sign-root-certificate', tbsSha256: tbs, requestId: prepared[0]!.data['requestId'] })]);
    expect(forRoot[0]!.requests[0]!.files).toHaveLength(3);
    expect(forRoot[0]!.approvers).toEqual(['Carol Custodian', 'Dave Custodian', 'Erin Custodian'].map((custodian) => ({ custodian, decision: 'approve' })));
    const decisions = v.records.filter((x) => x.type === 'quorum.decision' && x.data['operation'] === 'sign-root-certificate');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]!.data).toMatchObject({ tbsSha256: tbs, threshold: 3 });
    expect((decisions[0]!.data['approvals'] as Array<{ custodian: string }>).map((a) => a.custodian).sort()).toEqual(['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    const issued = v.records.filter((x) => x.type === 'certificate.issued').map((x) => x.data['certificate'] as { role: string; tbsSha256: string });
    expect(issued.find((c) => c.role === 'root')!.tbsSha256).toBe(tbs);
    // The request file the custodians reviewed names the same digest.
    const request = JSON.parse(readFileSync(join(dir, 'root-cert-prepare.request.json'), 'utf8')) as { operation: string; tbsSha256: string };
    expect(request).toMatchObject({ operation: 'sign-root-certificate', tbsSha256: tbs });
  });
});
