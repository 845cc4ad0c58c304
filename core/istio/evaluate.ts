/**
 * @module istio/evaluate
 * Evaluates a request against a set of Istio manifests with the sidecar's semantics:
 * 1. PeerAuthentication decides the mTLS mode (workload port-level, workload, namespace, mesh in
 *    the root namespace; UNSET inherits; default PERMISSIVE): STRICT rejects plaintext; DISABLE
 *    means no peer identity reaches authorization.
 * 2. AuthorizationPolicies selecting the workload (root namespace and the workload's namespace,
 *    selector ⊆ labels; dry-run and targetRef policies excluded): CUSTOM first (the case states the
 *    provider's verdict), then DENY, then ALLOW — if any ALLOW policy applies and none matches, the
 *    request is denied; with no ALLOW policy it is allowed.
 * 3. Rules: `from` (any source matches; within a source, every field), `to` (any operation), `when`
 *    (every condition); `*`, prefix and suffix patterns; path templates. On TCP, HTTP-only fields
 *    make an ALLOW operation/source/condition never match and are ignored in a DENY one (which is
 *    why a DENY must carry ports).
 *
 * Must never: guess a verdict — unsupported conditions are reported in the decision's notes and
 * do not match.
 */
import { BlockList, isIP } from 'node:net';

import { cmp } from './model.ts';
import { matchPath, matchString, normalisePath } from './paths.ts';
import { identityOf } from './validate.ts';

/** A request to evaluate. */
export interface PolicyRequest {
  /** Peer principal without `spiffe://` (`td/ns/NS/sa/SA`), or null for plaintext. */
  principal: string | null;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  port: number;
  /** HTTP method; absent for a TCP connection. */
  method?: string;
  path?: string;
  host?: string;
  headers?: Readonly<Record<string, string>>;
  sourceIp?: string;
  requestPrincipal?: string;
  /** Verdict of the CUSTOM (ext_authz) provider, when a CUSTOM policy matches. Default deny. */
  custom?: 'allow' | 'deny';
}

/** The outcome with the policy that decided it. */
export interface Decision {
  allowed: boolean;
  stage: 'mtls' | 'custom' | 'deny' | 'allow' | 'no-allow-match' | 'no-policy';
  /** `namespace/name` of the deciding policy and the rule index, when one decided. */
  policy?: string;
  rule?: number;
  mtlsMode: 'STRICT' | 'PERMISSIVE' | 'DISABLE';
  reason: string;
  notes: string[];
}

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function strs(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

interface Policy {
  namespace: string;
  name: string;
  action: 'ALLOW' | 'DENY' | 'CUSTOM' | 'AUDIT';
  selector: Record<string, string> | null;
  rules: unknown[];
  provider?: string;
}

interface Pa {
  namespace: string;
  name: string;
  selector: Record<string, string> | null;
  mode: string | undefined;
  ports: Record<string, string | undefined>;
}

function selectorOf(spec: Obj, field: 'selector'): Record<string, string> | null {
  const s = spec[field];
  if (!isObj(s) || !isObj(s['matchLabels'])) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s['matchLabels'])) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length === 0 ? null : out;
}

function selectsLabels(sel: Record<string, string>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in sel) if (labels[k] !== sel[k]) return false;
  return true;
}

function ipIn(ip: string | undefined, blocks: string[]): boolean {
  if (ip === undefined || isIP(ip) === 0) return false;
  const list = new BlockList();
  for (const b of blocks) {
    const [addr, bits] = b.split('/');
    const fam = isIP(addr ?? '');
    if (fam === 0) continue;
    const type = fam === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr as string, type);
    else list.addSubnet(addr as string, Number(bits), type);
  }
  return list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
}

function principalParts(p: string): { td: string; ns?: string; sa?: string } {
  const m = /^([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/u.exec(p);
  return m === null ? { td: p.split('/')[0] ?? '' } : { td: m[1] as string, ns: m[2] as string, sa: m[3] as string };
}

/** Tri-state for one field: undefined when the field is absent (no constraint). */
type Match = boolean | undefined;

/** A set of manifests ready to evaluate requests. */
export class PolicySet {
  private readonly byNs = new Map<string, Policy[]>();
  private readonly pas = new Map<string, Pa[]>();
  private readonly cache = new Map<string, { custom: Policy[]; deny: Policy[]; allow: Policy[] }>();
  /** Policies skipped (dry-run, targetRef), for the report. */
  readonly skipped: string[] = [];

  /**
   * @param docs the final state of the manifests (later documents already replaced earlier ones).
   * @param rootNamespace Istio's root namespace (mesh-wide policies).
   * @param includeDryRun evaluate `istio.io/dry-run` policies as if enforced (shadow evaluation).
   */
  constructor(
    docs: readonly unknown[],
    readonly rootNamespace: string,
    includeDryRun = false,
  ) {
    for (const d of docs) {
      if (!isObj(d)) continue;
      const id = identityOf(d);
      const spec = isObj(d['spec']) ? d['spec'] : {};
      const ann = isObj(d['metadata']) && isObj(d['metadata']['annotations']) ? d['metadata']['annotations'] : {};
      if (id.group === 'security.istio.io' && id.kind === 'AuthorizationPolicy') {
        const dry = typeof ann['istio.io/dry-run'] === 'string' && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(ann['istio.io/dry-run']);
        if (dry && !includeDryRun) {
          this.skipped.push(`${id.namespace}/${id.name} (dry-run)`);
          continue;
        }
        if (spec['targetRef'] !== undefined || spec['targetRefs'] !== undefined) {
          this.skipped.push(`${id.namespace}/${id.name} (targetRef: applies to gateways and waypoints, not sidecars)`);
          continue;
        }
        const action = typeof spec['action'] === 'string' ? (spec['action'] as Policy['action']) : 'ALLOW';
        const p: Policy = { namespace: id.namespace, name: id.name, action, selector: selectorOf(spec, 'selector'), rules: Array.isArray(spec['rules']) ? spec['rules'] : [] };
        if (isObj(spec['provider']) && typeof spec['provider']['name'] === 'string') p.provider = spec['provider']['name'];
        this.byNs.set(id.namespace, [...(this.byNs.get(id.namespace) ?? []), p]);
      } else if (id.group === 'security.istio.io' && id.kind === 'PeerAuthentication') {
        const mtls = isObj(spec['mtls']) ? spec['mtls'] : {};
        const ports: Record<string, string | undefined> = {};
        if (isObj(spec['portLevelMtls'])) for (const [k, v] of Object.entries(spec['portLevelMtls'])) ports[k] = isObj(v) && typeof v['mode'] === 'string' ? v['mode'] : undefined;
        const pa: Pa = { namespace: id.namespace, name: id.name, selector: selectorOf(spec, 'selector'), mode: typeof mtls['mode'] === 'string' ? mtls['mode'] : undefined, ports };
        this.pas.set(id.namespace, [...(this.pas.get(id.namespace) ?? []), pa].sort((a, b) => cmp(a.name, b.name)));
      }
    }
  }

  /** The effective mTLS mode for a workload port, and the PeerAuthentication that set it. */
  mtlsMode(namespace: string, labels: Readonly<Record<string, string>>, port: number): { mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE'; by: string; notes: string[] } {
    const notes: string[] = [];
    const set = (m: string | undefined): m is 'STRICT' | 'PERMISSIVE' | 'DISABLE' => m === 'STRICT' || m === 'PERMISSIVE' || m === 'DISABLE';
    const own = this.pas.get(namespace) ?? [];
    const wl = own.filter((p) => p.selector !== null && selectsLabels(p.selector, labels));
    if (wl.length > 1) notes.push(`several workload PeerAuthentications select it (${wl.map((p) => p.name).join(', ')}); Istio uses the oldest, evaluated here: ${wl[0]?.name}`);
    const w = wl[0];
    if (w !== undefined) {
      const pm = w.ports[String(port)];
      if (set(pm)) return { mode: pm, by: `${namespace}/${w.name} port ${port}`, notes };
      if (set(w.mode)) return { mode: w.mode, by: `${namespace}/${w.name}`, notes };
    }
    const nsWide = own.filter((p) => p.selector === null);
    if (nsWide.length > 1) notes.push(`several namespace-wide PeerAuthentications in ${namespace}; Istio uses only the oldest`);
    const n = nsWide[0];
    if (n !== undefined && set(n.mode)) return { mode: n.mode, by: `${namespace}/${n.name}`, notes };
    const mesh = (this.pas.get(this.rootNamespace) ?? []).filter((p) => p.selector === null)[0];
    if (mesh !== undefined && set(mesh.mode)) return { mode: mesh.mode, by: `${this.rootNamespace}/${mesh.name} (mesh)`, notes };
    return { mode: 'PERMISSIVE', by: "Istio's default", notes };
  }

  private applicable(namespace: string, labels: Readonly<Record<string, string>>): { custom: Policy[]; deny: Policy[]; allow: Policy[] } {
    const key = `${namespace}\u0000${Object.entries(labels).sort(([a], [b]) => cmp(a, b)).map(([k, v]) => `${k}=${v}`).join(',')}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const list = [...(this.byNs.get(this.rootNamespace) ?? []), ...(namespace === this.rootNamespace ? [] : (this.byNs.get(namespace) ?? []))].filter((p) => p.selector === null || selectsLabels(p.selector, labels));
    const r = { custom: list.filter((p) => p.action === 'CUSTOM'), deny: list.filter((p) => p.action === 'DENY'), allow: list.filter((p) => p.action === 'ALLOW') };
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(key, r);
    return r;
  }

  /** Evaluates one request. */
  evaluate(req: PolicyRequest): Decision {
    const notes: string[] = [];
    const m = this.mtlsMode(req.namespace, req.labels, req.port);
    notes.push(...m.notes);
    if (m.mode === 'STRICT' && req.principal === null) return { allowed: false, stage: 'mtls', mtlsMode: m.mode, reason: `plaintext rejected: mTLS STRICT (${m.by})`, notes };
    const effective: PolicyRequest = m.mode === 'DISABLE' && req.principal !== null ? { ...req, principal: null } : req;
    if (m.mode === 'DISABLE' && req.principal !== null) notes.push(`mTLS DISABLE (${m.by}): no peer identity reaches authorization`);
    const pols = this.applicable(req.namespace, req.labels);
    for (const p of pols.custom) {
      const r = this.firstMatch(p, effective, notes);
      if (r >= 0) {
        const verdict = req.custom ?? 'deny';
        if (verdict === 'deny') return { allowed: false, stage: 'custom', policy: `${p.namespace}/${p.name}`, rule: r, mtlsMode: m.mode, reason: `CUSTOM ${p.namespace}/${p.name} rule[${r}] → provider ${p.provider ?? '?'} denied${req.custom === undefined ? ' (the case did not state the provider verdict; deny assumed)' : ''}`, notes };
      }
    }
    for (const p of pols.deny) {
      const r = this.firstMatch(p, effective, notes);
      if (r >= 0) return { allowed: false, stage: 'deny', policy: `${p.namespace}/${p.name}`, rule: r, mtlsMode: m.mode, reason: `DENY ${p.namespace}/${p.name} rule[${r}]`, notes };
    }
    if (pols.allow.length === 0) return { allowed: true, stage: 'no-policy', mtlsMode: m.mode, reason: 'no ALLOW policy selects the workload', notes };
    for (const p of pols.allow) {
      const r = this.firstMatch(p, effective, notes);
      if (r >= 0) return { allowed: true, stage: 'allow', policy: `${p.namespace}/${p.name}`, rule: r, mtlsMode: m.mode, reason: `ALLOW ${p.namespace}/${p.name} rule[${r}]`, notes };
    }
    return { allowed: false, stage: 'no-allow-match', mtlsMode: m.mode, reason: `no rule of ${pols.allow.map((p) => `${p.namespace}/${p.name}`).join(', ')} matched`, notes };
  }

  private firstMatch(p: Policy, req: PolicyRequest, notes: string[]): number {
    for (let i = 0; i < p.rules.length; i++) if (this.ruleMatches(p, p.rules[i], req, notes)) return i;
    return -1;
  }

  private ruleMatches(p: Policy, rule: unknown, req: PolicyRequest, notes: string[]): boolean {
    if (!isObj(rule)) return false;
    const tcp = req.method === undefined;
    const lenient = p.action === 'DENY'; // on TCP, DENY drops HTTP-only fields; ALLOW never matches them
    const from = rule['from'];
    if (Array.isArray(from) && !from.some((f) => isObj(f) && isObj(f['source']) && this.sourceMatches(p, f['source'], req, tcp, lenient))) return false;
    const to = rule['to'];
    if (Array.isArray(to) && !to.some((t) => isObj(t) && isObj(t['operation']) && this.operationMatches(t['operation'], req, tcp, lenient))) return false;
    const when = rule['when'];
    if (Array.isArray(when)) for (const c of when) if (!this.conditionMatches(p, c, req, tcp, lenient, notes)) return false;
    return true;
  }

  private sourceMatches(p: Policy, s: Obj, req: PolicyRequest, tcp: boolean, lenient: boolean): boolean {
    const pr = req.principal;
    const parts = pr === null ? undefined : principalParts(pr);
    const checks: Match[] = [];
    const pos = (vals: string[] | undefined, value: string | undefined): Match => (vals === undefined ? undefined : value !== undefined && vals.some((v) => matchString(v, value)));
    const neg = (vals: string[] | undefined, value: string | undefined): Match => (vals === undefined ? undefined : value === undefined || !vals.some((v) => matchString(v, value)));
    checks.push(pos(strs(s['principals']), pr ?? undefined), neg(strs(s['notPrincipals']), pr ?? undefined));
    checks.push(pos(strs(s['namespaces']), parts?.ns), neg(strs(s['notNamespaces']), parts?.ns));
    checks.push(pos(strs(s['trustDomains']), parts?.td), neg(strs(s['notTrustDomains']), parts?.td));
    const sa = (vals: string[] | undefined): string[] | undefined => vals?.map((v) => (v.includes('/') ? v : `${p.namespace}/${v}`));
    const who = parts?.ns === undefined ? undefined : `${parts.ns}/${parts.sa ?? ''}`;
    checks.push(pos(sa(strs(s['serviceAccounts'])), who), neg(sa(strs(s['notServiceAccounts'])), who));
    const ips = strs(s['ipBlocks']);
    const nips = strs(s['notIpBlocks']);
    const rips = strs(s['remoteIpBlocks']);
    const nrips = strs(s['notRemoteIpBlocks']);
    checks.push(ips === undefined ? undefined : ipIn(req.sourceIp, ips), nips === undefined ? undefined : !ipIn(req.sourceIp, nips));
    checks.push(rips === undefined ? undefined : ipIn(req.sourceIp, rips), nrips === undefined ? undefined : !ipIn(req.sourceIp, nrips));
    const rp = strs(s['requestPrincipals']);
    const nrp = strs(s['notRequestPrincipals']);
    if (tcp && (rp !== undefined || nrp !== undefined)) {
      if (!lenient) return false;
    } else checks.push(pos(rp, req.requestPrincipal), neg(nrp, req.requestPrincipal));
    return checks.every((c) => c !== false);
  }

  private operationMatches(o: Obj, req: PolicyRequest, tcp: boolean, lenient: boolean): boolean {
    const port = String(req.port);
    const ports = strs(o['ports']);
    const nports = strs(o['notPorts']);
    if (ports !== undefined && !ports.includes(port)) return false;
    if (nports !== undefined && nports.includes(port)) return false;
    const http = ['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'].some((k) => o[k] !== undefined);
    if (tcp) return http ? lenient : true;
    const method = req.method as string;
    const path = normalisePath(req.path ?? '/');
    const host = (req.host ?? '').toLowerCase();
    const methods = strs(o['methods']);
    const nmethods = strs(o['notMethods']);
    if (methods !== undefined && !methods.some((v) => matchString(v, method))) return false;
    if (nmethods !== undefined && nmethods.some((v) => matchString(v, method))) return false;
    const paths = strs(o['paths']);
    const npaths = strs(o['notPaths']);
    if (paths !== undefined && !paths.some((v) => matchPath(v, path))) return false;
    if (npaths !== undefined && npaths.some((v) => matchPath(v, path))) return false;
    const hosts = strs(o['hosts']);
    const nhosts = strs(o['notHosts']);
    if (hosts !== undefined && (host === '' || !hosts.some((v) => matchString(v.toLowerCase(), host)))) return false;
    if (nhosts !== undefined && host !== '' && nhosts.some((v) => matchString(v.toLowerCase(), host))) return false;
    return true;
  }

  private conditionMatches(p: Policy, c: unknown, req: PolicyRequest, tcp: boolean, lenient: boolean, notes: string[]): boolean {
    if (!isObj(c) || typeof c['key'] !== 'string') return false;
    const key = c['key'];
    const values = strs(c['values']);
    const nvalues = strs(c['notValues']);
    let actual: string | undefined;
    let ipMatch = false;
    const parts = req.principal === null ? undefined : principalParts(req.principal);
    if (key.startsWith('request.')) {
      if (tcp) return lenient;
      const h = /^request\.headers\[(.+)\]$/u.exec(key);
      if (h !== null) {
        const want = (h[1] as string).toLowerCase();
        actual = Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === want)?.[1];
      } else if (key === 'request.auth.principal') actual = req.requestPrincipal;
      else {
        notes.push(`condition ${key} in ${p.namespace}/${p.name} is not evaluated by the tester (treated as not matching)`);
        return false;
      }
    } else if (key === 'source.principal') actual = req.principal ?? undefined;
    else if (key === 'source.namespace') actual = parts?.ns;
    else if (key === 'source.serviceAccount') actual = parts?.ns === undefined ? undefined : `${parts.ns}/${parts.sa ?? ''}`;
    else if (key === 'source.trustDomain') actual = parts?.td;
    else if (key === 'destination.port') actual = String(req.port);
    else if (key === 'source.ip' || key === 'remote.ip') ipMatch = true;
    else {
      notes.push(`condition ${key} in ${p.namespace}/${p.name} is not evaluated by the tester (treated as not matching)`);
      return false;
    }
    if (ipMatch) {
      if (values !== undefined && !ipIn(req.sourceIp, values)) return false;
      if (nvalues !== undefined && ipIn(req.sourceIp, nvalues)) return false;
      return true;
    }
    if (values !== undefined && (actual === undefined || !values.some((v) => matchString(v, actual as string)))) return false;
    if (nvalues !== undefined && actual !== undefined && nvalues.some((v) => matchString(v, actual as string))) return false;
    return true;
  }
}
