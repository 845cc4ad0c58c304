/**
 * @module demo/report
 * The demo's closing summary for people: each stage with its duration, the total, the facts worth
 * reading (fingerprints, serials) and the paths to open next, with commands to try. Pure.
 *
 * Must never: show a secret (the report holds none).
 */
import type { DemoReport } from './run.ts';

/** Text of the final summary. */
export function renderDemoSummary(r: DemoReport): string {
  const lines = ['', `NEAM CA demo completed in ${r.totalSeconds.toFixed(1)} s`, ''];
  for (const s of r.stages) lines.push(`  [${s.stage}] ${s.seconds.toFixed(1).padStart(6)} s  ${s.title.split(':')[0] ?? s.title}`);
  lines.push('');
  const width = Math.max(...Object.keys(r.facts).map((k) => k.length), 0) + 2;
  for (const [k, v] of Object.entries(r.facts)) lines.push(`  ${`${k}:`.padEnd(width)} ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  if (Object.keys(r.facts).length > 0) lines.push('');
  const pw = Math.max(...Object.keys(r.paths).map((k) => k.length), 0) + 2;
  for (const [k, v] of Object.entries(r.paths)) lines.push(`  ${`${k}:`.padEnd(pw)} ${v}`);
  if (r.next.length > 0) lines.push('', 'Explore it (docs/demo.md explains every folder):', ...r.next.map((c) => `  ${c}`));
  lines.push('', `Every process the demo started has been stopped. Run it again with: rm -rf ${r.out} && npm run demo`);
  return lines.join('\n');
}

/** The README.txt at the top of the output folder (written first, so a partial run has it too). */
export function outputReadme(out: string, startedAt: Date): string {
  return `NEAM CA demo output (neam-ca demo, started ${startedAt.toISOString()})

A REHEARSAL on throwaway SoftHSM tokens and SQLite files: nothing here is production key material,
and DEMO-ONLY-secrets/ holds the rehearsal's secrets in plain files, which a real deployment never
does. docs/demo.md in the repository explains every folder; in short:

  summary.json         stages with their durations, fingerprints, serials, paths (also on failure)
  logs/                one log per stage and per process (ceremony narration, server, agent, TLS server)
  DEMO-ONLY-secrets/   custodian passphrases, token PINs, transfer key passphrases (0600 files)
  offline/             the ceremony workstation: site file, CA folder with both ceremonies, custodian media, backups
  transfer/            the removable medium: every signed bundle that crossed the air gap, and the
                       certificates that verify them with stock OpenSSL
  online-ca/           the online CA host (--home of neam-ca online, serve, entry, token, status)
  node/                the workload node: agent configuration, agent state, delivered SVIDs
  mtls/                the mutual TLS exchange: responses, curl transcripts, the TLS server's files, the revoked SVID
  istio/               the generated Istio rollout, replay and policy-test results
  mesh/                the mesh GitOps side that received the istio-manifests bundle
  verify/              stage 7: every check with its command and output (checks.txt), unpacked bundles
  reports/             the printable ceremony records (HTML)

Remove this folder (rm -rf ${out}) before running the demo into it again; the demo never overwrites.
`;
}
