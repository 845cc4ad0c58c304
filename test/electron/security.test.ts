/**
 * The production security configuration of the Electron shell, checked without an Electron binary:
 * the exact webPreferences every window gets, the session and webContents deny handlers (invoked,
 * not just registered), the custom-scheme handler and its CSP, the CSP constants and the meta tag,
 * and a scan of the sources for the settings that must never appear.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ELECTRON_CSP, LOOPBACK_CSP, META_CSP, SECURITY_HEADERS } from '../../electron/host/csp.ts';
import { createAppProtocolHandler } from '../../electron/main/protocol.ts';
import {
  APP_ENTRY_URL,
  DENIED_PROTOCOLS,
  hardenSession,
  hardenWebContents,
  isAllowedRequest,
  isTrustedSender,
  PARTITION,
  PRIVILEGED_SCHEMES,
  windowWebPreferences,
  type HardenableSession,
  type HardenableWebContents,
} from '../../electron/main/security.ts';
import { mainWindowOptions } from '../../electron/main/windows.ts';
import { tempDir } from '../helpers/softhsm.ts';
import { fakeRenderer } from './helpers.ts';

const REPO = new URL('../../', import.meta.url).pathname;

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/u))
      .filter((p) => p[0] !== '')
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('window configuration', () => {
  const prefs = windowWebPreferences('/app/dist/electron/preload.cjs');

  it('sandboxes, isolates and removes Node from every window, in production', () => {
    expect(prefs).toEqual({
      preload: '/app/dist/electron/preload.cjs',
      partition: PARTITION,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      plugins: false,
      spellcheck: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      enableWebSQL: false,
      devTools: false,
    });
    expect(prefs).not.toHaveProperty('enableBlinkFeatures');
  });

  it('uses an in-memory session partition', () => {
    expect(PARTITION).not.toMatch(/^persist:/u);
    expect(PARTITION.length).toBeGreaterThan(0);
  });

  it('builds the main window with exactly those preferences, hidden until ready', () => {
    const options = mainWindowOptions('/p.cjs');
    expect(options.webPreferences).toEqual(windowWebPreferences('/p.cjs'));
    expect(options.show).toBe(false);
  });

  it('registers one privileged scheme that does not bypass the CSP', () => {
    expect(PRIVILEGED_SCHEMES).toEqual([
      { scheme: 'neam', privileges: { standard: true, secure: true, corsEnabled: true, supportFetchAPI: false, allowServiceWorkers: false, bypassCSP: false, stream: false, codeCache: false } },
    ]);
  });
});

/** A session double that records the handlers hardenSession installs, so the test can call them. */
function fakeSession(): { ses: HardenableSession; got: Record<string, unknown>; protocols: Map<string, (r: Request) => Response | Promise<Response>> } {
  const got: Record<string, unknown> = {};
  const protocols = new Map<string, (r: Request) => Response | Promise<Response>>();
  const ses = {
    setPermissionRequestHandler: (h: unknown) => void (got['permissionRequest'] = h),
    setPermissionCheckHandler: (h: unknown) => void (got['permissionCheck'] = h),
    setDevicePermissionHandler: (h: unknown) => void (got['devicePermission'] = h),
    setDisplayMediaRequestHandler: (h: unknown) => void (got['displayMedia'] = h),
    setSpellCheckerEnabled: (on: boolean) => void (got['spellchecker'] = on),
    on: (name: string, h: unknown) => void (got[`on:${name}`] = h),
    webRequest: { onBeforeRequest: (h: unknown) => void (got['beforeRequest'] = h) },
    protocol: { handle: (scheme: string, h: (r: Request) => Response) => void protocols.set(scheme, h) },
  };
  return { ses: ses as unknown as HardenableSession, got, protocols };
}

describe('session hardening', () => {
  const { ses, got, protocols } = fakeSession();
  const blocked: string[] = [];
  hardenSession(ses, (what, detail) => blocked.push(`${what} ${detail}`));

  it.each(['media', 'geolocation', 'notifications', 'clipboard-read', 'clipboard-sanitized-write', 'openExternal', 'fullscreen', 'display-capture', 'pointerLock', 'fileSystem', 'unknown'])(
    'denies the permission request %s',
    (permission) => {
      let granted: boolean | undefined;
      (got['permissionRequest'] as (wc: unknown, p: string, cb: (g: boolean) => void, d: unknown) => void)({}, permission, (g) => (granted = g), {});
      expect(granted).toBe(false);
    },
  );

  it('answers every permission check and device request with no', () => {
    for (const p of ['media', 'serial', 'usb', 'hid', 'clipboard-read']) expect((got['permissionCheck'] as (...a: unknown[]) => boolean)(null, p, 'neam://workstation', {})).toBe(false);
    expect((got['devicePermission'] as (d: unknown) => boolean)({ deviceType: 'usb', origin: 'neam://workstation' })).toBe(false);
    let streams: unknown = 'not called';
    (got['displayMedia'] as (r: unknown, cb: (s: unknown) => void) => void)({}, (s) => (streams = s));
    expect(streams).toEqual({});
    expect(got['spellchecker']).toBe(false);
  });

  it.each([
    ['https://example.com/', true],
    ['http://127.0.0.1:8080/', true],
    ['ws://127.0.0.1:9/', true],
    ['wss://example.com/', true],
    ['file:///etc/passwd', true],
    ['data:text/html,<b>x</b>', true],
    ['blob:neam://workstation/1234', true],
    ['ftp://example.com/', true],
    ['devtools://devtools/bundled/inspector.html', true],
    ['chrome://settings', true],
    ['neam://other/index.html', true],
    ['neam://user@workstation/index.html', true],
    ['neam://workstation/index.html', false],
    ['neam://workstation/assets/index-abc.js', false],
  ])('network request to %s: cancelled=%s', (url, cancelled) => {
    let answer: { cancel?: boolean } | undefined;
    (got['beforeRequest'] as (d: { url: string }, cb: (r: { cancel?: boolean }) => void) => void)({ url }, (r) => (answer = r));
    expect(answer).toEqual({ cancel: cancelled });
    expect(isAllowedRequest(url)).toBe(!cancelled);
  });

  it('answers http, https and file with 403 at the protocol level as well', async () => {
    expect([...protocols.keys()].sort()).toEqual([...DENIED_PROTOCOLS].sort());
    for (const [scheme, handler] of protocols) {
      const r = await handler(new Request(`${scheme === 'file' ? 'file:///etc/passwd' : `${scheme}://example.com/`}`));
      expect(r.status, scheme).toBe(403);
    }
  });

  it('refuses downloads', () => {
    let prevented = false;
    (got['on:will-download'] as (e: { preventDefault(): void }) => void)({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(blocked.length).toBeGreaterThan(0);
  });
});

describe('webContents hardening', () => {
  const listeners = new Map<string, (...a: unknown[]) => unknown>();
  let openHandler: ((d: { url: string }) => unknown) | undefined;
  const contents = {
    on: (name: string, fn: (...a: unknown[]) => unknown) => void listeners.set(name, fn),
    setWindowOpenHandler: (fn: (d: { url: string }) => unknown) => void (openHandler = fn),
  };
  hardenWebContents(contents as unknown as HardenableWebContents);

  it.each([
    ['will-navigate', (e: unknown) => [e, 'https://evil.example/']],
    ['will-frame-navigate', (e: unknown) => [Object.assign(e as object, { url: 'https://evil.example/' })]],
    ['will-redirect', (e: unknown) => [e, 'https://evil.example/']],
    ['will-attach-webview', (e: unknown) => [e, {}, {}]],
  ] as const)('cancels %s', (name, args) => {
    let prevented = false;
    const ev = { preventDefault: () => (prevented = true) };
    listeners.get(name)!(...args(ev));
    expect(prevented).toBe(true);
  });

  it('denies every new window', () => {
    expect(openHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(openHandler?.({ url: APP_ENTRY_URL })).toEqual({ action: 'deny' });
  });
});

describe('IPC sender check', () => {
  const trusted = new Set([3]);
  it.each([
    ['our main frame', { frameUrl: APP_ENTRY_URL, isMainFrame: true, webContentsId: 3 }, true],
    ['a subframe', { frameUrl: APP_ENTRY_URL, isMainFrame: false, webContentsId: 3 }, false],
    ['another window', { frameUrl: APP_ENTRY_URL, isMainFrame: true, webContentsId: 4 }, false],
    ['another origin', { frameUrl: 'https://example.com/', isMainFrame: true, webContentsId: 3 }, false],
    ['a prefix look-alike', { frameUrl: 'neam://workstation.example/', isMainFrame: true, webContentsId: 3 }, false],
    ['no frame', { frameUrl: null, isMainFrame: true, webContentsId: 3 }, false],
    ['an unparsable URL', { frameUrl: 'not a url', isMainFrame: true, webContentsId: 3 }, false],
  ])('%s → %s', (_n, facts, ok) => {
    expect(isTrustedSender(facts, trusted)).toBe(ok);
  });
});

describe('Content-Security-Policy', () => {
  it.each([
    ['Electron header', ELECTRON_CSP, "'none'"],
    ['loopback header', LOOPBACK_CSP, "'self'"],
    ['meta tag', META_CSP, "'self'"],
  ])('%s starts from default-src none and allows only the app itself', (_n, csp, connect) => {
    const d = directives(csp);
    expect(d.get('default-src')).toEqual(["'none'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('style-src')).toEqual(["'self'"]);
    expect(d.get('img-src')).toEqual(["'self'"]);
    expect(d.get('connect-src')).toEqual([connect]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('form-action')).toEqual(["'none'"]);
    expect(d.get('frame-src')).toEqual(["'none'"]);
    expect(d.get('require-trusted-types-for')).toEqual(["'script'"]);
    expect(d.get('trusted-types')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-|https?:|data:|blob:|\*/u);
  });

  it('the headers also forbid framing; the meta tag cannot (browsers ignore it there)', () => {
    expect(directives(ELECTRON_CSP).get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives(LOOPBACK_CSP).get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives(META_CSP).has('frame-ancestors')).toBe(false);
    expect(SECURITY_HEADERS['X-Frame-Options']).toBe('DENY');
    expect(SECURITY_HEADERS['X-Content-Type-Options']).toBe('nosniff');
  });

  it('renderer/index.html carries exactly META_CSP, and no inline script', () => {
    const html = readFileSync(join(REPO, 'renderer/index.html'), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/u.exec(html);
    expect(meta?.[1]).toBe(META_CSP);
    for (const tag of html.match(/<script\b[^>]*>/gu) ?? []) expect(tag).toMatch(/\bsrc=/u);
  });
});

describe('the neam:// protocol handler', () => {
  let tmp: ReturnType<typeof tempDir>;
  let handler: (r: Request) => Response;
  beforeAll(() => {
    tmp = tempDir('neam-proto-');
    const dir = fakeRenderer(join(tmp.dir, 'renderer'));
    writeFileSync(join(tmp.dir, 'secret.js'), 'outside');
    symlinkSync(join(tmp.dir, 'secret.js'), join(dir, 'assets', 'escape.js'));
    mkdirSync(join(dir, 'assets', 'folder.js'));
    handler = createAppProtocolHandler(dir);
  });
  afterAll(() => tmp.cleanup());

  it('serves the UI with the Electron CSP and security headers', async () => {
    const r = handler(new Request(APP_ENTRY_URL));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe(ELECTRON_CSP);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toContain('<title>t</title>');
    expect(handler(new Request('neam://workstation/')).status).toBe(200);
    expect(handler(new Request('neam://workstation/assets/app.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it.each([
    ['another host', 'neam://elsewhere/index.html', 403],
    ['a dot-dot path', 'neam://workstation/assets/%2e%2e/%2e%2e/secret.js', 404],
    ['an encoded slash', 'neam://workstation/..%2f..%2fsecret.js', 404],
    ['a backslash', 'neam://workstation/assets%5c..%5c..%5csecret.js', 404],
    ['a NUL byte', 'neam://workstation/index.html%00.js', 404],
    ['a symbolic link out of the folder', 'neam://workstation/assets/escape.js', 404],
    ['a folder', 'neam://workstation/assets/folder.js', 404],
    ['a type not on the list', 'neam://workstation/assets/notes.txt', 404],
    ['a missing file', 'neam://workstation/missing.js', 404],
  ])('refuses %s', (_n, url, status) => {
    expect(handler(new Request(url)).status).toBe(status);
  });

  it('refuses methods other than GET and HEAD', () => {
    expect(handler(new Request(APP_ENTRY_URL, { method: 'POST', body: 'x' })).status).toBe(405);
    expect(handler(new Request(APP_ENTRY_URL, { method: 'HEAD' })).status).toBe(200);
  });
});

describe('the sources never weaken the baseline', () => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|tsx|html)$/u.test(name)) files.push(full);
    }
  };
  walk(join(REPO, 'electron'));
  walk(join(REPO, 'renderer'));

  it.each([
    ['openExternal is called', /\bopenExternal\s*\(/u],
    ['Node integration is turned on', /nodeIntegration\w*\s*:\s*true/u],
    ['the sandbox is turned off', /sandbox\s*:\s*false/u],
    ['context isolation is turned off', /contextIsolation\s*:\s*false/u],
    ['web security is turned off', /webSecurity\s*:\s*false/u],
    ['insecure content is allowed', /allowRunningInsecureContent\s*:\s*true/u],
    ['the webview tag is enabled', /webviewTag\s*:\s*true/u],
    ['a persistent partition is used', /['"`]persist:/u],
    ['a synchronous IPC call is made', /\bsendSync\s*\(/u],
    ['a renderer message is listened to without a reply', /ipcMain\.on\s*\(/u],
    ['raw ipcRenderer is exposed', /exposeInMainWorld\([^)]*ipcRenderer\s*\)/u],
    ['the CSP is bypassed', /bypassCSP\s*:\s*true/u],
    ['HTML is injected', /dangerouslySetInnerHTML|\.innerHTML\s*=/u],
  ])('nowhere is %s', (_n, pattern) => {
    const hits = files.filter((f) => pattern.test(readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
  });
});
