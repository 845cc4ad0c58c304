/**
 * A small PKI made with OpenSSL (the independent implementation) for the cacerts tests: a root CA,
 * an intermediate for istiod (made from a CSR, pathlen 0), an unrelated root, and CRLs of both CAs
 * produced by `openssl ca -gencrl`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { runOk } from '../../helpers/tools.ts';

export interface TestPki {
  dir: string;
  root: string;
  intermediate: string;
  csr: string;
  intermediateKey: string;
  otherRoot: string;
  otherCsr: string;
  rootCrl: string;
  intermediateCrl: string;
  leaf: string;
}

function caConf(dir: string, name: string, cert: string, key: string): string {
  const base = join(dir, name);
  writeFileSync(`${base}.index`, '');
  writeFileSync(`${base}.crlnumber`, '01\n');
  const conf = `${base}.cnf`;
  writeFileSync(conf, `[ca]\ndefault_ca = CA\n[CA]\ndatabase = ${base}.index\ncrlnumber = ${base}.crlnumber\ncertificate = ${cert}\nprivate_key = ${key}\ndefault_md = sha256\ndefault_crl_days = 7\n`);
  return conf;
}

/** Builds the PKI in `dir`. */
export function makePki(dir: string): TestPki {
  const p = (n: string): string => join(dir, n);
  const caExt = p('ca.ext');
  writeFileSync(caExt, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const leafExt = p('leaf.ext');
  writeFileSync(leafExt, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=critical,URI:spiffe://cluster.local/ns/shop/sa/orders\nauthorityKeyIdentifier=keyid\n');
  const root = (name: string): void =>
    void runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`), '-days', '3650', '-subj', `/O=NEAM Test/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  root('root');
  root('other-root');
  runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('int.key'), '-out', p('int.csr'), '-subj', '/O=NEAM Test/CN=istiod intermediate']);
  runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('other.key'), '-out', p('other.csr'), '-subj', '/CN=other']);
  runOk('openssl', ['x509', '-req', '-in', p('int.csr'), '-CA', p('root.pem'), '-CAkey', p('root.key'), '-CAcreateserial', '-out', p('int.pem'), '-days', '90', '-extfile', caExt]);
  runOk('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('leaf.key'), '-out', p('leaf.csr'), '-subj', '/']);
  runOk('openssl', ['x509', '-req', '-in', p('leaf.csr'), '-CA', p('int.pem'), '-CAkey', p('int.key'), '-CAcreateserial', '-out', p('leaf.pem'), '-days', '1', '-extfile', leafExt]);
  runOk('openssl', ['ca', '-gencrl', '-config', caConf(dir, 'rootca', p('root.pem'), p('root.key')), '-out', p('root.crl')]);
  runOk('openssl', ['ca', '-gencrl', '-config', caConf(dir, 'intca', p('int.pem'), p('int.key')), '-out', p('int.crl')]);
  const r = (n: string): string => readFileSync(p(n), 'utf8');
  return { dir, root: r('root.pem'), intermediate: r('int.pem'), csr: r('int.csr'), intermediateKey: r('int.key'), otherRoot: r('other-root.pem'), otherCsr: r('other.csr'), rootCrl: r('root.crl'), intermediateCrl: r('int.crl'), leaf: r('leaf.pem') };
}
