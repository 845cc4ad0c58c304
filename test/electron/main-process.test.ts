/**
 * The Electron composition root (electron/main/index.ts) run for real against a recording double of
 * the `electron` module, since the Electron binary is not installed here: it proves the production
 * entry point actually applies the security settings the other tests check (sandbox for all
 * renderers, the privileged scheme before ready, hardened sessions, the window's preferences, the
 * sender-checked IPC routes, the menu's events) and cleans up its throw-away profile.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { listEntries, contract } from '../../electron/ipc/contract.ts';
import { APP_ENTRY_URL, PARTITION, PRIVILEGED_SCHEMES, windowWebPreferences } from '../../electron/main/security.ts';

type Listener = (...args: unknown[]) => unknown;

interface FakeSession {
  name: string;
  options: unknown;
  handlers: Record<string, Listener>;
  protocols: Map<string, (r: Request) => Response | Promise<Response>>;
}

const calls: string[] = [];
const appListeners = new Map<string, Listener>();
const paths: Record<string, string> = {};
const sessions: FakeSession[] = [];
const ipcHandles = new Map<string, Listener>();
const windows: FakeWindow[] = [];
let hostResolver: unknown;
let menu: { template: Array<{ label?: string; submenu?: Array<{ label?: string; click?: () => void }> }> } | undefined;

function makeSession(name: string, options?: unknown): FakeSession {
  const s: FakeSession = { name, options, handlers: {}, protocols: new Map() };
  const rec = (key: string) => (h: Listener) => void (s.handlers[key] = h);
  Object.assign(s, {
    setPermissionRequestHandler: rec('permissionRequest'),
    setPermissionCheckHandler: rec('permissionCheck'),
    setDevicePermissionHandler: rec('devicePermission'),
    setDisplayMediaRequestHandler: rec('displayMedia'),
    setSpellCheckerEnabled: (on: boolean) => void (s.handlers['spellchecker'] = () => on),
    on: (n: string, h: Listener) => void (s.handlers[`on:${n}`] = h),
    webRequest: { onBeforeRequest: rec('beforeRequest') },
    protocol: { handle: (scheme: string, h: (r: Request) => Response) => void s.protocols.set(scheme, h) },
  });
  sessions.push(s);
  return s;
}

class FakeWindow {
  readonly options: { webPreferences?: unknown };
  readonly sent: Array<[string, unknown]> = [];
  readonly webContents = { id: 41, send: (ch: string, p: unknown) => this.sent.push([ch, p]), isDestroyed: () => false, on: () => undefined };
  contentProtection = false;
  url = '';
  constructor(options: { webPreferences?: unknown }) {
    this.options = options;
    windows.push(this);
  }
  setContentProtection(on: boolean): void {
    this.contentProtection = on;
  }
  once(): void {}
  on(): void {}
  loadURL(url: string): Promise<void> {
    this.url = url;
    return Promise.resolve();
  }
}

const fakeElectron = {
  app: {
    isPackaged: false,
    enableSandbox: () => void calls.push('enableSandbox'),
    setPath: (k: string, v: string) => void (paths[k] = v),
    requestSingleInstanceLock: () => true,
    on: (n: string, h: Listener) => void appListeners.set(n, h),
    whenReady: () => {
      calls.push('whenReady');
      return Promise.resolve();
    },
    configureHostResolver: (o: unknown) => void (hostResolver = o),
    quit: () => void calls.push('quit'),
    getVersion: () => '41.0.0',
  },
  protocol: { registerSchemesAsPrivileged: (s: unknown) => void calls.push(`registerSchemes:${JSON.stringify(s)}`) },
  session: {
    defaultSession: makeSession('default'),
    fromPartition: (p: string, o: unknown) => makeSession(p, o),
  },
  ipcMain: { handle: (ch: string, fn: Listener) => void ipcHandles.set(ch, fn) },
  Menu: { buildFromTemplate: (t: unknown) => ({ template: t }), setApplicationMenu: (m: typeof menu) => void (menu = m) },
  BrowserWindow: FakeWindow,
};

describe('electron/main/index.ts (composition root) against a recording electron double', () => {
  beforeAll(async () => {
    delete process.env['NEAM_CA_DEVTOOLS'];
    vi.doMock('electron', () => fakeElectron);
    await import('../../electron/main/index.ts');
    await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => {
    appListeners.get('will-quit')?.();
    vi.doUnmock('electron');
  });

  it('registers the privileged scheme and turns on the sandbox for every renderer before ready', () => {
    const ready = calls.indexOf('whenReady');
    expect(calls.indexOf(`registerSchemes:${JSON.stringify(PRIVILEGED_SCHEMES)}`)).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf(`registerSchemes:${JSON.stringify(PRIVILEGED_SCHEMES)}`)).toBeLessThan(ready);
    expect(calls.indexOf('enableSandbox')).toBeLessThan(ready);
    expect(calls).not.toContain('quit');
  });

  it('keeps the Chromium profile in a throw-away folder', () => {
    expect(paths['userData']).toMatch(/neam-workstation-/u);
    expect(paths['sessionData']).toBe(paths['userData']);
    expect(existsSync(paths['userData']!)).toBe(true);
  });

  it('turns off DNS', () => {
    expect(hostResolver).toEqual({ enableBuiltInResolver: false, secureDnsMode: 'off' });
  });

  it('hardens the default session and the in-memory window partition', async () => {
    const partition = sessions.find((s) => s.name === PARTITION);
    expect(partition?.options).toEqual({ cache: false });
    for (const s of [sessions.find((x) => x.name === 'default')!, partition!]) {
      let granted: boolean | undefined;
      s.handlers['permissionRequest']!({}, 'media', (g: boolean) => (granted = g), {});
      expect(granted, s.name).toBe(false);
      let answer: unknown;
      s.handlers['beforeRequest']!({ url: 'https://example.com/' }, (r: unknown) => (answer = r));
      expect(answer, s.name).toEqual({ cancel: true });
      expect((await s.protocols.get('https')!(new Request('https://example.com/'))).status).toBe(403);
    }
    expect(partition?.protocols.has('neam')).toBe(true);
    expect((await partition!.protocols.get('neam')!(new Request('neam://elsewhere/'))).status).toBe(403);
  });

  it('creates the window with the production webPreferences and loads the app scheme', () => {
    expect(windows).toHaveLength(1);
    const preload = join(dirname(fileURLToPath(new URL('../../electron/main/index.ts', import.meta.url))), 'preload.cjs');
    expect(windows[0]!.options.webPreferences).toEqual(windowWebPreferences(preload, false));
    expect(windows[0]!.url).toBe(APP_ENTRY_URL);
    expect(windows[0]!.contentProtection).toBe(true);
  });

  it('registers every invoke channel, serving only the window’s main frame', async () => {
    const invokes = listEntries(contract).filter((e) => e.entry.kind === 'invoke').map((e) => e.channel);
    expect([...ipcHandles.keys()].sort()).toEqual(invokes.sort());
    const ok = (await ipcHandles.get('app:info')!({ senderFrame: { url: APP_ENTRY_URL, parent: null }, sender: { id: 41 } }, {})) as { ok: boolean; value: { host: string; rehearsal: boolean } };
    expect(ok).toMatchObject({ ok: true, value: { host: 'electron', rehearsal: true } });
    const refused = (await ipcHandles.get('app:info')!({ senderFrame: { url: APP_ENTRY_URL, parent: null }, sender: { id: 99 } }, {})) as { ok: boolean; error: { code: string } };
    expect(refused).toMatchObject({ ok: false, error: { code: 'ERR_APP_FORBIDDEN' } });
  });

  it('hardens every webContents that is created', () => {
    const listeners = new Map<string, Listener>();
    let openHandler: Listener | undefined;
    appListeners.get('web-contents-created')!({}, { on: (n: string, h: Listener) => void listeners.set(n, h), setWindowOpenHandler: (h: Listener) => void (openHandler = h) });
    let prevented = false;
    listeners.get('will-navigate')!({ preventDefault: () => (prevented = true) }, 'https://evil.example/');
    expect(prevented).toBe(true);
    expect(openHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(listeners.has('will-attach-webview')).toBe(true);
    expect(listeners.has('render-process-gone')).toBe(true);
  });

  it('sends a validated navigate event from the menu, and offers no external links', () => {
    const ceremony = menu?.template.find((m) => m.label === 'Ceremony');
    expect(ceremony?.submenu?.map((i) => i.label)).toContain('HSM & token');
    ceremony?.submenu?.find((i) => i.label === 'HSM & token')?.click?.();
    expect(windows[0]!.sent).toEqual([['app:navigate', { screen: 'hsm' }]]);
    expect(JSON.stringify(menu?.template)).not.toMatch(/https?:|toggleDevTools|openExternal/u);
  });

  it('removes the profile folder when quitting', () => {
    const profile = paths['userData']!;
    appListeners.get('will-quit')!();
    expect(existsSync(profile)).toBe(false);
  });
});
