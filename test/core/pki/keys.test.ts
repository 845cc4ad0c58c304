import { checkPrimeSync, createHash, createPublicKey, generateKeyPairSync, generatePrimeSync, type KeyObject } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { checkPublicKey, decodeSpki, describeKey, keyIdentifier, signAlgorithmFor } from '../../../core/pki/keys.ts';
import { caught } from './fixtures.ts';

function spkiOf(k: { publicKey: KeyObject }): Buffer {
  return k.publicKey.export({ type: 'spki', format: 'der' });
}

function rsaSpkiFromModulus(n: bigint, e = 65537n): Buffer {
  const b64 = (x: bigint): string => Buffer.from(x.toString(16).padStart(Math.ceil(x.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
}

describe('checkPublicKey', () => {
  it('accepts RSA-2048/3072/4096 with e = 65537 and EC P-256/P-384', () => {
    expect(describeKey(checkPublicKey(spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 }))))).toBe('RSA-2048');
    expect(describeKey(checkPublicKey(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }))))).toBe('EC P-256');
    expect(describeKey(checkPublicKey(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }))))).toBe('EC P-384');
  });

  const p = generatePrimeSync(1024, { bigint: true });
  let q = p + 2n;
  while (!checkPrimeSync(q)) q += 2n;

  // Each case is named by what makes the key unacceptable.
  const bad: Array<{ name: string; spki: () => Buffer; code: string; message: RegExp; allowed?: Array<'rsa-2048' | 'rsa-4096' | 'ec-p256'> }> = [
    { name: 'RSA-1024', spki: () => spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024 })), code: 'ERR_PKI_KEY_WEAK', message: /RSA-1024 is too small; RSA keys must have at least 2048 bits/u },
    { name: 'RSA exponent 3', spki: () => spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 })), code: 'ERR_PKI_KEY_WEAK', message: /exponent is 3; only 65537/u },
    { name: 'RSA modulus with a small factor', spki: () => rsaSpkiFromModulus(3n * (generatePrimeSync(2046, { bigint: true }) * 5n + 2n)), code: 'ERR_PKI_KEY_WEAK', message: /divisible by 3/u },
    { name: 'RSA primes too close (Fermat)', spki: () => rsaSpkiFromModulus(p * q), code: 'ERR_PKI_KEY_WEAK', message: /Fermat/u },
    { name: 'curve P-521', spki: () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-521' })), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /curve P-521 is not accepted; use an EC key on P-256 or P-384/u },
    { name: 'curve secp256k1', spki: () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /curve secp256k1/u },
    { name: 'unknown curve OID', spki: () => Buffer.from(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' })).toString('hex').replace('2a8648ce3d030107', '2a8648ce3d030163'), 'hex'), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /curve 1\.2\.840\.10045\.3\.1\.99 is not accepted/u },
    { name: 'Ed25519', spki: () => spkiOf(generateKeyPairSync('ed25519')), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /ed25519/u },
    { name: 'key type outside the profile allow-list', spki: () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' })), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /EC P-256 is not allowed by the profile \(allowed: rsa-2048\)/u, allowed: ['rsa-2048'] },
    { name: 'RSA size outside the profile allow-list', spki: () => spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 })), code: 'ERR_PKI_KEY_UNSUPPORTED', message: /RSA-2048 is not allowed by the profile \(allowed: rsa-4096\)/u, allowed: ['rsa-4096'] },
    { name: 'a point not on the curve', spki: () => { const s = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' })); s[s.length - 1] = (s[s.length - 1] as number) ^ 1; return s; }, code: 'ERR_PKI_KEY_WEAK', message: /not on curve P-256/u },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      const e = caught(() => checkPublicKey(c.spki(), c.allowed === undefined ? {} : { allowed: c.allowed }, 'the CSR key'));
      expect(e.code).toBe(c.code);
      expect(e.message).toMatch(/^the CSR key is refused: /u);
      expect(e.message).toMatch(c.message);
    });
  }

  it('refuses malformed SPKI DER with ERR_PKI_DER_INVALID', () => {
    expect(caught(() => checkPublicKey(Buffer.from('3000', 'hex'))).code).toBe('ERR_PKI_DER_INVALID');
    expect(caught(() => decodeSpki(Buffer.from('deadbeef', 'hex'))).code).toBe('ERR_PKI_DER_INVALID');
  });

  it('keyIdentifier is the leftmost 160 bits of SHA-256 over the key bits (RFC 7093 §2 method 1)', () => {
    const spki = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const bits = spki.subarray(spki.length - 65);
    expect(keyIdentifier(spki)).toBe(createHash('sha256').update(bits).digest('hex').slice(0, 40));
  });

  it('signAlgorithmFor maps issuer key and hash to the HSM mechanism name', () => {
    expect(signAlgorithmFor(spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 })), 'SHA-256')).toBe('RSA-PKCS1-SHA256');
    expect(signAlgorithmFor(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' })), 'SHA-384')).toBe('ECDSA-SHA384');
    expect(caught(() => signAlgorithmFor(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' })), 'SHA-512')).code).toBe('ERR_PKI_KEY_UNSUPPORTED');
  });
});
