/**
 * Custodian files: every malformed, truncated, oversized or hostile file is refused with a clear
 * code before any key derivation; every change to an enrolled file is named as tampering (never as
 * a wrong passphrase); foreign files are named as foreign; passphrase rules and passphrase change.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  ActivationSession,
  changeCustodianPassphrase,
  checkNewPassphrase,
  custodianSigner,
  openCustodianFile,
  parseCustodianFile,
  QuorumEnrollment,
  serializeCustodianFile,
  type CustodianFile,
} from '../../../core/quorum/index.ts';
import { softwareSigner, verifySignature } from '../../../core/crypto/signer.ts';
import { canonicalJsonBytes } from '../../../core/util/canonical-json.ts';
import { sealCustodianFile, spkiOf } from '../../../core/quorum/custodian-file.ts';
import { Secret } from '../../../core/util/secret.ts';
import { caught, enrollQuorum, FAST_KDF, fileOf, passphraseOf, recordingRandom, type EnrolledQuorum } from './fixtures.ts';

const pass = (name: string): Secret => Secret.fromString(passphraseOf(name));
type Mutable = Record<string, unknown> & { kdf: Record<string, unknown>; sealed: { share: Record<string, unknown>; approvalKey: Record<string, unknown> }; approvalKey: Record<string, unknown>; signature: Record<string, unknown> };
const clone = (f: CustodianFile): Mutable => structuredClone(f) as unknown as Mutable;
const flipB64 = (b64: string, at = 2): string => {
  const b = Buffer.from(b64, 'base64');
  b[at] = (b[at] as number) ^ 0x40;
  return b.toString('base64');
};

describe('custodian file', () => {
  let q: EnrolledQuorum;
  let other: EnrolledQuorum;
  beforeAll(async () => {
    q = await enrollQuorum();
    other = await enrollQuorum({ ceremony: q.roster.ceremony });
  });

  it('round-trips through its text form, is readable JSON, and holds no plaintext share or key', () => {
    const file = fileOf(q, 'alice');
    const text = serializeCustodianFile(file);
    expect(parseCustodianFile(text)).toEqual(file);
    expect(text).not.toContain('PRIVATE KEY');
    const share = q.secret.toString('hex');
    expect(text).not.toContain(share);
    expect(JSON.parse(text)).toMatchObject({ format: 'neam-ca/custodian-file', version: 1, custodian: 'alice', shareIndex: 1, threshold: 3, total: 5, kdf: { alg: 'scrypt', N: 16384, r: 8, p: 1 } });
  });

  // Structure: each case names the violated field; all are refused before any scrypt runs.
  const invalid: Array<[string, (f: Mutable) => void]> = [
    ['format', (f) => (f['format'] = 'neam-ca/something-else')],
    ['version', (f) => (f['version'] = 2)],
    ['ceremony', (f) => (f['ceremony'] = '../etc/passwd')],
    ['quorumId', (f) => (f['quorumId'] = 'XYZ')],
    ['generation', (f) => (f['generation'] = 0)],
    ['threshold', (f) => (f['threshold'] = 9)],
    ['shareIndex', (f) => (f['shareIndex'] = 6)],
    ['custodian', (f) => (f['custodian'] = 'alice\u001b[2J')],
    ['createdAt', (f) => (f['createdAt'] = 'yesterday')],
    ['approvalKey.spki', (f) => (f.approvalKey['spki'] = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'der' })).toString('base64'))],
    ['approvalKey.sha256', (f) => (f.approvalKey['sha256'] = '00'.repeat(32))],
    ['kdf.N (not a power of two)', (f) => (f.kdf['N'] = 100_000)],
    ['kdf.N (hostile: 2^30, gigabytes of memory)', (f) => (f.kdf['N'] = 2 ** 30)],
    ['kdf.N (too weak)', (f) => (f.kdf['N'] = 1024)],
    ['kdf.r', (f) => (f.kdf['r'] = 1)],
    ['kdf.p', (f) => (f.kdf['p'] = 1000)],
    ['kdf.salt', (f) => (f.kdf['salt'] = 'AAAA')],
    ['sealed.share.nonce', (f) => (f.sealed.share['nonce'] = 'AAAAAAAA')],
    ['sealed.share.ciphertext', (f) => (f.sealed.share['ciphertext'] = 'not base64!')],
    ['sealed.approvalKey.alg', (f) => (f.sealed.approvalKey['alg'] = 'AES-CBC')],
    ['signature', (f) => Reflect.deleteProperty(f, 'signature')],
    ['unknown field', (f) => (f['share'] = 'plaintext share')],
  ];
  for (const [field, mutate] of invalid) {
    it(`parseCustodianFile refuses an invalid ${field} (ERR_QUORUM_CUSTODIAN_FILE_INVALID, naming the field)`, () => {
      const f = clone(fileOf(q, 'alice'));
      mutate(f);
      let error: unknown;
      try {
        parseCustodianFile(JSON.stringify(f), 'alice.json');
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'ERR_QUORUM_CUSTODIAN_FILE_INVALID' });
      const top = field.split(/[ .]/u)[0] as string;
      expect((error as Error).message).toContain(top === 'unknown' ? "unknown field(s) 'share'" : top);
      expect((error as Error).message).toContain('alice.json');
    });
  }

  const badBytes: Array<[string, Uint8Array | string, string]> = [
    ['empty', '', 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['truncated', serializeCustodianFile({} as CustodianFile).slice(0, 1), 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['not JSON', 'PK\u0003\u0004 zip', 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['not UTF-8', new Uint8Array([0xff, 0xfe, 0x00, 0x7b]), 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['a JSON array', '[1,2,3]', 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['null', 'null', 'ERR_QUORUM_CUSTODIAN_FILE_INVALID'],
    ['oversized', `{"x":"${'a'.repeat(20_000)}"}`, 'ERR_INPUT_TOO_LARGE'],
  ];
  for (const [name, bytes, code] of badBytes) {
    it(`parseCustodianFile refuses ${name} input with ${code}`, async () => {
      expect((await caught(() => parseCustodianFile(bytes))).code).toBe(code);
    });
  }

  it('a truncated real file is refused as invalid', async () => {
    const text = serializeCustodianFile(fileOf(q, 'bob'));
    expect((await caught(() => parseCustodianFile(text.slice(0, text.length / 2)))).code).toBe('ERR_QUORUM_CUSTODIAN_FILE_INVALID');
  });

  // Changes to an enrolled file: all are tampering, detected before the passphrase is used.
  const tampering: Array<[string, (f: Mutable) => void]> = [
    ['custodian renamed to another custodian', (f) => (f['custodian'] = 'bob')],
    ['custodian renamed to a stranger', (f) => (f['custodian'] = 'mallory')],
    ['shareIndex', (f) => (f['shareIndex'] = 2)],
    ['generation', (f) => (f['generation'] = 2)],
    ['threshold', (f) => (f['threshold'] = 2)],
    ['activationCommitment', (f) => (f['activationCommitment'] = 'ab'.repeat(32))],
    ['createdAt', (f) => (f['createdAt'] = '2030-01-01T00:00:00.000Z')],
    ['kdf.salt (must not read as a wrong passphrase)', (f) => (f.kdf['salt'] = flipB64(f.kdf['salt'] as string))],
    ['kdf.N', (f) => (f.kdf['N'] = 2 ** 15)],
    ['sealed.share.nonce', (f) => (f.sealed.share['nonce'] = flipB64(f.sealed.share['nonce'] as string))],
    ['sealed.share.ciphertext', (f) => (f.sealed.share['ciphertext'] = flipB64(f.sealed.share['ciphertext'] as string, 20))],
    ['sealed.share tag', (f) => (f.sealed.share['ciphertext'] = flipB64(f.sealed.share['ciphertext'] as string, 40))],
    ['sealed.approvalKey.ciphertext', (f) => (f.sealed.approvalKey['ciphertext'] = flipB64(f.sealed.approvalKey['ciphertext'] as string, 50))],
    ['signature', (f) => (f.signature['value'] = flipB64(f.signature['value'] as string, 10))],
    ['approval key swapped for bob\'s', (f) => (f['approvalKey'] = structuredClone(fileOf(q, 'bob').approvalKey))],
  ];
  for (const [field, mutate] of tampering) {
    it(`a changed ${field} is ERR_QUORUM_SHARE_TAMPERED at entry, with the right passphrase`, async () => {
      const f = clone(fileOf(q, 'alice'));
      mutate(f);
      const activation = new ActivationSession(q.roster);
      const e = await caught(() => activation.addCustodian(JSON.stringify(f), pass('alice'), 'alice.json'));
      expect(e.code).toBe('ERR_QUORUM_SHARE_TAMPERED');
      expect(e.message).toContain('changed after enrolment');
      expect(activation.have).toBe(0);
    });
  }

  it('a file from another quorum of the same ceremony, or another ceremony, is ERR_QUORUM_SHARE_FOREIGN', async () => {
    const e1 = await caught(() => new ActivationSession(q.roster).addCustodian(fileOf(other, 'alice'), pass('alice')));
    expect(e1.code).toBe('ERR_QUORUM_SHARE_FOREIGN');
    expect(e1.message).toContain('another quorum');
    const f = clone(fileOf(q, 'alice'));
    f['ceremony'] = 'root-1999';
    const e2 = await caught(() => new ActivationSession(q.roster).addCustodian(JSON.stringify(f), pass('alice')));
    expect(e2.code).toBe('ERR_QUORUM_SHARE_FOREIGN');
    expect(e2.message).toContain("belongs to ceremony 'root-1999'");
  });

  it('a custodian who re-seals a different share with their own key is caught by the share commitment', async () => {
    const alice = fileOf(q, 'alice');
    const opened = await openCustodianFile(alice, pass('alice'), { approvalKey: true });
    const bogus = Secret.fromBytes(Buffer.alloc(33, 0x42));
    const { kdf: _k, sealed: _s, signature: _g, approvalKey: _a, format: _f, version: _v, ...header } = alice;
    const forged = await sealCustodianFile({ header, share: bogus, approvalKey: opened.approvalKey as NonNullable<typeof opened.approvalKey>, passphrase: pass('alice'), kdf: FAST_KDF, random: recordingRandom().random });
    const e = await caught(() => new ActivationSession(q.roster).addCustodian(forged, pass('alice')));
    expect(e.code).toBe('ERR_QUORUM_SHARE_TAMPERED');
    expect(e.message).toContain('not the share enrolled');
  });

  it('shares that pass entry but do not rebuild the committed secret are ERR_QUORUM_COMMITMENT_MISMATCH; nothing is logged in', async () => {
    // A roster and files consistently re-signed around a false commitment (a corrupted roster).
    const fake = 'cd'.repeat(32);
    const roster = { ...q.roster, activationCommitment: fake };
    const files: CustodianFile[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const f = fileOf(q, name);
      const opened = await openCustodianFile(f, pass(name), { share: true, approvalKey: true });
      const { kdf: _k, sealed: _s, signature: _g, approvalKey: _a, format: _f, version: _v, ...header } = f;
      files.push(await sealCustodianFile({ header: { ...header, activationCommitment: fake }, share: opened.share as Secret, approvalKey: opened.approvalKey as NonNullable<typeof opened.approvalKey>, passphrase: pass(name), kdf: FAST_KDF, random: recordingRandom().random }));
    }
    const a = new ActivationSession(roster);
    for (const [i, name] of ['alice', 'bob', 'carol'].entries()) await a.addCustodian(files[i] as CustodianFile, pass(name));
    let touched = false;
    const e = await caught(() => a.withActivationPin('open the token', () => (touched = true)));
    expect(e.code).toBe('ERR_QUORUM_COMMITMENT_MISMATCH');
    expect(touched).toBe(false);
  });

  it('custodianSigner unlocks the approval key as a Signer whose signatures verify with the roster key (transcript co-signing)', async () => {
    const signer = await custodianSigner(fileOf(q, 'carol'), pass('carol'));
    const entry = q.roster.custodians[2];
    expect(signer.spki.toString('base64')).toBe(entry?.approvalKey.spki);
    const sig = signer.sign(Buffer.from('closing record body'));
    expect(verifySignature('ECDSA-SHA256', Buffer.from(entry?.approvalKey.spki ?? '', 'base64'), Buffer.from('closing record body'), sig)).toBe(true);
    expect((await caught(() => custodianSigner(fileOf(q, 'carol'), pass('dave')))).code).toBe('ERR_QUORUM_PASSPHRASE_INCORRECT');
  });

  /**
   * A complete forgery an attacker can make without any passphrase: a new salt (so the right
   * passphrase derives a wrong key), the attacker's approval key, re-signed with that key. Only the
   * roster or the custodian's pinned approval-key fingerprint can tell it from a wrong passphrase.
   */
  const resignedForgery = (): CustodianFile => {
    const f = clone(fileOf(q, 'carol'));
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const spki = spkiOf(attacker);
    f['approvalKey'] = { alg: 'ECDSA-P256-SHA256', spki: spki.toString('base64'), sha256: createHash('sha256').update(spki).digest('hex') };
    f.kdf['salt'] = flipB64(f.kdf['salt'] as string);
    const { signature: _s, ...unsigned } = f;
    const sig = softwareSigner(attacker, 'ECDSA-SHA256').sign(canonicalJsonBytes(unsigned));
    return parseCustodianFile(serializeCustodianFile({ ...(unsigned as unknown as CustodianFile), signature: { alg: 'ECDSA-SHA256', value: sig.toString('base64') } }));
  };

  it('without a roster, a re-signed forgery is not reported as "the file is intact": integrity cannot be confirmed', async () => {
    const e = await caught(() => openCustodianFile(resignedForgery(), pass('carol'), { approvalKey: true }));
    expect(e.code).toBe('ERR_QUORUM_PASSPHRASE_INCORRECT');
    expect(e.message).not.toContain('the file is intact');
    expect(e.message).toContain('cannot confirm that this file is genuine');
    expect(e.message).toContain('--approval-key-sha256');
    expect(e.details).toMatchObject({ integrityConfirmed: false });
    // The same holds for the approval signer and for a passphrase change without a roster.
    expect((await caught(() => custodianSigner(resignedForgery(), pass('carol')))).message).toContain('cannot confirm that this file is genuine');
  });

  it('with the pinned approval-key fingerprint printed at enrolment, the forgery is named as tampering', async () => {
    const pinned = fileOf(q, 'carol').approvalKey.sha256;
    const e = await caught(() => openCustodianFile(resignedForgery(), pass('carol'), { approvalKey: true }, 'carol.json', { approvalKeySha256: pinned }));
    expect(e.code).toBe('ERR_QUORUM_SHARE_TAMPERED');
    expect(e.message).toContain('not the approval key pinned');
    // Colons and upper case are accepted, as people copy fingerprints.
    const colon = pinned.toUpperCase().replace(/(..)(?=.)/gu, '$1:');
    expect((await caught(() => custodianSigner(resignedForgery(), pass('carol'), 'carol.json', { approvalKeySha256: colon }))).code).toBe('ERR_QUORUM_SHARE_TAMPERED');
    // A malformed fingerprint is a usage problem, not a verdict on the file.
    expect((await caught(() => openCustodianFile(fileOf(q, 'carol'), pass('carol'), { approvalKey: true }, undefined, { approvalKeySha256: 'abc' }))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    // With the pin or the roster, a wrong passphrase on the genuine file is confirmed as such.
    const wrong = await caught(() => openCustodianFile(fileOf(q, 'carol'), pass('dave'), { approvalKey: true }, undefined, { approvalKeySha256: pinned }));
    expect(wrong.code).toBe('ERR_QUORUM_PASSPHRASE_INCORRECT');
    expect(wrong.message).toContain('the file is intact');
    const viaRoster = await caught(() => openCustodianFile(fileOf(q, 'carol'), pass('dave'), { approvalKey: true }, undefined, { roster: q.roster }));
    expect(viaRoster.message).toContain('the file is intact');
    expect((await caught(() => openCustodianFile(resignedForgery(), pass('carol'), { approvalKey: true }, undefined, { roster: q.roster }))).code).toBe('ERR_QUORUM_SHARE_TAMPERED');
    // The genuine file opens with its pin.
    const opened = await openCustodianFile(fileOf(q, 'carol'), pass('carol'), { approvalKey: true }, undefined, { approvalKeySha256: pinned });
    expect(spkiOf(opened.approvalKey as KeyObject).toString('base64')).toBe(fileOf(q, 'carol').approvalKey.spki);
  });

  it('changeCustodianPassphrase checks a pinned fingerprint before opening the file', async () => {
    const e = await caught(() =>
      changeCustodianPassphrase({ file: resignedForgery(), oldPassphrase: pass('carol'), newPassphrase: pass('x-new-pass-long'), confirmation: pass('x-new-pass-long'), random: recordingRandom().random, kdf: FAST_KDF, approvalKeySha256: fileOf(q, 'carol').approvalKey.sha256 }),
    );
    expect(e.code).toBe('ERR_QUORUM_SHARE_TAMPERED');
  });

  it('a custodian changes their passphrase alone: the new one opens the same share, the old one no longer does', async () => {
    const alice = fileOf(q, 'alice');
    const renewed = await changeCustodianPassphrase({
      file: alice,
      oldPassphrase: pass('alice'),
      newPassphrase: Secret.fromString('a brand new passphrase 42'),
      confirmation: Secret.fromString('a brand new passphrase 42'),
      random: recordingRandom().random,
      kdf: FAST_KDF,
      roster: q.roster,
    });
    expect(renewed.kdf.salt).not.toBe(alice.kdf.salt);
    expect(renewed.approvalKey).toEqual(alice.approvalKey);
    const a = new ActivationSession(q.roster);
    expect((await caught(() => a.addCustodian(renewed, pass('alice')))).code).toBe('ERR_QUORUM_PASSPHRASE_INCORRECT');
    await a.addCustodian(renewed, Secret.fromString('a brand new passphrase 42'));
    await a.addCustodian(fileOf(q, 'bob'), pass('bob'));
    await a.addCustodian(fileOf(q, 'carol'), pass('carol'));
    expect((await a.drill(new Date())).commitmentVerified).toBe(true);
    expect((await caught(() => changeCustodianPassphrase({ file: alice, oldPassphrase: pass('bob'), newPassphrase: pass('x-new-pass-long'), confirmation: pass('x-new-pass-long'), random: recordingRandom().random, kdf: FAST_KDF }))).code).toBe(
      'ERR_QUORUM_PASSPHRASE_INCORRECT',
    );
  });
});

describe('passphrase rules', () => {
  const cases: Array<[string, string, string | undefined, string]> = [
    ['length', 'short pass', undefined, 'at least 12 characters'],
    ['distinct characters', 'abababababababab', undefined, 'at least 5 different characters'],
    ['control characters', 'good passphrase\twith tab', undefined, 'control characters'],
    ['leading or trailing space', ' good passphrase here', undefined, 'start or end with a space'],
    ['name', 'Alice Custodian', undefined, 'your name'],
    ['confirmation', 'a perfectly fine passphrase', 'a perfectly fine passphrasE', 'differ'],
  ];
  for (const [rule, pw, confirmation, text] of cases) {
    it(`checkNewPassphrase refuses a passphrase breaking the ${rule} rule`, async () => {
      const e = await caught(() => checkNewPassphrase(Secret.fromString(pw), Secret.fromString(confirmation ?? pw), 'Alice Custodian'));
      expect(e.code).toBe(rule === 'confirmation' ? 'ERR_QUORUM_PASSPHRASE_MISMATCH' : 'ERR_QUORUM_PASSPHRASE_WEAK');
      expect(e.message).toContain(text);
      // The passphrase itself is never echoed (the name rule's passphrase is the public name).
      if (rule !== 'name') expect(e.message).not.toContain(pw);
    });
  }

  it('reports every broken rule at once', async () => {
    const e = await caught(() => checkNewPassphrase(Secret.fromString(' aaa'), Secret.fromString(' aaa'), 'x'));
    expect(e.message).toContain('at least 12');
    expect(e.message).toContain('different characters');
    expect(e.message).toContain('space');
  });

  it('normalises to NFC: the same words typed as composed or decomposed characters match', async () => {
    const composed = 'caf\u00e9 au lait pour deux';
    const decomposed = 'cafe\u0301 au lait pour deux';
    expect(() => checkNewPassphrase(Secret.fromString(composed), Secret.fromString(decomposed), 'zoe')).not.toThrow();
    const e = await QuorumEnrollment.start({ ceremony: 'nfc-test', threshold: 2, total: 2, now: new Date(), random: recordingRandom().random, kdf: FAST_KDF });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const file = await e.addCustodian({ name: 'zoe', passphrase: Secret.fromString(composed), confirmation: Secret.fromString(composed), approvalKey: key });
    const opened = await openCustodianFile(file, Secret.fromString(decomposed), { approvalKey: true });
    expect(spkiOf(opened.approvalKey as NonNullable<typeof opened.approvalKey>).equals(spkiOf(key))).toBe(true);
    e.abort();
  });

  it('enrolment refuses a repeated custodian name and an invalid name', async () => {
    const e = await QuorumEnrollment.start({ ceremony: 'names', threshold: 2, total: 3, now: new Date(), random: recordingRandom().random, kdf: FAST_KDF });
    await e.addCustodian({ name: 'Ana', passphrase: pass('Ana'), confirmation: pass('Ana') });
    expect((await caught(() => e.addCustodian({ name: 'ana', passphrase: pass('ana'), confirmation: pass('ana') }))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    expect((await caught(() => e.addCustodian({ name: '../../x', passphrase: pass('x'), confirmation: pass('x') }))).code).toBe('ERR_QUORUM_PARAMS_INVALID');
    expect((await caught(() => e.finish())).code).toBe('ERR_QUORUM_NOT_MET');
    e.abort();
  });

  const params: Array<[string, { threshold: number; total: number; ceremony?: string }]> = [
    ['threshold (1)', { threshold: 1, total: 3 }],
    ['threshold (above N)', { threshold: 4, total: 3 }],
    ['total (33)', { threshold: 2, total: 33 }],
    ['ceremony', { threshold: 2, total: 3, ceremony: 'has space' }],
  ];
  for (const [field, p] of params) {
    it(`QuorumEnrollment.start refuses an invalid ${field} (ERR_QUORUM_PARAMS_INVALID)`, async () => {
      const e = await caught(() => QuorumEnrollment.start({ ceremony: p.ceremony ?? 'ok', threshold: p.threshold, total: p.total, now: new Date(), random: recordingRandom().random, kdf: FAST_KDF }));
      expect(e.code).toBe('ERR_QUORUM_PARAMS_INVALID');
    });
  }
});
