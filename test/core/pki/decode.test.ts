import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseCertificate, parseCrl, parseCsr, verifyCsrSignature, detectKind } from '../../../core/pki/decode.ts';
import { summarizeCertificate, summarizeCsr, summarizeCrl } from '../../../core/pki/describe.ts';
import { parsePemOne } from '../../../core/pki/pem.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { caught, opensslCsr } from './fixtures.ts';

describe('decoding objects made by OpenSSL (independent producer)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const dir = (): string => {
    const t = tempDir('neam-pki-');
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('parseCertificate reads every field of an OpenSSL CA certificate as OpenSSL prints it', () => {
    const d = dir();
    const key = join(d, 'ca.key');
    const crt = join(d, 'ca.pem');
    runOk('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '30', '-subj', '/C=DE/O=Example Org/CN=Example CA',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:2',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
      '-addext', 'subjectAltName=URI:spiffe://example.org,DNS:ca.example.org,IP:10.0.0.1,email:ca@example.org',
      '-addext', 'nameConstraints=critical,permitted;URI:example.org,permitted;DNS:.example.org,excluded;DNS:bad.example.org',
      '-addext', 'crlDistributionPoints=URI:http://crl.example.org/ca.crl',
      '-addext', 'authorityInfoAccess=caIssuers;URI:http://pki.example.org/ca.der,OCSP;URI:http://ocsp.example.org',
    ]);
    const pem = readFileSync(crt, 'utf8');
    const c = parseCertificate(pem);
    const serial = runOk('openssl', ['x509', '-in', crt, '-noout', '-serial']).trim().replace('serial=', '').toLowerCase();
    const fp = runOk('openssl', ['x509', '-in', crt, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1]?.replace(/:/gu, '').toLowerCase();
    const ski = runOk('openssl', ['x509', '-in', crt, '-noout', '-ext', 'subjectKeyIdentifier']).split('\n')[1]?.trim().replace(/:/gu, '').toLowerCase();
    expect(c.serial.replace(/^0+/u, '')).toBe(serial.replace(/^0+/u, ''));
    expect(c.sha256).toBe(fp);
    expect(c.subjectKeyIdentifier).toBe(ski);
    expect(c.subject.text).toBe('CN=Example CA,O=Example Org,C=DE');
    expect(c.selfIssued).toBe(true);
    expect(c.publicKey).toMatchObject({ type: 'EC', curve: 'P-256' });
    expect(c.signatureAlgorithm.sign).toBe('ECDSA-SHA256');
    expect(c.basicConstraints).toEqual({ critical: true, ca: true, pathLen: 2 });
    expect(c.keyUsage).toEqual({ critical: true, usages: ['digitalSignature', 'keyCertSign', 'cRLSign'] });
    expect(c.extKeyUsage).toEqual({ critical: false, usages: ['serverAuth', 'clientAuth'] });
    expect(c.subjectAltName?.names).toEqual([
      { type: 'uri', value: 'spiffe://example.org' },
      { type: 'dns', value: 'ca.example.org' },
      { type: 'ip', value: '10.0.0.1' },
      { type: 'email', value: 'ca@example.org' },
    ]);
    expect(c.nameConstraints).toEqual({
      critical: true,
      permitted: [{ type: 'uri', value: 'example.org' }, { type: 'dns', value: '.example.org' }],
      excluded: [{ type: 'dns', value: 'bad.example.org' }],
    });
    expect(c.crlDistributionPoints).toEqual(['http://crl.example.org/ca.crl']);
    expect(c.authorityInfoAccess).toEqual({ caIssuers: ['http://pki.example.org/ca.der'], ocsp: ['http://ocsp.example.org'] });
    // The raw TBS is the exact slice OpenSSL signed: it verifies with the certificate's key.
    writeFileSync(join(d, 'tbs.der'), c.tbsDer);
    writeFileSync(join(d, 'sig.der'), c.signatureValue);
    runOk('openssl', ['x509', '-in', crt, '-noout', '-pubkey', '-out', join(d, 'pub.pem')]);
    expect(runOk('openssl', ['dgst', '-sha256', '-verify', join(d, 'pub.pem'), '-signature', join(d, 'sig.der'), join(d, 'tbs.der')]).trim()).toBe('Verified OK');
    expect(summarizeCertificate(c).nameConstraints?.permitted).toEqual(['URI:example.org', 'DNS:.example.org']);
    expect(detectKind(c.der)).toBe('certificate');
  });

  it('parseCsr reads an OpenSSL CSR, verifies its signature, and lists requested extensions without trusting them', () => {
    const d = dir();
    const pem = opensslCsr(d, 'req', ['-newkey', 'rsa:2048'], '/CN=online 1', ['basicConstraints=critical,CA:TRUE', 'subjectAltName=DNS:evil.example.com']);
    const c = parseCsr(pem);
    verifyCsrSignature(c);
    expect(c.subject.text).toBe('CN=online 1');
    expect(c.publicKey).toMatchObject({ type: 'RSA', bits: 2048, exponent: 65537 });
    expect(summarizeCsr(c).requestedExtensions).toEqual(['basicConstraints CA:TRUE (critical)', 'subjectAltName DNS:evil.example.com']);
    expect(detectKind(c.der)).toBe('csr');
  });

  it('verifyCsrSignature refuses a CSR whose signature was altered, and one signed with SHA-1', () => {
    const d = dir();
    const der = Buffer.from(parsePemOne(opensslCsr(d, 'a', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']), 'CERTIFICATE REQUEST'));
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
    const e = caught(() => verifyCsrSignature(parseCsr(der)));
    expect(e.code).toBe('ERR_PKI_CSR_SIGNATURE_INVALID');
    expect(e.message).toMatch(/does not verify/u);
    const sha1 = parseCsr(opensslCsr(d, 'b', ['-newkey', 'rsa:2048', '-sha1']));
    const e2 = caught(() => verifyCsrSignature(sha1));
    expect(e2.code).toBe('ERR_PKI_CSR_SIGNATURE_INVALID');
    expect(e2.message).toMatch(/sha1WithRSAEncryption is not accepted/u);
  });

  it('parseCrl reads a CRL made by `openssl ca -gencrl` with a revoked entry and reason', () => {
    const d = dir();
    runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(d, 'ca.key'), '-out', join(d, 'ca.pem'), '-days', '30', '-subj', '/CN=CRL CA', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    writeFileSync(join(d, 'index.txt'), 'R\t300101000000Z\t240101000000Z,keyCompromise\t0A1B\tunknown\t/CN=gone\n');
    writeFileSync(join(d, 'crlnumber'), '1000\n');
    writeFileSync(
      join(d, 'ca.cnf'),
      `[ca]\ndefault_ca=x\n[x]\ndatabase=${d}/index.txt\ncrlnumber=${d}/crlnumber\ndefault_md=sha256\ndefault_crl_days=7\ncrl_extensions=ext\n[ext]\nauthorityKeyIdentifier=keyid:always\n`,
    );
    runOk('openssl', ['ca', '-gencrl', '-config', join(d, 'ca.cnf'), '-keyfile', join(d, 'ca.key'), '-cert', join(d, 'ca.pem'), '-out', join(d, 'crl.pem')]);
    const c = parseCrl(readFileSync(join(d, 'crl.pem'), 'utf8'));
    expect(c.version).toBe(2);
    expect(c.crlNumber).toBe(0x1000n);
    expect(c.revoked).toHaveLength(1);
    expect(c.revoked[0]).toMatchObject({ serial: '0a1b', reason: 'keyCompromise' });
    expect(c.revoked[0]?.revocationDate.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(c.nextUpdate!.getTime() - c.thisUpdate.getTime()).toBe(7 * 86_400_000);
    expect(c.authorityKeyIdentifier?.keyIdentifier).toBe(parseCertificate(readFileSync(join(d, 'ca.pem'))).subjectKeyIdentifier);
    expect(summarizeCrl(c).crlNumber).toBe('4096');
    expect(detectKind(c.der)).toBe('crl');
  });
});
