/**
 * @module electron/main/windows
 * The workstation window: its construction options (data, checked by the security test) and its
 * creation. Every window created here is registered as a trusted IPC sender while it lives.
 *
 * Only type imports from `electron`; the BrowserWindow class is passed in. Must never: create a
 * window with other webPreferences than {@link windowWebPreferences}.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';

import { APP_ENTRY_URL, windowWebPreferences } from './security.ts';

/** Construction options of the main window. */
export function mainWindowOptions(preload: string, devTools = false): BrowserWindowConstructorOptions {
  return {
    title: 'NEAM CA ceremony workstation',
    width: 1440,
    height: 960,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    backgroundColor: '#ffffff',
    autoHideMenuBar: false,
    webPreferences: windowWebPreferences(preload, devTools),
  };
}

/** Live windows and the webContents ids allowed to call IPC. */
export class WindowRegistry {
  readonly #windows = new Set<BrowserWindow>();
  readonly #trusted = new Set<number>();

  /** webContents ids of our windows (the IPC sender check reads this). */
  get trustedWebContents(): ReadonlySet<number> {
    return this.#trusted;
  }

  /** Our live windows. */
  get windows(): readonly BrowserWindow[] {
    return [...this.#windows];
  }

  /** Creates the main window and loads the UI from the app scheme. */
  createMainWindow(Ctor: typeof BrowserWindow, preload: string, devTools: boolean, onClosed: () => void): BrowserWindow {
    const win = new Ctor(mainWindowOptions(preload, devTools));
    const id = win.webContents.id;
    this.#windows.add(win);
    this.#trusted.add(id);
    // Linux ignores it; on macOS and Windows it keeps the window out of screen captures.
    win.setContentProtection(true);
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => {
      this.#windows.delete(win);
      this.#trusted.delete(id);
      onClosed();
    });
    void win.loadURL(APP_ENTRY_URL);
    return win;
  }
}
