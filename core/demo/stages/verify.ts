/**
 * @module demo/stages/verify
 * Stage 7: everything the demo produced is checked again, by our code and by independent
 * implementations, the way an auditor would:
 *  - both ceremony transcripts: one hash chain from genesis, closing signatures of the pinned
 *    offline transfer key and the co-signing custodians (core/transcript);
 *  - every transfer bundle: unpacked with `tar`, its manifest signature checked with stock
 *    `openssl cms -verify` against the sender's transfer certificate, every payload file's SHA-256
 *    with `sha256sum` against the manifest, and the whole bundle by core/bundle against the
 *    recipient's own state; a copy with one manifest byte changed must be refused by OpenSSL;
 *  - the chains: root CRL (`openssl crl -verify`), each intermediate (`openssl verify
 *    -x509_strict`, at a time inside its window), the workload SVIDs with full-chain CRL checking
 *    (the revoked one must fail as revoked), and GnuTLS `certtool --verify-chain` on an SVID chain.
 * Every command and its output is kept in `verify/checks.txt`.
 *
 * Must never: count a check as passed without looking at the tool's verdict.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { BUNDLE_MIGRATIONS, bundleState, KindRegistry, verifyBundle, type BundleState } from '../../bundle/index.ts';
import { openCaHome } from '../../ceremony/index.ts';
import { CoreError } from '../../errors.ts';
import { istioManifestsValidator, loadCrds, locateCrds } from '../../istio/index.ts';
import { openStore } from '../../store/index.ts';
import { GENESIS_PREV, renderReport, verifyTranscriptFile } from '../../transcript/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { DemoContext } from '../context.ts';
import type { ToolResult } from '../processes.ts';
import type { IntermediateResult } from './intermediate.ts';
import type { MtlsResult } from './mtls.ts';
import type { OnlineInitResult } from './online-init.ts';
import type { RootResult } from './root.ts';
import type { ServeResult } from './serve.ts';

/** What stage 7 checked. */
export interface VerifyResult {
  checks: number;
  transcriptHeads: string[];
  log: string;
}

/**
 * Runs stage 7.
 * @throws {CoreError} ERR_DEMO_CHECK_FAILED naming the check and its log; ERR_BUNDLE_* from our own verification; ERR_DEMO_TOOL_MISSING
 */
export async function verifyStage(ctx: DemoContext, r: { root: RootResult; inter: IntermediateResult; online: OnlineInitResult; serve: ServeResult; mtls: MtlsResult }): Promise<VerifyResult> {
  const { layout } = ctx;
  mkdirSync(layout.verify.dir, { mode: 0o755 });
  const log = join(layout.verify.dir, 'checks.txt');
  writeFileSync(log, '# neam-ca demo, stage 7: every check with its command and verdict\n');
  let checks = 0;
  const record = (title: string, text: string): void => appendFileSync(log, `\n## ${title}\n${text.trimEnd()}\n`);

  /** Runs a stock tool; `judge` returns undefined when it passed, or what was wrong. */
  const tool = async (title: string, cmd: string, args: string[], judge: (t: ToolResult) => string | undefined, cwd?: string): Promise<ToolResult> => {
    const t = await ctx.procs.run(cmd, args, { timeoutMs: 60_000, ...(cwd === undefined ? {} : { cwd }) });
    const verdict = judge(t);
    record(title, `$ ${cmd} ${args.join(' ')}\nexit ${String(t.code)}\n${t.stdout}${t.stderr}\n=> ${verdict === undefined ? 'PASS' : `FAIL: ${verdict}`}`);
    if (verdict !== undefined) throw new CoreError('ERR_DEMO_CHECK_FAILED', `${title}: ${verdict} (${cmd} ${args.join(' ')}); see ${log}`);
    checks++;
    return t;
  };
  const ours = (title: string, fn: () => string): void => {
    const text = fn();
    record(title, `our code: ${text}\n=> PASS`);
    checks++;
  };
  const exit0 = (t: ToolResult): string | undefined => (t.code === 0 ? undefined : `exit ${String(t.code)}: ${(t.stderr || t.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  const says = (re: RegExp) => (t: ToolResult): string | undefined => exit0(t) ?? (re.test(t.stdout + t.stderr) ? undefined : `expected output matching ${String(re)}`);

  // 1. Transcripts: one chain from genesis, closed by the pinned transfer key.
  const pins = { transfer: [r.root.transferSpkiSha256] };
  const v1 = verifyTranscriptFile(r.root.transcript, { previousHead: GENESIS_PREV, pins });
  if (!v1.ok) throw new CoreError('ERR_DEMO_CHECK_FAILED', `the root ceremony's transcript does not verify: ${v1.problem?.message ?? ''}`);
  const v2 = verifyTranscriptFile(r.inter.transcript, { previousHead: v1.head as string, pins });
  if (!v2.ok) throw new CoreError('ERR_DEMO_CHECK_FAILED', `the intermediate ceremony's transcript does not verify: ${v2.problem?.message ?? ''}`);
  for (const [v, path] of [
    [v1, r.root.transcript],
    [v2, r.inter.transcript],
  ] as const) {
    ours(`transcript ${path}`, () => `${v.records.length} records intact, links to ${v.previousHead === GENESIS_PREV ? 'genesis' : v.previousHead}, head ${v.head}; signed by ${v.signers.map((s) => `${s.kind} '${s.name}'${s.pinned === true ? ' [pinned]' : ''}`).join(', ')}`);
  }
  // The printable records (what `neam-ca transcript report` writes), for people to open.
  mkdirSync(layout.reports.dir, { mode: 0o755 });
  for (const [v, path, file] of [
    [v1, r.root.transcript, layout.reports.root],
    [v2, r.inter.transcript, layout.reports.intermediate],
  ] as const) {
    writeFileExclusive(file, renderReport(v, { generatedAt: ctx.now(), source: basename(path), generator: ctx.software, pinned: pins }), 0o644);
  }
  ctx.detail(`transcripts: root (${v1.records.length} records) → intermediate (${v2.records.length} records), one chain from genesis; closed by the pinned offline transfer key and co-signed by ${[...new Set([...v1.signers, ...v2.signers].filter((s) => s.kind === 'witness').map((s) => s.name))].join(', ')}`);

  // 2. Bundles: stock OpenSSL and sha256sum, then our code against the recipient's state.
  const ca = openCaHome(layout.offline.caHome);
  const mesh = openStore(layout.mesh.db, { migrations: [BUNDLE_MIGRATIONS] });
  try {
    const where = locateCrds(ctx.repo, process.env);
    const istioKinds = KindRegistry.withDefaults().addValidator('istio-manifests', istioManifestsValidator(where.found ? loadCrds(ctx.repo, process.env).set : undefined));
    const bundles: Array<{ file: string; sender: string; recipient: BundleState; who: string; kinds?: KindRegistry }> = [
      { file: layout.transfer.request, sender: layout.transfer.onlineCert, recipient: ca.bundle, who: 'the offline CA' },
      { file: layout.transfer.issuance, sender: layout.transfer.offlineCert, recipient: bundleState(r.online.store), who: 'the online CA' },
      { file: layout.transfer.istio, sender: layout.transfer.onlineCert, recipient: bundleState(mesh), who: 'the mesh GitOps side', kinds: istioKinds },
    ];
    for (const b of bundles) {
      const name = basename(b.file, '.neambundle');
      const dir = join(layout.verify.dir, name);
      mkdirSync(dir);
      await tool(`unpack ${name}`, 'tar', ['-xf', b.file, '-C', dir], exit0);
      await tool(`signature of ${name} (stock OpenSSL)`, 'openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(dir, 'manifest.json.p7s'), '-content', join(dir, 'manifest.json'), '-CAfile', b.sender, '-purpose', 'any', '-out', '/dev/null'], says(/Verification successful/u));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: Array<{ path: string; sha256: string }>; kind: string; sequence: number };
      const sums = await tool(`payload hashes of ${name} (sha256sum)`, 'sha256sum', manifest.files.map((f) => f.path), exit0, dir);
      const got = new Map(sums.stdout.trim().split('\n').map((l) => [l.slice(66).trim(), l.slice(0, 64)] as const));
      const bad = manifest.files.filter((f) => got.get(f.path) !== f.sha256);
      if (bad.length > 0 || manifest.files.length === 0) throw new CoreError('ERR_DEMO_CHECK_FAILED', `${name}: sha256sum disagrees with the manifest for ${bad.map((f) => f.path).join(', ') || 'an empty manifest'}`);
      const vb = verifyBundle(readFileSync(b.file), b.recipient, { now: ctx.now(), ...(b.kinds === undefined ? {} : { kinds: b.kinds }) });
      ours(`${name} verified by core/bundle as ${b.who}`, () => `${vb.manifest.kind} bundle ${vb.manifest.sequence} from '${vb.peer}' signed ${vb.signingTime.toISOString()}; limits, archive, signature, manifest, recipient, expiry, sequence, hashes, kind checks passed; ${vb.alreadyImported ? 'already imported' : 'not imported'}`);
      ctx.detail(`${name}: openssl cms -verify OK, ${manifest.files.length} payload SHA-256s match (sha256sum), core/bundle verification as ${b.who} OK`);
    }
    // A changed manifest must not verify (the check above can fail).
    const tampered = join(layout.verify.dir, 'tampered-manifest');
    mkdirSync(tampered);
    const src = join(layout.verify.dir, basename(layout.transfer.issuance, '.neambundle'));
    copyFileSync(join(src, 'manifest.json.p7s'), join(tampered, 'manifest.json.p7s'));
    const original = readFileSync(join(src, 'manifest.json'), 'utf8');
    const changed = original.replace(/"sequence":\s*(\d+)/u, (_m, n: string) => `"sequence":${Number(n) + 1}`);
    if (changed === original) throw new CoreError('ERR_DEMO_CHECK_FAILED', `the manifest ${join(src, 'manifest.json')} has no sequence number`);
    writeFileSync(join(tampered, 'manifest.json'), changed);
    await tool('a manifest changed after signing is refused (stock OpenSSL)', 'openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', join(tampered, 'manifest.json.p7s'), '-content', join(tampered, 'manifest.json'), '-CAfile', layout.transfer.offlineCert, '-purpose', 'any', '-out', '/dev/null'], (t) =>
      t.code !== 0 && /Verification failure|digest failure/iu.test(t.stderr) ? undefined : 'a changed manifest was accepted',
    );
  } finally {
    mesh.close();
    ca.close();
  }

  // 3. Chains: root CRL, intermediates, SVIDs with CRLs, GnuTLS.
  const root = r.root.rootPem;
  await tool('root CRL signature', 'openssl', ['crl', '-in', r.inter.rootCrl, '-CAfile', root, '-noout', '-verify'], says(/verify OK/u));
  for (const cert of r.inter.certificates) {
    // The staggered ones start in the future: check them at a time inside their window (the root
    // CRL, valid 90 days, is checked with the ones valid now).
    const from = new Date(new X509Certificate(readFileSync(cert)).validFrom).getTime();
    const args = from <= Date.now() ? ['-crl_check', '-CRLfile', r.inter.rootCrl] : ['-attime', String(Math.floor(from / 1000) + 3600)];
    await tool(`intermediate ${basename(cert)} (strict${from <= Date.now() ? ', root CRL' : ', at its start + 1 h'})`, 'openssl', ['verify', '-x509_strict', '-purpose', 'any', ...args, '-CAfile', root, cert], says(/: OK/u));
  }
  ctx.detail(`root CRL and ${r.inter.certificates.length} intermediates: openssl verify -x509_strict OK (future ones at a time inside their window)`);
  const svidDir = join(layout.verify.dir, 'svids');
  mkdirSync(svidDir);
  const split = (file: string): string[] => readFileSync(file, 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/u).filter((p) => p.includes('BEGIN CERTIFICATE'));
  const crls = join(layout.node.workloads, 'orders', 'crls.pem');
  const current = { orders: r.serve.delivered.get('orders'), storefront: r.serve.delivered.get('storefront') };
  for (const [name, d] of Object.entries(current)) {
    if (d === undefined) continue;
    const [leaf, ...chain] = split(d.cert);
    writeFileSync(join(svidDir, `${name}-leaf.pem`), leaf ?? '');
    writeFileSync(join(svidDir, `${name}-chain.pem`), chain.join(''));
    for (const purpose of ['sslclient', 'sslserver']) {
      await tool(`${name} SVID as ${purpose} (strict, full-chain CRLs)`, 'openssl', ['verify', '-x509_strict', '-purpose', purpose, '-crl_check_all', '-CRLfile', crls, '-CAfile', join(layout.node.workloads, name, 'bundle.pem'), '-untrusted', join(svidDir, `${name}-chain.pem`), join(svidDir, `${name}-leaf.pem`)], says(/: OK/u));
    }
  }
  const [rleaf, ...rchain] = split(join(layout.mtls.revoked, 'svid.pem'));
  writeFileSync(join(svidDir, 'revoked-reports-leaf.pem'), rleaf ?? '');
  writeFileSync(join(svidDir, 'revoked-reports-chain.pem'), rchain.join(''));
  await tool('the revoked reports SVID fails as revoked', 'openssl', ['verify', '-x509_strict', '-purpose', 'sslclient', '-crl_check_all', '-CRLfile', crls, '-CAfile', root, '-untrusted', join(svidDir, 'revoked-reports-chain.pem'), join(svidDir, 'revoked-reports-leaf.pem')], (t) =>
    t.code !== 0 && /certificate revoked/u.test(t.stdout + t.stderr) ? undefined : 'the revoked SVID was not reported as revoked',
  );
  writeFileSync(join(svidDir, 'storefront-full-chain.pem'), `${readFileSync(join(svidDir, 'storefront-leaf.pem'), 'utf8')}${readFileSync(join(svidDir, 'storefront-chain.pem'), 'utf8')}${readFileSync(root, 'utf8')}`);
  await tool('storefront SVID chain (GnuTLS certtool)', 'certtool', ['--verify-chain', '--infile', join(svidDir, 'storefront-full-chain.pem')], says(/Chain verification output: Verified/u));
  ctx.detail(`SVIDs: openssl verify -x509_strict -crl_check_all OK for orders and storefront (client and server use), revoked reports SVID refused as revoked; certtool --verify-chain Verified`);
  ctx.detail(`${checks} checks passed; commands and outputs in ${log}`);
  return { checks, transcriptHeads: [v1.head as string, v2.head as string], log };
}
