/**
 * @module bundle/kinds/crl
 * `crl` (offline → online): root CRLs made at a CRL ceremony, DER files. Structural checks: each
 * is a strict-DER version 2 CRL with a CRL number. Incoming: each is signed by a root pinned for
 * the sender (ERR_BUNDLE_CHAIN_INVALID), current (nextUpdate in the future), and its number is
 * newer than the last imported for that root (an identical re-send is accepted). Importing records
 * the number.
 *
 * Must never: let an older CRL replace a newer one.
 */
import { X509Certificate } from 'node:crypto';

import { z } from 'zod';

import { mediaTypeFor } from '../manifest.ts';
import { readCrl, type CrlInfo } from '../pkix.ts';
import { nameField, pathField, Problems } from './common.ts';
import type { ChannelContext, KindHandler, KindInput } from './types.ts';

/** `payload/index.json` of a crl bundle. */
export const crlIndex = z.strictObject({
  crls: z
    .array(z.strictObject({ name: nameField, crl: pathField.refine((p) => p.endsWith('.crl'), 'must be a .crl file (DER)') }))
    .min(1)
    .max(16),
});
/** Parsed index of a crl bundle. */
export type CrlIndex = z.infer<typeof crlIndex>;

function validate(input: KindInput<CrlIndex>): void {
  const problems = new Problems('crl');
  const names = new Set<string>();
  input.index.crls.forEach((c, i) => {
    if (names.has(c.name)) problems.add(`crls.${i}.name`, `'${c.name}' appears twice`);
    names.add(c.name);
    const data = input.files.get(c.crl);
    if (data === undefined) return;
    const r = readCrl(data);
    if ('problem' in r) problems.add(`crls.${i}.crl`, `${c.crl}: ${r.problem}`);
    else if (r.crlNumber === undefined) problems.add(`crls.${i}.crl`, `${c.crl} has no CRL number (RFC 5280 §5.2.3 requires one)`);
  });
  problems.throwIfAny();
}

/** Each CRL with the pinned root that signed it (or a problem). */
function withIssuers(ctx: ChannelContext<CrlIndex>, problems: Problems): Array<{ name: string; crl: CrlInfo; rootFp: string }> {
  const roots = ctx.state.rootPins(ctx.peer).map((p) => ({ fp: p.fingerprint, x: new X509Certificate(p.certificate) }));
  const out: Array<{ name: string; crl: CrlInfo; rootFp: string }> = [];
  ctx.index.crls.forEach((c, i) => {
    const data = ctx.files.get(c.crl);
    if (data === undefined) return;
    for (const root of roots) {
      const r = readCrl(data, root.x);
      if (!('problem' in r)) {
        out.push({ name: c.name, crl: r, rootFp: root.fp });
        return;
      }
    }
    problems.add(
      `crls.${i}.crl`,
      roots.length === 0 ? `no root is pinned for '${ctx.peer}'; pin it first ('neam-ca bundle peer pin-root')` : `${c.crl} is not signed by a root pinned for '${ctx.peer}'`,
      'ERR_BUNDLE_CHAIN_INVALID',
    );
  });
  return out;
}

function checkIncoming(ctx: ChannelContext<CrlIndex>): void {
  const problems = new Problems('crl');
  const crls = withIssuers(ctx, problems);
  problems.throwIfAny();
  const seen = new Set<string>();
  for (const { name, crl, rootFp } of crls) {
    if (seen.has(rootFp)) problems.add('crls', `two CRLs of the same root ('${name}'); send only the newest`);
    seen.add(rootFp);
    if (crl.nextUpdate !== undefined && crl.nextUpdate <= ctx.now) problems.add('crls', `'${name}' is stale (nextUpdate ${crl.nextUpdate.toISOString()})`);
    if (crl.thisUpdate.getTime() > ctx.now.getTime() + 5 * 60_000) problems.add('crls', `'${name}' is not yet valid (thisUpdate ${crl.thisUpdate.toISOString()}); check the clocks`);
    const last = ctx.state.crlNumber(rootFp);
    if (last !== undefined && crl.crlNumber !== undefined && (crl.crlNumber < last.crlNumber || (crl.crlNumber === last.crlNumber && crl.sha256 !== last.crlSha256))) {
      problems.add('crls', `'${name}' has CRL number ${crl.crlNumber}, not newer than the last imported (${last.crlNumber})`);
    }
  }
  problems.throwIfAny();
}

function onImport(ctx: ChannelContext<CrlIndex>): void {
  for (const { crl, rootFp } of withIssuers(ctx, new Problems('crl'))) {
    if (crl.crlNumber !== undefined) ctx.state.setCrlNumber(rootFp, crl.crlNumber, crl.sha256, crl.thisUpdate.toISOString());
  }
}

/** The crl kind. */
export const crlKind: KindHandler<CrlIndex> = {
  kind: 'crl',
  description: 'root CRLs (offline → online)',
  indexSchema: crlIndex,
  references: (index) => index.crls.map((c, i) => ({ path: c.crl, mediaType: mediaTypeFor(c.crl) ?? '', field: `crls.${i}.crl` })),
  validate,
  checkIncoming,
  onImport,
};
