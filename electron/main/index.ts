/**
 * @module electron/main
 * The Electron main process: the composition root of the workstation. It builds the adapters
 * (configuration, secret vault, logger, HSM opener), hands them to the shared handlers, and wires
 * the concerns kept in their own modules: `security.ts` (window, session and webContents
 * hardening), `protocol.ts` (the `neam://` scheme), `ipc.ts` (contract routes with the sender
 * check), `windows.ts` and `menu.ts`.
 *
 * Bundled to `dist/electron/main.mjs` by `build/build-app.ts` (the preload to `preload.cjs`, the
 * renderer to `dist/renderer`). Must never: call `shell.openExternal`, create a window outside
 * `windows.ts`, or keep a profile on disk after quitting.
 */
// @peculiar/x509 (used by core's ceremony, quorum and transcript code) needs this once, first.
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { app, BrowserWindow, ipcMain, Menu, protocol, session } from 'electron';

import { serializeError } from '../../core/errors.ts';
import { openHsm } from '../../core/hsm/index.ts';
import { createLogger, textSink } from '../../core/log/logger.ts';
import { CeremonySession } from '../host/ceremony/session.ts';
import { resolveAppConfig } from '../host/config.ts';
import { EventHub } from '../host/events.ts';
import { createHandlers } from '../host/handlers/index.ts';
import { PRODUCT, readVersion } from '../host/product.ts';
import { createRouter } from '../host/router.ts';
import { SecretVault } from '../host/secret-vault.ts';
import { YamlChecker } from '../host/yaml-checker.ts';
import { contract } from '../ipc/contract.ts';
import { registerIpc, windowSender } from './ipc.ts';
import { menuTemplate } from './menu.ts';
import { createAppProtocolHandler } from './protocol.ts';
import { APP_SCHEME, hardenSession, hardenWebContents, PARTITION, PRIVILEGED_SCHEMES } from './security.ts';
import { WindowRegistry } from './windows.ts';

function start(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const preload = join(here, 'preload.cjs');
  const rendererDir = join(here, '..', 'renderer');
  const logger = createLogger({ sinks: [textSink(process.stderr)], level: 'info', scope: 'workstation' });
  const blocked = (what: string, detail: string): void => logger.warn(`blocked ${what}`, { detail });

  // Before `ready`: the privileged scheme, sandbox for every renderer, a throw-away profile.
  protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);
  app.enableSandbox();
  const profile = mkdtempSync(join(tmpdir(), 'neam-workstation-'));
  app.setPath('userData', profile);
  app.setPath('sessionData', profile);

  if (!app.requestSingleInstanceLock()) {
    logger.error('another workstation window is already running on this machine; use that one');
    app.quit();
    return;
  }

  const config = resolveAppConfig({
    argv: process.argv.slice(app.isPackaged ? 1 : 2),
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
    strict: false,
    defaultScripts: app.isPackaged ? join(process.resourcesPath, 'ceremony-scripts') : undefined,
  });
  const devTools = !app.isPackaged && process.env['NEAM_CA_DEVTOOLS'] === '1';
  const vault = new SecretVault({ random: (n) => randomBytes(n) });
  const sweeper = setInterval(() => vault.sweep(), 10_000);
  sweeper.unref();
  const windows = new WindowRegistry();
  // Bundled, the YAML checker's worker sits beside main.mjs (build/build-app.ts).
  const yaml = new YamlChecker({ workerUrl: new URL('./yaml-worker.mjs', import.meta.url) });
  const events = new EventHub();
  events.attach(windowSender(() => windows.windows));

  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents, blocked);
    // A renderer that crashed or reloaded may have seen secrets being typed: drop them all.
    contents.on('render-process-gone', (_e, details) => {
      logger.error('renderer process gone', { reason: details.reason });
      vault.wipeAll();
    });
    contents.on('did-start-navigation', () => vault.wipeAll());
  });

  app.on('second-instance', () => {
    const [win] = windows.windows;
    if (win !== undefined) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => {
    vault.wipeAll();
    clearInterval(sweeper);
    void yaml.close();
    rmSync(profile, { recursive: true, force: true });
  });

  void app.whenReady().then(() => {
    // No DNS at all: an air-gapped workstation resolves nothing.
    app.configureHostResolver({ enableBuiltInResolver: false, secureDnsMode: 'off' });
    hardenSession(session.defaultSession, blocked);
    const ses = session.fromPartition(PARTITION, { cache: false });
    hardenSession(ses, blocked);
    ses.protocol.handle(APP_SCHEME, createAppProtocolHandler(rendererDir));

    // Unpackaged, Electron runs dist/electron/main.mjs as a file and would report its own version.
    const version = app.isPackaged ? app.getVersion() : readVersion(new URL('../../package.json', import.meta.url));
    const ceremony = new CeremonySession({ config, vault, yaml, events, logger, openHsm, software: `neam-ca ${version} (workstation)` });
    // A running ceremony is stopped (its journal closed) before the process exits: quitting waits
    // for it, bounded by shutdown()'s own timeout.
    let stopped = false;
    app.on('before-quit', (event) => {
      if (stopped) return;
      event.preventDefault();
      void ceremony
        .shutdown()
        .catch((e: unknown) => logger.error('stopping the ceremony at quit failed', { error: serializeError(e) }))
        .finally(() => {
          stopped = true;
          app.quit();
        });
    });
    const router = createRouter(
      contract,
      createHandlers({
        config,
        vault,
        openHsm,
        product: PRODUCT,
        version,
        versions: { node: process.versions.node, electron: process.versions.electron ?? null, chrome: process.versions.chrome ?? null },
        logger,
        yaml,
        events,
        ceremony,
      }),
      logger,
    );
    registerIpc(ipcMain, router, windows.trustedWebContents, logger);
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ navigate: (screen) => events.emit.app.navigate({ screen }) })));
    windows.createMainWindow(BrowserWindow, preload, devTools, () => vault.wipeAll());
    logger.info('workstation started', { rehearsal: config.rehearsal.on, scripts: config.fileRoots.map((r) => r.path) });
  });
}

start();
