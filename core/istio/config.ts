/**
 * @module istio/config
 * The generator's configuration (`--config FILE`, YAML): trust domain, root namespace, excluded
 * namespaces, path generalisation, admin paths to deny, essential egress hosts, exception limits,
 * selector label preferences and input limits. Strict: unknown keys are errors, and every problem
 * is reported at once with its dotted path and line.
 *
 * Must never: read files (the caller passes the text), or fill a default that weakens security
 * silently (every default is listed in docs/istio.md).
 */
import { z } from 'zod';

import { CoreError, formatProblems } from '../errors.ts';
import { parseYamlSourced, zodProblems } from './yaml-source.ts';

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/u;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/u;
const label = z.string().max(63).regex(DNS_LABEL, 'must be a DNS-1123 label (lower case letters, digits, -)');

const PathsSchema = z.strictObject({
  /** `generalise` (IDs become `{*}`), `exact` (paths as observed), `none` (no path restriction). */
  mode: z.enum(['generalise', 'exact', 'none']).default('generalise'),
  /** Distinct paths kept per (principal, workload, port, method) before the operation allows any path. */
  maxPerOperation: z.number().int().min(1).max(10000).default(32),
  /** Extra regular expressions (whole segment) whose matches become `{*}`. */
  idSegmentPatterns: z
    .array(z.string().min(1))
    .default([])
    .superRefine((list, ctx) => {
      list.forEach((p, i) => {
        try {
          new RegExp(`^(?:${p})$`, 'u');
        } catch {
          ctx.addIssue({ code: 'custom', path: [i], message: `not a valid regular expression: ${p}` });
        }
      });
    }),
  /** Paths longer than this are cut to their first segment plus `*`. */
  maxLength: z.number().int().min(16).max(65536).default(2048),
});

const AdminSchema = z.strictObject({
  /** Istio path patterns denied on every HTTP port (exact, `prefix*`, `*suffix`, templates). */
  paths: z.array(z.string().min(1)).default(['/admin', '/admin/*', '/debug/*', '/actuator', '/actuator/*']),
  /** Principals (`td/ns/NS/sa/SA`) still allowed to reach admin paths (e.g. an operator console). */
  exceptPrincipals: z.array(z.string().min(1)).default([]),
});

const LimitsSchema = z.strictObject({
  /** Longest accepted input line (bytes); longer lines are counted as malformed, never buffered. */
  maxLineBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /** Distinct evidence tuples allowed before the run stops with ERR_INPUT_TOO_LARGE. */
  maxTuples: z.number().int().min(1000).max(50_000_000).default(5_000_000),
  /** Malformed records listed by line number in the report (all are counted). */
  malformedExamples: z.number().int().min(0).max(100_000).default(100),
  /** Largest inventory file (bytes). */
  maxInventoryBytes: z.number().int().min(1024).default(512 * 1024 * 1024),
});

const ConfigSchema = z.strictObject({
  /** SPIFFE trust domain of the mesh; principals are `<trustDomain>/ns/<ns>/sa/<sa>`. */
  trustDomain: z.string().min(1).max(255).regex(TRUST_DOMAIN, 'must be a trust domain name (lower case letters, digits, ., -, _)').default('cluster.local'),
  /** Other trust domains whose observed peers may be allowed (federation); others are skipped. */
  federatedTrustDomains: z.array(z.string().regex(TRUST_DOMAIN)).default([]),
  /** Kubernetes cluster DNS domain (service FQDNs are `svc.ns.svc.<clusterDomain>`). */
  clusterDomain: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/u).default('cluster.local'),
  /** Istio's root namespace (meshConfig.rootNamespace): mesh-wide policies live here. */
  rootNamespace: label.default('istio-system'),
  /** Namespace of istiod (the `cacerts` Secret goes here). */
  istiodNamespace: label.default('istio-system'),
  /** Namespaces that get no generated policies (the control plane, Kubernetes system). */
  excludeNamespaces: z.array(label).default(['istio-system', 'kube-system', 'kube-public', 'kube-node-lease']),
  paths: PathsSchema.default(PathsSchema.parse({})),
  adminPaths: AdminSchema.default(AdminSchema.parse({})),
  /** Sidecar egress hosts every workload keeps (`namespace/dnsName`); default: istio-system and kube-dns. */
  essentialEgressHosts: z.array(z.string().min(3)).optional(),
  /** Extra Sidecar egress hosts per namespace (e.g. ServiceEntry hosts). */
  namespaceEgressHosts: z.record(label, z.array(z.string().min(3))).default({}),
  /** Longest allowed lifetime of an mTLS exception, from `now`. */
  maxExceptionDays: z.number().int().min(1).max(366).default(90),
  /** Label keys tried first when choosing the smallest unique workload selector. */
  selectorLabelPreference: z.array(z.string().min(1)).default(['app.kubernetes.io/name', 'app', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'version']),
  /** Pod labels never used in selectors (they change with every rollout or are set by Istio). */
  ignoredSelectorLabels: z
    .array(z.string().min(1))
    .default([
      'pod-template-hash',
      'controller-revision-hash',
      'pod-template-generation',
      'statefulset.kubernetes.io/pod-name',
      'apps.kubernetes.io/pod-index',
      'security.istio.io/tlsMode',
      'service.istio.io/canonical-name',
      'service.istio.io/canonical-revision',
      'batch.kubernetes.io/controller-uid',
      'batch.kubernetes.io/job-name',
      'controller-uid',
      'job-name',
    ]),
  limits: LimitsSchema.default(LimitsSchema.parse({})),
});

/** The generator configuration with every default filled in. */
export type IstioConfig = z.infer<typeof ConfigSchema> & { essentialEgressHosts: string[] };

/** The configuration when no file is given. */
export function defaultConfig(): IstioConfig {
  return withDerived(ConfigSchema.parse({}));
}

function withDerived(c: z.infer<typeof ConfigSchema>): IstioConfig {
  return { ...c, essentialEgressHosts: c.essentialEgressHosts ?? [`${c.rootNamespace}/*`, `kube-system/kube-dns.kube-system.svc.${c.clusterDomain}`] };
}

/**
 * Parses a configuration file (YAML or JSON). An empty file means all defaults.
 * @throws {CoreError} ERR_ISTIO_CONFIG_INVALID listing every problem with its path and line.
 */
export function parseConfig(text: string, file: string): IstioConfig {
  const src = parseYamlSourced(text, file, 'ERR_ISTIO_CONFIG_INVALID');
  const r = ConfigSchema.safeParse(src.value ?? {});
  if (!r.success) {
    const problems = zodProblems(r.error, src);
    throw new CoreError('ERR_ISTIO_CONFIG_INVALID', `${file}: the Istio generator configuration is invalid:\n${formatProblems(problems)}`, { details: { file, problems } });
  }
  return withDerived(r.data);
}
