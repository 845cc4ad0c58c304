import { describe, expect, it } from 'vitest';

import { validateDocuments, type ManifestDoc } from '../../../core/istio/index.ts';
import { authorizationPolicyFindings, destinationRuleFindings, metadataFindings, peerAuthenticationFindings, pathTemplateError, principalLint, sidecarFindings, sidecarHostErrors } from '../../../core/istio/semantic.ts';

type Spec = Record<string, unknown>;
const errorsOf = (fs: Array<{ severity: string; message: string }>): string[] => fs.filter((f) => f.severity === 'error').map((f) => f.message);
const warningsOf = (fs: Array<{ severity: string; message: string }>): string[] => fs.filter((f) => f.severity === 'warning').map((f) => f.message);

describe("Istio's webhook rules for AuthorizationPolicy (tables named by the violated field)", () => {
  const allow = (rules: unknown, extra: Spec = {}): Spec => ({ selector: { matchLabels: { app: 'a' } }, rules, ...extra });
  const cases: Array<{ field: string; spec: Spec; error: RegExp }> = [
    { field: 'selector+targetRef', spec: { selector: { matchLabels: { a: 'b' } }, targetRef: { kind: 'Service', group: '', name: 'x' }, rules: [{}] }, error: /only one of selector, targetRef/u },
    { field: 'targetRef.namespace', spec: { targetRef: { kind: 'Service', group: '', name: 'x', namespace: 'other' } }, error: /cross namespace/u },
    { field: 'targetRef.kind', spec: { targetRef: { kind: 'Deployment', group: 'apps', name: 'x' } }, error: /targetRef must be a Service/u },
    { field: 'selector.matchLabels (wildcard)', spec: { selector: { matchLabels: { app: 'a*' } } }, error: /wildcard is not supported/u },
    { field: 'rules (DENY without rules)', spec: { action: 'DENY', selector: { matchLabels: { a: 'b' } } }, error: /DENY action without rules is meaningless/u },
    { field: 'rules (CUSTOM without rules)', spec: { action: 'CUSTOM', provider: { name: 'ext' } }, error: /CUSTOM action without rules/u },
    { field: 'provider.name', spec: { action: 'CUSTOM', provider: { name: '' }, rules: [{}] }, error: /requires a provider name/u },
    { field: 'provider (not CUSTOM)', spec: { action: 'ALLOW', provider: { name: 'ext' }, rules: [{}] }, error: /provider is only supported with action CUSTOM/u },
    { field: 'rules[0] (null)', spec: allow([null]), error: /rule must not be null/u },
    { field: 'rules[0].from (empty)', spec: allow([{ from: [] }]), error: /`from` must not be empty/u },
    { field: 'rules[0].to (empty)', spec: allow([{ to: [] }]), error: /`to` must not be empty/u },
    { field: 'rules[0].from[0].source (empty)', spec: allow([{ from: [{ source: {} }] }]), error: /`from.source` must not be empty/u },
    { field: 'rules[0].to[0].operation (empty)', spec: allow([{ to: [{ operation: {} }] }]), error: /`to.operation` must not be empty/u },
    { field: 'source.serviceAccounts with principals', spec: allow([{ from: [{ source: { serviceAccounts: ['ns/sa'], principals: ['x'] } }] }]), error: /Cannot set serviceAccounts with namespaces or principals/u },
    { field: 'source.serviceAccounts (wildcard)', spec: allow([{ from: [{ source: { serviceAccounts: ['ns/*'] } }] }]), error: /wildcard not allowed/u },
    { field: 'source.ipBlocks', spec: allow([{ from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }] }]), error: /bad CIDR range/u },
    { field: 'source.principals (empty string)', spec: allow([{ from: [{ source: { principals: [''] } }] }]), error: /empty value not allowed/u },
    { field: 'source.trustDomains (wildcard in the middle)', spec: allow([{ from: [{ source: { trustDomains: ['a*b'] } }] }]), error: /only allowed at the start or the end/u },
    { field: 'operation.ports', spec: allow([{ to: [{ operation: { ports: ['70000'] } }] }]), error: /bad port \(70000\)/u },
    { field: 'operation.paths ({**} not last)', spec: allow([{ to: [{ operation: { paths: ['/{**}/foo/{*}'] } }] }]), error: /\{\*\*\} is not the last operator/u },
    { field: 'operation.paths (text around {*})', spec: allow([{ to: [{ operation: { paths: ['/foo/{*}.txt'] } }] }]), error: /beyond a supported path template/u },
    { field: 'when.key (unknown)', spec: allow([{ when: [{ key: 'source.color', values: ['red'] }] }]), error: /unknown attribute: source.color/u },
    { field: 'when.key (destination.namespace)', spec: allow([{ when: [{ key: 'destination.namespace', values: ['x'] }] }]), error: /replaced by the metadata.namespace/u },
    { field: 'when.values (missing)', spec: allow([{ when: [{ key: 'source.ip' }] }]), error: /at least one of values or notValues/u },
    { field: 'when.key (header without [])', spec: allow([{ when: [{ key: 'request.headers', values: ['x'] }] }]), error: /should have format a\[b\]/u },
    { field: 'principals (spiffe:// prefix never matches)', spec: allow([{ from: [{ source: { principals: ['spiffe://cluster.local/ns/a/sa/b'] } }] }]), error: /can never match/u },
    { field: 'principals (* in the middle is literal)', spec: allow([{ from: [{ source: { principals: ['cluster.local/ns/*/sa/b'] } }] }]), error: /Envoy matches it literally/u },
    { field: 'CUSTOM with principals', spec: { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ from: [{ source: { principals: ['a'] } }] }] }, error: /principals is not supported with CUSTOM/u },
  ];
  for (const c of cases) it(`rejects ${c.field}`, () => expect(errorsOf(authorizationPolicyFindings(c.spec)).join('\n')).toMatch(c.error));

  it('warns that an HTTP-only DENY rule without ports becomes deny-all on TCP, and accepts it with ports', () => {
    const httpOnly = { action: 'DENY', selector: { matchLabels: { app: 'a' } }, rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] };
    expect(warningsOf(authorizationPolicyFindings(httpOnly)).join('\n')).toMatch(/will deny all traffic/u);
    const withPorts = { ...httpOnly, rules: [{ to: [{ operation: { paths: ['/admin/*'], ports: ['8080'] } }] }] };
    expect(authorizationPolicyFindings(withPorts)).toEqual([]);
  });

  it('accepts allow-nothing, and warns on principals that are not td/ns/NS/sa/SA and lower-case methods', () => {
    expect(authorizationPolicyFindings({})).toEqual([]);
    const fs = authorizationPolicyFindings({ selector: { matchLabels: { app: 'a' } }, rules: [{ from: [{ source: { principals: ['frontend'] } }], to: [{ operation: { methods: ['get'] } }] }] });
    expect(errorsOf(fs)).toEqual([]);
    expect(warningsOf(fs).join('\n')).toMatch(/not of the form <trust-domain>\/ns/u);
    expect(warningsOf(fs).join('\n')).toMatch(/not upper case/u);
    expect(principalLint('cluster.local/ns/a/sa/b')).toBeUndefined();
    expect(principalLint('*')).toBeUndefined();
    expect(principalLint('cluster.local/ns/a/*')).toBeUndefined();
  });
});

describe("Istio's webhook rules for PeerAuthentication, DestinationRule, Sidecar and metadata", () => {
  const pa: Array<{ field: string; spec: Spec; error: RegExp }> = [
    { field: 'portLevelMtls (namespace-wide)', spec: { portLevelMtls: { '80': { mode: 'STRICT' } } }, error: /cannot have port level mTLS/u },
    { field: 'portLevelMtls (empty)', spec: { selector: { matchLabels: { a: 'b' } }, portLevelMtls: {} }, error: /must not be empty/u },
    { field: 'portLevelMtls (port 0)', spec: { selector: { matchLabels: { a: 'b' } }, portLevelMtls: { '0': { mode: 'STRICT' } } }, error: /1\.\.65535/u },
    { field: 'selector.matchLabels (empty key)', spec: { selector: { matchLabels: { '': 'b' } } }, error: /empty key/u },
  ];
  for (const c of pa) it(`PeerAuthentication rejects ${c.field}`, () => expect(errorsOf(peerAuthenticationFindings(c.spec)).join('\n')).toMatch(c.error));

  const dr: Array<{ field: string; spec: Spec; error: RegExp }> = [
    { field: 'host (host:port)', spec: { host: 'svc.ns.svc.cluster.local:80' }, error: /invalid/u },
    { field: 'host (empty)', spec: { host: '' }, error: /empty domain name/u },
    { field: 'trafficPolicy (empty)', spec: { host: 'a.b', trafficPolicy: {} }, error: /at least one field/u },
    { field: 'tls (MUTUAL without certificates)', spec: { host: 'a.b', trafficPolicy: { tls: { mode: 'MUTUAL' } } }, error: /client certificate and private key are required/u },
    { field: 'portLevelSettings[0].port', spec: { host: 'a.b', trafficPolicy: { portLevelSettings: [{ tls: { mode: 'ISTIO_MUTUAL' } }] } }, error: /port is required/u },
    { field: 'subsets[0].name', spec: { host: 'a.b', subsets: [{ name: 'v1.0' }] }, error: /DNS-1123 label/u },
    { field: 'exportTo (~)', spec: { host: 'a.b', exportTo: ['~'] }, error: /not allowed for DestinationRule/u },
  ];
  for (const c of dr) it(`DestinationRule rejects ${c.field}`, () => expect(errorsOf(destinationRuleFindings(c.spec, 'ns')).join('\n')).toMatch(c.error));
  it('DestinationRule: ISTIO_MUTUAL with certificate files is linted', () => {
    expect(warningsOf(destinationRuleFindings({ host: 'a.b.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', caCertificates: '/x' } } }, 'ns')).join()).toMatch(/must be empty/u);
    expect(destinationRuleFindings({ host: 'a.b.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }, 'ns')).toEqual([]);
  });

  const hosts: Array<{ host: string; error: RegExp }> = [
    { host: 'shop.svc.cluster.local', error: /namespace\/dnsName/u },
    { host: 'shop/orders', error: /short names/u },
    { host: 'shop/ord*.shop.svc.cluster.local', error: /partial wildcard/u },
    { host: 'shop/*orders.shop.svc', error: /partial wildcard/u },
    { host: 'Shop_NS/orders.shop.svc.cluster.local', error: /invalid namespace value/u },
    { host: 'shop/10.0.0.1', error: /invalid|all-numeric/u },
  ];
  for (const h of hosts) it(`Sidecar egress host rejects "${h.host}"`, () => expect(sidecarHostErrors(h.host).join('\n')).toMatch(h.error));
  it('Sidecar egress hosts accept namespace/*, */fqdn, ./fqdn and *.suffix', () => {
    for (const h of ['istio-system/*', '*/orders.shop.svc.cluster.local', './orders.shop.svc.cluster.local', 'shop/*.shop.svc.cluster.local', '~/*']) expect(sidecarHostErrors(h), h).toEqual([]);
  });
  const sc: Array<{ field: string; spec: Spec; error: RegExp }> = [
    { field: 'spec (empty configuration)', spec: {}, error: /empty configuration/u },
    { field: 'egress[0].hosts (none)', spec: { egress: [{ hosts: [] }] }, error: /at least one host/u },
    { field: 'egress catch-all not last', spec: { egress: [{ hosts: ['./*'] }, { port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['./*'] }] }, error: /must be the last listener/u },
    { field: 'workloadSelector.labels (wildcard)', spec: { workloadSelector: { labels: { app: '*' } }, egress: [{ hosts: ['./*'] }] }, error: /wildcard/u },
    { field: 'ingress[0].port.protocol', spec: { ingress: [{ port: { number: 80, protocol: 'SMTP', name: 'x' } }] }, error: /unrecognized protocol/u },
    { field: 'outboundTrafficPolicy.egressProxy', spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY', egressProxy: { host: 'x.y' } } }, error: /only supported with mode ALLOW_ANY/u },
  ];
  for (const c of sc) it(`Sidecar rejects ${c.field}`, () => expect(errorsOf(sidecarFindings(c.spec)).join('\n')).toMatch(c.error));

  const md: Array<{ field: string; doc: Spec; error: RegExp }> = [
    { field: 'metadata.name (upper case)', doc: { kind: 'Sidecar', metadata: { name: 'Bad', namespace: 'ns' } }, error: /invalid name/u },
    { field: 'metadata.namespace', doc: { kind: 'Sidecar', metadata: { name: 'x', namespace: 'a.b' } }, error: /invalid namespace/u },
    { field: 'metadata.labels (value)', doc: { kind: 'Sidecar', metadata: { name: 'x', namespace: 'ns', labels: { a: 'b c' } } }, error: /invalid label value/u },
    { field: 'istio.io/dry-run on a Sidecar', doc: { kind: 'Sidecar', metadata: { name: 'x', namespace: 'ns', annotations: { 'istio.io/dry-run': 'true' } } }, error: /only supported on AuthorizationPolicy/u },
    { field: 'istio.io/dry-run on CUSTOM', doc: { kind: 'AuthorizationPolicy', metadata: { name: 'x', namespace: 'ns', annotations: { 'istio.io/dry-run': 'true' } }, spec: { action: 'CUSTOM' } }, error: /only supports action ALLOW or DENY/u },
    { field: 'istio.io/dry-run value', doc: { kind: 'AuthorizationPolicy', metadata: { name: 'x', namespace: 'ns', annotations: { 'istio.io/dry-run': 'yes' } } }, error: /a boolean is required/u },
  ];
  for (const c of md) it(`metadata rejects ${c.field}`, () => expect(errorsOf(metadataFindings(c.doc)).join('\n')).toMatch(c.error));

  it('path templates follow CheckValidPathTemplate', () => {
    expect(pathTemplateError('/foo/{*}/bar/{**}')).toBeUndefined();
    expect(pathTemplateError('/{**}/path/template')).toBeUndefined();
    expect(pathTemplateError('/a b/{*}')).toMatch(/invalid string literal/u);
  });
});

describe('rules across documents', () => {
  const doc = (file: string, line: number, value: unknown): ManifestDoc => ({ file, line, index: 0, value });
  const pa = (name: string, spec: Spec): unknown => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace: 'shop' }, spec });
  const sc = (name: string, spec: Spec): unknown => ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace: 'shop' }, spec });

  it('refuses a second namespace-wide PeerAuthentication in a namespace', () => {
    const fs = validateDocuments([doc('a.yaml', 1, pa('one', { mtls: { mode: 'STRICT' } })), doc('b.yaml', 1, pa('two', { mtls: { mode: 'PERMISSIVE' } }))], undefined);
    expect(fs.filter((f) => f.severity === 'error').map((f) => f.message).join()).toMatch(/second namespace-wide PeerAuthentication in shop/u);
  });
  it('lets a later file replace a resource of the same name (apply order), but flags duplicates in one file', () => {
    expect(validateDocuments([doc('01/a.yaml', 1, pa('default', { mtls: { mode: 'PERMISSIVE' } })), doc('03/a.yaml', 1, pa('default', { mtls: { mode: 'STRICT' } }))], undefined).filter((f) => f.severity === 'error')).toEqual([]);
    const same = validateDocuments([doc('a.yaml', 1, pa('default', { mtls: { mode: 'PERMISSIVE' } })), doc('a.yaml', 9, pa('default', { mtls: { mode: 'STRICT' } }))], undefined);
    expect(same.map((f) => f.message).join()).toMatch(/duplicate PeerAuthentication shop\/default in the same file/u);
  });
  it('refuses two selector-less Sidecars and two Sidecars with the same selector', () => {
    const two = validateDocuments([doc('a.yaml', 1, sc('a', { egress: [{ hosts: ['./*'] }] })), doc('a.yaml', 5, sc('b', { egress: [{ hosts: ['./*'] }] }))], undefined);
    expect(two.map((f) => f.message).join()).toMatch(/IST0111/u);
    const sel = { workloadSelector: { labels: { app: 'x' } }, egress: [{ hosts: ['./*'] }] };
    expect(validateDocuments([doc('a.yaml', 1, sc('a', sel)), doc('a.yaml', 5, sc('b', sel))], undefined).map((f) => f.message).join()).toMatch(/IST0110/u);
  });
  it('reports YAML errors and non-map documents with their line', () => {
    const fs = validateDocuments([{ file: 'x.yaml', line: 7, index: 0, value: undefined, error: 'not valid YAML (bad indentation)' }, doc('x.yaml', 9, ['a'])], undefined);
    expect(fs.map((f) => `${f.line}:${f.layer}`)).toEqual(['7:yaml', '9:yaml']);
  });
  it('refuses private key material in a Secret', () => {
    const key = Buffer.from('-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n').toString('base64');
    const fs = validateDocuments([doc('s.yaml', 1, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts', namespace: 'istio-system' }, type: 'Opaque', data: { 'root-cert.pem': key } })], undefined);
    expect(fs.filter((f) => f.severity === 'error').map((f) => f.message).join()).toMatch(/never carry a private key/u);
  });
});
