import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium, type Browser, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canonicalJson } from '../../../core/util/canonical-json.ts';
import { createTranscript, printReportPdf, renderReport, summarizeTranscript, verifyTranscript, type TranscriptRecord, type TranscriptVerification } from '../../../core/transcript/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { requireTool } from '../../helpers/tools.ts';
import { pdfPageTexts } from './pdf-text.ts';
import { closingSigners, joinLines, linesOf, steppingClock, transferKeyOnSoftHsm, witnessKey, writeClosedTranscript, type TransferHsm } from './fixtures.ts';

const ARTIFACTS = join(import.meta.dirname, '../../../test-artifacts/transcript');
const GENERATED = new Date('2026-12-01T12:00:00.000Z');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let hsm: TransferHsm;
let bytes: Buffer;
let verified: TranscriptVerification;
const dir = tempDir('neam-report-');

beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
  bytes = writeClosedTranscript(dir.dir, hsm.signer, [witnessKey().signer, witnessKey().signer]).bytes;
  verified = verifyTranscript(bytes);
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(() => {
  hsm.hsm.close();
  dir.cleanup();
});

/** A computed style property of an element (the test tsconfig has no DOM types). */
function styleOf(locator: Locator, prop: string): Promise<string> {
  type Win = { getComputedStyle(el: unknown): Record<string, string> };
  return locator.evaluate((el, p) => (globalThis as unknown as Win).getComputedStyle(el)[p] ?? '', prop);
}

function groups(hex: string): string[] {
  return hex.match(/.{4}/gu) as string[];
}

describe('renderReport (HTML)', () => {
  it('is self-contained: no script, no external reference, a CSP allowing only its own style block', () => {
    const html = renderReport(verified, { generatedAt: GENERATED, source: 'transcript.jsonl' });
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|@import|url\(|https?:|src=|href=/iu);
    const csp = (/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/u.exec(html)?.[1] as string).replaceAll('&#39;', "'");
    expect(csp).toContain("default-src 'none'");
    const style = /<style>([\s\S]*?)<\/style>/u.exec(html)?.[1] as string;
    expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
  });

  it('shows status, participants, steps with times and sign-offs, every fingerprint grouped, certificates, signers, and wet-signature lines', () => {
    const html = renderReport(verified, { generatedAt: GENERATED, source: 'transcript.jsonl' });
    expect(html).toContain('VERIFIED');
    for (const name of ['Alice Admin', 'Carol Custodian', 'Dan Custodian', 'Erin Custodian', 'Wendy Witness', 'Walter Witness']) expect(html).toContain(name);
    expect(html).toContain('Generate the root key in the HSM');
    expect(html).toContain('<time datetime="2026-12-01T09:09:09.000Z">2026-12-01 09:09:09 UTC</time>');
    expect(html).toContain('CN=NEAM Root CA 2026, O=NEAM');
    expect(html).toContain('01f3a9c0d2e4b6a8c0ffee');
    for (const s of verified.signers) expect(html).toContain(groups(s.spkiSha256).map((g, i) => `<span class="g${i % 2 === 1 ? ' alt' : ''}">${g}</span>`).slice(0, 8).join(' '));
    expect(html).toContain(groups(verified.head as string)[0]);
    expect((html.match(/class="sigline"/gu) ?? []).length).toBe(6 + 2);
    expect(html).toContain('REHEARSAL');
  });

  it('escapes hostile content from records (names, data) so nothing becomes markup', () => {
    const sub = tempDir('neam-report-xss-');
    try {
      const w = createTranscript(join(sub.dir, 't.jsonl'), { ceremony: 'x', rehearsal: false, previous: null, actor: '<script>alert(1)</script>', role: 'administrator', data: { title: '</title><img src=x onerror=alert(1)>' }, clock: steppingClock() });
      w.append({ actor: 'Eve "quote" \'apos\' & co', role: 'witness', type: 'step.started', data: { step: '<b>bold</b>', title: '<iframe src="https://evil">' } });
      w.close({ actor: 'Alice', role: 'administrator', outcome: 'completed', signers: closingSigners(hsm.signer, [witnessKey().signer]) });
      const html = renderReport(verifyTranscript(readFileSync(join(sub.dir, 't.jsonl'))));
      expect(html).not.toMatch(/<script|<img|<iframe|<b>bold/iu);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).toContain('Eve &quot;quote&quot; &#39;apos&#39; &amp; co');
      expect(html).not.toContain('REHEARSAL');
    } finally {
      sub.cleanup();
    }
  });

  it('a failed verification is shown as such, the damaged record highlighted and later lines kept apart as untrusted', () => {
    const lines = linesOf(bytes);
    const r = JSON.parse(lines[9] as string) as TranscriptRecord;
    lines[9] = canonicalJson({ ...r, data: { ...r.data, tampered: true } });
    const v = verifyTranscript(joinLines(lines));
    const html = renderReport(v, { generatedAt: GENERATED });
    expect(html).toContain('VERIFICATION FAILED');
    expect(html).toContain('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(html).toContain('Lines that did not verify');
    expect(v.records).toHaveLength(9);
    expect(html).not.toContain('Closing signatures');
  });

  it('an unclosed transcript reads INTACT, NOT CLOSED', () => {
    const v = verifyTranscript(joinLines(linesOf(bytes).slice(0, 8)));
    expect(renderReport(v)).toContain('INTACT, NOT CLOSED');
  });
});

describe('summarizeTranscript', () => {
  it('reads steps, failures, fingerprints (hex or colon form) and certificates, and tolerates odd data', () => {
    const sub = tempDir('neam-summary-');
    try {
      const path = join(sub.dir, 't.jsonl');
      const w = createTranscript(path, { ceremony: 'crl-2027-03', rehearsal: false, previous: null, actor: 'Alice', role: 'administrator', clock: steppingClock() });
      w.append({ actor: 'Alice', role: 'administrator', type: 'step.started', data: { step: 'sign-crl', title: 'Sign the CRL' } });
      w.append({ actor: 'Alice', role: 'administrator', type: 'step.failed', data: { step: 'sign-crl', error: { code: 'ERR_HSM_PIN_INCORRECT', message: 'quorum PIN rejected' } } });
      w.append({ actor: 'Alice', role: 'administrator', type: 'step.completed', data: { step: 42, outputs: 'not a list' } });
      w.append({ actor: 'Alice', role: 'administrator', type: 'note', data: { fp: (('AB'.repeat(32).match(/../gu) as string[]).join(':')), cert: { subject: 'CN=no serial' }, crl: { subject: 'CN=Root', serial: '0a', sha256: 'cd'.repeat(32) } } });
      w.release();
      const s = summarizeTranscript(verifyTranscript(readFileSync(path)));
      expect(s.status).toBe('open');
      expect(s.steps).toEqual([{ id: 'sign-crl', title: 'Sign the CRL', state: 'failed', started: '2026-12-01T09:01:01.000Z', finished: '2026-12-01T09:02:02.000Z', signOffs: [], outputs: [], note: 'ERR_HSM_PIN_INCORRECT: quorum PIN rejected' }]);
      expect(s.fingerprints.map((f) => f.value)).toEqual(['cd'.repeat(32), 'ab'.repeat(32)]); // record order, then member order (crl < fp)
      expect(s.certificates).toEqual([{ subject: 'CN=Root', serial: '0a', sha256: 'cd'.repeat(32), seq: 5, type: 'note' }]);
    } finally {
      sub.cleanup();
    }
  });
});

describe('the report in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    requireTool('chromium');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser.close();
  });

  it('opens offline, shows the record, and is screenshot (test-artifacts/transcript/report.png)', async () => {
    const html = renderReport(verified, { generatedAt: GENERATED, source: 'transcript.jsonl', generator: 'neam-ca test' });
    const file = join(ARTIFACTS, 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
    const requests: string[] = [];
    const violations: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') violations.push(m.text());
    });
    await page.goto(pathToFileURL(file).href);
    await expect.poll(() => page.locator('.status-word').innerText()).toBe('VERIFIED');
    expect(await page.locator('#rehearsal-banner').isVisible()).toBe(true);
    expect(await page.locator('h1').innerText()).toBe('Root key ceremony');
    expect(await page.getByRole('heading', { name: 'Participants and roles' }).isVisible()).toBe(true);
    expect(await page.locator('#participants tbody tr').count()).toBe(7);
    expect(await page.locator('#steps tbody tr').count()).toBe(2);
    expect(await page.locator('#steps').innerText()).toContain('Wendy Witness');
    const transferFp = verified.signers[0]?.spkiSha256 as string;
    const shown = await page.locator('#signatures .fp').first().innerText();
    expect(shown.replace(/\s+/gu, ' ').trim()).toBe(groups(transferFp).join(' '));
    const fpSize = Number.parseFloat(await styleOf(page.locator('#fingerprints .fp').first(), 'fontSize'));
    expect(fpSize).toBeGreaterThanOrEqual(18);
    expect(await page.locator('#wet-signatures tbody tr').count()).toBe(8);
    // Only the document itself was loaded, and its CSP let the style through (it is applied).
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(violations).toEqual([]);
    expect(await styleOf(page.locator('.status.ok'), 'borderTopStyle')).toBe('solid');
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    expect(await styleOf(page.locator('.watermark'), 'position')).toBe('fixed');
    await page.screenshot({ path: join(ARTIFACTS, 'report-print.png') });
    await page.close();
    expect(readFileSync(join(ARTIFACTS, 'report.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('prints to PDF with headless Chromium (test-artifacts/transcript/report.pdf)', async () => {
    const out = join(ARTIFACTS, 'report.pdf');
    rmSync(out, { force: true });
    const html = renderReport(verified, { generatedAt: GENERATED, source: 'transcript.jsonl' });
    const { bytes: n } = await printReportPdf(html, out);
    const pdf = readFileSync(out);
    expect(n).toBe(pdf.length);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.subarray(-8).toString('latin1')).toContain('%%EOF');
    const pages = pdfPageTexts(pdf);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    // Every printed page carries the rehearsal notice, the ceremony id, the head and "page N of M".
    pages.forEach((text, i) => {
      expect(text).toContain('REHEARSAL — NOT A PRODUCTION CEREMONY');
      expect(text).toContain(`page ${i + 1} of ${pages.length}`);
      expect(text).toContain(`ceremony root-2026-12-01 · head ${(verified.head as string).slice(0, 16)}`);
    });
    expect(pages[0]).toContain('VERIFIED');
    expect(pages.join('')).toContain(groups(verified.signers[0]?.spkiSha256 as string).slice(0, 4).join(' '));
    expect(pages[pages.length - 1]).toContain('Signatures');
    await expect(printReportPdf(html, out)).rejects.toMatchObject({ code: 'ERR_ALREADY_EXISTS' });
    await expect(printReportPdf(html, join(ARTIFACTS, 'never.pdf'), { chromium: '/nonexistent/chromium' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
