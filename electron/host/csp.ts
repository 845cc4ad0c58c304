/**
 * @module electron/host/csp
 * The Content-Security-Policy and security headers of the workstation UI, one definition for both
 * hosts: the Electron custom-scheme handler sends {@link ELECTRON_CSP} (no network at all; IPC is
 * not a network request), the loopback host sends {@link LOOPBACK_CSP} (its own origin only, for
 * the API calls), and `renderer/index.html` carries {@link META_CSP} as a `<meta>` tag (the union
 * of what both need; browsers enforce header and meta together, so the stricter header wins).
 * Trusted Types are required, so no code path may turn a string into HTML or script.
 *
 * Must never: allow inline script or style, `eval`, remote origins, frames or plugins.
 */

const BASE = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "manifest-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
] as const;

/** Sent by the Electron `neam://` protocol handler: no connections of any kind. */
export const ELECTRON_CSP = [...BASE, "connect-src 'none'", "frame-ancestors 'none'"].join('; ');

/** Sent by the loopback host: connections to its own origin (the API and event stream) only. */
export const LOOPBACK_CSP = [...BASE, "connect-src 'self'", "frame-ancestors 'none'"].join('; ');

/** The `<meta http-equiv="Content-Security-Policy">` of renderer/index.html (frame-ancestors is
 * ignored in a meta tag, so it is sent as a header only). */
export const META_CSP = [...BASE, "connect-src 'self'"].join('; ');

/** Headers sent with every response of either host, besides the CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), payment=(), display-capture=()',
  'Cache-Control': 'no-store',
};

/** All headers of a UI response for the given CSP. */
export function uiHeaders(csp: string, contentType: string): Record<string, string> {
  return { 'Content-Type': contentType, 'Content-Security-Policy': csp, ...SECURITY_HEADERS };
}
