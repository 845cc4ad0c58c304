/**
 * @module bundle/kinds/intermediate-issuance
 * `intermediate-issuance` (offline → online): the intermediate certificates a ceremony signed,
 * each with its chain, plus the root certificate, the root's CRL and the trust bundle.
 *
 * Structural checks: one certificate per file, the root self-signed and a CA, every intermediate a
 * CA signed by that root, each chain file exactly [intermediate, root], the root CRL signed by the
 * root, the trust bundle made of certificates and containing the root.
 * Incoming checks (in this order of error codes): the root is the root pinned for the sender
 * (ERR_BUNDLE_CHAIN_INVALID otherwise, as is an intermediate or CRL the root did not sign); every
 * certificate answers an unanswered CSR we sent to this peer and holds that CSR's key
 * (ERR_BUNDLE_UNSOLICITED_CERT); certificates still valid, inside the requested window (notBefore
 * at most one day early for clock skew, notAfter not later), the root CRL current and not older
 * than the last one imported (ERR_BUNDLE_KIND_INVALID).
 * Importing marks each CSR answered and records the root CRL number.
 *
 * Must never: accept a certificate that does not chain to the pinned root or that we never asked for.
 */
import type { X509Certificate } from 'node:crypto';

import { z } from 'zod';

import { certificateFingerprint } from '../transfer-certificate.ts';
import { mediaTypeFor } from '../manifest.ts';
import { issuedBy, readCrl, sha256Hex, spkiOf, type CrlInfo } from '../pkix.ts';
import { nameField, oneCertificate, pathField, pemFile, Problems, sha256Field, subjectOf, validityOf } from './common.ts';
import type { ChannelContext, KindHandler, KindInput } from './types.ts';

/** How much earlier than requested an issued certificate's notBefore may be (clock skew, backdating). */
export const NOT_BEFORE_ALLOWANCE_MS = 86_400_000;

/** `payload/index.json` of an intermediate-issuance bundle. */
export const intermediateIssuanceIndex = z.strictObject({
  root: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
  rootCrl: pathField.refine((p) => p.endsWith('.crl'), 'must be a .crl file (DER)'),
  trustBundle: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
  certificates: z
    .array(
      z.strictObject({
        name: nameField,
        certificate: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
        chain: pathField.refine((p) => p.endsWith('.pem'), 'must be a .pem file'),
        csrSha256: sha256Field,
      }),
    )
    .min(1)
    .max(16),
});
/** Parsed index of an intermediate-issuance bundle. */
export type IntermediateIssuanceIndex = z.infer<typeof intermediateIssuanceIndex>;

interface Parsed {
  root: X509Certificate | undefined;
  certs: Map<string, X509Certificate>;
  crl: CrlInfo | undefined;
}

function parse(input: KindInput<IntermediateIssuanceIndex>, problems: Problems): Parsed {
  const { index, files } = input;
  const root = oneCertificate(files, index.root, problems, 'root');
  if (root !== undefined) {
    if (root.subject !== root.issuer || !root.verify(root.publicKey)) problems.add('root', `${index.root} is not a self-signed root certificate`, 'ERR_BUNDLE_CHAIN_INVALID');
    else if (!root.ca) problems.add('root', `${index.root} is not a CA certificate`, 'ERR_BUNDLE_CHAIN_INVALID');
  }
  const certs = new Map<string, X509Certificate>();
  const names = new Set<string>();
  index.certificates.forEach((c, i) => {
    if (names.has(c.name)) problems.add(`certificates.${i}.name`, `'${c.name}' appears twice`);
    names.add(c.name);
    const x = oneCertificate(files, c.certificate, problems, `certificates.${i}.certificate`);
    if (x === undefined) return;
    certs.set(c.name, x);
    if (!x.ca) problems.add(`certificates.${i}.certificate`, `${c.certificate} is not a CA certificate (an intermediate must have CA:TRUE)`);
    if (root !== undefined) {
      const chained = issuedBy(x, root);
      if (chained !== true) problems.add(`certificates.${i}.certificate`, `${c.certificate} does not chain to the bundle's root: ${chained.problem}`, 'ERR_BUNDLE_CHAIN_INVALID');
      const chain = pemFile(files, c.chain, 'CERTIFICATE', problems, `certificates.${i}.chain`);
      if (chain.length > 0 && (chain.length !== 2 || !chain[0]?.der.equals(x.raw) || !chain[1]?.der.equals(root.raw))) {
        problems.add(`certificates.${i}.chain`, `${c.chain} must hold exactly the intermediate then the root`);
      }
    }
  });
  let crl: CrlInfo | undefined;
  const crlData = files.get(index.rootCrl);
  if (crlData !== undefined && root !== undefined) {
    const r = readCrl(crlData, root);
    if ('problem' in r) problems.add('rootCrl', `${index.rootCrl}: ${r.problem}`, r.wrongIssuer === true ? 'ERR_BUNDLE_CHAIN_INVALID' : 'ERR_BUNDLE_KIND_INVALID');
    else crl = r;
  }
  const bundle = pemFile(files, index.trustBundle, 'CERTIFICATE', problems, 'trustBundle');
  if (bundle.length > 0 && root !== undefined && !bundle.some((b) => b.der.equals(root.raw))) problems.add('trustBundle', `${index.trustBundle} does not contain the root certificate`);
  return { root, certs, crl };
}

const PRIORITY = ['ERR_BUNDLE_KIND_INVALID', 'ERR_BUNDLE_CHAIN_INVALID'] as const;

function validate(input: KindInput<IntermediateIssuanceIndex>): void {
  const problems = new Problems('intermediate-issuance');
  parse(input, problems);
  problems.throwIfAny(PRIORITY);
}

function checkIncoming(ctx: ChannelContext<IntermediateIssuanceIndex>): void {
  const problems = new Problems('intermediate-issuance');
  const { root, certs, crl } = parse(ctx, problems);
  problems.throwIfAny(PRIORITY);
  if (root === undefined) return;
  const rootFp = certificateFingerprint(root.raw);
  const pinned = ctx.state.rootPins(ctx.peer);
  if (!pinned.some((p) => p.fingerprint === rootFp)) {
    problems.add(
      'root',
      pinned.length === 0
        ? `no root is pinned for '${ctx.peer}'; pin the root fingerprint read at the root ceremony first ('neam-ca bundle peer pin-root')`
        : `the bundle's root '${subjectOf(root)}' (SHA-256 ${rootFp}) is not the root pinned for '${ctx.peer}' (${pinned.map((p) => p.fingerprint).join(', ')})`,
      'ERR_BUNDLE_CHAIN_INVALID',
    );
    problems.throwIfAny();
  }
  ctx.index.certificates.forEach((c, i) => {
    const x = certs.get(c.name);
    if (x === undefined) return;
    const field = `certificates.${i}`;
    const sent = ctx.state.sentCsr(c.csrSha256);
    if (sent === undefined || sent.peer !== ctx.peer) {
      problems.add(field, `'${c.name}' answers no CSR we sent to '${ctx.peer}' (csrSha256 ${c.csrSha256})`, 'ERR_BUNDLE_UNSOLICITED_CERT');
      return;
    }
    if (sent.answeredBy !== null) {
      problems.add(field, `the CSR '${sent.name}' was already answered by the certificate ${sent.answeredBy}`, 'ERR_BUNDLE_UNSOLICITED_CERT');
      return;
    }
    if (sha256Hex(spkiOf(x)) !== sent.spkiSha256) {
      problems.add(field, `'${c.name}' does not hold the key of the CSR '${sent.name}' it claims to answer`, 'ERR_BUNDLE_UNSOLICITED_CERT');
      return;
    }
    const v = validityOf(x);
    if (v.notAfter <= ctx.now) problems.add(field, `'${c.name}' expired on ${v.notAfter.toISOString()}`);
    if (v.notAfter.getTime() > Date.parse(sent.notAfter)) problems.add(field, `'${c.name}' is valid until ${v.notAfter.toISOString()}, after the requested ${sent.notAfter}`);
    if (v.notBefore.getTime() < Date.parse(sent.notBefore) - NOT_BEFORE_ALLOWANCE_MS) problems.add(field, `'${c.name}' is valid from ${v.notBefore.toISOString()}, more than a day before the requested ${sent.notBefore}`);
  });
  if (crl !== undefined) {
    if (crl.nextUpdate !== undefined && crl.nextUpdate <= ctx.now) problems.add('rootCrl', `the root CRL is stale (nextUpdate ${crl.nextUpdate.toISOString()})`);
    const last = ctx.state.crlNumber(rootFp);
    if (last !== undefined && crl.crlNumber !== undefined && (crl.crlNumber < last.crlNumber || (crl.crlNumber === last.crlNumber && crl.sha256 !== last.crlSha256))) {
      problems.add('rootCrl', `the root CRL number ${crl.crlNumber} is not newer than the last imported (${last.crlNumber})`);
    }
  }
  problems.throwIfAny(['ERR_BUNDLE_UNSOLICITED_CERT', 'ERR_BUNDLE_KIND_INVALID']);
}

function onImport(ctx: ChannelContext<IntermediateIssuanceIndex>): void {
  const problems = new Problems('intermediate-issuance');
  const { root, certs, crl } = parse(ctx, problems);
  const now = ctx.now.toISOString();
  for (const c of ctx.index.certificates) {
    const x = certs.get(c.name);
    if (x !== undefined) ctx.state.answerCsr(c.csrSha256, sha256Hex(x.raw), now);
  }
  if (root !== undefined && crl?.crlNumber !== undefined) ctx.state.setCrlNumber(certificateFingerprint(root.raw), crl.crlNumber, crl.sha256, crl.thisUpdate.toISOString());
}

/** The intermediate-issuance kind. */
export const intermediateIssuanceKind: KindHandler<IntermediateIssuanceIndex> = {
  kind: 'intermediate-issuance',
  description: 'issued intermediate certificates with chains, the root, its CRL and the trust bundle (offline → online)',
  indexSchema: intermediateIssuanceIndex,
  references: (index) => [
    { path: index.root, mediaType: mediaTypeFor(index.root) ?? '', field: 'root' },
    { path: index.rootCrl, mediaType: mediaTypeFor(index.rootCrl) ?? '', field: 'rootCrl' },
    { path: index.trustBundle, mediaType: mediaTypeFor(index.trustBundle) ?? '', field: 'trustBundle' },
    ...index.certificates.flatMap((c, i) => [
      { path: c.certificate, mediaType: mediaTypeFor(c.certificate) ?? '', field: `certificates.${i}.certificate` },
      { path: c.chain, mediaType: mediaTypeFor(c.chain) ?? '', field: `certificates.${i}.chain` },
    ]),
  ],
  validate,
  checkIncoming,
  onImport,
};
