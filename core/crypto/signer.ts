/**
 * @module crypto/signer
 * One signing interface for everything that signs (certificates, CRLs, CMS bundle manifests,
 * transcript records, approvals, OCSP): a key in the HSM or a software key look the same to the
 * pure builders. Signatures come back in X.509/CMS form (DER `Ecdsa-Sig-Value` for ECDSA,
 * PKCS#1 v1.5 for RSA).
 *
 * Must never: expose private key material; a software signer keeps its `KeyObject` private.
 */
import { createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';

import type { HsmSession, KeyRef, SignAlgorithm } from '../hsm/types.ts';

export type { SignAlgorithm } from '../hsm/types.ts';

/** Something that signs with one key. */
export interface Signer {
  readonly algorithm: SignAlgorithm;
  /** SubjectPublicKeyInfo DER of the signing key. */
  readonly spki: Buffer;
  /** Signs the message (not a digest). */
  sign(data: Uint8Array): Buffer;
}

/** A signer for a private key held in the HSM. */
export function hsmSigner(session: HsmSession, key: KeyRef, algorithm: SignAlgorithm): Signer {
  const spki = session.publicKeySpki(key);
  return { algorithm, spki, sign: (data) => session.sign(key, algorithm, data) };
}

const HASH: Record<SignAlgorithm, string> = {
  'RSA-PKCS1-SHA256': 'sha256',
  'RSA-PKCS1-SHA384': 'sha384',
  'RSA-PKCS1-SHA512': 'sha512',
  'ECDSA-SHA256': 'sha256',
  'ECDSA-SHA384': 'sha384',
};

/** The digest name (node:crypto) of a signature algorithm. */
export function hashOf(algorithm: SignAlgorithm): string {
  return HASH[algorithm];
}

/** A signer for a software private key (online intermediates unsealed in memory, tests). */
export function softwareSigner(privateKey: KeyObject, algorithm: SignAlgorithm): Signer {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const hash = HASH[algorithm];
  return { algorithm, spki, sign: (data) => nodeSign(hash, data, privateKey) };
}

/** Verifies a signature made by a {@link Signer} against an SPKI. */
export function verifySignature(algorithm: SignAlgorithm, spki: Buffer, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return nodeVerify(HASH[algorithm], data, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}
