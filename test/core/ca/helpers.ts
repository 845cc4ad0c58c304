/**
 * Fixtures for the CA tests on SoftHSM: a token with a root key, a PKI store in the token's
 * temporary folder, CSRs made with HSM keys, and file helpers for the OpenSSL/GnuTLS oracles.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { hsmSigner, type Signer } from '../../../core/crypto/signer.ts';
import { openCaStore, prepareRoot, signPrepared, type CaStore, type IssuedCertificate } from '../../../core/ca/index.ts';
import type { KeyRef, KeySpec } from '../../../core/hsm/index.ts';
import { buildCsr, signAlgorithmFor, toPem, type CertificateProfile } from '../../../core/pki/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { createSoftHsm, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { caught, profileWith } from '../pki/fixtures.ts';

export interface CaFixture {
  fx: SoftHsmFixture;
  store: CaStore;
  dir: string;
  /** `(n) => session.random(n)`: the HSM RNG. */
  random: (n: number) => Buffer;
  file(name: string, data: string | Buffer): string;
  /** Row counts of the pki tables (to prove nothing was written). */
  counts(): { certificates: number; crls: number; revocations: number };
  close(): void;
}

export function createCa(): CaFixture {
  const fx = createSoftHsm('ca-token');
  const store = openCaStore(openStore(join(fx.dir, 'ca.sqlite')));
  return {
    fx,
    store,
    dir: fx.dir,
    random: (n) => fx.session.random(n),
    file(name, data) {
      const p = join(fx.dir, name);
      writeFileSync(p, data);
      return p;
    },
    counts() {
      const n = (t: string): number => (store.store.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
      return { certificates: n('pki_certificates'), crls: n('pki_crls'), revocations: n('pki_revocations') };
    },
    close() {
      store.store.close();
      fx.close();
    },
  };
}

/**
 * Runs `fn`, expects the CoreError `code` (and `message` when given), and proves the HSM signed
 * nothing and the store is unchanged. Returns the message.
 */
export function expectRefused(ca: CaFixture, fn: () => unknown, code: string, message?: RegExp): string {
  const sigs = ca.fx.hsm.stats.signatures;
  const counts = ca.counts();
  const e = caught(fn);
  expect(e.code, e.message).toBe(code);
  if (message !== undefined) expect(e.message).toMatch(message);
  expect(ca.fx.hsm.stats.signatures, 'HSM signatures').toBe(sigs);
  expect(ca.counts(), 'store rows').toEqual(counts);
  return e.message;
}

/** A root profile allowing RSA-2048 (fast key generation) unless the real default is asked for. */
export function testRootProfile(o: Record<string, unknown> = {}): CertificateProfile {
  return profileWith('root', { subjectKey: ['rsa-2048', 'rsa-4096'], ...o });
}

export interface HsmKey {
  key: KeyRef;
  spki: Buffer;
  signer(alg?: Signer['algorithm']): Signer;
}

export function hsmKey(ca: CaFixture, spec: KeySpec, label: string): HsmKey {
  const pair = ca.fx.session.generateKeyPair(spec, { label });
  const defaultAlg = signAlgorithmFor(pair.spki, spec.type === 'EC' && spec.curve === 'P-384' ? 'SHA-384' : 'SHA-256');
  return { key: pair.privateKey, spki: pair.spki, signer: (alg = defaultAlg) => hsmSigner(ca.fx.session, pair.privateKey, alg) };
}

/** Creates a root in the HSM and records it. */
export function makeRoot(ca: CaFixture, opts: { profile?: CertificateProfile; bits?: 2048 | 4096; now?: Date } = {}): { key: HsmKey; issued: IssuedCertificate; pemPath: string } {
  const key = hsmKey(ca, { type: 'RSA', bits: opts.bits ?? 2048 }, 'root');
  const now = opts.now ?? new Date();
  const prepared = prepareRoot({ profile: opts.profile ?? testRootProfile(), spki: key.spki, now, random: ca.random, store: ca.store });
  const issued = signPrepared(prepared, key.signer(prepared.signatureAlgorithm), { store: ca.store, ceremony: { id: 'test-root', rehearsal: true }, now });
  return { key, issued, pemPath: ca.file('root.pem', issued.pem) };
}

/** A CSR (PEM) for an HSM key, as the online CA makes it. */
export function hsmCsr(ca: CaFixture, spec: KeySpec, label: string): { key: HsmKey; pem: string } {
  const key = hsmKey(ca, spec, label);
  const { der } = buildCsr({ subject: { commonName: `online ${label}` }, signer: key.signer() });
  return { key, pem: toPem('CERTIFICATE REQUEST', der) };
}
