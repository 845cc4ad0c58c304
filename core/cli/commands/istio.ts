/**
 * @module cli/commands/istio
 * `neam-ca istio generate|validate|test|replay|export`: Istio security manifests from the
 * inventory and observed traffic, validated against Istio's CRDs, tested with Istio's evaluation
 * order, checked against the traffic they came from, and exported as a signed `istio-manifests`
 * transfer bundle (through `neam-ca bundle create`, so channel, signing and recording are the
 * bundle domain's).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

import { CoreError } from '../../errors.ts';
import {
  countFindings,
  formatFinding,
  generateRollout,
  istioBundlePayload,
  loadConfig,
  loadCrds,
  loadInventory,
  loadManifests,
  readGeneratedTree,
  replayTraffic,
  testCases,
  validatePayloadFiles,
  validateDocuments,
  writeTree,
  type CaseResult,
  type CrdContext,
  type DeniedGroup,
  type TrafficStats,
} from '../../istio/index.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { BUNDLE_COMMANDS } from './bundle.ts';
import { table } from '../render.ts';

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}
function list(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}
function required(ctx: CommandContext, name: string, what: string): string {
  const v = str(ctx, name);
  if (v === undefined) throw new CoreError('ERR_USAGE', `--${name} ${what} is required. Run with --help`);
  return v;
}
function path(ctx: CommandContext, p: string): string {
  return resolve(ctx.cwd, p);
}
function nowOf(ctx: CommandContext): Date {
  const v = str(ctx, 'now');
  if (v === undefined) return new Date();
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/u.test(v) || Number.isNaN(d.getTime())) throw new CoreError('ERR_USAGE', `--now ${v} is not an ISO 8601 time (2026-12-01T00:00:00Z)`);
  return d;
}

const INVENTORY: Record<string, OptionSpec> = {
  inventory: { type: 'string', multiple: true, valueName: 'FILE', description: 'inventory: NEAM CA YAML (kind: MeshInventory) or `kubectl get … -A -o json` output' },
  config: { type: 'string', valueName: 'FILE', description: 'generator configuration (YAML); defaults in docs/istio.md' },
};
const TRAFFIC: Record<string, OptionSpec> = {
  'access-log': { type: 'string', multiple: true, valueName: 'FILE', description: 'Envoy JSON access log of the server-side sidecars (with downstream_peer_uri_san)' },
  metrics: { type: 'string', multiple: true, valueName: 'FILE', description: 'Prometheus JSON export of istio_requests_total / istio_tcp_connections_opened_total' },
};
const CRDS: Record<string, OptionSpec> = {
  crds: { type: 'string', valueName: 'DIR', description: "folder with Istio's customresourcedefinitions.gen.yaml (default $NEAM_CA_ISTIO_CRDS, then shared/istio-crds in this or a parent folder)" },
};

function crdContext(ctx: CommandContext): CrdContext {
  const explicit = str(ctx, 'crds');
  return loadCrds(ctx.cwd, ctx.env, explicit);
}

/** Text summary of traffic parsing, with the first malformed lines. */
export function renderTraffic(t: TrafficStats): string {
  const lines = t.files.map((f) => {
    const skipped = Object.entries(f.skipped).map(([r, n]) => `${n} ${r}`).join('; ');
    return `  ${f.file} (${f.format}): ${f.lines} lines, ${f.records} records learned, ${f.malformed} malformed${skipped === '' ? '' : `, skipped: ${skipped}`}`;
  });
  if (t.malformed > 0) lines.push(`  malformed records (${t.malformed}; first ${t.malformedExamples.length}):`, ...t.malformedExamples.map((m) => `    ${m.file}:${m.line}: ${m.reason}`));
  return lines.join('\n');
}

const generateCmd: Command = {
  path: ['istio', 'generate'],
  summary: 'generate the Istio security rollout (STRICT mTLS, least-privilege authorization, egress Sidecars, cacerts) from inventory and traffic',
  usage: '--inventory FILE (--access-log FILE | --metrics FILE)… --out DIR [--config FILE] [--exceptions FILE] [--ca-cert F --cert-chain F --root-cert F [--ca-crl F] [--ca-csr F]] [--now ISO]',
  description:
    'Streams the traffic (malformed lines are counted and listed with line numbers), builds the phased rollout (00-plug-in-ca, 01-observe, 02-permissive, 03-strict; each folder with a README on applying, verifying and rolling back), validates every document against Istio 1.30 CRD schemas, CEL rules and Istio webhook rules, and writes DIR atomically (never over an existing folder). Same inputs, same bytes. Expired exceptions refuse the run (ERR_ISTIO_EXCEPTION_EXPIRED). Certificate files only: a private key is refused.',
  options: {
    ...INVENTORY,
    ...TRAFFIC,
    exceptions: { type: 'string', valueName: 'FILE', description: 'mTLS exceptions (justification, approver, expiry)' },
    out: { type: 'string', valueName: 'DIR', description: 'output folder (must not exist)' },
    'ca-cert': { type: 'string', valueName: 'FILE', description: "istiod's signing (intermediate) certificate, PEM" },
    'cert-chain': { type: 'string', valueName: 'FILE', description: 'chain from ca-cert up to the root, PEM' },
    'root-cert': { type: 'string', valueName: 'FILE', description: 'trust anchor(s), PEM' },
    'ca-crl': { type: 'string', valueName: 'FILE', description: 'CRLs of the chain, PEM (optional)' },
    'ca-csr': { type: 'string', valueName: 'FILE', description: "istiod's CSR: checks ca-cert carries its key (optional)" },
    now: { type: 'string', valueName: 'ISO', description: 'the time exceptions and certificates are checked at (default: now)' },
    ...CRDS,
    'no-schema-validation': { type: 'boolean', description: "generate without Istio's CRDs (loudly reported; webhook rules still checked)" },
  },
  async run(ctx) {
    const out = required(ctx, 'out', 'DIR');
    const certs = ['ca-cert', 'cert-chain', 'root-cert'].map((k) => str(ctx, k));
    if (certs.some((c) => c !== undefined) && certs.some((c) => c === undefined)) throw new CoreError('ERR_USAGE', '--ca-cert, --cert-chain and --root-cert go together');
    if ((str(ctx, 'ca-crl') !== undefined || str(ctx, 'ca-csr') !== undefined) && certs[0] === undefined) throw new CoreError('ERR_USAGE', '--ca-crl and --ca-csr need --ca-cert, --cert-chain and --root-cert');
    let crds: CrdContext | undefined;
    if (ctx.values['no-schema-validation'] === true) ctx.out.status("WARNING: --no-schema-validation: the documents are NOT validated against Istio's CRD schemas (the README and report say so)");
    else crds = crdContext(ctx);
    const cacerts =
      certs[0] === undefined
        ? undefined
        : {
            caCert: path(ctx, certs[0]),
            certChain: path(ctx, certs[1] as string),
            rootCert: path(ctx, certs[2] as string),
            ...(str(ctx, 'ca-crl') === undefined ? {} : { caCrl: path(ctx, str(ctx, 'ca-crl') as string) }),
            ...(str(ctx, 'ca-csr') === undefined ? {} : { caCsr: path(ctx, str(ctx, 'ca-csr') as string) }),
          };
    const outcome = await generateRollout(
      {
        inventory: list(ctx, 'inventory'),
        accessLogs: list(ctx, 'access-log'),
        metrics: list(ctx, 'metrics'),
        ...(str(ctx, 'config') === undefined ? {} : { config: str(ctx, 'config') as string }),
        ...(str(ctx, 'exceptions') === undefined ? {} : { exceptions: str(ctx, 'exceptions') as string }),
        ...(cacerts === undefined ? {} : { cacerts }),
      },
      nowOf(ctx),
      crds,
    );
    writeTree(path(ctx, out), outcome.files);
    const g = outcome.generated;
    const kinds = new Map<string, number>();
    for (const f of g.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    ctx.out.result(
      { out, files: outcome.files.map((f) => f.path), summary: g.summary, traffic: outcome.traffic, findings: g.findings, validation: { errors: outcome.validation.errors, warnings: outcome.validation.warnings, schema: outcome.validation.schema } },
      () =>
        [
          `Wrote ${out}: ${outcome.files.length} files (${Object.entries(g.phases).filter(([, r]) => r.length > 0).map(([p, r]) => `${p}: ${r.length}`).join(', ')}).`,
          `Traffic: ${outcome.traffic.records} records (${outcome.traffic.requests} requests) → ${g.summary.tuples} evidence tuples from ${g.summary.principals} principals; ${outcome.traffic.malformed} malformed.`,
          renderTraffic(outcome.traffic),
          `Validation: ${outcome.validation.schema === 'validated' ? 'CRD schemas + CEL + Istio rules' : 'Istio rules only (CRD schemas NOT checked)'}: ${outcome.validation.errors} errors, ${outcome.validation.warnings} warnings.`,
          kinds.size === 0 ? 'Findings: none.' : `Findings (details in report.json): ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}.`,
          ...g.findings.filter((f) => f.kind === 'plaintext-blocked' || f.kind === 'admin-path-observed' || f.kind === 'unselectable-workload').map((f) => `  ! ${f.message}`),
        ].join('\n'),
    );
  },
};

const validateCmd: Command = {
  path: ['istio', 'validate'],
  summary: "validate Istio manifests: CRD schema and CEL rules (Istio 1.30), Istio's webhook rules, cross-document rules",
  usage: 'PATH… [--crds DIR] [--strict]',
  description: 'PATH is a YAML file or a folder (searched recursively, applied in path order as kubectl apply of the numbered folders would). Exit 1 when any error is found (or any warning with --strict). Without the CRDs the command fails (ERR_ISTIO_CRDS_NOT_FOUND) rather than pass silently.',
  positionals: { names: ['PATH…'], min: 1, max: 64 },
  options: { ...CRDS, strict: { type: 'boolean', description: 'treat warnings as errors' } },
  run(ctx) {
    const crds = crdContext(ctx);
    const findings = ctx.positionals.flatMap((p) => validateDocuments(loadManifests(path(ctx, p)), crds.set).map((f) => ({ ...f, file: ctx.positionals.length > 1 ? `${p}/${f.file}` : f.file })));
    const c = countFindings(findings);
    const failed = c.errors > 0 || (ctx.values['strict'] === true && c.warnings > 0);
    if (!ctx.json) for (const f of findings) ctx.out.text(formatFinding(f));
    if (failed) throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `${c.errors} error(s), ${c.warnings} warning(s) in ${ctx.positionals.join(', ')} (CRDs: ${crds.file})`, { details: { findings: findings.slice(0, 500) } });
    ctx.out.result({ crds: crds.file, errors: c.errors, warnings: c.warnings, findings }, () => `OK: ${c.errors} errors, ${c.warnings} warnings (CRD schemas and CEL rules from ${crds.file}; Istio webhook rules).`);
    return Promise.resolve();
  },
};

function renderCases(rows: CaseResult[]): string {
  return table(
    ['RESULT', 'CASE', 'REQUEST', 'EXPECTED', 'ACTUAL', 'DECIDED BY'],
    rows.map((r) => [r.pass ? 'ok' : 'FAIL', r.name, r.request, r.expected, r.actual, r.decision.reason]),
  );
}

const testCmd: Command = {
  path: ['istio', 'test'],
  summary: "evaluate request cases against manifests with Istio's semantics and compare with the expected verdicts",
  usage: '--manifests DIR --cases FILE --inventory FILE [--config FILE] [--phase NN-name]',
  description:
    'Order: PeerAuthentication mode (STRICT rejects plaintext), then CUSTOM, DENY, ALLOW AuthorizationPolicies (with any ALLOW policy selecting the workload, no match means deny). Dry-run policies are not enforced. Prints expected vs actual and the deciding policy; exit 1 (ERR_ISTIO_POLICY_MISMATCH) on any mismatch. --phase evaluates the rollout only up to that folder.',
  options: {
    manifests: { type: 'string', valueName: 'DIR', description: 'generated output folder (or any folder/file of manifests)' },
    cases: { type: 'string', valueName: 'FILE', description: 'request cases with expected verdicts (YAML)' },
    ...INVENTORY,
    phase: { type: 'string', valueName: 'NN-name', description: 'stop after this rollout folder (e.g. 02-permissive)' },
  },
  run(ctx) {
    const { config } = loadConfig(str(ctx, 'config'));
    const { index } = loadInventory(list(ctx, 'inventory'), config);
    const phase = str(ctx, 'phase');
    const docs = loadManifests(path(ctx, required(ctx, 'manifests', 'DIR')), phase === undefined ? {} : { upTo: phase });
    const { results, skippedPolicies } = testCases(docs, index, required(ctx, 'cases', 'FILE'));
    const failed = results.filter((r) => !r.pass);
    const value = { cases: results.length, passed: results.length - failed.length, failed: failed.length, skippedPolicies, results: results.map((r) => ({ name: r.name, request: r.request, expected: r.expected, actual: r.actual, pass: r.pass, decidedBy: r.decision.reason, mtls: r.decision.mtlsMode, notes: r.decision.notes })) };
    if (failed.length > 0) {
      ctx.out.text(renderCases(results));
      throw new CoreError('ERR_ISTIO_POLICY_MISMATCH', `${failed.length} of ${results.length} case(s) do not match: ${failed.map((f) => `"${f.name}" expected ${f.expected}, got ${f.actual} (${f.decision.reason})`).join('; ')}`, { details: value });
    }
    ctx.out.result(value, () => `${renderCases(results)}\n\nAll ${results.length} cases match.${skippedPolicies.length > 0 ? ` Not enforced: ${skippedPolicies.join(', ')}.` : ''}`);
    return Promise.resolve();
  },
};

function renderDenied(groups: DeniedGroup[]): string {
  return table(
    ['COUNT', 'FROM', 'TO', 'PORT', 'METHOD', 'EXAMPLE PATHS', 'FIRST SEEN', 'WHY'],
    groups.map((g) => [String(g.count), g.principal ?? 'plaintext', g.destination, g.port === null ? '?' : String(g.port), g.method ?? '(tcp)', g.examplePaths.join(' ') || '-', g.firstSeen, g.reason]),
  );
}

const replayCmd: Command = {
  path: ['istio', 'replay'],
  summary: 'replay observed traffic against manifests: every observed request must be allowed; reports what would be denied',
  usage: '--manifests DIR --inventory FILE (--access-log FILE | --metrics FILE)… [--config FILE] [--phase NN-name] [--dry-run-as-enforced]',
  description: 'Streams the traffic like generate does and evaluates each request (Istio semantics, as in `istio test`). Exit 1 (ERR_ISTIO_POLICY_MISMATCH) when any observed request would be denied, listing them grouped by source, workload, port and method with example paths and the first line.',
  options: {
    manifests: { type: 'string', valueName: 'DIR', description: 'generated output folder (or any folder/file of manifests)' },
    ...INVENTORY,
    ...TRAFFIC,
    phase: { type: 'string', valueName: 'NN-name', description: 'stop after this rollout folder (e.g. 01-observe)' },
    'dry-run-as-enforced': { type: 'boolean', description: 'evaluate istio.io/dry-run policies as if enforced (what step 1 shadows)' },
  },
  async run(ctx) {
    const { config } = loadConfig(str(ctx, 'config'));
    const { index } = loadInventory(list(ctx, 'inventory'), config);
    const phase = str(ctx, 'phase');
    const docs = loadManifests(path(ctx, required(ctx, 'manifests', 'DIR')), phase === undefined ? {} : { upTo: phase });
    const { result, traffic, skippedPolicies } = await replayTraffic(docs, index, list(ctx, 'access-log'), list(ctx, 'metrics'), ctx.values['dry-run-as-enforced'] === true);
    const value = { ...result, traffic, skippedPolicies };
    if (result.denied > 0) {
      ctx.out.text(renderDenied(result.groups));
      ctx.out.text(renderTraffic(traffic));
      throw new CoreError('ERR_ISTIO_POLICY_MISMATCH', `${result.denied} of ${result.requests} observed request(s) would be denied (${result.groups.length} group(s) above)`, { details: value });
    }
    ctx.out.result(value, () => `All ${result.requests} observed requests (${result.records} records) are allowed.\n${renderTraffic(traffic)}`);
  },
};

const bundleCreate = BUNDLE_COMMANDS.find((c) => c.path.join(' ') === 'bundle create');
const bundleOptions = Object.fromEntries(Object.entries(bundleCreate?.options ?? {}).filter(([k]) => k !== 'kind' && k !== 'payload'));

const exportCmd: Command = {
  path: ['istio', 'export'],
  summary: 'export a generated rollout as a signed istio-manifests transfer bundle',
  usage: '--from DIR --to PEER --out FILE [--expires-in DAYS] [key options] [--db FILE] [--crds DIR]',
  description:
    "Re-validates the generated folder (CRD schema + CEL + Istio rules), packs each rollout phase as payload/NN-phase/manifests.yaml (the phase README rides along as YAML comments; files above 3 MiB are split) with payload/index.json, refuses any private key, and creates the bundle exactly as 'neam-ca bundle create --kind istio-manifests' does: next sequence number on the channel to PEER, signed with our transfer identity, written exclusively, recorded.",
  options: { from: { type: 'string', valueName: 'DIR', description: "the folder 'neam-ca istio generate' wrote" }, ...bundleOptions, ...CRDS },
  async run(ctx) {
    if (bundleCreate === undefined) throw new CoreError('ERR_INTERNAL', "the 'bundle create' command is not registered");
    const from = path(ctx, required(ctx, 'from', 'DIR'));
    const files = readGeneratedTree(from);
    const payload = istioBundlePayload(files);
    // The same checks an importer registers: refuse to send what the other side must refuse.
    const crds = crdContext(ctx);
    validatePayloadFiles(new Map(payload.map((p) => [p.path, p.bytes])), crds.set);
    const dir = mkdtempSync(join(tmpdir(), 'neam-istio-export-'));
    try {
      for (const p of payload) {
        const target = join(dir, ...p.path.replace(/^payload\//u, '').split('/'));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, p.bytes, { mode: 0o600 });
      }
      return await bundleCreate.run({ ...ctx, values: { ...ctx.values, kind: 'istio-manifests', payload: dir } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** `neam-ca istio …`. */
export const ISTIO_COMMANDS: Command[] = [generateCmd, validateCmd, testCmd, replayCmd, exportCmd];
