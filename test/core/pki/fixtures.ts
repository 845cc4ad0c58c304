/**
 * Shared fixtures for the PKI tests: software keys and a small software-signed hierarchy built
 * through the real builders (for pure unit tests; the SoftHSM tests in test/core/ca use the HSM),
 * OpenSSL-made CSRs and keys, and a CoreError catcher.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { softwareSigner, type Signer } from '../../../core/crypto/signer.ts';
import { isCoreError } from '../../../core/errors.ts';
import {
  addDuration,
  assembleCertificate,
  buildTbsCertificate,
  encodeName,
  issuerFromCertificate,
  newSerial,
  parseCertificate,
  profileExtensions,
  profileFromObject,
  DEFAULT_PROFILE_INPUTS,
  type CertificateInfo,
  type CertificateProfile,
  type ProfileInput,
  type SubjectSpec,
} from '../../../core/pki/index.ts';
import { runOk } from '../../helpers/tools.ts';

/** The CoreError thrown by fn (fails the test when nothing or something else is thrown). */
export function caught(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> | undefined } {
  try {
    fn();
  } catch (e) {
    if (isCoreError(e)) return { code: e.code, message: e.message, details: e.details as Record<string, unknown> | undefined };
    throw e;
  }
  throw new Error('expected a CoreError, nothing was thrown');
}

/** A profile derived from a default one with overrides (validated). */
export function profileWith(name: string, overrides: Partial<ProfileInput> & Record<string, unknown>): CertificateProfile {
  return profileFromObject({ ...structuredClone(DEFAULT_PROFILE_INPUTS[name]), ...overrides }) as CertificateProfile;
}

export const rnd = (n: number): Buffer => randomBytes(n);

/** A software RSA or EC key with its signer. */
export function softKey(kind: 'rsa-2048' | 'ec-p256' | 'ec-p384'): { key: KeyObject; signer: Signer } {
  if (kind === 'rsa-2048') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { key: privateKey, signer: softwareSigner(privateKey, 'RSA-PKCS1-SHA256') };
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: kind === 'ec-p256' ? 'P-256' : 'P-384' });
  return { key: privateKey, signer: softwareSigner(privateKey, kind === 'ec-p256' ? 'ECDSA-SHA256' : 'ECDSA-SHA384') };
}

/** Builds and signs a certificate with the real builders, skipping the CA layer (unit tests). */
export function softCert(opts: {
  profile: CertificateProfile;
  subjectSigner: Signer;
  issuer?: { cert: CertificateInfo; signer: Signer };
  subject?: SubjectSpec;
  now?: Date;
  notBefore?: Date;
  notAfter?: Date;
  sans?: { uris?: string[]; dnsNames?: string[] };
}): { der: Buffer; info: CertificateInfo; tbs: Buffer } {
  const now = opts.now ?? new Date();
  const subject = opts.subject ?? opts.profile.subject;
  const subjectDer = encodeName(subject);
  const issuerInfo = opts.issuer === undefined ? undefined : issuerFromCertificate(opts.issuer.cert);
  const signer = opts.issuer?.signer ?? opts.subjectSigner;
  const tbs = buildTbsCertificate({
    serial: newSerial(rnd, opts.profile.serialBytes),
    signatureAlgorithm: signer.algorithm,
    issuerName: issuerInfo?.subjectDer ?? subjectDer,
    subjectName: subjectDer,
    notBefore: opts.notBefore ?? now,
    notAfter: opts.notAfter ?? addDuration(opts.notBefore ?? now, opts.profile.validity.duration),
    spki: opts.subjectSigner.spki,
    extensions: profileExtensions(opts.profile, {
      spki: opts.subjectSigner.spki,
      subjectEmpty: Object.keys(subject).length === 0,
      ...(issuerInfo === undefined ? {} : { issuerKeyIdentifier: issuerInfo.keyIdentifier }),
      ...(opts.sans === undefined ? {} : { sans: opts.sans }),
    }),
  });
  const der = assembleCertificate(tbs, signer.algorithm, signer.sign(tbs));
  return { der, info: parseCertificate(der), tbs };
}

/** A software root (RSA-2048) and intermediate (EC P-256) for unit tests. */
export function softHierarchy(now = new Date()): { root: { cert: CertificateInfo; signer: Signer }; intermediate: { cert: CertificateInfo; signer: Signer } } {
  const rootKey = softKey('rsa-2048');
  const root = softCert({ profile: profileWith('root', { subjectKey: ['rsa-2048'] }), subjectSigner: rootKey.signer, now });
  const intKey = softKey('ec-p256');
  const int = softCert({ profile: profileWith('intermediate-ecdsa', {}), subjectSigner: intKey.signer, issuer: { cert: root.info, signer: rootKey.signer }, now });
  return { root: { cert: root.info, signer: rootKey.signer }, intermediate: { cert: int.info, signer: intKey.signer } };
}

/** Makes a key and CSR with OpenSSL (`keyArgs` for `openssl req -newkey`), returns the CSR PEM. */
export function opensslCsr(dir: string, name: string, newkey: string[], subj = '/CN=test', addext: string[] = []): string {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  runOk('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', key, '-subj', subj, ...addext.flatMap((e) => ['-addext', e]), '-out', csr]);
  return readFileSync(csr, 'utf8');
}

/** Writes files into dir and returns their paths. */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, data] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], data);
  }
  return out;
}
