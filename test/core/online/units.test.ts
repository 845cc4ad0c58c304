import { describe, expect, it } from 'vitest';

import { parseDuration, parseServeConfig } from '../../../core/online/config.ts';
import { onlineMetrics, Registry } from '../../../core/online/metrics.ts';
import { respondOcsp } from '../../../core/online/ocsp.ts';
import { RateLimiter } from '../../../core/online/rate-limit.ts';
import { spiffeBundle } from '../../../core/online/trust-bundle.ts';
import { createTestRoot } from './fixtures.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp';

describe('serve configuration', () => {
  it('has the documented defaults', () => {
    const c = parseServeConfig({});
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(c.svid).toEqual({ defaultTtl: 86_400, maxTtl: 86_400, nodeTtl: 86_400, serverTtl: 86_400 });
    expect(c.crl).toEqual({ interval: 300, validity: 86_400 });
    expect(c.bundle.refreshHint).toBe(300);
    expect(c.coverageWarning).toBe(30 * 86_400);
    expect(c.recordDurability).toBe('full');
    expect(c.limits.maxBodyBytes).toBe(65_536);
  });
  it('parses durations and listeners', () => {
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('24h')).toBe(86_400);
    expect(parseDuration('90d')).toBe(7_776_000);
    expect(() => parseDuration('0')).toThrow(/not a duration/u);
    expect(() => parseDuration('5 weeks')).toThrow(/not a duration/u);
    expect(parseServeConfig({ listen: '[::1]:9443', crl: { interval: '1m' } })).toMatchObject({ listen: { host: '::1', port: 9443 }, crl: { interval: 60, validity: 86_400 } });
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ['unknown key', { lisen: '1.2.3.4:1' }, /lisen/u],
    ['listen: no port', { listen: 'localhost' }, /listen: 'localhost' is not HOST:PORT/u],
    ['listen: port out of range', { listen: '0.0.0.0:70000' }, /listen/u],
    ['publicUrl: with a path', { publicUrl: 'http://ca.example.org/x' }, /publicUrl/u],
    ['svid.maxTtl: not a duration', { svid: { maxTtl: 'forever' } }, /svid\.maxTtl/u],
    ['svid.defaultTtl: longer than max', { svid: { defaultTtl: '48h' } }, /svid\.defaultTtl: is longer than svid\.maxTtl/u],
    ['crl.validity: not longer than interval', { crl: { interval: '1h', validity: '30m' } }, /crl\.validity/u],
    ['serverDnsNames: invalid', { serverDnsNames: ['Bad Name'] }, /serverDnsNames\.0/u],
    ['serverIpAddresses: invalid', { serverIpAddresses: ['300.1.1.1'] }, /serverIpAddresses\.0/u],
    ['workers: negative', { workers: -1 }, /workers/u],
    ['recordDurability: unknown', { recordDurability: 'sometimes' }, /recordDurability/u],
  ];
  for (const [name, input, reason] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => parseServeConfig(input)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
      expect(() => parseServeConfig(input)).toThrow(reason);
    });
  }
  it('reports every problem at once', () => {
    expect(() => parseServeConfig({ listen: 'x', workers: -1, bogus: 1 })).toThrow(/listen[\s\S]*workers|workers[\s\S]*listen/u);
  });
});

describe('metrics', () => {
  it('renders the Prometheus text format', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things.');
    c.inc({ reason: 'ERR_A' });
    c.inc({ reason: 'ERR_A' });
    c.inc({ reason: 'quote"s' });
    const h = r.histogram('lat_seconds', 'Latency.', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    h.observe(5);
    const g = r.gauge('g', 'A gauge.');
    g.collect(() => [[{ within: '24h' }, 3]]);
    const text = r.render();
    expect(text).toContain('# TYPE x_total counter\nx_total{reason="ERR_A"} 2\nx_total{reason="quote\\"s"} 1');
    expect(text).toContain('lat_seconds_bucket{le="0.01"} 1\nlat_seconds_bucket{le="0.1"} 2\nlat_seconds_bucket{le="+Inf"} 3\nlat_seconds_sum 5.055\nlat_seconds_count 3');
    expect(text).toContain('g{within="24h"} 3');
    expect(() => r.counter('x_total', 'again')).toThrow(TypeError);
  });
  it('declares the online CA series', () => {
    const text = onlineMetrics().registry.render();
    for (const name of ['neam_ca_svid_issued_total', 'neam_ca_svid_issuance_duration_seconds', 'neam_ca_svid_issuance_failures_total', 'neam_ca_certificates_expiring', 'neam_ca_coverage_days_left', 'neam_ca_coverage_warning', 'neam_ca_crl_published_total', 'neam_ca_ocsp_responses_total']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});

describe('rate limiter', () => {
  it('allows the burst, then refills at the rate, per key', () => {
    const l = new RateLimiter({ ratePerSecond: 2, burst: 3 });
    const t = 1_000_000;
    expect([l.take('a', t), l.take('a', t), l.take('a', t)]).toEqual([0, 0, 0]);
    expect(l.take('a', t)).toBe(1);
    expect(l.take('b', t)).toBe(0);
    expect(l.take('a', t + 500)).toBe(0);
    expect(l.take('a', t + 500)).toBeGreaterThan(0);
  });
  it('is off at rate 0 and bounded in keys', () => {
    const off = new RateLimiter({ ratePerSecond: 0, burst: 1 });
    for (let i = 0; i < 10; i++) expect(off.take('a', 0)).toBe(0);
    const small = new RateLimiter({ ratePerSecond: 1, burst: 1 }, 2);
    small.take('a', 0);
    small.take('b', 0);
    small.take('c', 0);
    // 'a' was evicted: it gets a fresh bucket.
    expect(small.take('a', 0)).toBe(0);
  });
});

describe('OCSP responder input handling', () => {
  const status = async (der: Buffer): Promise<number> => AsnConvert.parse((await respondOcsp(der, [], () => ({ status: 'good' }), Date.now(), 3600_000)).der, OCSPResponse).responseStatus;
  it('answers malformedRequest to garbage, empty and oversized input', async () => {
    expect(await status(Buffer.from('hello'))).toBe(OCSPResponseStatus.malformedRequest);
    expect(await status(Buffer.alloc(0))).toBe(OCSPResponseStatus.malformedRequest);
    expect(await status(Buffer.alloc(5000, 0x30))).toBe(OCSPResponseStatus.malformedRequest);
    expect(await status(Buffer.from('3003020100', 'hex'))).toBe(OCSPResponseStatus.malformedRequest);
  });
});

describe('SPIFFE bundle', () => {
  it('has one JWK per root with use x509-svid, one x5c and no kid, for RSA and EC roots', () => {
    const tmp = tempDir('neam-bundle-');
    try {
      const rsa = createTestRoot(join(tmp.dir, 'r1'));
      const ec = createTestRoot(join(tmp.dir, 'r2'), { keyAlg: 'ec' });
      const b = spiffeBundle([rsa.der, ec.der], 7, 300);
      expect(b.spiffe_sequence).toBe(7);
      expect(b.spiffe_refresh_hint).toBe(300);
      expect(b.keys.map((k) => [k['use'], k['kty'], (k['x5c'] as string[]).length, 'kid' in k])).toEqual([
        ['x509-svid', 'RSA', 1, false],
        ['x509-svid', 'EC', 1, false],
      ]);
      expect(b.keys[1]?.['crv']).toBe('P-256');
      expect(typeof b.keys[0]?.['n']).toBe('string');
    } finally {
      tmp.cleanup();
    }
  });
});
