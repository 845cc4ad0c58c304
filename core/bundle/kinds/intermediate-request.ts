/**
 * @module bundle/kinds/intermediate-request
 * `intermediate-request` (online → offline): the CSRs of the next intermediates, each with the
 * validity window it asks for. Checks: every CSR is one PEM `CERTIFICATE REQUEST`, strict DER,
 * self-signature valid (proof of possession), an allowed key (RSA 2048-8192, EC P-256/P-384),
 * distinct keys, sane windows. Creating one records each CSR as sent on the channel, so the
 * issuance that answers it can be matched (and an unsolicited certificate refused).
 *
 * Must never: accept a CSR whose signature does not verify.
 */
import { z } from 'zod';

import { mediaTypeFor } from '../manifest.ts';
import { parsePem, readCsr, type CsrInfo } from '../pkix.ts';
import { nameField, pathField, Problems, timeField } from './common.ts';
import type { ChannelContext, KindHandler, KindInput } from './types.ts';

/** Longest window an intermediate may ask for (a year and a day; profiles are stricter). */
export const MAX_REQUEST_WINDOW_DAYS = 366;

/** `payload/index.json` of an intermediate-request bundle. */
export const intermediateRequestIndex = z.strictObject({
  requests: z
    .array(
      z.strictObject({
        name: nameField,
        csr: pathField.refine((p) => p.endsWith('.csr'), 'must be a .csr file'),
        notBefore: timeField,
        notAfter: timeField,
      }),
    )
    .min(1)
    .max(16),
});
/** Parsed index of an intermediate-request bundle. */
export type IntermediateRequestIndex = z.infer<typeof intermediateRequestIndex>;

/** Parses every CSR of the index; problems are collected. */
export function requestCsrs(input: KindInput<IntermediateRequestIndex>, problems: Problems): Map<string, CsrInfo> {
  const out = new Map<string, CsrInfo>();
  input.index.requests.forEach((r, i) => {
    const field = `requests.${i}.csr`;
    const data = input.files.get(r.csr);
    if (data === undefined) return;
    const pem = parsePem(data.toString('utf8'));
    if ('problem' in pem) return problems.add(field, `${r.csr}: ${pem.problem}`);
    if (pem.blocks.length !== 1 || pem.blocks[0]?.label !== 'CERTIFICATE REQUEST') return problems.add(field, `${r.csr} must hold exactly one PEM "CERTIFICATE REQUEST" block`);
    const csr = readCsr(pem.blocks[0].der);
    if ('problem' in csr) return problems.add(field, `${r.csr}: ${csr.problem}`);
    out.set(r.name, csr);
  });
  return out;
}

function validate(input: KindInput<IntermediateRequestIndex>): void {
  const problems = new Problems('intermediate-request');
  const names = new Set<string>();
  const paths = new Set<string>();
  input.index.requests.forEach((r, i) => {
    if (names.has(r.name)) problems.add(`requests.${i}.name`, `'${r.name}' is requested twice`);
    names.add(r.name);
    if (paths.has(r.csr)) problems.add(`requests.${i}.csr`, `${r.csr} is used by two requests`);
    paths.add(r.csr);
    const nb = Date.parse(r.notBefore);
    const na = Date.parse(r.notAfter);
    if (na <= nb) problems.add(`requests.${i}.notAfter`, 'must be after notBefore');
    else if (na - nb > MAX_REQUEST_WINDOW_DAYS * 86_400_000) problems.add(`requests.${i}.notAfter`, `the window is longer than ${MAX_REQUEST_WINDOW_DAYS} days`);
  });
  const csrs = requestCsrs(input, problems);
  const keys = new Map<string, string>();
  for (const [name, csr] of csrs) {
    const other = keys.get(csr.spkiSha256);
    if (other !== undefined) problems.add('requests', `'${name}' and '${other}' request the same key; every intermediate needs its own key`);
    keys.set(csr.spkiSha256, name);
  }
  problems.throwIfAny();
}

function checkOutgoing(ctx: ChannelContext<IntermediateRequestIndex>): void {
  const problems = new Problems('intermediate-request');
  const csrs = requestCsrs(ctx, problems);
  for (const [name, csr] of csrs) {
    const sent = ctx.state.sentCsr(csr.sha256);
    if (sent !== undefined) problems.add('requests', `the CSR of '${name}' was already sent to '${sent.peer}' (as '${sent.name}'); a CSR is sent once`);
  }
  problems.throwIfAny();
}

function onCreate(ctx: ChannelContext<IntermediateRequestIndex>): void {
  const csrs = requestCsrs(ctx, new Problems('intermediate-request'));
  for (const r of ctx.index.requests) {
    const csr = csrs.get(r.name);
    if (csr === undefined) continue;
    ctx.state.addSentCsr({ csrSha256: csr.sha256, peer: ctx.peer, name: r.name, spkiSha256: csr.spkiSha256, notBefore: r.notBefore, notAfter: r.notAfter, manifestSha256: ctx.manifestSha256 });
  }
}

/** The intermediate-request kind. */
export const intermediateRequestKind: KindHandler<IntermediateRequestIndex> = {
  kind: 'intermediate-request',
  description: 'CSRs of intermediate CAs and their requested validity windows (online → offline)',
  indexSchema: intermediateRequestIndex,
  references: (index) => index.requests.map((r, i) => ({ path: r.csr, mediaType: mediaTypeFor(r.csr) ?? '', field: `requests.${i}.csr` })),
  validate,
  checkOutgoing,
  onCreate,
};
