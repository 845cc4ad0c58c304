/**
 * docs/quorum.md is enough to implement the formats: this test opens custodian files, rebuilds the
 * activation secret and checks approvals using only what the document states, with independent
 * tools and code: OpenSSL derives the scrypt key and the HKDF token PINs and verifies the ECDSA signatures, the AAD and the
 * commitment contexts are written out by hand from the document, and the Shamir combination is a
 * separate GF(2^8) implementation (polynomial x^8 + x^4 + x^3 + x + 1).
 */
import { createDecipheriv, createHmac, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApprovalRequest, deriveTokenPin, signApproval, type CustodianFile } from '../../../core/quorum/index.ts';
import { DEFAULT_SCRYPT } from '../../../core/quorum/seal.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { enrollQuorum, fileOf, passphraseOf, type EnrolledQuorum } from './fixtures.ts';

/** GF(2^8) multiplication modulo x^8 + x^4 + x^3 + x + 1 (0x11b), written from the definition. */
function gfMul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) r ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return r;
}
function gfInv(a: number): number {
  let r = 1;
  for (let i = 0; i < 254; i++) r = gfMul(r, a); // a^254 = a^-1
  return r;
}
/** Lagrange interpolation at x = 0 over shares `y‖x`. */
function combine(shares: Buffer[]): Buffer {
  const len = (shares[0] as Buffer).length - 1;
  const xs = shares.map((s) => s[len] as number);
  const out = Buffer.alloc(len);
  for (let k = 0; k < len; k++) {
    let acc = 0;
    shares.forEach((s, i) => {
      let basis = 1;
      xs.forEach((xj, j) => {
        if (j !== i) basis = gfMul(basis, gfMul(xj, gfInv((xs[i] as number) ^ xj)));
      });
      acc ^= gfMul(s[k] as number, basis);
    });
    out[k] = acc;
  }
  return out;
}

/** RFC 8785 for the flat objects of the document: keys sorted, no spaces (values here are plain ASCII strings and small integers). */
function jcsFlat(o: Record<string, string | number>): string {
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`)
    .join(',')}}`;
}

describe('docs/quorum.md conformance (independent implementation)', () => {
  it('the scrypt cost docs/quorum.md states is the production default (the fixtures below use the N = 2^14 floor for speed)', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/quorum.md'), 'utf8');
    const m = /\| passphrase to key \| scrypt \(RFC 7914\), \*\*N = 2\^(\d+), r = (\d+), p = (\d+)\*\*/u.exec(doc);
    expect(m, 'the KDF row of docs/quorum.md').not.toBeNull();
    expect({ N: 2 ** Number(m![1]), r: Number(m![2]), p: Number(m![3]) }).toEqual({ ...DEFAULT_SCRYPT });
  });

  let q: EnrolledQuorum;
  let dir: { dir: string; cleanup(): void };
  beforeAll(async () => {
    q = await enrollQuorum();
    dir = tempDir('neam-qconf-');
  });
  afterAll(() => dir.cleanup());

  function spkiPem(b64: string): string {
    const p = join(dir.dir, `k-${Math.random().toString(16).slice(2)}.pem`);
    writeFileSync(p, `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/gu, '$1\n')}\n-----END PUBLIC KEY-----\n`);
    return p;
  }
  function opensslVerify(spkiB64: string, data: Buffer, sigB64: string): boolean {
    const d = join(dir.dir, `d-${Math.random().toString(16).slice(2)}`);
    writeFileSync(`${d}.bin`, data);
    writeFileSync(`${d}.sig`, Buffer.from(sigB64, 'base64'));
    return runOk('openssl', ['dgst', '-sha256', '-verify', spkiPem(spkiB64), '-signature', `${d}.sig`, `${d}.bin`]).includes('Verified OK');
  }

  /** Opens a custodian file with OpenSSL's scrypt and node's AES-GCM, following the document. */
  function openShare(f: CustodianFile, passphrase: string): Buffer {
    const key = Buffer.from(
      runOk('openssl', ['kdf', '-keylen', '32', '-kdfopt', `hexpass:${Buffer.from(passphrase.normalize('NFC'), 'utf8').toString('hex')}`, '-kdfopt', `hexsalt:${Buffer.from(f.kdf.salt, 'base64').toString('hex')}`, '-kdfopt', `n:${f.kdf.N}`, '-kdfopt', `r:${f.kdf.r}`, '-kdfopt', `p:${f.kdf.p}`, 'SCRYPT'])
        .trim()
        .replace(/:/gu, ''),
      'hex',
    );
    const aad = jcsFlat({ format: 'neam-ca/custodian-file', version: 1, ceremony: f.ceremony, quorumId: f.quorumId, generation: f.generation, custodian: f.custodian, shareIndex: f.shareIndex, item: 'share' });
    const ct = Buffer.from(f.sealed.share.ciphertext, 'base64');
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(f.sealed.share.nonce, 'base64'));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(ct.subarray(ct.length - 16));
    return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  }

  it('custodian files: OpenSSL verifies the signature; OpenSSL scrypt + AES-256-GCM opens the share; the commitments match', () => {
    const shares: Buffer[] = [];
    for (const name of ['bob', 'dave', 'erin']) {
      const f = fileOf(q, name);
      const { signature, ...rest } = f;
      // Signature: ECDSA P-256 / SHA-256 over the RFC 8785 JSON of the file without "signature".
      expect(opensslVerify(f.approvalKey.spki, Buffer.from(JSON.stringify(sortDeep(rest)), 'utf8'), signature.value)).toBe(true);
      const share = openShare(f, passphraseOf(name));
      expect(share).toHaveLength(33);
      const entry = q.roster.custodians.find((c) => c.name === name);
      const ctx = jcsFlat({ purpose: 'neam-ca/quorum/share-commitment/v1', ceremony: q.roster.ceremony, quorumId: q.roster.quorumId, custodian: name, shareIndex: f.shareIndex });
      expect(createHmac('sha256', share).update(ctx).digest('hex')).toBe(entry?.shareCommitment);
      shares.push(share);
    }
    const secret = combine(shares);
    expect(secret.equals(q.secret)).toBe(true);
    const ctx = jcsFlat({ purpose: 'neam-ca/quorum/activation-commitment/v1', ceremony: q.roster.ceremony, quorumId: q.roster.quorumId });
    expect(createHmac('sha256', secret).update(ctx).digest('hex')).toBe(q.roster.activationCommitment);
    // The token PINs: HKDF-SHA256 (RFC 5869) of the secret, empty salt, info = the role's label,
    // 32 bytes, unpadded base64url. OpenSSL derives them from the document's definition.
    const hkdf = (label: string): string => {
      const hex = runOk('openssl', ['kdf', '-keylen', '32', '-kdfopt', 'digest:SHA256', '-kdfopt', `hexkey:${secret.toString('hex')}`, '-kdfopt', `info:${label}`, 'HKDF']).trim().replace(/:/gu, '');
      return Buffer.from(hex, 'hex').toString('base64url');
    };
    const userPin = hkdf('neam-ca/quorum/token-pin/v1/user');
    expect(q.pin.use((b) => b.toString('ascii'))).toBe(userPin);
    expect(userPin).toHaveLength(43);
    const soPin = hkdf('neam-ca/quorum/token-pin/v1/so');
    expect(soPin).not.toBe(userPin);
    expect(deriveTokenPin(Secret.fromBytes(Buffer.from(secret)), 'so').use((b) => b.toString('ascii'))).toBe(soPin);
    // A roster of the first format version (no derivation) used the base64url of the secret itself.
    expect(q.roster.pin).toEqual({ encoding: 'base64url', secretBytes: 32, derivation: 'hkdf-sha256', pins: ['user'] });
  });

  it('approvals: OpenSSL verifies the signature over the RFC 8785 statement written out from the document', () => {
    const request = createApprovalRequest({ roster: q.roster, operation: 'sign-crl', tbsSha256: '0f'.repeat(32), subject: 'CRL 9', now: new Date('2027-01-10T10:00:00.000Z'), random: (n) => Buffer.alloc(n, 1) });
    const a = signApproval({ request, custodianFile: fileOf(q, 'carol'), approvalKey: q.approvalKeys.get('carol') as KeyObject, decision: 'approve', now: new Date('2027-01-10T10:05:00.000Z') });
    const s = a.statement;
    const text = jcsFlat({
      type: 'neam-ca/approval-statement',
      version: 1,
      requestId: s.requestId,
      ceremony: q.roster.ceremony,
      quorumId: q.roster.quorumId,
      operation: 'sign-crl',
      subject: 'CRL 9',
      tbsSha256: '0f'.repeat(32),
      decision: 'approve',
      approvedAt: '2027-01-10T10:05:00.000Z',
      expiresAt: '2027-01-11T10:00:00.000Z',
      custodian: 'carol',
    });
    expect(opensslVerify(q.roster.custodians[2]?.approvalKey.spki as string, Buffer.from(text, 'utf8'), a.signature.value)).toBe(true);
    expect(a.signature.publicKey).toBe(q.roster.custodians[2]?.approvalKey.spki);
  });
});

/** Deep key sort (RFC 8785 for objects of strings, small integers and nested objects, as in the document). */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
