import { describe, expect, it } from 'vitest';

import { defaultConfig, InventoryBuilder, MeshIndex, parseEnvoyLine, parsePrometheusSample, scanPrometheusJson, TrafficReader, type IstioConfig, type ScannedSample } from '../../../core/istio/index.ts';

const config: IstioConfig = defaultConfig();
const b = new InventoryBuilder();
b.addText(
  `kind: MeshInventory
namespaces:
  shop:
    workloads:
      orders: { serviceAccount: orders, labels: { app: orders }, ports: [8080] }
      orders-v2: { serviceAccount: orders, labels: { app: orders, version: v2 }, ports: [8080] }
      cart: { serviceAccount: cart, labels: { app: cart }, ports: [8080] }
    services:
      orders: { selector: { app: orders }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
      cart: { selector: { app: cart }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
  istio-system:
    workloads:
      istiod: { serviceAccount: istiod, labels: { app: istiod }, ports: [15012] }
`,
  'inv.yaml',
);
const index = new MeshIndex(b.build(), config);
const peer = 'spiffe://cluster.local/ns/web/sa/frontend';
const line = (o: Record<string, unknown>): string => JSON.stringify({ method: 'GET', path: '/api/cart/1?x=1', upstream_cluster: 'inbound|8080||', requested_server_name: 'outbound_.80_._.cart.shop.svc.cluster.local', downstream_peer_uri_san: peer, ...o });

describe('Envoy JSON access log lines', () => {
  it('learns an inbound request: principal without spiffe://, workload from the SNI, port from inbound|PORT||, query stripped', () => {
    expect(parseEnvoyLine(line({}), 'a.log', 3, index, config)).toEqual({ kind: 'request', request: { file: 'a.log', line: 3, principal: 'cluster.local/ns/web/sa/frontend', destination: 'shop/cart', port: 8080, method: 'GET', path: '/api/cart/1', protocol: 'http', count: 1 } });
  });
  it('learns a TCP connection (no method) and plaintext (no peer)', () => {
    const v = parseEnvoyLine(line({ method: null, path: null, downstream_peer_uri_san: '-' }), 'a.log', 1, index, config);
    expect(v).toMatchObject({ kind: 'request', request: { principal: null, method: null, path: null, protocol: 'tcp' } });
  });
  it('disambiguates a service fronting two workloads by the local SAN… only when that is unique', () => {
    const both = parseEnvoyLine(line({ requested_server_name: 'outbound_.80_._.orders.shop.svc.cluster.local', downstream_local_uri_san: 'spiffe://cluster.local/ns/shop/sa/orders' }), 'a.log', 1, index, config);
    expect(both).toEqual({ kind: 'skip', reason: 'destination matches several workloads' });
    const named = parseEnvoyLine(line({ destination_workload: 'orders-v2', destination_namespace: 'shop' }), 'a.log', 1, index, config);
    expect(named).toMatchObject({ kind: 'request', request: { destination: 'shop/orders-v2' } });
  });
  const verdicts: Array<{ field: string; text: string; kind: 'skip' | 'malformed'; reason: RegExp }> = [
    { field: 'not JSON', text: 'Envoy proxy is ready', kind: 'malformed', reason: /not a JSON object/u },
    { field: 'truncated JSON', text: '{"method":"GET","pa', kind: 'malformed', reason: /not valid JSON/u },
    { field: 'JSON array', text: '[1,2]', kind: 'malformed', reason: /not a JSON object/u },
    { field: 'method type', text: line({ method: 42 }), kind: 'malformed', reason: /"method" must be a string/u },
    { field: 'method token', text: line({ method: 'GE T' }), kind: 'malformed', reason: /not an HTTP method token/u },
    { field: 'upstream_cluster port', text: line({ upstream_cluster: 'inbound|0||' }), kind: 'malformed', reason: /no valid port/u },
    { field: 'peer type', text: line({ downstream_peer_uri_san: 7 }), kind: 'malformed', reason: /must be a string/u },
    { field: 'client side line', text: line({ upstream_cluster: 'outbound|80||cart.shop.svc.cluster.local' }), kind: 'skip', reason: /client-side/u },
    { field: 'RBAC denial', text: line({ response_code: 403, response_code_details: 'rbac_access_denied_matched_policy[none]' }), kind: 'skip', reason: /denied by an existing policy/u },
    { field: 'foreign trust domain', text: line({ downstream_peer_uri_san: 'spiffe://evil.example/ns/web/sa/frontend' }), kind: 'skip', reason: /trust domain/u },
    { field: 'non-Istio SPIFFE ID', text: line({ downstream_peer_uri_san: 'spiffe://cluster.local/workload/x' }), kind: 'skip', reason: /Istio form/u },
    { field: 'unknown service', text: line({ requested_server_name: 'outbound_.80_._.ghost.shop.svc.cluster.local', authority: 'ghost.shop' }), kind: 'skip', reason: /not in the inventory/u },
    { field: 'excluded namespace', text: line({ destination_workload: 'istiod', destination_namespace: 'istio-system' }), kind: 'skip', reason: /excluded namespace/u },
  ];
  for (const v of verdicts) it(`${v.kind === 'skip' ? 'skips' : 'reports as malformed'}: ${v.field}`, () => {
    const got = parseEnvoyLine(v.text, 'a.log', 1, index, config);
    expect(got.kind).toBe(v.kind);
    expect((got as { reason: string }).reason).toMatch(v.reason);
  });
});

async function scan(text: string | string[], max = 4096): Promise<ScannedSample[]> {
  const out: ScannedSample[] = [];
  async function* src(): AsyncGenerator<Buffer> {
    for (const c of Array.isArray(text) ? text : [text]) yield Buffer.from(c);
  }
  for await (const s of scanPrometheusJson(src(), max)) out.push(s);
  return out;
}
const sample = (labels: Record<string, string>, v = '5'): Record<string, unknown> => ({ metric: { reporter: 'destination', source_principal: peer, destination_workload: 'cart', destination_workload_namespace: 'shop', ...labels }, value: [1, v] });

describe('Prometheus JSON exports', () => {
  it('finds the samples of a compact API answer, split at arbitrary chunk boundaries', async () => {
    const text = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [sample({}), sample({ x: '}{"' })] } });
    const parts = [text.slice(0, 17), text.slice(17, 60), text.slice(60)];
    const got = await scan(parts);
    expect(got.map((s) => s.kind)).toEqual(['sample', 'sample']);
    expect((got[1] as { value: { metric: Record<string, string> } }).value.metric['x']).toBe('}{"');
  });
  it('gives each sample of a pretty-printed answer the line it starts on', async () => {
    const text = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [sample({}), sample({})] } }, null, 2);
    const got = await scan(text);
    expect(got.map((s) => s.line)).toEqual([6, 18]);
  });
  it('reads JSON lines; a truncated line is reported alone and the next lines still count', async () => {
    const text = [JSON.stringify(sample({})), '{"metric":{"reporter":"destin', 'garbage here', JSON.stringify(sample({}))].join('\n');
    const got = await scan(text);
    expect(got.map((s) => `${s.line}:${s.kind}`)).toEqual(['1:sample', '2:malformed', '3:malformed', '4:sample']);
  });
  it('reports a sample larger than the cap and a document cut short', async () => {
    expect((await scan(JSON.stringify({ data: { result: [sample({ big: 'x'.repeat(5000) })] } }), 1024))[0]).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/larger than 1024/u) });
    expect((await scan('{"data":{"result":[{"metric":{}')).at(-1)).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/truncated/u) });
  });
  const verdicts: Array<{ field: string; value: unknown; kind: string; reason?: RegExp }> = [
    { field: 'metric', value: { value: [1, '1'] }, kind: 'malformed', reason: /needs a "metric"/u },
    { field: 'value', value: { metric: {}, value: [1] }, kind: 'malformed', reason: /"value"/u },
    { field: 'label type', value: { metric: { a: 1 }, value: [1, '1'] }, kind: 'malformed', reason: /must be a string/u },
    { field: 'reporter', value: sample({ reporter: 'source' }), kind: 'skip', reason: /reporter/u },
    { field: 'zero count', value: sample({}, '0'), kind: 'skip', reason: /no requests/u },
    { field: 'other metric', value: sample({ __name__: 'istio_request_bytes_bucket' }), kind: 'skip', reason: /not used/u },
    { field: 'destination_port', value: sample({ destination_port: 'eighty' }), kind: 'malformed', reason: /not a port/u },
    { field: 'plaintext via connection_security_policy', value: sample({ connection_security_policy: 'none' }), kind: 'request' },
  ];
  for (const v of verdicts) it(`sample ${v.kind}: ${v.field}`, () => {
    const got = parsePrometheusSample(v.value, 'm.json', 1, index, config);
    expect(got.kind).toBe(v.kind);
    if (v.reason !== undefined) expect((got as { reason: string }).reason).toMatch(v.reason);
  });
  it('maps labels to an observation: TCP metric, port tag, method and path tags, max of a range', () => {
    const tcp = parsePrometheusSample({ metric: { ...sample({ __name__: 'istio_tcp_connections_opened_total', destination_port: '8080' }).metric as object }, values: [[1, '3'], [2, '9']] }, 'm.json', 4, index, config);
    expect(tcp).toMatchObject({ kind: 'request', request: { protocol: 'tcp', port: 8080, method: null, count: 9 } });
    const http = parsePrometheusSample(sample({ __name__: 'istio_requests_total', request_method: 'POST', request_path: '/api/cart/9?a=b' }), 'm.json', 4, index, config);
    expect(http).toMatchObject({ kind: 'request', request: { protocol: 'http', method: 'POST', path: '/api/cart/9', port: null, principal: 'cluster.local/ns/web/sa/frontend' } });
  });
});

describe('TrafficReader', () => {
  it('counts records, skips and malformed lines per file and keeps only the first N examples', async () => {
    const cfg: IstioConfig = { ...config, limits: { ...config.limits, malformedExamples: 2 } };
    const reader = new TrafficReader(new MeshIndex(index.inventory, cfg), cfg);
    async function* src(): AsyncGenerator<string> {
      yield `${line({})}\nbad\nbad\n${line({ upstream_cluster: 'outbound|80||x' })}\nbad\n`;
    }
    const got = [];
    for await (const r of reader.read({ file: 'a.log', format: 'envoy', data: src() })) got.push(r);
    const s = reader.stats();
    expect(got).toHaveLength(1);
    expect(s.malformed).toBe(3);
    expect(s.malformedExamples.map((m) => m.line)).toEqual([2, 3]);
    expect(s.files[0]).toMatchObject({ lines: 5, records: 1, malformed: 3, skipped: { 'client-side (outbound) line': 1 } });
  });
});
