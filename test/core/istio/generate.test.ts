import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, generate, InventoryBuilder, operationsFor, renderManifestFiles, resourceName, type EvidenceTuple, type GenerateInput, type IstioConfig, type MtlsException, type Resource } from '../../../core/istio/index.ts';

const INV = `kind: MeshInventory
namespaces:
  shop:
    workloads:
      orders: { serviceAccount: orders, labels: { app: orders }, ports: [8080, 9090] }
      cart: { serviceAccount: cart, labels: { app: cart }, ports: [8080] }
      nolabels: { serviceAccount: misc, ports: [8080] }
    services:
      orders: { selector: { app: orders }, ports: [{ name: http, port: 80, targetPort: 8080 }, { name: tcp-metrics, port: 9090 }] }
      cart: { selector: { app: cart }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
  legacy:
    workloads:
      old: { serviceAccount: old, labels: { app: old }, ports: [8080] }
    services:
      old: { selector: { app: old }, ports: [{ name: http, port: 80, targetPort: 8080 }] }
`;
const b = new InventoryBuilder();
b.addText(INV, 'inv.yaml');
const inventory = b.build();
const NOW = new Date('2026-12-01T00:00:00Z');
const t = (over: Partial<EvidenceTuple>): EvidenceTuple => ({ principal: 'cluster.local/ns/shop/sa/cart', destination: 'shop/orders', port: 8080, method: 'GET', path: '/api/orders/{*}', protocol: 'http', count: 1, firstSeen: 'a.log:1', ...over });
const input = (over: Partial<GenerateInput> = {}): GenerateInput => ({ inventory, config: defaultConfig(), tuples: [t({})], exceptions: [], now: NOW, ...over });
const find = (rs: Resource[], kind: string, ns: string, name: string): Resource | undefined => rs.find((r) => r.kind === kind && r.metadata.namespace === ns && r.metadata.name === name);
const ex = (over: Partial<MtlsException>): MtlsException => ({ id: 'x', namespace: 'legacy', ports: [], mode: 'PERMISSIVE', justification: 'migration in progress for the old batch', approver: 'sec', expires: '2027-01-01', expiresAt: new Date('2027-01-01T00:00:00Z'), ...over });

describe('least-privilege operations from evidence', () => {
  const cases: Array<{ name: string; tuples: Array<Partial<EvidenceTuple>>; want: unknown }> = [
    { name: 'one method, paths sorted', tuples: [{ path: '/b' }, { path: '/a' }], want: [{ ports: ['8080'], methods: ['GET'], paths: ['/a', '/b'] }] },
    { name: 'methods with the same paths merge', tuples: [{ method: 'GET', path: '/a' }, { method: 'HEAD', path: '/a' }], want: [{ ports: ['8080'], methods: ['GET', 'HEAD'], paths: ['/a'] }] },
    { name: 'ports with the same operation merge', tuples: [{ port: 9090, path: '/a' }, { port: 8080, path: '/a' }], want: [{ ports: ['8080', '9090'], methods: ['GET'], paths: ['/a'] }] },
    { name: 'a TCP observation opens the port', tuples: [{ method: null, path: null, protocol: 'tcp' }, { path: '/a' }], want: [{ ports: ['8080'] }] },
    { name: 'a method without a path allows any path for it', tuples: [{ path: null }, { path: '/a' }], want: [{ ports: ['8080'], methods: ['GET'] }] },
    { name: 'a collapsed operation allows any path', tuples: [{ path: '*' }], want: [{ ports: ['8080'], methods: ['GET'] }] },
    { name: 'no port known: no ports in the operation', tuples: [{ port: null, path: '/a' }], want: [{ methods: ['GET'], paths: ['/a'] }] },
    { name: 'neither port nor method: any operation', tuples: [{ port: null, method: null, path: null, protocol: 'unknown' }], want: null },
  ];
  for (const c of cases) it(c.name, () => expect(operationsFor(c.tuples.map(t))).toEqual(c.want));
});

describe('generate', () => {
  it('puts each resource in its rollout phase', () => {
    const g = generate(input());
    expect(g.phases['00-plug-in-ca']).toEqual([]);
    expect(g.phases['01-observe'].map((r) => r.kind).sort()).toContain('Telemetry');
    expect(find(g.phases['01-observe'], 'PeerAuthentication', 'istio-system', 'default')?.spec).toEqual({ mtls: { mode: 'PERMISSIVE' } });
    expect(g.phases['01-observe'].filter((r) => r.kind === 'AuthorizationPolicy').every((r) => r.metadata.annotations?.['istio.io/dry-run'] === 'true')).toBe(true);
    expect(g.phases['02-permissive'].filter((r) => r.kind === 'AuthorizationPolicy').some((r) => r.metadata.annotations?.['istio.io/dry-run'] !== undefined)).toBe(false);
    expect(g.phases['03-strict']).toEqual([expect.objectContaining({ kind: 'PeerAuthentication', spec: { mtls: { mode: 'STRICT' } } })]);
  });

  it('writes principals in the configured trust domain, and allow-nothing per namespace', () => {
    const config: IstioConfig = { ...defaultConfig(), trustDomain: 'prod.example.org' };
    const g = generate(input({ config, tuples: [t({ principal: 'prod.example.org/ns/shop/sa/cart' })] }));
    const allow = find(g.phases['02-permissive'], 'AuthorizationPolicy', 'shop', 'allow-orders');
    expect(allow?.spec).toEqual({ action: 'ALLOW', selector: { matchLabels: { app: 'orders' } }, rules: [{ from: [{ source: { principals: ['prod.example.org/ns/shop/sa/cart'] } }], to: [{ operation: { ports: ['8080'], methods: ['GET'], paths: ['/api/orders/{*}'] } }] }] });
    for (const ns of ['shop', 'legacy']) expect(find(g.phases['02-permissive'], 'AuthorizationPolicy', ns, 'allow-nothing')?.spec).toEqual({});
  });

  it('DENY admin-path policies always carry the HTTP ports, never the TCP ones', () => {
    const g = generate(input());
    const deny = find(g.phases['02-permissive'], 'AuthorizationPolicy', 'shop', 'deny-admin-orders');
    expect(deny?.spec?.['rules']).toEqual([{ to: [{ operation: { ports: ['8080'], paths: ['/admin', '/admin/*', '/debug/*', '/actuator', '/actuator/*'] } }] }]);
    for (const r of g.phases['02-permissive'].filter((x) => x.spec?.['action'] === 'DENY')) for (const rule of r.spec?.['rules'] as Array<{ to: Array<{ operation: { ports?: string[] } }> }>) for (const to of rule.to) expect(to.operation.ports?.length).toBeGreaterThan(0);
  });

  it('reports plaintext traffic no exception covers, and allows plaintext only inside an exception', () => {
    const plain = t({ principal: null, destination: 'legacy/old', path: '/x' });
    const blocked = generate(input({ tuples: [plain] }));
    expect(blocked.findings.filter((f) => f.kind === 'plaintext-blocked').map((f) => f.subject)).toEqual(['legacy/old']);
    expect(find(blocked.phases['02-permissive'], 'AuthorizationPolicy', 'legacy', 'allow-old')).toBeUndefined();
    const ok = generate(input({ tuples: [plain], exceptions: [ex({})] }));
    expect(ok.findings.filter((f) => f.kind === 'plaintext-blocked')).toEqual([]);
    expect(find(ok.phases['02-permissive'], 'AuthorizationPolicy', 'legacy', 'allow-old')?.spec?.['rules']).toEqual([{ to: [{ operation: { ports: ['8080'], methods: ['GET'], paths: ['/x'] } }] }]);
    const pas = ok.phases['02-permissive'].filter((r) => r.kind === 'PeerAuthentication');
    expect(pas).toEqual([expect.objectContaining({ metadata: expect.objectContaining({ name: 'mtls-exception-x', namespace: 'legacy', annotations: expect.objectContaining({ 'neam-ca.io/approver': 'sec', 'neam-ca.io/expires': '2027-01-01T00:00:00.000Z' }) }), spec: { mtls: { mode: 'PERMISSIVE' } } })]);
  });

  it('DISABLE exceptions turn the DestinationRule to DISABLE (whole workload) or per port', () => {
    const whole = generate(input({ exceptions: [ex({ mode: 'DISABLE' })] }));
    expect(find(whole.phases['02-permissive'], 'DestinationRule', 'legacy', 'mtls-old')?.spec).toEqual({ host: 'old.legacy.svc.cluster.local', trafficPolicy: { tls: { mode: 'DISABLE' } } });
    const port = generate(input({ exceptions: [ex({ namespace: 'shop', workload: 'orders', ports: [9090], mode: 'DISABLE' })] }));
    expect(find(port.phases['02-permissive'], 'DestinationRule', 'shop', 'mtls-orders')?.spec).toEqual({ host: 'orders.shop.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, portLevelSettings: [{ port: { number: 9090 }, tls: { mode: 'DISABLE' } }] } });
    expect(find(port.phases['02-permissive'], 'PeerAuthentication', 'shop', 'mtls-exception-x')?.spec).toEqual({ selector: { matchLabels: { app: 'orders' } }, portLevelMtls: { '9090': { mode: 'DISABLE' } } });
  });

  it('refuses an expired exception even if a caller skipped the parser', () => {
    try {
      generate(input({ exceptions: [ex({ expiresAt: new Date('2026-11-30T00:00:00Z') })] }));
      throw new Error('expected a refusal');
    } catch (e) {
      expect(isCoreError(e, 'ERR_ISTIO_EXCEPTION_EXPIRED')).toBe(true);
    }
  });

  it('Sidecars: a namespace default with the essentials, and the observed dependencies for the caller', () => {
    const g = generate(input());
    expect(find(g.phases['02-permissive'], 'Sidecar', 'shop', 'default')?.spec).toEqual({ egress: [{ hosts: ['istio-system/*', 'kube-system/kube-dns.kube-system.svc.cluster.local'] }] });
    expect(find(g.phases['02-permissive'], 'Sidecar', 'shop', 'egress-cart')?.spec).toEqual({ workloadSelector: { labels: { app: 'cart' } }, egress: [{ hosts: ['istio-system/*', 'kube-system/kube-dns.kube-system.svc.cluster.local', 'shop/orders.shop.svc.cluster.local'] }] });
  });

  it('reports what it cannot express: a workload without labels, no observed traffic', () => {
    const g = generate(input({ tuples: [t({ destination: 'shop/nolabels' })] }));
    expect(g.findings.map((f) => `${f.kind} ${f.subject}`)).toEqual(expect.arrayContaining(['unselectable-workload shop/nolabels', 'no-inbound-traffic shop/cart']));
  });

  it('the cacerts Secret carries certificate files only', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const material = { files: { 'ca-cert.pem': pem, 'cert-chain.pem': pem, 'root-cert.pem': pem }, caCert: {} as never, chain: [], roots: [], crls: [], warnings: [] };
    const g = generate(input({ cacerts: material }));
    expect(Object.keys(g.phases['00-plug-in-ca'][0]?.data ?? {})).toEqual(['ca-cert.pem', 'cert-chain.pem', 'root-cert.pem']);
    const bad = { ...material, files: { ...material.files, 'root-cert.pem': `${pem}-----BEGIN PRIVATE KEY-----\nMC4=\n-----END PRIVATE KEY-----\n` } };
    expect(() => generate(input({ cacerts: bad }))).toThrow(/private key/u);
  });

  it('is deterministic: the order of evidence and exceptions does not change a byte', () => {
    const tuples = [t({}), t({ destination: 'shop/cart', principal: 'cluster.local/ns/shop/sa/orders', path: '/c' }), t({ method: 'POST', path: '/b' }), t({ principal: null, destination: 'legacy/old', path: '/x' })];
    const exceptions = [ex({}), ex({ id: 'y', namespace: 'shop', workload: 'cart' })];
    const a = renderManifestFiles(generate(input({ tuples, exceptions })));
    const b2 = renderManifestFiles(generate(input({ tuples: [...tuples].reverse(), exceptions: [...exceptions].reverse() })));
    expect(b2.map((f) => f.bytes.toString())).toEqual(a.map((f) => f.bytes.toString()));
  });

  it('keeps resource names within Kubernetes limits', () => {
    const long = resourceName('allow', 'x'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(resourceName('allow', 'x'.repeat(300))).toBe(long);
    expect(resourceName('allow', 'x'.repeat(301))).not.toBe(long);
  });
});
