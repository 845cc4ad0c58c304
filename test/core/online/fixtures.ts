/**
 * Test fixtures of the online CA: a throwaway root made and operated with the OpenSSL CLI (an
 * independent implementation signs our intermediate CSRs, so they are also checked by it), and a
 * test-only PKCS#10 builder for well-formed and hostile workload requests.
 */
import { createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ascii, oid, seq, tlv } from '../../../core/online/der.ts';
import { runOk } from '../../helpers/tools.ts';

/** A root CA on disk, operated with `openssl ca`. */
export interface TestRoot {
  dir: string;
  certPath: string;
  keyPath: string;
  confPath: string;
  pem: string;
  der: Buffer;
}

/** Creates a self-signed root (RSA-2048 for speed unless asked otherwise). */
export function createTestRoot(dir: string, opts: { keyAlg?: 'rsa' | 'ec'; trustDomain?: string; days?: number } = {}): TestRoot {
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  const td = opts.trustDomain ?? 'example.org';
  const confPath = join(dir, 'ca.cnf');
  writeFileSync(
    confPath,
    `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 30
policy = policy_any
copy_extensions = none
unique_subject = no
email_in_dn = no
[ policy_any ]
organizationName = optional
commonName = optional
[ req ]
distinguished_name = dn
[ dn ]
[ v3_root ]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_int ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = URI:spiffe://${td}
nameConstraints = critical, permitted;URI:${td}
[ v3_int_noconstraint ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_int_wrongtd ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = critical, permitted;URI:other.org
[ v3_notca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ crl_ext ]
authorityKeyIdentifier = keyid:always
`,
  );
  const keyPath = join(dir, 'root.key');
  const certPath = join(dir, 'root.pem');
  const newkey = opts.keyAlg === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  // Self-signed through `openssl ca -selfsign` so the root's validity starts a week ago (OpenSSL 3.0's
  // `req -x509` always starts now): intermediates backdated by hours then nest inside it, as core/ca
  // requires of an issuer it trusts through a chain.
  const csrPath = join(dir, 'root.csr');
  runOk('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', `/O=${td}/CN=Test Root CA`, '-config', confPath]);
  const startMs = Date.now() - 7 * 86_400_000;
  runOk('openssl', ['ca', '-batch', '-selfsign', '-config', confPath, '-keyfile', keyPath, '-in', csrPath, '-out', certPath, '-extensions', 'v3_root', '-startdate', asn1Time(startMs), '-enddate', asn1Time(startMs + (opts.days ?? 3650) * 86_400_000), '-notext', '-preserveDN']);
  const pem = readFileSync(certPath, 'utf8');
  return { dir, certPath, keyPath, confPath, pem, der: pemToDer(pem) };
}

function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/gu, '').replace(/\.\d+Z$/u, 'Z');
}

/** Signs an intermediate CSR with `openssl ca` for an exact window. Returns the PEM certificate. */
export function signIntermediate(root: TestRoot, csrPem: string, window: { startMs: number; endMs: number }, extensions = 'v3_int'): string {
  const csrPath = join(root.dir, `req-${Math.random().toString(16).slice(2)}.csr`);
  const outPath = `${csrPath}.pem`;
  writeFileSync(csrPath, csrPem);
  runOk('openssl', ['ca', '-batch', '-config', root.confPath, '-cert', root.certPath, '-keyfile', root.keyPath, '-in', csrPath, '-out', outPath, '-extensions', extensions, '-startdate', asn1Time(window.startMs), '-enddate', asn1Time(window.endMs), '-notext', '-preserveDN']);
  return readFileSync(outPath, 'utf8');
}

/** Revokes a certificate in the test root's database. */
export function revokeWithRoot(root: TestRoot, certPem: string): void {
  const p = join(root.dir, `revoke-${Math.random().toString(16).slice(2)}.pem`);
  writeFileSync(p, certPem);
  runOk('openssl', ['ca', '-batch', '-config', root.confPath, '-cert', root.certPath, '-keyfile', root.keyPath, '-revoke', p]);
}

/** The root's CRL (DER). */
export function rootCrl(root: TestRoot): Buffer {
  const p = join(root.dir, `root-${Math.random().toString(16).slice(2)}.crl`);
  runOk('openssl', ['ca', '-batch', '-config', root.confPath, '-cert', root.certPath, '-keyfile', root.keyPath, '-gencrl', '-crlexts', 'crl_ext', '-out', p]);
  return pemToDer(readFileSync(p, 'utf8'), 'X509 CRL');
}

/** DER of the first PEM block with `label`. */
export function pemToDer(pem: string, label = 'CERTIFICATE'): Buffer {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`, 'u').exec(pem);
  if (m === null) throw new Error(`no ${label} PEM block`);
  return Buffer.from((m[1] ?? '').replace(/\s+/gu, ''), 'base64');
}

/** PEM text of DER with `label`. */
export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/gu, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** Options of the test CSR builder. */
export interface TestCsrOptions {
  curve?: 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
  rsa?: boolean;
  uris?: string[];
  dnsNames?: string[];
  ips?: number[][];
  key?: KeyObject;
  hash?: 'sha256' | 'sha384';
  /** Corrupt the signature. */
  badSignature?: boolean;
  /** Drop the attributes field. */
  noAttributes?: boolean;
  /** Version number to encode. */
  version?: number;
}

/** A PKCS#10 request built by the test (not by the code under test), and its key. */
export function makeCsr(opts: TestCsrOptions = {}): { pem: string; der: Buffer; key: KeyObject } {
  const key =
    opts.key ??
    (opts.rsa === true
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : generateKeyPairSync('ec', { namedCurve: { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1', secp256k1: 'secp256k1' }[opts.curve ?? 'P-256'] }).privateKey);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const attrs: Buffer[] = [];
  if (opts.uris !== undefined || opts.dnsNames !== undefined || opts.ips !== undefined) {
    const names = [...(opts.uris ?? []).map((u) => ascii(0x86, u)), ...(opts.dnsNames ?? []).map((d) => ascii(0x82, d)), ...(opts.ips ?? []).map((ip) => tlv(0x87, Buffer.from(ip)))];
    attrs.push(seq(oid('1.2.840.113549.1.9.14'), tlv(0x31, seq(seq(oid('2.5.29.17'), tlv(0x04, seq(...names)))))));
  }
  const name = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('test workload')))));
  const info = seq(Buffer.from([0x02, 0x01, opts.version ?? 0]), name, spki, ...(opts.noAttributes === true ? [] : [tlv(0xa0, ...attrs)]));
  const isRsa = key.asymmetricKeyType === 'rsa';
  const hash = opts.hash ?? 'sha256';
  const sigAlg = isRsa ? seq(oid('1.2.840.113549.1.1.11'), Buffer.from([5, 0])) : seq(oid(hash === 'sha256' ? '1.2.840.10045.4.3.2' : '1.2.840.10045.4.3.3'));
  const sig = nodeSign(hash, info, key);
  if (opts.badSignature === true) sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 0x01;
  const der = seq(info, sigAlg, tlv(0x03, Buffer.from([0]), sig));
  return { der, pem: derToPem(der, 'CERTIFICATE REQUEST'), key };
}
