// Regenerates samples/istio/access-log.jsonl deterministically (seeded PRNG): the Envoy JSON access
// log of the server-side sidecars of the demo's sample mesh (inventory.yaml), as Istio writes it
// with meshConfig.accessLogEncoding JSON and the peer's SPIFFE ID (docs/istio.md, "Envoy access
// logs"). Run: node samples/istio/make-access-log.mjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let seed = 0x0de30;
function rnd() {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rnd() * 16)]).join('');
const id = () => String(10000 + Math.floor(rnd() * 90000));
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

const TD = 'example.org';
const sa = (ns, name) => `spiffe://${TD}/ns/${ns}/sa/${name}`;
const GW = sa('istio-system', 'istio-ingressgateway-service-account');
const flows = [
  { from: GW, ns: 'web', svc: 'storefront', port: 8080, svcPort: 80, weight: 10, calls: [() => ['GET', '/'], () => ['GET', `/static/app.${hex(8)}.js`], () => ['GET', `/products/${id()}`], () => ['POST', '/cart']] },
  { from: sa('web', 'storefront'), ns: 'shop', svc: 'catalog', port: 8080, svcPort: 80, weight: 6, calls: [() => ['GET', '/api/products'], () => ['GET', `/api/products/${id()}`]] },
  { from: sa('web', 'storefront'), ns: 'shop', svc: 'orders', port: 8080, svcPort: 80, weight: 5, calls: [() => ['GET', `/api/orders/${id()}`], () => ['POST', '/api/orders'], () => ['GET', `/api/orders?customer=${id()}`]] },
  { from: sa('shop', 'orders'), ns: 'payments', svc: 'payments', port: 8080, svcPort: 80, weight: 3, calls: [() => ['POST', '/v1/charges'], () => ['GET', `/v1/charges/ch_${hex(24)}`]] },
  { from: sa('shop', 'orders'), ns: 'data', svc: 'postgres', port: 5432, svcPort: 5432, weight: 2, calls: [() => null] },
  { from: sa('shop', 'catalog'), ns: 'data', svc: 'postgres', port: 5432, svcPort: 5432, weight: 2, calls: [() => null] },
  { from: sa('payments', 'payments'), ns: 'data', svc: 'postgres', port: 5432, svcPort: 5432, weight: 1, calls: [() => null] },
  { from: sa('ops', 'reports'), ns: 'shop', svc: 'orders', port: 8080, svcPort: 80, weight: 1, calls: [() => ['GET', `/api/orders?since=2026-11-${10 + Math.floor(rnd() * 10)}`]] },
  { from: sa('ops', 'reports'), ns: 'shop', svc: 'catalog', port: 8080, svcPort: 80, weight: 1, calls: [() => ['GET', '/api/products']] },
];

let t = Date.UTC(2026, 10, 20, 9, 0, 0);
function line(f) {
  t += Math.floor(rnd() * 1500);
  const call = pick(f.calls)();
  const fqdn = `${f.svc}.${f.ns}.svc.cluster.local`;
  return JSON.stringify({
    start_time: new Date(t).toISOString(),
    method: call?.[0] ?? null,
    path: call?.[1] ?? null,
    protocol: call === null ? null : 'HTTP/1.1',
    response_code: call === null ? 0 : call[0] === 'POST' ? 201 : 200,
    response_flags: '-',
    response_code_details: call === null ? null : 'via_upstream',
    bytes_received: Math.floor(rnd() * 2000),
    bytes_sent: Math.floor(rnd() * 20000),
    duration: Math.floor(rnd() * 80),
    upstream_cluster: `inbound|${f.port}||`,
    upstream_host: `10.44.${Math.floor(rnd() * 8)}.${Math.floor(rnd() * 250)}:${f.port}`,
    downstream_local_address: `10.44.3.${Math.floor(rnd() * 250)}:${f.port}`,
    downstream_remote_address: `10.44.7.${Math.floor(rnd() * 250)}:${40000 + Math.floor(rnd() * 20000)}`,
    requested_server_name: `outbound_.${f.svcPort}_._.${fqdn}`,
    authority: call === null ? null : `${f.svc}.${f.ns}:${f.svcPort}`,
    downstream_peer_uri_san: f.from,
    downstream_local_uri_san: sa(f.ns, f.svc),
    user_agent: call === null ? null : 'Go-http-client/1.1',
    request_id: call === null ? null : uuid(),
    route_name: call === null ? null : 'default',
  });
}

const lines = flows.map(line);
const weighted = flows.flatMap((f) => Array.from({ length: f.weight }, () => f));
for (let i = 0; i < 300; i++) lines.push(line(pick(weighted)));
writeFileSync(join(import.meta.dirname, 'access-log.jsonl'), `${lines.join('\n')}\n`);
console.log(`access-log.jsonl: ${lines.length} lines`);
