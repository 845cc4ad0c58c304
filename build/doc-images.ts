/**
 * Copies the browser tests' screenshots (`test-artifacts/screens/`, written by
 * `test/e2e/ceremony-browser.test.ts` and `test/e2e/workstation-browser.test.ts`) into
 * `docs/images/` at a size fit for the documentation: the top of each screen, scaled to 60 %, by the
 * system Chromium (no image library is installed on the build machines). Run it after the browser
 * tests:
 *
 *   npx vitest run test/e2e/ceremony-browser.test.ts && node --import tsx build/doc-images.ts
 *
 * Must never: download a browser, or write anywhere but docs/images/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const REPO = new URL('../', import.meta.url).pathname;
const SCREENS = join(REPO, 'test-artifacts/screens');
const IMAGES = join(REPO, 'docs/images');
const SCALE = 0.6;

/** Screenshot → documentation image, with the height of the original kept (pixels, before scaling). */
const COPIES: ReadonlyArray<readonly [source: string, target: string, maxHeight: number]> = [
  ['ceremony-script-invalid.png', 'workstation-script.png', 1100],
  ['ceremony-script-prepared.png', 'workstation-script-prepared.png', 1000],
  ['ceremony-roster.png', 'workstation-roster.png', 1300],
  ['ceremony-steps-root-key.png', 'workstation-steps.png', 2300],
  ['ceremony-shares-enrollment.png', 'workstation-shares-enrollment.png', 1100],
  ['ceremony-shares-wrong-passphrase.png', 'workstation-shares-wrong-passphrase.png', 1200],
  ['ceremony-shares-foreign.png', 'workstation-shares-foreign.png', 1200],
  ['ceremony-approval-review.png', 'workstation-approval.png', 1900],
  ['ceremony-approval-declined.png', 'workstation-approval-declined.png', 1100],
  ['ceremony-transcript.png', 'workstation-transcript.png', 1300],
  ['ceremony-report-intermediate.png', 'workstation-report.png', 1700],
  ['hsm-keys.png', 'workstation-hsm.png', 1500],
];

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG file');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function main(): Promise<void> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    headless: true,
  });
  try {
    for (const [source, target, maxHeight] of COPIES) {
      const png = readFileSync(join(SCREENS, source));
      const { width, height } = pngSize(png);
      const w = Math.round(width * SCALE);
      const h = Math.round(Math.min(height, maxHeight) * SCALE);
      const page = await browser.newPage({ viewport: { width: w, height: h }, deviceScaleFactor: 1 });
      await page.setContent(`<!doctype html><html><body style="margin:0;overflow:hidden"><img id="i" style="display:block;width:${w}px" src="data:image/png;base64,${png.toString('base64')}"></body></html>`);
      await page.waitForFunction(() => (document.getElementById('i') as HTMLImageElement | null)?.complete === true);
      await page.screenshot({ path: join(IMAGES, target), clip: { x: 0, y: 0, width: w, height: h } });
      await page.close();
      process.stdout.write(`${target} (${w}×${h})\n`);
    }
  } finally {
    await browser.close();
  }
}

await main();
