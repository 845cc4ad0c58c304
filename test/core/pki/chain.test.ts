import { describe, expect, it } from 'vitest';

import { addDuration, assembleCrl, buildTbsCertList, checkCrlIssuedBy, checkIssuedBy, defaultProfile, parseCertificate, parseCrl } from '../../../core/pki/index.ts';
import { caught, softCert, softHierarchy, softKey } from './fixtures.ts';

describe('checkIssuedBy / checkCrlIssuedBy', () => {
  const now = new Date();
  const { root, intermediate } = softHierarchy(now);

  it('accepts a certificate issued by the CA, and a self-signed certificate by itself', () => {
    checkIssuedBy(intermediate.cert, root.cert, now);
    checkIssuedBy(root.cert, root.cert);
    const t = softKey('ec-p256');
    const transfer = softCert({ profile: defaultProfile('transfer'), subjectSigner: t.signer }).info;
    checkIssuedBy(transfer, transfer);
  });

  // Each case is named by what breaks the chain.
  const cases: Array<{ name: string; run: () => unknown; message: RegExp }> = [
    { name: 'another issuer', run: () => checkIssuedBy(intermediate.cert, intermediate.cert), message: /names issuer/u },
    {
      name: 'an altered signature',
      run: () => {
        const der = Buffer.from(intermediate.cert.der);
        der[der.length - 8] = (der[der.length - 8] as number) ^ 1;
        return checkIssuedBy(parseCertificate(der), root.cert);
      },
      message: /does not verify/u,
    },
    { name: 'an issuer with the same name but another key', run: () => checkIssuedBy(intermediate.cert, softHierarchy(now).root.cert), message: /authority key identifier/u },
    { name: 'a time outside the validity', run: () => checkIssuedBy(intermediate.cert, root.cert, addDuration(now, '100d')), message: /is not valid at/u },
    { name: 'an issuer that is not a CA', run: () => checkIssuedBy(root.cert, intermediate.cert), message: /names issuer|not a CA/u },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      const e = caught(c.run);
      expect(e.code).toBe('ERR_PKI_CHAIN_INVALID');
      expect(e.message).toMatch(c.message);
    });
  }

  it('checks a CRL against its issuer', () => {
    const tbs = buildTbsCertList({ signatureAlgorithm: root.signer.algorithm, issuerName: root.cert.subject.der, thisUpdate: now, nextUpdate: addDuration(now, '1d'), revoked: [], crlNumber: 1n, authorityKeyIdentifier: root.cert.subjectKeyIdentifier as string });
    const crl = parseCrl(assembleCrl(tbs, root.signer.algorithm, root.signer.sign(tbs)));
    checkCrlIssuedBy(crl, root.cert);
    expect(caught(() => checkCrlIssuedBy(crl, intermediate.cert)).code).toBe('ERR_PKI_CHAIN_INVALID');
    const forged = parseCrl(assembleCrl(tbs, root.signer.algorithm, intermediate.signer.sign(tbs).subarray(0, 8)));
    expect(caught(() => checkCrlIssuedBy(forged, root.cert)).message).toMatch(/does not verify/u);
  });
});
