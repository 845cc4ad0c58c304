import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, InventoryBuilder, MeshIndex, parseInventory } from '../../../core/istio/index.ts';
import { fx } from './helpers.ts';

function problems(text: string): { message: string; problems: Array<{ path: string; message: string; line?: number }> } {
  try {
    new InventoryBuilder().addText(text, 'inv.yaml');
  } catch (e) {
    if (!isCoreError(e, 'ERR_ISTIO_INVENTORY_INVALID')) throw e;
    return { message: e.message, problems: (e.details?.['problems'] as Array<{ path: string; message: string; line?: number }> | undefined) ?? [] };
  }
  throw new Error('expected ERR_ISTIO_INVENTORY_INVALID');
}

describe('inventory', () => {
  it('reads the YAML inventory and the equivalent kubectl JSON into the same model', () => {
    const yaml = parseInventory([{ file: 'inventory.yaml', text: readFileSync(fx('inventory.yaml'), 'utf8') }]).inventory;
    const { inventory: kube, notes } = parseInventory([{ file: 'inventory.kubectl.json', text: readFileSync(fx('inventory.kubectl.json'), 'utf8') }]);
    expect(yaml.workloads.filter((w) => w.namespace !== 'istio-system')).toHaveLength(24);
    expect(yaml.services.filter((s) => s.namespace !== 'istio-system')).toHaveLength(24);
    const strip = (ws: typeof yaml.workloads): unknown => ws.map((w) => ({ ns: w.namespace, name: w.name, sa: w.serviceAccount, labels: w.labels, ports: w.ports.map((p) => p.port) }));
    expect(strip(kube.workloads)).toEqual(strip(yaml.workloads));
    expect(kube.services).toEqual(yaml.services);
    expect(kube.serviceAccounts).toEqual(yaml.serviceAccounts);
    expect(notes.ignored).toMatchObject({ 'ConfigMap': 1, 'ReplicaSet owned by a controller (its owner is the workload)': 25 });
  });

  const invalid: Array<{ field: string; text: string; path: string; message: RegExp; line?: number }> = [
    { field: 'namespaces', text: 'kind: MeshInventory\nnamespaces: [a]\n', path: 'namespaces', message: /must be a map/u },
    { field: 'namespace name', text: 'kind: MeshInventory\nnamespaces:\n  Bad_NS: {}\n', path: 'namespaces.Bad_NS', message: /DNS-1123 label/u, line: 3 },
    { field: 'workloads.x.labels value', text: 'kind: MeshInventory\nnamespaces:\n  a:\n    workloads:\n      x: { labels: { app: "a b" } }\n', path: 'namespaces.a.workloads.x.labels.app', message: /invalid label value/u, line: 5 },
    { field: 'workloads.x.serviceAccount', text: 'kind: MeshInventory\nnamespaces:\n  a:\n    workloads:\n      x: { serviceAccount: "UPPER" }\n', path: 'namespaces.a.workloads.x.serviceAccount', message: /DNS-1123 subdomain/u },
    { field: 'workloads.x.ports', text: 'kind: MeshInventory\nnamespaces:\n  a:\n    workloads:\n      x: { ports: [70000] }\n', path: 'namespaces.a.workloads.x.ports.0', message: /1\.\.65535/u },
    { field: 'services.s.ports.targetPort', text: 'kind: MeshInventory\nnamespaces:\n  a:\n    services:\n      s: { ports: [{ port: 80, targetPort: 0 }] }\n', path: 'namespaces.a.services.s.ports.0.targetPort', message: /targetPort/u },
    { field: 'unknown field', text: 'kind: MeshInventory\nnamespaces:\n  a:\n    wrkloads: {}\n', path: 'namespaces.a.wrkloads', message: /unknown field 'wrkloads'/u },
    { field: 'kind', text: 'namespaces: {}\n', path: '', message: /expected a NEAM CA inventory/u },
    { field: 'items[0].metadata.namespace', text: '{"kind":"List","items":[{"kind":"Service","metadata":{"name":"x"}}]}', path: 'items.0.metadata.namespace', message: /needs metadata.namespace/u },
  ];
  for (const c of invalid) it(`refuses ${c.field}`, () => {
    const p = problems(c.text);
    const hit = p.problems.find((x) => x.path === c.path);
    expect(hit, JSON.stringify(p.problems)).toBeDefined();
    expect(hit?.message).toMatch(c.message);
    if (c.line !== undefined) expect(hit?.line).toBe(c.line);
  });

  it('reports every problem at once', () => {
    const p = problems('kind: MeshInventory\nnamespaces:\n  a:\n    workloads:\n      x: { serviceAccount: "A", ports: [0] }\n      y: { labels: { "": b } }\n');
    expect(p.problems.length).toBeGreaterThanOrEqual(3);
    expect(p.message).toContain('inv.yaml');
  });

  it('refuses hostile input: duplicate keys, alias bombs, non-JSON, an empty inventory', () => {
    expect(() => new InventoryBuilder().addText('kind: MeshInventory\nnamespaces:\n  a: {}\n  a: {}\n', 'dup.yaml')).toThrow(/not valid YAML/u);
    const bomb = `kind: MeshInventory\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\nnamespaces: {}\n`;
    expect(() => new InventoryBuilder().addText(bomb, 'bomb.yaml')).toThrow(/aliases|invalid/u);
    expect(() => new InventoryBuilder().addText('{"kind": "List", "items": [', 'cut.json')).toThrow(/not valid JSON/u);
    expect(() => parseInventory([{ file: 'e.yaml', text: 'kind: MeshInventory\nnamespaces: { a: {} }\n' }])).toThrow(/no workloads/u);
  });

  it('chooses the smallest selector that picks one workload, never a volatile label', () => {
    const { inventory } = parseInventory([{ file: 'inventory.yaml', text: readFileSync(fx('inventory.yaml'), 'utf8') }]);
    const idx = new MeshIndex(inventory, defaultConfig());
    const sel = (k: string): Record<string, string> => idx.selectorFor(idx.workload(k) as NonNullable<ReturnType<typeof idx.workload>>).labels;
    expect(sel('web/frontend')).toEqual({ app: 'frontend' });
    expect(sel('shop/orders')).toEqual({ 'app.kubernetes.io/name': 'orders' });
    expect(sel('shop/catalog')).toEqual({ app: 'catalog', tier: 'read' });
    expect(sel('shop/catalog-writer')).toEqual({ app: 'catalog', tier: 'write' });
    expect(idx.httpPorts(idx.workload('payments/fraud') as NonNullable<ReturnType<typeof idx.workload>>)).toEqual([9090]);
    expect(idx.httpPorts(idx.workload('data/postgres') as NonNullable<ReturnType<typeof idx.workload>>)).toEqual([]);
    expect(idx.serviceByHost('orders.shop.svc.cluster.local:80')?.name).toBe('orders');
    expect(idx.serviceByHost('orders', 'shop')?.name).toBe('orders');
  });
});
