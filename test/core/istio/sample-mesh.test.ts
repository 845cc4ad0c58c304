import { readFileSync } from 'node:fs';

import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, finalState, generateRollout, loadConfig, loadInventory, parseConfig, PolicySet, replayTraffic, testCases, TrafficAggregate, TrafficReader, validateDocuments, type GenerateFiles, type GenerateOutcome, type ManifestDoc, type OutputFile } from '../../../core/istio/index.ts';
import { crds, fx, NOW } from './helpers.ts';

const FILES: GenerateFiles = { inventory: [fx('inventory.yaml')], accessLogs: [fx('access-log.jsonl')], metrics: [fx('metrics.json')], config: fx('config.yaml'), exceptions: fx('exceptions.yaml') };

function docsOf(files: readonly OutputFile[], upTo?: string): ManifestDoc[] {
  const out: ManifestDoc[] = [];
  for (const f of files.filter((x) => x.mediaType === 'application/yaml' && (upTo === undefined || x.path.split('/')[0]! <= upTo)).sort((a, b) => (a.path < b.path ? -1 : 1))) {
    parseAllDocuments(f.bytes.toString()).forEach((d, index) => out.push({ file: f.path, line: 1, index, value: d.toJS() }));
  }
  return out;
}

describe('the sample mesh end to end (8 namespaces, 24 services, noisy traffic)', () => {
  let out: GenerateOutcome;
  beforeAll(async () => {
    out = await generateRollout(FILES, NOW, crds());
  });

  it('generates the phased rollout, every document valid against the CRD schemas, CEL and Istio rules', () => {
    expect(out.validation).toMatchObject({ schema: 'validated', errors: 0, warnings: 0 });
    const paths = out.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['README.md', '01-observe/README.md', '02-permissive/README.md', '03-strict/README.md', '03-strict/istio-system.yaml', 'report.json', 'evidence.jsonl']));
    // An independent re-validation of the written bytes with the CRDs.
    const findings = validateDocuments(docsOf(out.files), crds().set);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    const docs = finalState(docsOf(out.files)) as Array<{ kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> }>;
    expect(docs.find((d) => d.kind === 'PeerAuthentication' && d.metadata.name === 'default')?.spec).toEqual({ mtls: { mode: 'STRICT' } });
    expect(docs.filter((d) => d.kind === 'DestinationRule').every((d) => (d.spec['trafficPolicy'] as { tls: { mode: string } }).tls.mode === 'ISTIO_MUTUAL')).toBe(true);
    expect(docs.filter((d) => d.kind === 'DestinationRule')).toHaveLength(24);
    expect(docs.filter((d) => d.kind === 'AuthorizationPolicy' && d.metadata.name === 'allow-nothing').map((d) => d.metadata.namespace).sort()).toEqual(['data', 'identity', 'legacy', 'notify', 'ops', 'payments', 'shop', 'web']);
    for (const d of docs.filter((x) => x.spec['action'] === 'DENY')) for (const r of d.spec['rules'] as Array<{ to: Array<{ operation: { ports: string[] } }> }>) for (const t of r.to) expect(t.operation.ports.length, d.metadata.name).toBeGreaterThan(0);
    for (const p of docs.flatMap((d) => JSON.stringify(d.spec).match(/"principals":\[[^\]]*\]/gu) ?? [])) expect(p).toMatch(/^"principals":\["cluster\.local\/ns\/[a-z-]+\/sa\/[a-z-]+"(,"cluster\.local\/ns\/[a-z-]+\/sa\/[a-z-]+")*\]$/u);
  });

  it('counts malformed lines and reports them with their line numbers, without stopping', () => {
    expect(out.traffic.malformed).toBe(7);
    expect(out.traffic.malformedExamples.map((m) => `${m.file.split('/').pop()}:${m.line}`)).toEqual(['access-log.jsonl:4', 'access-log.jsonl:44', 'access-log.jsonl:60', 'access-log.jsonl:76', 'access-log.jsonl:171', 'access-log.jsonl:234', 'metrics.json:133']);
    const report = JSON.parse(out.files.find((f) => f.path === 'report.json')!.bytes.toString()) as { traffic: { malformed: number }; validation: { crdSchemas: string } };
    expect(report.traffic.malformed).toBe(7);
    expect(report.validation.crdSchemas).toBe('validated');
  });

  it('replay: every observed request is allowed by the generated STRICT configuration', async () => {
    const { config } = loadConfig(FILES.config);
    const { index } = loadInventory(FILES.inventory, config);
    const r = await replayTraffic(docsOf(out.files), index, FILES.accessLogs, FILES.metrics, false);
    expect(r.result.denied).toBe(0);
    expect(r.result.groups).toEqual([]);
    expect(r.result.requests).toBe(out.traffic.requests);
    expect(r.result.requests).toBeGreaterThan(1900);
    // The shadow evaluation of step 1 (dry-run policies as if enforced) agrees.
    const shadow = await replayTraffic(docsOf(out.files, '01-observe'), index, FILES.accessLogs, FILES.metrics, true);
    expect(shadow.result.denied).toBe(0);
  });

  it('replay reports what would be denied: traffic the policies were not generated from', async () => {
    const { config } = loadConfig(FILES.config);
    const { index } = loadInventory(FILES.inventory, config);
    const noMetrics = await generateRollout({ ...FILES, metrics: [] }, NOW, undefined);
    const r = await replayTraffic(docsOf(noMetrics.files), index, [], FILES.metrics, false);
    expect(r.result.groups.map((g) => `${g.principal} → ${g.destination}:${g.port} ${g.method ?? 'tcp'}`)).toEqual(['cluster.local/ns/payments/sa/ledger → data/postgres:5432 tcp']);
    expect(r.result.groups[0]).toMatchObject({ count: 42, stage: 'no-allow-match' });
  });

  it('the hand-written cases pass: observed pairs allowed, unobserved pairs, admin paths and plaintext denied', () => {
    const { config } = loadConfig(FILES.config);
    const { index } = loadInventory(FILES.inventory, config);
    const { results } = testCases(docsOf(out.files), index, fx('cases.yaml'));
    expect(results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.actual} (${r.decision.reason})`)).toEqual([]);
    expect(results.filter((r) => r.expected === 'deny').length).toBeGreaterThanOrEqual(10);
    expect(results.filter((r) => r.decision.stage === 'deny').map((r) => r.name)).toEqual(['bff may not reach /admin on orders', 'gateway may not reach actuator on frontend', 'dot segments do not dodge the admin deny']);
    expect(results.filter((r) => r.decision.stage === 'mtls')).toHaveLength(2);
    // The DENY layer decides before ALLOW: without it the same admin requests fall through to the
    // ALLOW stage, and a caller allowed on any path of orders would reach /admin.
    const noDeny = finalState(docsOf(out.files)).filter((d) => (d as { spec?: { action?: string } }).spec?.action !== 'DENY');
    const w = index.workload('shop/orders')!;
    const admin = { principal: 'cluster.local/ns/web/sa/bff', namespace: 'shop', labels: w.labels, port: 8080, method: 'GET', path: '/admin/stats' };
    expect(new PolicySet(noDeny, 'istio-system').evaluate(admin).stage).toBe('no-allow-match');
    const anyPath = { apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'allow-bff-any', namespace: 'shop' }, spec: { selector: { matchLabels: w.labels }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/bff'] } }] }] } };
    expect(new PolicySet([...noDeny, anyPath], 'istio-system').evaluate(admin).allowed).toBe(true);
    expect(new PolicySet([...finalState(docsOf(out.files)), anyPath], 'istio-system').evaluate(admin)).toMatchObject({ allowed: false, stage: 'deny', policy: 'shop/deny-admin-orders' });
  });

  it('refuses expired exceptions and writes nothing', async () => {
    try {
      await generateRollout({ ...FILES, exceptions: fx('exceptions-expired.yaml') }, NOW, crds());
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isCoreError(e, 'ERR_ISTIO_EXCEPTION_EXPIRED'), String(e)).toBe(true);
      expect((e as Error).message).toContain("'legacy-billing'");
    }
  });

  it('is deterministic: same inputs, same bytes; the kubectl JSON inventory gives the same manifests', async () => {
    const again = await generateRollout(FILES, NOW, crds());
    expect(again.files.map((f) => [f.path, f.bytes.toString('base64')])).toEqual(out.files.map((f) => [f.path, f.bytes.toString('base64')]));
    const kube = await generateRollout({ ...FILES, inventory: [fx('inventory.kubectl.json')] }, NOW, crds());
    const yamlOf = (fs: readonly OutputFile[]): string[] => fs.filter((f) => f.mediaType === 'application/yaml').map((f) => `${f.path}\n${f.bytes.toString()}`);
    expect(yamlOf(kube.files)).toEqual(yamlOf(out.files));
  });

  it('memory follows distinct tuples, not input size: three times the traffic, the same tuples', async () => {
    const config = parseConfig(readFileSync(fx('config.yaml'), 'utf8'), 'config.yaml');
    const { index } = loadInventory(FILES.inventory, config);
    const once = new TrafficAggregate(config);
    const thrice = new TrafficAggregate(config);
    const reader = new TrafficReader(index, config);
    const log = readFileSync(fx('access-log.jsonl'));
    async function* times(n: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < n; i++) yield log;
    }
    for await (const r of reader.read({ file: 'a', format: 'envoy', data: times(1) })) once.add(r);
    for await (const r of reader.read({ file: 'b', format: 'envoy', data: times(3) })) thrice.add(r);
    expect(thrice.tupleCount).toBe(once.tupleCount);
    expect(thrice.tuples().map((t) => t.count)).toEqual(once.tuples().map((t) => t.count * 3));
    expect(defaultConfig().limits.maxTuples).toBeGreaterThan(once.tupleCount);
  });
});
