import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { prepareCacerts, type CacertsInput } from '../../../core/istio/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run } from '../../helpers/tools.ts';
import { makePki, type TestPki } from './pki.ts';

let pki: TestPki;
let cleanup: () => void;
const now = (): Date => new Date();
beforeAll(() => {
  const t = tempDir('neam-istio-pki-');
  cleanup = t.cleanup;
  pki = makePki(t.dir);
});
afterAll(() => cleanup());

const input = (over: Partial<CacertsInput> = {}): CacertsInput => ({ caCert: pki.intermediate, certChain: pki.intermediate + pki.root, rootCert: pki.root, ...over });

async function refused(over: Partial<CacertsInput>, code: 'ERR_ISTIO_CACERTS_INVALID' | 'ERR_ISTIO_PRIVATE_KEY_REFUSED', when = now()): Promise<string> {
  try {
    await prepareCacerts(input(over), when);
  } catch (e) {
    if (isCoreError(e, code)) return e.message;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

describe('cacerts from certificate files (OpenSSL-made PKI)', () => {
  it('accepts an intermediate chained to its root, with CRLs and the matching CSR, and the output verifies with openssl', async () => {
    const m = await prepareCacerts(input({ caCrl: pki.intermediateCrl + pki.rootCrl, caCsr: pki.csr }), now());
    expect(Object.keys(m.files).sort()).toEqual(['ca-cert.pem', 'ca-crl.pem', 'cert-chain.pem', 'root-cert.pem']);
    expect(m.caCert.subject).toContain('istiod intermediate');
    expect(m.chain).toHaveLength(2);
    expect(m.crls).toHaveLength(2);
    // Second implementation: OpenSSL verifies the emitted chain, and a workload leaf through it.
    const d = pki.dir;
    for (const [k, v] of Object.entries(m.files)) writeFileSync(join(d, `out-${k}`), v);
    const verify = run('openssl', ['verify', '-x509_strict', '-CAfile', join(d, 'out-root-cert.pem'), '-untrusted', join(d, 'out-cert-chain.pem'), join(d, 'out-ca-cert.pem')]);
    expect(verify.status, verify.stderr).toBe(0);
    writeFileSync(join(d, 'leaf.pem'), pki.leaf);
    const leaf = run('openssl', ['verify', '-x509_strict', '-crl_check', '-CAfile', join(d, 'out-root-cert.pem'), '-untrusted', join(d, 'out-cert-chain.pem'), '-CRLfile', join(d, 'out-ca-crl.pem'), join(d, 'leaf.pem')]);
    expect(leaf.status, leaf.stderr).toBe(0);
    expect(Object.values(m.files).join('')).not.toMatch(/PRIVATE KEY/u);
  });

  it('refuses any private key, in any file, without echoing it', async () => {
    const msg = await refused({ caCert: pki.intermediate + pki.intermediateKey }, 'ERR_ISTIO_PRIVATE_KEY_REFUSED');
    expect(msg).toMatch(/ca-cert\.pem holds a private key/u);
    expect(msg).not.toContain(pki.intermediateKey.split('\n')[1] as string);
    await refused({ rootCert: pki.root + pki.intermediateKey }, 'ERR_ISTIO_PRIVATE_KEY_REFUSED');
    await refused({ certChain: `${pki.intermediate}-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n` }, 'ERR_ISTIO_PRIVATE_KEY_REFUSED');
  });

  const invalid: Array<{ field: string; over: () => Partial<CacertsInput>; message: RegExp; when?: () => Date }> = [
    { field: 'ca-cert.pem (two certificates)', over: () => ({ caCert: pki.intermediate + pki.root }), message: /exactly one certificate/u },
    { field: 'ca-cert.pem (not a CA)', over: () => ({ caCert: pki.leaf, certChain: pki.leaf + pki.intermediate + pki.root }), message: /is not a CA/u },
    { field: 'ca-cert.pem (no PEM)', over: () => ({ caCert: 'hello' }), message: /no PEM block/u },
    { field: 'ca-cert.pem (truncated DER)', over: () => ({ caCert: '-----BEGIN CERTIFICATE-----\nMIIBCgKCAQEA\n-----END CERTIFICATE-----\n' }), message: /could not be parsed/u },
    { field: 'cert-chain.pem (does not start with ca-cert)', over: () => ({ certChain: pki.root }), message: /must start with ca-cert/u },
    { field: 'cert-chain.pem (wrong order)', over: () => ({ certChain: pki.intermediate + pki.otherRoot }), message: /not signed by certificate 2/u },
    { field: 'root-cert.pem (another root)', over: () => ({ certChain: pki.intermediate, rootCert: pki.otherRoot }), message: /neither a root in root-cert.pem nor signed by one/u },
    { field: 'root-cert.pem (not self-signed)', over: () => ({ rootCert: pki.intermediate }), message: /not self-signed|not a CA/u },
    { field: 'validity (expired at now)', over: () => ({}), when: () => new Date(Date.now() + 200 * 86_400_000), message: /expired at/u },
    { field: 'validity (not yet valid)', over: () => ({}), when: () => new Date(Date.now() - 86_400_000), message: /not valid before/u },
    { field: 'ca-crl.pem (missing the root CRL)', over: () => ({ caCrl: pki.intermediateCrl }), message: /needs a CRL from every CA.*Test Root|root/u },
    { field: 'ca-crl.pem (stale)', over: () => ({ caCrl: pki.intermediateCrl + pki.rootCrl }), when: () => new Date(Date.now() + 10 * 86_400_000), message: /stale/u },
    { field: 'ca-crl.pem (a certificate instead)', over: () => ({ caCrl: pki.root }), message: /only X509 CRL blocks/u },
    { field: 'CSR (another key)', over: () => ({ caCsr: pki.otherCsr }), message: /not the CSR's/u },
  ];
  for (const c of invalid) it(`refuses ${c.field}`, async () => expect(await refused(c.over(), 'ERR_ISTIO_CACERTS_INVALID', c.when?.() ?? now())).toMatch(c.message));

  it('warns when the intermediate expires within 30 days', async () => {
    const m = await prepareCacerts(input(), new Date(Date.now() + 70 * 86_400_000));
    expect(m.warnings.join()).toMatch(/within 30 days/u);
  });
});
