/**
 * @module pki/default-profiles
 * The platform's default profiles (design brief §2; docs/profiles/*.yaml hold the same data as
 * files to copy and edit, and a test keeps them equal):
 * - `root`: RSA-4096, SHA-256, 10 years, CA:TRUE critical, pathLen 1, keyCertSign+cRLSign critical, no EKU.
 * - `intermediate`: RSA-2048, 90 days, pathLen 0, keyCertSign+cRLSign only (X509-SVID Appendix A
 *   keeps digitalSignature off signing certificates), URI name constraint permitting only the trust
 *   domain, SAN `spiffe://<trust domain>`, SKI/AKI.
 * - `intermediate-ecdsa`: the same with an ECDSA P-256 key.
 * - `workload-svid`: ECDSA P-256, 24 hours, one SPIFFE ID URI SAN, digitalSignature, serverAuth+clientAuth.
 * - `transfer`: self-signed ECDSA P-256, 2 years, digitalSignature, for transfer-bundle identities.
 * - `crl-root`, `crl-intermediate`: CRLs of the root (CA certificates only) and of an intermediate.
 *
 * Must never: be changed without changing docs/profiles and docs/pki.md.
 */
import { CoreError } from '../errors.ts';
import { profileFromObject, type CertificateProfile, type CrlProfile, type Profile, type ProfileInput } from './profile.ts';

/** The trust domain the default profiles name; re-target with `profileForTrustDomain`. */
export const DEFAULT_TRUST_DOMAIN = 'example.org';

/** The default profiles as written (the YAML files in docs/profiles say exactly this). */
export const DEFAULT_PROFILE_INPUTS: Readonly<Record<string, ProfileInput>> = {
  root: {
    name: 'root',
    kind: 'certificate',
    description: 'Offline root CA: self-signed, signs only intermediate CA certificates and its CRL.',
    role: 'root',
    subjectKey: ['rsa-4096'],
    signatureHash: 'SHA-256',
    serialBytes: 16,
    validity: { duration: '10y', backdate: '0s' },
    subject: { organization: 'NEAM CA', commonName: 'NEAM Root CA' },
    basicConstraints: { critical: true, ca: true, pathLen: 1 },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
    subjectKeyIdentifier: true,
    authorityKeyIdentifier: false,
  },
  intermediate: {
    name: 'intermediate',
    kind: 'certificate',
    description: 'Online intermediate CA (RSA-2048), signed by the root, constrained to the trust domain.',
    role: 'intermediate',
    trustDomain: DEFAULT_TRUST_DOMAIN,
    subjectKey: ['rsa-2048'],
    signatureHash: 'SHA-256',
    serialBytes: 16,
    validity: { duration: '90d', backdate: '0s' },
    subject: { organization: 'NEAM CA', commonName: 'NEAM Intermediate CA' },
    basicConstraints: { critical: true, ca: true, pathLen: 0 },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
    subjectKeyIdentifier: true,
    authorityKeyIdentifier: true,
    subjectAltName: { critical: false, uris: [`spiffe://${DEFAULT_TRUST_DOMAIN}`], dnsNames: [], requested: { uris: 0, dnsNames: 0 }, spiffe: true },
    nameConstraints: { critical: true, permittedUris: [DEFAULT_TRUST_DOMAIN], excludedUris: [], permittedDnsNames: [], excludedDnsNames: [] },
  },
  'intermediate-ecdsa': {
    name: 'intermediate-ecdsa',
    kind: 'certificate',
    description: 'Online intermediate CA with an ECDSA P-256 key, signed by the root, constrained to the trust domain.',
    role: 'intermediate',
    trustDomain: DEFAULT_TRUST_DOMAIN,
    subjectKey: ['ec-p256'],
    signatureHash: 'SHA-256',
    serialBytes: 16,
    validity: { duration: '90d', backdate: '0s' },
    subject: { organization: 'NEAM CA', commonName: 'NEAM Intermediate CA' },
    basicConstraints: { critical: true, ca: true, pathLen: 0 },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
    subjectKeyIdentifier: true,
    authorityKeyIdentifier: true,
    subjectAltName: { critical: false, uris: [`spiffe://${DEFAULT_TRUST_DOMAIN}`], dnsNames: [], requested: { uris: 0, dnsNames: 0 }, spiffe: true },
    nameConstraints: { critical: true, permittedUris: [DEFAULT_TRUST_DOMAIN], excludedUris: [], permittedDnsNames: [], excludedDnsNames: [] },
  },
  'workload-svid': {
    name: 'workload-svid',
    kind: 'certificate',
    description: 'Workload X509-SVID: one SPIFFE ID URI SAN, 24 hours, issued by an online intermediate.',
    role: 'leaf',
    trustDomain: DEFAULT_TRUST_DOMAIN,
    subjectKey: ['ec-p256'],
    signatureHash: 'SHA-256',
    serialBytes: 16,
    validity: { duration: '24h', backdate: '10s' },
    subject: {},
    basicConstraints: { critical: true, ca: false },
    keyUsage: { critical: true, usages: ['digitalSignature'] },
    extKeyUsage: { critical: false, usages: ['serverAuth', 'clientAuth'] },
    subjectKeyIdentifier: true,
    authorityKeyIdentifier: true,
    subjectAltName: { critical: 'if-subject-empty', uris: [], dnsNames: [], requested: { uris: 1, dnsNames: 10 }, spiffe: true },
  },
  transfer: {
    name: 'transfer',
    kind: 'certificate',
    description: 'Transfer-bundle signing identity: self-signed, pinned by fingerprint on the other side of the air gap.',
    role: 'self-signed',
    subjectKey: ['ec-p256'],
    signatureHash: 'SHA-256',
    serialBytes: 16,
    validity: { duration: '2y', backdate: '0s' },
    subject: { organization: 'NEAM CA', commonName: 'NEAM CA transfer key' },
    basicConstraints: { critical: true, ca: false },
    keyUsage: { critical: true, usages: ['digitalSignature'] },
    subjectKeyIdentifier: true,
    authorityKeyIdentifier: false,
  },
  'crl-root': {
    name: 'crl-root',
    kind: 'crl',
    description: "The root's CRL: lists revoked intermediate CA certificates only; issued at each root ceremony.",
    signatureHash: 'SHA-256',
    validity: { nextUpdate: '365d', backdate: '0s' },
    authorityKeyIdentifier: true,
    entries: 'ca-only',
    omitExpired: false,
  },
  'crl-intermediate': {
    name: 'crl-intermediate',
    kind: 'crl',
    description: "An online intermediate's CRL of revoked workload certificates; republished every few minutes.",
    signatureHash: 'SHA-256',
    validity: { nextUpdate: '24h', backdate: '1m' },
    authorityKeyIdentifier: true,
    entries: 'any',
    omitExpired: true,
  },
};

/** Names of the built-in profiles. */
export const DEFAULT_PROFILE_NAMES = Object.keys(DEFAULT_PROFILE_INPUTS);

/**
 * A built-in profile by name, validated. Use `parseProfile` for a profile file.
 * @throws {CoreError} ERR_PKI_PROFILE_INVALID (unknown name)
 */
export function defaultProfile(name: 'root' | 'intermediate' | 'intermediate-ecdsa' | 'workload-svid' | 'transfer'): CertificateProfile;
export function defaultProfile(name: 'crl-root' | 'crl-intermediate'): CrlProfile;
export function defaultProfile(name: string): Profile;
export function defaultProfile(name: string): Profile {
  const input = DEFAULT_PROFILE_INPUTS[name];
  if (input === undefined) {
    throw new CoreError('ERR_PKI_PROFILE_INVALID', `there is no built-in profile '${name}'; built-in profiles: ${DEFAULT_PROFILE_NAMES.join(', ')} (or give a profile file)`);
  }
  return profileFromObject(structuredClone(input), `built-in '${name}'`);
}
