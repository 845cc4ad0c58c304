/**
 * @module istio/semantic
 * The second validation layer: the rules of istiod's validating webhook (`istioctl validate`,
 * `pkg/config/validation/validation.go` in istio/istio 1.30) for the kinds NEAM CA generates and
 * tests — PeerAuthentication, AuthorizationPolicy, DestinationRule, Sidecar — plus metadata rules
 * for every kind, and lints for the mistakes Istio accepts but that change behaviour (a principal
 * with `spiffe://` never matches; an HTTP-only DENY rule denies all TCP traffic). Each finding
 * names its layer: `istio` (the webhook rejects or warns), `lint` (ours).
 *
 * Owns: per-document semantic checks. Must never: mutate the document, or consult cluster state
 * (selectors matching pods, services existing): that is the policy tester's job.
 */
import { isIP } from 'node:net';

/** One finding about one document. */
export interface RuleFinding {
  severity: 'error' | 'warning';
  layer: 'istio' | 'lint';
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/u;
const DNS1123_LABEL_ANYCASE = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/u;
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/u;
const LABEL_NAME = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)$/u;

/** True for a DNS-1123 label (lower case, ≤ 63). */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** True for a DNS-1123 subdomain (Kubernetes object names, ≤ 253). */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => DNS1123_LABEL.test(l) && l.length <= 63);
}

/** Kubernetes label/annotation key: optional DNS-subdomain prefix and '/', then a name of ≤ 63. */
export function isQualifiedName(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return false;
  return name.length > 0 && name.length <= 63 && LABEL_NAME.test(name);
}

/** Kubernetes label value: empty, or ≤ 63 of `[A-Za-z0-9_.-]` starting and ending alphanumeric. */
export function isLabelValue(v: string): boolean {
  return v === '' || (v.length <= 63 && LABEL_NAME.test(v));
}

function dnsLabelsError(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] as string;
  if (/^[-+]?[0-9]+$/u.test(tld)) return `domain name "${domain}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const l = parts[i] as string;
    if (i === parts.length - 1 && l === '') return undefined;
    if (!(l.length <= 63 && DNS1123_LABEL_ANYCASE.test(l))) return `domain name "${domain}" invalid (label "${l}" invalid)`;
  }
  return undefined;
}

/** Istio's `ValidateWildcardDomain`: FQDN with an optional wildcard first label. */
export function wildcardDomainError(domain: string): string | undefined {
  if (domain.length > 255) return `domain name "${domain}" too long (max 255)`;
  if (domain.length === 0) return 'empty domain name not allowed';
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!(first.length <= 63 && WILDCARD_LABEL.test(first))) return `domain name "${domain}" invalid (label "${first}" invalid)`;
  return dot < 0 ? undefined : dnsLabelsError(domain.slice(dot + 1));
}

/** Istio's `ValidateNamespaceSlashWildcardHostname` for Sidecar egress hosts. */
export function sidecarHostErrors(host: string): string[] {
  const slash = host.indexOf('/');
  if (slash < 0) return ['host must be of form namespace/dnsName'];
  const ns = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  const errs: string[] = [];
  if (ns === '' || dns === '') errs.push('config namespace and dnsName in host entry cannot be empty');
  if (ns !== '*' && ns !== '.' && ns !== '~' && !isDns1123Label(ns)) errs.push(`invalid namespace value "${ns}" in sidecar`);
  if (dns !== '*' && !dns.includes('.')) errs.push('short names (non FQDN) are not allowed');
  const w = wildcardDomainError(dns);
  if (w !== undefined) errs.push(w);
  if (dns.includes('*') && dns.length !== 1 && !dns.startsWith('*.')) errs.push(`partial wildcard "${dns}" not allowed`);
  return errs;
}

/** Go's `netip.ParseAddr` / `ParsePrefix` for ipBlocks (no zones in prefixes, canonical masks). */
export function ipOrCidrError(v: string): string | undefined {
  if (v.includes('/')) {
    const [addr, bits, extra] = v.split('/');
    if (extra !== undefined || addr === undefined || bits === undefined) return `bad CIDR range (${v})`;
    const fam = isIP(addr);
    if (fam === 0 || !/^[0-9]+$/u.test(bits) || Number(bits) > (fam === 4 ? 32 : 128) || (bits.length > 1 && bits.startsWith('0'))) return `bad CIDR range (${v})`;
    return undefined;
  }
  return isIP(v) === 0 ? `bad IP address (${v})` : undefined;
}

function selectorFindings(sel: unknown, path: string, labelsField: 'matchLabels' | 'labels', out: RuleFinding[]): void {
  if (sel === undefined || sel === null) return;
  const labels = isObj(sel) ? sel[labelsField] : undefined;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    out.push({ severity: 'warning', layer: 'istio', path, message: 'selector has no labels: the resource applies to every workload in its namespace' });
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') out.push({ severity: 'error', layer: 'istio', path: `${path}.${labelsField}`, message: 'empty key is not supported in selector' });
    if (k.includes('*') || (typeof v === 'string' && v.includes('*'))) out.push({ severity: 'error', layer: 'istio', path: `${path}.${labelsField}[${k}]`, message: 'wildcard is not supported in selector' });
  }
}

/** Rules every kind shares (`validateMetadata`, dry-run annotation, internal annotations). */
export function metadataFindings(doc: Obj): RuleFinding[] {
  const out: RuleFinding[] = [];
  const md = doc['metadata'];
  if (!isObj(md)) return [{ severity: 'error', layer: 'istio', path: 'metadata', message: 'metadata is required (name, namespace)' }];
  const name = md['name'];
  if (typeof name !== 'string' || name === '') out.push({ severity: 'error', layer: 'istio', path: 'metadata.name', message: 'metadata.name is required' });
  else if (!isDns1123Subdomain(name)) out.push({ severity: 'error', layer: 'istio', path: 'metadata.name', message: `invalid name "${name}": a lowercase RFC 1123 subdomain is required (letters, digits, '-', '.'; at most 253)` });
  const ns = md['namespace'];
  if (ns === undefined) out.push({ severity: 'warning', layer: 'lint', path: 'metadata.namespace', message: 'metadata.namespace is missing: the resource lands in whatever namespace kubectl targets (istioctl assumes "default")' });
  else if (typeof ns !== 'string' || !isDns1123Label(ns)) out.push({ severity: 'error', layer: 'istio', path: 'metadata.namespace', message: `invalid namespace ${JSON.stringify(ns)}: a DNS-1123 label is required` });
  for (const field of ['labels', 'annotations'] as const) {
    const m = md[field];
    if (m === undefined) continue;
    if (!isObj(m)) {
      out.push({ severity: 'error', layer: 'istio', path: `metadata.${field}`, message: `metadata.${field} must be a map of strings` });
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (!isQualifiedName(k)) out.push({ severity: 'error', layer: 'istio', path: `metadata.${field}[${k}]`, message: `invalid ${field === 'labels' ? 'label' : 'annotation'} key "${k}"` });
      if (typeof v !== 'string') out.push({ severity: 'error', layer: 'istio', path: `metadata.${field}[${k}]`, message: `${field} values must be strings` });
      else if (field === 'labels' && !isLabelValue(v)) out.push({ severity: 'error', layer: 'istio', path: `metadata.labels[${k}]`, message: `invalid label value "${v}"` });
    }
  }
  const ann = isObj(md['annotations']) ? md['annotations'] : {};
  for (const k of ['internal.istio.io/webhook-always-reject', 'internal.istio.io/parent-namespace', 'internal.istio.io/parents']) {
    if (k in ann) out.push({ severity: 'error', layer: 'istio', path: `metadata.annotations[${k}]`, message: `annotation ${k} is internal to Istio and is rejected` });
  }
  const dry = ann['istio.io/dry-run'];
  if (dry !== undefined) {
    if (doc['kind'] !== 'AuthorizationPolicy') out.push({ severity: 'error', layer: 'istio', path: 'metadata.annotations[istio.io/dry-run]', message: 'the istio.io/dry-run annotation is only supported on AuthorizationPolicy' });
    else {
      const action = isObj(doc['spec']) && typeof doc['spec']['action'] === 'string' ? doc['spec']['action'] : 'ALLOW';
      if (action !== 'ALLOW' && action !== 'DENY') out.push({ severity: 'error', layer: 'istio', path: 'metadata.annotations[istio.io/dry-run]', message: `the istio.io/dry-run annotation only supports action ALLOW or DENY, found ${action}` });
      if (typeof dry !== 'string' || !['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(dry)) out.push({ severity: 'error', layer: 'istio', path: 'metadata.annotations[istio.io/dry-run]', message: `istio.io/dry-run has invalid value ${JSON.stringify(dry)} (a boolean is required)` });
    }
  }
  return out;
}

/** `ValidatePeerAuthentication` plus lints. */
export function peerAuthenticationFindings(spec: Obj): RuleFinding[] {
  const out: RuleFinding[] = [];
  selectorFindings(spec['selector'], 'spec.selector', 'matchLabels', out);
  const sel = spec['selector'];
  const hasLabels = isObj(sel) && isObj(sel['matchLabels']) && Object.keys(sel['matchLabels']).length > 0;
  const plm = spec['portLevelMtls'];
  if (plm !== undefined && plm !== null) {
    if (!hasLabels) out.push({ severity: 'error', layer: 'istio', path: 'spec.portLevelMtls', message: 'mesh/namespace peer authentication cannot have port level mTLS' });
    if (!isObj(plm) || Object.keys(plm).length === 0) out.push({ severity: 'error', layer: 'istio', path: 'spec.portLevelMtls', message: 'port level mTLS must not be empty' });
    else {
      for (const k of Object.keys(plm)) {
        if (!/^[0-9]+$/u.test(k) || Number(k) < 1 || Number(k) > 65535) out.push({ severity: 'error', layer: 'istio', path: `spec.portLevelMtls[${k}]`, message: `port ${JSON.stringify(k)} must be in the range 1..65535` });
      }
    }
  }
  const mode = isObj(spec['mtls']) ? spec['mtls']['mode'] : undefined;
  if (!hasLabels && mode === 'DISABLE') out.push({ severity: 'warning', layer: 'lint', path: 'spec.mtls.mode', message: 'a namespace- or mesh-wide PeerAuthentication with DISABLE turns mTLS off for every workload in scope' });
  return out;
}

const SOURCE_FIELDS = ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains'];
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'];
const HTTP_WHEN_PREFIXES = ['request.'];
const CUSTOM_UNSUPPORTED_SOURCE = ['namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains', 'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals'];
const CUSTOM_UNSUPPORTED_WHEN = ['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'];
const PATH_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/u;

/** Istio's `CheckValidPathTemplate` for one path; undefined when valid. */
export function pathTemplateError(path: string): string | undefined {
  const hasTemplate = path.includes('{*}') || path.includes('{**}');
  let anySeen = false;
  for (const glob of path.replace(/^\/+|\/+$/gu, '').split('/')) {
    if (glob === '{*}' && !anySeen) continue;
    if (glob === '{**}' && !anySeen) {
      anySeen = true;
      continue;
    }
    if ((glob === '{**}' || glob === '{*}') && anySeen) return `invalid or unsupported path ${path}: {**} is not the last operator`;
    if (/[{}]/u.test(glob)) return `invalid or unsupported path ${path}: contains '{' or '}' beyond a supported path template`;
    if (hasTemplate && !PATH_LITERAL.test(glob)) return `invalid or unsupported path ${path}: contains segment "${glob}" with invalid string literal`;
  }
  return undefined;
}

function trustDomainError(v: string): string | undefined {
  if (v.includes('/')) return `trust domain "${v}" must not contain '/'`;
  const stars = (v.match(/\*/gu) ?? []).length;
  if (stars > 1) return `trust domain "${v}" may contain at most one wildcard`;
  if (stars === 1 && !v.startsWith('*') && !v.endsWith('*')) return `wildcard in trust domain "${v}" is only allowed at the start or the end`;
  return undefined;
}

function serviceAccountErrors(values: string[], key: string): string[] {
  const errs: string[] = [];
  if (values.length > 16) errs.push(`${key} may not have more than 16 values`);
  for (const v of values) {
    if (v === '') errs.push(`empty value not allowed, found in ${key}`);
    else if (v.includes('*')) errs.push(`wildcard not allowed, found in ${key}`);
    else if ((v.match(/\//gu) ?? []).length > 1) errs.push(`expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}" in ${key}`);
    else if (v.length > 320) errs.push(`value cannot exceed 320 characters, found in ${key}`);
    else if (v.startsWith('/') || v.endsWith('/')) errs.push(`expected format 'serviceAccount' or 'namespace/serviceAccount', found "${v}" in ${key}`);
  }
  return errs;
}

function portErrors(values: string[]): string[] {
  return values.filter((p) => !/^[0-9]+$/u.test(p) || Number(p) > 65535).map((p) => `bad port (${p})`);
}

function attributeError(key: string, values: string[]): string | undefined {
  const mapKey = (): string | undefined => {
    const open = key.indexOf('[');
    return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `bad key (${key}): should have format a[b]`;
  };
  if (key.startsWith('request.headers') || key.startsWith('request.experimental.inline.headers') || key.startsWith('request.auth.claims') || key.startsWith('experimental.envoy.filters.')) return mapKey();
  if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') return values.map(ipOrCidrError).find((e) => e !== undefined);
  if (key === 'source.serviceAccount') return serviceAccountErrors(values, key)[0];
  if (key === 'destination.port') return portErrors(values)[0];
  if (key === 'source.trustDomain') return values.map(trustDomainError).find((e) => e !== undefined);
  if (['source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni'].includes(key)) return undefined;
  if (key === 'destination.namespace') return `attribute ${key} is replaced by the metadata.namespace`;
  if (key.startsWith('destination.labels')) return `attribute ${key} is replaced by the workload selector`;
  if (key === 'destination.name' || key === 'destination.user') return `deprecated attribute ${key}: only supported in v1alpha1`;
  return `unknown attribute: ${key}`;
}

/** Lint of one principal value as Envoy will match it (`spiffe://` + value). */
export function principalLint(v: string): { severity: 'error' | 'warning'; message: string } | undefined {
  if (v.startsWith('spiffe://')) return { severity: 'error', message: `principal "${v}" starts with spiffe://: Istio prepends spiffe:// itself, so this value can never match; write "${v.slice('spiffe://'.length)}"` };
  const inner = v.length > 2 ? v.slice(1, -1) : '';
  if (inner.includes('*')) return { severity: 'error', message: `principal "${v}" has a '*' in the middle: Envoy matches it literally, so it will not act as a wildcard` };
  if (v !== '*' && !v.startsWith('*') && !v.endsWith('*') && !/^[^/]+\/ns\/[^/]+\/sa\/[^/]+$/u.test(v)) return { severity: 'warning', message: `principal "${v}" is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>` };
  return undefined;
}

/** `ValidateAuthorizationPolicy` plus lints (principal format, lower-case methods, relative paths). */
export function authorizationPolicyFindings(spec: Obj): RuleFinding[] {
  const out: RuleFinding[] = [];
  const e = (path: string, message: string): void => void out.push({ severity: 'error', layer: 'istio', path, message });
  const w = (path: string, message: string): void => void out.push({ severity: 'warning', layer: 'istio', path, message });
  const selectors = ['selector', 'targetRef', 'targetRefs'].filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (selectors.length > 1) e('spec', `only one of ${selectors.join(', ')} may be set`);
  selectorFindings(spec['selector'], 'spec.selector', 'matchLabels', out);
  const refs = [...(isObj(spec['targetRef']) ? [spec['targetRef']] : []), ...(Array.isArray(spec['targetRefs']) ? spec['targetRefs'] : [])];
  refs.forEach((r, i) => {
    if (!isObj(r)) return;
    const path = spec['targetRef'] === r ? 'spec.targetRef' : `spec.targetRefs[${i - (isObj(spec['targetRef']) ? 1 : 0)}]`;
    if (typeof r['name'] !== 'string' || r['name'] === '') e(`${path}.name`, 'targetRef name is required');
    if (typeof r['namespace'] === 'string' && r['namespace'] !== '') e(`${path}.namespace`, 'cross namespace referencing is not currently supported');
    const gk = `${typeof r['group'] === 'string' ? r['group'] : ''}/${String(r['kind'])}`;
    if (!['/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'].includes(gk)) e(`${path}.kind`, `targetRef must be a Service, ServiceEntry, Gateway or GatewayClass, found ${gk}`);
  });
  const action = typeof spec['action'] === 'string' ? spec['action'] : 'ALLOW';
  const rulesRaw = spec['rules'];
  const provider = spec['provider'];
  if (action === 'CUSTOM') {
    if (rulesRaw === undefined || rulesRaw === null) e('spec.rules', 'CUSTOM action without rules is meaningless; add an empty rule `{}` to apply the provider to every request');
    if (!isObj(provider) || typeof provider['name'] !== 'string' || provider['name'] === '') e('spec.provider.name', 'CUSTOM action requires a provider name');
  } else if (provider !== undefined && provider !== null) e('spec.provider', `provider is only supported with action CUSTOM, found ${action}`);
  if ((action === 'DENY' || action === 'AUDIT') && (rulesRaw === undefined || rulesRaw === null)) e('spec.rules', `${action} action without rules is meaningless; add an empty rule \`{}\` to ${action === 'DENY' ? 'deny' : 'audit'} every request`);
  if (rulesRaw === undefined || rulesRaw === null) return out;
  if (!Array.isArray(rulesRaw)) return out; // schema layer reports the type
  rulesRaw.forEach((rule, ri) => {
    const rp = `spec.rules[${ri}]`;
    if (!isObj(rule)) return e(rp, 'rule must not be null');
    const from = rule['from'];
    const to = rule['to'];
    if (Array.isArray(from) && from.length === 0) e(`${rp}.from`, '`from` must not be empty (omit it to match any source)');
    if (Array.isArray(to) && to.length === 0) e(`${rp}.to`, '`to` must not be empty (omit it to match any operation)');
    let httpOnly = false;
    (Array.isArray(from) ? from : []).forEach((f, fi) => {
      const fp = `${rp}.from[${fi}]`;
      if (!isObj(f) || !isObj(f['source'])) return e(`${fp}.source`, '`from.source` must not be null');
      const s = f['source'];
      if (!SOURCE_FIELDS.some((k) => s[k] !== undefined)) e(`${fp}.source`, '`from.source` must not be empty');
      if ((s['serviceAccounts'] !== undefined || s['notServiceAccounts'] !== undefined) && ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((k) => s[k] !== undefined)) e(`${fp}.source`, 'Cannot set serviceAccounts with namespaces or principals');
      if (s['requestPrincipals'] !== undefined || s['notRequestPrincipals'] !== undefined) httpOnly = true;
      for (const k of SOURCE_FIELDS) {
        const vals = strs(s[k]);
        if (vals.includes('')) e(`${fp}.source.${k}`, `empty value not allowed, found in ${k}`);
        if (action === 'CUSTOM' && CUSTOM_UNSUPPORTED_SOURCE.includes(k) && s[k] !== undefined) e(`${fp}.source.${k}`, `${k} is not supported with CUSTOM action`);
      }
      for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) for (const v of strs(s[k])) if (v !== '') { const err = ipOrCidrError(v); if (err !== undefined) e(`${fp}.source.${k}`, err); }
      for (const k of ['serviceAccounts', 'notServiceAccounts']) for (const err of serviceAccountErrors(strs(s[k]), k)) e(`${fp}.source.${k}`, err);
      for (const k of ['trustDomains', 'notTrustDomains']) for (const v of strs(s[k])) { const err = trustDomainError(v); if (err !== undefined) e(`${fp}.source.${k}`, err); }
      for (const k of ['principals', 'notPrincipals']) for (const v of strs(s[k])) { const l = principalLint(v); if (l !== undefined) out.push({ severity: l.severity, layer: 'lint', path: `${fp}.source.${k}`, message: l.message }); }
    });
    let allOpsHavePorts = Array.isArray(to) && to.length > 0;
    (Array.isArray(to) ? to : []).forEach((t, ti) => {
      const tp = `${rp}.to[${ti}]`;
      if (!isObj(t) || !isObj(t['operation'])) {
        allOpsHavePorts = false;
        return e(`${tp}.operation`, '`to.operation` must not be null');
      }
      const o = t['operation'];
      if (!OPERATION_FIELDS.some((k) => o[k] !== undefined)) e(`${tp}.operation`, '`to.operation` must not be empty');
      if (o['ports'] === undefined && o['notPorts'] === undefined) allOpsHavePorts = false;
      if (['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'].some((k) => o[k] !== undefined)) httpOnly = true;
      for (const k of OPERATION_FIELDS) if (strs(o[k]).includes('')) e(`${tp}.operation.${k}`, `empty value not allowed, found in ${k}`);
      for (const k of ['ports', 'notPorts']) for (const err of portErrors(strs(o[k]))) e(`${tp}.operation.${k}`, err);
      for (const k of ['paths', 'notPaths'])
        for (const p of strs(o[k])) {
          const err = pathTemplateError(p);
          if (err !== undefined) e(`${tp}.operation.${k}`, err);
          if (p !== '' && !p.startsWith('/') && !p.startsWith('*')) out.push({ severity: 'warning', layer: 'lint', path: `${tp}.operation.${k}`, message: `path "${p}" does not start with '/': it can only match a suffix or nothing` });
        }
      for (const k of ['methods', 'notMethods']) for (const m of strs(o[k])) if (m !== m.toUpperCase()) out.push({ severity: 'warning', layer: 'lint', path: `${tp}.operation.${k}`, message: `method "${m}" is not upper case: methods match case-sensitively` });
    });
    const when = rule['when'];
    (Array.isArray(when) ? when : []).forEach((c, ci) => {
      const cp = `${rp}.when[${ci}]`;
      if (!isObj(c)) return e(cp, 'condition must not be null');
      const key = typeof c['key'] === 'string' ? c['key'] : '';
      if (key === '') return e(`${cp}.key`, 'key of the condition must not be empty');
      const vals = [...strs(c['values']), ...strs(c['notValues'])];
      if (c['values'] === undefined && c['notValues'] === undefined) e(cp, `at least one of values or notValues must be set for key ${key}`);
      if (vals.includes('')) e(cp, `empty value not allowed, found in ${key}`);
      const err = attributeError(key, vals);
      if (err !== undefined) e(`${cp}.key`, err);
      if (action === 'CUSTOM' && (CUSTOM_UNSUPPORTED_WHEN.includes(key) || key.startsWith('request.auth.'))) e(`${cp}.key`, `when key ${key} is not supported with CUSTOM action`);
      if (HTTP_WHEN_PREFIXES.some((p) => key.startsWith(p))) httpOnly = true;
    });
    // An HTTP-only DENY rule is turned into deny-all on every TCP port in scope (Istio warns); a
    // DENY rule must therefore name its ports.
    if (action === 'DENY' && httpOnly && !allOpsHavePorts) w(rp, 'DENY rule uses HTTP attributes without ports: on TCP ports this rule will deny all traffic under its scope; specify the ports (to.operation.ports) it is meant for');
  });
  return out;
}

/** `ValidateDestinationRule` (host, trafficPolicy, TLS, port-level settings, subsets, exportTo, selector). */
export function destinationRuleFindings(spec: Obj, namespace: string | undefined): RuleFinding[] {
  const out: RuleFinding[] = [];
  const e = (path: string, message: string): void => void out.push({ severity: 'error', layer: 'istio', path, message });
  const host = typeof spec['host'] === 'string' ? spec['host'] : '';
  const he = wildcardDomainError(host);
  if (he !== undefined) e('spec.host', he);
  const tlsFindings = (tls: unknown, path: string): void => {
    if (!isObj(tls)) return;
    const mode = tls['mode'];
    const files = ['clientCertificate', 'privateKey', 'caCertificates'].filter((k) => typeof tls[k] === 'string' && tls[k] !== '');
    if (mode === 'ISTIO_MUTUAL' && (files.length > 0 || tls['credentialName'] !== undefined)) out.push({ severity: 'warning', layer: 'lint', path, message: `with ISTIO_MUTUAL the other certificate fields (${[...files, ...(tls['credentialName'] !== undefined ? ['credentialName'] : [])].join(', ')}) must be empty: Istio uses its own certificates` });
    if ((mode === 'SIMPLE' || mode === 'MUTUAL') && typeof tls['credentialName'] === 'string' && tls['credentialName'] !== '' && files.length > 0) e(path, 'cannot specify client certificates or CA certificate when credentialName is set');
    if (mode === 'MUTUAL' && (tls['credentialName'] === undefined || tls['credentialName'] === '') && (tls['clientCertificate'] === undefined || tls['privateKey'] === undefined)) e(path, 'client certificate and private key are required for mutual TLS');
    if (mode === 'DISABLE') out.push({ severity: 'warning', layer: 'lint', path: `${path}.mode`, message: 'tls mode DISABLE sends plaintext to this host: it fails against a STRICT server' });
  };
  const policy = (tp: unknown, path: string): void => {
    if (tp === undefined || tp === null) return;
    if (!isObj(tp) || Object.keys(tp).length === 0) return e(path, 'trafficPolicy must have at least one field');
    if (tp['tunnel'] !== undefined && tp['proxyProtocol'] !== undefined) e(path, 'tunnel and proxyProtocol cannot be set together');
    tlsFindings(tp['tls'], `${path}.tls`);
    const pls = tp['portLevelSettings'];
    (Array.isArray(pls) ? pls : []).forEach((p, i) => {
      const pp = `${path}.portLevelSettings[${i}]`;
      if (!isObj(p)) return e(pp, 'port level setting must not be null');
      if (!isObj(p['port']) || typeof p['port']['number'] !== 'number') e(`${pp}.port`, 'port is required');
      if (!['outlierDetection', 'connectionPool', 'loadBalancer', 'tls'].some((k) => p[k] !== undefined)) e(pp, 'port level setting must have at least one of outlierDetection, connectionPool, loadBalancer or tls');
      tlsFindings(p['tls'], `${pp}.tls`);
    });
  };
  policy(spec['trafficPolicy'], 'spec.trafficPolicy');
  const names = new Set<string>();
  (Array.isArray(spec['subsets']) ? spec['subsets'] : []).forEach((s, i) => {
    const sp = `spec.subsets[${i}]`;
    if (!isObj(s)) return e(sp, 'subset must not be null');
    const n = typeof s['name'] === 'string' ? s['name'] : '';
    if (!isDns1123Label(n)) e(`${sp}.name`, `subset name "${n}" must be a DNS-1123 label`);
    if (names.has(n)) e(`${sp}.name`, `duplicate subset name "${n}"`);
    names.add(n);
    policy(s['trafficPolicy'], `${sp}.trafficPolicy`);
  });
  const exportTo = strs(spec['exportTo']);
  const seen = new Set<string>();
  for (const x of exportTo) {
    const norm = x === '.' && namespace !== undefined ? namespace : x;
    if (seen.has(norm)) e('spec.exportTo', `duplicate entry in exportTo: "${x}"`);
    seen.add(norm);
    if (x === '~') e('spec.exportTo', 'exportTo "~" is not allowed for DestinationRule');
    else if (x !== '.' && x !== '*' && !isDns1123Label(x)) e('spec.exportTo', `invalid exportTo namespace "${x}"`);
  }
  if (exportTo.includes('*') && exportTo.length > 1) e('spec.exportTo', 'exportTo "*" must be the only entry');
  selectorFindings(spec['workloadSelector'], 'spec.workloadSelector', 'matchLabels', out);
  if (spec['workloadSelector'] !== undefined && exportTo.some((x) => x !== '.' && x !== namespace)) e('spec.exportTo', 'a DestinationRule with a workloadSelector can only be exported to its own namespace');
  return out;
}

const PROTOCOLS = ['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql'];

/** `ValidateSidecar` plus lints (`*` egress, ALLOW_ANY). */
export function sidecarFindings(spec: Obj): RuleFinding[] {
  const out: RuleFinding[] = [];
  const e = (path: string, message: string): void => void out.push({ severity: 'error', layer: 'istio', path, message });
  const w = (path: string, message: string, layer: 'istio' | 'lint' = 'istio'): void => void out.push({ severity: 'warning', layer, path, message });
  selectorFindings(spec['workloadSelector'], 'spec.workloadSelector', 'labels', out);
  if (!['egress', 'ingress', 'outboundTrafficPolicy', 'inboundConnectionPool'].some((k) => spec[k] !== undefined && spec[k] !== null)) e('spec', 'sidecar: empty configuration provided');
  const ingress = Array.isArray(spec['ingress']) ? spec['ingress'] : [];
  const ingressPorts = new Set<number>();
  ingress.forEach((i, n) => {
    const ip = `spec.ingress[${n}]`;
    if (!isObj(i)) return e(ip, 'ingress listener must not be null');
    const port = i['port'];
    if (!isObj(port)) return e(`${ip}.port`, 'sidecar: ingress listener port is required');
    const num = port['number'];
    if (typeof num !== 'number' || num < 1 || num > 65535) e(`${ip}.port.number`, `port number ${String(num)} must be in the range 1..65535`);
    else if (ingressPorts.has(num)) e(`${ip}.port.number`, `sidecar: ports on IP bound listeners must be unique (${num})`);
    else ingressPorts.add(num);
    if (typeof port['protocol'] !== 'string' || !PROTOCOLS.includes(port['protocol'].toLowerCase())) e(`${ip}.port.protocol`, `unrecognized protocol ${JSON.stringify(port['protocol'])}`);
    if (typeof port['name'] === 'string' && !isDns1123Label(port['name'])) e(`${ip}.port.name`, `invalid port name "${port['name']}"`);
    if (port['targetPort'] !== undefined) e(`${ip}.port.targetPort`, 'targetPort has no impact on Sidecars');
  });
  const egress = Array.isArray(spec['egress']) ? spec['egress'] : [];
  let catchAll = 0;
  const egressPorts = new Set<number>();
  egress.forEach((l, n) => {
    const lp = `spec.egress[${n}]`;
    if (!isObj(l)) return e(lp, 'egress listener must not be null');
    const port = l['port'];
    if (port === undefined || port === null) {
      catchAll++;
      if (catchAll > 1) e(lp, 'sidecar: the egress can have at most one catch-all listener (without a port)');
      else if (n !== egress.length - 1) e(lp, 'sidecar: the catch-all egress listener (without a port) must be the last listener');
    } else if (isObj(port)) {
      const num = port['number'];
      if (typeof num !== 'number' || num < 0 || num > 65535) e(`${lp}.port.number`, `port number ${String(num)} must be in the range 1..65535`);
      else if (num === 0 && !(typeof l['bind'] === 'string' && l['bind'].startsWith('unix://'))) e(`${lp}.port.number`, 'port 0 is only valid with a unix:// bind');
      else if (egressPorts.has(num)) e(`${lp}.port.number`, `sidecar: ports on IP bound listeners must be unique (${num})`);
      else egressPorts.add(num);
      if (port['targetPort'] !== undefined) e(`${lp}.port.targetPort`, 'targetPort has no impact on Sidecars');
    }
    const hosts = strs(l['hosts']);
    if (hosts.length === 0) e(`${lp}.hosts`, 'sidecar: egress listener must contain at least one host');
    const seen = new Set<string>();
    hosts.forEach((h, hi) => {
      for (const err of sidecarHostErrors(h)) e(`${lp}.hosts[${hi}]`, err);
      if (seen.has(h)) w(`${lp}.hosts[${hi}]`, `duplicated egress host "${h}"`);
      seen.add(h);
    });
    if (hosts.includes('*/*') && hosts.length > 1) w(`${lp}.hosts`, '"*/*" already includes every other host');
    if (hosts.includes('*/*')) w(`${lp}.hosts`, 'egress "*/*" does not restrict egress at all', 'lint');
  });
  const otp = spec['outboundTrafficPolicy'];
  if (isObj(otp)) {
    if (otp['egressProxy'] !== undefined && otp['mode'] !== 'ALLOW_ANY') e('spec.outboundTrafficPolicy.egressProxy', 'egress proxy is only supported with mode ALLOW_ANY');
    if (otp['mode'] === 'ALLOW_ANY') w('spec.outboundTrafficPolicy.mode', 'ALLOW_ANY lets the workload reach any destination outside the registry', 'lint');
  }
  return out;
}
