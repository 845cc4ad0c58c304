/**
 * Contract events reach the renderer: an `app.navigate` event emitted by the loopback host (the
 * same emitter the Electron menu uses over IPC) switches the screen of the real renderer in
 * Chromium, through the event stream of the browser-mode transport.
 */
import { join } from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildRenderer } from '../../build/build-app.ts';
import { createHandlers } from '../../electron/host/handlers/index.ts';
import { createRouter } from '../../electron/host/router.ts';
import { contract } from '../../electron/ipc/contract.ts';
import { startLoopbackHost, type LoopbackHost } from '../../electron/loopback/server.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { recordingLogger, testConfig, testDeps } from '../electron/helpers.ts';
import { launchChromium, watchPage } from './helpers/browser.ts';

describe('contract events in the browser', () => {
  let tmp: ReturnType<typeof tempDir>;
  let host: LoopbackHost;
  let browser: Browser;

  beforeAll(async () => {
    tmp = tempDir('neam-events-');
    const rendererDir = await buildRenderer(join(tmp.dir, 'renderer'));
    const { logger } = recordingLogger();
    const router = createRouter(contract, createHandlers(testDeps(testConfig({ scripts: [tmp.dir], modulePath: '/nonexistent/libpkcs11.so', rehearsal: { on: false, reason: null } }), logger)), logger);
    host = await startLoopbackHost({ router, rendererDir, logger });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await host?.close();
    tmp?.cleanup();
  });

  it('app.navigate from the host switches the screen', async () => {
    const page = await browser.newPage();
    const watched = watchPage(page);
    await page.goto(host.url);
    await page.locator('.mode-flag[data-mode="live"]').waitFor();
    expect(await page.locator('main').getAttribute('data-screen')).toBe('script');
    // The subscription is made on mount; give the event stream a moment to connect.
    await expect.poll(async () => {
      host.emit.app.navigate({ screen: 'transcript' });
      return page.locator('main').getAttribute('data-screen');
    }).toBe('transcript');
    expect(await page.locator('main h2').innerText()).toBe('Transcript');
    expect(watched.problems).toEqual([]);
  });

  it('a live ceremony is marked as such, and a missing HSM module says what to do', async () => {
    const page = await browser.newPage();
    await page.goto(host.url);
    expect(await page.locator('.mode-flag').innerText()).toMatch(/LIVE CEREMONY/u);
    await page.keyboard.press('Alt+3');
    const error = page.locator('.error-panel[data-code="ERR_HSM_MODULE_NOT_FOUND"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/What to do:[\s\S]*--module/u);
    await page.screenshot({ path: new URL('../../test-artifacts/screens/live-hsm-missing.png', import.meta.url).pathname, fullPage: true });
  });
});
