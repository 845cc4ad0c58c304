/**
 * @module istio/validate
 * Validates Istio manifests the way a cluster would, layer by layer: YAML; the CRD schema and CEL
 * rules (`crd-schema.ts`, when the CRDs are available); istiod's webhook rules and our lints
 * (`semantic.ts`); the `cacerts` Secret (certificate keys only, never a private key); and rules
 * across documents (one namespace-wide PeerAuthentication and one selector-less Sidecar per
 * namespace, Sidecars with identical selectors, duplicate resources in one file). Documents are
 * taken in apply order: a later document with the same identity replaces an earlier one, as
 * `kubectl apply` of the rollout folders in order does.
 *
 * Must never: report a document valid because a layer was skipped (a missing CRD set is stated by
 * the caller), or stop at the first problem.
 */
import { containsPrivateKey, CACERTS_KEYS } from './cacerts.ts';
import type { CrdSchemaSet } from './crd-schema.ts';
import { cmp } from './model.ts';
import { authorizationPolicyFindings, destinationRuleFindings, metadataFindings, peerAuthenticationFindings, sidecarFindings, type RuleFinding } from './semantic.ts';

/** A document as loaded from a file (or generated), with its source position. */
export interface ManifestDoc {
  file: string;
  /** 1-based line where the document starts. */
  line: number;
  /** Index of the document in its file. */
  index: number;
  value: unknown;
  /** Set when the YAML of this document could not be parsed. */
  error?: string;
}

/** One validation finding, located. */
export interface ValidationFinding {
  severity: 'error' | 'warning';
  layer: 'yaml' | 'schema' | 'cel' | 'list' | 'istio' | 'lint' | 'x-doc' | 'secret';
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  path: string;
  message: string;
}

type Obj = Record<string, unknown>;
function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Identity of a resource: group/kind, namespace, name. */
export function identityOf(doc: Obj): { kind: string; group: string; namespace: string; name: string } {
  const md = isObj(doc['metadata']) ? doc['metadata'] : {};
  const apiVersion = typeof doc['apiVersion'] === 'string' ? doc['apiVersion'] : '';
  const slash = apiVersion.lastIndexOf('/');
  return { kind: typeof doc['kind'] === 'string' ? doc['kind'] : '', group: slash < 0 ? '' : apiVersion.slice(0, slash), namespace: typeof md['namespace'] === 'string' ? md['namespace'] : 'default', name: typeof md['name'] === 'string' ? md['name'] : '' };
}

function secretFindings(doc: Obj): RuleFinding[] {
  const out: RuleFinding[] = [];
  const name = isObj(doc['metadata']) ? doc['metadata']['name'] : undefined;
  if (doc['type'] !== undefined && doc['type'] !== 'Opaque') out.push({ severity: 'error', layer: 'istio', path: 'type', message: `istiod reads the plug-in CA from an Opaque Secret, found type ${JSON.stringify(doc['type'])}` });
  for (const field of ['data', 'stringData'] as const) {
    const m = doc[field];
    if (m === undefined) continue;
    if (!isObj(m)) {
      out.push({ severity: 'error', layer: 'istio', path: field, message: `${field} must be a map` });
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') {
        out.push({ severity: 'error', layer: 'istio', path: `${field}[${k}]`, message: 'values must be strings' });
        continue;
      }
      if (field === 'data' && !/^[A-Za-z0-9+/]*={0,2}$/u.test(v)) out.push({ severity: 'error', layer: 'istio', path: `data[${k}]`, message: 'data values must be base64' });
      const text = field === 'data' ? Buffer.from(v, 'base64').toString('latin1') : v;
      if (containsPrivateKey(text) || k === 'ca-key.pem' || k === 'tls.key') out.push({ severity: 'error', layer: 'lint', path: `${field}[${k}]`, message: `private key material (${k}): NEAM CA manifests never carry a private key; istiod's key is added to the Secret on the cluster side` });
      else if (name === 'cacerts' && !(CACERTS_KEYS as readonly string[]).includes(k)) out.push({ severity: 'error', layer: 'istio', path: `${field}[${k}]`, message: `unexpected key ${k} in cacerts (expected ${CACERTS_KEYS.join(', ')})` });
    }
  }
  return out;
}

/**
 * Validates documents one by one and across documents. With `crds` undefined the schema layer is
 * not run (the caller must say so to the user).
 */
export function validateDocuments(docs: readonly ManifestDoc[], crds: CrdSchemaSet | undefined): ValidationFinding[] {
  const out: ValidationFinding[] = [];
  const state = new Map<string, { doc: Obj; at: ManifestDoc }>();
  const inFile = new Map<string, ManifestDoc>();
  for (const d of docs) {
    const base = { file: d.file, line: d.line, kind: '', namespace: '', name: '' };
    if (d.error !== undefined) {
      out.push({ ...base, severity: 'error', layer: 'yaml', path: '', message: d.error });
      continue;
    }
    if (d.value === null || d.value === undefined) continue;
    if (!isObj(d.value)) {
      out.push({ ...base, severity: 'error', layer: 'yaml', path: '', message: 'a manifest document must be a map (apiVersion, kind, metadata, spec)' });
      continue;
    }
    const doc = d.value;
    const id = identityOf(doc);
    const at = { ...base, kind: id.kind, namespace: id.namespace, name: id.name };
    for (const k of Object.keys(doc)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status', ...(id.kind === 'Secret' ? ['type', 'data', 'stringData', 'immutable'] : [])].includes(k)) out.push({ ...at, severity: 'error', layer: 'schema', path: k, message: `unknown top-level field "${k}"` });
    }
    if (doc['status'] !== undefined && id.kind !== 'Secret') out.push({ ...at, severity: 'warning', layer: 'lint', path: 'status', message: 'status is written by the cluster; it is ignored on apply' });
    const rules: RuleFinding[] = [...metadataFindings(doc)];
    const spec = isObj(doc['spec']) ? doc['spec'] : {};
    if (id.kind === 'Secret' && doc['apiVersion'] === 'v1') rules.push(...secretFindings(doc));
    else if (id.group.endsWith('istio.io')) {
      if (crds !== undefined) for (const f of crds.validate(doc)) out.push({ ...at, severity: 'error', layer: f.layer, path: f.path, message: f.message });
      if (id.kind === 'PeerAuthentication') rules.push(...peerAuthenticationFindings(spec));
      else if (id.kind === 'AuthorizationPolicy') rules.push(...authorizationPolicyFindings(spec));
      else if (id.kind === 'DestinationRule') rules.push(...destinationRuleFindings(spec, id.namespace));
      else if (id.kind === 'Sidecar') rules.push(...sidecarFindings(spec));
    } else out.push({ ...at, severity: 'warning', layer: 'lint', path: 'kind', message: `${String(doc['apiVersion'])} ${id.kind} is not an Istio resource; only its metadata was checked` });
    for (const r of rules) out.push({ ...at, ...r });
    const key = `${id.group}/${id.kind}/${id.namespace}/${id.name}`;
    const prevInFile = inFile.get(`${d.file}\u0000${key}`);
    if (prevInFile !== undefined) out.push({ ...at, severity: 'error', layer: 'x-doc', path: 'metadata.name', message: `duplicate ${id.kind} ${id.namespace}/${id.name} in the same file (also at line ${prevInFile.line}); the later one silently wins` });
    inFile.set(`${d.file}\u0000${key}`, d);
    state.set(key, { doc, at: d });
  }
  out.push(...crossDocFindings([...state.values()]));
  return out.sort((a, b) => cmp(a.file, b.file) || a.line - b.line || cmp(a.path, b.path) || cmp(a.message, b.message));
}

/** Rules across the final state of a set of documents. */
export function crossDocFindings(docs: ReadonlyArray<{ doc: Obj; at: ManifestDoc }>): ValidationFinding[] {
  const out: ValidationFinding[] = [];
  const nsPa = new Map<string, ManifestDoc>();
  const nsSidecar = new Map<string, ManifestDoc>();
  const sidecarSelectors = new Map<string, { at: ManifestDoc; name: string }>();
  for (const { doc, at } of docs) {
    const id = identityOf(doc);
    const spec = isObj(doc['spec']) ? doc['spec'] : {};
    const base = { file: at.file, line: at.line, kind: id.kind, namespace: id.namespace, name: id.name };
    if (id.kind === 'PeerAuthentication' && id.group === 'security.istio.io') {
      const sel = spec['selector'];
      const labels = isObj(sel) && isObj(sel['matchLabels']) ? Object.keys(sel['matchLabels']) : [];
      if (labels.length === 0) {
        const prev = nsPa.get(id.namespace);
        if (prev !== undefined) out.push({ ...base, severity: 'error', layer: 'x-doc', path: 'spec.selector', message: `a second namespace-wide PeerAuthentication in ${id.namespace} (the other is at ${prev.file}:${prev.line}); Istio uses only the oldest and ignores the rest` });
        else nsPa.set(id.namespace, at);
      }
    }
    if (id.kind === 'Sidecar' && id.group === 'networking.istio.io') {
      const ws = spec['workloadSelector'];
      const labels = isObj(ws) && isObj(ws['labels']) ? ws['labels'] : {};
      if (Object.keys(labels).length === 0) {
        const prev = nsSidecar.get(id.namespace);
        if (prev !== undefined) out.push({ ...base, severity: 'error', layer: 'x-doc', path: 'spec.workloadSelector', message: `a second Sidecar without workloadSelector in ${id.namespace} (the other is at ${prev.file}:${prev.line}); Istio's behaviour is undefined (IST0111)` });
        else nsSidecar.set(id.namespace, at);
      } else {
        const k = `${id.namespace}\u0000${JSON.stringify(Object.entries(labels).sort(([a], [b]) => cmp(a, b)))}`;
        const prev = sidecarSelectors.get(k);
        if (prev !== undefined) out.push({ ...base, severity: 'error', layer: 'x-doc', path: 'spec.workloadSelector', message: `Sidecar ${id.name} selects the same workloads as Sidecar ${prev.name} (IST0110: conflicting Sidecar workload selectors)` });
        else sidecarSelectors.set(k, { at, name: id.name });
      }
    }
  }
  return out;
}

/** Counts of a finding list. */
export function countFindings(fs: readonly ValidationFinding[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const f of fs) if (f.severity === 'error') errors++;
  return { errors, warnings: fs.length - errors };
}

/** One line per finding: `file:line [doc kind ns/name] SEVERITY path: message [layer]`. */
export function formatFinding(f: ValidationFinding): string {
  return `${f.file}:${f.line} ${f.kind === '' ? '' : `${f.kind} ${f.namespace}/${f.name} `}${f.severity.toUpperCase()} ${f.path === '' ? '' : `${f.path}: `}${f.message} [${f.layer}]`;
}
