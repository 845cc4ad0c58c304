/**
 * @module bundle/rotate
 * Rotation of our own transfer identity: in one store transaction, an `identity-rotation` bundle
 * carrying the new certificate is created for every enrolled peer, signed by the current (old)
 * key, and then the new identity becomes current (the old one is retired; bundles addressed to it
 * are still accepted for 30 days). The new key must already exist (generated in the HSM or sealed
 * in a key file by `identity.ts`); if any bundle cannot be written, nothing is recorded and the
 * bundles already written are removed through `unwrite`.
 *
 * Must never: switch identities without a rotation bundle for every peer.
 */
import { CoreError } from '../errors.ts';
import type { Signer } from '../crypto/signer.ts';
import { createBundle, type BuiltBundle } from './create.ts';
import type { GeneratedIdentity } from './identity.ts';
import { toPem } from './pkix.ts';
import type { BundleState, SelfIdentity } from './state.ts';

/** Inputs of {@link rotateIdentity}. */
export interface RotateIdentityInput {
  /** The new identity (key generated, certificate made, not yet recorded). */
  readonly next: GeneratedIdentity;
  /** The key of the current identity, which signs the rotation bundles. */
  readonly currentSigner: Signer;
  readonly now: Date;
  readonly lifetimeDays?: number;
  /** Writes each peer's rotation bundle (inside the transaction). */
  readonly write?: (peer: string, bundle: BuiltBundle) => void;
  /** Removes a written bundle when the rotation fails later. */
  readonly unwrite?: (peer: string, bundle: BuiltBundle) => void;
}

/**
 * Rotates our transfer identity (see the module comment).
 * @throws {CoreError} ERR_NOT_FOUND (no current identity or no peers), ERR_BUNDLE_IDENTITY_INVALID,
 *   and the codes of createBundle
 */
export function rotateIdentity(state: BundleState, input: RotateIdentityInput): { identity: SelfIdentity; bundles: Array<{ peer: string; bundle: BuiltBundle }> } {
  const written: Array<{ peer: string; bundle: BuiltBundle }> = [];
  try {
    return state.transaction(() => {
      const current = state.currentIdentity();
      if (current === undefined) throw new CoreError('ERR_NOT_FOUND', "no transfer identity to rotate; create one with 'neam-ca bundle identity create'");
      if (current.fingerprint === input.next.fingerprint) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the new identity is the current one');
      const peers = state.peers();
      if (peers.length === 0) throw new CoreError('ERR_NOT_FOUND', 'no peer is enrolled; with no one to tell, create a new identity store instead of rotating');
      const files = [
        { path: 'payload/index.json', data: Buffer.from(JSON.stringify({ certificate: 'payload/transfer-certificate.pem' })) },
        { path: 'payload/transfer-certificate.pem', data: Buffer.from(toPem('CERTIFICATE', input.next.certificate)) },
      ];
      for (const peer of peers) {
        const bundle = createBundle(state, {
          kind: 'identity-rotation',
          to: peer,
          files,
          signer: input.currentSigner,
          now: input.now,
          ...(input.lifetimeDays === undefined ? {} : { lifetimeDays: input.lifetimeDays }),
          write: (b) => input.write?.(peer, b),
        });
        written.push({ peer, bundle });
      }
      state.addIdentity({ fingerprint: input.next.fingerprint, name: input.next.name, certificate: input.next.certificate, key: input.next.key, createdAt: input.now.toISOString() }, input.now.toISOString());
      const identity = state.currentIdentity();
      if (identity === undefined) throw new CoreError('ERR_INTERNAL', 'identity not recorded');
      return { identity, bundles: written };
    });
  } catch (e) {
    for (const w of written) input.unwrite?.(w.peer, w.bundle);
    throw e;
  }
}
