/**
 * @module istio/cacerts
 * Istio's plug-in CA Secret `cacerts`, built from certificate files only: `ca-cert.pem` (the
 * intermediate istiod signs with), `cert-chain.pem` (ca-cert up to the root), `root-cert.pem`
 * (trust anchors) and optionally `ca-crl.pem`. istiod's private key (`ca-key.pem`) never passes
 * through NEAM CA: it is generated on the cluster side with the CSR, and added to the Secret there.
 * Before anything is emitted the chain is checked: ca-cert is a CA, cert-chain starts with it and
 * every link is signed by the next, the chain ends at a root in root-cert.pem, everything is valid
 * at `now`, every CRL is signed by a CA of the chain and current, and (when given) the CSR's public
 * key is ca-cert's.
 *
 * Must never: accept, copy or emit private key material (any `PRIVATE KEY` PEM block is refused
 * with ERR_ISTIO_PRIVATE_KEY_REFUSED), or read the clock.
 */
import { createHash } from 'node:crypto';

import { CoreError } from '../errors.ts';

/** The certificate files as given (PEM text). */
export interface CacertsInput {
  caCert: string;
  certChain: string;
  rootCert: string;
  caCrl?: string;
  /** The CSR istiod's key was made for (optional check that ca-cert carries that key). */
  caCsr?: string;
}

/** One certificate's reviewable facts. */
export interface CertSummary {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
}

/** Checked, normalised material for the Secret. */
export interface CacertsMaterial {
  files: { 'ca-cert.pem': string; 'cert-chain.pem': string; 'root-cert.pem': string; 'ca-crl.pem'?: string };
  caCert: CertSummary;
  chain: CertSummary[];
  roots: CertSummary[];
  crls: Array<{ issuer: string; thisUpdate: string; nextUpdate: string | null }>;
  /** Non-fatal observations (e.g. ca-cert expires within 30 days). */
  warnings: string[];
}

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/u;

/** True when `text` holds a PEM private key block of any kind. */
export function containsPrivateKey(text: string | Uint8Array): boolean {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  return PRIVATE_KEY.test(s) || s.includes('PRIVATE KEY-----');
}

interface PemBlock {
  label: string;
  der: Buffer;
}

function pemBlocks(text: string, file: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/gu;
  let m: RegExpExecArray | null;
  // Text between blocks (openssl's human-readable dump) is ignored; only the blocks count.
  while ((m = re.exec(text)) !== null) {
    const body = (m[2] as string).replace(/\s+/gu, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/u.test(body)) throw new CoreError('ERR_ISTIO_CACERTS_INVALID', `${file}: a ${m[1]} PEM block is not valid base64`, { details: { file } });
    out.push({ label: m[1] as string, der: Buffer.from(body, 'base64') });
  }
  if (out.length === 0) throw new CoreError('ERR_ISTIO_CACERTS_INVALID', `${file}: no PEM block found (expected -----BEGIN CERTIFICATE-----)`, { details: { file } });
  return out;
}

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/gu, '$1\n').replace(/\n$/u, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function sha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/gu, '$1:');
}

/**
 * Checks the certificate files and returns normalised PEM (LF, 64-column) and summaries.
 * @throws {CoreError} ERR_ISTIO_PRIVATE_KEY_REFUSED when any input holds a private key;
 *   ERR_ISTIO_CACERTS_INVALID naming the file and the broken property.
 */
export async function prepareCacerts(input: CacertsInput, now: Date): Promise<CacertsMaterial> {
  const named: Array<[string, string | undefined]> = [
    ['ca-cert.pem', input.caCert],
    ['cert-chain.pem', input.certChain],
    ['root-cert.pem', input.rootCert],
    ['ca-crl.pem', input.caCrl],
    ['CSR', input.caCsr],
  ];
  for (const [file, text] of named) {
    if (text !== undefined && containsPrivateKey(text)) {
      throw new CoreError('ERR_ISTIO_PRIVATE_KEY_REFUSED', `${file} holds a private key. NEAM CA never handles istiod's key: it stays on the cluster side, where the CSR was made, and is added to the cacerts Secret there. Pass certificate files only`, { details: { file } });
    }
  }
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const bad = (file: string, message: string): CoreError => new CoreError('ERR_ISTIO_CACERTS_INVALID', `${file}: ${message}`, { details: { file } });
  const certs = (file: string, text: string): InstanceType<typeof x509.X509Certificate>[] =>
    pemBlocks(text, file).map((b) => {
      if (b.label !== 'CERTIFICATE') throw bad(file, `holds a ${b.label} block; only CERTIFICATE blocks belong here`);
      try {
        return new x509.X509Certificate(b.der);
      } catch (e) {
        throw new CoreError('ERR_ISTIO_CACERTS_INVALID', `${file}: a certificate could not be parsed (truncated or not DER X.509)`, { cause: e, details: { file } });
      }
    });
  const summary = (c: InstanceType<typeof x509.X509Certificate>): CertSummary => ({ subject: c.subject, issuer: c.issuer, serial: c.serialNumber, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), sha256: sha256(new Uint8Array(c.rawData)) });
  const same = (a: InstanceType<typeof x509.X509Certificate>, b: InstanceType<typeof x509.X509Certificate>): boolean => Buffer.from(a.rawData).equals(Buffer.from(b.rawData));
  const isCa = (c: InstanceType<typeof x509.X509Certificate>): boolean => c.getExtension(x509.BasicConstraintsExtension)?.ca === true;
  const signedBy = async (c: InstanceType<typeof x509.X509Certificate>, issuer: InstanceType<typeof x509.X509Certificate>): Promise<boolean> => {
    try {
      return await c.verify({ publicKey: issuer.publicKey, signatureOnly: true });
    } catch {
      return false;
    }
  };
  const warnings: string[] = [];
  const checkValid = (file: string, c: InstanceType<typeof x509.X509Certificate>): void => {
    if (c.notBefore.getTime() > now.getTime()) throw bad(file, `certificate "${c.subject}" is not valid before ${c.notBefore.toISOString()}`);
    if (c.notAfter.getTime() <= now.getTime()) throw bad(file, `certificate "${c.subject}" expired at ${c.notAfter.toISOString()}`);
    if (c.notAfter.getTime() - now.getTime() < 30 * 86_400_000) warnings.push(`${file}: certificate "${c.subject}" expires ${c.notAfter.toISOString()}, within 30 days`);
  };

  const caList = certs('ca-cert.pem', input.caCert);
  if (caList.length !== 1) throw bad('ca-cert.pem', `must hold exactly one certificate (istiod's signing certificate), found ${caList.length}`);
  const ca = caList[0] as InstanceType<typeof x509.X509Certificate>;
  if (!isCa(ca)) throw bad('ca-cert.pem', `certificate "${ca.subject}" is not a CA (basicConstraints CA:TRUE is required to sign workload certificates)`);
  const ku = ca.getExtension(x509.KeyUsagesExtension);
  if (ku !== null && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) throw bad('ca-cert.pem', `certificate "${ca.subject}" lacks keyUsage keyCertSign`);
  checkValid('ca-cert.pem', ca);

  const chain = certs('cert-chain.pem', input.certChain);
  if (!same(chain[0] as InstanceType<typeof x509.X509Certificate>, ca)) throw bad('cert-chain.pem', 'must start with ca-cert.pem (istiod appends this chain to every workload certificate)');
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i] as InstanceType<typeof x509.X509Certificate>;
    checkValid('cert-chain.pem', c);
    if (!isCa(c)) throw bad('cert-chain.pem', `certificate ${i + 1} ("${c.subject}") is not a CA`);
    const next = chain[i + 1];
    if (next !== undefined && !(await signedBy(c, next))) throw bad('cert-chain.pem', `certificate ${i + 1} ("${c.subject}") is not signed by certificate ${i + 2} ("${next.subject}"); order the chain from ca-cert up to the root`);
  }
  const roots = certs('root-cert.pem', input.rootCert);
  for (const r of roots) {
    checkValid('root-cert.pem', r);
    if (!isCa(r)) throw bad('root-cert.pem', `"${r.subject}" is not a CA certificate`);
    if (!(await signedBy(r, r))) throw bad('root-cert.pem', `"${r.subject}" is not self-signed: root-cert.pem holds trust anchors (roots) only`);
  }
  const last = chain[chain.length - 1] as InstanceType<typeof x509.X509Certificate>;
  let anchored = roots.some((r) => same(r, last));
  if (!anchored) for (const r of roots) if (await signedBy(last, r)) anchored = true;
  if (!anchored) throw bad('cert-chain.pem', `the chain ends at "${last.subject}", which is neither a root in root-cert.pem nor signed by one`);

  const crls: CacertsMaterial['crls'] = [];
  let crlPem: string | undefined;
  if (input.caCrl !== undefined) {
    const blocks = pemBlocks(input.caCrl, 'ca-crl.pem');
    const pems: string[] = [];
    const covered = new Set<number>();
    for (const b of blocks) {
      if (b.label !== 'X509 CRL') throw bad('ca-crl.pem', `holds a ${b.label} block; only X509 CRL blocks belong here`);
      let crl: InstanceType<typeof x509.X509Crl>;
      try {
        crl = new x509.X509Crl(b.der);
      } catch (e) {
        throw new CoreError('ERR_ISTIO_CACERTS_INVALID', 'ca-crl.pem: a CRL could not be parsed', { cause: e, details: { file: 'ca-crl.pem' } });
      }
      let signer = -1;
      for (let i = 0; i < chain.length && signer < 0; i++) {
        try {
          if (await crl.verify({ publicKey: (chain[i] as InstanceType<typeof x509.X509Certificate>).publicKey })) signer = i;
        } catch {
          // not this issuer
        }
      }
      if (signer < 0) throw bad('ca-crl.pem', `the CRL issued by "${crl.issuer}" is not signed by any certificate of cert-chain.pem`);
      if (crl.nextUpdate !== undefined && crl.nextUpdate.getTime() <= now.getTime()) throw bad('ca-crl.pem', `the CRL of "${crl.issuer}" is stale (nextUpdate ${crl.nextUpdate.toISOString()}); publish a fresh one`);
      covered.add(signer);
      crls.push({ issuer: crl.issuer, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() ?? null });
      pems.push(toPem('X509 CRL', b.der));
    }
    // istiod (keycertbundle.go Verify) requires a CRL from every CA in the chain once a CRL is given.
    const missing = chain.map((c, i) => (covered.has(i) ? undefined : c.subject)).filter((s): s is string => s !== undefined);
    if (missing.length > 0) throw bad('ca-crl.pem', `istiod needs a CRL from every CA in cert-chain.pem; missing for: ${missing.join('; ')}`);
    crlPem = pems.join('');
  }
  if (input.caCsr !== undefined) {
    const blocks = pemBlocks(input.caCsr, 'CSR');
    const b = blocks[0] as PemBlock;
    if (blocks.length !== 1 || (b.label !== 'CERTIFICATE REQUEST' && b.label !== 'NEW CERTIFICATE REQUEST')) throw bad('CSR', 'must hold one CERTIFICATE REQUEST block');
    let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
    try {
      csr = new x509.Pkcs10CertificateRequest(b.der);
    } catch (e) {
      throw new CoreError('ERR_ISTIO_CACERTS_INVALID', 'CSR: the certificate request could not be parsed', { cause: e, details: { file: 'CSR' } });
    }
    if (!Buffer.from(csr.publicKey.rawData).equals(Buffer.from(ca.publicKey.rawData))) throw bad('ca-cert.pem', "its public key is not the CSR's: this certificate was not issued for the key istiod holds");
  }
  const files: CacertsMaterial['files'] = {
    'ca-cert.pem': toPem('CERTIFICATE', Buffer.from(ca.rawData)),
    'cert-chain.pem': chain.map((c) => toPem('CERTIFICATE', Buffer.from(c.rawData))).join(''),
    'root-cert.pem': roots.map((c) => toPem('CERTIFICATE', Buffer.from(c.rawData))).join(''),
  };
  if (crlPem !== undefined) files['ca-crl.pem'] = crlPem;
  return { files, caCert: summary(ca), chain: chain.map(summary), roots: roots.map(summary), crls, warnings };
}

/** Keys the generated `cacerts` Secret may hold (certificate material only). */
export const CACERTS_KEYS = ['ca-cert.pem', 'cert-chain.pem', 'root-cert.pem', 'ca-crl.pem'] as const;
