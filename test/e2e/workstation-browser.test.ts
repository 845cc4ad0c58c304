/**
 * Browser end-to-end: the real renderer (built by Vite), served by the real loopback host (started
 * as `npm run app:browser` starts it), backed by the real core and a SoftHSM token, driven in the
 * system Chromium. Fingerprints are checked against pkcs11-tool + OpenSSL and sha256sum, not
 * against our own code. Screenshots of every main screen go to test-artifacts/screens/.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildRenderer } from '../../build/build-app.ts';
import { createSoftHsm, tempDir, TEST_USER_PIN, type SoftHsmFixture } from '../helpers/softhsm.ts';
import { runOk } from '../helpers/tools.ts';
import { launchChromium, watchPage } from './helpers/browser.ts';
import { startHost, type HostProcess } from './helpers/host.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SCREENS_DIR = join(REPO, 'test-artifacts/screens/');

const BROKEN = `ceremony-type: root\nname: first\nname: second\nkey:\n  type: [rsa-4096,\n  label: x\n`;

describe('workstation in the browser (loopback host, real core, SoftHSM)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let fx: SoftHsmFixture;
  let host: HostProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: { problems: string[] };
  let scripts: string;
  const keyLabels = { rsa: 'root-rehearsal', ec: 'transfer-rehearsal' };

  const shot = async (name: string): Promise<void> => {
    // Readable without sideways scrolling: long digests and paths wrap inside the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth), `the ${name} screen is wider than the window`).toBe(0);
    await page.screenshot({ path: join(SCREENS_DIR, `${name}.png`), fullPage: true });
  };
  const heading = (): Promise<string> => page.locator('main h2').innerText();

  beforeAll(async () => {
    mkdirSync(SCREENS_DIR, { recursive: true });
    tmp = tempDir('neam-e2e-');
    const rendererDir = await buildRenderer(join(tmp.dir, 'renderer'));
    fx = createSoftHsm('rehearsal-root');
    fx.session.generateKeyPair({ type: 'RSA', bits: 2048 }, { label: keyLabels.rsa });
    fx.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: keyLabels.ec });
    scripts = join(tmp.dir, 'ceremony-scripts');
    mkdirSync(join(scripts, 'sites'), { recursive: true });
    // The shipped root ceremony script and a site file for it: the engine accepts both.
    copyFileSync(join(REPO, 'ceremony-scripts/root.yaml'), join(scripts, 'root.yaml'));
    writeFileSync(join(scripts, 'broken.yaml'), BROKEN);
    writeFileSync(join(scripts, 'sites', 'lab-a.yaml'), readFileSync(join(REPO, 'test/fixtures/ceremonies/site-root.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(tmp.dir, 'ca')));
    host = await startHost(['--softhsm-conf', fx.conf, '--scripts', scripts, '--renderer-dir', rendererDir]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, reducedMotion: 'reduce' });
    page = await context.newPage();
    watched = watchPage(page);
    await page.goto(host.url);
    await page.locator('.mode-flag').waitFor();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await host?.stop();
    fx?.close();
    tmp?.cleanup();
  });

  it('shows the rehearsal banner and the ceremony flow in order', async () => {
    await expect.poll(() => page.locator('.mode-flag').getAttribute('data-mode')).toBe('rehearsal');
    expect(await page.locator('.mode-flag').innerText()).toMatch(/REHEARSAL[\s\S]*SoftHSM is a software token/u);
    expect(await page.locator('.app').getAttribute('class')).toContain('mode-rehearsal');
    const flow = await page.locator('nav.flow button .flow-title').allInnerTexts();
    expect(flow).toEqual(['Script & site', 'Roster check-in', 'HSM & token', 'Ceremony steps', 'Custodian shares', 'Approval review', 'Transcript', 'Final report', 'Display check']);
    expect(await page.locator('.banner .product').innerText()).toContain('browser mode');
  });

  it('lists the ceremony files and names every YAML problem with its line', async () => {
    await page.keyboard.press('Alt+1');
    expect(await heading()).toBe('Script & site');
    const files = await page.locator('.file-list button.file').allInnerTexts();
    expect(files).toEqual(['broken.yaml', 'root.yaml', 'sites/lab-a.yaml']);
    await page.getByRole('button', { name: 'broken.yaml' }).click();
    const problems = page.locator('.problems li');
    await problems.first().waitFor();
    const texts = await problems.allInnerTexts();
    expect(texts.some((t) => /Line 3, column 1[\s\S]*Map keys must be unique/u.test(t)), texts.join('\n')).toBe(true);
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.yaml-text li.line-bad[data-line="3"]').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Use as ceremony script' }).isDisabled()).toBe(true);
    await shot('script-problems');

    await page.getByRole('button', { name: 'root.yaml' }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as ceremony script' }).click();
    await page.getByRole('button', { name: 'sites/lab-a.yaml' }).click();
    await page.locator('.problems-none').waitFor();
    await page.getByRole('button', { name: 'Use as site file' }).click();
    // The fingerprint on screen is the file's SHA-256 as sha256sum computes it.
    const expected = runOk('sha256sum', [join(scripts, 'root.yaml')]).split(' ')[0]!.toUpperCase();
    const shown = (await page.locator('[data-role="script"] .fingerprint-text').allInnerTexts()).join('');
    expect(shown).toBe(expected);
    await shot('script-chosen');
  });

  it('lists the SoftHSM token from the real core, and names a wrong PIN with what to do', async () => {
    await page.keyboard.press('Alt+3');
    expect(await heading()).toBe('HSM & token');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
    const row = page.locator('tr[data-token="rehearsal-root"]');
    await row.waitFor();
    expect(await row.innerText()).toContain(fx.token.serial);
    expect(await row.locator('td.state-ok').innerText()).toBe('ready');
    await shot('hsm-status');

    await row.getByRole('button', { name: 'List keys of token rehearsal-root' }).click();
    const pin = page.locator('input[data-secret-entry="hsm-user-pin"]');
    await pin.waitFor();
    expect(await pin.getAttribute('type')).toBe('password');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-secret-entry'))).toBe('hsm-user-pin');
    await pin.fill('wrong-pin-0000');
    await pin.press('Enter');
    const error = page.locator('.error-panel[data-code="ERR_HSM_PIN_INCORRECT"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/What to do:[\s\S]*Enter the PIN again/u);
    // The field was cleared the moment it was submitted, and the token now reports the failed try.
    expect(await page.locator('input[data-secret-entry="hsm-user-pin"]').inputValue()).toBe('');
    await expect.poll(() => page.locator('tr[data-token="rehearsal-root"] td.state-warn').innerText()).toBe('a wrong PIN was entered since the last login');
    await shot('hsm-wrong-pin');
  });

  it('lists the keys after the right PIN, with protection attributes and fingerprints OpenSSL agrees with', async () => {
    await page.locator('tr[data-token="rehearsal-root"]').getByRole('button', { name: /List keys/u }).click();
    const pin = page.locator('input[data-secret-entry="hsm-user-pin"]');
    await pin.fill(TEST_USER_PIN);
    await pin.press('Enter');
    const table = page.locator('.keys-panel table');
    await table.waitFor();
    const rsaRow = table.locator('tbody tr', { has: page.locator(`th:text-is("${keyLabels.rsa}")`) }).filter({ hasText: 'private' });
    expect(await rsaRow.locator('td').allInnerTexts()).toEqual(['private', 'RSA-2048', 'yes', 'yes', 'yes', 'sign']);
    expect(await page.locator('input[data-secret-entry]').count()).toBe(0);

    for (const label of [keyLabels.rsa, keyLabels.ec]) {
      const der = join(tmp.dir, `${label}.spki.der`);
      runOk('pkcs11-tool', ['--module', fx.modulePath, '--token-label', 'rehearsal-root', '--read-object', '--type', 'pubkey', '--label', label, '-o', der], { env: fx.env });
      const oracle = runOk('openssl', ['dgst', '-sha256', '-r', der]).split(' ')[0]!.toUpperCase();
      const figure = page.locator('figure.fingerprint', { has: page.locator(`figcaption:has-text("‘${label}’")`) });
      expect((await figure.locator('.fingerprint-text').allInnerTexts()).join('')).toBe(oracle);
      expect(await figure.locator('.fingerprint-group').count()).toBe(16);
    }
    // The PIN is nowhere in the page, and the host logged no secret.
    expect(await page.content()).not.toContain(TEST_USER_PIN);
    expect(host.stdout() + host.stderr()).not.toContain(TEST_USER_PIN);
    await shot('hsm-keys');
  });

  it('points every ceremony screen to the script and site file while no ceremony is chosen', async () => {
    const screens = [
      ['roster', 2],
      ['steps', 4],
      ['shares', 5],
      ['approval', 6],
      ['transcript', 7],
      ['report', 8],
    ] as const;
    for (const [id, n] of screens) {
      await page.keyboard.press(`Alt+${n}`);
      await expect.poll(() => page.locator('main').getAttribute('data-screen')).toBe(id);
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
      expect(await page.locator('main .empty-state').innerText()).toMatch(/Choose the ceremony script and the site file first \(Script & site, Alt\+1\)/u);
    }
  });

  it('enlarges the text for reading at a distance, by keyboard', async () => {
    await page.keyboard.press('Alt+9');
    expect(await heading()).toBe('Display check');
    const size = (): Promise<number> => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    const before = await size();
    await page.keyboard.press('Alt+=');
    await page.keyboard.press('Alt+=');
    expect(await size()).toBeGreaterThan(before);
    expect(await page.locator('.digest-word').allInnerTexts()).toEqual(['SAMPLE', 'WORDS', 'ONLY', 'CHECK', 'READING', 'FROM', 'YOUR', 'SEAT']);
    await shot('display-check');
    await page.keyboard.press('Alt+-');
    await page.keyboard.press('Alt+-');
    expect(await size()).toBe(before);
  });

  it('ran without console errors, page errors, failed requests or CSP violations', () => {
    expect(watched.problems).toEqual([]);
  });

  it('cannot reach any other origin, and refuses string-to-HTML sinks (CSP, Trusted Types)', async () => {
    const probe = await context.newPage();
    const seen = watchPage(probe);
    await probe.goto(host.url);
    await probe.locator('.mode-flag').waitFor();
    const outcome = await probe.evaluate(async () => {
      const results: Record<string, string> = {};
      try {
        await fetch('http://127.0.0.1:9/');
        results['fetch'] = 'reached';
      } catch (e) {
        results['fetch'] = (e as Error).name;
      }
      try {
        document.body.innerHTML = '<b>injected</b>';
        results['innerHTML'] = 'assigned';
      } catch (e) {
        results['innerHTML'] = (e as Error).name;
      }
      try {
        const script = document.createElement('script');
        script.textContent = 'window.name = "injected"';
        document.body.append(script);
        results['script'] = 'assigned';
      } catch (e) {
        results['script'] = (e as Error).name;
      }
      return results;
    });
    expect(outcome).toEqual({ fetch: 'TypeError', innerHTML: 'TypeError', script: 'TypeError' });
    expect(seen.problems.some((p) => p.includes(`Connecting to 'http://127.0.0.1:9/' violates the following Content Security Policy directive: "connect-src 'self'"`)), seen.problems.join('\n')).toBe(true);
    expect(seen.problems.some((p) => p.includes("requires 'TrustedScript' assignment")), seen.problems.join('\n')).toBe(true);
    await probe.close();
  });
});
