/**
 * The integration test: a full root.yaml rehearsal and then intermediate.yaml with 3-of-5
 * custodians on SoftHSM, unattended. The online side (its own bundle state, file transfer key,
 * software CSR keys) sends an intermediate-request bundle; the ceremony verifies and imports it,
 * reviews and prepares two staggered intermediates (RSA-2048 and EC P-256), collects approvals,
 * signs, issues a CRL and exports an intermediate-issuance bundle the online side imports. Every
 * certificate passes `openssl verify -x509_strict` (and GnuTLS), the bundle passes
 * `openssl cms -verify`, the transcripts of both ceremonies verify as one chain and name the record
 * when a byte is flipped, a line deleted or two lines swapped, and the printable report opens in
 * Chromium (screenshot in test-artifacts/ceremony/). crl.yaml then revokes one intermediate (OpenSSL
 * refuses it with the new CRL; the online side imports the crl bundle). A second test kills the runner right after
 * the intermediates were signed: resume never signs them again.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';

import { ceremonyJournal, ceremonyStatus, openCaHome } from '../../../core/ceremony/index.ts';
import { CHROMIUM_ARGS, verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { requireTool, run, runOk } from '../../helpers/tools.ts';
import { cli, REPO } from './fixture.ts';
import { ceremonyFolder, makeRootFixture, onlineSide, rootRun, type OnlineSide, type RootFixture } from './root-fixture.ts';

const ARTIFACTS = join(REPO, 'test-artifacts/ceremony');

function intermediateAnswers(fx: RootFixture, online: OnlineSide, bundle: string): string {
  const path = join(fx.root, 'intermediate-answers.yaml');
  writeFileSync(
    path,
    readFileSync(join(REPO, 'test/fixtures/ceremonies/intermediate-answers.yaml'), 'utf8')
      .replaceAll('{{MEDIA}}', fx.media)
      .replaceAll('{{BACKUP}}', join(fx.root, 'backup'))
      .replaceAll('{{BUNDLE}}', bundle)
      .replaceAll('{{PEER_CERT}}', online.certificatePath)
      .replaceAll('{{PEER_FP}}', online.fingerprint),
  );
  return path;
}

function intermediateRun(fx: RootFixture, answers: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof cli> {
  return cli(['ceremony', 'run', join(REPO, 'ceremony-scripts/intermediate.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', answers], { env });
}

/** Runs the root ceremony, then builds the online side and its request for two staggered intermediates. */
function rootThenRequest(fx: RootFixture): { rootDir: string; online: OnlineSide; bundle: string } {
  const root = rootRun(fx);
  expect(root.code, root.stderr.slice(-3000)).toBe(0);
  const rootDir = ceremonyFolder(fx);
  const online = onlineSide(fx, rootDir);
  const bundle = online.requestBundle([
    { name: 'int-2027q1', startsInDays: 0, key: 'rsa-2048' },
    { name: 'int-2027q2', startsInDays: 30, key: 'ec-p256' },
  ]);
  return { rootDir, online, bundle };
}

describe('root.yaml then intermediate.yaml rehearsal (3-of-5, SoftHSM, unattended)', () => {
  let fx: RootFixture | undefined;
  let online: OnlineSide | undefined;
  afterEach(() => {
    online?.close();
    online = undefined;
    fx?.cleanup();
    fx = undefined;
  });

  it('issues intermediates that OpenSSL and GnuTLS accept, a bundle the online side imports, a revocation through crl.yaml, and one verifiable transcript chain', async () => {
    fx = makeRootFixture();
    const r = rootThenRequest(fx);
    online = r.online;
    const answers = intermediateAnswers(fx, online, r.bundle);
    const result = intermediateRun(fx, answers);
    expect(result.code, result.stderr.slice(-4000)).toBe(0);
    const dir = ceremonyFolder(fx, 'intermediate');
    expect(ceremonyStatus(dir).steps.every((s) => s.status === 'signed')).toBe(true);
    const rootPem = join(r.rootDir, 'root.pem');

    // OpenSSL (strict) and GnuTLS accept both intermediates; the second starts in 30 days.
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', rootPem, join(dir, 'intermediate-int-2027q1.pem')])).toContain(': OK');
    const in40days = String(Math.floor(Date.now() / 1000) + 40 * 86_400);
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-attime', in40days, '-CAfile', rootPem, join(dir, 'intermediate-int-2027q2.pem')])).toContain(': OK');
    expect(run('openssl', ['verify', '-x509_strict', '-CAfile', rootPem, join(dir, 'intermediate-int-2027q2.pem')]).stdout + run('openssl', ['verify', '-x509_strict', '-CAfile', rootPem, join(dir, 'intermediate-int-2027q2.pem')]).stderr).toContain('not yet valid');
    expect(runOk('certtool', ['--verify-chain', '--infile', join(dir, 'intermediate-int-2027q1-chain.pem')])).toContain('Verified');
    const q1 = runOk('openssl', ['x509', '-in', join(dir, 'intermediate-int-2027q1.pem'), '-noout', '-text']);
    expect(q1).toContain('CA:TRUE, pathlen:0');
    expect(q1).toMatch(/Name Constraints: critical\s+Permitted:\s+URI:example\.org/u);
    expect(q1).toContain('Public-Key: (2048 bit)');
    expect(runOk('openssl', ['x509', '-in', join(dir, 'intermediate-int-2027q2.pem'), '-noout', '-text'])).toContain('ASN1 OID: prime256v1');
    // The new root CRL (number 2) verifies and does not revoke them.
    const crlPem = join(dir, 'root.crl');
    expect(runOk('openssl', ['crl', '-in', crlPem, '-CAfile', rootPem, '-noout', '-verify', '-crlnumber'])).toContain('crlNumber=0x02');
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', crlPem, '-CAfile', rootPem, join(dir, 'intermediate-int-2027q1.pem')])).toContain(': OK');

    // The issuance bundle verifies with stock OpenSSL against the offline transfer certificate, and
    // the online side imports it (its checks: chain to the pinned root, answers to our CSRs).
    const unpack = join(fx.root, 'unpacked');
    mkdirSync(unpack);
    runOk('tar', ['-xf', join(dir, 'intermediate-issuance.neambundle'), '-C', unpack]);
    runOk('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(unpack, 'manifest.json.p7s'), '-content', join(unpack, 'manifest.json'), '-CAfile', join(r.rootDir, 'transfer.pem'), '-purpose', 'any', '-out', '/dev/null']);
    expect(online.importBundle(join(dir, 'intermediate-issuance.neambundle'))).toEqual({ alreadyImported: false, kind: 'intermediate-issuance' });

    // Both transcripts verify with their co-signatures, as one chain from genesis.
    const t1 = join(r.rootDir, 'transcript.jsonl');
    const t2 = join(dir, 'transcript.jsonl');
    const v2 = verifyTranscriptFile(t2);
    expect(v2.ok, v2.problem?.message).toBe(true);
    expect(v2.previousHead).toBe(verifyTranscriptFile(t1).head);
    expect(v2.records.filter((x) => x.type === 'certificate.issued')).toHaveLength(2);
    expect(v2.records.filter((x) => x.type === 'quorum.decision')).toHaveLength(3);
    const chain = cli(['transcript', 'verify', t1, t2, '--genesis']);
    expect(chain.code, chain.stdout + chain.stderr).toBe(0);

    // Tampering is named by record: a flipped byte, a deleted line, two swapped lines.
    const text = readFileSync(t2, 'utf8');
    const lines = text.split('\n').filter((l) => l !== '');
    const tampered = join(fx.root, 'tampered.jsonl');
    const verifyTampered = (content: string | Buffer): string => {
      writeFileSync(tampered, content);
      const v = cli(['transcript', 'verify', tampered]);
      expect(v.code).toBe(1);
      return v.stdout + v.stderr;
    };
    const flip = Buffer.from(text);
    const at = text.indexOf('"type":"certificate.issued"');
    flip[at + 3] = flip[at + 3]! ^ 0x01;
    const flippedLine = text.slice(0, at).split('\n').length;
    expect(verifyTampered(flip)).toMatch(new RegExp(`ERR_TRANSCRIPT_RECORD_CHANGED.*record ${flippedLine}\\b`, 'su'));
    expect(verifyTampered(`${[...lines.slice(0, 20), ...lines.slice(21)].join('\n')}\n`)).toMatch(/ERR_TRANSCRIPT_RECORD_MISSING.*record 21\b/su);
    const swapped = [...lines];
    [swapped[30], swapped[31]] = [swapped[31]!, swapped[30]!];
    expect(verifyTampered(`${swapped.join('\n')}\n`)).toMatch(/ERR_TRANSCRIPT_RECORD_REORDERED.*record 31\b/su);

    // crl.yaml revokes the first intermediate; the online side imports the CRL bundle and
    // OpenSSL then refuses the revoked intermediate.
    const ca = openCaHome(join(fx.caDir, 'rehearsal'));
    let serial: string;
    try {
      serial = ca.pki.certificates({ role: 'intermediate' }).find((c) => c.subject.includes('int-2027q1'))!.serial;
    } finally {
      ca.close();
    }
    const crlAnswers = join(fx.root, 'crl-answers.yaml');
    writeFileSync(
      crlAnswers,
      readFileSync(answers, 'utf8')
        .replace(/^steps:\n[\s\S]*$/mu, '')
        .concat(
          `steps:\n  clock:\n    reference-time: workstation\n  revoke:\n    serial: "${serial}"\n    confirm: REVOKE\n  crl-approve:\n    approvers: Carol Custodian, Dave Custodian, Erin Custodian\n    decision:\n      Carol Custodian: approve\n      Dave Custodian: approve\n      Erin Custodian: approve\n  crl-sign:\n    confirm-point-of-no-return: "YES"\n  close:\n    co-signers: Dave Custodian, Frank Custodian\n`,
        ),
    );
    const crlRun = cli(['ceremony', 'run', join(REPO, 'ceremony-scripts/crl.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', crlAnswers]);
    expect(crlRun.code, crlRun.stderr.slice(-4000)).toBe(0);
    const crlDir = ceremonyFolder(fx, 'crl');
    const newCrl = join(crlDir, 'root.crl');
    expect(runOk('openssl', ['crl', '-in', newCrl, '-CAfile', rootPem, '-noout', '-verify', '-crlnumber'])).toContain('crlNumber=0x03');
    const revoked = run('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', newCrl, '-CAfile', rootPem, join(dir, 'intermediate-int-2027q1.pem')]);
    expect(revoked.status).not.toBe(0);
    expect(revoked.stdout + revoked.stderr).toContain('certificate revoked');
    expect(online.importBundle(join(crlDir, 'crl.neambundle'))).toEqual({ alreadyImported: false, kind: 'crl' });
    const t3 = join(crlDir, 'transcript.jsonl');
    const all = cli(['transcript', 'verify', t1, t2, t3, '--genesis']);
    expect(all.code, all.stdout + all.stderr).toBe(0);

    // The printable report of the intermediate ceremony opens in Chromium (screenshot kept).
    mkdirSync(ARTIFACTS, { recursive: true });
    const html = join(fx.root, 'intermediate-report.html');
    const report = cli(['transcript', 'report', t2, '--out', html]);
    expect(report.code, report.stderr).toBe(0);
    requireTool('chromium');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
      await page.goto(pathToFileURL(html).href);
      expect(await page.locator('.status-word').innerText()).toBe('VERIFIED');
      expect(await page.locator('#rehearsal-banner').isVisible()).toBe(true);
      expect(await page.locator('#steps').innerText()).toContain('Sign the approved intermediates with the root key');
      await page.screenshot({ path: join(ARTIFACTS, 'intermediate-report-top.png') });
      await page.screenshot({ path: join(ARTIFACTS, 'intermediate-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(readFileSync(join(ARTIFACTS, 'intermediate-report.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('killed right after the intermediates were signed: resume takes them from the CA store, never signs twice', () => {
    fx = makeRootFixture();
    const r = rootThenRequest(fx);
    online = r.online;
    const answers = intermediateAnswers(fx, online, r.bundle);
    const killed = intermediateRun(fx, answers, { NEAM_CA_FAILPOINT: 'sign:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx, 'intermediate');
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'sign')!.status).toBe('started');
    const resumed = cli(['ceremony', 'resume', dir, '--answers', answers]);
    expect(resumed.code, resumed.stderr.slice(-4000)).toBe(0);
    expect(resumed.stderr).toContain('2 intermediate(s) signed before the interruption are taken from the CA store');
    const ca = openCaHome(join(fx.caDir, 'rehearsal'));
    try {
      expect(ca.pki.certificates({ role: 'intermediate' })).toHaveLength(2);
    } finally {
      ca.close();
    }
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'certificate.issued')).toHaveLength(2);
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', join(r.rootDir, 'root.pem'), join(dir, 'intermediate-int-2027q1.pem')])).toContain(': OK');
    expect(verifyTranscriptFile(join(dir, 'transcript.jsonl')).ok).toBe(true);
    expect(online.importBundle(join(dir, 'intermediate-issuance.neambundle')).kind).toBe('intermediate-issuance');

    // The online side then asks, in a revocation-request bundle, to revoke the second intermediate.
    const q2 = readFileSync(join(dir, 'intermediate-int-2027q2.pem'), 'utf8');
    const request = online.revocationBundle(q2, 'superseded');
    const revAnswers = join(fx.root, 'revocation-answers.yaml');
    writeFileSync(
      revAnswers,
      readFileSync(answers, 'utf8')
        .replace(/^steps:\n[\s\S]*$/mu, '')
        .concat(
          `steps:\n  clock:\n    reference-time: workstation\n  import-request:\n    bundle: "${request}"\n  revoke:\n    confirm:\n      "1": REVOKE\n  crl-approve:\n    approvers: Carol Custodian, Dave Custodian, Erin Custodian\n    decision:\n      Carol Custodian: approve\n      Dave Custodian: approve\n      Erin Custodian: approve\n  crl-sign:\n    confirm-point-of-no-return: "YES"\n  close:\n    co-signers: Grace Custodian\n`,
        ),
    );
    const rev = cli(['ceremony', 'run', join(REPO, 'test/fixtures/ceremonies/crl-from-request.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', revAnswers]);
    expect(rev.code, rev.stderr.slice(-4000) + rev.stdout.slice(-2000)).toBe(0);
    const revDir = ceremonyFolder(fx, 'crl-request');
    const in40days = String(Math.floor(Date.now() / 1000) + 40 * 86_400);
    const refused = run('openssl', ['verify', '-x509_strict', '-attime', in40days, '-crl_check', '-CRLfile', join(revDir, 'root.crl'), '-CAfile', join(r.rootDir, 'root.pem'), join(dir, 'intermediate-int-2027q2.pem')]);
    expect(refused.stdout + refused.stderr).toContain('certificate revoked');
    expect(online.importBundle(join(revDir, 'crl.neambundle')).kind).toBe('crl');
  });
});
