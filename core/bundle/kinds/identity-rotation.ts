/**
 * @module bundle/kinds/identity-rotation
 * `identity-rotation` (either direction): the sender's new transfer certificate, in a bundle
 * signed by the sender's current (old) transfer key. This is the only way a pinned identity
 * changes: importing it retires the old pin and pins the new certificate (recorded as
 * `rotation:<manifest sha256>`). The new certificate must be a valid transfer certificate (its
 * self-signature proves possession of the new key), not already pinned anywhere, and not ours.
 *
 * Must never: rotate a pin on the strength of anything but a signature by the current pin.
 */
import { z } from 'zod';

import { CoreError } from '../../errors.ts';
import { mediaTypeFor } from '../manifest.ts';
import { certificateFingerprint, checkTransferCertificate } from '../transfer-certificate.ts';
import { oneCertificate, pathField, Problems } from './common.ts';
import type { ChannelContext, KindHandler, KindInput } from './types.ts';

/** `payload/index.json` of an identity-rotation bundle. */
export const identityRotationIndex = z.strictObject({
  certificate: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
});
/** Parsed index of an identity-rotation bundle. */
export type IdentityRotationIndex = z.infer<typeof identityRotationIndex>;

function newCertificate(input: KindInput<IdentityRotationIndex>): Buffer {
  const problems = new Problems('identity-rotation');
  const x = oneCertificate(input.files, input.index.certificate, problems, 'certificate');
  problems.throwIfAny();
  if (x === undefined) throw new CoreError('ERR_BUNDLE_KIND_INVALID', 'the identity-rotation payload has no certificate');
  checkTransferCertificate(x.raw, input.now);
  return x.raw;
}

function validate(input: KindInput<IdentityRotationIndex>): void {
  const der = newCertificate(input);
  if (certificateFingerprint(der) === input.manifest.sender) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the new transfer certificate is the one that signed this bundle; a rotation needs a new key');
}

function checkIncoming(ctx: ChannelContext<IdentityRotationIndex>): void {
  const fp = certificateFingerprint(newCertificate(ctx));
  const pinned = ctx.state.pin(fp);
  if (pinned !== undefined) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the new transfer certificate ${fp} is already pinned (for '${pinned.peer}', ${pinned.status}); a rotation needs a new key`, { details: { fingerprint: fp } });
  if (ctx.state.identity(fp) !== undefined) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the new transfer certificate ${fp} is one of our own identities`, { details: { fingerprint: fp } });
}

function onImport(ctx: ChannelContext<IdentityRotationIndex>): void {
  const der = newCertificate(ctx);
  ctx.state.rotatePin(ctx.peer, { fingerprint: certificateFingerprint(der), certificate: der }, `rotation:${ctx.manifestSha256}`, ctx.now.toISOString());
}

/** The identity-rotation kind. */
export const identityRotationKind: KindHandler<IdentityRotationIndex> = {
  kind: 'identity-rotation',
  description: "the sender's new transfer certificate, signed by its current key",
  indexSchema: identityRotationIndex,
  references: (index) => [{ path: index.certificate, mediaType: mediaTypeFor(index.certificate) ?? '', field: 'certificate' }],
  validate,
  checkIncoming,
  onImport,
};
