import { describe, expect, it } from 'vitest';

import { parsePem, parsePemOne, readPemOrDer, toPem } from '../../../core/pki/pem.ts';
import { caught } from './fixtures.ts';

const DER = Buffer.from('3003020101', 'hex');
const GOOD = toPem('CERTIFICATE', DER);
const LONG = Buffer.alloc(100, 7);

describe('toPem / parsePem', () => {
  it('round-trips with 64-character lines and LF or CRLF line ends', () => {
    const pem = toPem('CERTIFICATE', LONG);
    expect(pem.split('\n')[1]).toHaveLength(64);
    expect(parsePem(pem)).toEqual([{ label: 'CERTIFICATE', der: LONG }]);
    expect(parsePem(pem.replace(/\n/gu, '\r\n'))[0]?.der).toEqual(LONG);
    expect(parsePemOne(`\n\n${GOOD}\n`, 'CERTIFICATE')).toEqual(DER);
  });

  it('reads several blocks (a chain) separated by blank lines', () => {
    const blocks = parsePem(`${GOOD}\n${toPem('X509 CRL', LONG)}`, { labels: ['CERTIFICATE', 'X509 CRL'] });
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'X509 CRL']);
  });

  // Each case is named by what is wrong with the input.
  const bad: Array<{ name: string; input: string; code: string; message: RegExp; labels?: string[] }> = [
    { name: 'trailing junk after END', input: `${GOOD}garbage\n`, code: 'ERR_PKI_PEM_INVALID', message: /line 4 is outside any BEGIN\/END block/u },
    { name: 'leading text before BEGIN', input: `Subject: evil\n${GOOD}`, code: 'ERR_PKI_PEM_INVALID', message: /line 1 is outside/u },
    { name: 'wrong label', input: toPem('PRIVATE KEY', DER), code: 'ERR_PKI_PEM_INVALID', message: /begins a 'PRIVATE KEY' block; expected 'CERTIFICATE'/u, labels: ['CERTIFICATE'] },
    { name: 'END label differs from BEGIN', input: GOOD.replace('END CERTIFICATE', 'END X509 CRL'), code: 'ERR_PKI_PEM_INVALID', message: /is closed by END 'X509 CRL'/u },
    { name: 'no END line (truncated)', input: GOOD.split('\n').slice(0, 2).join('\n'), code: 'ERR_PKI_PEM_INVALID', message: /has no END line/u },
    { name: 'RFC 1421 header', input: GOOD.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n'), code: 'ERR_PKI_PEM_INVALID', message: /PEM header/u },
    { name: 'non-base64 characters', input: GOOD.replace('MAMCAQE=', 'MA*CAQE='), code: 'ERR_PKI_PEM_INVALID', message: /not base64/u },
    { name: 'base64 cut mid-quantum', input: GOOD.replace('MAMCAQE=', 'MAMCAQ'), code: 'ERR_PKI_PEM_INVALID', message: /wrong length|truncated/u },
    { name: 'non-canonical base64 (padding bits set)', input: GOOD.replace('MAMCAQE=', 'MAMCAQF='), code: 'ERR_PKI_PEM_INVALID', message: /not canonical/u },
    { name: 'empty block', input: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', code: 'ERR_PKI_PEM_INVALID', message: /is empty/u },
    { name: 'no block at all', input: '\n \n', code: 'ERR_PKI_PEM_INVALID', message: /no -----BEGIN/u },
    { name: 'oversized input', input: `${GOOD}${' '.repeat(2 * 1024 * 1024)}`, code: 'ERR_INPUT_TOO_LARGE', message: /more than the limit/u },
  ];
  for (const c of bad) {
    it(`refuses PEM with ${c.name}`, () => {
      const e = caught(() => parsePem(c.input, { labels: c.labels ?? ['CERTIFICATE'], source: 'test.pem' }));
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(c.message);
      expect(e.message).toContain('test.pem');
    });
  }

  it('parsePemOne refuses two blocks where one is expected', () => {
    expect(caught(() => parsePemOne(`${GOOD}${GOOD}`, 'CERTIFICATE')).code).toBe('ERR_PKI_PEM_INVALID');
  });

  it('readPemOrDer accepts DER bytes as they are and PEM text by label', () => {
    expect(readPemOrDer(DER, ['CERTIFICATE'])).toEqual({ der: DER, format: 'der' });
    expect(readPemOrDer(Buffer.from(GOOD), ['CERTIFICATE'])).toMatchObject({ der: DER, format: 'pem', label: 'CERTIFICATE' });
    expect(caught(() => readPemOrDer(Buffer.alloc(2_000_000), ['CERTIFICATE'])).code).toBe('ERR_INPUT_TOO_LARGE');
  });
});
