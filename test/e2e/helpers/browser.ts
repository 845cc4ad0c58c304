/**
 * Chromium for the browser tests: the system Chromium driven by playwright-core (never a
 * downloaded browser), with the house launch arguments, and a collector of console errors, page
 * errors and CSP violations so a test can assert the page ran clean.
 */
import { existsSync } from 'node:fs';

import { chromium, type Browser, type Page } from 'playwright-core';

/** The system Chromium (Debian package `chromium`; bin/setup installs it). */
export const CHROMIUM = '/usr/bin/chromium';

/** The launch arguments every browser test uses. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Launches the system Chromium; fails with the package to install when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is required by the browser tests; install Debian package 'chromium' (bin/setup does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Collects what went wrong in a page: console errors, uncaught exceptions, failed requests. */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()} @${JSON.stringify(m.location())}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url().replace(/\/[A-Za-z0-9_-]{43}\//u, '/<token>/')} ${r.failure()?.errorText ?? ''}`));
  return { problems };
}
