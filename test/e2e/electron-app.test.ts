/**
 * The desktop app itself, through Playwright's `_electron`, where the Electron binary is installed:
 * launches the production bundles (build/build-app.ts) against a SoftHSM token, checks the window and
 * that the page has only the frozen `window.api` and no Node, that
 * the UI works over IPC, and saves a screenshot. Where the binary is missing (npm installs skip it
 * when GitHub is unreachable) this is the one test that is skipped, and it says why.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildElectron, buildRenderer } from '../../build/build-app.ts';
import { findElectronBinary } from '../../electron/electron-binary.ts';
import { createSoftHsm, tempDir, type SoftHsmFixture } from '../helpers/softhsm.ts';

const binary = findElectronBinary();
if (!binary.found) {
  console.warn(`[electron-app.test.ts] SKIPPED: the Electron binary is not installed (${binary.reason}). The same UI and contract are tested in Chromium through the loopback host (workstation-browser.test.ts, and a full rehearsal in ceremony-browser.test.ts).`);
}

describe.skipIf(!binary.found)('the Electron app (Playwright _electron)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let fx: SoftHsmFixture;
  let app: ElectronApplication;

  beforeAll(async () => {
    tmp = tempDir('neam-electron-');
    const out = join(tmp.dir, 'dist');
    await buildRenderer(join(out, 'renderer'));
    await buildElectron(join(out, 'electron'));
    fx = createSoftHsm('desktop-token');
    fx.session.logout();
    app = await _electron.launch({
      executablePath: binary.found ? binary.path : '',
      args: [join(out, 'electron', 'main.mjs'), '--softhsm-conf', fx.conf, '--scripts', tmp.dir],
      env: { ...process.env, ELECTRON_DISABLE_SECURITY_WARNINGS: '' },
    });
  });
  afterAll(async () => {
    await app?.close();
    fx?.close();
    tmp?.cleanup();
  });

  it('opens one sandboxed, isolated window without Node, on the neam:// scheme', async () => {
    const page = await app.firstWindow();
    await page.locator('.mode-flag').waitFor();
    expect(page.url()).toBe('neam://workstation/index.html');
    // No Node in the page, and window.api is the context bridge's frozen copy (context isolation).
    expect(
      await page.evaluate(() => {
        const w = window as unknown as { api?: object; require?: unknown; process?: unknown };
        return { api: typeof w.api, frozen: w.api !== undefined && Object.isFrozen(w.api), require: typeof w.require, process: typeof w.process };
      }),
    ).toEqual({ api: 'object', frozen: true, require: 'undefined', process: 'undefined' });
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    expect(await page.locator('.mode-flag').getAttribute('data-mode')).toBe('rehearsal');
    expect(await page.locator('.banner .product').innerText()).toContain('desktop');
  });

  it('lists the SoftHSM token over IPC', async () => {
    const page = await app.firstWindow();
    await page.keyboard.press('Alt+3');
    await page.locator('tr[data-token="desktop-token"]').waitFor();
    const dir = new URL('../../test-artifacts/screens/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'electron-hsm.png') });
  });

  it('refuses to navigate or open windows', async () => {
    const page = await app.firstWindow();
    await page.evaluate(() => {
      window.open('https://example.com/');
      location.href = 'https://example.com/';
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(page.url()).toBe('neam://workstation/index.html');
    expect(app.windows()).toHaveLength(1);
  });
});
