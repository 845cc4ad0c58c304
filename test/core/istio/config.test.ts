import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { defaultConfig, parseConfig } from '../../../core/istio/index.ts';

describe('generator configuration', () => {
  it('has reviewed defaults, and derives the DNS essential from the cluster domain', () => {
    const c = defaultConfig();
    expect(c.trustDomain).toBe('cluster.local');
    expect(c.rootNamespace).toBe('istio-system');
    expect(c.essentialEgressHosts).toEqual(['istio-system/*', 'kube-system/kube-dns.kube-system.svc.cluster.local']);
    expect(parseConfig('clusterDomain: corp.internal\n', 'c.yaml').essentialEgressHosts).toEqual(['istio-system/*', 'kube-system/kube-dns.kube-system.svc.corp.internal']);
    expect(parseConfig('', 'empty.yaml')).toEqual(c);
  });
  const invalid: Array<{ field: string; text: string; message: RegExp }> = [
    { field: 'trustDomain', text: 'trustDomain: "Bad Domain"', message: /trustDomain.*trust domain name/su },
    { field: 'rootNamespace', text: 'rootNamespace: Istio_System', message: /rootNamespace.*DNS-1123/su },
    { field: 'paths.mode', text: 'paths: { mode: fuzzy }', message: /paths\.mode/u },
    { field: 'paths.idSegmentPatterns', text: 'paths: { idSegmentPatterns: ["("] }', message: /not a valid regular expression/u },
    { field: 'unknown key', text: 'trustDomian: x', message: /unknown field 'trustDomian'/u },
    { field: 'limits.maxLineBytes', text: 'limits: { maxLineBytes: 10 }', message: /limits\.maxLineBytes/u },
  ];
  for (const c of invalid) it(`refuses ${c.field}, naming the path and line`, () => {
    try {
      parseConfig(`# config\n${c.text}\n`, 'c.yaml');
      throw new Error('expected ERR_ISTIO_CONFIG_INVALID');
    } catch (e) {
      expect(isCoreError(e, 'ERR_ISTIO_CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(c.message);
      expect((e as Error).message).toMatch(/line 2/u);
    }
  });
});
