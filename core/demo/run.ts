/**
 * @module demo/run
 * The end-to-end demo (`neam-ca demo`, `npm run demo`): seven stages run in order into a new
 * output folder, each announced with a progress line and closed with its duration, then a summary
 * with the paths to look at. Any failure stops the run with the stage, the error and where the
 * logs are; SIGINT/SIGTERM (the caller's abort signal) stops it between steps. Either way every
 * process the demo started is stopped before it returns (and killed from a process `exit` handler
 * if the process is leaving anyway).
 *
 * Must never: write outside the output folder, reuse a non-empty output folder, leave a child
 * process running, or print a secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { CoreError, serializeError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import type { DemoContext } from './context.ts';
import { checkOutputFolder, CUSTODIANS, demoLayout } from './layout.ts';
import { DEMO_TOOLS, interrupted, ProcessSupervisor, requireTools, throwIfAborted } from './processes.ts';
import { findSoftHsmModule } from '../hsm/softhsm.ts';
import { writeFileExclusive } from '../util/fs-atomic.ts';
import { outputReadme } from './report.ts';
import { createSecretsFolder, generateDemoSecrets, type RandomBytes } from './secrets.ts';
import { intermediateCeremonyStage } from './stages/intermediate.ts';
import { onlineInitStage } from './stages/online-init.ts';
import { rootCeremonyStage } from './stages/root.ts';
import { mtlsStage } from './stages/mtls.ts';
import { serveStage } from './stages/serve.ts';
import { istioStage } from './stages/istio.ts';
import { verifyStage } from './stages/verify.ts';

/** How the demo is run. */
export interface DemoOptions {
  /** Output folder (must not exist, or be empty). */
  out: string;
  /** Repository root (ceremony-scripts/, samples/, bin/neam-ca.mjs). */
  repo: string;
  /** Stops the run between steps (SIGINT/SIGTERM). */
  signal: AbortSignal;
  /** Receives every progress line (the CLI prints them on stderr). */
  progress: (line: string) => void;
  /** The CLI to start child processes with. */
  cli: { node: string; bin: string };
  software: string;
  random?: RandomBytes;
  now?: () => Date;
}

/** One stage's timing. */
export interface StageTiming {
  stage: number;
  title: string;
  seconds: number;
}

/** What a completed (or failed) run reports. */
export interface DemoReport {
  ok: boolean;
  out: string;
  stages: StageTiming[];
  totalSeconds: number;
  /** Paths worth opening, by name. */
  paths: Record<string, string>;
  /** Fingerprints, serials and counts shown in the summary. */
  facts: Record<string, string | number | string[]>;
  /** The processes the demo started (all stopped when it returned). */
  processes: Array<{ name: string; pid: number }>;
  /** Commands to explore the output with. */
  next: string[];
  error?: { code: string; message: string; stage: number };
}

/** The stage titles, in order. */
export const STAGES = [
  'Root key ceremony (ceremony-scripts/root.yaml, rehearsal on SoftHSM): 3-of-5 custodians, RSA-4096 root key generated in the token',
  'Online CA initialised: staggered intermediate keys sealed under its token; CSRs exported in a signed intermediate-request bundle',
  'Intermediate ceremony (ceremony-scripts/intermediate.yaml): bundle verified and imported, quorum activation, approvals, signatures; intermediate-issuance bundle exported',
  'Online CA imports the issuance bundle and serves on loopback; entries and a join token; the agent attests and obtains SVIDs',
  'Workloads talk mutual TLS with their SVIDs (openssl s_server + curl); a revoked SVID is refused after the CRL refresh',
  'Istio security manifests from the sample inventory and traffic; policy replay; signed istio-manifests bundle',
  'Independent verification: every transcript, every bundle (openssl cms -verify and our code), every chain',
] as const;

/**
 * Runs the demo. Resolves with the report of a completed run.
 * @throws {CoreError} ERR_DEMO_OUTPUT_EXISTS, ERR_DEMO_TOOL_MISSING, ERR_HSM_MODULE_NOT_FOUND before
 *   anything is written; ERR_DEMO_INTERRUPTED; the failing stage's error (ERR_DEMO_CHECK_FAILED,
 *   ERR_DEMO_PROCESS_FAILED, or the domain's own code), its report written to summary.json
 */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const layout = demoLayout(o.out);
  checkOutputFolder(layout.out);
  // Everything the stages need, before anything is written.
  requireTools(DEMO_TOOLS);
  findSoftHsmModule();
  mkdirSync(layout.out, { recursive: true, mode: 0o755 });
  mkdirSync(layout.logs, { mode: 0o700 });
  writeFileExclusive(layout.readme, outputReadme(layout.out, (o.now ?? (() => new Date()))()));
  createSecretsFolder(layout);

  const procs = new ProcessSupervisor(o.signal);
  // Last resorts: a second Ctrl-C (the CLI exits at once), an uncaught error, a closed terminal.
  const onExit = (): void => procs.killAllSync();
  const onHangup = (): void => {
    procs.killAllSync();
    process.exit(129);
  };
  process.on('exit', onExit);
  process.once('SIGHUP', onHangup);
  const random = o.random ?? randomBytes;
  const secrets = generateDemoSecrets(
    CUSTODIANS.map((c) => c.name),
    random,
  );
  const ctx: DemoContext = {
    layout,
    repo: o.repo,
    procs,
    signal: o.signal,
    secrets,
    random,
    now: o.now ?? (() => new Date()),
    detail: (line) => o.progress(`      ${line}`),
    cli: o.cli,
    software: o.software,
  };
  const report: DemoReport = { ok: false, out: layout.out, stages: [], totalSeconds: 0, paths: {}, facts: {}, processes: procs.started, next: [] };
  const t0 = performance.now();
  let current = 0;
  const stage = async <T>(n: number, fn: () => Promise<T> | T): Promise<T> => {
    throwIfAborted(o.signal);
    current = n;
    o.progress(`[${n}/${STAGES.length}] ${STAGES[n - 1] ?? ''}`);
    const s0 = performance.now();
    const r = await fn();
    const seconds = (performance.now() - s0) / 1000;
    report.stages.push({ stage: n, title: STAGES[n - 1] ?? '', seconds: Math.round(seconds * 10) / 10 });
    o.progress(`      done in ${seconds.toFixed(1)} s`);
    return r;
  };
  let store: Store | undefined;
  try {
    o.progress(`NEAM CA demo into ${layout.out} (a rehearsal on SoftHSM + SQLite: nothing here is production key material)`);
    const root = await stage(1, () => rootCeremonyStage(ctx));
    const online = await stage(2, () => onlineInitStage(ctx, root));
    store = online.store;
    const inter = await stage(3, () => intermediateCeremonyStage(ctx, root, online));
    const serve = await stage(4, () => serveStage(ctx, online.store));
    const mtls = await stage(5, () => mtlsStage(ctx, serve, online.store));
    const istio = await stage(6, () => istioStage(ctx, online));
    const verified = await stage(7, () => verifyStage(ctx, { root, inter, online, serve, mtls }));
    report.paths = {
      'root ceremony': root.dir,
      'intermediate ceremony': inter.dir,
      'transfer bundles': layout.transfer.dir,
      'online CA (--home)': layout.online.home,
      'agent configuration': layout.node.config,
      'workload SVIDs': layout.node.workloads,
      'mTLS evidence': layout.mtls.dir,
      'Istio rollout': istio.rollout,
      'verification log': verified.log,
      'ceremony reports': layout.reports.dir,
      logs: layout.logs,
      'DEMO ONLY secrets': layout.secrets.dir,
    };
    report.facts = {
      'root certificate SHA-256': root.rootFingerprint,
      'offline transfer SHA-256': root.transferFingerprint,
      'online transfer SHA-256': online.transferFingerprint,
      intermediates: inter.certificates.length,
      'SVIDs delivered': [...serve.delivered.entries()].map(([n, d]) => `${n} ${d.serial}`),
      'revoked SVID': `${mtls.revokedSerial} (refused by orders after the CRL refresh)`,
      'reports after revocation': mtls.reissuedSerial === undefined ? 'not re-issued yet' : `re-issued by the agent with a fresh key, serial ${mtls.reissuedSerial}`,
      'Istio requests replayed': istio.requests,
      'independent checks passed': verified.checks,
    };
    report.next = [
      `neam-ca transcript verify ${root.transcript} ${inter.transcript} --genesis --pin-transfer ${root.transferSpkiSha256}`,
      `neam-ca ceremony status ${inter.dir}`,
      `neam-ca status --home ${layout.online.home}`,
      `neam-ca agent status --config ${layout.node.config}`,
      `neam-ca bundle inspect ${layout.transfer.issuance}`,
      `chromium ${layout.reports.root} ${layout.reports.intermediate}   # the printable ceremony records`,
    ];
    report.ok = true;
    return report;
  } catch (e) {
    const err = o.signal.aborted && !(e instanceof CoreError && e.code === 'ERR_DEMO_INTERRUPTED') ? interrupted() : e;
    const s = serializeError(err);
    report.error = { code: s.code, message: s.message, stage: current };
    o.progress(s.code === 'ERR_DEMO_INTERRUPTED' ? `      interrupted during stage ${current}; stopping every process the demo started` : `      stage ${current} FAILED [${s.code}]; stopping every process the demo started`);
    throw err;
  } finally {
    await procs.stopAll();
    store?.close();
    secrets.wipe();
    process.off('exit', onExit);
    process.off('SIGHUP', onHangup);
    report.totalSeconds = Math.round(((performance.now() - t0) / 1000) * 10) / 10;
    writeFileSync(layout.summary, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
  }
}
