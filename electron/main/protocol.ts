/**
 * @module electron/main/protocol
 * The `neam://workstation/…` handler (registered with `protocol.handle` on the window session):
 * serves the built renderer with the Electron CSP as a header, on top of the `<meta>` CSP in
 * index.html. Only GET and HEAD of files inside the renderer folder on our host; everything else
 * gets 403 or 404.
 *
 * Uses only web `Request`/`Response`, so tests call it without Electron. Must never: serve a file
 * outside the renderer folder or answer for another host.
 */
import { ELECTRON_CSP, uiHeaders } from '../host/csp.ts';
import { readStatic } from '../host/static-files.ts';
import { isAppUrl } from './security.ts';

/** Builds the handler for a renderer folder. */
export function createAppProtocolHandler(rendererDir: string): (request: Request) => Response {
  return (request) => {
    if (!isAppUrl(request.url)) return new Response('forbidden', { status: 403 });
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed', { status: 405 });
    const file = readStatic(rendererDir, new URL(request.url).pathname);
    if (file === null) return new Response('not found', { status: 404 });
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(file.body), { status: 200, headers: uiHeaders(ELECTRON_CSP, file.contentType) });
  };
}
