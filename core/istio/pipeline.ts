/**
 * @module istio/pipeline
 * The shell that wires the Istio domain together for the CLI and other callers: read the
 * configuration, inventory and exceptions; stream the traffic once (hashing it on the way) into
 * the aggregate; check the `cacerts` certificates; generate; render the YAML; validate the exact
 * bytes that will be written (CRD schema + CEL when the CRDs are available, Istio's rules always);
 * render READMEs, report and evidence. `generateRollout` returns the files (for writing or for an
 * `istio-manifests` bundle); `replayTraffic` and `testCases` serve the other commands.
 *
 * Must never: write anything (the caller decides where; `io.writeTree` does it atomically), or
 * return files that failed validation.
 */
import { createHash, type Hash } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { TrafficAggregate } from './aggregate.ts';
import { prepareCacerts, type CacertsInput, type CacertsMaterial } from './cacerts.ts';
import { defaultConfig, parseConfig, type IstioConfig } from './config.ts';
import type { CrdSchemaSet } from './crd-schema.ts';
import { PolicySet } from './evaluate.ts';
import { parseExceptions, type MtlsException } from './exceptions.ts';
import { generate, PHASES, type Generated } from './generate.ts';
import { MeshIndex, parseInventory, type InventoryParseNotes } from './inventory.ts';
import { finalState, openStream, readTextFile } from './io.ts';
import type { Inventory, TrafficStats } from './model.ts';
import { parseCases, runCases, type CaseResult } from './policy-test.ts';
import { phaseFiles, renderFiles, renderManifestFiles, type OutputFile } from './render.ts';
import { Replayer, type ReplayResult } from './replay.ts';
import { TrafficReader, type TrafficSource } from './traffic.ts';
import { countFindings, formatFinding, validateDocuments, type ManifestDoc, type ValidationFinding } from './validate.ts';
import { parseYamlStream } from './yaml-source.ts';

/** Input files of a generation (paths as given; they appear in the report). */
export interface GenerateFiles {
  inventory: string[];
  accessLogs: string[];
  metrics: string[];
  config?: string;
  exceptions?: string;
  cacerts?: { caCert: string; certChain: string; rootCert: string; caCrl?: string; caCsr?: string };
}

/** The compiled CRDs and where they came from, or undefined when schema validation is skipped. */
export interface CrdContext {
  set: CrdSchemaSet;
  file: string;
  sha256: string;
}

/** Everything a generation produced. */
export interface GenerateOutcome {
  files: OutputFile[];
  generated: Generated;
  traffic: TrafficStats;
  validation: { errors: number; warnings: number; schema: 'validated' | 'skipped'; findings: ValidationFinding[] };
  report: Record<string, unknown>;
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

async function* hashing(src: AsyncIterable<Buffer>, h: Hash): AsyncGenerator<Buffer> {
  for await (const c of src) {
    h.update(c);
    yield c;
  }
}

/** Reads the configuration file, or the defaults. */
export function loadConfig(file: string | undefined): { config: IstioConfig; digest: string | null } {
  if (file === undefined) return { config: defaultConfig(), digest: null };
  const text = readTextFile(file, 1024 * 1024, 'configuration');
  return { config: parseConfig(text, file), digest: sha256(text) };
}

/** Reads and indexes the inventory files. */
export function loadInventory(files: readonly string[], config: IstioConfig): { inventory: Inventory; index: MeshIndex; notes: InventoryParseNotes; digests: Record<string, string> } {
  if (files.length === 0) throw new CoreError('ERR_USAGE', 'at least one --inventory FILE is required');
  const digests: Record<string, string> = {};
  const texts = files.map((file) => {
    const text = readTextFile(file, config.limits.maxInventoryBytes, 'inventory');
    digests[file] = sha256(text);
    return { file, text };
  });
  const { inventory, notes } = parseInventory(texts);
  return { inventory, index: new MeshIndex(inventory, config), notes, digests };
}

/** Traffic sources for the given files (opened lazily, one after the other). */
export function trafficSources(accessLogs: readonly string[], metrics: readonly string[]): Array<{ file: string; format: 'envoy' | 'prometheus' }> {
  return [...accessLogs.map((file) => ({ file, format: 'envoy' as const })), ...metrics.map((file) => ({ file, format: 'prometheus' as const }))];
}

/**
 * Validates the generated resources as documents, named by the file and position they are
 * rendered to (`02-permissive/shop.yaml`, document N). The objects are what the YAML is rendered
 * from, so validating them avoids re-parsing megabytes of YAML at scale; the tests re-parse the
 * written bytes and validate those too.
 */
export function validateGenerated(generated: Generated, crds: CrdSchemaSet | undefined): ValidationFinding[] {
  const docs: ManifestDoc[] = [];
  for (const p of PHASES) for (const f of phaseFiles(p, generated.phases[p])) f.resources.forEach((r, index) => docs.push({ file: `${p}/${f.path}`, line: index + 1, index, value: r }));
  return validateDocuments(docs, crds);
}

/** Validates rendered YAML files exactly as written. */
export function validateRendered(files: readonly OutputFile[], crds: CrdSchemaSet | undefined): ValidationFinding[] {
  const docs: ManifestDoc[] = [];
  for (const f of files) {
    if (f.mediaType !== 'application/yaml') continue;
    for (const d of parseYamlStream(f.bytes.toString('utf8'))) docs.push(d.error === undefined ? { file: f.path, line: d.line, index: d.index, value: d.value } : { file: f.path, line: d.line, index: d.index, value: undefined, error: d.error });
  }
  return validateDocuments(docs, crds);
}

/**
 * Runs a whole generation from files. `crds` undefined skips the schema layer (the report and the
 * READMEs say so).
 * @throws {CoreError} the input errors of each stage (ERR_ISTIO_CONFIG_INVALID, …_INVENTORY_INVALID,
 *   …_EXCEPTION_INVALID/_EXPIRED, …_CACERTS_INVALID, …_PRIVATE_KEY_REFUSED, ERR_INPUT_TOO_LARGE), and
 *   ERR_ISTIO_MANIFEST_INVALID when a generated document fails validation (nothing is returned).
 */
export async function generateRollout(files: GenerateFiles, now: Date, crds: CrdContext | undefined): Promise<GenerateOutcome> {
  const { config, digest: configDigest } = loadConfig(files.config);
  const { inventory, index, notes, digests: inventoryDigests } = loadInventory(files.inventory, config);
  let exceptions: MtlsException[] = [];
  let exceptionsDigest: string | null = null;
  if (files.exceptions !== undefined) {
    const text = readTextFile(files.exceptions, 4 * 1024 * 1024, 'exceptions file');
    exceptions = parseExceptions(text, files.exceptions, index, config, now);
    exceptionsDigest = sha256(text);
  }
  let cacerts: CacertsMaterial | undefined;
  const cacertsDigests: Record<string, string> = {};
  if (files.cacerts !== undefined) {
    const read = (p: string, what: string): string => {
      const t = readTextFile(p, 1024 * 1024, what);
      cacertsDigests[p] = sha256(t);
      return t;
    };
    const input: CacertsInput = { caCert: read(files.cacerts.caCert, 'ca-cert.pem'), certChain: read(files.cacerts.certChain, 'cert-chain.pem'), rootCert: read(files.cacerts.rootCert, 'root-cert.pem') };
    if (files.cacerts.caCrl !== undefined) input.caCrl = read(files.cacerts.caCrl, 'ca-crl.pem');
    if (files.cacerts.caCsr !== undefined) input.caCsr = read(files.cacerts.caCsr, 'CSR');
    cacerts = await prepareCacerts(input, now);
  }
  const sources = trafficSources(files.accessLogs, files.metrics);
  if (sources.length === 0) throw new CoreError('ERR_USAGE', 'observed traffic is required: give --access-log FILE and/or --metrics FILE');
  const reader = new TrafficReader(index, config);
  const agg = new TrafficAggregate(config);
  const trafficDigests: Record<string, string> = {};
  for (const s of sources) {
    const h = createHash('sha256');
    const src: TrafficSource = { file: s.file, format: s.format, data: hashing(openStream(s.file, s.format === 'envoy' ? 'access log' : 'metrics export'), h) };
    await reader.consume(src, (r) => agg.add(r));
    trafficDigests[s.file] = h.digest('hex');
  }
  const traffic = reader.stats();
  const tuples = agg.tuples();
  const generated = generate({ inventory, config, tuples, collapsed: agg.collapsed(), exceptions, ...(cacerts === undefined ? {} : { cacerts }), now });
  const manifests = renderManifestFiles(generated);
  const findings = validateGenerated(generated, crds?.set);
  const counts = countFindings(findings);
  if (counts.errors > 0) {
    const errs = findings.filter((f) => f.severity === 'error');
    throw new CoreError('ERR_ISTIO_MANIFEST_INVALID', `${counts.errors} generated document(s) failed validation; nothing was written. Usually a configuration value (egress hosts, admin paths, principals) is at fault:\n${errs.slice(0, 30).map((f) => `  - ${formatFinding(f)}`).join('\n')}${errs.length > 30 ? `\n  … and ${errs.length - 30} more` : ''}`, {
      details: { errors: errs.slice(0, 200) },
    });
  }
  const schemaLine = crds === undefined
    ? '**Warning: the documents were NOT validated against Istio\'s CRD schemas** (the CRDs were not available); Istio\'s webhook rules were checked. Run `neam-ca istio validate .` with the CRDs before applying.'
    : `Every document was validated against Istio's CRD schemas and CEL rules (\`${crds.file.split('/').slice(-1)[0]}\`, SHA-256 ${crds.sha256}) and Istio's webhook rules: 0 errors, ${counts.warnings} warning(s).`;
  const report: Record<string, unknown> = {
    format: 'neam-ca.istio-report/v1',
    inputs: { config: files.config === undefined ? null : { file: files.config, sha256: configDigest }, inventory: inventoryDigests, exceptions: files.exceptions === undefined ? null : { file: files.exceptions, sha256: exceptionsDigest }, traffic: trafficDigests, cacerts: cacertsDigests },
    settings: { trustDomain: config.trustDomain, rootNamespace: config.rootNamespace, clusterDomain: config.clusterDomain, excludeNamespaces: config.excludeNamespaces, paths: config.paths, adminPaths: config.adminPaths, essentialEgressHosts: config.essentialEgressHosts },
    inventory: { namespaces: inventory.namespaces.length, workloads: inventory.workloads.length, services: inventory.services.length, serviceAccounts: inventory.serviceAccounts.length, ignored: notes.ignored },
    traffic,
    evidence: { tuples: tuples.length, principals: generated.summary.principals, collapsedOperations: agg.collapsed() },
    exceptions: exceptions.map((e) => ({ id: e.id, namespace: e.namespace, workload: e.workload ?? null, ports: e.ports, mode: e.mode, approver: e.approver, expires: e.expiresAt.toISOString(), justification: e.justification, ticket: e.ticket ?? null })),
    cacerts: cacerts === undefined ? null : { caCert: cacerts.caCert, chain: cacerts.chain, roots: cacerts.roots, crls: cacerts.crls },
    resources: Object.fromEntries(Object.entries(generated.phases).map(([p, rs]) => [p, Object.fromEntries([...new Set(rs.map((r) => r.kind))].sort().map((k) => [k, rs.filter((r) => r.kind === k).length]))])),
    findings: generated.findings,
    validation: { crdSchemas: crds === undefined ? 'skipped (CRDs not available)' : 'validated', crdSha256: crds?.sha256 ?? null, documents: manifests.reduce((n, f) => n + (f.bytes.toString('utf8').match(/^---$/gmu)?.length ?? 0), 0), errors: 0, warnings: findings.filter((f) => f.severity === 'warning').map(formatFinding) },
  };
  const out = renderFiles({ generated, manifests, facts: { config, exceptions, ...(cacerts === undefined ? {} : { cacerts }), schemaValidation: schemaLine }, tuples, report });
  return { files: out, generated, traffic, validation: { ...counts, schema: crds === undefined ? 'skipped' : 'validated', findings }, report };
}

/**
 * Replays traffic against a manifests folder's final state.
 */
export async function replayTraffic(docs: readonly ManifestDoc[], index: MeshIndex, accessLogs: readonly string[], metrics: readonly string[], includeDryRun: boolean): Promise<{ result: ReplayResult; traffic: TrafficStats; skippedPolicies: string[] }> {
  const policies = new PolicySet(finalState(docs), index.config.rootNamespace, includeDryRun);
  const reader = new TrafficReader(index, index.config);
  const replayer = new Replayer(policies, index);
  const sources = trafficSources(accessLogs, metrics);
  if (sources.length === 0) throw new CoreError('ERR_USAGE', 'give the traffic to replay with --access-log FILE and/or --metrics FILE');
  for (const s of sources) await reader.consume({ file: s.file, format: s.format, data: openStream(s.file, s.format === 'envoy' ? 'access log' : 'metrics export') }, (r) => replayer.add(r));
  return { result: replayer.result(), traffic: reader.stats(), skippedPolicies: policies.skipped };
}

/** Runs policy test cases against a manifests folder's final state. */
export function testCases(docs: readonly ManifestDoc[], index: MeshIndex, casesFile: string): { results: CaseResult[]; skippedPolicies: string[] } {
  const cases = parseCases(readTextFile(casesFile, 4 * 1024 * 1024, 'cases file'), casesFile, index);
  const policies = new PolicySet(finalState(docs), index.config.rootNamespace, false);
  return { results: runCases(cases, policies, index), skippedPolicies: policies.skipped };
}
