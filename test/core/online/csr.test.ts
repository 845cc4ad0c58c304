import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { decodeCsrPem, parseCsr, verifyCsr } from '../../../core/online/csr.ts';
import { readTlv } from '../../../core/online/der.ts';
import { checkRequestedNames } from '../../../core/online/issuance.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { derToPem, makeCsr } from './fixtures.ts';

describe('CSR reading', () => {
  const tmp = tempDir('neam-csr-');
  afterAll(() => tmp.cleanup());

  it('reads an OpenSSL-made P-256 request with a SAN, and verifies it', async () => {
    const key = join(tmp.dir, 'k.pem');
    const csr = runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=ignored', '-addext', 'subjectAltName=URI:spiffe://example.org/w,DNS:w.example.org']);
    const parsed = parseCsr(decodeCsrPem(csr));
    expect(parsed.curve).toBe('P-256');
    expect(parsed.hash).toBe('sha256');
    expect(parsed.sans).toEqual({ uris: ['spiffe://example.org/w'], dnsNames: ['w.example.org'], otherTypes: [] });
    await expect(verifyCsr(parsed)).resolves.toBeUndefined();
    expect(() => checkRequestedNames(parsed, 'spiffe://example.org/w', ['w.example.org'])).not.toThrow();
    expect(() => checkRequestedNames(parsed, 'spiffe://example.org/w', [])).toThrow(/DNS names/u);
  });

  it('reads an OpenSSL-made P-384 request without attributes content and with CRLF line ends', async () => {
    const csr = runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', join(tmp.dir, 'k2.pem'), '-subj', '/', '-sha384']);
    const parsed = parseCsr(decodeCsrPem(csr.replace(/\n/gu, '\r\n')));
    expect(parsed.curve).toBe('P-384');
    expect(parsed.sans).toBeUndefined();
    await verifyCsr(parsed);
  });

  it('accepts the NEW CERTIFICATE REQUEST label', () => {
    const c = makeCsr();
    expect(decodeCsrPem(c.pem.replace(/CERTIFICATE REQUEST/gu, 'NEW CERTIFICATE REQUEST')).equals(c.der)).toBe(true);
  });

  const derCases: Array<{ name: string; der: () => Buffer; code: string; reason?: RegExp }> = [
    { name: 'empty', der: () => Buffer.alloc(0), code: 'ERR_PKI_CSR_INVALID', reason: /truncated/u },
    { name: 'indefinite length', der: () => Buffer.from('3080', 'hex'), code: 'ERR_PKI_CSR_INVALID', reason: /indefinite length/u },
    { name: 'non-minimal length', der: () => Buffer.from('30810100', 'hex'), code: 'ERR_PKI_CSR_INVALID', reason: /non-minimal/u },
    { name: 'high tag number', der: () => Buffer.from('1f8101', 'hex'), code: 'ERR_PKI_CSR_INVALID', reason: /high tag/u },
    { name: 'length past the end', der: () => Buffer.from('3005020100', 'hex'), code: 'ERR_PKI_CSR_INVALID', reason: /runs past/u },
    { name: 'oversized', der: () => Buffer.alloc(9000, 0x30), code: 'ERR_INPUT_TOO_LARGE' },
    { name: 'not a SEQUENCE', der: () => Buffer.from('020100', 'hex'), code: 'ERR_PKI_CSR_INVALID', reason: /expected tag 0x30/u },
  ];
  for (const c of derCases) {
    it(`refuses DER: ${c.name}`, () => {
      expect(() => parseCsr(c.der())).toThrow(expect.objectContaining({ code: c.code }));
      if (c.reason !== undefined) expect(() => parseCsr(c.der())).toThrow(c.reason);
    });
  }

  it('refuses every truncation of a valid request', () => {
    const der = makeCsr({ uris: ['spiffe://example.org/w'] }).der;
    for (let n = 0; n < der.length; n++) {
      expect(() => parseCsr(der.subarray(0, n)), `truncated to ${n}`).toThrow(expect.objectContaining({ code: 'ERR_PKI_CSR_INVALID' }));
    }
  });

  it('never crashes on single-byte mutations (fixed seed) and verifies none that change the signed bytes', async () => {
    const base = makeCsr().der;
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const d = Buffer.from(base);
      const pos = rand(d.length);
      d[pos] = (d[pos] as number) ^ (1 + rand(255));
      try {
        const p = parseCsr(d);
        await verifyCsr(p);
        accepted++;
      } catch (e) {
        expect((e as { code?: string }).code, String(e)).toMatch(/^ERR_(PKI_CSR_INVALID|PKI_CSR_SIGNATURE_INVALID|PKI_KEY_UNSUPPORTED|INPUT_TOO_LARGE)$/u);
      }
    }
    // A flipped bit in the signed part or signature must never verify; only bytes that DER
    // ignores could, and the strict reader has none.
    expect(accepted).toBe(0);
  });

  const pemCases: Array<{ name: string; pem: () => string; reason: RegExp }> = [
    { name: 'text before the block', pem: () => `hello\n${makeCsr().pem}`, reason: /nothing before or after/u },
    { name: 'mismatched labels', pem: () => makeCsr().pem.replace('END CERTIFICATE REQUEST', 'END NEW CERTIFICATE REQUEST'), reason: /labels differ/u },
    { name: 'bad padding', pem: () => derToPem(makeCsr().der, 'CERTIFICATE REQUEST').replace(/\n-----END/u, '=\n-----END'), reason: /not valid base64|not strict/u },
    { name: 'PEM headers', pem: () => makeCsr().pem.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'), reason: /not strict/u },
    { name: 'not a string', pem: () => 42 as unknown as string, reason: /must be a PEM string/u },
  ];
  for (const c of pemCases) {
    it(`refuses PEM: ${c.name}`, () => {
      expect(() => decodeCsrPem(c.pem())).toThrow(c.reason);
      expect(() => decodeCsrPem(c.pem())).toThrow(expect.objectContaining({ code: 'ERR_PKI_PEM_INVALID' }));
    });
  }

  it('reads the signed part byte-exactly (the DER reader is strict about lengths)', () => {
    const c = makeCsr();
    const p = parseCsr(c.der);
    const outer = readTlv(c.der, 0, c.der.length);
    expect(p.info.equals(c.der.subarray(outer.valueStart, outer.valueStart + p.info.length))).toBe(true);
    writeFileSync(join(tmp.dir, 'x.csr'), c.pem);
    expect(runOk('openssl', ['req', '-in', join(tmp.dir, 'x.csr'), '-verify', '-noout'], {})).toBeDefined();
  });
});
