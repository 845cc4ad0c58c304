/**
 * @module online/trust-bundle
 * The trust bundle of our trust domain in both published forms: PEM (the root certificates) and
 * the SPIFFE bundle (SPIFFE_Trust_Domain_and_Bundle §4): an RFC 7517 JWK Set with one JWK per
 * root (`use: "x509-svid"`, exactly one `x5c` entry, no `kid`), `spiffe_sequence` (increases with
 * every change of the root set) and `spiffe_refresh_hint` (seconds). Intermediates are not
 * trust anchors: they travel in the SVID chains (as SPIRE does with an upstream authority).
 *
 * Must never: publish anything but CA certificates in the bundle.
 */
import { createPublicKey } from 'node:crypto';

import { certificatePem } from './svid-template.ts';

/** The PEM bundle. */
export function bundlePem(roots: readonly Buffer[]): string {
  return roots.map((r) => certificatePem(r)).join('');
}

/** One JWK of the SPIFFE bundle. */
export type SpiffeJwk = Record<string, string | string[]>;

/** The SPIFFE bundle document. */
export interface SpiffeBundle {
  keys: SpiffeJwk[];
  spiffe_sequence: number;
  spiffe_refresh_hint: number;
}

/** Builds the SPIFFE bundle from the roots' DER. */
export function spiffeBundle(roots: readonly Buffer[], sequence: number, refreshHintSeconds: number): SpiffeBundle {
  const keys = roots.map((der) => {
    const spki = createPublicKey({ key: extractSpkiPem(der), format: 'pem' });
    const jwk = spki.export({ format: 'jwk' }) as Record<string, string>;
    const out: SpiffeJwk = { use: 'x509-svid', kty: jwk['kty'] ?? '' };
    for (const k of ['crv', 'x', 'y', 'n', 'e']) if (jwk[k] !== undefined) out[k] = jwk[k];
    out['x5c'] = [der.toString('base64')];
    return out;
  });
  return { keys, spiffe_sequence: sequence, spiffe_refresh_hint: refreshHintSeconds };
}

function extractSpkiPem(der: Buffer): string {
  // createPublicKey accepts a certificate in PEM form and returns its public key.
  return certificatePem(der);
}
