import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { parseDer } from '../../../core/pki/der.ts';
import { parseCertificate, parseCrl, parseCsr, detectKind } from '../../../core/pki/decode.ts';
import { toPem } from '../../../core/pki/pem.ts';
import { caught, softHierarchy } from './fixtures.ts';

describe('strict DER', () => {
  // Each case is named by the DER rule it breaks.
  const bad: Array<{ name: string; hex: string; message: RegExp }> = [
    { name: 'empty input', hex: '', message: /empty/u },
    { name: 'truncated value', hex: '300502010', message: /truncated/u },
    { name: 'trailing bytes', hex: '3003020101ff', message: /1 trailing byte/u },
    { name: 'indefinite length', hex: '3080020101 0000', message: /indefinite length/u },
    { name: 'long-form length below 128', hex: '308103020101', message: /short form/u },
    { name: 'length with leading zero', hex: '30820003020101', message: /leading zero/u },
    { name: 'non-minimal INTEGER', hex: '300402020001', message: /not minimally encoded/u },
    { name: 'BOOLEAN other than 00/FF', hex: '3003010101', message: /BOOLEAN/u },
    { name: 'NULL with content', hex: '3003050100', message: /NULL with content/u },
    { name: 'BIT STRING with more than 7 unused bits', hex: '3004030208ff', message: /BIT STRING/u },
    { name: 'multi-byte tag', hex: '1f2200', message: /multi-byte tag/u },
    { name: 'child overrunning its parent', hex: '300402050102', message: /runs past the end/u },
  ];
  for (const c of bad) {
    it(`parseDer refuses ${c.name}`, () => {
      const e = caught(() => parseDer(Buffer.from(c.hex.replace(/\s/gu, ''), 'hex')));
      expect(e.code).toBe('ERR_PKI_DER_INVALID');
      expect(e.message).toMatch(c.message);
    });
  }

  it('parseDer refuses nesting deeper than the limit', () => {
    let der = Buffer.from('0500', 'hex');
    // 60 levels of SEQUENCE (each header two bytes, so every length stays in short form)
    for (let i = 0; i < 60; i++) der = Buffer.concat([Buffer.from([0x30, der.length]), der]);
    expect(caught(() => parseDer(der)).message).toMatch(/nested deeper than 48 levels/u);
  });

  const { root } = softHierarchy();
  const cert = root.cert.der;

  it('parseCertificate refuses a certificate truncated at any point', () => {
    for (const cut of [1, 2, 10, 100, cert.length >> 1, cert.length - 1]) {
      const e = caught(() => parseCertificate(cert.subarray(0, cut)));
      expect(e.code, `cut at ${cut}`).toBe('ERR_PKI_DER_INVALID');
    }
  });

  it('parseCertificate refuses garbage, a certificate with appended bytes, and the wrong structure', () => {
    expect(caught(() => parseCertificate(Buffer.from('this is not a certificate'))).code).toBe('ERR_PKI_DER_INVALID');
    expect(caught(() => parseCertificate(Buffer.concat([cert, Buffer.from([0])]))).message).toMatch(/trailing byte/u);
    expect(caught(() => parseCertificate(Buffer.from('3003020101', 'hex'))).code).toBe('ERR_PKI_DER_INVALID');
    expect(caught(() => parseCsr(cert)).code).toMatch(/ERR_PKI_(CSR|DER)_INVALID/u);
    expect(caught(() => parseCrl(cert)).code).toBe('ERR_PKI_DER_INVALID');
  });

  it('parseCertificate refuses PEM with trailing junk', () => {
    const e = caught(() => parseCertificate(`${toPem('CERTIFICATE', cert)}junk`));
    expect(e.code).toBe('ERR_PKI_PEM_INVALID');
  });

  it('random corruption of a certificate yields a CoreError or a decodable certificate, never a crash', () => {
    for (let i = 0; i < 400; i++) {
      const b = Buffer.from(cert);
      const pos = (i * 7919) % b.length;
      b[pos] = (b[pos] as number) ^ (1 + (i % 255));
      try {
        parseCertificate(b);
      } catch (e) {
        expect(isCoreError(e), `flip at ${pos}: ${String(e)}`).toBe(true);
      }
    }
  });

  it('detectKind tells certificate, CSR and CRL apart and refuses other DER', () => {
    expect(detectKind(cert)).toBe('certificate');
    expect(caught(() => detectKind(Buffer.from('3003020101', 'hex'))).code).toBe('ERR_PKI_DER_INVALID');
  });
});
