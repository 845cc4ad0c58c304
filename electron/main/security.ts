/**
 * @module electron/main/security
 * The production security settings of the workstation, as data and as functions that take the
 * Electron objects they configure, so `test/electron/security.test.ts` checks exactly what the app
 * runs without an Electron binary. Follows electron/electron `docs/tutorial/security.md` items 1-20
 * made concrete for an air-gapped machine (STYLE.md "Electron baseline"):
 *
 * - every window: sandbox, context isolation, no Node integration anywhere, no webview tag, no
 *   spellchecker, no devtools in production, an in-memory session partition;
 * - the UI comes only from the `neam://workstation` scheme (custom protocol, item 18);
 * - every permission request and check is denied (item 5); every network request other than the
 *   app scheme is cancelled (file, http(s), ws, data, blob, …), and http/https/file are also
 *   answered 403 at the protocol level;
 * - navigation, redirects, new windows and webviews are refused (items 11-14); there is no
 *   `shell.openExternal` anywhere (item 15);
 * - IPC senders are checked: the main frame of one of our windows, on our origin (item 17).
 *
 * Only type imports from `electron`. Must never: relax a setting for tests or development, except
 * devtools, which only an explicit developer switch enables in an unpackaged build.
 */
import type { CustomScheme, Event, Session, WebContents, WebPreferences } from 'electron';

/** The custom scheme the UI is served from. */
export const APP_SCHEME = 'neam';
/** The one host of that scheme. */
export const APP_HOST = 'workstation';
/** The UI's origin. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page every window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;
/**
 * The session partition of every window. Without the persist: prefix Chromium keeps it in memory only,
 * so nothing (cookies, storage, cache) survives the process.
 */
export const PARTITION = 'neam-workstation';

/**
 * Registered before `ready`. `standard` gives the scheme an origin and relative URLs; `secure`
 * makes it a secure context; `corsEnabled` is required for the module scripts Vite emits (they
 * load in CORS mode even from their own origin). No fetch API, service workers, streaming, code
 * cache or CSP bypass.
 */
export const PRIVILEGED_SCHEMES: CustomScheme[] = [
  {
    scheme: APP_SCHEME,
    privileges: { standard: true, secure: true, corsEnabled: true, supportFetchAPI: false, allowServiceWorkers: false, bypassCSP: false, stream: false, codeCache: false },
  },
];

/** Schemes whose requests are also answered 403 by a protocol handler on our session. */
export const DENIED_PROTOCOLS = ['http', 'https', 'file'] as const;

/**
 * The `webPreferences` of every window.
 * @param devTools true only for an unpackaged build started with NEAM_CA_DEVTOOLS=1
 */
export function windowWebPreferences(preload: string, devTools = false): WebPreferences {
  return {
    preload,
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
    devTools,
  };
}

/** True for a URL on the app's own origin (a real URL parser, never `startsWith`: item 13). */
export function isAppUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  // WHATWG URL gives non-special schemes an opaque origin, so compare scheme and host.
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
}

/** Whether a request may proceed: only the app's own origin. */
export function isAllowedRequest(url: string): boolean {
  return isAppUrl(url);
}

/** What an IPC sender looks like, reduced to what the check needs. */
export interface SenderFacts {
  /** URL of the sending frame, or null when the frame is gone. */
  frameUrl: string | null;
  /** The sending frame is the top frame of its page. */
  isMainFrame: boolean;
  /** The sending page's webContents id. */
  webContentsId: number;
}

/** The IPC sender check (item 17): the main frame of one of our windows, showing our origin. */
export function isTrustedSender(facts: SenderFacts, trustedWebContents: ReadonlySet<number>): boolean {
  return facts.frameUrl !== null && facts.isMainFrame && trustedWebContents.has(facts.webContentsId) && isAppUrl(facts.frameUrl);
}

/** The parts of a Session that {@link hardenSession} configures. */
export type HardenableSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler' | 'setDisplayMediaRequestHandler' | 'setSpellCheckerEnabled' | 'on'
> & {
  webRequest: Pick<Session['webRequest'], 'onBeforeRequest'>;
  protocol: Pick<Session['protocol'], 'handle'>;
};

/** Denies everything a page could ask of the session; cancels every request but our scheme. */
export function hardenSession(ses: HardenableSession, onBlocked: (what: string, detail: string) => void = () => {}): void {
  ses.setPermissionRequestHandler((_contents, permission, callback) => {
    onBlocked('permission request', permission);
    callback(false);
  });
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // Calling back with no stream refuses screen capture.
  ses.setDisplayMediaRequestHandler((_request, callback) => callback({}));
  ses.setSpellCheckerEnabled(false);
  // No filter: every request of every scheme reaches the listener. The UI makes no network
  // requests, so anything else is a defect or a hostile dependency (mullvad `blockRequests`).
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedRequest(details.url);
    if (!allowed) onBlocked('request', details.url.slice(0, 200));
    callback({ cancel: !allowed });
  });
  for (const scheme of DENIED_PROTOCOLS) {
    ses.protocol.handle(scheme, (request) => {
      onBlocked('protocol', request.url.slice(0, 200));
      return new Response('forbidden', { status: 403, headers: { 'content-type': 'text/plain' } });
    });
  }
  ses.on('will-download', (event: Event) => {
    onBlocked('download', '');
    event.preventDefault();
  });
}

/** The parts of a WebContents that {@link hardenWebContents} configures. */
export type HardenableWebContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Refuses navigation, redirects, new windows and webviews for one webContents. */
export function hardenWebContents(contents: HardenableWebContents, onBlocked: (what: string, detail: string) => void = () => {}): void {
  contents.on('will-navigate', (event, url) => {
    onBlocked('navigation', url.slice(0, 200));
    event.preventDefault();
  });
  contents.on('will-frame-navigate', (event) => {
    onBlocked('frame navigation', event.url.slice(0, 200));
    event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    onBlocked('redirect', url.slice(0, 200));
    event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => {
    onBlocked('webview', '');
    event.preventDefault();
  });
  contents.setWindowOpenHandler((details) => {
    onBlocked('new window', details.url.slice(0, 200));
    return { action: 'deny' };
  });
}
