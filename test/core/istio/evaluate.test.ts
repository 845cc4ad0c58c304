import { describe, expect, it } from 'vitest';

import { PolicySet, type PolicyRequest } from '../../../core/istio/index.ts';

const ap = (name: string, spec: Record<string, unknown>, namespace = 'shop', annotations?: Record<string, string>): unknown => ({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name, namespace, ...(annotations === undefined ? {} : { annotations }) }, spec });
const pa = (name: string, spec: Record<string, unknown>, namespace = 'istio-system'): unknown => ({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name, namespace }, spec });
const FRONTEND = 'cluster.local/ns/web/sa/frontend';
const req = (over: Partial<PolicyRequest> = {}): PolicyRequest => ({ principal: FRONTEND, namespace: 'shop', labels: { app: 'orders' }, port: 8080, method: 'GET', path: '/api/orders/1', ...over });
const sel = { matchLabels: { app: 'orders' } };

describe("policy evaluation with Istio's semantics", () => {
  it('no policy selects the workload → allowed; allow-nothing → denied', () => {
    expect(new PolicySet([], 'istio-system').evaluate(req())).toMatchObject({ allowed: true, stage: 'no-policy' });
    expect(new PolicySet([ap('allow-nothing', {})], 'istio-system').evaluate(req())).toMatchObject({ allowed: false, stage: 'no-allow-match' });
  });
  it('CUSTOM is evaluated first, then DENY, then ALLOW', () => {
    const docs = [
      ap('custom', { action: 'CUSTOM', provider: { name: 'opa' }, selector: sel, rules: [{ to: [{ operation: { paths: ['/api/*'] } }] }] }),
      ap('deny', { action: 'DENY', selector: sel, rules: [{ to: [{ operation: { methods: ['GET'], ports: ['8080'] } }] }] }),
      ap('allow', { action: 'ALLOW', selector: sel, rules: [{ from: [{ source: { principals: [FRONTEND] } }] }] }),
    ];
    const set = new PolicySet(docs, 'istio-system');
    expect(set.evaluate(req())).toMatchObject({ allowed: false, stage: 'custom', policy: 'shop/custom' });
    expect(set.evaluate(req({ custom: 'allow' }))).toMatchObject({ allowed: false, stage: 'deny', policy: 'shop/deny' });
    expect(set.evaluate(req({ custom: 'allow', method: 'POST' }))).toMatchObject({ allowed: true, stage: 'allow', policy: 'shop/allow', rule: 0 });
  });
  it('with any ALLOW policy selecting the workload, no match means deny; policies of other workloads do not count', () => {
    const set = new PolicySet([ap('allow-cart', { selector: { matchLabels: { app: 'cart' } }, rules: [{}] }), ap('allow-orders', { selector: sel, rules: [{ from: [{ source: { principals: ['cluster.local/ns/web/sa/bff'] } }] }] })], 'istio-system');
    expect(set.evaluate(req())).toMatchObject({ allowed: false, stage: 'no-allow-match', reason: 'no rule of shop/allow-orders matched' });
    expect(set.evaluate(req({ principal: 'cluster.local/ns/web/sa/bff' }))).toMatchObject({ allowed: true });
  });
  it('root-namespace policies apply mesh-wide', () => {
    const set = new PolicySet([ap('mesh-deny', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/debug/*'], ports: ['8080'] } }] }] }, 'istio-system')], 'istio-system');
    expect(set.evaluate(req({ path: '/debug/pprof' }))).toMatchObject({ allowed: false, policy: 'istio-system/mesh-deny' });
  });
  it('PeerAuthentication: STRICT rejects plaintext; namespace and workload and port levels override; UNSET inherits', () => {
    const docs = [pa('default', { mtls: { mode: 'STRICT' } }), pa('ns', { mtls: { mode: 'UNSET' } }, 'shop'), pa('legacy', { selector: { matchLabels: { app: 'orders' } }, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } }, 'shop')];
    const set = new PolicySet(docs, 'istio-system');
    expect(set.evaluate(req({ principal: null }))).toMatchObject({ allowed: false, stage: 'mtls', reason: expect.stringContaining('istio-system/default (mesh)') });
    expect(set.evaluate(req({ principal: null, port: 9000 }))).toMatchObject({ allowed: true, mtlsMode: 'PERMISSIVE' });
    expect(set.mtlsMode('shop', { app: 'cart' }, 8080)).toMatchObject({ mode: 'STRICT' });
    expect(new PolicySet([], 'istio-system').mtlsMode('shop', {}, 80).mode).toBe('PERMISSIVE');
  });
  it('DISABLE: no peer identity reaches authorization', () => {
    const set = new PolicySet([pa('off', { mtls: { mode: 'DISABLE' } }, 'shop'), ap('allow', { selector: sel, rules: [{ from: [{ source: { principals: [FRONTEND] } }] }] })], 'istio-system');
    expect(set.evaluate(req())).toMatchObject({ allowed: false, mtlsMode: 'DISABLE', notes: [expect.stringContaining('no peer identity')] });
  });
  it('TCP: an HTTP-only DENY operation denies all traffic on its ports; an HTTP-only ALLOW never matches', () => {
    const deny = new PolicySet([ap('deny-admin', { action: 'DENY', selector: sel, rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] })], 'istio-system');
    expect(deny.evaluate(req({ method: undefined, path: undefined }))).toMatchObject({ allowed: false, stage: 'deny' });
    const withPorts = new PolicySet([ap('deny-admin', { action: 'DENY', selector: sel, rules: [{ to: [{ operation: { paths: ['/admin/*'], ports: ['8080'] } }] }] })], 'istio-system');
    expect(withPorts.evaluate(req({ method: undefined, path: undefined, port: 5432 }))).toMatchObject({ allowed: true });
    const allow = new PolicySet([ap('allow', { selector: sel, rules: [{ to: [{ operation: { methods: ['GET'] } }, { operation: { ports: ['5432'] } }] }] })], 'istio-system');
    expect(allow.evaluate(req({ method: undefined, path: undefined, port: 8080 }))).toMatchObject({ allowed: false });
    expect(allow.evaluate(req({ method: undefined, path: undefined, port: 5432 }))).toMatchObject({ allowed: true });
  });
  it('source fields: notPrincipals matches plaintext, namespaces and serviceAccounts need an identity, ipBlocks need an address', () => {
    const one = (source: Record<string, unknown>, r: Partial<PolicyRequest> = {}): boolean => new PolicySet([ap('allow', { selector: sel, rules: [{ from: [{ source }] }] })], 'istio-system').evaluate(req(r)).allowed;
    expect(one({ notPrincipals: ['*'] }, { principal: null })).toBe(true);
    expect(one({ notPrincipals: ['*'] })).toBe(false);
    expect(one({ namespaces: ['web'] })).toBe(true);
    expect(one({ namespaces: ['web'] }, { principal: null })).toBe(false);
    expect(one({ namespaces: ['w*'] })).toBe(true);
    expect(one({ serviceAccounts: ['web/frontend'] })).toBe(true);
    expect(one({ serviceAccounts: ['frontend'] })).toBe(false); // bare name = the policy's namespace (shop)
    expect(one({ trustDomains: ['cluster.local'] })).toBe(true);
    expect(one({ principals: ['spiffe://cluster.local/ns/web/sa/frontend'] })).toBe(false); // never matches
    expect(one({ ipBlocks: ['10.0.0.0/8'] }, { sourceIp: '10.1.2.3' })).toBe(true);
    expect(one({ ipBlocks: ['10.0.0.0/8'] })).toBe(false);
    expect(one({ requestPrincipals: ['https://issuer/*'] }, { requestPrincipal: 'https://issuer/sub' })).toBe(true);
  });
  it('operations and conditions: methods, paths (normalised), hosts, notPaths, when', () => {
    const one = (rule: Record<string, unknown>, r: Partial<PolicyRequest> = {}): boolean => new PolicySet([ap('allow', { selector: sel, rules: [rule] })], 'istio-system').evaluate(req(r)).allowed;
    expect(one({ to: [{ operation: { paths: ['/api/orders/{*}'] } }] })).toBe(true);
    expect(one({ to: [{ operation: { paths: ['/api/orders/{*}'] } }] }, { path: '/api/orders/1/items' })).toBe(false);
    expect(one({ to: [{ operation: { paths: ['/api/*'], notPaths: ['/api/orders/*'] } }] })).toBe(false);
    expect(one({ to: [{ operation: { paths: ['/api/orders/1'] } }] }, { path: '/api/x/../orders/1?y=2' })).toBe(true);
    expect(one({ to: [{ operation: { hosts: ['ORDERS.shop*'] } }] }, { host: 'orders.shop.svc' })).toBe(true);
    expect(one({ when: [{ key: 'request.headers[x-tenant]', values: ['acme'] }] }, { headers: { 'X-Tenant': 'acme' } })).toBe(true);
    expect(one({ when: [{ key: 'source.namespace', notValues: ['web'] }] })).toBe(false);
    expect(one({ when: [{ key: 'destination.port', values: ['8080'] }] })).toBe(true);
    const set = new PolicySet([ap('allow', { selector: sel, rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['x'] }] }] })], 'istio-system');
    expect(set.evaluate(req())).toMatchObject({ allowed: false, notes: [expect.stringContaining('not evaluated by the tester')] });
  });
  it('dry-run and targetRef policies are not enforced on sidecars (unless shadow evaluation is asked for)', () => {
    const docs = [ap('allow-nothing', {}, 'shop', { 'istio.io/dry-run': 'true' }), ap('gw', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }], rules: [{}] })];
    const set = new PolicySet(docs, 'istio-system');
    expect(set.evaluate(req())).toMatchObject({ allowed: true, stage: 'no-policy' });
    expect(set.skipped).toEqual(['shop/allow-nothing (dry-run)', 'shop/gw (targetRef: applies to gateways and waypoints, not sidecars)']);
    expect(new PolicySet(docs, 'istio-system', true).evaluate(req()).allowed).toBe(false);
  });
});
