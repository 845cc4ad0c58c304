import { afterEach, describe, expect, it } from 'vitest';

import { addDuration, assembleCrl, buildTbsCertList, lintTbsCertList, profileFromObject, issuerFromCertificate, toPem, DEFAULT_PROFILE_INPUTS, type CrlProfile } from '../../../core/pki/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { softHierarchy, writeFiles } from './fixtures.ts';

describe('optional issuingDistributionPoint (onlyContainsCACerts) on a root CRL', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  // With distribution point URIs in the IDP, OpenSSL also requires the certificates to carry the same
  // cRLDistributionPoints ("different CRL scope" otherwise); see docs/pki.md.
  it('lints clean with a profile that asks for it, and OpenSSL honours it for an intermediate', () => {
    const { dir, cleanup } = tempDir('neam-idp-');
    cleanups.push(cleanup);
    const now = new Date();
    const { root, intermediate } = softHierarchy(now);
    const profile = profileFromObject({ ...DEFAULT_PROFILE_INPUTS['crl-root'], issuingDistributionPoint: { onlyContainsCACerts: true } }) as CrlProfile;
    const tbs = buildTbsCertList({
      signatureAlgorithm: root.signer.algorithm,
      issuerName: root.cert.subject.der,
      thisUpdate: now,
      nextUpdate: addDuration(now, '30d'),
      revoked: [{ serial: intermediate.cert.serial, revocationDate: now, reason: 'cessationOfOperation' }],
      crlNumber: 1n,
      authorityKeyIdentifier: root.cert.subjectKeyIdentifier as string,
      issuingDistributionPoint: { uris: [], onlyContainsCACerts: true, onlyContainsUserCerts: false },
    });
    expect(lintTbsCertList(tbs, { profile, issuer: issuerFromCertificate(root.cert), now, entryIsCa: () => true })).toEqual([]);
    const f = writeFiles(dir, { 'root.pem': toPem('CERTIFICATE', root.cert.der), 'int.pem': toPem('CERTIFICATE', intermediate.cert.der), 'crl.pem': toPem('X509 CRL', assembleCrl(tbs, root.signer.algorithm, root.signer.sign(tbs))) });
    const text = run('openssl', ['crl', '-in', f['crl.pem'] as string, '-noout', '-text']).stdout;
    expect(text).toMatch(/Issuing Distribution Point: critical\s+Only CA Certificates/u);
    const v = run('openssl', ['verify', '-x509_strict', '-crl_check', '-CRLfile', f['crl.pem'] as string, '-CAfile', f['root.pem'] as string, f['int.pem'] as string]);
    expect(`${v.stdout}${v.stderr}`, text).toMatch(/certificate revoked/u);
  });
});
