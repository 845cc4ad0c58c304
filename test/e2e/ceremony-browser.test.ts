/**
 * The ceremony screens end to end: the real renderer (Vite build) in the system Chromium, the real
 * loopback host (a child process, as `npm run app:browser` starts it) running core's ceremony
 * runner on SoftHSM, driven the way the people in the room drive it. One rehearsal of the shipped
 * root ceremony (3-of-5 custodians), then one of the intermediate ceremony importing an
 * `intermediate-request` bundle built by the online side (as test/core/ceremony/root-fixture.ts
 * does), ending with transcripts that verify in the app, with `neam-ca transcript verify` as one
 * chain from genesis, and certificates `openssl verify -x509_strict` accepts; then a revocation
 * ceremony (`crl.yaml`) that a custodian stops.
 *
 * Error paths on the way, each named at once with its code and what to do: an invalid script
 * (dotted paths and lines), a medium without the custodian's file, a foreign and a tampered
 * custodian file and a wrong passphrase while the custodians open the token, a declined approval
 * (nothing signed; the ceremony stops; resumed from the list of the CA folder, the decline stands),
 * and the abort of that ceremony with its reason. The first questions are answered by keyboard
 * alone; a typed passphrase is shown to be in no React state or props (a walk of the fiber tree
 * that does find an ordinary typed value). Screenshots of every main screen go to
 * test-artifacts/screens/ceremony-*.png (build/doc-images.ts makes the copies in docs/images).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildRenderer } from '../../build/build-app.ts';
import { ceremonyJournal } from '../../core/ceremony/runner.ts';
import { verifyTranscriptFile } from '../../core/transcript/index.ts';
import { onlineSide, type OnlineSide } from '../core/ceremony/root-fixture.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { run, runOk } from '../helpers/tools.ts';
import { launchChromium, watchPage } from './helpers/browser.ts';
import { answer, answerAccepted, choose, custodianKey, pickNames, questionBox, reactTreeHits, refusal, secret, signOff, waitQuestion } from './helpers/ceremony.ts';
import { startHost, type HostProcess } from './helpers/host.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SCREENS_DIR = join(REPO, 'test-artifacts/screens');
const CUSTODIANS = ['Carol Custodian', 'Dave Custodian', 'Erin Custodian', 'Frank Custodian', 'Grace Custodian'] as const;
const PASS: Record<string, string> = Object.fromEntries(CUSTODIANS.map((c) => [c, `${c.split(' ')[0]!.toLowerCase()} rehearsal passphrase`]));
const BROKEN_SCRIPT = `version: 1
ceremony-type: root
id: broken
title: A script with mistakes
roles:
  administrator:
    min: 1
    mx: 1
quorum: { m: 3, n: 2 }
steps:
  - id: gen
    title: Generate
    action: generate-key
    params: { label: k, algorithm: rsa-1024 }
  - id: close
    title: Close
    action: close
    params: { transfer-key-label: k }
`;

describe('ceremony screens in the browser: root then intermediate rehearsal (loopback host, core runner, SoftHSM)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let host: HostProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: { problems: string[] };
  let scripts: string;
  let media: string;
  let caRehearsal: string;
  let online: OnlineSide | undefined;
  let rootDir: string;
  let bundlePath: string;

  const shot = async (name: string): Promise<void> => {
    // Readable without sideways scrolling: long digests, paths and words wrap inside the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), `the ${name} screen is wider than the window`).toBe(0);
    await page.screenshot({ path: join(SCREENS_DIR, `ceremony-${name}.png`), fullPage: true });
  };
  /**
   * Verifies every closing signature of a transcript with `openssl dgst` (as
   * test/core/transcript/signatures.test.ts does): the signed body cut out of the last line with
   * sed, the transfer key's public half from its certificate (openssl x509), each co-signing
   * custodian's from the custodian file on their medium. Returns who signed, in order; a changed
   * body must be refused (the oracle can fail).
   */
  const closingSignaturesByOpenssl = (transcript: string, transferCert: string): string[] => {
    const work = join(tmp.dir, `closing-${ceremonies().length}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(work);
    const lines = readFileSync(transcript, 'utf8').trimEnd().split('\n');
    const script = String.raw`sed -n "$2p" "$1" | sed -E 's/,"signatures":\[[^]]*\]//' | tr -d '\n'`;
    const body = runOk('sh', ['-c', script, 'sh', transcript, String(lines.length)]);
    writeFileSync(join(work, 'body'), body);
    const closing = JSON.parse(lines.at(-1)!) as { type: string; data: { signers: Array<{ kind: string; name?: string; spki: string }> }; signatures: Array<{ signature: string }> };
    expect(closing.type).toBe('transcript.closed');
    writeFileSync(join(work, 'transfer.pub.pem'), runOk('openssl', ['x509', '-in', transferCert, '-noout', '-pubkey']));
    const who: string[] = [];
    for (const [i, sig] of closing.signatures.entries()) {
      const signer = closing.data.signers[i]!;
      writeFileSync(join(work, `sig${i}.der`), Buffer.from(sig.signature, 'base64'));
      let pem = join(work, 'transfer.pub.pem');
      if (signer.kind !== 'transfer') {
        const name = signer.name!;
        const file = readdirSync(mediumOf(name)).find((f) => f.startsWith('neam-custodian-'))!;
        const spki = (JSON.parse(readFileSync(join(mediumOf(name), file), 'utf8')) as { approvalKey: { spki: string } }).approvalKey.spki;
        expect(signer.spki).toBe(spki);
        writeFileSync(join(work, `c${i}.der`), Buffer.from(spki, 'base64'));
        pem = join(work, `c${i}.pem`);
        runOk('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(work, `c${i}.der`), '-out', pem]);
      }
      const ok = run('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', join(work, `sig${i}.der`), join(work, 'body')]);
      expect(ok.stdout.trim(), ok.stderr).toBe('Verified OK');
      who.push(signer.kind === 'transfer' ? 'transfer' : signer.name!);
    }
    writeFileSync(join(work, 'body-changed'), body.replace('"rehearsal":true', '"rehearsal":false'));
    expect(run('openssl', ['dgst', '-sha256', '-verify', join(work, 'transfer.pub.pem'), '-signature', join(work, 'sig0.der'), join(work, 'body-changed')]).status).not.toBe(0);
    return who;
  };
  /**
   * Chooses a shipped script with the site file, checks everyone in, starts, and passes the air-gap
   * and clock steps (as the intermediate and revocation ceremonies begin).
   */
  const startWithEveryone = async (script: string): Promise<void> => {
    await page.keyboard.press('Alt+1');
    await page.getByRole('button', { name: script, exact: true }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as ceremony script' }).click();
    await page.getByRole('button', { name: 'sites/vault-room.yaml' }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as site file' }).click();
    await page.locator('button[data-action="prepare"]').click();
    await page.locator('[data-prepared="true"]').waitFor();
    await page.locator('button[data-action="to-roster"]').click();
    for (const name of ['Alice Admin', 'Wanda Witness', 'Walter Witness', ...CUSTODIANS]) await page.getByRole('button', { name: `Check in ${name}` }).click();
    await page.locator('.start .state-ok').waitFor();
    await page.locator('button[data-action="start"]').click();
    await signOff(page, 'air-gap', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await answerAccepted(page, 'steps.clock.reference-time', 'workstation');
    await signOff(page, 'clock', { witness: 'Wanda Witness' });
  };
  const screen = (): Promise<string | null> => page.locator('main').getAttribute('data-screen');
  const ceremonies = (): string[] => readdirSync(join(caRehearsal, 'ceremonies')).sort();
  const mediumOf = (name: string): string => join(media, name.split(' ')[0]!.toLowerCase());

  beforeAll(async () => {
    mkdirSync(SCREENS_DIR, { recursive: true });
    tmp = tempDir('neam-ceremony-e2e-');
    const rendererDir = await buildRenderer(join(tmp.dir, 'renderer'));
    scripts = join(tmp.dir, 'ceremony-scripts');
    mkdirSync(join(scripts, 'sites'), { recursive: true });
    copyFileSync(join(REPO, 'ceremony-scripts/root.yaml'), join(scripts, 'root.yaml'));
    copyFileSync(join(REPO, 'ceremony-scripts/intermediate.yaml'), join(scripts, 'intermediate.yaml'));
    copyFileSync(join(REPO, 'ceremony-scripts/crl.yaml'), join(scripts, 'crl.yaml'));
    writeFileSync(join(scripts, 'broken.yaml'), BROKEN_SCRIPT);
    writeFileSync(join(scripts, 'sites', 'vault-room.yaml'), readFileSync(join(REPO, 'test/fixtures/ceremonies/site-root.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(tmp.dir, 'ca')));
    caRehearsal = join(tmp.dir, 'ca', 'rehearsal');
    media = join(tmp.dir, 'media');
    for (const c of CUSTODIANS) mkdirSync(mediumOf(c), { recursive: true });
    for (const b of ['1', '2']) mkdirSync(join(tmp.dir, 'backup', b), { recursive: true });
    host = await startHost(['--softhsm-dir', join(tmp.dir, 'workstation-hsm'), '--scripts', scripts, '--renderer-dir', rendererDir]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, reducedMotion: 'reduce' });
    page = await context.newPage();
    watched = watchPage(page);
    await page.goto(host.url);
    await page.locator('.mode-flag[data-mode="rehearsal"]').waitFor();
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await host?.stop();
    online?.close();
    tmp?.cleanup();
  });

  it('lists an invalid script’s problems with their dotted paths and lines, and refuses to use it', async () => {
    await page.keyboard.press('Alt+1');
    await page.getByRole('button', { name: 'broken.yaml' }).click();
    const problems = page.locator('.file-view .problems li');
    await problems.first().waitFor();
    const byPath = async (path: string): Promise<string> => page.locator(`.file-view .problem[data-path="${path}"]`).innerText();
    expect(await byPath('roles.administrator.mx')).toMatch(/Line 8[\s\S]*unknown field 'mx' \(did you mean 'max'\?\)/u);
    expect(await byPath('steps.0.params.algorithm')).toMatch(/Line 14[\s\S]*rsa-1024/u);
    expect(await page.locator('.file-view [data-kind]').innerText()).toContain('a ceremony script, checked by the ceremony engine');
    expect(await page.getByRole('button', { name: 'Use as ceremony script' }).isDisabled()).toBe(true);
    expect(await page.locator('.yaml-text li.line-bad[data-line="8"]').count()).toBe(1);
    await shot('script-invalid');
  });

  it('prepares root.yaml with the site file and checks everyone in', async () => {
    await page.getByRole('button', { name: 'root.yaml', exact: true }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as ceremony script' }).click();
    await page.getByRole('button', { name: 'sites/vault-room.yaml' }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as site file' }).click();
    expect((await page.locator('[data-role="script"] .fingerprint-text').allInnerTexts()).join('')).toBe(runOk('sha256sum', [join(scripts, 'root.yaml')]).split(' ')[0]!.toUpperCase());
    await page.locator('button[data-action="prepare"]').click();
    await page.locator('[data-prepared="true"]').waitFor();
    expect(await page.locator('[data-prepared="true"]').innerText()).toMatch(/NEAM CA root key ceremony \(root, 17 steps, quorum 3 of 5, point of no return at ‘root-crl-sign’\)/u);
    await shot('script-prepared');

    await page.locator('button[data-action="to-roster"]').click();
    expect(await screen()).toBe('roster');
    expect(await page.locator('tr[data-role="custodian"]').innerText()).toMatch(/exactly 5/u);
    for (const name of ['Alice Admin', 'Wanda Witness', 'Walter Witness', 'Carol Custodian', 'Dave Custodian']) await page.getByRole('button', { name: `Check in ${name}` }).click();
    await page.locator('.person-present').nth(4).waitFor();
    expect(await page.locator('button[data-action="start"]').isDisabled()).toBe(true);
    expect(await page.locator('.start .state-warn').innerText()).toBe('Still to check in: Erin Custodian, Frank Custodian, Grace Custodian.');
    await shot('roster');
    for (const name of ['Erin Custodian', 'Frank Custodian', 'Grace Custodian']) await page.getByRole('button', { name: `Check in ${name}` }).click();
    await page.locator('.start .state-ok').waitFor();
    expect(await page.locator('button[data-action="start"]').innerText()).toBe('Start the rehearsal');
  });

  it('runs the root ceremony up to the approvals: sign-offs, clock, token, five custodians enrolled one at a time, keys and certificates', async () => {
    await page.locator('button[data-action="start"]').click();
    // The frame follows the ceremony to the steps screen.
    await waitQuestion(page, 'steps.air-gap.sign-off.administrator');
    expect(await screen()).toBe('steps');
    // Keyboard only: each new question's first choice or field takes the focus.
    const focused = (): Promise<string | null> => page.evaluate(() => document.activeElement?.getAttribute('data-choice') ?? document.activeElement?.getAttribute('data-answer') ?? null);
    await expect.poll(focused).toBe('Alice Admin');
    await page.keyboard.press('Enter');
    await waitQuestion(page, 'steps.air-gap.sign-off.witness');
    await expect.poll(focused).toBe('Wanda Witness');
    await page.keyboard.press('Enter');
    const clock = await waitQuestion(page, 'steps.clock.reference-time');
    expect(await clock.locator('.clock-time').innerText()).toMatch(/^\d\d:\d\d:\d\d$/u);
    await expect.poll(focused).toBe('text');
    await page.keyboard.type('quarter past nine');
    await page.keyboard.press('Enter');
    expect(await refusal(page, 'steps.clock.reference-time', 'ERR_INPUT_INVALID')).toMatch(/What to do: Answer again as the message says; the question stays open/u);
    await answerAccepted(page, 'steps.clock.reference-time', 'workstation');
    await signOff(page, 'clock', { witness: 'Walter Witness' });
    await waitQuestion(page, 'steps.materials.hsm-bag');
    expect(await page.locator('.step-detail[data-step="materials"] .instructions').innerText()).toContain('tamper-evident bags');
    expect(await page.locator('.step-detail[data-step="materials"] .sign-offs').innerText()).toMatch(/administrator: not signed yet[\s\S]*witness: not signed yet/u);
    await shot('steps');
    await answerAccepted(page, 'steps.materials.hsm-bag', 'TEB-000101');
    await answerAccepted(page, 'steps.materials.media-bag', 'TEB-000102');
    await signOff(page, 'materials', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    // The token is initialised with temporary PINs that never leave the workstation's memory: no PIN
    // is asked; after enrolment both PINs are derived from the custodians' split secret.
    await signOff(page, 'init-token', { witness: 'Wanda Witness' });

    // Enrollment: one custodian at a time, on the shares screen.
    for (const [i, c] of CUSTODIANS.entries()) {
      const medium = custodianKey('steps.enroll', 'medium', c);
      await waitQuestion(page, medium);
      expect(await screen()).toBe('shares');
      expect(await page.locator('.custodian-now').innerText()).toBe(`Custodian ${i + 1} of 5: ${c}: come to the workstation. Nobody else looks at the keyboard.`);
      if (i === 0) {
        await answer(page, medium, join(tmp.dir, 'no-such-medium'));
        expect(await refusal(page, medium, 'ERR_NOT_FOUND')).toContain('insert and mount');
      }
      await answerAccepted(page, medium, mediumOf(c));
      const pass = custodianKey('steps.enroll', 'passphrase', c);
      if (i === 0) {
        await secret(page, pass, 'short', true);
        expect(await refusal(page, pass, 'ERR_SECRET_INVALID')).toContain('at least 12 characters');
        await shot('shares-enrollment');
      }
      await secret(page, pass, PASS[c]!, true);
    }
    await signOff(page, 'enroll', { witness: 'Walter Witness' });
    for (const c of CUSTODIANS) expect(readdirSync(mediumOf(c)).filter((f) => f.startsWith('neam-custodian-'))).toHaveLength(1);

    // The RSA-4096 root key: its public-key fingerprint in reading size.
    await waitQuestion(page, 'steps.root-key.sign-off.administrator');
    const keyDetail = page.locator('.step-detail[data-step="root-key"]');
    await keyDetail.locator('figure.fingerprint').first().waitFor();
    await shot('steps-root-key');
    await signOff(page, 'root-key', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    // The root certificate is signed only after three custodians approved its exact TBS.
    await pickNames(page, 'steps.root-cert-approve.approvers', ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    for (const c of ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']) {
      await answerAccepted(page, custodianKey('steps.root-cert-approve', 'file', c), mediumOf(c));
      const decide = custodianKey('steps.root-cert-approve', 'decision', c);
      await waitQuestion(page, decide);
      expect(await screen()).toBe('approval');
      const review = page.locator('.deciding article.review').first();
      expect(await review.locator('.review-fields').innerText()).toMatch(/REHEARSAL NEAM Root CA/u);
      const request = JSON.parse(readFileSync(join(caRehearsal, 'ceremonies', ceremonies()[0]!, 'root-cert-prepare.request.json'), 'utf8')) as { tbsSha256: string; operation: string };
      expect(request.operation).toBe('sign-root-certificate');
      expect((await review.locator('.fingerprint-text').allInnerTexts()).join('')).toBe(request.tbsSha256.toUpperCase());
      if (c === 'Carol Custodian') await shot('approval-root');
      await choose(page, decide, 'approve');
      await secret(page, custodianKey('steps.root-cert-approve', 'passphrase', c), PASS[c]!);
    }
    await signOff(page, 'root-cert-approve', { witness: 'Wanda Witness' });
    await signOff(page, 'root-cert', { administrator: 'Alice Admin', witness: 'Walter Witness' });
    await signOff(page, 'transfer-key', { witness: 'Wanda Witness' });
    await signOff(page, 'transfer-cert', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
  }, 900_000);

  it('shows each custodian the exact CRL to approve, its TBS SHA-256 in hex and in words; three approve', async () => {
    await pickNames(page, 'steps.root-crl-approve.approvers', ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    for (const c of ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']) {
      await answerAccepted(page, custodianKey('steps.root-crl-approve', 'file', c), mediumOf(c));
      const decide = custodianKey('steps.root-crl-approve', 'decision', c);
      await waitQuestion(page, decide);
      expect(await screen()).toBe('approval');
      const review = page.locator('.deciding article.review').first();
      expect(await review.locator('.review-fields').innerText()).toMatch(/CRL number/iu);
      // The TBS SHA-256 on screen is the one in the approval request written to the ceremony folder.
      const dir = join(caRehearsal, 'ceremonies', ceremonies()[0]!);
      const request = JSON.parse(readFileSync(join(dir, 'root-crl-prepare.request.json'), 'utf8')) as { tbsSha256: string; words: string[] };
      expect((await review.locator('.fingerprint-text').allInnerTexts()).join('')).toBe(request.tbsSha256.toUpperCase());
      expect(await review.locator('.digest-word').allInnerTexts()).toEqual(request.words.map((w) => w.toUpperCase()));
      if (c === 'Carol Custodian') await shot('approval-review');
      await choose(page, decide, 'approve');
      await secret(page, custodianKey('steps.root-crl-approve', 'passphrase', c), PASS[c]!);
    }
    await signOff(page, 'root-crl-approve', { witness: 'Wanda Witness' });
  }, 900_000);

  it('crosses the point of no return only on a typed YES, and completes the root ceremony', async () => {
    const ponr = 'steps.root-crl-sign.confirm-point-of-no-return';
    await waitQuestion(page, ponr);
    expect(await page.locator('.step-detail[data-step="root-crl-sign"] .ponr-warning').innerText()).toContain('Point of no return');
    await answer(page, ponr, 'yes');
    expect(await refusal(page, ponr, 'ERR_INPUT_INVALID')).toContain('type exactly YES');
    await answerAccepted(page, ponr, 'YES');
    await signOff(page, 'root-crl-sign', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await answerAccepted(page, 'steps.backup.destination-1', join(tmp.dir, 'backup', '1'));
    await answerAccepted(page, 'steps.backup.destination-2', join(tmp.dir, 'backup', '2'));
    await signOff(page, 'backup', { witness: 'Walter Witness' });
    await answerAccepted(page, 'steps.handover.token-bag', 'TEB-000103');
    await signOff(page, 'handover', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    // The close step is signed off first; then two custodians co-sign the closing record.
    await signOff(page, 'close', { administrator: 'Alice Admin', witness: 'Walter Witness' });
    await pickNames(page, 'steps.close.co-signers', ['Frank Custodian', 'Grace Custodian']);
    for (const c of ['Frank Custodian', 'Grace Custodian']) {
      await answerAccepted(page, custodianKey('steps.close', 'file', c), mediumOf(c));
      await secret(page, custodianKey('steps.close', 'passphrase', c), PASS[c]!);
    }

    // The frame brings up the report of the completed ceremony.
    await page.locator('.report[data-status="completed"]').waitFor({ timeout: 240_000 });
    expect(await screen()).toBe('report');
    expect(await page.locator('.report-rehearsal').innerText()).toContain('REHEARSAL');
    const verdict = page.locator('.report .verdict');
    expect(await verdict.getAttribute('data-ok')).toBe('true');
    expect(await verdict.innerText()).toMatch(/Transcript verified[\s\S]*the start of the CA \(first ceremony\)[\s\S]*neam-offline-transfer \(transfer key\) ✓[\s\S]*Frank Custodian \(custodian\) ✓[\s\S]*Grace Custodian \(custodian\) ✓/u);
    rootDir = join(caRehearsal, 'ceremonies', ceremonies()[0]!);
    const rootDer = runOk('openssl', ['x509', '-in', join(rootDir, 'root.pem'), '-outform', 'DER']);
    expect(rootDer.length).toBeGreaterThan(0);
    const rootFp = runOk('openssl', ['x509', '-in', join(rootDir, 'root.pem'), '-noout', '-fingerprint', '-sha256']).split('=')[1]!.trim().replaceAll(':', '');
    const shown = page.locator('.report figure.fingerprint', { has: page.locator('figcaption', { hasText: 'certificate in root.pem' }) });
    expect((await shown.locator('.fingerprint-text').allInnerTexts()).join('')).toBe(rootFp);
    await shot('report-root');

    // Independent oracles: OpenSSL (strict) on the root, `neam-ca transcript verify` on the record.
    expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', join(rootDir, 'root.pem'), join(rootDir, 'root.pem')])).toContain(': OK');
    expect(runOk('openssl', ['crl', '-in', join(rootDir, 'root.crl'), '-CAfile', join(rootDir, 'root.pem'), '-noout', '-verify'])).toBe('');
    const cliVerify = run(process.execPath, [join(REPO, 'bin/neam-ca.mjs'), 'transcript', 'verify', join(rootDir, 'transcript.jsonl'), '--genesis']);
    expect(cliVerify.status, cliVerify.stdout + cliVerify.stderr).toBe(0);
    expect(closingSignaturesByOpenssl(join(rootDir, 'transcript.jsonl'), join(rootDir, 'transfer.pem'))).toEqual(['transfer', 'Frank Custodian', 'Grace Custodian']);
  }, 900_000);

  it('shows the live transcript, record by record', async () => {
    await page.keyboard.press('Alt+7');
    const rows = page.locator('table.journal tbody tr');
    // Every journal entry of the ceremony folder, in order, and nothing else.
    const journal = ceremonyJournal(rootDir);
    expect(journal.length).toBeGreaterThan(50);
    await expect.poll(() => rows.count()).toBe(journal.length);
    expect(await rows.locator('td:first-child').allInnerTexts()).toEqual(journal.map((e) => String(e.seq)));
    expect(journal.filter((e) => e.type === 'step.completed').length).toBeGreaterThan(10);
    expect(await page.locator('table.journal tr[data-type="step.completed"]').count()).toBe(journal.filter((e) => e.type === 'step.completed').length);
    await page.locator('button[data-action="verify"]').click();
    await page.locator('.verdict[data-ok="true"]').waitFor();
    await shot('transcript');
  });

  it('saves the report as HTML and PDF into the ceremony folder', async () => {
    await page.keyboard.press('Alt+8');
    await page.locator('button[data-action="save-report"]').click();
    await page.locator('.saved[data-saved="true"] li').nth(1).waitFor({ timeout: 120_000 });
    expect(readFileSync(join(rootDir, 'transcript.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(readFileSync(join(rootDir, 'transcript.html'), 'utf8')).toContain('REHEARSAL');
    expect(await page.locator('.saved').innerText()).toContain(join(rootDir, 'transcript.pdf'));
  }, 180_000);

  it('runs the intermediate ceremony on the request bundle from the online side, to an issuance bundle and a chained transcript', async () => {
    online = onlineSide({ root: tmp.dir } as Parameters<typeof onlineSide>[0], rootDir);
    bundlePath = online.requestBundle([{ name: 'int-2027q1', startsInDays: 0, key: 'rsa-2048' }]);

    await startWithEveryone('intermediate.yaml');
    await answerAccepted(page, 'steps.import-request.peer-certificate', online.certificatePath);
    await answerAccepted(page, 'steps.import-request.peer-fingerprint', online.fingerprint);
    await answerAccepted(page, 'steps.import-request.bundle', bundlePath);
    await signOff(page, 'import-request', { administrator: 'Alice Admin', witness: 'Wanda Witness' });

    // The administrator accepts the intermediate built from the CSR, on the approval screen.
    const accept = 'steps.review.decision.int-2027q1';
    await waitQuestion(page, accept);
    expect(await screen()).toBe('approval');
    const review = page.locator('.deciding article.review');
    expect(await review.locator('.review-fields').innerText()).toMatch(/REHEARSAL NEAM Intermediate CA int-2027q1[\s\S]*spiffe:\/\/example\.org/u);
    await shot('approval-intermediate');
    await choose(page, accept, 'accept');
    await signOff(page, 'review', { administrator: 'Alice Admin', witness: 'Wanda Witness' });

    await pickNames(page, 'activation.custodians', ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    for (const c of ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']) {
      await answerAccepted(page, custodianKey('activation', 'file', c), mediumOf(c));
      await secret(page, custodianKey('activation', 'passphrase', c), PASS[c]!);
    }
    await signOff(page, 'activate', { witness: 'Wanda Witness' });
    await pickNames(page, 'steps.approve.approvers', ['Dave Custodian', 'Erin Custodian', 'Frank Custodian']);
    for (const c of ['Dave Custodian', 'Erin Custodian', 'Frank Custodian']) {
      await answerAccepted(page, custodianKey('steps.approve', 'file', c), mediumOf(c));
      await choose(page, custodianKey('steps.approve', 'decision', c), 'approve');
      await secret(page, custodianKey('steps.approve', 'passphrase', c), PASS[c]!);
    }
    await signOff(page, 'approve', { witness: 'Wanda Witness' });
    await answerAccepted(page, 'steps.sign.confirm-point-of-no-return', 'YES');
    await signOff(page, 'sign', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await pickNames(page, 'steps.crl-approve.approvers', ['Carol Custodian', 'Erin Custodian', 'Grace Custodian']);
    for (const c of ['Carol Custodian', 'Erin Custodian', 'Grace Custodian']) {
      await answerAccepted(page, custodianKey('steps.crl-approve', 'file', c), mediumOf(c));
      await choose(page, custodianKey('steps.crl-approve', 'decision', c), 'approve');
      await secret(page, custodianKey('steps.crl-approve', 'passphrase', c), PASS[c]!);
    }
    await signOff(page, 'crl-approve', { witness: 'Wanda Witness' });
    await signOff(page, 'crl-sign', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await signOff(page, 'export', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await answerAccepted(page, 'steps.backup.destination-1', join(tmp.dir, 'backup', '1'));
    await signOff(page, 'backup', { witness: 'Wanda Witness' });
    await signOff(page, 'close', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    await pickNames(page, 'steps.close.co-signers', ['Carol Custodian', 'Grace Custodian']);
    for (const c of ['Carol Custodian', 'Grace Custodian']) {
      await answerAccepted(page, custodianKey('steps.close', 'file', c), mediumOf(c));
      await secret(page, custodianKey('steps.close', 'passphrase', c), PASS[c]!);
    }

    await page.locator('.report[data-status="completed"]').waitFor({ timeout: 240_000 });
    const dir = join(caRehearsal, 'ceremonies', ceremonies().find((n) => n.endsWith('-intermediate-rehearsal'))!);
    // The issuance bundle is the one to carry out; the imported request is listed as received.
    expect(await page.locator('.report .bundle-written').count()).toBe(1);
    expect(await page.locator('.report .bundle-received[data-bundle="intermediate-request.neambundle"]').count()).toBe(1);
    const bundle = page.locator('.report .bundle-written[data-bundle="intermediate-issuance.neambundle"]');
    expect(await bundle.innerText()).toContain(join(dir, 'intermediate-issuance.neambundle'));
    const bundleSha = runOk('sha256sum', [join(dir, 'intermediate-issuance.neambundle')]).split(' ')[0]!.toUpperCase();
    expect((await bundle.locator('.fingerprint-text').allInnerTexts()).join('')).toBe(bundleSha);
    expect(await page.locator('.report .verdict').innerText()).toMatch(/Transcript verified[\s\S]*the previous ceremony .*-root-rehearsal/u);
    await shot('report-intermediate');

    // Independent oracles: the intermediate chains to the root under OpenSSL's strict checks, the
    // bundle's CMS signature verifies with stock OpenSSL, the online side imports it, and the two
    // transcripts verify as one chain from genesis with `neam-ca transcript verify`.
    const rootPem = join(rootDir, 'root.pem');
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', rootPem, join(dir, 'intermediate-int-2027q1.pem')])).toContain(': OK');
    expect(runOk('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', join(dir, 'root.crl'), '-CAfile', rootPem, join(dir, 'intermediate-int-2027q1.pem')])).toContain(': OK');
    const unpack = join(tmp.dir, 'unpacked');
    mkdirSync(unpack);
    runOk('tar', ['-xf', join(dir, 'intermediate-issuance.neambundle'), '-C', unpack]);
    runOk('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(unpack, 'manifest.json.p7s'), '-content', join(unpack, 'manifest.json'), '-CAfile', join(rootDir, 'transfer.pem'), '-purpose', 'any', '-out', '/dev/null']);
    expect(online.importBundle(join(dir, 'intermediate-issuance.neambundle'))).toEqual({ alreadyImported: false, kind: 'intermediate-issuance' });
    const chain = run(process.execPath, [join(REPO, 'bin/neam-ca.mjs'), 'transcript', 'verify', join(rootDir, 'transcript.jsonl'), join(dir, 'transcript.jsonl'), '--genesis']);
    expect(chain.status, chain.stdout + chain.stderr).toBe(0);
    expect(closingSignaturesByOpenssl(join(dir, 'transcript.jsonl'), join(rootDir, 'transfer.pem'))).toEqual(['transfer', 'Carol Custodian', 'Grace Custodian']);
    const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'));
    expect(v.ok).toBe(true);
    expect(v.rehearsal).toBe(true);
    expect(v.records.filter((r) => r.type === 'certificate.issued')).toHaveLength(1);
  }, 1_200_000);

  it('a revocation ceremony: a foreign file, a tampered file and a wrong passphrase named at once while the custodians open the token; a declined CRL stops the ceremony with nothing signed; on resume the decline stands; the ceremony is aborted with its reason', async () => {
    const intermediateDir = join(caRehearsal, 'ceremonies', ceremonies().find((n) => n.endsWith('-intermediate-rehearsal'))!);
    const serial = runOk('openssl', ['x509', '-in', join(intermediateDir, 'intermediate-int-2027q1.pem'), '-noout', '-serial']).trim().split('=')[1]!.toLowerCase();
    const openToken = async (names: readonly string[]): Promise<void> => {
      await pickNames(page, 'activation.custodians', names);
      for (const c of names) {
        await answerAccepted(page, custodianKey('activation', 'file', c), mediumOf(c));
        await secret(page, custodianKey('activation', 'passphrase', c), PASS[c]!);
      }
    };

    await startWithEveryone('crl.yaml');
    // Three custodians open the root token: a medium without Dave's file, Erin's file given for
    // Dave, a tampered file and a wrong passphrase are each named at once, and Dave tries again.
    await pickNames(page, 'activation.custodians', ['Dave Custodian', 'Erin Custodian', 'Frank Custodian']);
    const daveFile = custodianKey('activation', 'file', 'Dave Custodian');
    await answer(page, daveFile, mediumOf('Erin Custodian'));
    expect(await refusal(page, daveFile, 'ERR_NOT_FOUND')).toMatch(/erin holds no custodian files of 'Dave Custodian'[\s\S]*What to do: Dave Custodian inserts their own medium/u);
    const erinFile = join(mediumOf('Erin Custodian'), readdirSync(mediumOf('Erin Custodian')).find((f) => f.startsWith('neam-custodian-'))!);
    await answer(page, daveFile, erinFile);
    expect(await refusal(page, daveFile, 'ERR_QUORUM_SHARE_FOREIGN')).toMatch(/custodian file of 'Erin Custodian', not of 'Dave Custodian'[\s\S]*What to do:/u);
    await shot('shares-foreign');
    const daveReal = join(mediumOf('Dave Custodian'), readdirSync(mediumOf('Dave Custodian')).find((f) => f.startsWith('neam-custodian-'))!);
    const tamperedDir = join(tmp.dir, 'tampered');
    mkdirSync(tamperedDir, { recursive: true });
    const tampered = JSON.parse(readFileSync(daveReal, 'utf8')) as { shareIndex: number };
    tampered.shareIndex = tampered.shareIndex === 1 ? 2 : 1;
    writeFileSync(join(tamperedDir, 'dave.json'), JSON.stringify(tampered));
    await answer(page, daveFile, join(tamperedDir, 'dave.json'));
    expect(await refusal(page, daveFile, 'ERR_QUORUM_SHARE_TAMPERED')).toMatch(/Do not use this file/u);
    await answerAccepted(page, daveFile, mediumOf('Dave Custodian'));
    const davePass = custodianKey('activation', 'passphrase', 'Dave Custodian');
    await secret(page, davePass, 'not dave’s passphrase at all');
    expect(await refusal(page, davePass, 'ERR_QUORUM_PASSPHRASE_INCORRECT')).toMatch(/passphrase for custodian 'Dave Custodian' \([^)]*\) is not correct[\s\S]*What to do:[\s\S]*again, slowly/u);
    expect(await page.locator('input[type="password"]').inputValue()).toBe('');
    await shot('shares-wrong-passphrase');
    // A typed secret is in the masked input element only, never in React state or props, and is
    // gone from the page once sent.
    const passField = (await waitQuestion(page, davePass)).locator('input[type="password"]');
    await passField.fill(PASS['Dave Custodian']!);
    expect(await passField.inputValue()).toBe(PASS['Dave Custodian']);
    expect(await reactTreeHits(page, PASS['Dave Custodian']!)).toEqual([]);
    await passField.press('Enter');
    await page.locator('.custodian-done[data-custodian="Dave Custodian"]').waitFor({ timeout: 120_000 });
    expect(await reactTreeHits(page, PASS['Dave Custodian']!)).toEqual([]);
    expect(await page.evaluate((v) => [...document.querySelectorAll('input')].some((i) => i.value.includes(v)), PASS['Dave Custodian']!)).toBe(false);
    expect(await page.locator('.share-count').innerText()).toBe('1 of 3 shares entered');
    await shot('shares-activation');
    // The scan does see state: a path typed into an ordinary (controlled) field is found in it.
    const erinFileKey = custodianKey('activation', 'file', 'Erin Custodian');
    const erinInput = (await waitQuestion(page, erinFileKey)).locator('input[data-answer]');
    await erinInput.fill(mediumOf('Erin Custodian'));
    expect((await reactTreeHits(page, mediumOf('Erin Custodian'))).some((hit) => hit.includes('.state.'))).toBe(true);
    await erinInput.press('Enter');
    await questionBox(page, erinFileKey).waitFor({ state: 'detached', timeout: 60_000 });
    await secret(page, custodianKey('activation', 'passphrase', 'Erin Custodian'), PASS['Erin Custodian']!);
    await answerAccepted(page, custodianKey('activation', 'file', 'Frank Custodian'), mediumOf('Frank Custodian'));
    await secret(page, custodianKey('activation', 'passphrase', 'Frank Custodian'), PASS['Frank Custodian']!);

    await signOff(page, 'activate', { witness: 'Wanda Witness' });
    await answerAccepted(page, 'steps.revoke.serial', serial);
    await answerAccepted(page, 'steps.revoke.confirm', 'REVOKE');
    await signOff(page, 'revoke', { administrator: 'Alice Admin', witness: 'Wanda Witness' });
    const crlDir = join(caRehearsal, 'ceremonies', ceremonies().find((n) => n.endsWith('-crl-rehearsal'))!);

    // Carol declines after reviewing the CRL; the other two approve.
    await pickNames(page, 'steps.crl-approve.approvers', ['Carol Custodian', 'Dave Custodian', 'Erin Custodian']);
    for (const [c, decision] of [
      ['Carol Custodian', 'decline'],
      ['Dave Custodian', 'approve'],
      ['Erin Custodian', 'approve'],
    ] as const) {
      await answerAccepted(page, custodianKey('steps.crl-approve', 'file', c), mediumOf(c));
      const decide = custodianKey('steps.crl-approve', 'decision', c);
      await waitQuestion(page, decide);
      expect(await screen()).toBe('approval');
      const request = JSON.parse(readFileSync(join(crlDir, 'crl-prepare.request.json'), 'utf8')) as { tbsSha256: string };
      expect((await page.locator('.deciding article.review').first().locator('.fingerprint-text').allInnerTexts()).join('')).toBe(request.tbsSha256.toUpperCase());
      await choose(page, decide, decision);
      await secret(page, custodianKey('steps.crl-approve', 'passphrase', c), PASS[c]!);
    }
    // The decline is named, with what to do; nothing was signed.
    const declined = page.locator('.outcome .error-panel[data-code="ERR_QUORUM_APPROVAL_DECLINED"]');
    await declined.waitFor({ timeout: 120_000 });
    expect(await declined.innerText()).toMatch(/Carol Custodian declined; nothing will be signed[\s\S]*A decline stands[\s\S]*What to do:[\s\S]*abort the ceremony/u);
    expect(existsSync(join(crlDir, 'root.crl'))).toBe(false);
    await shot('approval-declined');
    await page.keyboard.press('Alt+6');
    expect(await page.locator('tr[data-decision="decline"]').innerText()).toContain('Carol Custodian');
    await shot('approval-decisions');

    // Resumed from the CA folder's list.
    await page.keyboard.press('Alt+1');
    const row = page.locator('table.ceremonies tr[data-status="running"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/interrupted \(not finished\)[\s\S]*next: crl-approve/u);
    await row.locator('button[data-action="resume"]').click();
    // The decline stands: the resumed step refuses before anyone reviews again (docs/quorum.md).
    const stands = page.locator('.outcome .error-panel[data-code="ERR_QUORUM_APPROVAL_DECLINED"]', { hasText: 'recorded by this CA' });
    await stands.waitFor({ timeout: 120_000 });
    expect(await stands.innerText()).toMatch(/Carol Custodian declined crl-prepare\.request\.json at [\s\S]*A decline stands/u);
    expect(await page.locator('[data-question="steps.crl-approve.approvers"]').count()).toBe(0);
    expect(existsSync(join(crlDir, 'root.crl'))).toBe(false);
    await shot('approval-decline-stands');

    // Aborted with its reason: three custodians open the token for the abort's inventory check and
    // the transfer key's closing signature, and two custodians co-sign the closing record.
    await page.locator('#abort-reason').fill('Carol Custodian objected to the CRL; the revocation is prepared again after review');
    await page.locator('button[data-action="abort"]').click();
    await openToken(['Carol Custodian', 'Erin Custodian', 'Grace Custodian']);
    await pickNames(page, 'steps.close.co-signers', ['Dave Custodian', 'Frank Custodian']);
    for (const c of ['Dave Custodian', 'Frank Custodian']) {
      await answerAccepted(page, custodianKey('steps.close', 'file', c), mediumOf(c));
      await secret(page, custodianKey('steps.close', 'passphrase', c), PASS[c]!);
    }
    const aborted = page.locator('.outcome-aborted');
    await aborted.waitFor({ timeout: 120_000 });
    expect(await aborted.innerText()).toMatch(/Ceremony aborted[\s\S]*0 object\(s\) destroyed; the token is as it was before the ceremony/u);
    await shot('aborted');

    // The record: the decline, the refusal on resume, the resume and the abort with its reason, in
    // a transcript that verifies and is closed by the transfer key and both co-signers (OpenSSL).
    const journal = ceremonyJournal(crlDir);
    expect(journal.filter((e) => e.type === 'step.failed').map((e) => JSON.stringify(e.data))).toEqual([expect.stringContaining('ERR_QUORUM_APPROVAL_DECLINED'), expect.stringContaining('ERR_QUORUM_APPROVAL_DECLINED')]);
    expect(journal.filter((e) => e.type === 'ceremony.resumed')).toHaveLength(1);
    expect(journal.find((e) => e.type === 'ceremony.aborted')).toMatchObject({ data: { reason: 'Carol Custodian objected to the CRL; the revocation is prepared again after review', restored: true } });
    expect(verifyTranscriptFile(join(crlDir, 'transcript.jsonl')).ok).toBe(true);
    expect(closingSignaturesByOpenssl(join(crlDir, 'transcript.jsonl'), join(rootDir, 'transfer.pem'))).toEqual(['transfer', 'Dave Custodian', 'Frank Custodian']);
  }, 1_200_000);

  it('shows the ceremony’s token with its keys on the HSM screen', async () => {
    await page.keyboard.press('Alt+3');
    await page.locator('.hsm-context').waitFor();
    expect(await page.locator('.hsm-context').innerText()).toContain(join(caRehearsal, 'softhsm'));
    await page.locator('tr[data-token="neam-root"]').waitFor();
    await shot('hsm');
  });

  it('never showed a secret, and ran without console errors or CSP violations', async () => {
    const content = await page.content();
    for (const s of Object.values(PASS)) {
      expect(content).not.toContain(s);
      expect(host.stdout() + host.stderr()).not.toContain(s);
    }
    expect(await page.locator('input[type="password"]').count()).toBe(0);
    expect(watched.problems).toEqual([]);
  });
});
