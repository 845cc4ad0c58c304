/**
 * @module online/svid-lint
 * The bridge between the issuance fast path and core/pki's linter: the platform's
 * `workload-svid` profile for our trust domain (with the P-384 workload keys this CA also
 * accepts and the fast path's clock-skew backdate), and a self-check that lints one certificate
 * built by each compiled template before the template issues anything.
 *
 * Must never: let a template that fails the lint issue a certificate.
 */
import { generateKeyPairSync } from 'node:crypto';

import { assertLintClean, DEFAULT_PROFILE_INPUTS, lintTbsCertificate, profileForTrustDomain, profileFromObject, type CertificateProfile, type IssuerInfo } from '../pki/index.ts';
import { NOT_BEFORE_CUSHION_MS, prepareFromKey } from './issuance.ts';
import type { SvidTemplate } from './svid-template.ts';

/**
 * The workload-svid profile as this CA issues it for `trustDomain`: P-256 and P-384 keys, the
 * fast path's backdate, at most `maxTtlSeconds`, and the revocation URLs of the intermediate.
 */
export function svidLintProfile(trustDomain: string, urls: { ocspUrl?: string | undefined; crlUrl?: string | undefined } = {}, maxTtlSeconds = 86_400): CertificateProfile {
  const base = DEFAULT_PROFILE_INPUTS['workload-svid'];
  const profile = profileFromObject(
    {
      ...base,
      subjectKey: ['ec-p256', 'ec-p384'],
      validity: { duration: `${maxTtlSeconds}s`, backdate: `${NOT_BEFORE_CUSHION_MS / 1000}s` },
      ...(urls.crlUrl === undefined ? {} : { crlDistributionPoints: [urls.crlUrl] }),
      ...(urls.ocspUrl === undefined ? {} : { authorityInfoAccess: { caIssuers: [], ocsp: [urls.ocspUrl] } }),
    },
    'the online SVID profile',
  ) as CertificateProfile;
  return profileForTrustDomain(profile, trustDomain);
}

/** Lints one SVID TBS with core/pki; returns the problems. */
export function lintSvid(tbs: Buffer, issuer: IssuerInfo, template: SvidTemplate, trustDomain: string, expected: { spiffeId: string; dnsNames: readonly string[] }, nowMs: number, maxTtlSeconds = 86_400): ReturnType<typeof lintTbsCertificate> {
  return lintTbsCertificate(tbs, {
    profile: svidLintProfile(trustDomain, { ocspUrl: template.issuer.ocspUrl, crlUrl: template.issuer.crlUrl }, maxTtlSeconds),
    issuer,
    now: new Date(nowMs),
    expected: { sans: { uris: [expected.spiffeId], dnsNames: expected.dnsNames } },
  });
}

/**
 * Builds a certificate for a throwaway key with the template and lints it with core/pki.
 * @throws {CoreError} ERR_PKI_LINT_FAILED naming every problem
 */
export function selfCheckTemplate(template: SvidTemplate, issuer: IssuerInfo, trustDomain: string, nowMs: number, maxTtlSeconds = 86_400): void {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
  const expected = { spiffeId: `spiffe://${trustDomain}/neam-ca-self-check`, dnsNames: ['self-check.example'] };
  const prepared = prepareFromKey(template, spki, 26, { ...expected, ttlSeconds: maxTtlSeconds, nowMs: Math.max(nowMs, template.issuer.notBeforeMs) });
  assertLintClean(lintSvid(prepared.tbs, issuer, template, trustDomain, expected, Math.max(nowMs, template.issuer.notBeforeMs), maxTtlSeconds), `the SVID template of intermediate ${template.issuer.id}`, 'before signing');
}
