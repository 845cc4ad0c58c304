/**
 * @module demo/stages/mtls
 * Stage 5: the workloads use the files the agent delivered with stock tools. `orders` serves HTTPS
 * with `openssl s_server` (its SVID and chain, requiring a client certificate verified against the
 * trust bundle with `-x509_strict` and full-chain CRL checking with the agent's `crls.pem`);
 * `storefront` calls it with `curl` (its SVID as client certificate, the trust bundle as CA, the
 * server's DNS SAN checked). `reports` gets through too, until its SVID is revoked (key
 * compromise): the online CA republishes its CRL, the agent delivers the new `crls.pem`, the TLS
 * server is restarted with it (s_server reads CRLs once), and the stolen copy of the revoked SVID
 * is refused while `storefront` still gets through.
 *
 * Must never: call a handshake a success without the server's own evidence (the peer certificate
 * it printed), or a refusal without the server naming the revocation.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CoreError } from '../../errors.ts';
import { revoke } from '../../online/index.ts';
import { parseCrl } from '../../pki/decode.ts';
import { parsePem } from '../../pki/pem.ts';
import type { Store } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { DemoContext } from '../context.ts';
import { lastLines, pollFor, pollUntil, waitForOutput, type ManagedProcess } from '../processes.ts';
import { readDelivered, WORKLOADS, type Delivered, type ServeResult } from './serve.ts';

/** What stage 5 showed. */
export interface MtlsResult {
  port: number;
  /** Serial of the revoked SVID. */
  revokedSerial: string;
  /** The serial the agent delivered to `reports` after noticing the revocation, if it did in time. */
  reissuedSerial: string | undefined;
  transcript: string;
}

const normSerial = (s: string): string => s.toLowerCase().replace(/^(00)+/u, '').replace(/:/gu, '');

/** True when any CRL in a PEM file lists `serial` as revoked. */
export function crlsRevoke(pem: string, serial: string): boolean {
  const want = normSerial(serial);
  return parsePem(pem, { labels: ['X509 CRL'] }).some((b) => parseCrl(b.der).revoked.some((r) => normSerial(r.serial) === want));
}

/**
 * Runs stage 5.
 * @throws {CoreError} ERR_DEMO_CHECK_FAILED (a handshake that should pass failed, or the revoked SVID was not refused as revoked), ERR_DEMO_PROCESS_FAILED, ERR_DEMO_TOOL_MISSING, ERR_DEMO_INTERRUPTED
 */
export async function mtlsStage(ctx: DemoContext, serve: ServeResult, store: Store): Promise<MtlsResult> {
  const { layout } = ctx;
  mkdirSync(layout.mtls.dir, { mode: 0o755 });
  const lines: string[] = [];
  const note = (l: string): void => {
    lines.push(l);
    ctx.detail(l);
  };
  const orders = serve.delivered.get('orders') as Delivered;
  const host = (WORKLOADS.find((w) => w.name === 'orders')?.dnsNames[0] ?? 'orders.shop.svc');

  const startServer = async (n: number): Promise<{ p: ManagedProcess; port: number }> => {
    const d = readDelivered(layout.node.workloads, 'orders') ?? orders;
    // Copies of the files the server was started with, so the evidence stays after rotations.
    const snap = join(layout.mtls.dir, `orders-server-${n}`);
    mkdirSync(snap, { mode: 0o700 });
    for (const f of ['svid.pem', 'bundle.pem', 'crls.pem']) copyFileSync(join(d.dir, f), join(snap, f));
    // s_server's -CRL takes one CRL; the verify store loads every certificate and CRL of -CAfile,
    // so the trust bundle and the CRL set go there together (root CRL + each intermediate's).
    const store = join(snap, 'trust-and-crls.pem');
    writeFileSync(store, readFileSync(join(snap, 'bundle.pem'), 'utf8') + readFileSync(join(snap, 'crls.pem'), 'utf8'));
    const args = ['s_server', '-accept', '127.0.0.1:0', '-cert', d.cert, '-key', d.key, '-cert_chain', join(snap, 'svid.pem'), '-CAfile', store, '-Verify', '4', '-verify_return_error', '-x509_strict', '-crl_check_all', '-www'];
    const p = await ctx.procs.start(`the orders TLS server (openssl s_server #${n})`, 'openssl', args, { logPath: join(layout.logs, `5-orders-s_server-${n}.log`) });
    const m = await waitForOutput(p, /ACCEPT 127\.0\.0\.1:(\d+)/u, 20_000, ctx.signal);
    return { p, port: Number(m[1]) };
  };

  const call = async (files: { cert: string; key: string; bundle: string }, port: number, out: string): Promise<{ ok: boolean; code: number | null; status: string; body: string; stderr: string }> => {
    const r = await ctx.procs.run('curl', ['-sS', '--max-time', '15', '--cacert', files.bundle, '--cert', files.cert, '--key', files.key, '--resolve', `${host}:${port}:127.0.0.1`, '-o', out, '-w', '%{http_code}', `https://${host}:${port}/`], { timeoutMs: 30_000 });
    let body = '';
    try {
      body = readFileSync(out, 'utf8');
    } catch {
      // no body on a refused handshake
    }
    writeFileSync(`${out}.curl.txt`, `$ curl --cert ${files.cert} --key ${files.key} --cacert ${files.bundle} https://${host}:${port}/\nexit ${String(r.code)}; HTTP ${r.stdout}\n${r.stderr}`);
    return { ok: r.code === 0 && r.stdout === '200', code: r.code, status: r.stdout, body, stderr: r.stderr.trim() };
  };

  const expectAccepted = (client: string, r: Awaited<ReturnType<typeof call>>, spiffeId: string, server: ManagedProcess): void => {
    if (!r.ok || !r.body.includes('Client certificate') || !r.body.includes(`URI:${spiffeId}`)) {
      throw new CoreError('ERR_DEMO_CHECK_FAILED', `${client} → orders over mutual TLS failed (curl exit ${String(r.code)}, HTTP ${r.status}): ${r.stderr || 'the server did not report the client certificate'}. Server log:\n${lastLines(server.output())}`);
    }
  };

  const storefront = serve.delivered.get('storefront') as Delivered;
  const reports = serve.delivered.get('reports') as Delivered;
  const storefrontId = WORKLOADS.find((w) => w.name === 'storefront')?.spiffeId ?? '';
  const reportsId = WORKLOADS.find((w) => w.name === 'reports')?.spiffeId ?? '';

  // 1. Both clients get through (the server verifies each chain and its CRLs).
  const first = await startServer(1);
  note(`orders serves HTTPS on 127.0.0.1:${first.port} (openssl s_server -Verify -x509_strict -crl_check_all, pid ${first.p.pid})`);
  const a = await call(storefront, first.port, join(layout.mtls.dir, '1-storefront-to-orders.html'));
  expectAccepted('storefront', a, storefrontId, first.p);
  note(`storefront → orders: HTTP ${a.status}; the server saw client certificate URI:${storefrontId}`);
  const b = await call(reports, first.port, join(layout.mtls.dir, '2-reports-to-orders.html'));
  expectAccepted('reports', b, reportsId, first.p);
  note(`reports → orders: HTTP ${b.status} (before revocation)`);

  // 2. The reports key is reported stolen: keep the thief's copy, revoke the SVID.
  const stolen = layout.mtls.revoked;
  mkdirSync(stolen, { mode: 0o700 });
  copyFileSync(reports.cert, join(stolen, 'svid.pem'));
  writeFileExclusive(join(stolen, 'svid.key'), readFileSync(reports.key), 0o600);
  copyFileSync(reports.bundle, join(stolen, 'bundle.pem'));
  const r = revoke(store, { serial: reports.serial }, 'keyCompromise', ctx.now().getTime());
  if (r.revoked.length !== 1) throw new CoreError('ERR_DEMO_CHECK_FAILED', `revoking ${reports.serial} revoked ${r.revoked.length} certificates`);
  note(`revoked reports' SVID ${reports.serial} (keyCompromise), as 'neam-ca revoke --serial ${reports.serial} --reason keyCompromise' does`);

  // 3. The CA republishes its CRL; the agent delivers it to orders within its poll interval.
  const t0 = Date.now();
  await pollUntil('the agent to deliver a crls.pem listing the revoked serial to orders', () => (crlsRevoke(readFileSync(join(layout.node.workloads, 'orders', 'crls.pem'), 'utf8'), reports.serial) ? true : undefined), {
    timeoutMs: 30_000,
    signal: ctx.signal,
    watch: [serve.server, serve.agent],
    intervalMs: 200,
  });
  note(`the agent delivered the new CRLs to orders ${((Date.now() - t0) / 1000).toFixed(1)} s after the revocation`);
  await ctx.procs.stop(first.p);

  // 4. The server restarts with the new CRLs: the revoked SVID is refused, storefront still passes.
  const second = await startServer(2);
  note(`orders restarted with the new crls.pem on 127.0.0.1:${second.port} (pid ${second.p.pid})`);
  const c = await call({ cert: join(stolen, 'svid.pem'), key: join(stolen, 'svid.key'), bundle: join(stolen, 'bundle.pem') }, second.port, join(layout.mtls.dir, '3-revoked-reports-to-orders.html'));
  // The server logs the verification error; give it a moment to flush.
  const refusedByServer = await pollFor('the TLS server to log the refusal', () => (/certificate revoked/u.test(second.p.output()) ? true : undefined), { timeoutMs: 5000, signal: ctx.signal });
  if (c.ok || c.code === 0 || refusedByServer !== true) {
    throw new CoreError('ERR_DEMO_CHECK_FAILED', `the revoked SVID ${reports.serial} was not refused as revoked (curl exit ${String(c.code)}, HTTP ${c.status}). Server log:\n${lastLines(second.p.output())}`);
  }
  note(`reports (revoked SVID) → orders: refused; curl: ${c.stderr.split('\n').pop() ?? ''}; server: certificate revoked`);
  const d = await call(storefront, second.port, join(layout.mtls.dir, '4-storefront-to-orders.html'));
  expectAccepted('storefront', d, storefrontId, second.p);
  note(`storefront → orders: HTTP ${d.status} (still accepted)`);

  // The agent noticed its delivered SVID in the CRL and renews it with a fresh key.
  const reissued = await pollFor(
    'a new SVID for reports',
    () => {
      const now = readDelivered(layout.node.workloads, 'reports');
      return now !== undefined && now.serial !== reports.serial ? now.serial : undefined;
    },
    { timeoutMs: 10_000, signal: ctx.signal, intervalMs: 200 },
  );
  if (reissued !== undefined) note(`the agent saw reports' SVID in the CRL and delivered a new one (serial ${reissued}, fresh key)`);
  await ctx.procs.stop(second.p);
  const transcript = join(layout.mtls.dir, 'exchange.txt');
  writeFileSync(transcript, `${lines.join('\n')}\n`);
  return { port: second.port, revokedSerial: reports.serial, reissuedSerial: reissued, transcript };
}
