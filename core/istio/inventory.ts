/**
 * @module istio/inventory
 * The mesh inventory: parsed from NEAM CA's YAML inventory format (`kind: MeshInventory`) or from
 * `kubectl get namespaces,serviceaccounts,services,deployments,statefulsets,daemonsets,jobs,cronjobs,pods -A -o json`
 * output (a `List`), merged across files, and indexed ({@link MeshIndex}) for the lookups the
 * traffic parsers and the generator need: workload by name or service account, service by host,
 * the services in front of a workload, target ports, HTTP ports, and the smallest label selector
 * that picks exactly one workload.
 *
 * Must never: read files (callers pass text), or guess silently: every problem is reported with
 * its path (and line for YAML), all at once.
 */
import { CoreError, formatProblems, type Problem } from '../errors.ts';
import type { IstioConfig } from './config.ts';
import { cmp, keyOf, type ContainerPort, type Inventory, type Namespace, type Service, type ServicePort, type Workload } from './model.ts';
import { isDns1123Label, isDns1123Subdomain, isLabelValue, isQualifiedName } from './semantic.ts';
import { parseYamlSourced, type SourcedYaml } from './yaml-source.ts';

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What {@link parseInventory} found and ignored (for the report). */
export interface InventoryParseNotes {
  /** Items skipped by kind (`ReplicaSet owned by a Deployment`, `ConfigMap`, …). */
  ignored: Record<string, number>;
}

class Collector {
  problems: Problem[] = [];
  constructor(
    private readonly src: SourcedYaml | undefined,
    private readonly file: string,
  ) {}
  add(path: PropertyKey[], message: string): void {
    const line = this.src?.lineOf(path);
    this.problems.push(line === undefined ? { path: path.map(String).join('.'), message } : { path: path.map(String).join('.'), message, line });
  }
  fail(): never {
    throw new CoreError('ERR_ISTIO_INVENTORY_INVALID', `${this.file}: the inventory is invalid:\n${formatProblems(this.problems.slice(0, 200))}${this.problems.length > 200 ? `\n  … and ${this.problems.length - 200} more` : ''}`, {
      details: { file: this.file, problems: this.problems.slice(0, 1000) },
    });
  }
}

function labelsOf(v: unknown, path: PropertyKey[], c: Collector): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) {
    c.add(path, 'labels must be a map of strings');
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!isQualifiedName(k)) c.add([...path, k], `invalid label key "${k}"`);
    if (typeof val !== 'string' || !isLabelValue(val)) c.add([...path, k], `invalid label value ${JSON.stringify(val)}`);
    else out[k] = val;
  }
  return out;
}

function portNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535 ? v : undefined;
}

/** A mutable inventory under construction (merging several files). */
export class InventoryBuilder {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly workloads = new Map<string, Workload>();
  private readonly services = new Map<string, Service>();
  private readonly sas = new Set<string>();
  readonly notes: InventoryParseNotes = { ignored: {} };

  /**
   * Adds one inventory file (YAML `MeshInventory`, or kubectl JSON/YAML `List`).
   * @throws {CoreError} ERR_ISTIO_INVENTORY_INVALID listing every problem.
   */
  addText(text: string, file: string): void {
    const trimmed = text.trimStart();
    let src: SourcedYaml | undefined;
    let value: unknown;
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new CoreError('ERR_ISTIO_INVENTORY_INVALID', `${file}: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`, { details: { file } });
      }
    } else {
      src = parseYamlSourced(text, file, 'ERR_ISTIO_INVENTORY_INVALID');
      value = src.value;
    }
    const c = new Collector(src, file);
    if (isObj(value) && value['kind'] === 'MeshInventory') this.addMeshInventory(value, c);
    else if (isObj(value) && (Array.isArray(value['items']) || value['kind'] === 'List')) this.addKubectlList(value, c);
    else if (isObj(value) && typeof value['kind'] === 'string' && isObj(value['metadata'])) this.addKubectlList({ items: [value] }, c);
    else c.add([], "expected a NEAM CA inventory (kind: MeshInventory) or 'kubectl get … -o json' output (kind: List)");
    if (c.problems.length > 0) c.fail();
  }

  private addNamespace(name: string, labels: Record<string, string>): void {
    const prev = this.namespaces.get(name);
    this.namespaces.set(name, { name, labels: { ...(prev?.labels ?? {}), ...labels } });
  }

  private addWorkload(w: Workload, path: PropertyKey[], c: Collector): void {
    const k = keyOf(w);
    if (this.workloads.has(k)) return c.add(path, `workload ${k} is defined twice (workload names must be unique per namespace across kinds and files)`);
    this.workloads.set(k, w);
    this.sas.add(`${w.namespace}/${w.serviceAccount}`);
    this.addNamespace(w.namespace, {});
  }

  private addService(s: Service, path: PropertyKey[], c: Collector): void {
    const k = keyOf(s);
    if (this.services.has(k)) return c.add(path, `service ${k} is defined twice`);
    this.services.set(k, s);
    this.addNamespace(s.namespace, {});
  }

  private servicePorts(v: unknown, path: PropertyKey[], c: Collector): ServicePort[] {
    if (!Array.isArray(v)) {
      if (v !== undefined) c.add(path, 'ports must be a list');
      return [];
    }
    const out: ServicePort[] = [];
    v.forEach((p, i) => {
      if (!isObj(p)) return c.add([...path, i], 'a service port must be a map with port (and targetPort, name, appProtocol)');
      const port = portNumber(p['port']);
      if (port === undefined) return c.add([...path, i, 'port'], 'port must be an integer 1..65535');
      const tp = p['targetPort'];
      let targetPort: number | string = port;
      if (typeof tp === 'number') {
        const n = portNumber(tp);
        if (n === undefined) return c.add([...path, i, 'targetPort'], 'targetPort must be 1..65535 or a port name');
        targetPort = n;
      } else if (typeof tp === 'string') targetPort = /^[0-9]+$/u.test(tp) ? Number(tp) : tp;
      else if (tp !== undefined) return c.add([...path, i, 'targetPort'], 'targetPort must be 1..65535 or a port name');
      const sp: ServicePort = { port, targetPort, protocol: typeof p['protocol'] === 'string' ? p['protocol'].toUpperCase() : 'TCP' };
      if (typeof p['name'] === 'string') sp.name = p['name'];
      if (typeof p['appProtocol'] === 'string') sp.appProtocol = p['appProtocol'];
      out.push(sp);
    });
    return out;
  }

  private containerPorts(v: unknown, path: PropertyKey[], c: Collector): ContainerPort[] {
    if (!Array.isArray(v)) {
      if (v !== undefined) c.add(path, 'ports must be a list');
      return [];
    }
    const out: ContainerPort[] = [];
    v.forEach((p, i) => {
      if (typeof p === 'number') {
        const n = portNumber(p);
        if (n === undefined) return c.add([...path, i], 'port must be an integer 1..65535');
        out.push({ port: n, protocol: 'TCP' });
        return;
      }
      if (!isObj(p)) return c.add([...path, i], 'a port must be a number or a map with port (or containerPort) and name');
      const n = portNumber(p['port'] ?? p['containerPort']);
      if (n === undefined) return c.add([...path, i], 'port must be an integer 1..65535');
      const cp: ContainerPort = { port: n, protocol: typeof p['protocol'] === 'string' ? p['protocol'].toUpperCase() : 'TCP' };
      if (typeof p['name'] === 'string') cp.name = p['name'];
      out.push(cp);
    });
    return out;
  }

  private addMeshInventory(v: Obj, c: Collector): void {
    const allowedTop = new Set(['apiVersion', 'kind', 'namespaces']);
    for (const k of Object.keys(v)) if (!allowedTop.has(k)) c.add([k], `unknown field '${k}' (expected apiVersion, kind, namespaces)`);
    const nss = v['namespaces'];
    if (!isObj(nss)) return c.add(['namespaces'], 'namespaces must be a map of namespace name to its workloads and services');
    for (const [ns, body] of Object.entries(nss)) {
      const np: PropertyKey[] = ['namespaces', ns];
      if (!isDns1123Label(ns)) c.add(np, `namespace name "${ns}" must be a DNS-1123 label`);
      if (body !== null && !isObj(body)) {
        c.add(np, 'a namespace must be a map (labels, serviceAccounts, workloads, services)');
        continue;
      }
      const b = body ?? {};
      for (const k of Object.keys(b)) if (!['labels', 'serviceAccounts', 'workloads', 'services'].includes(k)) c.add([...np, k], `unknown field '${k}' (expected labels, serviceAccounts, workloads, services)`);
      this.addNamespace(ns, labelsOf(b['labels'], [...np, 'labels'], c));
      const sas = b['serviceAccounts'];
      if (sas !== undefined) {
        if (!Array.isArray(sas)) c.add([...np, 'serviceAccounts'], 'serviceAccounts must be a list of names');
        else sas.forEach((sa, i) => (typeof sa === 'string' && isDns1123Subdomain(sa) ? this.sas.add(`${ns}/${sa}`) : c.add([...np, 'serviceAccounts', i], 'a service account name must be a DNS-1123 subdomain')));
      }
      const wls = b['workloads'];
      if (wls !== undefined && !isObj(wls)) c.add([...np, 'workloads'], 'workloads must be a map of workload name to {serviceAccount, labels, ports}');
      for (const [name, w] of Object.entries(isObj(wls) ? wls : {})) {
        const wp: PropertyKey[] = [...np, 'workloads', name];
        if (!isDns1123Subdomain(name)) c.add(wp, `workload name "${name}" must be a DNS-1123 subdomain`);
        if (!isObj(w)) {
          c.add(wp, 'a workload must be a map with serviceAccount, labels and ports');
          continue;
        }
        for (const k of Object.keys(w)) if (!['kind', 'serviceAccount', 'labels', 'ports', 'httpPorts'].includes(k)) c.add([...wp, k], `unknown field '${k}' (expected kind, serviceAccount, labels, ports, httpPorts)`);
        const sa = w['serviceAccount'] ?? 'default';
        if (typeof sa !== 'string' || !isDns1123Subdomain(sa)) c.add([...wp, 'serviceAccount'], 'serviceAccount must be a DNS-1123 subdomain');
        const http = Array.isArray(w['httpPorts']) ? w['httpPorts'] : [];
        const httpPorts: number[] = [];
        http.forEach((p, i) => (portNumber(p) === undefined ? c.add([...wp, 'httpPorts', i], 'httpPorts entries must be integers 1..65535') : httpPorts.push(p as number)));
        this.addWorkload(
          {
            namespace: ns,
            name,
            kind: typeof w['kind'] === 'string' ? w['kind'] : 'Workload',
            serviceAccount: typeof sa === 'string' ? sa : 'default',
            labels: labelsOf(w['labels'], [...wp, 'labels'], c),
            ports: this.containerPorts(w['ports'], [...wp, 'ports'], c),
            httpPorts: [...new Set(httpPorts)].sort((a, b) => a - b),
          },
          wp,
          c,
        );
      }
      const svcs = b['services'];
      if (svcs !== undefined && !isObj(svcs)) c.add([...np, 'services'], 'services must be a map of service name to {selector, ports}');
      for (const [name, s] of Object.entries(isObj(svcs) ? svcs : {})) {
        const sp: PropertyKey[] = [...np, 'services', name];
        if (!isDns1123Label(name)) c.add(sp, `service name "${name}" must be a DNS-1123 label`);
        if (!isObj(s)) {
          c.add(sp, 'a service must be a map with selector and ports');
          continue;
        }
        for (const k of Object.keys(s)) if (!['selector', 'ports'].includes(k)) c.add([...sp, k], `unknown field '${k}' (expected selector, ports)`);
        this.addService({ namespace: ns, name, selector: labelsOf(s['selector'], [...sp, 'selector'], c), ports: this.servicePorts(s['ports'], [...sp, 'ports'], c) }, sp, c);
      }
    }
  }

  private ignore(reason: string): void {
    this.notes.ignored[reason] = (this.notes.ignored[reason] ?? 0) + 1;
  }

  private addKubectlList(v: Obj, c: Collector): void {
    const items = v['items'];
    if (!Array.isArray(items)) return c.add(['items'], 'items must be a list');
    items.forEach((item, i) => {
      const ip: PropertyKey[] = ['items', i];
      if (!isObj(item)) return c.add(ip, 'an item must be a Kubernetes object');
      const kind = item['kind'];
      const md = item['metadata'];
      if (typeof kind !== 'string' || !isObj(md) || typeof md['name'] !== 'string') return c.add(ip, 'an item needs kind and metadata.name');
      const name = md['name'];
      const ns = typeof md['namespace'] === 'string' ? md['namespace'] : undefined;
      const owned = Array.isArray(md['ownerReferences']) && md['ownerReferences'].length > 0;
      const spec = isObj(item['spec']) ? item['spec'] : {};
      switch (kind) {
        case 'Namespace':
          if (!isDns1123Label(name)) return c.add([...ip, 'metadata', 'name'], `namespace name "${name}" must be a DNS-1123 label`);
          return this.addNamespace(name, labelsOf(md['labels'], [...ip, 'metadata', 'labels'], c));
        case 'ServiceAccount':
          if (ns === undefined) return c.add([...ip, 'metadata', 'namespace'], 'a ServiceAccount needs metadata.namespace');
          this.sas.add(`${ns}/${name}`);
          return this.addNamespace(ns, {});
        case 'Service': {
          if (ns === undefined) return c.add([...ip, 'metadata', 'namespace'], 'a Service needs metadata.namespace');
          if (spec['type'] === 'ExternalName') return this.ignore('Service of type ExternalName');
          return this.addService({ namespace: ns, name, selector: labelsOf(spec['selector'], [...ip, 'spec', 'selector'], c), ports: this.servicePorts(spec['ports'], [...ip, 'spec', 'ports'], c) }, ip, c);
        }
        case 'Deployment':
        case 'StatefulSet':
        case 'DaemonSet':
        case 'ReplicaSet':
        case 'Job':
        case 'CronJob':
        case 'Pod': {
          if (owned && kind !== 'Deployment' && kind !== 'StatefulSet' && kind !== 'DaemonSet' && kind !== 'CronJob') return this.ignore(`${kind} owned by a controller (its owner is the workload)`);
          if (ns === undefined) return c.add([...ip, 'metadata', 'namespace'], `a ${kind} needs metadata.namespace`);
          const tplPath: PropertyKey[] = kind === 'Pod' ? [...ip] : kind === 'CronJob' ? [...ip, 'spec', 'jobTemplate', 'spec', 'template'] : [...ip, 'spec', 'template'];
          const tpl = kind === 'Pod' ? item : kind === 'CronJob' ? (isObj(spec['jobTemplate']) && isObj(spec['jobTemplate']['spec']) ? spec['jobTemplate']['spec']['template'] : undefined) : spec['template'];
          if (!isObj(tpl)) return c.add(tplPath, `${kind} ${ns}/${name} has no pod template`);
          const tmd = isObj(tpl['metadata']) ? tpl['metadata'] : {};
          const pspec = isObj(tpl['spec']) ? tpl['spec'] : {};
          const sa = typeof pspec['serviceAccountName'] === 'string' ? pspec['serviceAccountName'] : typeof pspec['serviceAccount'] === 'string' ? pspec['serviceAccount'] : 'default';
          const ports: ContainerPort[] = [];
          (Array.isArray(pspec['containers']) ? pspec['containers'] : []).forEach((ct, ci) => {
            if (isObj(ct)) ports.push(...this.containerPorts(ct['ports'], [...tplPath, 'spec', 'containers', ci, 'ports'], c));
          });
          return this.addWorkload({ namespace: ns, name, kind, serviceAccount: sa, labels: labelsOf(tmd['labels'], [...tplPath, 'metadata', 'labels'], c), ports, httpPorts: [] }, ip, c);
        }
        default:
          return this.ignore(kind);
      }
    });
  }

  /** The merged, sorted inventory. */
  build(): Inventory {
    const byKey = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number => cmp(keyOf(a), keyOf(b));
    return {
      namespaces: [...this.namespaces.values()].sort((a, b) => cmp(a.name, b.name)),
      workloads: [...this.workloads.values()].sort(byKey),
      services: [...this.services.values()].sort(byKey),
      serviceAccounts: [...this.sas].sort(cmp),
    };
  }
}

/**
 * Parses and merges inventory files.
 * @throws {CoreError} ERR_ISTIO_INVENTORY_INVALID.
 */
export function parseInventory(files: ReadonlyArray<{ file: string; text: string }>): { inventory: Inventory; notes: InventoryParseNotes } {
  const b = new InventoryBuilder();
  for (const f of files) b.addText(f.text, f.file);
  const inventory = b.build();
  if (inventory.workloads.length === 0) throw new CoreError('ERR_ISTIO_INVENTORY_INVALID', `the inventory (${files.map((f) => f.file).join(', ')}) holds no workloads: nothing to generate policies for`);
  return { inventory, notes: b.notes };
}

/** True when `labels` contains every pair of `selector` (an empty selector matches nothing here). */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'grpc-web', 'h2c', 'kubernetes.io/h2c']);

/** True when a service port is HTTP per Istio's protocol selection (appProtocol or name prefix). */
export function isHttpServicePort(p: ServicePort): boolean {
  if (p.appProtocol !== undefined) return HTTP_PROTOCOLS.has(p.appProtocol.toLowerCase());
  const prefix = (p.name ?? '').toLowerCase().split('-')[0] ?? '';
  return ['http', 'http2', 'grpc', 'grpc-web'].includes(prefix);
}

/** The selector chosen for a workload. */
export interface WorkloadSelector {
  labels: Record<string, string>;
  /** False when no subset of the workload's labels excludes every other workload. */
  unique: boolean;
  /** Other workloads the selector also matches (when not unique). */
  sharedWith: string[];
}

/** Lookups over an inventory (built once, pure). */
export class MeshIndex {
  private readonly byKey = new Map<string, Workload>();
  private readonly bySa = new Map<string, Workload[]>();
  private readonly svcByKey = new Map<string, Service>();
  private readonly svcWorkloads = new Map<string, Workload[]>();
  private readonly wlServices = new Map<string, Service[]>();
  private readonly byNs = new Map<string, Workload[]>();
  private readonly selectorCache = new Map<string, WorkloadSelector>();
  private readonly excluded: ReadonlySet<string>;

  constructor(
    readonly inventory: Inventory,
    readonly config: IstioConfig,
  ) {
    this.excluded = new Set([...config.excludeNamespaces, config.rootNamespace]);
    for (const w of inventory.workloads) {
      this.byKey.set(keyOf(w), w);
      const sa = `${w.namespace}/${w.serviceAccount}`;
      this.bySa.set(sa, [...(this.bySa.get(sa) ?? []), w]);
      this.byNs.set(w.namespace, [...(this.byNs.get(w.namespace) ?? []), w]);
    }
    for (const s of inventory.services) {
      this.svcByKey.set(keyOf(s), s);
      const ws = (this.byNs.get(s.namespace) ?? []).filter((w) => selects(s.selector, w.labels));
      this.svcWorkloads.set(keyOf(s), ws);
      for (const w of ws) this.wlServices.set(keyOf(w), [...(this.wlServices.get(keyOf(w)) ?? []), s]);
    }
  }

  /** True when generation skips this namespace (excluded or the root namespace). */
  isExcluded(namespace: string): boolean {
    return this.excluded.has(namespace);
  }

  /** Workload by `namespace/name`. */
  workload(key: string): Workload | undefined {
    return this.byKey.get(key);
  }

  /** Workloads of a namespace (sorted). */
  workloadsIn(namespace: string): readonly Workload[] {
    return this.byNs.get(namespace) ?? [];
  }

  /** Workloads running as `namespace/serviceAccount`. */
  workloadsBySa(namespace: string, sa: string): readonly Workload[] {
    return this.bySa.get(`${namespace}/${sa}`) ?? [];
  }

  /** Services (with a selector) in front of a workload. */
  servicesOf(w: Workload): readonly Service[] {
    return this.wlServices.get(keyOf(w)) ?? [];
  }

  /** Workloads behind a service. */
  workloadsOf(s: Service): readonly Workload[] {
    return this.svcWorkloads.get(keyOf(s)) ?? [];
  }

  /**
   * The service a host names: `name.ns.svc.<clusterDomain>`, `name.ns.svc`, `name.ns`, or a bare
   * `name` in `contextNamespace`; a `:port` suffix is ignored.
   */
  serviceByHost(host: string, contextNamespace?: string): Service | undefined {
    let h = host.toLowerCase();
    const colon = h.lastIndexOf(':');
    if (colon > 0 && /^[0-9]+$/u.test(h.slice(colon + 1))) h = h.slice(0, colon);
    const suffix = `.svc.${this.config.clusterDomain}`;
    if (h.endsWith(suffix)) h = h.slice(0, -suffix.length);
    else if (h.endsWith('.svc')) h = h.slice(0, -4);
    const parts = h.split('.');
    if (parts.length === 2) return this.svcByKey.get(`${parts[1]}/${parts[0]}`);
    if (parts.length === 1 && contextNamespace !== undefined) return this.svcByKey.get(`${contextNamespace}/${parts[0]}`);
    return undefined;
  }

  /** The service's FQDN. */
  fqdn(s: Service): string {
    return `${s.name}.${s.namespace}.svc.${this.config.clusterDomain}`;
  }

  /** The workload port a service port sends to (numeric, or a named container port), if known. */
  targetPort(p: ServicePort, w: Workload): number | undefined {
    if (typeof p.targetPort === 'number') return p.targetPort;
    return w.ports.find((cp) => cp.name === p.targetPort)?.port;
  }

  /** Workload ports known to speak HTTP: HTTP service ports' targets plus declared httpPorts. */
  httpPorts(w: Workload): number[] {
    const out = new Set<number>(w.httpPorts);
    for (const s of this.servicesOf(w)) for (const p of s.ports) if (isHttpServicePort(p)) {
      const t = this.targetPort(p, w);
      if (t !== undefined) out.add(t);
    }
    return [...out].sort((a, b) => a - b);
  }

  /**
   * The smallest label selector (preferred keys first, then alphabetical; volatile labels never)
   * that matches this workload and no other workload of its namespace.
   */
  selectorFor(w: Workload): WorkloadSelector {
    const k = keyOf(w);
    const hit = this.selectorCache.get(k);
    if (hit !== undefined) return hit;
    const ignored = new Set(this.config.ignoredSelectorLabels);
    const keys = Object.keys(w.labels).filter((l) => !ignored.has(l));
    const pref = this.config.selectorLabelPreference.filter((p) => keys.includes(p));
    const order = [...pref, ...keys.filter((x) => !pref.includes(x)).sort(cmp)];
    const others = this.workloadsIn(w.namespace).filter((o) => o !== w);
    const chosen: Record<string, string> = {};
    let result: WorkloadSelector | undefined;
    for (const key of order) {
      chosen[key] = w.labels[key] as string;
      const shared = others.filter((o) => selects(chosen, o.labels));
      if (shared.length === 0) {
        result = { labels: { ...chosen }, unique: true, sharedWith: [] };
        break;
      }
    }
    result ??= { labels: { ...chosen }, unique: false, sharedWith: others.filter((o) => selects(chosen, o.labels)).map(keyOf) };
    this.selectorCache.set(k, result);
    return result;
  }
}
