/**
 * @module istio/generate
 * The pure heart of `neam-ca istio generate`: from the inventory, the aggregated evidence, the
 * validated exceptions and (optionally) checked `cacerts` material, it builds every resource of the
 * rollout — mesh-wide STRICT PeerAuthentication, exception PeerAuthentications, ISTIO_MUTUAL
 * DestinationRules, per-namespace allow-nothing plus least-privilege ALLOW AuthorizationPolicies,
 * admin-path DENY policies (always with ports), egress-limiting Sidecars, access-logging Telemetry
 * and the `cacerts` Secret — assigned to phases (observe → PERMISSIVE → STRICT), and a report of
 * what could not be expressed (plaintext blockers, unselectable workloads, collapsed paths).
 *
 * Must never: read the clock, files or randomness; depend on input order (everything is sorted);
 * put a private key in the Secret; or emit an HTTP-only DENY rule.
 */
import { createHash } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { CollapsedOperation } from './aggregate.ts';
import type { CacertsMaterial } from './cacerts.ts';
import { containsPrivateKey } from './cacerts.ts';
import type { IstioConfig } from './config.ts';
import type { MtlsException } from './exceptions.ts';
import { MeshIndex } from './inventory.ts';
import { cmp, keyOf, type EvidenceTuple, type Inventory, type Service, type Workload } from './model.ts';
import { matchPath } from './paths.ts';
import { parseSpiffeId } from './resolve.ts';

/** A Kubernetes object as generated (plain data; rendered to YAML with sorted keys). */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  type?: string;
  data?: Record<string, string>;
}

/** Rollout phases, in apply order. */
export const PHASES = ['00-plug-in-ca', '01-observe', '02-permissive', '03-strict'] as const;
/** One phase folder name. */
export type Phase = (typeof PHASES)[number];

/** Something the generated policies cannot cover, or a choice the reader should know about. */
export interface Finding {
  kind: 'plaintext-blocked' | 'unselectable-workload' | 'shared-selector' | 'paths-collapsed' | 'admin-path-observed' | 'no-http-port' | 'no-service-for-dependency' | 'mixed-disable-service' | 'no-inbound-traffic' | 'unknown-port' | 'cacerts';
  /** Namespace/workload concerned. */
  subject: string;
  message: string;
}

/** Everything {@link generate} needs. */
export interface GenerateInput {
  inventory: Inventory;
  config: IstioConfig;
  tuples: readonly EvidenceTuple[];
  collapsed?: readonly CollapsedOperation[];
  exceptions: readonly MtlsException[];
  cacerts?: CacertsMaterial;
  /** Only to re-check exception expiry (defence in depth); never written to the output. */
  now: Date;
}

/** The generated rollout. */
export interface Generated {
  phases: Record<Phase, Resource[]>;
  findings: Finding[];
  /** Counts for the report. */
  summary: { namespaces: string[]; workloads: number; services: number; tuples: number; principals: number; exceptions: number };
}

const MANAGED = { 'app.kubernetes.io/managed-by': 'neam-ca' };
const DRY_RUN = 'istio.io/dry-run';

/** A resource name `prefix-name`, shortened with a hash when it would exceed 253 characters. */
export function resourceName(prefix: string, name: string): string {
  const full = `${prefix}-${name}`;
  if (full.length <= 253) return full;
  const h = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${full.slice(0, 240).replace(/[-.]+$/u, '')}-${h}`;
}

function meta(name: string, namespace: string, annotations?: Record<string, string>): Resource['metadata'] {
  return annotations === undefined || Object.keys(annotations).length === 0 ? { name, namespace, labels: { ...MANAGED } } : { name, namespace, labels: { ...MANAGED }, annotations };
}

type Operation = { ports?: string[]; methods?: string[]; paths?: string[] };

function opKey(o: Operation): string {
  return JSON.stringify([o.ports ?? null, o.methods ?? null, o.paths ?? null]);
}

/**
 * Least-privilege operations for one source's tuples on one workload: per port, per method the
 * observed (generalised) paths; methods with identical paths merge, then ports with identical
 * operations. Returns null when the evidence allows any operation (no port and no method known).
 */
export function operationsFor(tuples: readonly EvidenceTuple[]): Operation[] | null {
  if (tuples.some((t) => t.port === null && t.method === null)) return null;
  const byPort = new Map<number | null, EvidenceTuple[]>();
  for (const t of tuples) byPort.set(t.port, [...(byPort.get(t.port) ?? []), t]);
  const ops: Operation[] = [];
  for (const [port, ts] of byPort) {
    const ports = port === null ? undefined : [String(port)];
    if (ts.some((t) => t.method === null)) {
      ops.push(ports === undefined ? {} : { ports });
      continue;
    }
    const byMethod = new Map<string, Set<string> | 'any'>();
    for (const t of ts) {
      const m = t.method as string;
      const cur = byMethod.get(m);
      if (t.path === null || t.path === '*' || cur === 'any') byMethod.set(m, 'any');
      else byMethod.set(m, (cur ?? new Set<string>()).add(t.path));
    }
    const byPaths = new Map<string, { methods: string[]; paths: string[] | undefined }>();
    for (const [m, ps] of byMethod) {
      const paths = ps === 'any' ? undefined : [...ps].sort(cmp);
      const k = JSON.stringify(paths ?? null);
      const g = byPaths.get(k) ?? { methods: [], paths };
      g.methods.push(m);
      byPaths.set(k, g);
    }
    for (const g of byPaths.values()) {
      const o: Operation = {};
      if (ports !== undefined) o.ports = ports;
      o.methods = g.methods.sort(cmp);
      if (g.paths !== undefined) o.paths = g.paths;
      ops.push(o);
    }
  }
  // An operation with only ports subsumes every other operation on those ports.
  const portOnly = new Set(ops.filter((o) => o.methods === undefined && o.paths === undefined && o.ports !== undefined).flatMap((o) => o.ports as string[]));
  const kept = ops.filter((o) => !(o.methods !== undefined && o.ports !== undefined && o.ports.every((p) => portOnly.has(p))));
  if (kept.some((o) => o.ports === undefined && o.methods === undefined && o.paths === undefined)) return null;
  // Merge ports of operations that are otherwise identical.
  const merged = new Map<string, Operation>();
  for (const o of kept) {
    const k = JSON.stringify([o.methods ?? null, o.paths ?? null, o.ports === undefined]);
    const prev = merged.get(k);
    if (prev === undefined) merged.set(k, { ...o, ...(o.ports === undefined ? {} : { ports: [...o.ports] }) });
    else if (prev.ports !== undefined && o.ports !== undefined) prev.ports = [...new Set([...prev.ports, ...o.ports])].sort((a, b) => Number(a) - Number(b));
  }
  return [...merged.values()].sort((a, b) => cmp(opKey(a), opKey(b)));
}

function toRule(principals: string[] | null, ops: Operation[] | null): Record<string, unknown> {
  const rule: Record<string, unknown> = {};
  if (principals !== null) rule['from'] = [{ source: { principals } }];
  if (ops !== null) rule['to'] = ops.map((operation) => ({ operation }));
  return rule;
}

/** How an exception covers a workload: whole workload, some ports, or not at all. */
function coverage(exceptions: readonly MtlsException[], w: Workload): { mode: 'PERMISSIVE' | 'DISABLE'; ports: number[] | 'all'; id: string } | undefined {
  const ns = exceptions.find((e) => e.namespace === w.namespace && e.workload === undefined);
  const wl = exceptions.find((e) => e.namespace === w.namespace && e.workload === w.name);
  if (wl !== undefined) return { mode: wl.mode, ports: wl.ports.length === 0 ? 'all' : wl.ports, id: wl.id };
  if (ns !== undefined) return { mode: ns.mode, ports: 'all', id: ns.id };
  return undefined;
}

/**
 * Builds the rollout. Pure and deterministic: same inputs, same resources in the same order.
 * @throws {CoreError} ERR_ISTIO_EXCEPTION_EXPIRED if an exception expired (re-checked at `now`);
 *   ERR_ISTIO_EXCEPTION_INVALID when an exception's workload cannot be selected uniquely;
 *   ERR_ISTIO_PRIVATE_KEY_REFUSED if certificate material holds a private key.
 */
export function generate(input: GenerateInput): Generated {
  const { inventory, config } = input;
  const index = new MeshIndex(inventory, config);
  const findings: Finding[] = [];
  const find = (f: Finding): void => void findings.push(f);
  for (const e of input.exceptions) {
    if (e.expiresAt.getTime() <= input.now.getTime()) throw new CoreError('ERR_ISTIO_EXCEPTION_EXPIRED', `exception '${e.id}' expired at ${e.expiresAt.toISOString()}; nothing was generated`, { details: { id: e.id } });
  }
  const namespaces = inventory.namespaces.map((n) => n.name).filter((n) => !index.isExcluded(n));
  const inScope = new Set(namespaces);
  const phases: Record<Phase, Resource[]> = { '00-plug-in-ca': [], '01-observe': [], '02-permissive': [], '03-strict': [] };
  const root = config.rootNamespace;

  // 00: the plug-in CA Secret (certificates only).
  if (input.cacerts !== undefined) {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.cacerts.files).sort(([a], [b]) => cmp(a, b))) {
      if (v === undefined) continue;
      if (containsPrivateKey(v)) throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${k} holds a private key; the cacerts Secret carries certificates only`);
      data[k] = Buffer.from(v, 'utf8').toString('base64');
    }
    phases['00-plug-in-ca'].push({ apiVersion: 'v1', kind: 'Secret', metadata: meta('cacerts', config.istiodNamespace, { 'neam-ca.io/note': 'ca-key.pem is added on the cluster side from the key made with the CSR; NEAM CA never handles it' }), type: 'Opaque', data });
    for (const w of input.cacerts.warnings) find({ kind: 'cacerts', subject: `${config.istiodNamespace}/cacerts`, message: w });
  }

  // 01: observe. Access logging on; PERMISSIVE stated explicitly; authorization in dry-run.
  phases['01-observe'].push({ apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', metadata: meta('mesh-access-logging', root), spec: { accessLogging: [{ providers: [{ name: 'envoy' }] }] } });
  const meshPa = (mode: 'PERMISSIVE' | 'STRICT'): Resource => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta('default', root), spec: { mtls: { mode } } });
  phases['01-observe'].push(meshPa('PERMISSIVE'));

  // Exceptions → PeerAuthentications (02, so that 03 only flips the mesh default).
  const exceptionPas: Resource[] = [];
  for (const e of input.exceptions) {
    const annotations: Record<string, string> = { 'neam-ca.io/exception-id': e.id, 'neam-ca.io/justification': e.justification, 'neam-ca.io/approver': e.approver, 'neam-ca.io/expires': e.expiresAt.toISOString() };
    if (e.ticket !== undefined) annotations['neam-ca.io/ticket'] = e.ticket;
    const spec: Record<string, unknown> = {};
    if (e.workload !== undefined) {
      const w = index.workload(`${e.namespace}/${e.workload}`) as Workload;
      const sel = index.selectorFor(w);
      if (!sel.unique || Object.keys(sel.labels).length === 0) throw new CoreError('ERR_ISTIO_EXCEPTION_INVALID', `exception '${e.id}': workload ${keyOf(w)} cannot be selected alone by its labels${sel.sharedWith.length > 0 ? ` (its labels also match ${sel.sharedWith.join(', ')})` : ''}; give it a distinguishing label or make the exception namespace-wide`, { details: { id: e.id } });
      spec['selector'] = { matchLabels: sel.labels };
      if (e.ports.length > 0) spec['portLevelMtls'] = Object.fromEntries(e.ports.map((p) => [String(p), { mode: e.mode }]));
      else spec['mtls'] = { mode: e.mode };
    } else spec['mtls'] = { mode: e.mode };
    exceptionPas.push({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: meta(resourceName('mtls-exception', e.id), e.namespace, annotations), spec });
  }

  // DestinationRules: ISTIO_MUTUAL to every in-scope service; DISABLE where an exception disables mTLS.
  const drs: Resource[] = [];
  for (const s of inventory.services) {
    if (!inScope.has(s.namespace)) continue;
    const backends = index.workloadsOf(s);
    if (Object.keys(s.selector).length === 0 || backends.length === 0) continue;
    const covers = backends.map((w) => coverage(input.exceptions, w));
    const fullDisable = covers.map((c) => c !== undefined && c.mode === 'DISABLE' && c.ports === 'all');
    const annotations: Record<string, string> = {};
    const tp: Record<string, unknown> = {};
    if (fullDisable.every(Boolean)) {
      tp['tls'] = { mode: 'DISABLE' };
      annotations['neam-ca.io/exception-id'] = [...new Set(covers.map((c) => c?.id as string))].sort(cmp).join(',');
    } else if (fullDisable.some(Boolean)) {
      find({ kind: 'mixed-disable-service', subject: keyOf(s), message: `service ${keyOf(s)} fronts workloads with and without an mTLS DISABLE exception; no DestinationRule is generated for it (Istio's auto mTLS picks per endpoint)` });
      continue;
    } else {
      tp['tls'] = { mode: 'ISTIO_MUTUAL' };
      const disabledPorts = new Set<number>();
      const ids = new Set<string>();
      backends.forEach((w, i) => {
        const c = covers[i];
        if (c !== undefined && c.mode === 'DISABLE' && c.ports !== 'all') {
          for (const sp of s.ports) if (c.ports.includes(index.targetPort(sp, w) ?? -1)) disabledPorts.add(sp.port);
          ids.add(c.id);
        }
      });
      if (disabledPorts.size > 0) {
        tp['portLevelSettings'] = [...disabledPorts].sort((a, b) => a - b).map((p) => ({ port: { number: p }, tls: { mode: 'DISABLE' } }));
        annotations['neam-ca.io/exception-id'] = [...ids].sort(cmp).join(',');
      }
    }
    drs.push({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(resourceName('mtls', s.name), s.namespace, annotations), spec: { host: index.fqdn(s), trafficPolicy: tp } });
  }

  // Evidence by destination.
  const byDest = new Map<string, EvidenceTuple[]>();
  for (const t of input.tuples) {
    const list = byDest.get(t.destination);
    if (list === undefined) byDest.set(t.destination, [t]);
    else list.push(t);
  }
  const deps = dependenciesBySource(input.tuples, index, findings);
  const principals = new Set(input.tuples.map((t) => t.principal).filter((p): p is string => p !== null));
  for (const c of input.collapsed ?? []) find({ kind: 'paths-collapsed', subject: c.destination, message: `more than ${config.paths.maxPerOperation} distinct paths from ${c.principal ?? 'plaintext clients'} to ${c.destination}${c.port === null ? '' : `:${c.port}`} ${c.method ?? ''}: that operation allows any path (raise paths.maxPerOperation or add idSegmentPatterns)`.replace(/\s+:/u, ':') });

  const authz: Resource[] = [];
  const sidecars: Resource[] = [];
  for (const ns of namespaces) {
    authz.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta('allow-nothing', ns), spec: {} });
    for (const w of index.workloadsIn(ns)) {
      const sel = index.selectorFor(w);
      const selectable = Object.keys(sel.labels).length > 0;
      if (selectable && !sel.unique) find({ kind: 'shared-selector', subject: keyOf(w), message: `the labels of ${keyOf(w)} also match ${sel.sharedWith.join(', ')}; its policies apply to them too (give it a distinguishing label)` });
      const tuples = byDest.get(keyOf(w)) ?? [];
      // ALLOW: one rule per group of principals with the same operations.
      if (tuples.length === 0) find({ kind: 'no-inbound-traffic', subject: keyOf(w), message: `no inbound traffic observed for ${keyOf(w)}: only allow-nothing applies to it` });
      else if (!selectable) find({ kind: 'unselectable-workload', subject: keyOf(w), message: `${keyOf(w)} has no usable labels, so no policy can select it: its ${tuples.reduce((n, t) => n + t.count, 0)} observed requests will be denied by allow-nothing` });
      else {
        const byPrincipal = new Map<string, EvidenceTuple[]>();
        const plaintext: EvidenceTuple[] = [];
        for (const t of tuples) {
          if (t.principal === null) plaintext.push(t);
          else {
            const list = byPrincipal.get(t.principal);
            if (list === undefined) byPrincipal.set(t.principal, [t]);
            else list.push(t);
          }
        }
        const groups = new Map<string, { principals: string[]; ops: Operation[] | null }>();
        for (const [p, ts] of [...byPrincipal].sort(([a], [b]) => cmp(a, b))) {
          const ops = operationsFor(ts);
          const k = JSON.stringify(ops);
          const g = groups.get(k) ?? { principals: [], ops };
          g.principals.push(p);
          groups.set(k, g);
        }
        const rules = [...groups.values()].map((g) => toRule(g.principals, g.ops));
        if (plaintext.length > 0) {
          const cov = coverage(input.exceptions, w);
          const allowed = plaintext.filter((t) => cov !== undefined && (cov.ports === 'all' || (t.port !== null && cov.ports.includes(t.port))));
          for (const t of plaintext.filter((x) => !allowed.includes(x))) {
            find({ kind: 'plaintext-blocked', subject: keyOf(w), message: `${t.count} plaintext request(s) to ${keyOf(w)}${t.port === null ? '' : `:${t.port}`}${t.method === null ? '' : ` ${t.method} ${t.path ?? ''}`} (first at ${t.firstSeen}) have no peer identity: STRICT mTLS will reject them. Move the client into the mesh, or add a time-boxed exception` });
          }
          if (allowed.length > 0) rules.push(toRule(null, operationsFor(allowed)));
        }
        for (const t of tuples) if (t.port === null && t.method !== null) {
          find({ kind: 'unknown-port', subject: keyOf(w), message: `requests to ${keyOf(w)} carry no destination port (add the destination_port tag to Istio's metrics or use access logs): its ALLOW rules cannot name ports` });
          break;
        }
        if (rules.length > 0) authz.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta(resourceName('allow', w.name), ns), spec: { action: 'ALLOW', selector: { matchLabels: sel.labels }, rules } });
      }
      // DENY admin paths, always with the workload's HTTP ports (an HTTP-only DENY denies all TCP).
      if (config.adminPaths.paths.length > 0 && selectable) {
        const observedHttp = tuples.filter((t) => t.method !== null && t.port !== null).map((t) => t.port as number);
        const httpPorts = [...new Set([...index.httpPorts(w), ...observedHttp])].sort((a, b) => a - b);
        if (httpPorts.length === 0) find({ kind: 'no-http-port', subject: keyOf(w), message: `no HTTP port is known for ${keyOf(w)}, so no admin-path DENY policy is generated for it (right for a TCP-only workload; otherwise name its service port http-… or set appProtocol: http)` });
        else {
          const rule: Record<string, unknown> = { to: [{ operation: { ports: httpPorts.map(String), paths: [...config.adminPaths.paths] } }] };
          if (config.adminPaths.exceptPrincipals.length > 0) rule['from'] = [{ source: { notPrincipals: [...config.adminPaths.exceptPrincipals].sort(cmp) } }];
          authz.push({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: meta(resourceName('deny-admin', w.name), ns), spec: { action: 'DENY', selector: { matchLabels: sel.labels }, rules: [rule] } });
          for (const t of tuples) {
            if (t.path !== null && t.port !== null && httpPorts.includes(t.port) && config.adminPaths.paths.some((p) => matchPath(p, t.path as string)) && !(t.principal !== null && config.adminPaths.exceptPrincipals.includes(t.principal)))
              find({ kind: 'admin-path-observed', subject: keyOf(w), message: `${t.count} observed request(s) ${t.method ?? ''} ${t.path} from ${t.principal ?? 'plaintext clients'} to ${keyOf(w)}:${t.port} (first at ${t.firstSeen}) hit an admin path and will be denied; list the caller in adminPaths.exceptPrincipals if that is intended` });
          }
        }
      }
    }

    // Sidecars: a namespace default with the essentials, and one per source selector with its dependencies.
    const essentials = [...config.essentialEgressHosts, ...(config.namespaceEgressHosts[ns] ?? [])];
    const defaultHosts = new Set(essentials);
    const bySelector = new Map<string, { labels: Record<string, string>; names: string[]; hosts: Set<string> }>();
    for (const w of index.workloadsIn(ns)) {
      const wDeps = deps.get(`${w.namespace}/${w.serviceAccount}`);
      if (wDeps === undefined || wDeps.size === 0) continue;
      const sel = index.selectorFor(w);
      if (Object.keys(sel.labels).length === 0) {
        for (const h of wDeps) defaultHosts.add(h);
        find({ kind: 'unselectable-workload', subject: keyOf(w), message: `${keyOf(w)} has no usable labels: its egress dependencies were added to the namespace default Sidecar` });
        continue;
      }
      const k = JSON.stringify(Object.entries(sel.labels).sort(([a], [b]) => cmp(a, b)));
      const g = bySelector.get(k) ?? { labels: sel.labels, names: [], hosts: new Set(essentials) };
      g.names.push(w.name);
      for (const h of wDeps) g.hosts.add(h);
      bySelector.set(k, g);
    }
    sidecars.push({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: meta('default', ns), spec: { egress: [{ hosts: sortHosts(defaultHosts) }] } });
    for (const g of bySelector.values()) {
      const name = g.names.sort(cmp)[0] as string;
      sidecars.push({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: meta(resourceName('egress', name), ns), spec: { workloadSelector: { labels: g.labels }, egress: [{ hosts: sortHosts(g.hosts) }] } });
    }
  }

  const sortRes = (a: Resource, b: Resource): number => cmp(a.metadata.namespace, b.metadata.namespace) || cmp(a.kind, b.kind) || cmp(a.metadata.name, b.metadata.name);
  const dryRun = authz.map((r) => ({ ...r, metadata: { ...r.metadata, annotations: { ...(r.metadata.annotations ?? {}), [DRY_RUN]: 'true' } } }));
  phases['01-observe'].push(...dryRun);
  phases['02-permissive'].push(...drs, ...sidecars, ...exceptionPas, ...authz);
  phases['03-strict'].push(meshPa('STRICT'));
  for (const p of PHASES) phases[p].sort(sortRes);
  return {
    phases,
    findings: dedupeFindings(findings),
    summary: { namespaces, workloads: inventory.workloads.filter((w) => inScope.has(w.namespace)).length, services: inventory.services.filter((s) => inScope.has(s.namespace)).length, tuples: input.tuples.length, principals: principals.size, exceptions: input.exceptions.length },
  };
}

function sortHosts(hosts: Set<string>): string[] {
  return [...hosts].sort(cmp);
}

/**
 * Sidecar egress hosts (`ns/fqdn`) of the services each source identity (`ns/sa`) was observed
 * calling; every workload running as that service account gets them.
 */
function dependenciesBySource(tuples: readonly EvidenceTuple[], index: MeshIndex, findings: Finding[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const t of tuples) {
    if (t.principal === null) continue;
    const pair = `${t.principal}\u0000${t.destination}`;
    if (seen.has(pair)) continue;
    seen.add(pair);
    const id = parseSpiffeId(`spiffe://${t.principal}`);
    if (id === undefined || id.trustDomain !== index.config.trustDomain) continue;
    const d = index.workload(t.destination);
    if (d === undefined) continue;
    const source = `${id.namespace}/${id.serviceAccount}`;
    const svcs: readonly Service[] = index.servicesOf(d);
    if (svcs.length === 0 && index.workloadsBySa(id.namespace, id.serviceAccount).length > 0) findings.push({ kind: 'no-service-for-dependency', subject: source, message: `workloads running as ${source} call ${t.destination}, which no Service selects: a Sidecar cannot list it (the call goes through passthrough)` });
    let set = out.get(source);
    if (set === undefined) out.set(source, (set = new Set()));
    for (const s of svcs) set.add(`${s.namespace}/${index.fqdn(s)}`);
  }
  return out;
}

function dedupeFindings(fs: Finding[]): Finding[] {
  const seen = new Set<string>();
  return fs
    .filter((f) => {
      const k = `${f.kind}\u0000${f.subject}\u0000${f.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => cmp(a.kind, b.kind) || cmp(a.subject, b.subject) || cmp(a.message, b.message));
}
