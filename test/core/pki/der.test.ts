import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { decodeOid, derSequence, derTlv, encodeOid, parseDer, TAG } from '../../../core/pki/der.ts';
import { parseCertificate, parseCrl, parseCsr, detectKind } from '../../../core/pki/decode.ts';
import { checkPublicKey } from '../../../core/pki/keys.ts';
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

  describe('OBJECT IDENTIFIER bounds (decoding cost stays linear in the input)', () => {
    /** An OID value of `arcs` arcs, each `arcBytes` octets long (0x81 … 0x01: minimal, non-zero). */
    const oidValue = (arcs: number, arcBytes: number): Buffer => {
      const arc = Buffer.concat([Buffer.alloc(arcBytes - 1, 0x81), Buffer.from([0x01])]);
      return Buffer.concat([Buffer.from([0x2a]), ...Array.from({ length: arcs }, () => arc)]);
    };
    // Each case is named by the bound it breaks; the assertion is the code, never a time.
    const bad: Array<{ name: string; value: Buffer; message: RegExp }> = [
      { name: 'more than 64 content octets', value: oidValue(65, 1), message: /OBJECT IDENTIFIER of 66 octets; at most 64/u },
      { name: 'an arc longer than 19 octets', value: oidValue(1, 20), message: /arc of 20 octets or more; at most 19/u },
      { name: 'a 64 KiB OID (the superlinear BigInt case)', value: oidValue(1, 64 * 1024), message: /OBJECT IDENTIFIER of 65537 octets/u },
      { name: 'an arc with a leading 0x80', value: Buffer.from('2a8001', 'hex'), message: /leading 0x80/u },
      { name: 'a truncated last arc', value: Buffer.from('2a81', 'hex'), message: /malformed OBJECT IDENTIFIER|truncated OBJECT IDENTIFIER/u },
    ];
    for (const c of bad) {
      it(`decodeOid and parseDer refuse ${c.name} with ERR_PKI_DER_INVALID`, () => {
        const e1 = caught(() => decodeOid(c.value));
        expect(e1.code).toBe('ERR_PKI_DER_INVALID');
        expect(e1.message).toMatch(c.message);
        const e2 = caught(() => parseDer(derSequence([derTlv(TAG.OID, c.value), derTlv(TAG.NULL, Buffer.alloc(0))])));
        expect(e2.code).toBe('ERR_PKI_DER_INVALID');
        expect(e2.message).toMatch(c.message);
      });
    }

    it('decodeOid accepts the longest allowed OID and a 128-bit UUID arc (ITU-T X.667, 2.25.x)', () => {
      expect(decodeOid(oidValue(63, 1))).toBe(`1.2${'.1'.repeat(63)}`);
      const uuid = 2n ** 128n - 1n;
      const der = encodeOid(`2.25.${uuid}`);
      expect(decodeOid(der.subarray(2))).toBe(`2.25.${uuid}`);
    });

    it('parseCrl refuses a CRL whose extension OID is 256 KiB (ERR_PKI_DER_INVALID, not minutes of CPU)', () => {
      const utc = (s: string): Buffer => derTlv(TAG.UTC_TIME, Buffer.from(s, 'ascii'));
      const hugeExt = derSequence([derTlv(TAG.OID, oidValue(1, 256 * 1024)), derTlv(TAG.OCTET_STRING, Buffer.from('0500', 'hex'))]);
      const alg = derSequence([encodeOid('1.2.840.113549.1.1.11'), derTlv(TAG.NULL, Buffer.alloc(0))]);
      const tbs = derSequence([
        derTlv(TAG.INTEGER, Buffer.from([1])),
        alg,
        derSequence([]),
        utc('270101000000Z'),
        utc('270201000000Z'),
        derTlv(0xa0, derSequence([hugeExt])),
      ]);
      const crl = derSequence([tbs, alg, derTlv(TAG.BIT_STRING, Buffer.from([0, 1, 2, 3]))]);
      const e = caught(() => parseCrl(crl));
      expect(e.code).toBe('ERR_PKI_DER_INVALID');
      expect(e.message).toMatch(/OBJECT IDENTIFIER of 262145 octets; at most 64/u);
    });

    it('an RSA key with a huge public exponent is reported without converting it to decimal', () => {
      const exp = Buffer.concat([Buffer.from([0x01]), Buffer.alloc(64 * 1024, 0xff)]);
      const rsa = derSequence([derTlv(TAG.INTEGER, Buffer.concat([Buffer.from([0x00, 0xc0]), Buffer.alloc(255, 0x11)])), derTlv(TAG.INTEGER, exp)]);
      const spki = derSequence([derSequence([encodeOid('1.2.840.113549.1.1.1'), derTlv(TAG.NULL, Buffer.alloc(0))]), derTlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), rsa]))]);
      const e = caught(() => checkPublicKey(spki));
      expect(e.code).toBe('ERR_PKI_KEY_WEAK');
      expect(e.message).toMatch(/public exponent is a 65537-octet value; only 65537 is accepted/u);
      expect(e.message.length).toBeLessThan(300);
    });
  });

  it('detectKind tells certificate, CSR and CRL apart and refuses other DER', () => {
    expect(detectKind(cert)).toBe('certificate');
    expect(caught(() => detectKind(Buffer.from('3003020101', 'hex'))).code).toBe('ERR_PKI_DER_INVALID');
  });
});
